/* Unit tests of the range-read side of net/: Seahub's download link (seahub_file_link), ranged
 * GETs on it and what makes their answers acceptable (web_range), the link estimate the pool
 * keeps, and that a link's token never reaches the pool's log. Against the scripted server of
 * http_test_server.c, answering as the "answer" field of the test says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_test_server.h"
#include "link_estimate.h"
#include "seaf_client.h"
#include "seahub_api.h"
#include "web_range.h"

#define REPO     "c4910f68-4419-472d-8790-7d453cca13f4"
#define FILE_ID  "db74a666bf4468692fca46bd5cdf575a1952fc37"
#define OTHER_ID "1111111111111111111111111111111111111111"
#define TOKEN    "0f3e2a8c-1b7d-4e5f-9a6b-2c4d6e8f0a1b"
#define API      "c7c9bdccbe007033b1d232dd8fcae2e4a6bdec79"
#define SIZE     1000

/* How the file server answers a ranged GET. */
enum answer {
    ANSWER_RANGE,       /* a 206 as seaf-server sends it */
    ANSWER_WHOLE,       /* Range ignored: 200 and the whole file */
    ANSWER_OTHER_ETAG,  /* another version's id */
    ANSWER_OTHER_SIZE,  /* Content-Range of a file of another size */
    ANSWER_OTHER_RANGE, /* other bytes than asked for */
    ANSWER_SHORT,       /* a body shorter than its Content-Range says */
    ANSWER_NO_ETAG,
    ANSWER_WEAK_ETAG, /* W/"id": acceptable */
    ANSWER_403,
    ANSWER_503, /* not retried: the caller reads the block instead */
    ANSWER_CUT, /* the connection closes in the middle of the body */
};

struct env {
    struct test_server *server;
    struct http_pool *pool;
    struct seaf_client *client;
    char file[SIZE];
    enum answer answer;
    bool link_without_oid;
    int link_status; /* Seahub's answer to the link request; 0: 200 and a link */
    char log[8192];  /* what the pool logged */
};

static void on_log(void *ctx, enum http_log_level level, const char *message)
{
    struct env *env = ctx;
    size_t used = strlen(env->log);
    (void)level;
    snprintf(env->log + used, sizeof(env->log) - used, "%s\n", message);
}

/* The (first, last) of "Range: bytes=first-last" in the request, or false. */
static bool requested_range(const struct test_request *request, unsigned *first, unsigned *last)
{
    const char *range = strstr(request->headers, "Range: bytes=");
    return range && sscanf(range, "Range: bytes=%u-%u", first, last) == 2;
}

static void answer_range(struct env *env, const struct test_request *request,
                         struct test_reply *reply)
{
    unsigned first = 0, last = 0;
    char headers[512];
    assert_true(requested_range(request, &first, &last));
    assert_null(strstr(request->headers, "Authorization")); /* the token is in the URL */
    const char *etag = env->answer == ANSWER_OTHER_ETAG  ? OTHER_ID
                       : env->answer == ANSWER_WEAK_ETAG ? "W/\"" FILE_ID "\""
                                                         : FILE_ID;
    unsigned total = env->answer == ANSWER_OTHER_SIZE ? SIZE + 1 : SIZE;
    unsigned shift = env->answer == ANSWER_OTHER_RANGE ? 1 : 0;
    size_t body_len = last - first + 1 - (env->answer == ANSWER_SHORT ? 1 : 0);
    if (env->answer == ANSWER_503) {
        test_reply_set(reply, 503, NULL, "busy", 4);
        return;
    }
    if (env->answer == ANSWER_403) {
        test_reply_set(reply, 403, "Content-Type: text/plain\r\n", "Access token not found\n", 23);
        return;
    }
    if (env->answer == ANSWER_WHOLE) {
        snprintf(headers, sizeof(headers), "ETag: %s\r\n", FILE_ID);
        test_reply_set(reply, 200, headers, env->file, SIZE);
        return;
    }
    snprintf(headers, sizeof(headers),
             "%s%s%s\r\nAccept-Ranges: bytes\r\nContent-Range: bytes %u-%u/%u\r\n",
             env->answer == ANSWER_NO_ETAG ? "" : "ETag: ",
             env->answer == ANSWER_NO_ETAG ? "X-None: " : "", etag, first + shift, last + shift,
             total);
    test_reply_set(reply, 206, headers, env->file + first + shift, body_len);
    if (env->answer == ANSWER_CUT) {
        reply->send_only = reply->raw_len - body_len / 2;
        reply->close_connection = true;
    }
}

