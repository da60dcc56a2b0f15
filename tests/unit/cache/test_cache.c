/* Tests of the cache API: hits and misses, fills and their checks, LRU order, pinning, open
 * objects, watermarks, the hard limit, free-space minimum, damaged files, metadata objects,
 * persistence of the index, and start-up recovery (temp files, stale rows, index rebuild). */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cmocka.h>

#include "block_format.h"
#include "cache.h"
#include "cache_test_util.h"
#include "index_db.h"
#include "store.h"

#define FRAME      (64u * 1024u)
#define BLOCK_SIZE (100u * 1024u) /* random data: two raw frames */
/* Size on disk of one BLOCK_SIZE block of random data. */
#define BLOCK_FILE_SIZE (BLOCK_SIZE + 2 * BLOCK_TABLE_ENTRY_SIZE + BLOCK_FOOTER_SIZE)
#define MAX_BLOCKS      64

struct fixture {
    char *dir;
    struct cache *cache;
    struct cache_options opts;
    unsigned char *data[MAX_BLOCKS];
    char id[MAX_BLOCKS][SEAF_ID_LEN + 1];
};

/* Options: limit of `blocks` block files, watermarks in percent, no free-space minimum. */
static void reopen(struct fixture *f)
{
    cache_free(f->cache);
    f->cache = NULL;
    assert_int_equal(cache_new(&f->opts, &f->cache), SEAF_OK);
}

static struct fixture *fixture_new(unsigned blocks, unsigned high, unsigned low)
{
    struct fixture *f = calloc(1, sizeof(*f));
    f->dir = test_make_dir("cache");
    cache_options_init(&f->opts);
    f->opts.dir = f->dir;
    f->opts.size_limit = (uint64_t)blocks * BLOCK_FILE_SIZE;
    f->opts.high_water_pct = high;
    f->opts.low_water_pct = low;
    f->opts.min_free_bytes = 0;
    f->opts.frame_size = FRAME;
    for (int i = 0; i < MAX_BLOCKS; i++) {
        f->data[i] = malloc(BLOCK_SIZE);
        test_fill_random(f->data[i], BLOCK_SIZE, (uint64_t)i + 1);
        test_sha1_id(f->data[i], BLOCK_SIZE, f->id[i]);
    }
    assert_int_equal(cache_new(&f->opts, &f->cache), SEAF_OK);
    return f;
}

static void fixture_free(struct fixture *f)
{
    cache_free(f->cache);
    test_remove_tree(f->dir);
    free(f->dir);
    for (int i = 0; i < MAX_BLOCKS; i++)
        free(f->data[i]);
    free(f);
}

/* Starts the fill of block `id`, which must be a miss. */
static struct cache_fill *begin_fill(struct fixture *f, const char *id)
{
    struct cache_handle *h;
    struct cache_fill *fill;
    assert_int_equal(cache_open_or_fill(f->cache, CACHE_KIND_BLOCK, id, &h, &fill), SEAF_OK);
    assert_null(h);
    assert_non_null(fill);
    return fill;
}

/* Writes len bytes of data into the fill and commits it (handle as for cache_fill_commit);
 * returns the commit result. */
static seaf_err write_and_commit(struct cache_fill *fill, const void *data, size_t len,
                                 struct cache_handle **handle)
{
    assert_int_equal(cache_fill_write(fill, data, len), SEAF_OK);
    return cache_fill_commit(fill, handle);
}

/* Fills block `id` (a miss) with len bytes of data; returns the commit result. */
static seaf_err fill_block(struct fixture *f, const char *id, const void *data, size_t len,
                           struct cache_handle **handle)
{
    return write_and_commit(begin_fill(f, id), data, len, handle);
}

/* Fills block i through the single-flight API, in two writes; returns the commit result. */
static seaf_err put_block(struct fixture *f, int i)
{
    struct cache_fill *fill = begin_fill(f, f->id[i]);
    assert_int_equal(cache_fill_write(fill, f->data[i], 1000), SEAF_OK);
    return write_and_commit(fill, f->data[i] + 1000, BLOCK_SIZE - 1000, NULL);
}

/* True when block i is cached; checks every byte when it is. */
static bool has_block(struct fixture *f, int i)
{
    struct cache_handle *h;
    seaf_err err = cache_open(f->cache, CACHE_KIND_BLOCK, f->id[i], &h);
    if (err == SEAF_ERR_NOT_FOUND)
        return false;
    assert_int_equal(err, SEAF_OK);
    assert_int_equal(cache_handle_size(h), BLOCK_SIZE);
    unsigned char *buf = malloc(BLOCK_SIZE);
    size_t n;
    assert_int_equal(cache_read(h, 0, BLOCK_SIZE, buf, &n), SEAF_OK);
    assert_int_equal(n, BLOCK_SIZE);
    assert_memory_equal(buf, f->data[i], BLOCK_SIZE);
    free(buf);
    cache_close(h);
    return true;
}

