/* Tests of plain_lengths, the cache's records of encrypted files' plaintext lengths: the record
 * round-trips through its JSON form, anything but an array of the right count of integers >= 0
 * (not all 0) is refused, and against a real cache in a temporary directory a record grows by
 * merging, is rewritten only when it gains a length, and a malformed one is removed on load. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cache.h"
#include "plain_lengths.h"

static const char FILE_ID[] = "0123456789abcdef0123456789abcdef01234567";

static void record_round_trips(void **state)
{
    (void)state;
    const uint64_t lengths[4] = {0, 5, 1ull << 40, 0};
    char *json = NULL;
    size_t len = 0;
    assert_int_equal(plain_lengths_encode(lengths, 4, &json, &len), 0);
    assert_string_equal(json, "[0,5,1099511627776,0]");
    assert_int_equal(len, strlen(json));
    uint64_t back[4];
    assert_int_equal(plain_lengths_parse(json, len, 4, back), 0);
    assert_memory_equal(back, lengths, sizeof(lengths));
    free(json);
}

static void malformed_records_are_refused(void **state)
{
    (void)state;
    const char *bad[] = {
        "",
        "[]",
        "[1,2]",
        "[1,2,3,4]",
        "[1,-2,3]",
        "[1,2.5,3]",
        "[1,\"2\",3]",
        "[0,0,0]",
        "[1,2,3] x",
        "{\"a\":1}",
        "[1,2,99999999999999999999999]",
        "[1,null,3]",
        "[1,2,3",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t out[3] = {7, 7, 7};
        assert_int_equal(plain_lengths_parse(bad[i], strlen(bad[i]), 3, out), -EINVAL);
        assert_true(out[0] == 0 && out[1] == 0 && out[2] == 0);
    }
    uint64_t out[3];
    assert_int_equal(plain_lengths_parse("[0,3,0]", 7, 3, out), 0);
    assert_int_equal(out[1], 3);
}

struct fixture {
    char dir[64];
    struct cache *cache;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/seafs-test-lengths-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    struct cache_options o;
    cache_options_init(&o);
    o.dir = f->dir;
    o.size_limit = 64ull << 20;
    o.min_free_bytes = 0;
    assert_int_equal(cache_new(&o, &f->cache), SEAF_OK);
    *state = f;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    cache_free(f->cache);
    nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void assert_record(struct cache *c, uint64_t a, uint64_t b, uint64_t z)
{
    uint64_t got[3];
    assert_int_equal(plain_lengths_load(c, FILE_ID, 3, got), 0);
    assert_int_equal(got[0], a);
    assert_int_equal(got[1], b);
    assert_int_equal(got[2], z);
}

static uint64_t fills(struct cache *c)
{
    struct cache_stats st;
    cache_get_stats(c, &st);
    return st.fills;
}

static void records_grow_by_merging(void **state)
{
    struct fixture *f = *state;
    struct cache *c = f->cache;
    uint64_t got[3];
    assert_int_equal(plain_lengths_load(c, FILE_ID, 3, got), -ENOENT);
    const uint64_t first[3] = {0, 7, 0}, second[3] = {5, 0, 0}, changed[3] = {5, 8, 0};
    assert_int_equal(plain_lengths_save(c, FILE_ID, first, 3), 0);
    assert_record(c, 0, 7, 0);
    assert_int_equal(plain_lengths_save(c, FILE_ID, second, 3), 0);
    assert_record(c, 5, 7, 0);
    /* Nothing new: the record is not written again. */
    uint64_t before = fills(c);
    assert_int_equal(plain_lengths_save(c, FILE_ID, second, 3), 0);
    assert_int_equal(plain_lengths_save(c, FILE_ID, first, 3), 0);
    assert_int_equal(fills(c), before);
    /* Where the two differ, the lengths saved win. */
    assert_int_equal(plain_lengths_save(c, FILE_ID, changed, 3), 0);
    assert_int_equal(fills(c), before + 1);
    assert_record(c, 5, 8, 0);
    plain_lengths_forget(c, FILE_ID);
    assert_int_equal(plain_lengths_load(c, FILE_ID, 3, got), -ENOENT);
}

static void malformed_records_are_removed_on_load(void **state)
{
    struct fixture *f = *state;
    struct cache *c = f->cache;
    const char *wrong_count = "[1,2]";
    assert_int_equal(
        cache_put_object(c, CACHE_KIND_PLAIN_LENGTHS, FILE_ID, wrong_count, strlen(wrong_count)),
        SEAF_OK);
    uint64_t got[3];
    assert_int_equal(plain_lengths_load(c, FILE_ID, 3, got), -EINVAL);
    assert_false(cache_contains(c, CACHE_KIND_PLAIN_LENGTHS, FILE_ID));
    /* Saving over a malformed record starts a new one. */
    assert_int_equal(
        cache_put_object(c, CACHE_KIND_PLAIN_LENGTHS, FILE_ID, wrong_count, strlen(wrong_count)),
        SEAF_OK);
    const uint64_t lengths[3] = {0, 0, 9};
    assert_int_equal(plain_lengths_save(c, FILE_ID, lengths, 3), 0);
    assert_record(c, 0, 0, 9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(record_round_trips),
        cmocka_unit_test(malformed_records_are_refused),
        cmocka_unit_test_setup_teardown(records_grow_by_merging, setup, teardown),
        cmocka_unit_test_setup_teardown(malformed_records_are_removed_on_load, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
