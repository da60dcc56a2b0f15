/* Tests of seaf_commit: every real commit parses and its id re-derives with the C algorithm;
 * the captured HTTP bodies parse; Go-server layout parses; version 0 and malformed variants
 * are refused with the exact error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seaf_commit.h"
#include "vectors_util.h"

/* The example commit of protocol doc §4.1 / §4.6. */
static const char doc_commit[] =
    "{\"commit_id\": \"fe8b09fa039ee681bc6a9b0d69a2c9ec0bfc75fb\", "
    "\"root_id\": \"f62960f33df86f9795cc6c661f0f235402f880b9\", "
    "\"repo_id\": \"8c0bbbd9-5d0d-4c4f-9a7a-6b5b2d9a6a0e\", "
    "\"creator_name\": \"alice@example.com\", "
    "\"creator\": \"0000000000000000000000000000000000000000\", "
    "\"description\": \"Added \\\"hello.txt\\\".\", \"ctime\": 1700000300, "
    "\"parent_id\": null, \"second_parent_id\": null, \"repo_name\": \"Documents\", "
    "\"repo_desc\": \"\", \"repo_category\": null, \"device_name\": \"laptop\", "
    "\"client_version\": \"seadrive_3.0.23\", \"version\": 1}";

/* Parses text and returns the error, freeing the commit. */
static seaf_err parse_status(const char *text)
{
    struct seaf_commit *commit = NULL;
    struct seaf_parse_msg msg = {{0}};
    seaf_err err = seaf_commit_parse(text, strlen(text), &commit, &msg);
    if (err == SEAF_OK)
        assert_non_null(commit);
    else
        assert_true(strlen(msg.text) > 0);
    seaf_commit_free(commit);
    return err;
}

/* Parses doc_commit with from replaced by to. */
static seaf_err mutated_status(const char *base, const char *from, const char *to)
{
    char *text = replace_once(base, from, to);
    assert_non_null(text);
    seaf_err err = parse_status(text);
    free(text);
    return err;
}

static void doc_commit_parses_and_ids_match_both_algorithms(void **state)
{
    (void)state;
    struct seaf_commit *commit = NULL;
    assert_int_equal(seaf_commit_parse(doc_commit, strlen(doc_commit), &commit, NULL), SEAF_OK);
    assert_string_equal(commit->root_id, "f62960f33df86f9795cc6c661f0f235402f880b9");
    assert_string_equal(commit->parent_id, "");
    assert_string_equal(commit->second_parent_id, "");
    assert_string_equal(commit->description, "Added \"hello.txt\".");
    assert_string_equal(commit->repo_name, "Documents");
    assert_int_equal(commit->ctime, 1700000300);
    assert_int_equal(commit->version, 1);
    assert_false(commit->encrypted);
    char id[SEAF_ID_LEN + 1];
    assert_int_equal(seaf_commit_compute_id(commit, SEAF_COMMIT_ID_C, id), SEAF_OK);
    assert_string_equal(id, "fe8b09fa039ee681bc6a9b0d69a2c9ec0bfc75fb");
    assert_int_equal(seaf_commit_compute_id(commit, SEAF_COMMIT_ID_GO, id), SEAF_OK);
    assert_string_equal(id, "9502e91b26911fdfa1e341be478e7f1d7790c858");
    seaf_commit_free(commit);
}

struct walk {
    size_t parsed;
    size_t encrypted;
};

static void check_stored_commit(const char *repo_id, const char *id, const char *path, void *ctx)
{
    struct walk *walk = ctx;
    size_t len;
    unsigned char *text = read_whole_file(path, &len);
    assert_non_null(text);
    struct seaf_commit *commit = NULL;
    struct seaf_parse_msg msg = {{0}};
    seaf_err err = seaf_commit_parse((const char *)text, len, &commit, &msg);
    if (err != SEAF_OK)
        fail_msg("commit %s: %s (%s)", id, seaf_strerror(err), msg.text);
    assert_string_equal(commit->commit_id, id);
    assert_string_equal(commit->repo_id, repo_id);
    char computed[SEAF_ID_LEN + 1];
    assert_int_equal(seaf_commit_compute_id(commit, SEAF_COMMIT_ID_C, computed), SEAF_OK);
    assert_string_equal(computed, id);
    walk->parsed++;
    walk->encrypted += commit->encrypted;
    seaf_commit_free(commit);
    free(text);
}

static void every_stored_commit_parses_and_its_id_rederives(void **state)
{
    (void)state;
    struct walk walk = {0};
    size_t visited = for_each_stored_object("commits", check_stored_commit, &walk);
    assert_int_equal(visited, 51); /* INDEX.md: 51 commits */
    assert_int_equal(walk.parsed, 51);
    assert_true(walk.encrypted > 0);
}