/* Bytes of object files on disk (the index and tmp/ are not cached objects). */
static uint64_t object_bytes(struct fixture *f)
{
    char path[PATH_MAX];
    uint64_t total = 0;
    for (int kind = CACHE_KIND_FIRST; kind <= CACHE_KIND_LAST; kind++) {
        snprintf(path, sizeof(path), "%s/%s", f->dir, cache_kind_dir(kind));
        total += test_tree_bytes(path);
    }
    return total;
}

static struct cache_stats stats(struct fixture *f)
{
    struct cache_stats s;
    cache_get_stats(f->cache, &s);
    return s;
}

static void test_miss_fill_hit(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    struct cache_handle *h;
    assert_int_equal(cache_open(f->cache, CACHE_KIND_BLOCK, f->id[0], &h), SEAF_ERR_NOT_FOUND);
    assert_null(h);
    assert_int_equal(cache_open(f->cache, CACHE_KIND_BLOCK, "nothex", &h), SEAF_ERR_INVALID_ARG);
    assert_int_equal(cache_open(f->cache, 99, f->id[0], &h), SEAF_ERR_INVALID_ARG);

    /* A fill can hand back an open handle directly. */
    assert_int_equal(fill_block(f, f->id[0], f->data[0], BLOCK_SIZE, &h), SEAF_OK);
    assert_non_null(h);
    unsigned char buf[4096];
    size_t n;
    assert_int_equal(cache_read(h, BLOCK_SIZE - 100, sizeof(buf), buf, &n), SEAF_OK);
    assert_int_equal(n, 100);
    assert_memory_equal(buf, f->data[0] + BLOCK_SIZE - 100, 100);
    cache_close(h);

    /* Now a hit, through both entry points. */
    assert_true(has_block(f, 0));
    struct cache_fill *fill;
    assert_int_equal(cache_open_or_fill(f->cache, CACHE_KIND_BLOCK, f->id[0], &h, &fill), SEAF_OK);
    assert_non_null(h);
    assert_null(fill);
    cache_close(h);
    struct cache_stats s = stats(f);
    assert_int_equal(s.entries, 1);
    assert_int_equal(s.fills, 1);
    assert_int_equal(s.used_bytes, BLOCK_FILE_SIZE);
    assert_int_equal(object_bytes(f), BLOCK_FILE_SIZE);
    fixture_free(f);
}

static void test_fill_with_wrong_bytes_is_refused(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    assert_int_equal(fill_block(f, f->id[0], f->data[1], BLOCK_SIZE, NULL), SEAF_ERR_ID_MISMATCH);
    assert_false(has_block(f, 0));
    assert_int_equal(object_bytes(f), 0);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/tmp", f->dir);
    assert_int_equal(test_tree_bytes(tmp), 0);
    assert_int_equal(stats(f).fill_failures, 1);
    /* An abort leaves nothing either, and the next request may fill again. */
    struct cache_fill *fill = begin_fill(f, f->id[0]);
    assert_int_equal(cache_fill_write(fill, f->data[0], 10), SEAF_OK);
    cache_fill_abort(fill, SEAF_ERR_NETWORK);
    assert_false(has_block(f, 0));
    assert_int_equal(put_block(f, 0), SEAF_OK);
    assert_true(has_block(f, 0));
    fixture_free(f);
}

static void test_fill_reset_starts_over(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    struct cache_fill *fill = begin_fill(f, f->id[0]);
    /* A download that delivered a frame and a half of wrong bytes, then was retried. */
    assert_int_equal(cache_fill_write(fill, f->data[1], FRAME + FRAME / 2), SEAF_OK);
    assert_int_equal(cache_fill_reset(fill), SEAF_OK);
    assert_int_equal(write_and_commit(fill, f->data[0], BLOCK_SIZE, NULL), SEAF_OK);
    assert_true(has_block(f, 0));
    assert_int_equal(stats(f).used_bytes, BLOCK_FILE_SIZE);
    assert_int_equal(object_bytes(f), BLOCK_FILE_SIZE);
    fixture_free(f);
}

/* cache_contains answers from the entry table alone: it sees ready objects only and leaves the
 * LRU order, the index and the hit/miss counters as they were. */
