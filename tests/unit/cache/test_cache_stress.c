/* Concurrency stress (run under TSan in CI): many threads fill, read, pin, remove and evict the
 * same small set of objects in a cache far too small for them. Every byte read is checked, the
 * limit is checked after every operation, and concurrent requests for one missing object must
 * lead to exactly one fill. */
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "cache_test_util.h"

#define OBJECTS    32
#define MAX_OBJECT (96u * 1024u)
#define THREADS    8
#define OPS        250

struct shared {
    struct cache *cache;
    uint64_t limit;
    struct test_object obj[OBJECTS];
    atomic_int fills_started[OBJECTS];
    atomic_int failures; /* checks failed in worker threads (cmocka asserts are not thread-safe) */
    pthread_barrier_t start;
};

struct worker {
    struct shared *s;
    uint64_t seed;
};

static void record_failure(struct shared *s, const char *what)
{
    fprintf(stderr, "stress check failed: %s\n", what);
    atomic_fetch_add(&s->failures, 1);
}

/* Fills object i (sometimes aborting on purpose); returns a handle or NULL. */
static struct cache_handle *do_fill(struct shared *s, int i, struct cache_fill *f, uint64_t *rng)
{
    atomic_fetch_add(&s->fills_started[i], 1);
    if (test_rand(rng) % 16 == 0) {
        cache_fill_abort(f, SEAF_ERR_NETWORK);
        return NULL;
    }
    if (test_rand(rng) % 16 == 0)
        cache_fill_pin(f);
    for (size_t off = 0; off < s->obj[i].len; off += 7000) {
        size_t n = s->obj[i].len - off < 7000 ? s->obj[i].len - off : 7000;
        if (cache_fill_write(f, s->obj[i].data + off, n) != SEAF_OK) {
            record_failure(s, "fill write");
            cache_fill_abort(f, SEAF_ERR_IO);
            return NULL;
        }
    }
    struct cache_handle *h = NULL;
    seaf_err err = cache_fill_commit(f, &h);
    if (err != SEAF_OK && err != SEAF_ERR_NOSPACE)
        record_failure(s, "commit");
    return h;
}

