/* Tests of seaf_dir_scan and of the fast path of seaf_fsobj it feeds: every directory object of
 * the real-server vectors is read by the scanner, and the result equals what the general parser
 * (jansson) makes of the same object; documents outside the plain form are declined; plain
 * documents with edge values parse the same both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seaf_dir_scan.h"
#include "seaf_fsobj.h"
#include "seaf_sha1.h"
#include "vectors_util.h"

/* Parses json (any form) under its own id; NULL when it does not parse. */
static struct seaf_fsobj *parse_text(const char *json)
{
    char id[SEAF_ID_LEN + 1];
    assert_int_equal(seaf_sha1_id(json, strlen(json), id), SEAF_OK);
    struct seaf_fsobj *obj = NULL;
    seaf_fsobj_parse_json(json, strlen(json), id, &obj, NULL);
    return obj;
}

/* The same document with one member the scanner does not know, which jansson skips: it goes the
 * general parser's way. */
static struct seaf_fsobj *parse_general(const char *json)
{
    char *general = replace_once(json, "{", "{\"x-general-path\": [null], ");
    assert_non_null(general);
    assert_false(
        seaf_dir_scan(general, strlen(general), &(struct seaf_scan_dirent *){NULL}, &(size_t){0}));
    struct seaf_fsobj *obj = parse_text(general);
    free(general);
    return obj;
}

static void assert_same_dir(const struct seaf_fsobj *a, const struct seaf_fsobj *b)
{
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->type, SEAF_FSOBJ_DIR);
    assert_int_equal(b->type, SEAF_FSOBJ_DIR);
    assert_int_equal(a->dir.n_entries, b->dir.n_entries);
    for (size_t i = 0; i < a->dir.n_entries; i++) {
        const struct seaf_dirent *x = &a->dir.entries[i];
        const struct seaf_dirent *y = &b->dir.entries[i];
        assert_string_equal(x->id, y->id);
        assert_int_equal(x->mode, y->mode);
        assert_int_equal(x->mtime, y->mtime);
        assert_int_equal(x->size, y->size);
        assert_int_equal(x->name_len, y->name_len);
        assert_memory_equal(x->name, y->name, x->name_len + 1);
        assert_string_equal(x->modifier, y->modifier);
    }
}

struct scan_walk {
    size_t dirs;
    size_t files;
};

static void check_stored(const char *repo_id, const char *id, const char *path, void *ctx)
{
    (void)repo_id, (void)id;
    struct scan_walk *walk = ctx;
    size_t len;
    unsigned char *stored = read_whole_file(path, &len);
    assert_non_null(stored);
    char *json = inflate_stored(stored, len);
    free(stored);
    assert_non_null(json);
    struct seaf_scan_dirent *entries = NULL;
    size_t n = 0;
    bool scanned = seaf_dir_scan(json, strlen(json), &entries, &n);
    struct seaf_fsobj *fast = parse_text(json);
    assert_non_null(fast);
    if (fast->type == SEAF_FSOBJ_DIR) {
        walk->dirs++;
        assert_true(scanned); /* the form the server writes is the plain one */
        assert_int_equal(n, fast->dir.n_entries);
        struct seaf_fsobj *general = parse_general(json);
        assert_same_dir(fast, general);
        seaf_fsobj_free(general);
    } else {
        walk->files++;
        assert_false(scanned);
    }
    free(entries);
    seaf_fsobj_free(fast);
    free(json);
}

static void real_dir_objects_scan_like_the_general_parser(void **state)
{
    (void)state;
    struct scan_walk walk = {0};
    for_each_stored_object("fs", check_stored, &walk);
    assert_true(walk.dirs > 20 && walk.files > 200);
}

#define ID_A "51f897c09d56068de163252d62df35c438112c46"
#define ID_B "c398979384f19f25c3803921c54841514d2452a4"
#define ZERO "0000000000000000000000000000000000000000"

static void declines_what_is_not_plain(void **state)
{
    (void)state;
    static const char *const declined[] = {
        "",
        "[]",
        "{}",
        "{\"dirents\": [], \"type\": 3}",
        "{\"dirents\": [], \"type\": 1, \"version\": 1}",
        "{\"dirents\": [], \"type\": 3, \"version\": 2}",
        "{\"dirents\": [], \"type\": 3, \"version\": 1} x",
        "{\"dirents\": [], \"type\": 3, \"version\": 1, \"type\": 3}",
        "{\"dirents\": [], \"type\": 3, \"version\": 1, \"more\": 1}",
        "{\"dirents\": [], \"type\": 3, \"version\": 1.0}",
        "{\"dirents\": [], \"type\": 3, \"version\": 01}",
        "{\"dirents\": [{\"name\": \"a\\u00e9\"}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"name\": \"a\tb\"}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"name\": \"a\", \"name\": \"b\"}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"other\": 1}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"modifier\": null}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"mtime\": 1e9}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"mtime\": 9223372036854775808}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"mtime\": -9223372036854775809}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"mtime\": \"1\"}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{}, ], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{}], \"type\": 3, \"version\": 1,}",
        "{\"dirents\": [{}], \"type\": 3, \"version\": 1",
    };
    for (size_t i = 0; i < sizeof(declined) / sizeof(declined[0]); i++) {
        struct seaf_scan_dirent *entries = (struct seaf_scan_dirent *)1;
        size_t n = 1;
        if (seaf_dir_scan(declined[i], strlen(declined[i]), &entries, &n))
            fail_msg("scanned: %s", declined[i]);
        assert_null(entries);
        assert_int_equal(n, 0);
    }
    assert_false(seaf_dir_scan(NULL, 0, &(struct seaf_scan_dirent *){NULL}, &(size_t){0}));
}