static void test_contains_is_not_a_use(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(3, 100, 100);
    for (int i = 0; i < 3; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    cache_sync(f->cache);
    struct cache_stats before = stats(f);

    assert_true(cache_contains(f->cache, CACHE_KIND_BLOCK, f->id[0]));
    assert_true(cache_contains(f->cache, CACHE_KIND_BLOCK, f->id[2]));
    assert_false(cache_contains(f->cache, CACHE_KIND_BLOCK, f->id[5]));
    assert_false(cache_contains(f->cache, CACHE_KIND_FS, f->id[0])); /* other kind, other id */
    assert_false(cache_contains(f->cache, CACHE_KIND_BLOCK, "nothex"));
    assert_false(cache_contains(f->cache, 99, f->id[0]));
    assert_false(cache_contains(f->cache, CACHE_KIND_BLOCK, NULL));
    cache_sync(f->cache);
    struct cache_stats after = stats(f);
    assert_int_equal(after.hits, before.hits);
    assert_int_equal(after.misses, before.misses);
    assert_int_equal(after.index_errors, 0);
    /* An object being filled is not there yet. */
    struct cache_fill *fill = begin_fill(f, f->id[3]);
    assert_false(cache_contains(f->cache, CACHE_KIND_BLOCK, f->id[3]));
    cache_fill_abort(fill, SEAF_ERR_NETWORK);
    /* Block 0 is still the least recently used (an open would have made it the newest): the
     * next fill evicts it. */
    assert_int_equal(put_block(f, 3), SEAF_OK);
    assert_false(cache_contains(f->cache, CACHE_KIND_BLOCK, f->id[0]));
    assert_true(cache_contains(f->cache, CACHE_KIND_BLOCK, f->id[1]));
    assert_true(cache_contains(f->cache, CACHE_KIND_BLOCK, f->id[3]));
    /* ... and the index order is untouched too: after a restart 1 is the oldest. */
    reopen(f);
    assert_int_equal(put_block(f, 4), SEAF_OK);
    assert_false(cache_contains(f->cache, CACHE_KIND_BLOCK, f->id[1]));
    assert_true(has_block(f, 2));
    fixture_free(f);
}

struct waiter {
    struct fixture *f;
    int block;
    seaf_err result;
    bool got_handle;
};

static void *wait_for_block(void *arg)
{
    struct waiter *w = arg;
    struct cache_handle *h;
    struct cache_fill *fill;
    w->result = cache_open_or_fill(w->f->cache, CACHE_KIND_BLOCK, w->f->id[w->block], &h, &fill);
    w->got_handle = h != NULL;
    cache_close(h);
    if (fill != NULL)
        cache_fill_abort(fill, SEAF_ERR_IO);
    return NULL;
}

/* Starts n threads asking for block i while this thread holds its fill; waits until they all
 * wait (the cache counts them). */
static void start_waiters(struct fixture *f, pthread_t *threads, struct waiter *w, int n, int i)
{
    uint64_t before = stats(f).waits;
    for (int k = 0; k < n; k++) {
        w[k] = (struct waiter){.f = f, .block = i};
        assert_int_equal(pthread_create(&threads[k], NULL, wait_for_block, &w[k]), 0);
    }
    for (int tries = 0; stats(f).waits < before + (uint64_t)n && tries < 5000; tries++)
        usleep(1000);
    assert_int_equal(stats(f).waits, before + (uint64_t)n);
}

static void test_waiters_share_one_fill(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    pthread_t threads[4];
    struct waiter w[4];

    /* Failure: every waiter gets the filler's error and nobody else fills. */
    struct cache_fill *fill = begin_fill(f, f->id[0]);
    start_waiters(f, threads, w, 4, 0);
    cache_fill_abort(fill, SEAF_ERR_NETWORK);
    for (int k = 0; k < 4; k++) {
        pthread_join(threads[k], NULL);
        assert_int_equal(w[k].result, SEAF_ERR_NETWORK);
        assert_false(w[k].got_handle);
    }
    /* Success: every waiter gets a handle on the one committed copy. */
    fill = begin_fill(f, f->id[0]);
    start_waiters(f, threads, w, 4, 0);
    assert_int_equal(write_and_commit(fill, f->data[0], BLOCK_SIZE, NULL), SEAF_OK);
    for (int k = 0; k < 4; k++) {
        pthread_join(threads[k], NULL);
        assert_int_equal(w[k].result, SEAF_OK);
        assert_true(w[k].got_handle);
    }
    assert_int_equal(stats(f).fills, 1);
    fixture_free(f);
}

static void test_lru_order_pins_and_open_objects(void **state)
{
    (void)state;
    /* Watermarks at 100%: only the hard limit evicts, so the victims are exact. */
    struct fixture *f = fixture_new(10, 100, 100);
    for (int i = 0; i < 10; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    assert_int_equal(stats(f).evictions, 0);
    assert_true(has_block(f, 0)); /* block 0 becomes the most recent; 1 is now the oldest */
    assert_int_equal(put_block(f, 10), SEAF_OK);
    assert_int_equal(stats(f).evictions, 1);
    assert_false(has_block(f, 1));
    assert_true(has_block(f, 0)); /* order now: 2..9, 10, 0 */

    /* The oldest (2) is pinned: 3 goes instead. */
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[2], true), SEAF_OK);
    assert_int_equal(put_block(f, 11), SEAF_OK);
    assert_false(has_block(f, 3));

    /* The oldest unpinned (4) is open: 5 goes instead; the open handle keeps reading. */
    struct cache_handle *open_h;
    assert_int_equal(cache_open(f->cache, CACHE_KIND_BLOCK, f->id[4], &open_h), SEAF_OK);
    assert_int_equal(put_block(f, 12), SEAF_OK);
    assert_false(has_block(f, 5));
    unsigned char buf[100];
    size_t n;
    assert_int_equal(cache_read(open_h, 5, sizeof(buf), buf, &n), SEAF_OK);
    assert_memory_equal(buf, f->data[4] + 5, sizeof(buf));
    cache_close(open_h);

    /* Everything pinned: a new fill cannot get room, and nothing is lost. */
    for (int i = 0; i < 13; i++)
        cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[i], true);
    assert_int_equal(stats(f).pinned, 10);
    assert_int_equal(put_block(f, 13), SEAF_ERR_NOSPACE);
    assert_false(has_block(f, 13));
    assert_int_equal(stats(f).entries, 10);
    /* Unpinning one makes room again; it is the one evicted. */
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[7], false), SEAF_OK);
    assert_int_equal(put_block(f, 13), SEAF_OK);
    assert_false(has_block(f, 7));
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[7], true), SEAF_ERR_NOT_FOUND);
    assert_true(object_bytes(f) <= f->opts.size_limit);
    fixture_free(f);
}

