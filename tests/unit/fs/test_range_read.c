/* Unit tests of fs/read/range_read's rule (when a small read is served by a byte range instead
 * of its whole block, also while the block is on its way), of range_links (download links per
 * file version, their expiry and refusals, pauses), of blocks_in_flight, of what is asked
 * for at open on a far link (the download link, the block map), and of range_hold (the kernel's
 * next read-ahead window held behind the one on its way, dropped when the reader closes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <time.h>

#include "block_map_ahead.h"
#include "range_hold.h"
#include "blocks_in_flight.h"
#include "range_links.h"
#include "range_read.h"

#define KiB  (1024ULL)
#define MiB  (1024ULL * 1024)
#define REPO "c4910f68-4419-472d-8790-7d453cca13f4"
#define ID_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define ID_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* A cold 4 KiB read into an 8 MiB block on a link of rtt_s and bytes_per_s (0: guessed). */
static struct range_case cold_read(double rtt_s, double bytes_per_s)
{
    struct range_case c = {.mode = SEAFS_RANGE_AUTO,
                           .read_len = 4 * KiB,
                           .block_size = 8 * MiB,
                           .range_len = RANGE_UNIT,
                           .link = {.rtt_s = rtt_s, .bytes_per_s = bytes_per_s}};
    if (bytes_per_s == 0 && rtt_s > 0)
        c.link.bytes_per_s = LINK_GUESS_BYTES_PER_RTT / rtt_s;
    c.link.bandwidth_measured = bytes_per_s > 0;
    return c;
}

static void test_the_link_decides(void **state)
{
    (void)state;
    struct range_case c = cold_read(0.0005, 110e6); /* a gigabit LAN */
    assert_false(range_pays(&c));
    c = cold_read(0.0005, 0); /* nothing measured yet, near */
    assert_false(range_pays(&c));
    c = cold_read(0.020, 1.25e6); /* 10 Mbit/s */
    assert_true(range_pays(&c));
    c = cold_read(0.150, 0); /* far, nothing measured: 256 KiB per round trip guessed */
    assert_true(range_pays(&c));
    c = cold_read(0.150, 100e6); /* far but wide: the extra round trip for a link costs more */
    assert_false(range_pays(&c));
    c.link_at_hand = true; /* ... than the block does when a link is at hand: still the block */
    assert_false(range_pays(&c));
    c = cold_read(0, 0); /* nothing known at all */
    assert_false(range_pays(&c));
    /* Around the threshold: 12.5 MB/s, the block 0.67 s more than a round trip, the range 2
     * round trips; it must save RANGE_MIN_GAIN_RTTS round trips. */
    c = cold_read(0.05, 12.5e6);
    assert_true(range_pays(&c));
    c = cold_read(0.2, 12.5e6);
    assert_true(range_pays(&c)); /* saves 0.47 s, 2.3 round trips */
    c = cold_read(0.3, 12.5e6);
    assert_false(range_pays(&c)); /* saves 0.37 s, 1.2 round trips */
    /* A 3 MiB photo at 50 Mbit/s and 40 ms: the block 0.54 s, the range 0.08 s: a range. The
     * old fixed threshold (0.5 s saved) took the block. */
    c = cold_read(0.040, 6.25e6);
    c.block_size = 3 * MiB;
    assert_true(range_pays(&c));
    /* The same block on loopback, or a fast LAN, however near: saving less than
     * RANGE_MIN_GAIN_S is not worth an unverified byte. */
    c = cold_read(0.0002, 100e6);
    c.block_size = 10 * MiB;
    assert_false(range_pays(&c));
    c = cold_read(0.0002, 30e6); /* a slow disk behind the server, 10 MiB: 0.35 s saved */
    c.block_size = 10 * MiB;
    assert_true(range_pays(&c));
}

