/* Tests of seaf_packfs: the captured pack-fs bodies parse whatever the chunking, every record is
 * a valid fs object under its id, partial answers report what is missing, and truncated,
 * oversized, non-hex, unrequested and repeated records are refused with the exact error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "seaf_fsobj.h"
#include "seaf_packfs.h"
#include "vectors_util.h"

/* The ids of a request body (http/request-bodies/<name>). */
struct request {
    json_t *json;
    const char **ids;
    size_t n;
};

static void load_request(const char *name, struct request *req)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "http/request-bodies/%s", name);
    json_error_t error;
    req->json = json_load_file(vectors_path(rel), 0, &error);
    assert_true(json_is_array(req->json));
    req->n = json_array_size(req->json);
    req->ids = calloc(req->n, sizeof(*req->ids));
    for (size_t i = 0; i < req->n; i++)
        req->ids[i] = json_string_value(json_array_get(req->json, i));
}

static void free_request(struct request *req)
{
    free(req->ids);
    json_decref(req->json);
}

/* What the record callback saw. */
struct seen {
    size_t records;
    char last_id[SEAF_ID_LEN + 1];
    const char *const *ids; /* the request, when the test checks record positions */
    size_t last_index;
    seaf_err fail_with; /* returned from the callback when not SEAF_OK */
};

static seaf_err on_record(void *ctx, size_t index, const char *id, const unsigned char *data,
                          size_t len)
{
    struct seen *seen = ctx;
    if (seen->fail_with != SEAF_OK)
        return seen->fail_with;
    if (seen->ids != NULL)
        assert_string_equal(seen->ids[index], id);
    seen->last_index = index;
    struct seaf_fsobj *obj = NULL;
    struct seaf_parse_msg msg = {{0}};
    seaf_err err = seaf_fsobj_parse(data, len, id, &obj, &msg);
    if (err != SEAF_OK)
        fail_msg("record %s: %s (%s)", id, seaf_strerror(err), msg.text);
    seaf_fsobj_free(obj);
    memcpy(seen->last_id, id, SEAF_ID_LEN + 1);
    seen->records++;
    return SEAF_OK;
}

/* Feeds body in chunks of chunk bytes and returns the result of finish. */
static seaf_err feed_in_chunks(struct seaf_packfs *packfs, const unsigned char *body, size_t len,
                               size_t chunk)
{
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        seaf_err err = seaf_packfs_feed(packfs, body + off, n);
        if (err != SEAF_OK)
            return err;
    }
    return seaf_packfs_finish(packfs);
}

static void captured_bodies_parse_in_any_chunking(void **state)
{
    (void)state;
    static const struct {
        const char *http;
        const char *request;
    } captures[] = {
        {"pack-fs-small.http", "packfs-small.json"},
        {"pack-fs-all.http", "packfs-all.json"},
        {"enc-pack-fs.http", "enc-pack.json"},
    };
    static const size_t chunks[] = {1, 7, 44, 45, 4096, SIZE_MAX};
    for (size_t c = 0; c < sizeof(captures) / sizeof(captures[0]); c++) {
        struct captured_http http;
        assert_true(load_captured_http(captures[c].http, &http));
        assert_int_equal(http.status, 200);
        struct request req;
        load_request(captures[c].request, &req);
        for (size_t k = 0; k < sizeof(chunks) / sizeof(chunks[0]); k++) {
            struct seen seen = {.ids = req.ids};
            struct seaf_packfs *packfs = NULL;
            assert_int_equal(seaf_packfs_new(req.ids, req.n, on_record, &seen, &packfs), SEAF_OK);
            seaf_err err = feed_in_chunks(packfs, http.body, http.body_len, chunks[k]);
            if (err != SEAF_OK)
                fail_msg("%s in chunks of %zu: %s (%s)", captures[c].http, chunks[k],
                         seaf_strerror(err), seaf_packfs_message(packfs));
            /* All these requests fit under the server's 1 MiB cut-off (packfs-all repeats
             * ids, as fs-id-list does; each occurrence gets its record). */
            assert_int_equal(seen.records, req.n);
            assert_int_equal(seaf_packfs_n_received(packfs), req.n);
            for (size_t i = 0; i < req.n; i++)
                assert_true(seaf_packfs_received(packfs, i));
            assert_string_equal(seen.last_id, req.ids[req.n - 1]); /* request order */
            seaf_packfs_free(packfs);
        }
        free_request(&req);
        free(http.raw);
    }
}