static void test_fill_pinned_survives_eviction(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(4, 100, 100);
    struct cache_fill *fill = begin_fill(f, f->id[0]);
    cache_fill_pin(fill);
    assert_int_equal(write_and_commit(fill, f->data[0], BLOCK_SIZE, NULL), SEAF_OK);
    for (int i = 1; i < 12; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    assert_true(has_block(f, 0));
    assert_int_equal(stats(f).pinned, 1);
    fixture_free(f);
}

static void test_watermarks(void **state)
{
    (void)state;
    /* 10 blocks; above 80% the evictor brings use down to 50%. */
    struct fixture *f = fixture_new(10, 80, 50);
    for (int i = 0; i < 8; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    cache_sync(f->cache);
    assert_int_equal(stats(f).entries, 8); /* at the high watermark, not above: nothing to do */
    assert_int_equal(put_block(f, 8), SEAF_OK);
    cache_sync(f->cache);
    struct cache_stats s = stats(f);
    assert_int_equal(s.entries, 5);
    assert_int_equal(s.evictions, 4);
    assert_true(s.used_bytes <= f->opts.size_limit / 2);
    for (int i = 0; i < 4; i++)
        assert_false(has_block(f, i));
    for (int i = 4; i < 9; i++)
        assert_true(has_block(f, i));
    assert_int_equal(object_bytes(f), s.used_bytes);
    fixture_free(f);
}

/* A prefix of test block i that test_limit_never_exceeded filled as an object of its own. */
struct filled_prefix {
    int block;
    size_t len;
    char id[SEAF_ID_LEN + 1];
};

/* Opens a filled prefix; when it is still cached, checks its size and every byte. Returns
 * whether it was cached. */
static bool check_prefix(struct fixture *f, const struct filled_prefix *p)
{
    struct cache_handle *h;
    seaf_err err = cache_open(f->cache, CACHE_KIND_BLOCK, p->id, &h);
    if (err == SEAF_ERR_NOT_FOUND)
        return false;
    assert_int_equal(err, SEAF_OK);
    assert_int_equal(cache_handle_size(h), p->len);
    unsigned char *buf = malloc(p->len);
    size_t n;
    assert_int_equal(cache_read(h, 0, p->len, buf, &n), SEAF_OK);
    assert_int_equal(n, p->len);
    assert_memory_equal(buf, f->data[p->block], p->len);
    free(buf);
    cache_close(h);
    return true;
}

static void test_limit_never_exceeded(void **state)
{
    (void)state;
    enum { ROUNDS = 120 };
    struct fixture *f = fixture_new(7, 95, 60);
    struct filled_prefix filled[ROUNDS];
    int filled_count = 0, hits = 0, misses = 0;
    uint64_t rng = 42;
    for (int round = 0; round < ROUNDS; round++) {
        int i = (int)(test_rand(&rng) % MAX_BLOCKS);
        if (test_rand(&rng) % 3 == 0) {
            /* Read back one of the objects filled so far, if the evictor left it. */
            if (filled_count > 0) {
                if (check_prefix(f, &filled[test_rand(&rng) % (uint64_t)filled_count]))
                    hits++;
                else
                    misses++;
            }
        } else {
            /* Sizes vary from 1 byte to the whole test block. */
            struct filled_prefix *p = &filled[filled_count++];
            p->block = i;
            p->len = 1 + (size_t)(test_rand(&rng) % BLOCK_SIZE);
            test_sha1_id(f->data[i], p->len, p->id);
            struct cache_handle *h;
            struct cache_fill *fill;
            assert_int_equal(cache_open_or_fill(f->cache, CACHE_KIND_BLOCK, p->id, &h, &fill),
                             SEAF_OK);
            if (fill != NULL) {
                assert_int_equal(cache_fill_write(fill, f->data[i], p->len), SEAF_OK);
                assert_int_equal(cache_fill_commit(fill, &h), SEAF_OK);
            }
            assert_int_equal(cache_handle_size(h), p->len);
            cache_close(h);
        }
        assert_true(object_bytes(f) <= f->opts.size_limit);
        assert_true(stats(f).used_bytes <= f->opts.size_limit);
    }
    /* The read branch really reads: some objects were found (and checked), some evicted. */
    assert_true(hits > 0);
    assert_true(misses > 0);
    cache_sync(f->cache);
    assert_int_equal(object_bytes(f), stats(f).used_bytes);
    assert_true(stats(f).evictions > 0);
    /* An object bigger than the whole cache is refused while it is written. */
    unsigned char *big = calloc(1, f->opts.size_limit + 1);
    char id[SEAF_ID_LEN + 1];
    test_sha1_id(big, f->opts.size_limit + 1, id);
    struct cache_fill *fill = begin_fill(f, id);
    assert_int_equal(cache_fill_write(fill, big, f->opts.size_limit + 1), SEAF_ERR_NOSPACE);
    cache_fill_abort(fill, SEAF_ERR_NOSPACE);
    free(big);
    fixture_free(f);
}

static void test_free_space_minimum(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(20, 100, 100);
    for (int i = 0; i < 6; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[0], true), SEAF_OK);
    /* Ask for more free space than the disk has: the cache stops filling and evicts whatever it
     * may (everything but the pinned block). */
    struct statvfs sv;
    assert_int_equal(statvfs(f->dir, &sv), 0);
    f->opts.min_free_bytes = (uint64_t)sv.f_bavail * sv.f_frsize + (1ull << 40);
    reopen(f);
    cache_sync(f->cache);
    assert_int_equal(stats(f).entries, 1);
    assert_true(has_block(f, 0));
    assert_int_equal(put_block(f, 7), SEAF_ERR_NOSPACE);
    fixture_free(f);
}

/* Path of the file of object (kind, id) in the fixture's cache directory. */
static void object_path(struct fixture *f, int kind, const char *id, char out[PATH_MAX])
{
    struct store s;
    assert_int_equal(store_init(&s, f->dir), SEAF_OK); /* the directories exist already */
    store_object_path(&s, kind, id, out);
}

/* Path of the file of block i. */
static void block_path(struct fixture *f, int i, char out[PATH_MAX])
{
    object_path(f, CACHE_KIND_BLOCK, f->id[i], out);
}

static void test_damaged_frame_drops_block(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    assert_int_equal(put_block(f, 0), SEAF_OK);
    assert_int_equal(put_block(f, 1), SEAF_OK);
    char path[PATH_MAX];
    block_path(f, 0, path);
    test_flip_byte(path, FRAME + 3); /* inside the second frame */

    struct cache_handle *h;
    assert_int_equal(cache_open(f->cache, CACHE_KIND_BLOCK, f->id[0], &h), SEAF_OK);
    unsigned char buf[4096];
    size_t n;
    assert_int_equal(cache_read(h, 0, sizeof(buf), buf, &n), SEAF_OK); /* frame 0 is intact */
    assert_memory_equal(buf, f->data[0], sizeof(buf));
    memset(buf, 0, sizeof(buf));
    assert_int_equal(cache_read(h, FRAME, sizeof(buf), buf, &n), SEAF_ERR_ID_MISMATCH);
    assert_int_equal(n, 0);
    cache_close(h);
    assert_int_equal(stats(f).corrupt_drops, 1);
    assert_int_equal(access(path, F_OK), -1);
    assert_false(has_block(f, 0));
    assert_true(has_block(f, 1));
    assert_int_equal(stats(f).used_bytes, BLOCK_FILE_SIZE);

    /* A damaged trailer is found at open: reported as a miss, and the file is gone. */
    block_path(f, 1, path);
    test_flip_byte(path, BLOCK_FILE_SIZE - 10);
    assert_int_equal(cache_open(f->cache, CACHE_KIND_BLOCK, f->id[1], &h), SEAF_ERR_NOT_FOUND);
    assert_int_equal(access(path, F_OK), -1);
    /* ... and open_or_fill turns it straight into a fill. */
    assert_int_equal(put_block(f, 1), SEAF_OK);
    assert_true(has_block(f, 1));
    assert_int_equal(object_bytes(f), BLOCK_FILE_SIZE);
    fixture_free(f);
}

static void test_metadata_objects(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    const char *dir_json = "{\"dirents\": [], \"type\": 3, \"version\": 1}";
    char fs_id[SEAF_ID_LEN + 1];
    test_sha1_id(dir_json, strlen(dir_json), fs_id);
    const char *commit_json = "{\"commit_id\": \"x\", \"root_id\": \"y\"}";
    const char *commit_id = "0123456789abcdef0123456789abcdef01234567"; /* not its SHA-1 */

    assert_int_equal(cache_put_object(f->cache, CACHE_KIND_FS, fs_id, dir_json, strlen(dir_json)),
                     SEAF_OK);
    assert_int_equal(
        cache_put_object(f->cache, CACHE_KIND_COMMIT, commit_id, commit_json, strlen(commit_json)),
        SEAF_OK);
    /* An fs object must hash to its id; a commit id is not checked against the bytes. */
    assert_int_equal(
        cache_put_object(f->cache, CACHE_KIND_FS, commit_id, commit_json, strlen(commit_json)),
        SEAF_ERR_ID_MISMATCH);
    /* Same id, other kind: a separate object. */
    char *data;
    size_t len;
    assert_int_equal(cache_get_object(f->cache, CACHE_KIND_BLOCK, fs_id, &data, &len),
                     SEAF_ERR_NOT_FOUND);
    reopen(f);
    assert_int_equal(cache_get_object(f->cache, CACHE_KIND_FS, fs_id, &data, &len), SEAF_OK);
    assert_int_equal(len, strlen(dir_json));
    assert_string_equal(data, dir_json);
    free(data);
    assert_int_equal(cache_get_object(f->cache, CACHE_KIND_COMMIT, commit_id, &data, &len),
                     SEAF_OK);
    assert_string_equal(data, commit_json);
    free(data);
    /* Putting it again is a no-op. */
    assert_int_equal(
        cache_put_object(f->cache, CACHE_KIND_COMMIT, commit_id, commit_json, strlen(commit_json)),
        SEAF_OK);
    assert_int_equal(stats(f).entries, 2);
    fixture_free(f);
}

static void test_index_persists_order_and_pins(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(6, 100, 100);
    for (int i = 0; i < 6; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    assert_true(has_block(f, 0));
    assert_true(has_block(f, 1)); /* order: 2 3 4 5 0 1 */
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[2], true), SEAF_OK);
    reopen(f);
    struct cache_stats s = stats(f);
    assert_false(s.index_rebuilt);
    assert_int_equal(s.entries, 6);
    assert_int_equal(s.pinned, 1);
    assert_int_equal(s.recovered_rows, 0);
    /* 2 is pinned, so 3 then 4 go first. */
    assert_int_equal(put_block(f, 6), SEAF_OK);
    assert_int_equal(put_block(f, 7), SEAF_OK);
    assert_false(has_block(f, 3));
    assert_false(has_block(f, 4));
    assert_true(has_block(f, 2));
    assert_true(has_block(f, 5));
    assert_true(has_block(f, 0));
    fixture_free(f);
}