static void captured_commit_bodies_parse(void **state)
{
    (void)state;
    struct captured_http http;
    assert_true(load_captured_http("commit.http", &http));
    assert_int_equal(http.status, 200);
    struct seaf_commit *commit = NULL;
    assert_int_equal(seaf_commit_parse((const char *)http.body, http.body_len, &commit, NULL),
                     SEAF_OK);
    assert_string_equal(commit->commit_id, "549115324a52afbcae8894c85814f1b3723b07c5");
    assert_string_equal(commit->parent_id, "ff0dba8ca29bebb826ac018851524019ae8646a3");
    assert_string_equal(commit->client_version, "8.0.10");
    assert_string_equal(commit->repo_desc, "Docs test library");
    seaf_commit_free(commit);
    free(http.raw);

    assert_true(load_captured_http("enc-commit.http", &http));
    assert_int_equal(seaf_commit_parse((const char *)http.body, http.body_len, &commit, NULL),
                     SEAF_OK);
    assert_true(commit->encrypted);
    assert_int_equal(commit->enc_version, 2);
    assert_string_equal(commit->magic,
                        "16622225bedc2f2f531ffb80fd4f93e59c27cb99601ad5e5f2943fc237ee282e");
    assert_int_equal(strlen(commit->key), 96);
    assert_null(commit->salt);
    seaf_commit_free(commit);
    free(http.raw);
}

static void go_server_layout_parses(void **state)
{
    (void)state;
    /* Go writes "encrypted": "false", "repo_category": "" and omits device_name. */
    char *go = replace_once(doc_commit, "\"repo_category\": null, \"device_name\": \"laptop\", ",
                            "\"repo_category\": \"\", \"encrypted\": \"false\", ");
    assert_non_null(go);
    struct seaf_commit *commit = NULL;
    assert_int_equal(seaf_commit_parse(go, strlen(go), &commit, NULL), SEAF_OK);
    assert_false(commit->encrypted);
    assert_null(commit->device_name);
    seaf_commit_free(commit);
    free(go);
}

/* Optional strings may be absent or null: repo_desc then reads "", the others NULL. */
static void optional_texts_may_be_absent_or_null(void **state)
{
    (void)state;
    static const char *const variants[][2] = {
        {"\"repo_desc\": \"\", ", ""},
        {"\"repo_desc\": \"\"", "\"repo_desc\": null"},
    };
    for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
        char *text = replace_once(doc_commit, variants[i][0], variants[i][1]);
        assert_non_null(text);
        char *nulls = replace_once(text, "\"device_name\": \"laptop\"", "\"device_name\": null");
        assert_non_null(nulls);
        struct seaf_commit *commit = NULL;
        assert_int_equal(seaf_commit_parse(nulls, strlen(nulls), &commit, NULL), SEAF_OK);
        assert_string_equal(commit->repo_desc, "");
        assert_null(commit->device_name);
        assert_string_equal(commit->client_version, "seadrive_3.0.23");
        assert_null(commit->magic);
        seaf_commit_free(commit);
        free(nulls);
        free(text);
    }
}

static void version_zero_and_newer_versions_are_unsupported(void **state)
{
    (void)state;
    struct seaf_parse_msg msg = {{0}};
    char *v0 = replace_once(doc_commit, ", \"version\": 1}", "}");
    struct seaf_commit *commit = NULL;
    assert_int_equal(seaf_commit_parse(v0, strlen(v0), &commit, &msg), SEAF_ERR_UNSUPPORTED);
    assert_null(commit);
    assert_non_null(strstr(msg.text, "version 0"));
    free(v0);
    assert_int_equal(mutated_status(doc_commit, "\"version\": 1", "\"version\": 0"),
                     SEAF_ERR_UNSUPPORTED);
    assert_int_equal(mutated_status(doc_commit, "\"version\": 1", "\"version\": 2"),
                     SEAF_ERR_UNSUPPORTED);
    assert_int_equal(mutated_status(doc_commit, "\"version\": 1", "\"version\": -1"),
                     SEAF_ERR_MALFORMED);
    assert_int_equal(mutated_status(doc_commit, "\"version\": 1", "\"version\": \"1\""),
                     SEAF_ERR_MALFORMED);
}