static void partial_answer_reports_the_missing_ids(void **state)
{
    (void)state;
    struct captured_http http;
    assert_true(load_captured_http("pack-fs-unknown-id.http", &http));
    assert_int_equal(http.status, 500); /* the caller must check this first */
    struct request req;
    load_request("packfs-bad.json", &req);
    struct seen seen = {.ids = req.ids};
    struct seaf_packfs *packfs = NULL;
    assert_int_equal(seaf_packfs_new(req.ids, req.n, on_record, &seen, &packfs), SEAF_OK);
    assert_int_equal(feed_in_chunks(packfs, http.body, http.body_len, 100), SEAF_OK);
    assert_int_equal(seaf_packfs_n_received(packfs), 1);
    assert_true(seaf_packfs_received(packfs, 0));
    assert_false(seaf_packfs_received(packfs, 1));
    assert_false(seaf_packfs_received(packfs, 2)); /* out of range */
    seaf_packfs_free(packfs);
    free_request(&req);
    free(http.raw);
}

/* The captured small body and its request, for the damage tests. */
struct small {
    struct captured_http http;
    struct request req;
};

static int small_setup(void **state)
{
    struct small *small = calloc(1, sizeof(*small));
    if (small == NULL || !load_captured_http("pack-fs-small.http", &small->http))
        return -1;
    load_request("packfs-small.json", &small->req);
    *state = small;
    return 0;
}

static int small_teardown(void **state)
{
    struct small *small = *state;
    free_request(&small->req);
    free(small->http.raw);
    free(small);
    return 0;
}

/* Parses body against the small request; returns the first error and the message. */
static seaf_err parse_against(struct small *small, const unsigned char *body, size_t len,
                              size_t n_ids, char *message, size_t message_size)
{
    struct seen seen = {.ids = small->req.ids};
    struct seaf_packfs *packfs = NULL;
    assert_int_equal(seaf_packfs_new(small->req.ids, n_ids, on_record, &seen, &packfs), SEAF_OK);
    seaf_err err = feed_in_chunks(packfs, body, len, 13);
    /* Errors are sticky. */
    if (err != SEAF_OK)
        assert_int_equal(seaf_packfs_finish(packfs), err);
    snprintf(message, message_size, "%s", seaf_packfs_message(packfs));
    seaf_packfs_free(packfs);
    return err;
}

static void damaged_bodies_are_refused(void **state)
{
    struct small *small = *state;
    const unsigned char *body = small->http.body;
    size_t len = small->http.body_len;
    size_t n = small->req.n;
    char message[256];
    /* Truncated at every length: a clean end only at record boundaries. */
    size_t boundaries = 0;
    for (size_t cut = 0; cut < len; cut++) {
        seaf_err err = parse_against(small, body, cut, n, message, sizeof(message));
        if (err == SEAF_OK)
            boundaries++;
        else if (cut == 0)
            assert_int_equal(err, SEAF_ERR_PROTOCOL); /* no record at all */
        else
            assert_int_equal(err, SEAF_ERR_MALFORMED);
    }
    assert_int_equal(boundaries, n - 1);
    assert_int_equal(parse_against(small, body, len - 1, n, message, sizeof(message)),
                     SEAF_ERR_MALFORMED);
    assert_non_null(strstr(message, "truncated"));

    unsigned char *copy = malloc(len * 2);
    memcpy(copy, body, len);
    /* Length beyond the fs object cap. */
    memset(copy + 40, 0xff, 4);
    assert_int_equal(parse_against(small, copy, len, n, message, sizeof(message)),
                     SEAF_ERR_MALFORMED);
    assert_non_null(strstr(message, "length"));
    memcpy(copy, body, len);
    /* Non-hex id. */
    copy[0] = 'G';
    assert_int_equal(parse_against(small, copy, len, n, message, sizeof(message)),
                     SEAF_ERR_MALFORMED);
    assert_non_null(strstr(message, "hex"));
    memcpy(copy, body, len);
    /* An id that was not requested (only the first one was). */
    assert_int_equal(parse_against(small, copy, len, 1, message, sizeof(message)),
                     SEAF_ERR_PROTOCOL);
    assert_non_null(strstr(message, "not requested"));
    /* The same record twice. */
    size_t first_len = 44 + (((size_t)body[40] << 24) | ((size_t)body[41] << 16) |
                             ((size_t)body[42] << 8) | body[43]);
    memcpy(copy + first_len, body, len);
    assert_int_equal(parse_against(small, copy, len + first_len, n, message, sizeof(message)),
                     SEAF_ERR_PROTOCOL);
    assert_non_null(strstr(message, "more often"));
    free(copy);
}