/* Makes the last shutdown look like a crash (the clean flag a crash leaves behind). */
static void mark_unclean(struct fixture *f)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/index.db", f->dir);
    struct index_db *db;
    assert_int_equal(index_db_open(path, &db), SEAF_OK);
    assert_true(index_db_get_clean(db));
    assert_int_equal(index_db_set_clean(db, false), SEAF_OK);
    index_db_close(db);
}

static void test_clean_restart_trusts_index_but_checks_files(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    for (int i = 0; i < 3; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    cache_free(f->cache);
    f->cache = NULL;
    char path[PATH_MAX];
    block_path(f, 1, path);
    unlink(path); /* behind the cache's back, after a clean shutdown */
    assert_int_equal(cache_new(&f->opts, &f->cache), SEAF_OK);
    assert_int_equal(stats(f).entries, 3); /* no scan: the index is trusted */
    assert_false(has_block(f, 1));         /* ... but the missing file is noticed on open */
    assert_int_equal(stats(f).entries, 2);
    assert_int_equal(stats(f).used_bytes, 2 * BLOCK_FILE_SIZE);
    assert_true(has_block(f, 0));
    assert_true(has_block(f, 2));
    fixture_free(f);
}

static void test_recovery_reconciles_files_and_index(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    for (int i = 0; i < 5; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    cache_free(f->cache);
    f->cache = NULL;
    mark_unclean(f);
    /* A leftover temp file, a file deleted behind the cache's back, a damaged trailer. */
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/tmp/1-%s.abcdef", f->dir, f->id[9]);
    int fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_int_equal(write(fd, "partial", 7), 7);
    close(fd);
    block_path(f, 1, path);
    unlink(path);
    block_path(f, 2, path);
    assert_int_equal(truncate(path, BLOCK_FILE_SIZE - 1), 0);
    assert_int_equal(cache_new(&f->opts, &f->cache), SEAF_OK);
    struct cache_stats s = stats(f);
    assert_int_equal(s.recovered_temp, 1);
    assert_int_equal(s.entries, 3);
    assert_true(has_block(f, 0));
    assert_false(has_block(f, 1));
    assert_false(has_block(f, 2));
    assert_true(has_block(f, 3));
    assert_int_equal(object_bytes(f), 3 * BLOCK_FILE_SIZE);
    assert_int_equal(stats(f).used_bytes, 3 * BLOCK_FILE_SIZE);
    fixture_free(f);
}

static void rebuild_after(struct fixture *f, bool corrupt)
{
    for (int i = 0; i < 5; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[0], true), SEAF_OK);
    cache_free(f->cache);
    f->cache = NULL;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/index.db", f->dir);
    if (corrupt) {
        int fd = open(path, O_WRONLY);
        assert_true(fd >= 0);
        unsigned char junk[4096];
        test_fill_random(junk, sizeof(junk), 99);
        assert_int_equal(pwrite(fd, junk, sizeof(junk), 0), (ssize_t)sizeof(junk));
        close(fd);
    } else {
        assert_int_equal(unlink(path), 0);
    }
    assert_int_equal(cache_new(&f->opts, &f->cache), SEAF_OK);
    struct cache_stats s = stats(f);
    assert_true(s.index_rebuilt);
    assert_int_equal(s.entries, 5);
    assert_int_equal(s.recovered_rows, 6); /* 5 files adopted, 1 pin restored from its marker */
    assert_int_equal(s.pinned, 1);
    assert_int_equal(s.used_bytes, 5 * BLOCK_FILE_SIZE);
    for (int i = 0; i < 5; i++)
        assert_true(has_block(f, i));
    /* The rebuilt index is used on the next start. */
    reopen(f);
    assert_false(stats(f).index_rebuilt);
    assert_int_equal(stats(f).entries, 5);
    assert_int_equal(stats(f).pinned, 1);
    fixture_free(f);
}

/* Path of the pin marker of block i. */
static void marker_path(struct fixture *f, int i, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/pins/%d-%s", f->dir, CACHE_KIND_BLOCK, f->id[i]);
}

static void test_pin_markers_are_the_durable_record(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    for (int i = 0; i < 3; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    char path[PATH_MAX];
    marker_path(f, 1, path);
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[1], true), SEAF_OK);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[1], false), SEAF_OK);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK, f->id[2], true), SEAF_OK);
    cache_free(f->cache);
    f->cache = NULL;
    mark_unclean(f);
    /* As after a power cut that lost the last index batches: the row of 2 says unpinned, 0 has a
     * marker the index never saw, and a marker names an object that is not there. */
    char db[PATH_MAX];
    snprintf(db, sizeof(db), "%s/index.db", f->dir);
    struct index_db *x;
    assert_int_equal(index_db_open(db, &x), SEAF_OK);
    assert_int_equal(index_db_put(x, CACHE_KIND_BLOCK, f->id[2], BLOCK_FILE_SIZE, 3, false),
                     SEAF_OK);
    index_db_close(x);
    marker_path(f, 0, path);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    marker_path(f, 9, path);
    close(open(path, O_CREAT | O_WRONLY, 0600));
    assert_int_equal(cache_new(&f->opts, &f->cache), SEAF_OK);
    assert_int_equal(stats(f).pinned, 2);
    assert_int_equal(access(path, F_OK), -1);
    /* Under pressure, only block 1 (unpinned) may go. */
    for (int i = 3; i < 12; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    assert_true(has_block(f, 0));
    assert_false(has_block(f, 1));
    assert_true(has_block(f, 2));
    /* Removing a pinned object removes its marker. */
    assert_int_equal(cache_remove(f->cache, CACHE_KIND_BLOCK, f->id[2]), SEAF_OK);
    marker_path(f, 2, path);
    assert_int_equal(access(path, F_OK), -1);
    fixture_free(f);
}