static void handler(void *ctx, const struct test_request *request, struct test_reply *reply)
{
    struct env *env = ctx;
    if (strncmp(request->target, "/api2/repos/" REPO "/file/?p=", 12 + 36 + 9) == 0) {
        char body[256], headers[128] = "";
        assert_non_null(strstr(request->headers, "Authorization: Token " API "\r\n"));
        if (env->link_status) {
            const char *error = "{\"error_msg\": \"Failed to get file id by path.\"}";
            test_reply_set(reply, env->link_status, NULL, error, strlen(error));
            return;
        }
        snprintf(body, sizeof(body), "\"%s/seafhttp/files/" TOKEN "/a%%20b.txt\"",
                 test_server_url(env->server));
        if (!env->link_without_oid)
            snprintf(headers, sizeof(headers), "oid: %s\r\n", FILE_ID);
        test_reply_set(reply, 200, headers, body, strlen(body));
    } else if (strcmp(request->target, "/seafhttp/files/" TOKEN "/a%20b.txt") == 0) {
        answer_range(env, request, reply);
    } else {
        test_reply_set(reply, 404, NULL, NULL, 0);
    }
}

static int env_setup(void **state)
{
    struct env *env = calloc(1, sizeof(*env));
    struct http_pool_options options = {.retry_base_ms = 5,
                                        .retry_set = true,
                                        .max_retries = 1,
                                        .log = on_log,
                                        .log_ctx = env,
                                        .debug = true};
    seaf_err err;
    char url[128];
    for (size_t i = 0; i < SIZE; i++)
        env->file[i] = (char)(i * 7 + 3);
    env->server = test_server_start(handler, env);
    env->pool = http_pool_new(&options, &err);
    snprintf(url, sizeof(url), "%s/", test_server_url(env->server));
    struct seaf_client_options co = {.server_url = url, .username = "user@example.com"};
    assert_int_equal(seaf_client_new(&co, env->pool, &env->client), SEAF_OK);
    assert_int_equal(seaf_client_set_api_token(env->client, API), SEAF_OK);
    *state = env;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *env = *state;
    seaf_client_free(env->client);
    http_pool_free(env->pool);
    test_server_stop(env->server);
    free(env);
    return 0;
}

static char *get_link(struct env *env, char file_id[SEAF_ID_LEN + 1])
{
    char *url = NULL;
    assert_int_equal(seahub_file_link(env->client, REPO, "/dir/a b.txt", true, &url, file_id),
                     SEAF_OK);
    return url;
}

static void test_link_request_and_answer(void **state)
{
    struct env *env = *state;
    char file_id[SEAF_ID_LEN + 1];
    char *url = get_link(env, file_id);
    struct test_request seen;
    assert_true(test_server_request(env->server, 0, &seen));
    assert_string_equal(seen.target, "/api2/repos/" REPO "/file/?p=%2Fdir%2Fa%20b.txt&reuse=1");
    assert_string_equal(file_id, FILE_ID);
    assert_non_null(strstr(url, "/seafhttp/files/" TOKEN "/a%20b.txt"));
    free(url);
    env->link_without_oid = true;
    url = get_link(env, file_id);
    assert_string_equal(file_id, "");
    free(url);
    /* Seahub's 520 (a folder object on the path is missing): one request, no retry. */
    env->link_status = 520;
    assert_int_equal(seahub_file_link(env->client, REPO, "/dir/a b.txt", true, &url, file_id),
                     SEAF_ERR_SERVER);
    assert_null(url);
    assert_int_equal(test_server_request_count(env->server), 3);
}

/* One ranged GET of 100 bytes at 250 as the test's answer makes it; the bytes in *out. */
static seaf_err get_range(struct env *env, char out[100])
{
    char file_id[SEAF_ID_LEN + 1];
    char *url = get_link(env, file_id);
    struct web_range want = {.file_id = FILE_ID, .file_size = SIZE, .start = 250, .len = 100};
    memset(out, 0, 100);
    seaf_err err = web_range_get(env->client, url, &want, out);
    free(url);
    return err;
}

static void test_good_ranges_are_served(void **state)
{
    struct env *env = *state;
    char out[100];
    const enum answer good[] = {ANSWER_RANGE, ANSWER_WEAK_ETAG};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        env->answer = good[i];
        assert_int_equal(get_range(env, out), SEAF_OK);
        assert_memory_equal(out, env->file + 250, 100);
    }
    struct test_request seen;
    assert_true(test_server_request(env->server, 1, &seen));
    assert_non_null(strstr(seen.headers, "Range: bytes=250-349\r\n"));
}

static void test_odd_answers_are_refused(void **state)
{
    struct env *env = *state;
    char out[100];
    const struct {
        enum answer answer;
        seaf_err err;
    } cases[] = {
        {ANSWER_WHOLE, SEAF_ERR_UNSUPPORTED},
        {ANSWER_OTHER_ETAG, SEAF_ERR_ID_MISMATCH},
        {ANSWER_OTHER_SIZE, SEAF_ERR_ID_MISMATCH},
        {ANSWER_OTHER_RANGE, SEAF_ERR_PROTOCOL},
        {ANSWER_SHORT, SEAF_ERR_PROTOCOL},
        {ANSWER_NO_ETAG, SEAF_ERR_PROTOCOL},
        {ANSWER_403, SEAF_ERR_PERMISSION},
        {ANSWER_503, SEAF_ERR_SERVER},
        {ANSWER_CUT, SEAF_ERR_NETWORK},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        env->answer = cases[i].answer;
        assert_int_equal(get_range(env, out), cases[i].err);
    }
}

