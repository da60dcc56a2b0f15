/* Crash recovery: a child process fills, reads, pins and evicts in a loop and is killed with
 * SIGKILL at random moments (inside a write, a rename, an index batch, a recovery...). After each
 * kill the parent reopens the cache and checks that it recovered: no temporary files left, the
 * accounting matches the files, the limit holds, and every byte it serves is the right one. */
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "cache_test_util.h"

#define OBJECTS    48
#define MAX_OBJECT (300u * 1024u)
#define ROUNDS     12

static void options(struct cache_options *o, const char *dir)
{
    cache_options_init(o);
    o->dir = dir;
    o->size_limit = 2u * 1024 * 1024; /* about 12 objects: eviction happens all the time */
    o->high_water_pct = 90;
    o->low_water_pct = 70;
    o->min_free_bytes = 0;
    o->frame_size = 32 * 1024;
}

/* The child's endless workload; it only returns (exit status 1) if something fails. */
static void child_workload(const char *dir, const struct test_object *d, uint64_t seed)
{
    struct cache_options o;
    options(&o, dir);
    struct cache *c;
    if (cache_new(&o, &c) != SEAF_OK)
        _exit(1);
    uint64_t rng = seed;
    unsigned char buf[4096];
    for (;;) {
        int i = (int)(test_rand(&rng) % OBJECTS);
        struct cache_handle *h;
        struct cache_fill *f;
        if (cache_open_or_fill(c, CACHE_KIND_BLOCK, d[i].id, &h, &f) != SEAF_OK)
            _exit(1);
        if (f != NULL) {
            if (test_rand(&rng) % 8 == 0)
                cache_fill_pin(f);
            for (size_t off = 0; off < d[i].len; off += 10000) {
                size_t n = d[i].len - off < 10000 ? d[i].len - off : 10000;
                if (cache_fill_write(f, d[i].data + off, n) != SEAF_OK)
                    _exit(1);
            }
            seaf_err err = cache_fill_commit(f, &h);
            if (err == SEAF_ERR_NOSPACE)
                continue; /* everything pinned: unpin below in later rounds */
            if (err != SEAF_OK)
                _exit(1);
        }
        size_t n;
        uint64_t off = test_rand(&rng) % d[i].len;
        if (cache_read(h, off, sizeof(buf), buf, &n) != SEAF_OK ||
            memcmp(buf, d[i].data + off, n) != 0)
            _exit(1);
        cache_close(h);
        if (test_rand(&rng) % 4 == 0)
            cache_pin(c, CACHE_KIND_BLOCK, d[test_rand(&rng) % OBJECTS].id, false);
    }
}

/* Opens the cache after a crash and checks everything it serves. Returns objects found. */
static int check_recovered(const char *dir, const struct test_object *d)
{
    struct cache_options o;
    options(&o, dir);
    struct cache *c;
    assert_int_equal(cache_new(&o, &c), SEAF_OK);
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s/tmp", dir);
    assert_int_equal(test_tree_bytes(tmp), 0);
    int found = 0;
    unsigned char *buf = malloc(MAX_OBJECT);
    for (int i = 0; i < OBJECTS; i++) {
        struct cache_handle *h;
        seaf_err err = cache_open(c, CACHE_KIND_BLOCK, d[i].id, &h);
        if (err == SEAF_ERR_NOT_FOUND)
            continue;
        assert_int_equal(err, SEAF_OK);
        size_t n;
        assert_int_equal(cache_read(h, 0, MAX_OBJECT, buf, &n), SEAF_OK);
        assert_int_equal(n, d[i].len);
        assert_memory_equal(buf, d[i].data, n);
        cache_close(h);
        found++;
    }
    free(buf);
    struct cache_stats s;
    cache_get_stats(c, &s);
    assert_int_equal(s.corrupt_drops, 0);
    /* Only pinned data (nowhere else yet) may take the cache past its limit. */
    assert_true(s.used_bytes - s.pinned_bytes <= o.size_limit);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/blocks", dir);
    assert_int_equal(test_tree_bytes(path), s.used_bytes);
    cache_free(c);
    return found;
}

static void test_kill_during_writes(void **state)
{
    (void)state;
    struct test_object d[OBJECTS];
    test_objects_make(d, OBJECTS, MAX_OBJECT, 12345);
    char *dir = test_make_dir("crash");
    uint64_t rng = (uint64_t)time(NULL);
    int total_found = 0;
    for (int round = 0; round < ROUNDS; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_workload(dir, d, rng + (uint64_t)round);
        usleep((useconds_t)(20000 + test_rand(&rng) % 200000));
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        /* The child must have been killed, not have stopped on an error of its own. */
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
        total_found += check_recovered(dir, d);
    }
    assert_true(total_found > 0);
    test_remove_tree(dir);
    free(dir);
    test_objects_free(d, OBJECTS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_during_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