static void test_index_rebuilt_when_missing(void **state)
{
    (void)state;
    rebuild_after(fixture_new(10, 100, 100), false);
}

static void test_index_rebuilt_when_corrupt(void **state)
{
    (void)state;
    rebuild_after(fixture_new(10, 100, 100), true);
}

/* A block map is stored under the id of its file (not a hash of its bytes), in its own id space,
 * and survives a clean restart, a recovery scan and an index rebuild, pin included. */
static void test_block_map_objects(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    const char *map_json = "[8388608, 8388608, 1234]";
    const char *file_id = "89abcdef0123456789abcdef0123456789abcdef";
    char *data;
    size_t len;
    assert_int_equal(cache_get_object(f->cache, CACHE_KIND_BLOCK_MAP, file_id, &data, &len),
                     SEAF_ERR_NOT_FOUND);
    assert_int_equal(
        cache_put_object(f->cache, CACHE_KIND_BLOCK_MAP, file_id, map_json, strlen(map_json)),
        SEAF_OK);
    assert_int_equal(cache_get_object(f->cache, CACHE_KIND_FS, file_id, &data, &len),
                     SEAF_ERR_NOT_FOUND);
    assert_int_equal(cache_pin(f->cache, CACHE_KIND_BLOCK_MAP, file_id, true), SEAF_OK);
    /* Metadata objects are rows of meta.db, not files of their own. */
    char path[PATH_MAX];
    object_path(f, CACHE_KIND_BLOCK_MAP, file_id, path);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/meta.db", f->dir);
    assert_int_equal(access(path, F_OK), 0);

    for (int restart = 0; restart < 3; restart++) {
        if (restart == 0) {
            reopen(f); /* clean: the index is trusted */
        } else {
            cache_free(f->cache);
            f->cache = NULL;
            char db[PATH_MAX];
            snprintf(db, sizeof(db), "%s/index.db", f->dir);
            if (restart == 1)
                mark_unclean(f); /* recovery scan of the files */
            else
                assert_int_equal(unlink(db), 0); /* index rebuilt from the files */
            assert_int_equal(cache_new(&f->opts, &f->cache), SEAF_OK);
        }
        assert_int_equal(stats(f).index_rebuilt, restart == 2);
        assert_int_equal(stats(f).entries, 1);
        assert_int_equal(stats(f).pinned, 1);
        assert_int_equal(cache_get_object(f->cache, CACHE_KIND_BLOCK_MAP, file_id, &data, &len),
                         SEAF_OK);
        assert_int_equal(len, strlen(map_json));
        assert_string_equal(data, map_json);
        free(data);
    }
    fixture_free(f);
}