static void malformed_commits_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *from;
        const char *to;
    } cases[] = {
        {"\"root_id\": \"f62960f3", "\"root_id\": \"F62960f3"},
        {"\"root_id\": \"f62960f33df86f9795cc6c661f0f235402f880b9\"", "\"root_id\": null"},
        {"\"commit_id\": \"fe8b09fa039ee681bc6a9b0d69a2c9ec0bfc75fb\", ", ""},
        {"\"repo_id\": \"8c0bbbd9-", "\"repo_id\": \"8c0bbbd9_"},
        {"\"creator\": \"0000000000000000000000000000000000000000\"", "\"creator\": \"000\""},
        {"\"parent_id\": null", "\"parent_id\": 5"},
        {"\"parent_id\": null", "\"parent_id\": \"abc\""},
        {"\"second_parent_id\": null", "\"second_parent_id\": true"},
        {"\"ctime\": 1700000300", "\"ctime\": 1700000300.5"},
        {"\"ctime\": 1700000300", "\"ctime\": \"1700000300\""},
        {"\"repo_name\": \"Documents\", ", ""},
        {"\"repo_name\": \"Documents\"", "\"repo_name\": \"Doc\\u0000uments\""},
        {"\"description\": \"Added \\\"hello.txt\\\".\"", "\"description\": null"},
        {"\"repo_category\": null", "\"repo_category\": 3"},
        {"\"device_name\": \"laptop\"", "\"device_name\": [\"laptop\"]"},
        {"\"version\": 1}", "\"version\": 1"},
        {"{\"commit_id\"", "[{\"commit_id\""},
        {"\"version\": 1}", "\"version\": 1, \"version\": 1}"},
        {"\"version\": 1}", "\"encrypted\": true, \"version\": 1}"},
        {"\"version\": 1}", "\"encrypted\": \"yes\", \"version\": 1}"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        seaf_err err = mutated_status(doc_commit, cases[i].from, cases[i].to);
        if (err != SEAF_ERR_MALFORMED)
            fail_msg("case %zu (%s -> %s): got %s", i, cases[i].from, cases[i].to,
                     seaf_strerror(err));
    }
    assert_int_equal(parse_status(""), SEAF_ERR_MALFORMED);
    assert_int_equal(parse_status("null"), SEAF_ERR_MALFORMED);
    struct seaf_commit *commit = NULL;
    assert_int_equal(seaf_commit_parse(doc_commit, strlen(doc_commit) / 2, &commit, NULL),
                     SEAF_ERR_MALFORMED);
    assert_int_equal(seaf_commit_parse(doc_commit, SEAF_COMMIT_MAX_SIZE + 1, &commit, NULL),
                     SEAF_ERR_MALFORMED);
    assert_int_equal(seaf_commit_parse(NULL, 0, &commit, NULL), SEAF_ERR_INVALID_ARG);
    assert_null(commit);
}

static void encryption_fields_are_checked(void **state)
{
    (void)state;
    struct captured_http http;
    assert_true(load_captured_http("enc-commit.http", &http));
    char *enc = strndup((const char *)http.body, http.body_len);
    free(http.raw);
    assert_int_equal(parse_status(enc), SEAF_OK);
    /* magic too short, key missing, key not hex, enc_version out of range or missing. */
    assert_int_equal(mutated_status(enc, "\"magic\": \"16622225", "\"magic\": \"1662222"),
                     SEAF_ERR_MALFORMED);
    assert_int_equal(mutated_status(enc, "\"key\": \"", "\"keyx\": \""), SEAF_ERR_MALFORMED);
    assert_int_equal(mutated_status(enc, "\"key\": \"e463", "\"key\": \"E463"), SEAF_ERR_MALFORMED);
    assert_int_equal(mutated_status(enc, "\"enc_version\": 2", "\"enc_version\": 5"),
                     SEAF_ERR_UNSUPPORTED);
    assert_int_equal(mutated_status(enc, "\"enc_version\": 2", "\"enc_version\": 0"),
                     SEAF_ERR_MALFORMED);
    assert_int_equal(mutated_status(enc, "\"enc_version\": 2, ", ""), SEAF_ERR_MALFORMED);
    /* enc_version 3 requires a 64-digit salt, which this v2 commit lacks. */
    assert_int_equal(mutated_status(enc, "\"enc_version\": 2", "\"enc_version\": 3"),
                     SEAF_ERR_MALFORMED);
    /* pwd_hash replaces magic and gets the same length check. */
    char *hashed = replace_once(enc, "\"magic\"", "\"pwd_hash\"");
    assert_int_equal(parse_status(hashed), SEAF_OK);
    assert_int_equal(mutated_status(hashed, "\"pwd_hash\": \"16", "\"pwd_hash\": \"1"),
                     SEAF_ERR_MALFORMED);
    free(hashed);
    /* Not encrypted: the encryption members are not required to have any length. */
    assert_int_equal(mutated_status(enc, "\"encrypted\": \"true\"", "\"encrypted\": \"false\""),
                     SEAF_OK);
    free(enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_commit_parses_and_ids_match_both_algorithms),
        cmocka_unit_test(every_stored_commit_parses_and_its_id_rederives),
        cmocka_unit_test(captured_commit_bodies_parse),
        cmocka_unit_test(go_server_layout_parses),
        cmocka_unit_test(optional_texts_may_be_absent_or_null),
        cmocka_unit_test(version_zero_and_newer_versions_are_unsupported),
        cmocka_unit_test(malformed_commits_are_refused),
        cmocka_unit_test(encryption_fields_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
