/* Unit tests of fs/readahead: the sequential detector's window and the prefetch pool. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "readahead.h"

#define MiB (1ULL << 20)

static void test_window_grows_and_resets(void **state)
{
    (void)state;
    struct readahead ra;
    readahead_init(&ra, 32 * MiB);
    uint64_t start, end, size = 1024 * MiB;
    /* A file's first read fetches nothing ahead, even at offset 0 (a type sniff stops there). */
    readahead_on_read(&ra, 0, 128 * 1024, size, &start, &end);
    assert_int_equal(start, end);
    assert_int_equal(ra.window, 0);
    assert_false(ra.sequential);
    /* The read that continues it opens the window. */
    readahead_on_read(&ra, 128 * 1024, 128 * 1024, size, &start, &end);
    assert_true(ra.sequential);
    assert_int_equal(start, 256 * 1024);
    assert_int_equal(end, 256 * 1024 + READAHEAD_INITIAL_WINDOW);
    readahead_on_read(&ra, 256 * 1024, 128 * 1024, size, &start, &end);
    assert_int_equal(ra.window, 2 * READAHEAD_INITIAL_WINDOW);
    assert_int_equal(start, 256 * 1024 + READAHEAD_INITIAL_WINDOW); /* only what is new */
    assert_int_equal(end, 384 * 1024 + 2 * READAHEAD_INITIAL_WINDOW);
    for (int i = 3; i < 20; i++)
        readahead_on_read(&ra, (uint64_t)i * 128 * 1024, 128 * 1024, size, &start, &end);
    assert_int_equal(ra.window, 32 * MiB); /* capped */
    /* A seek resets: nothing fetched ahead. */
    readahead_on_read(&ra, 700 * MiB, 4096, size, &start, &end);
    assert_int_equal(ra.window, 0);
    assert_false(ra.sequential);
    assert_int_equal(start, end);
    /* Sequential again from there: a small window again. */
    readahead_on_read(&ra, 700 * MiB + 4096, 4096, size, &start, &end);
    assert_int_equal(ra.window, READAHEAD_INITIAL_WINDOW);
    assert_int_equal(start, 700 * MiB + 8192);
}

static void test_window_bounded_by_file_and_option(void **state)
{
    (void)state;
    struct readahead ra;
    readahead_init(&ra, 64 * MiB);
    uint64_t start, end;
    readahead_on_read(&ra, 0, 4096, 1 * MiB, &start, &end);
    readahead_on_read(&ra, 4096, 4096, 1 * MiB, &start, &end);
    assert_int_equal(start, 8192);
    assert_int_equal(end, 1 * MiB); /* not past the end */
    readahead_on_read(&ra, 1 * MiB - 4096, 4096, 1 * MiB, &start, &end);
    assert_int_equal(start, end); /* at the end: nothing */
    readahead_init(&ra, 0);       /* readahead=0 */
    readahead_on_read(&ra, 0, 4096, 100 * MiB, &start, &end);
    assert_int_equal(start, end);
    readahead_on_read(&ra, 4096, 4096, 100 * MiB, &start, &end);
    assert_int_equal(start, end);
    assert_true(ra.sequential); /* told even when nothing is fetched ahead */
    /* Slightly out-of-order reads (concurrent kernel read-ahead) stay sequential. */
    readahead_init(&ra, 64 * MiB);
    readahead_on_read(&ra, 0, 128 * 1024, 100 * MiB, &start, &end);
    readahead_on_read(&ra, 256 * 1024, 128 * 1024, 100 * MiB, &start, &end);
    readahead_on_read(&ra, 128 * 1024, 128 * 1024, 100 * MiB, &start, &end);
    assert_int_equal(ra.window, 2 * READAHEAD_INITIAL_WINDOW);
}

struct counter {
    pthread_mutex_t lock;
    pthread_cond_t done;
    int started; /* jobs a worker has taken */
    int runs;
    char last[64];
    int gate; /* workers wait while gate == 0 */
};

static void count_job(void *ctx, enum prefetch_kind kind, const char *repo_id, const char *block_id)
{
    struct counter *c = ctx;
    (void)repo_id;
    (void)kind;
    pthread_mutex_lock(&c->lock);
    c->started++;
    pthread_cond_broadcast(&c->done);
    while (!c->gate)
        pthread_cond_wait(&c->done, &c->lock);
    c->runs++;
    snprintf(c->last, sizeof(c->last), "%s", block_id);
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

static void test_pool_dedups_and_bounds(void **state)
{
    (void)state;
    struct counter c = {.gate = 0};
    pthread_mutex_init(&c.lock, NULL);
    pthread_cond_init(&c.done, NULL);
    struct prefetch_pool *pool = prefetch_pool_new(1, 2, count_job, &c);
    assert_non_null(pool);
    /* The single worker takes the first job and blocks on the gate; then the queue fills. */
    assert_true(prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-0"));
    pthread_mutex_lock(&c.lock);
    while (c.started < 1)
        pthread_cond_wait(&c.done, &c.lock);
    pthread_mutex_unlock(&c.lock);
    assert_true(prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-1"));
    assert_false(prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-1")); /* already queued */
    bool third = prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-2");
    bool fourth = prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-3");
    assert_false(third && fourth); /* queue of 2 is bounded */
    assert_true(third);            /* block-0 left the queue: room for two */
    assert_false(fourth);
    pthread_mutex_lock(&c.lock);
    c.gate = 1;
    pthread_cond_broadcast(&c.done);
    int expected = 2 + (third ? 1 : 0) + (fourth ? 1 : 0);
    while (c.runs < expected)
        pthread_cond_wait(&c.done, &c.lock);
    pthread_mutex_unlock(&c.lock);
    prefetch_pool_free(pool);
    assert_int_equal(c.runs, expected);
    pthread_cond_destroy(&c.done);
    pthread_mutex_destroy(&c.lock);
}

static void test_directory_scan(void **state)
{
    (void)state;
    struct scan_detector sd = {0};
    size_t from, to;
    scan_on_open(&sd, 7, 0, 1000, &from, &to);
    assert_int_equal(from, to); /* one open is no scan */
    scan_on_open(&sd, 7, 1, 1000, &from, &to);
    assert_int_equal(from, 2);
    assert_int_equal(to, 2 + 8);
    scan_on_open(&sd, 7, 2, 1000, &from, &to);
    assert_int_equal(from, 10); /* only what is new */
    assert_int_equal(to, 3 + 16);
    for (size_t i = 3; i < 20; i++)
        scan_on_open(&sd, 7, i, 1000, &from, &to);
    assert_int_equal(to, 20 + SCAN_MAX_WINDOW); /* capped */
    /* Skipping one entry (a subdirectory) keeps the scan going. */
    scan_on_open(&sd, 7, 21, 1000, &from, &to);
    assert_true(sd.run > 1);
    /* Another directory, or a jump, restarts. */
    scan_on_open(&sd, 8, 22, 1000, &from, &to);
    assert_int_equal(sd.run, 0);
    assert_int_equal(from, to);
    scan_on_open(&sd, 8, 23, 30, &from, &to);
    assert_int_equal(from, 24);
    assert_int_equal(to, 30); /* not past the listing */
    scan_on_open(&sd, 8, 5, 30, &from, &to);
    assert_int_equal(from, to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_window_grows_and_resets),
                                       cmocka_unit_test(test_window_bounded_by_file_and_option),
                                       cmocka_unit_test(test_pool_dedups_and_bounds),
                                       cmocka_unit_test(test_directory_scan)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