static void test_lower_limit_enforced_at_start(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    for (int i = 0; i < 10; i++)
        assert_int_equal(put_block(f, i), SEAF_OK);
    f->opts.size_limit = 4 * BLOCK_FILE_SIZE;
    reopen(f);
    assert_true(stats(f).used_bytes <= f->opts.size_limit);
    assert_true(object_bytes(f) <= f->opts.size_limit);
    assert_true(has_block(f, 9));
    assert_false(has_block(f, 0));
    fixture_free(f);
}

static void test_bad_options_refused(void **state)
{
    (void)state;
    struct cache_options o;
    cache_options_init(&o);
    struct cache *c;
    assert_int_equal(cache_new(&o, &c), SEAF_ERR_INVALID_ARG); /* no dir */
    o.dir = "/tmp";
    o.low_water_pct = 95;
    o.high_water_pct = 90;
    assert_int_equal(cache_new(&o, &c), SEAF_ERR_INVALID_ARG);
    o.low_water_pct = 50;
    o.frame_size = 0;
    assert_int_equal(cache_new(&o, &c), SEAF_ERR_INVALID_ARG);
    o.frame_size = FRAME;
    o.dir = "/proc/version/cache"; /* cannot be created */
    assert_int_equal(cache_new(&o, &c), SEAF_ERR_IO);
    assert_null(c);
}