static void check_reads(struct shared *s, int i, struct cache_handle *h, uint64_t *rng)
{
    unsigned char buf[8192];
    if (cache_handle_size(h) != s->obj[i].len)
        record_failure(s, "size");
    for (int k = 0; k < 3; k++) {
        uint64_t off = test_rand(rng) % s->obj[i].len;
        size_t n;
        if (cache_read(h, off, sizeof(buf), buf, &n) != SEAF_OK)
            record_failure(s, "read");
        else if (memcmp(buf, s->obj[i].data + off, n) != 0)
            record_failure(s, "read returned wrong bytes");
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct shared *s = w->s;
    uint64_t rng = w->seed;
    pthread_barrier_wait(&s->start);
    for (int op = 0; op < OPS; op++) {
        int i = (int)(test_rand(&rng) % OBJECTS);
        unsigned r = (unsigned)(test_rand(&rng) % 100);
        if (r < 5) {
            cache_pin(s->cache, CACHE_KIND_BLOCK, s->obj[i].id, false);
        } else if (r < 8) {
            cache_remove(s->cache, CACHE_KIND_BLOCK, s->obj[i].id);
        } else {
            struct cache_handle *h;
            struct cache_fill *f;
            seaf_err err = cache_open_or_fill(s->cache, CACHE_KIND_BLOCK, s->obj[i].id, &h, &f);
            if (err != SEAF_OK && err != SEAF_ERR_NETWORK && err != SEAF_ERR_NOSPACE)
                record_failure(s, "open_or_fill");
            if (f != NULL)
                h = do_fill(s, i, f, &rng);
            if (h != NULL) {
                check_reads(s, i, h, &rng);
                cache_close(h);
            }
        }
        struct cache_stats st;
        cache_get_stats(s->cache, &st);
        /* Pinned data may take the cache past its limit; unpinned objects stay within it,
         * give or take those held open by the other threads while they were unpinned. */
        if (st.used_bytes - st.pinned_bytes > s->limit + (uint64_t)THREADS * MAX_OBJECT)
            record_failure(s, "limit exceeded");
    }
    return NULL;
}

static struct shared *shared_new(const char *dir, uint64_t limit)
{
    struct shared *s = calloc(1, sizeof(*s));
    test_objects_make(s->obj, OBJECTS, MAX_OBJECT, 777);
    struct cache_options o;
    cache_options_init(&o);
    o.dir = dir;
    o.size_limit = limit;
    o.high_water_pct = 80;
    o.low_water_pct = 60;
    o.min_free_bytes = 0;
    o.frame_size = 16 * 1024;
    s->limit = limit;
    assert_int_equal(cache_new(&o, &s->cache), SEAF_OK);
    return s;
}

static void shared_free(struct shared *s)
{
    cache_free(s->cache);
    test_objects_free(s->obj, OBJECTS);
    free(s);
}

static void run_workers(struct shared *s, uint64_t seed)
{
    pthread_t threads[THREADS];
    struct worker w[THREADS];
    pthread_barrier_init(&s->start, NULL, THREADS);
    for (int t = 0; t < THREADS; t++) {
        w[t] = (struct worker){.s = s, .seed = seed + (uint64_t)t * 7919};
        assert_int_equal(pthread_create(&threads[t], NULL, worker_main, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&s->start);
}

static void test_stress_small_cache(void **state)
{
    (void)state;
    char *dir = test_make_dir("stress");
    struct shared *s = shared_new(dir, 8 * MAX_OBJECT); /* a quarter of the objects fit */
    run_workers(s, 1);
    assert_int_equal(atomic_load(&s->failures), 0);
    cache_sync(s->cache);
    struct cache_stats st;
    cache_get_stats(s->cache, &st);
    assert_true(st.evictions > 0);
    assert_true(st.hits > 0);
    assert_int_equal(st.corrupt_drops, 0);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/blocks", dir);
    assert_int_equal(test_tree_bytes(path), st.used_bytes);
    /* Only pinned data (nowhere else yet) may take the cache past its limit. */
    assert_true(st.used_bytes - st.pinned_bytes <= s->limit);
    shared_free(s);
    /* What the threads left behind is consistent after a restart too. */
    s = shared_new(dir, 8 * MAX_OBJECT);
    struct cache_stats again;
    cache_get_stats(s->cache, &again);
    assert_int_equal(again.used_bytes, st.used_bytes);
    assert_int_equal(again.entries, st.entries);
    shared_free(s);
    test_remove_tree(dir);
    free(dir);
}

/* Every thread asks for every object at once, in the same order: one fill per object. */
static void *request_all(void *arg)
{
    struct shared *s = arg;
    pthread_barrier_wait(&s->start);
    uint64_t rng = 5;
    for (int i = 0; i < OBJECTS; i++) {
        struct cache_handle *h;
        struct cache_fill *f;
        if (cache_open_or_fill(s->cache, CACHE_KIND_BLOCK, s->obj[i].id, &h, &f) != SEAF_OK) {
            record_failure(s, "open_or_fill");
            continue;
        }
        if (f != NULL) {
            atomic_fetch_add(&s->fills_started[i], 1);
            for (size_t off = 0; off < s->obj[i].len; off += 5000) {
                size_t n = s->obj[i].len - off < 5000 ? s->obj[i].len - off : 5000;
                cache_fill_write(f, s->obj[i].data + off, n);
                usleep(50); /* a slow source, so other threads pile up waiting */
            }
            if (cache_fill_commit(f, &h) != SEAF_OK)
                record_failure(s, "commit");
        }
        if (h != NULL) {
            check_reads(s, i, h, &rng);
            cache_close(h);
        }
    }
    return NULL;
}

static void test_single_flight(void **state)
{
    (void)state;
    char *dir = test_make_dir("flight");
    struct shared *s = shared_new(dir, 64ull << 20);
    pthread_t threads[THREADS];
    pthread_barrier_init(&s->start, NULL, THREADS);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_create(&threads[t], NULL, request_all, s), 0);
    for (int t = 0; t < THREADS; t++)
        pthread_join(threads[t], NULL);
    pthread_barrier_destroy(&s->start);
    assert_int_equal(atomic_load(&s->failures), 0);
    for (int i = 0; i < OBJECTS; i++)
        assert_int_equal(atomic_load(&s->fills_started[i]), 1);
    struct cache_stats st;
    cache_get_stats(s->cache, &st);
    assert_int_equal(st.fills, OBJECTS);
    assert_true(st.waits > 0);
    shared_free(s);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stress_small_cache),
        cmocka_unit_test(test_single_flight),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
