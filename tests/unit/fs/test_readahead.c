/* Unit tests of fs/readahead: the sequential detector's window (fast and slow links), the
 * prefetch pool, the directory scan detector and its file-size limit. */
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
    readahead_on_read(&ra, 0, 128 * 1024, size, 0, &start, &end);
    assert_int_equal(start, end);
    assert_int_equal(ra.window, 0);
    assert_false(ra.sequential);
    /* The read that continues it opens the window. */
    readahead_on_read(&ra, 128 * 1024, 128 * 1024, size, 0, &start, &end);
    assert_true(ra.sequential);
    assert_int_equal(start, 256 * 1024);
    assert_int_equal(end, 256 * 1024 + READAHEAD_INITIAL_WINDOW);
    readahead_on_read(&ra, 256 * 1024, 128 * 1024, size, 0, &start, &end);
    assert_int_equal(ra.window, 2 * READAHEAD_INITIAL_WINDOW);
    assert_int_equal(start, 256 * 1024 + READAHEAD_INITIAL_WINDOW); /* only what is new */
    assert_int_equal(end, 384 * 1024 + 2 * READAHEAD_INITIAL_WINDOW);
    for (int i = 3; i < 20; i++)
        readahead_on_read(&ra, (uint64_t)i * 128 * 1024, 128 * 1024, size, 0, &start, &end);
    assert_int_equal(ra.window, 32 * MiB); /* capped */
    /* A seek resets: nothing fetched ahead. */
    readahead_on_read(&ra, 700 * MiB, 4096, size, 0, &start, &end);
    assert_int_equal(ra.window, 0);
    assert_false(ra.sequential);
    assert_int_equal(start, end);
    /* Sequential again from there: a small window again. */
    readahead_on_read(&ra, 700 * MiB + 4096, 4096, size, 0, &start, &end);
    assert_int_equal(ra.window, READAHEAD_INITIAL_WINDOW);
    assert_int_equal(start, 700 * MiB + 8192);
}

static void test_window_bounded_by_file_and_option(void **state)
{
    (void)state;
    struct readahead ra;
    readahead_init(&ra, 64 * MiB);
    uint64_t start, end;
    readahead_on_read(&ra, 0, 4096, 1 * MiB, 0, &start, &end);
    readahead_on_read(&ra, 4096, 4096, 1 * MiB, 0, &start, &end);
    assert_int_equal(start, 8192);
    assert_int_equal(end, 1 * MiB); /* not past the end */
    readahead_on_read(&ra, 1 * MiB - 4096, 4096, 1 * MiB, 0, &start, &end);
    assert_int_equal(start, end); /* at the end: nothing */
    readahead_init(&ra, 0);       /* readahead=0 */
    readahead_on_read(&ra, 0, 4096, 100 * MiB, 0, &start, &end);
    assert_int_equal(start, end);
    readahead_on_read(&ra, 4096, 4096, 100 * MiB, 0, &start, &end);
    assert_int_equal(start, end);
    assert_true(ra.sequential); /* told even when nothing is fetched ahead */
    /* Slightly out-of-order reads (concurrent kernel read-ahead) stay sequential. */
    readahead_init(&ra, 64 * MiB);
    readahead_on_read(&ra, 0, 128 * 1024, 100 * MiB, 0, &start, &end);
    readahead_on_read(&ra, 256 * 1024, 128 * 1024, 100 * MiB, 0, &start, &end);
    readahead_on_read(&ra, 128 * 1024, 128 * 1024, 100 * MiB, 0, &start, &end);
    assert_int_equal(ra.window, 2 * READAHEAD_INITIAL_WINDOW);
}

/* 10 Mbit/s and 150 ms: the window is what the link moves in READAHEAD_TARGET_S. */
static const struct link_figures SLOW = {.rtt_s = 0.150, .bytes_per_s = 1.25e6};

static void test_link_window(void **state)
{
    (void)state;
    uint64_t slow = readahead_link_window(&SLOW);
    assert_int_equal(slow, (uint64_t)(1.25e6 * READAHEAD_TARGET_S));
    assert_true(readahead_link_is_slow(slow));
    struct link_figures lan = {.rtt_s = 0.0005, .bytes_per_s = 110e6};
    assert_false(readahead_link_is_slow(readahead_link_window(&lan)));
    /* 50 Mbit/s: an 8 MiB block takes 1.3 s -- slow, nearby reads are not enough. */
    struct link_figures home = {.rtt_s = 0.040, .bytes_per_s = 6.25e6};
    assert_true(readahead_link_is_slow(readahead_link_window(&home)));
    struct link_figures unknown = {0};
    assert_int_equal(readahead_link_window(&unknown), 0);
    assert_false(readahead_link_is_slow(0)); /* nothing known: as on a fast link */
}