static void test_link_asked_for_at_open(void **state)
{
    (void)state;
    struct link_figures far = {.rtt_s = 0.040, .bytes_per_s = 6.25e6};
    struct link_figures lan = {.rtt_s = 0.0005, .bytes_per_s = 110e6};
    struct link_figures unknown = {0};
    assert_true(range_link_ahead_pays(SEAFS_RANGE_AUTO, 256 * MiB, &far));
    assert_true(range_link_ahead_pays(SEAFS_RANGE_AUTO, 3 * MiB, &far));    /* a photo */
    assert_false(range_link_ahead_pays(SEAFS_RANGE_AUTO, 100 * KiB, &far)); /* its block is cheap */
    assert_false(range_link_ahead_pays(SEAFS_RANGE_AUTO, 256 * MiB, &lan));
    assert_false(range_link_ahead_pays(SEAFS_RANGE_AUTO, 256 * MiB, &unknown));
    /* off never asks; always asks at the first range, as it always did. */
    assert_false(range_link_ahead_pays(SEAFS_RANGE_OFF, 256 * MiB, &far));
    assert_false(range_link_ahead_pays(SEAFS_RANGE_ALWAYS, 256 * MiB, &far));
    /* The block map: for files of several blocks, on a link whose round trip counts. */
    assert_true(block_map_ahead_pays(256 * MiB, &far));
    assert_false(block_map_ahead_pays(3 * MiB, &far)); /* one block: no block map needed */
    assert_false(block_map_ahead_pays(256 * MiB, &lan));
    assert_false(block_map_ahead_pays(256 * MiB, &unknown));
}

static void test_the_access_pattern_decides(void **state)
{
    (void)state;
    struct range_case slow = cold_read(0.150, 1.25e6);
    assert_true(range_pays(&slow));
    struct range_case c = slow;
    c.sequential = true;
    assert_false(range_pays(&c));
    /* A block read again and again: ranges until they took as long as the block would. */
    c = slow;
    c.link_at_hand = true;
    c.spent_on_block_s = 6.0; /* the block: 0.15 s + 6.7 s; a range: 0.15 s + 3 ms */
    assert_true(range_pays(&c));
    c.spent_on_block_s = 6.75;
    assert_false(range_pays(&c));
    c = slow;
    c.read_len = RANGE_MAX_READ + 1;
    assert_false(range_pays(&c));
    c = slow;
    c.block_size = c.range_len; /* a small block: as cheap as the range */
    assert_false(range_pays(&c));
    /* The modes: off never, always whatever the link (the pattern still counts). */
    c = slow;
    c.mode = SEAFS_RANGE_OFF;
    assert_false(range_pays(&c));
    c = cold_read(0.0005, 110e6);
    c.mode = SEAFS_RANGE_ALWAYS;
    c.spent_on_block_s = 100;
    assert_true(range_pays(&c));
    c.sequential = true;
    assert_false(range_pays(&c));
}

static void test_a_block_on_its_way_is_waited_for(void **state)
{
    (void)state;
    /* 10 Mbit/s, 150 ms, a link at hand: the block 6.86 s, the range 0.25 s. */
    struct range_case c = cold_read(0.150, 1.25e6);
    c.link_at_hand = true;
    c.block_under_way = true;
    c.block_under_way_s = 1.0; /* 5.9 s to go: the range is sooner */
    assert_true(range_pays(&c));
    c.block_under_way_s = 6.75; /* 0.11 s to go: wait for the block */
    assert_false(range_pays(&c));
    c.block_under_way_s = 14.0; /* overdue by more than a block's time: taken for stuck */
    assert_true(range_pays(&c));
    c.block_under_way = false; /* the time means nothing without a download */
    c.block_under_way_s = 6.7;
    assert_true(range_pays(&c));
    c.mode = SEAFS_RANGE_ALWAYS; /* always means always */
    c.block_under_way = true;
    assert_true(range_pays(&c));
}