static void reads_the_members_as_written(void **state)
{
    (void)state;
    const char *json =
        " {\"version\":1,\n\"dirents\" : [ {\"mtime\": -0, \"name\": \"x\", "
        "\"mode\": 16384, \"id\": \"" ID_B "\"}, {\"size\": 9223372036854775807, "
        "\"modifier\": \"\", \"mtime\": -9223372036854775808}, {} ] ,\"type\":3}\r\n";
    struct seaf_scan_dirent *e = NULL;
    size_t n = 0;
    assert_true(seaf_dir_scan(json, strlen(json), &e, &n));
    assert_int_equal(n, 3);
    assert_int_equal(e[0].present,
                     SEAF_SCAN_ID | SEAF_SCAN_MODE | SEAF_SCAN_MTIME | SEAF_SCAN_NAME);
    assert_int_equal(e[0].mode, 16384);
    assert_int_equal(e[0].mtime, 0);
    assert_int_equal(e[0].name_len, 1);
    assert_memory_equal(e[0].name, "x", 1);
    assert_int_equal(e[0].id_len, SEAF_ID_LEN);
    assert_memory_equal(e[0].id, ID_B, SEAF_ID_LEN);
    assert_int_equal(e[1].present, SEAF_SCAN_SIZE | SEAF_SCAN_MODIFIER | SEAF_SCAN_MTIME);
    assert_int_equal(e[1].size, INT64_MAX);
    assert_int_equal(e[1].mtime, INT64_MIN);
    assert_int_equal(e[1].modifier_len, 0);
    assert_int_equal(e[2].present, 0);
    free(e);
    const char *empty = "{\"dirents\": [], \"type\": 3, \"version\": 1}";
    assert_true(seaf_dir_scan(empty, strlen(empty), &e, &n));
    assert_int_equal(n, 0);
    free(e);
}

/* Plain documents with edge values: both ways give the same directory, or both refuse it. */
static void plain_and_general_agree(void **state)
{
    (void)state;
    static const char *const accepted[] = {
        "{\"dirents\": [], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ID_A "\", \"mode\": 33261, \"mtime\": 5, \"name\": "
        "\"\xc3\xbcn\xc3\xaf"
        "c\xc3\xb6"
        "de \xe7\xa7\x98\", \"size\": 7}, {\"id\": \"" ZERO "\", "
        "\"mode\": 33188, \"modifier\": \"\xc3\xa9ve@example.com\", \"mtime\": 0, \"name\": "
        "\"b\", \"size\": 0}, {\"id\": \"" ID_B "\", \"mode\": 16384, \"mtime\": -1, \"name\": "
        "\"a\", \"modifier\": \"ignored\", \"size\": 3}], \"type\": 3, \"version\": 1}",
    };
    for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
        struct seaf_fsobj *fast = parse_text(accepted[i]);
        struct seaf_fsobj *general = parse_general(accepted[i]);
        assert_same_dir(fast, general);
        seaf_fsobj_free(fast);
        seaf_fsobj_free(general);
    }
    static const char *const refused[] = {
        /* unsorted, duplicate, bad mode, bad id, empty id with a size, bad UTF-8 modifier,
         * bad UTF-8 in a directory's (ignored) modifier, a file without size, a slash */
        "{\"dirents\": [{\"id\": \"" ID_A "\", \"mode\": 16384, \"mtime\": 1, \"name\": \"a\"}, "
        "{\"id\": \"" ID_B "\", \"mode\": 16384, \"mtime\": 1, \"name\": \"b\"}], \"type\": 3, "
        "\"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ID_A "\", \"mode\": 16384, \"mtime\": 1, \"name\": \"a\"}, "
        "{\"id\": \"" ID_B "\", \"mode\": 16384, \"mtime\": 1, \"name\": \"a\"}], \"type\": 3, "
        "\"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ID_A "\", \"mode\": 420, \"mtime\": 1, \"name\": \"a\"}], "
        "\"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ID_A "X\", \"mode\": 16384, \"mtime\": 1, \"name\": \"a\"}], "
        "\"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ZERO "\", \"mode\": 33188, \"mtime\": 1, \"name\": \"a\", "
        "\"size\": 1}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ID_A "\", \"mode\": 33188, \"mtime\": 1, \"name\": \"a\", "
        "\"size\": 1, \"modifier\": \"\xff\"}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ID_A "\", \"mode\": 16384, \"mtime\": 1, \"name\": \"a\", "
        "\"modifier\": \"\xc3\"}], \"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ID_A "\", \"mode\": 33188, \"mtime\": 1, \"name\": \"a\"}], "
        "\"type\": 3, \"version\": 1}",
        "{\"dirents\": [{\"id\": \"" ID_A "\", \"mode\": 16384, \"mtime\": 1, \"name\": \"a/b\"}], "
        "\"type\": 3, \"version\": 1}",
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        struct seaf_fsobj *fast = parse_text(refused[i]);
        struct seaf_fsobj *general = parse_general(refused[i]);
        if (fast != NULL || general != NULL)
            fail_msg("accepted (plain %d, general %d): %s", fast != NULL, general != NULL,
                     refused[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(real_dir_objects_scan_like_the_general_parser),
        cmocka_unit_test(declines_what_is_not_plain),
        cmocka_unit_test(reads_the_members_as_written),
        cmocka_unit_test(plain_and_general_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