static void test_slow_link_wants_a_dense_growing_run(void **state)
{
    (void)state;
    struct readahead ra;
    uint64_t start, end, size = 100 * MiB, window = readahead_link_window(&SLOW);
    readahead_init(&ra, 64 * MiB);
    /* A header, then an index 120 KiB further: nearby, but no run -- no read-ahead, and not
     * sequential (the range path may serve both). On a fast link the second read opens it. */
    readahead_on_read(&ra, 0, 4096, size, window, &start, &end);
    readahead_on_read(&ra, 4096 + 120 * 1024, 4096, size, window, &start, &end);
    assert_false(ra.sequential);
    assert_int_equal(start, end);
    struct readahead fast;
    readahead_init(&fast, 64 * MiB);
    readahead_on_read(&fast, 0, 4096, size, 0, &start, &end);
    readahead_on_read(&fast, 4096 + 120 * 1024, 4096, size, 0, &start, &end);
    assert_true(fast.sequential);
    assert_int_equal(end - start, READAHEAD_INITIAL_WINDOW);
    /* Reads here and there within a region stay sparse, however long it goes on. */
    readahead_init(&ra, 64 * MiB);
    for (uint64_t off = 0; off < 8 * MiB; off += 100 * 1024) {
        readahead_on_read(&ra, off, 8192, size, window, &start, &end);
        assert_false(ra.sequential);
        assert_int_equal(start, end);
    }
    /* Contiguous reads: sequential once they cover READAHEAD_SLOW_RUN, then the link's window,
     * not a doubling one. */
    readahead_init(&ra, 64 * MiB);
    uint64_t off = 10 * MiB, step = 128 * 1024;
    for (; off + step < 10 * MiB + READAHEAD_SLOW_RUN; off += step) {
        readahead_on_read(&ra, off, step, size, window, &start, &end);
        assert_false(ra.sequential);
    }
    readahead_on_read(&ra, off, step, size, window, &start, &end);
    assert_true(ra.sequential);
    assert_int_equal(start, off + step);
    assert_int_equal(end, off + step + window);
    off += step;
    readahead_on_read(&ra, off, step, size, window, &start, &end);
    assert_int_equal(ra.window, window);
    assert_int_equal(start, off + window); /* only what is new */
    assert_int_equal(end, off + step + window);
    /* Out of order by one FUSE read (concurrent kernel requests): still the same run. */
    off += step;
    readahead_on_read(&ra, off + step, step, size, window, &start, &end);
    readahead_on_read(&ra, off, step, size, window, &start, &end);
    assert_true(ra.sequential);
    /* A seek ends it. */
    readahead_on_read(&ra, 50 * MiB, step, size, window, &start, &end);
    assert_false(ra.sequential);
    assert_int_equal(start, end);
    /* The readahead= option still caps the window. */
    readahead_init(&ra, 1 * MiB);
    for (off = 0; off <= READAHEAD_SLOW_RUN; off += step)
        readahead_on_read(&ra, off, step, size, window, &start, &end);
    assert_int_equal(ra.window, 1 * MiB);
}

static void test_scan_file_size_limit(void **state)
{
    (void)state;
    struct link_figures lan = {.rtt_s = 0.0005, .bytes_per_s = 110e6}, unknown = {0};
    assert_int_equal(scan_max_file_size(&lan), SCAN_MAX_FILE_SIZE);
    assert_int_equal(scan_max_file_size(&unknown), SCAN_MAX_FILE_SIZE);
    /* 10 Mbit/s, 150 ms: the bandwidth-delay product, 187,500 bytes. */
    assert_int_equal(scan_max_file_size(&SLOW), 187500);
    /* Slow and near: never below what one byte range fetches. */
    struct link_figures narrow = {.rtt_s = 0.010, .bytes_per_s = 1e6};
    assert_int_equal(scan_max_file_size(&narrow), SCAN_SLOW_MIN_FILE_SIZE);
}