static void test_the_token_stays_out_of_the_log(void **state)
{
    struct env *env = *state;
    char out[100];
    env->answer = ANSWER_CUT; /* a failed transfer: logged with the URL */
    assert_int_equal(get_range(env, out), SEAF_ERR_NETWORK);
    assert_non_null(strstr(env->log, "/<redacted> failed"));
    assert_non_null(strstr(env->log, "> GET <redacted>"));
    assert_null(strstr(env->log, TOKEN));
}

static void test_parsers(void **state)
{
    (void)state;
    uint64_t first, last, total;
    char id[SEAF_ID_LEN + 1];
    char *url = NULL;
    assert_true(web_parse_content_range("bytes 0-9/10", &first, &last, &total));
    assert_true(first == 0 && last == 9 && total == 10);
    const char *bad_ranges[] = {"bytes */10",   "bytes 5-4/10", "bytes 0-10/10", "bytes 0-9/10 ",
                                "items 0-9/10", "bytes 0-9",    "bytes -1-9/10", ""};
    for (size_t i = 0; i < sizeof(bad_ranges) / sizeof(bad_ranges[0]); i++)
        assert_false(web_parse_content_range(bad_ranges[i], &first, &last, &total));
    assert_true(web_parse_etag(FILE_ID, id) && strcmp(id, FILE_ID) == 0);
    assert_true(web_parse_etag("\"" FILE_ID "\"", id) && strcmp(id, FILE_ID) == 0);
    assert_false(web_parse_etag("\"" FILE_ID, id));
    assert_false(web_parse_etag("DB74A666BF4468692FCA46BD5CDF575A1952FC37", id));
    const char good[] = "\"https://h/seafhttp/files/t/a.txt\"";
    assert_int_equal(seahub_parse_file_link(good, strlen(good), &url), SEAF_OK);
    assert_string_equal(url, "https://h/seafhttp/files/t/a.txt");
    free(url);
    const char *bad_links[] = {"{\"url\": \"https://h/x\"}", "\"ftp://h/x\"", "\"http://h/a b\"",
                               ""};
    for (size_t i = 0; i < sizeof(bad_links) / sizeof(bad_links[0]); i++)
        assert_int_equal(seahub_parse_file_link(bad_links[i], strlen(bad_links[i]), &url),
                         SEAF_ERR_MALFORMED);
}

static void test_link_estimate(void **state)
{
    (void)state;
    struct link_estimate e;
    struct link_figures f;
    link_estimate_init(&e);
    link_estimate_get(&e, &f);
    assert_true(f.rtt_s == 0 && f.bytes_per_s == 0 && link_predict_s(&f, 2, 1 << 20) == 0);
    /* Round trips: the smallest recent wait; bandwidth guessed from it until measured. */
    link_estimate_add(&e, 0.300, 100, 0.001);
    link_estimate_add(&e, 0.100, 100, 0.001);
    link_estimate_add(&e, 0.200, 100, 0.001);
    link_estimate_get(&e, &f);
    assert_true(f.rtt_s > 0.0999 && f.rtt_s < 0.1001 && !f.bandwidth_measured);
    assert_true(f.bytes_per_s > LINK_GUESS_BYTES_PER_RTT * 9.99);
    /* A large body measures it; later ones move the average. */
    link_estimate_add(&e, 0.150, 1 << 20, 1.0);
    link_estimate_get(&e, &f);
    assert_true(f.bandwidth_measured && f.bytes_per_s == (double)(1 << 20));
    assert_true(link_predict_s(&f, 2, 1 << 20) > 1.1999 && link_predict_s(&f, 2, 1 << 20) < 1.2001);
    link_estimate_add(&e, 0.150, 2 << 20, 1.0);
    link_estimate_get(&e, &f);
    assert_true(f.bytes_per_s > (1 << 20) && f.bytes_per_s < (2 << 20));
    /* The window forgets old round trips. */
    for (int i = 0; i < LINK_RTT_WINDOW; i++)
        link_estimate_add(&e, 0.5, 10, 0.001);
    link_estimate_get(&e, &f);
    assert_true(f.rtt_s > 0.4999 && f.rtt_s < 0.5001);
    link_estimate_destroy(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_link_request_and_answer, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_good_ranges_are_served, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_odd_answers_are_refused, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_the_token_stays_out_of_the_log, env_setup,
                                        env_teardown),
        cmocka_unit_test(test_parsers),
        cmocka_unit_test(test_link_estimate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