static void test_blocks_in_flight(void **state)
{
    (void)state;
    double elapsed = -1;
    assert_false(blocks_in_flight_find(ID_A, &elapsed));
    blocks_in_flight_begin(ID_A);
    blocks_in_flight_begin(ID_B);
    assert_true(blocks_in_flight_find(ID_A, &elapsed));
    assert_true(elapsed >= 0 && elapsed < 5);
    blocks_in_flight_end(ID_A);
    assert_false(blocks_in_flight_find(ID_A, &elapsed));
    assert_true(blocks_in_flight_find(ID_B, &elapsed));
    blocks_in_flight_end(ID_B);
    blocks_in_flight_begin("not an id"); /* ignored */
    assert_false(blocks_in_flight_find("not an id", &elapsed));
    /* A full table lists no more, and forgets nothing it listed. */
    char ids[BLOCKS_IN_FLIGHT_MAX + 1][41];
    for (int i = 0; i <= BLOCKS_IN_FLIGHT_MAX; i++) {
        snprintf(ids[i], sizeof(ids[i]), "%040d", i);
        blocks_in_flight_begin(ids[i]);
    }
    assert_true(blocks_in_flight_find(ids[0], &elapsed));
    assert_false(blocks_in_flight_find(ids[BLOCKS_IN_FLIGHT_MAX], &elapsed));
    for (int i = 0; i <= BLOCKS_IN_FLIGHT_MAX; i++)
        blocks_in_flight_end(ids[i]);
    assert_false(blocks_in_flight_find(ids[0], &elapsed));
}

static void test_links_per_version(void **state)
{
    (void)state;
    struct range_links *links = range_links_new();
    char *url = NULL;
    assert_int_equal(range_links_get(links, REPO, ID_A, 100, &url), RANGE_LINK_NONE);
    range_links_put(links, REPO, ID_A, "https://h/files/t1/a", 100);
    assert_int_equal(range_links_get(links, REPO, ID_A, 101, &url), RANGE_LINK_CACHED);
    assert_string_equal(url, "https://h/files/t1/a");
    free(url);
    /* Another version of the file has nothing. */
    assert_int_equal(range_links_get(links, REPO, ID_B, 101, &url), RANGE_LINK_NONE);
    assert_null(url);
    /* Links expire; refusals too, later than nothing. */
    assert_int_equal(range_links_get(links, REPO, ID_A, 100 + RANGE_LINK_TTL_S, &url),
                     RANGE_LINK_NONE);
    range_links_refuse(links, REPO, ID_B, 200);
    assert_int_equal(range_links_get(links, REPO, ID_B, 201, &url), RANGE_LINK_REFUSED);
    assert_null(url);
    assert_int_equal(range_links_get(links, REPO, ID_B, 200 + RANGE_REFUSED_TTL_S, &url),
                     RANGE_LINK_NONE);
    /* A dropped link is gone; a new one replaces a refusal. */
    range_links_put(links, REPO, ID_A, "https://h/files/t2/a", 300);
    range_links_drop(links, REPO, ID_A);
    assert_int_equal(range_links_get(links, REPO, ID_A, 301, &url), RANGE_LINK_NONE);
    range_links_refuse(links, REPO, ID_A, 302);
    range_links_put(links, REPO, ID_A, "https://h/files/t3/a", 303);
    assert_int_equal(range_links_get(links, REPO, ID_A, 304, &url), RANGE_LINK_CACHED);
    assert_string_equal(url, "https://h/files/t3/a");
    free(url);
    range_links_free(links);
}

static void test_links_table_keeps_the_recent_ones(void **state)
{
    (void)state;
    struct range_links *links = range_links_new();
    char id[41], url_text[64];
    char *url = NULL;
    for (int i = 0; i < RANGE_LINKS_MAX + 10; i++) {
        snprintf(id, sizeof(id), "%040d", i);
        snprintf(url_text, sizeof(url_text), "https://h/files/%d/x", i);
        range_links_put(links, REPO, id, url_text, 10);
        if (i == RANGE_LINKS_MAX - 1) { /* the first one used again: kept */
            snprintf(id, sizeof(id), "%040d", 0);
            assert_int_equal(range_links_get(links, REPO, id, 10, &url), RANGE_LINK_CACHED);
            free(url);
        }
    }
    snprintf(id, sizeof(id), "%040d", 0);
    assert_int_equal(range_links_get(links, REPO, id, 10, &url), RANGE_LINK_CACHED);
    free(url);
    snprintf(id, sizeof(id), "%040d", 1);
    assert_int_equal(range_links_get(links, REPO, id, 10, &url), RANGE_LINK_NONE);
    snprintf(id, sizeof(id), "%040d", RANGE_LINKS_MAX + 9);
    assert_int_equal(range_links_get(links, REPO, id, 10, &url), RANGE_LINK_CACHED);
    free(url);
    range_links_free(links);
}