static void callback_errors_stop_parsing_and_reset_starts_over(void **state)
{
    struct small *small = *state;
    struct seen seen = {.fail_with = SEAF_ERR_NOSPACE};
    struct seaf_packfs *packfs = NULL;
    assert_int_equal(seaf_packfs_new(small->req.ids, small->req.n, on_record, &seen, &packfs),
                     SEAF_OK);
    assert_int_equal(seaf_packfs_feed(packfs, small->http.body, small->http.body_len),
                     SEAF_ERR_NOSPACE);
    assert_int_equal(seaf_packfs_feed(packfs, small->http.body, 1), SEAF_ERR_NOSPACE);
    /* A retry delivers the body again from the start. */
    seaf_packfs_reset(packfs);
    seen.fail_with = SEAF_OK;
    assert_int_equal(seaf_packfs_n_received(packfs), 0);
    assert_int_equal(seaf_packfs_feed(packfs, small->http.body, 50), SEAF_OK);
    seaf_packfs_reset(packfs);
    assert_int_equal(feed_in_chunks(packfs, small->http.body, small->http.body_len, 500), SEAF_OK);
    assert_int_equal(seaf_packfs_n_received(packfs), small->req.n);
    assert_string_equal(seaf_packfs_message(packfs), "");
    seaf_packfs_free(packfs);
}

static void repeated_ids_need_one_record_each(void **state)
{
    struct small *small = *state;
    const unsigned char *body = small->http.body;
    size_t first_len = 44 + (((size_t)body[40] << 24) | ((size_t)body[41] << 16) |
                             ((size_t)body[42] << 8) | body[43]);
    const char *twice[] = {small->req.ids[0], small->req.ids[0]};
    struct seen seen = {.ids = twice};
    struct seaf_packfs *packfs = NULL;
    assert_int_equal(seaf_packfs_new(twice, 2, on_record, &seen, &packfs), SEAF_OK);
    assert_int_equal(seaf_packfs_feed(packfs, body, first_len), SEAF_OK);
    assert_true(seaf_packfs_received(packfs, 0));
    assert_false(seaf_packfs_received(packfs, 1));
    assert_int_equal(seen.last_index, 0);
    assert_int_equal(seaf_packfs_feed(packfs, body, first_len), SEAF_OK);
    assert_true(seaf_packfs_received(packfs, 1));
    assert_int_equal(seen.last_index, 1);
    assert_int_equal(seaf_packfs_feed(packfs, body, first_len), SEAF_ERR_PROTOCOL);
    assert_int_equal(seen.records, 2);
    seaf_packfs_free(packfs);
}

static void bad_requests_are_refused(void **state)
{
    struct small *small = *state;
    struct seen seen = {0};
    struct seaf_packfs *packfs = NULL;
    const char *bad[] = {small->req.ids[0], "29F5D7D3C161639951AA8037DCCCC951133B4677"};
    assert_int_equal(seaf_packfs_new(bad, 2, on_record, &seen, &packfs), SEAF_ERR_INVALID_ARG);
    const char *with_null[] = {small->req.ids[0], NULL};
    assert_int_equal(seaf_packfs_new(with_null, 2, on_record, &seen, &packfs),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_packfs_new(small->req.ids, 0, on_record, &seen, &packfs),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_packfs_new(small->req.ids, 1, NULL, &seen, &packfs),
                     SEAF_ERR_INVALID_ARG);
    assert_null(packfs);
    assert_int_equal(seaf_packfs_feed(NULL, "x", 1), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_packfs_finish(NULL), SEAF_ERR_INVALID_ARG);
    seaf_packfs_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(captured_bodies_parse_in_any_chunking),
        cmocka_unit_test(partial_answer_reports_the_missing_ids),
        cmocka_unit_test_setup_teardown(damaged_bodies_are_refused, small_setup, small_teardown),
        cmocka_unit_test_setup_teardown(callback_errors_stop_parsing_and_reset_starts_over,
                                        small_setup, small_teardown),
        cmocka_unit_test_setup_teardown(repeated_ids_need_one_record_each, small_setup,
                                        small_teardown),
        cmocka_unit_test_setup_teardown(bad_requests_are_refused, small_setup, small_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