static void test_directory_used_by_one_cache_at_a_time(void **state)
{
    (void)state;
    struct fixture *f = fixture_new(10, 100, 100);
    assert_int_equal(put_block(f, 0), SEAF_OK);
    struct cache *second;
    assert_int_equal(cache_new(&f->opts, &second), SEAF_ERR_IO);
    assert_null(second);
    assert_true(has_block(f, 0)); /* the first one is unharmed */
    reopen(f);                    /* and once it is closed, the directory can be opened again */
    assert_true(has_block(f, 0));
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_miss_fill_hit),
        cmocka_unit_test(test_fill_with_wrong_bytes_is_refused),
        cmocka_unit_test(test_fill_reset_starts_over),
        cmocka_unit_test(test_waiters_share_one_fill),
        cmocka_unit_test(test_lru_order_pins_and_open_objects),
        cmocka_unit_test(test_fill_pinned_survives_eviction),
        cmocka_unit_test(test_watermarks),
        cmocka_unit_test(test_limit_never_exceeded),
        cmocka_unit_test(test_free_space_minimum),
        cmocka_unit_test(test_damaged_frame_drops_block),
        cmocka_unit_test(test_metadata_objects),
        cmocka_unit_test(test_contains_is_not_a_use),
        cmocka_unit_test(test_block_map_objects),
        cmocka_unit_test(test_index_persists_order_and_pins),
        cmocka_unit_test(test_clean_restart_trusts_index_but_checks_files),
        cmocka_unit_test(test_recovery_reconciles_files_and_index),
        cmocka_unit_test(test_index_rebuilt_when_missing),
        cmocka_unit_test(test_index_rebuilt_when_corrupt),
        cmocka_unit_test(test_pin_markers_are_the_durable_record),
        cmocka_unit_test(test_lower_limit_enforced_at_start),
        cmocka_unit_test(test_bad_options_refused),
        cmocka_unit_test(test_directory_used_by_one_cache_at_a_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