static void test_transport_failures_pause_ranges(void **state)
{
    (void)state;
    struct range_links *links = range_links_new();
    for (int i = 0; i < RANGE_TRANSPORT_FAILURES_MAX - 1; i++)
        range_links_note(links, false, 10);
    range_links_note(links, true, 10); /* an answer: the count starts again */
    for (int i = 0; i < RANGE_TRANSPORT_FAILURES_MAX - 1; i++)
        range_links_note(links, false, 10);
    assert_false(range_links_paused(links, 10));
    range_links_note(links, false, 10);
    assert_true(range_links_paused(links, 10));
    assert_true(range_links_paused(links, 10 + RANGE_REFUSED_TTL_S - 1));
    assert_false(range_links_paused(links, 10 + RANGE_REFUSED_TTL_S));
    /* A server that ignores Range pauses them at once. */
    range_links_pause(links, 5000);
    assert_true(range_links_paused(links, 5000 + RANGE_REFUSED_TTL_S - 1));
    assert_false(range_links_paused(links, 5000 + RANGE_REFUSED_TTL_S));
    range_links_free(links);
}

static void test_a_window_follows_the_one_on_its_way(void **state)
{
    (void)state;
    struct range_flight on_way[2] = {{.start = 128 * KiB, .end = 384 * KiB}, {0}};
    /* The kernel's next window, right behind or overlapping the end: it follows. */
    assert_int_equal(range_hold_predecessor(on_way, 2, 384 * KiB, 896 * KiB), 0);
    assert_int_equal(range_hold_predecessor(on_way, 2, 380 * KiB, 896 * KiB), 0);
    /* Not: the same window, one before it, one further on, one inside it, a free slot. */
    assert_int_equal(range_hold_predecessor(on_way, 2, 128 * KiB, 384 * KiB), -1);
    assert_int_equal(range_hold_predecessor(on_way, 2, 0, 128 * KiB), -1);
    assert_int_equal(range_hold_predecessor(on_way, 2, 388 * KiB, 896 * KiB), -1);
    assert_int_equal(range_hold_predecessor(on_way, 2, 200 * KiB, 300 * KiB), -1);
    assert_int_equal(range_hold_predecessor(on_way + 1, 1, 4 * KiB, 8 * KiB), -1);
    /* The grace: half a round trip, bounded. */
    struct link_figures far = {.rtt_s = 0.150, .bytes_per_s = 1.25e6};
    struct link_figures near = {.rtt_s = 0.001, .bytes_per_s = 1.25e6};
    struct link_figures very_far = {.rtt_s = 0.6, .bytes_per_s = 1.25e6};
    assert_true(range_hold_grace_s(&far) > 0.074 && range_hold_grace_s(&far) < 0.076);
    assert_true(range_hold_grace_s(&near) == RANGE_HOLD_GRACE_MIN_S);
    assert_true(range_hold_grace_s(&very_far) == RANGE_HOLD_GRACE_MAX_S);
}

/* A request held in a thread of its own. */
struct held {
    struct range_hold *rh;
    int slot;
    struct link_figures link;
    enum range_hold_outcome outcome;
    double waited_s;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void *hold_run(void *arg)
{
    struct held *h = arg;
    double began = now_s();
    h->outcome = range_hold_wait(h->rh, h->slot, &h->link);
    h->waited_s = now_s() - began;
    return NULL;
}

static void sleep_s(double s)
{
    struct timespec t = {.tv_sec = 0, .tv_nsec = (long)(s * 1e9)};
    nanosleep(&t, NULL);
}

static void test_the_window_after_waits_and_is_dropped_at_close(void **state)
{
    (void)state;
    struct range_hold rh;
    range_hold_init(&rh);
    struct link_figures link = {.rtt_s = 0.2, .bytes_per_s = 1.25e6}; /* grace 0.1 s */
    int a = range_hold_begin(&rh, 128 * KiB, 384 * KiB);
    int b = range_hold_begin(&rh, 384 * KiB, 896 * KiB);
    assert_true(a >= 0 && b >= 0);
    /* The window on its way does not wait for the one after it. */
    assert_int_equal(range_hold_wait(&rh, a, &link), RANGE_HOLD_GO);
    struct held h = {.rh = &rh, .slot = b, .link = link};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_run, &h), 0);
    sleep_s(0.1);
    range_hold_done(&rh, a); /* arrived: the reader reads it, then closes the file */
    sleep_s(0.005);
    range_hold_flushed(&rh);
    pthread_join(t, NULL);
    assert_int_equal(h.outcome, RANGE_HOLD_DROP);
    assert_true(h.waited_s >= 0.1 && h.waited_s < 0.5);
    range_hold_done(&rh, b);
    range_hold_release(&rh);
}