struct counter {
    pthread_mutex_t lock;
    pthread_cond_t done;
    int started; /* jobs a worker has taken */
    int runs;
    char last[64];
    char order[8][64]; /* ids of the first jobs run, in the order they ran */
    int gate;          /* workers wait while gate == 0 */
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
    if (c->runs < 8)
        snprintf(c->order[c->runs], sizeof(c->order[0]), "%s", block_id);
    c->runs++;
    snprintf(c->last, sizeof(c->last), "%s", block_id);
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

/* A pool of one worker over c, its first job (id first) taken and held at the gate. */
static struct prefetch_pool *pool_with_held_job(struct counter *c, size_t queue,
                                                enum prefetch_kind kind, const char *first)
{
    memset(c, 0, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->done, NULL);
    struct prefetch_pool *pool = prefetch_pool_new(1, queue, count_job, c);
    assert_non_null(pool);
    assert_true(prefetch_pool_submit(pool, kind, "r", first));
    pthread_mutex_lock(&c->lock);
    while (c->started < 1)
        pthread_cond_wait(&c->done, &c->lock);
    pthread_mutex_unlock(&c->lock);
    return pool;
}

/* Opens the gate, waits for runs jobs to have run, and frees the pool. */
static void pool_run_and_free(struct prefetch_pool *pool, struct counter *c, int runs)
{
    pthread_mutex_lock(&c->lock);
    c->gate = 1;
    pthread_cond_broadcast(&c->done);
    while (c->runs < runs)
        pthread_cond_wait(&c->done, &c->lock);
    pthread_mutex_unlock(&c->lock);
    prefetch_pool_free(pool);
}

static void counter_destroy(struct counter *c)
{
    pthread_cond_destroy(&c->done);
    pthread_mutex_destroy(&c->lock);
}

static void test_pool_dedups_and_bounds(void **state)
{
    (void)state;
    struct counter c;
    /* The single worker takes the first job and blocks on the gate; then the queue fills. */
    struct prefetch_pool *pool = pool_with_held_job(&c, 2, PREFETCH_BLOCK, "block-0");
    assert_true(prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-1"));
    assert_false(prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-1")); /* already queued */
    bool third = prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-2");
    bool fourth = prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-3");
    assert_false(third && fourth); /* queue of 2 is bounded */
    assert_true(third);            /* block-0 left the queue: room for two */
    assert_false(fourth);
    int expected = 2 + (third ? 1 : 0) + (fourth ? 1 : 0);
    pool_run_and_free(pool, &c, expected);
    assert_int_equal(c.runs, expected);
    counter_destroy(&c);
}

/* A block read from the disk ahead (PREFETCH_DISK) and the same block fetched ahead
 * (PREFETCH_BLOCK) are different jobs: one does not keep the other out of the queue. */
static void test_pool_dedups_by_kind_and_id(void **state)
{
    (void)state;
    struct counter c;
    struct prefetch_pool *pool = pool_with_held_job(&c, 4, PREFETCH_BLOCK, "block-0");
    assert_true(prefetch_pool_submit(pool, PREFETCH_DISK, "r", "block-1"));
    assert_false(prefetch_pool_submit(pool, PREFETCH_DISK, "r", "block-1"));
    assert_true(prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-1"));
    assert_false(prefetch_pool_submit(pool, PREFETCH_BLOCK, "r", "block-1"));
    pool_run_and_free(pool, &c, 3);
    assert_int_equal(c.runs, 3);
    counter_destroy(&c);
}

/* A job submitted first (the file objects of the folder a scan reaches next) runs before the
 * jobs already waiting, which keep their order; it is deduplicated like the others. */
static void test_pool_runs_a_first_job_before_the_waiting_ones(void **state)
{
    (void)state;
    struct counter c;
    struct prefetch_pool *pool = pool_with_held_job(&c, 4, PREFETCH_FILE, "file-0");
    assert_true(prefetch_pool_submit(pool, PREFETCH_FILE, "r", "file-1"));
    assert_true(prefetch_pool_submit(pool, PREFETCH_FILE, "r", "file-2"));
    assert_true(prefetch_pool_submit_first(pool, PREFETCH_FOLDER, "r", "folder"));
    assert_false(prefetch_pool_submit_first(pool, PREFETCH_FOLDER, "r", "folder"));
    assert_true(prefetch_pool_submit_first(pool, PREFETCH_FOLDER, "r", "folder-2"));
    assert_false(prefetch_pool_submit_first(pool, PREFETCH_FOLDER, "r", "folder-3")); /* full */
    pool_run_and_free(pool, &c, 5);
    const char *expected[] = {"file-0", "folder-2", "folder", "file-1", "file-2"};
    for (int i = 0; i < 5; i++)
        assert_string_equal(c.order[i], expected[i]);
    counter_destroy(&c);
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
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_window_grows_and_resets),
        cmocka_unit_test(test_window_bounded_by_file_and_option),
        cmocka_unit_test(test_pool_dedups_and_bounds),
        cmocka_unit_test(test_pool_dedups_by_kind_and_id),
        cmocka_unit_test(test_pool_runs_a_first_job_before_the_waiting_ones),
        cmocka_unit_test(test_directory_scan),
        cmocka_unit_test(test_link_window),
        cmocka_unit_test(test_slow_link_wants_a_dense_growing_run),
        cmocka_unit_test(test_scan_file_size_limit)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