static void test_a_reader_that_reads_on_is_held_once(void **state)
{
    (void)state;
    struct range_hold rh;
    range_hold_init(&rh);
    struct link_figures link = {.rtt_s = 0.2, .bytes_per_s = 1.25e6};
    int a = range_hold_begin(&rh, 128 * KiB, 384 * KiB);
    int b = range_hold_begin(&rh, 384 * KiB, 896 * KiB);
    struct held h = {.rh = &rh, .slot = b, .link = link};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, hold_run, &h), 0);
    sleep_s(0.05);
    range_hold_done(&rh, a); /* arrived, and no close: after the grace, the window goes */
    pthread_join(t, NULL);
    assert_int_equal(h.outcome, RANGE_HOLD_GO);
    assert_true(h.waited_s >= 0.05 + RANGE_HOLD_GRACE_MAX_S * 0.9);
    /* The reader reads on: the window after it goes out at once, though b is still on its
     * way, and a close later on drops nothing. */
    int c = range_hold_begin(&rh, 896 * KiB, 1920 * KiB);
    double began = now_s();
    assert_int_equal(range_hold_wait(&rh, c, &link), RANGE_HOLD_GO);
    assert_true(now_s() - began < 0.01);
    range_hold_done(&rh, b);
    range_hold_done(&rh, c);
    range_hold_release(&rh);
}

static void test_a_stuck_window_holds_the_next_for_a_bounded_time(void **state)
{
    (void)state;
    struct range_hold rh;
    range_hold_init(&rh);
    struct link_figures link = {.rtt_s = 0.01, .bytes_per_s = 100e6};
    int a = range_hold_begin(&rh, 0, 128 * KiB);
    int b = range_hold_begin(&rh, 128 * KiB, 384 * KiB);
    double began = now_s();
    assert_int_equal(range_hold_wait(&rh, b, &link), RANGE_HOLD_GO); /* a never arrives */
    double waited = now_s() - began;
    assert_true(waited >= RANGE_HOLD_SLACK_S && waited < RANGE_HOLD_SLACK_S + 0.5);
    /* O_DIRECT handles never wait. */
    range_hold_done(&rh, b);
    struct range_hold direct;
    range_hold_init(&direct);
    range_hold_disable(&direct);
    range_hold_begin(&direct, 0, 128 * KiB);
    b = range_hold_begin(&direct, 128 * KiB, 384 * KiB);
    began = now_s();
    assert_int_equal(range_hold_wait(&direct, b, &link), RANGE_HOLD_GO);
    assert_true(now_s() - began < 0.01);
    range_hold_done(&rh, a);
    range_hold_release(&rh);
    range_hold_release(&direct);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_the_link_decides),
        cmocka_unit_test(test_link_asked_for_at_open),
        cmocka_unit_test(test_the_access_pattern_decides),
        cmocka_unit_test(test_a_block_on_its_way_is_waited_for),
        cmocka_unit_test(test_blocks_in_flight),
        cmocka_unit_test(test_links_per_version),
        cmocka_unit_test(test_links_table_keeps_the_recent_ones),
        cmocka_unit_test(test_transport_failures_pause_ranges),
        cmocka_unit_test(test_a_window_follows_the_one_on_its_way),
        cmocka_unit_test(test_the_window_after_waits_and_is_dropped_at_close),
        cmocka_unit_test(test_a_reader_that_reads_on_is_held_once),
        cmocka_unit_test(test_a_stuck_window_holds_the_next_for_a_bounded_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
