/* Unit tests of net/http_pool: request shape, streaming + SHA-1, retries (5xx, 429 +
 * Retry-After, mid-body reset), what is never retried (nor sent over a reused connection),
 * timeouts, sink errors, header capture, whole error bodies, credential redaction, and the pure
 * helpers (backoff, Retry-After parsing). The transfer tests run twice: on the calling thread
 * (plain http) and through the I/O thread of multiplexed transfers (http_multi), whose bodies
 * come back to the caller through a bounded queue (large bodies into a slow sink pause it). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http_pool.h"
#include "http_test_server.h"
#include "seaf_ids.h"
#include "seaf_sha1.h"

/* What the handler should do, consumed request by request. */
struct script {
    int statuses[8]; /* status of reply i; the last one repeats */
    unsigned count;
    const char *extra_headers; /* added to every reply */
    const char *body;
    unsigned cut_first;      /* > 0: the first reply sends only this many bytes then closes */
    unsigned stall_first_ms; /* with cut_first: stall this long before closing */
};

static void scripted(void *ctx, const struct test_request *request, struct test_reply *reply)
{
    struct script *s = ctx;
    unsigned i = request->index < s->count ? request->index : s->count - 1;
    const char *body = s->body ? s->body : "";

    test_reply_set(reply, s->statuses[i], s->extra_headers, body, strlen(body));
    if (request->index == 0 && s->cut_first) {
        reply->send_only = reply->raw_len - strlen(body) + s->cut_first;
        reply->stall_ms = s->stall_first_ms;
    }
}

/* Whether make_pool's pools run transfers on the I/O thread (the second group of tests). */
static bool on_io_thread;

static struct http_pool *make_pool(unsigned retries, long low_speed_time_s)
{
    struct http_pool_options options = {
        .http_on_io_thread = on_io_thread,
        .max_retries = retries,
        .retry_set = true,
        .retry_base_ms = 10,
        .retry_max_delay_ms = 2000,
        .retry_budget_ms = 20000,
        .low_speed_time_s = low_speed_time_s,
        .connect_timeout_ms = 2000,
    };
    seaf_err err;
    struct http_pool *pool = http_pool_new(&options, &err);

    assert_int_equal(err, SEAF_OK);
    assert_non_null(pool);
    return pool;
}

static char *url_of(struct test_server *server, const char *path)
{
    static char url[256];

    snprintf(url, sizeof(url), "%s%s", test_server_url(server), path);
    return url;
}

/* Starts a server playing s, GETs /x once (idempotent) through a fresh pool into sink, stops
 * everything and returns the result; stats (may be NULL) receives the pool's counters. */
static seaf_err run_get(struct script *s, unsigned retries, long low_speed_s,
                        const struct http_sink *sink, struct http_response *response,
                        struct http_pool_stats *stats)
{
    struct test_server *server = test_server_start(scripted, s);
    struct http_pool *pool = make_pool(retries, low_speed_s);
    struct http_request request = {
        .method = HTTP_GET, .url = url_of(server, "/x"), .idempotent = true, .sink = sink};
    seaf_err err = http_pool_perform(pool, &request, response);

    if (stats)
        http_pool_get_stats(pool, stats);
    http_pool_free(pool);
    test_server_stop(server);
    return err;
}

/* GETs "hello" into buffer through a buffer sink with the given checks_sha1. */
static void get_hello(bool checks_sha1, struct http_buffer *buffer, struct http_response *response)
{
    struct script s = {.statuses = {200}, .count = 1, .body = "hello"};
    struct http_sink sink;

    http_buffer_init(buffer, 1024);
    sink = http_buffer_sink(buffer);
    sink.checks_sha1 = checks_sha1;
    assert_int_equal(run_get(&s, 0, 5, &sink, response, NULL), SEAF_OK);
    assert_int_equal(response->status, 200);
    assert_int_equal(buffer->len, 5);
    assert_string_equal(buffer->data, "hello");
    assert_int_equal(response->body_len, 5);
}

static void test_get_streams_body_and_hashes_it(void **state)
{
    struct http_buffer buffer;
    struct http_response response;

    (void)state;
    get_hello(false, &buffer, &response);
    assert_string_equal(response.body_id, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
    http_buffer_release(&buffer);
}

/* A sink that verifies the SHA-1 itself (a cache fill) is not hashed a second time. */
static void test_sink_that_checks_sha1_is_not_hashed(void **state)
{
    struct http_buffer buffer;
    struct http_response response;

    (void)state;
    get_hello(true, &buffer, &response);
    assert_string_equal(response.body_id, "");
    http_buffer_release(&buffer);
}

static void test_request_headers_and_body(void **state)
{
    struct script s = {.statuses = {200}, .count = 1, .body = "ok"};
    struct test_server *server = test_server_start(scripted, &s);
    struct http_pool *pool = make_pool(0, 5);
    const char *headers[] = {"Seafile-Repo-Token: abc", "Authorization: Token abc", NULL};
    struct http_response response;
    struct test_request seen;

    (void)state;
    struct http_request request = {.method = HTTP_PUT,
                                   .url = url_of(server, "/repo/r/commit/c"),
                                   .headers = headers,
                                   .body = "{\"a\": 1}",
                                   .body_len = 8,
                                   .content_type = "application/json",
                                   .idempotent = true};
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_true(test_server_request(server, 0, &seen));
    assert_string_equal(seen.method, "PUT");
    assert_string_equal(seen.target, "/repo/r/commit/c");
    assert_non_null(strstr(seen.headers, "User-Agent: seafs/" SEAFS_VERSION "\r\n"));
    assert_non_null(strstr(seen.headers, "Seafile-Repo-Token: abc\r\n"));
    assert_non_null(strstr(seen.headers, "Authorization: Token abc\r\n"));
    assert_non_null(strstr(seen.headers, "Content-Length: 8\r\n"));
    assert_non_null(strstr(seen.headers, "Content-Type: application/json\r\n"));
    assert_null(strstr(seen.headers, "Expect"));
    assert_null(strstr(seen.headers, "Accept-Encoding"));
    assert_null(strstr(seen.headers, "Transfer-Encoding"));

    struct http_request post = {.method = HTTP_POST,
                                .url = url_of(server, "/p"),
                                .body = "x",
                                .body_len = 1,
                                .idempotent = true};
    assert_int_equal(http_pool_perform(pool, &post, &response), SEAF_OK);
    assert_true(test_server_request(server, 1, &seen));
    assert_string_equal(seen.method, "POST");
    assert_null(strstr(seen.headers, "Content-Type"));
    assert_non_null(strstr(seen.headers, "Content-Length: 1\r\n"));
    /* Both requests went over the one kept-alive connection. */
    assert_int_equal(test_server_connections(server), 1);
    http_pool_free(pool);
    test_server_stop(server);
}

static void test_retries_5xx_until_success(void **state)
{
    struct script s = {.statuses = {503, 500, 200}, .count = 3, .body = "fine"};
    struct http_buffer buffer;
    struct http_sink sink;
    struct http_response response;
    struct http_pool_stats stats;

    (void)state;
    http_buffer_init(&buffer, 1024);
    sink = http_buffer_sink(&buffer);
    assert_int_equal(run_get(&s, 4, 5, &sink, &response, &stats), SEAF_OK);
    assert_int_equal(response.status, 200);
    assert_int_equal(response.attempts, 3);
    assert_string_equal(buffer.data, "fine"); /* error bodies never reach the sink */
    assert_int_equal(stats.requests, 1);
    assert_int_equal(stats.attempts, 3);
    assert_int_equal(stats.retries, 2);
    http_buffer_release(&buffer);
}

static void test_retries_are_bounded(void **state)
{
    struct script s = {.statuses = {503}, .count = 1, .body = "busy\n"};
    struct http_response response;
    struct http_pool_stats stats;

    (void)state;
    assert_int_equal(run_get(&s, 2, 5, NULL, &response, &stats), SEAF_OK);
    assert_int_equal(response.status, 503);
    assert_int_equal(response.attempts, 3);
    assert_int_equal(stats.attempts, 3);
    assert_string_equal(response.error_text, "busy\n");
}

static void test_no_retry_on_final_4xx(void **state)
{
    static const int finals[] = {400, 401, 403, 404, 443, 444, 445};

    (void)state;
    for (size_t i = 0; i < sizeof(finals) / sizeof(finals[0]); i++) {
        struct script s = {.statuses = {finals[i], 200}, .count = 2};
        struct http_response response;

        assert_int_equal(run_get(&s, 4, 5, NULL, &response, NULL), SEAF_OK);
        assert_int_equal(response.status, finals[i]);
        assert_int_equal(response.attempts, 1);
    }
}

static void test_non_idempotent_not_retried(void **state)
{
    struct script s = {.statuses = {503, 200}, .count = 2};
    struct test_server *server = test_server_start(scripted, &s);
    struct http_pool *pool = make_pool(4, 5);
    struct http_response response;

    (void)state;
    struct http_request request = {.method = HTTP_POST, .url = url_of(server, "/x")};
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_int_equal(response.status, 503);
    assert_int_equal(response.attempts, 1);
    http_pool_free(pool);
    test_server_stop(server);
}

/* A non-idempotent POST/PUT never reuses a kept-alive connection (libcurl would resend it by
 * itself if that connection turned out dead); idempotent requests keep sharing one. */
static void test_non_idempotent_uses_a_fresh_connection(void **state)
{
    struct script s = {.statuses = {200}, .count = 1, .body = "ok"};
    struct test_server *server = test_server_start(scripted, &s);
    struct http_pool *pool = make_pool(4, 5);
    struct http_response response;

    (void)state;
    struct http_request get = {.method = HTTP_GET, .url = url_of(server, "/a"), .idempotent = true};
    assert_int_equal(http_pool_perform(pool, &get, &response), SEAF_OK);
    assert_int_equal(http_pool_perform(pool, &get, &response), SEAF_OK);
    assert_int_equal(test_server_connections(server), 1);
    struct http_request put = {.method = HTTP_PUT, .url = url_of(server, "/b")};
    assert_int_equal(http_pool_perform(pool, &put, &response), SEAF_OK);
    assert_int_equal(response.status, 200);
    assert_int_equal(test_server_connections(server), 2);
    http_pool_free(pool);
    test_server_stop(server);
}

/* request->error_body receives a whole error body (error_text only its start), up to its
 * limit; a 2xx body never goes there. */
static void test_error_body_collected_whole(void **state)
{
    char body[1001];
    struct script s = {.statuses = {446, 446, 200}, .count = 3, .body = body};
    struct test_server *server = test_server_start(scripted, &s);
    struct http_pool *pool = make_pool(0, 5);
    struct http_response response;
    struct http_buffer whole;

    (void)state;
    for (int i = 0; i < 1000; i++)
        body[i] = (char)('a' + i % 26);
    body[1000] = '\0';
    http_buffer_init(&whole, 4096);
    struct http_request request = {
        .method = HTTP_PUT, .url = url_of(server, "/x"), .error_body = &whole};
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_int_equal(response.status, 446);
    assert_int_equal(strlen(response.error_text), sizeof(response.error_text) - 1);
    assert_int_equal(whole.len, 1000);
    assert_memory_equal(whole.data, body, 1000);
    /* Beyond the limit the rest is dropped, the answer still counts. */
    whole.limit = 100;
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_int_equal(response.status, 446);
    assert_int_equal(whole.len, 100);
    assert_memory_equal(whole.data, body, 100);
    /* A success leaves it empty. */
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_int_equal(response.status, 200);
    assert_int_equal(whole.len, 0);
    http_buffer_release(&whole);
    http_pool_free(pool);
    test_server_stop(server);
}

static long elapsed_ms(const struct timespec *start)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000 + (now.tv_nsec - start->tv_nsec) / 1000000;
}

static void test_429_honours_retry_after(void **state)
{
    struct script s = {.statuses = {429, 200}, .count = 2, .extra_headers = "Retry-After: 1\r\n"};
    struct http_response response;
    struct timespec start;

    (void)state;
    clock_gettime(CLOCK_MONOTONIC, &start);
    assert_int_equal(run_get(&s, 3, 5, NULL, &response, NULL), SEAF_OK);
    assert_int_equal(response.status, 200);
    assert_int_equal(response.attempts, 2);
    /* The backoff base is 10 ms: only Retry-After explains a wait of a second. */
    assert_true(elapsed_ms(&start) >= 950);
}

static void test_mid_body_reset_is_retried_from_scratch(void **state)
{
    struct script s = {.statuses = {200}, .count = 1, .body = "0123456789abcdef", .cut_first = 6};
    struct http_buffer buffer;
    struct http_sink sink;
    struct http_response response;

    (void)state;
    http_buffer_init(&buffer, 1024);
    sink = http_buffer_sink(&buffer);
    assert_int_equal(run_get(&s, 2, 5, &sink, &response, NULL), SEAF_OK);
    assert_int_equal(response.attempts, 2);
    assert_string_equal(buffer.data, "0123456789abcdef");
    assert_int_equal(response.body_len, 16);
    assert_string_equal(response.body_id, "fe5567e8d769550852182cdf69d74bb16dff8e29");
    http_buffer_release(&buffer);
}

static seaf_err count_write(void *ctx, const void *data, size_t len)
{
    (void)data;
    *(size_t *)ctx += len;
    return SEAF_OK;
}

static void test_unrestartable_sink_is_not_retried(void **state)
{
    struct script s = {.statuses = {200}, .count = 1, .body = "0123456789abcdef", .cut_first = 6};
    size_t written = 0;
    struct http_sink sink = {.write = count_write, .ctx = &written};
    struct http_response response;

    (void)state;
    assert_int_equal(run_get(&s, 2, 5, &sink, &response, NULL), SEAF_ERR_NETWORK);
    assert_int_equal(response.attempts, 1);
    assert_int_equal(written, 6);
}

static void test_stall_times_out(void **state)
{
    struct script s = {.statuses = {200},
                       .count = 1,
                       .body = "0123456789abcdef",
                       .cut_first = 4,
                       .stall_first_ms = 20000};
    struct http_response response;

    (void)state;
    /* Had the transfer waited for the stall to end it would have been a NETWORK error. */
    assert_int_equal(run_get(&s, 0, 1, NULL, &response, NULL), SEAF_ERR_TIMEOUT);
}

static void test_connection_refused(void **state)
{
    struct script s = {.statuses = {200}, .count = 1};
    struct test_server *server = test_server_start(scripted, &s);
    char url[256];
    struct http_pool *pool = make_pool(2, 5);
    struct http_response response;

    (void)state;
    snprintf(url, sizeof(url), "%s/x", test_server_url(server));
    test_server_stop(server); /* nothing listens on that port any more */
    struct http_request request = {.method = HTTP_GET, .url = url, .idempotent = true};
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_ERR_NETWORK);
    assert_int_equal(response.attempts, 3);
    http_pool_free(pool);
}

static seaf_err failing_write(void *ctx, const void *data, size_t len)
{
    (void)ctx;
    (void)data;
    (void)len;
    return SEAF_ERR_NOSPACE;
}

static void test_sink_error_aborts(void **state)
{
    struct script s = {.statuses = {200}, .count = 1, .body = "data"};
    struct http_sink sink = {.write = failing_write};
    struct http_response response;

    (void)state;
    assert_int_equal(run_get(&s, 3, 5, &sink, &response, NULL), SEAF_ERR_NOSPACE);
    assert_int_equal(response.attempts, 1);
}

static void test_buffer_limit(void **state)
{
    struct script s = {.statuses = {200}, .count = 1, .body = "0123456789"};
    struct http_buffer buffer;
    struct http_sink sink;
    struct http_response response;

    (void)state;
    http_buffer_init(&buffer, 9);
    sink = http_buffer_sink(&buffer);
    assert_int_equal(run_get(&s, 3, 5, &sink, &response, NULL), SEAF_ERR_PROTOCOL);
    assert_int_equal(response.attempts, 1); /* a sink's refusal is final, never retried */
    http_buffer_release(&buffer);
}

static void test_capture_header(void **state)
{
    struct script s = {.statuses = {400},
                       .count = 1,
                       .extra_headers = "X-Seafile-OTP:  required \r\n",
                       .body = "{\"non_field_errors\": [\"Two factor auth token is missing.\"]}"};
    struct test_server *server = test_server_start(scripted, &s);
    struct http_pool *pool = make_pool(0, 5);
    struct http_response response;

    (void)state;
    struct http_request request = {.method = HTTP_POST,
                                   .url = url_of(server, "/api2/auth-token/"),
                                   .capture_header = "x-seafile-otp"};
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_int_equal(response.status, 400);
    assert_true(response.has_captured);
    assert_string_equal(response.captured, "required");
    assert_non_null(strstr(response.error_text, "Two factor"));
    http_pool_free(pool);
    test_server_stop(server);
}

/* Answers /old with a redirect to /new, and /new with the method and body it received. */
static void redirecting(void *ctx, const struct test_request *request, struct test_reply *reply)
{
    char body[256];
    int len;

    (void)ctx;
    if (strcmp(request->target, "/old") == 0) {
        test_reply_set(reply, 302, "Location: /new\r\n", "", 0);
        return;
    }
    len = snprintf(body, sizeof(body), "%s %s %s", request->method, request->target,
                   request->body ? request->body : "");
    test_reply_set(reply, 200, NULL, body, (size_t)len);
}

static void test_redirect_keeps_post_and_body(void **state)
{
    struct test_server *server = test_server_start(redirecting, NULL);
    struct http_pool *pool = make_pool(0, 5);
    struct http_buffer buffer;
    struct http_sink sink;
    struct http_response response;

    (void)state;
    http_buffer_init(&buffer, 1024);
    sink = http_buffer_sink(&buffer);
    struct http_request request = {.method = HTTP_POST,
                                   .url = url_of(server, "/old"),
                                   .body = "[\"x\"]",
                                   .body_len = 5,
                                   .sink = &sink};
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_int_equal(response.status, 200);
    assert_string_equal(buffer.data, "POST /new [\"x\"]");
    http_buffer_release(&buffer);
    http_pool_free(pool);
    test_server_stop(server);
}

static void test_bad_urls(void **state)
{
    struct http_pool *pool = make_pool(0, 5);
    struct http_response response;
    struct http_request ftp = {.method = HTTP_GET, .url = "ftp://127.0.0.1/x"};
    struct http_request junk = {.method = HTTP_GET, .url = "not a url"};
    struct http_request none = {.method = HTTP_GET};

    (void)state;
    assert_int_equal(http_pool_perform(pool, &ftp, &response), SEAF_ERR_INVALID_ARG);
    assert_int_equal(http_pool_perform(pool, &junk, &response), SEAF_ERR_INVALID_ARG);
    assert_int_equal(http_pool_perform(pool, &none, &response), SEAF_ERR_INVALID_ARG);
    http_pool_free(pool);
}

static void test_tls_failure_is_tls_error(void **state)
{
    struct script s = {.statuses = {200}, .count = 1};
    struct test_server *server = test_server_start(scripted, &s);
    struct http_pool *pool = make_pool(2, 5);
    struct http_response response;
    char url[256];

    (void)state;
    /* The test server speaks plain HTTP: the TLS handshake cannot succeed. */
    snprintf(url, sizeof(url), "https://%s/x", test_server_url(server) + strlen("http://"));
    struct http_request request = {.method = HTTP_GET, .url = url, .idempotent = true};
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_ERR_TLS);
    assert_int_equal(response.attempts, 1);
    http_pool_free(pool);
    test_server_stop(server);
}

struct log_capture {
    char text[16384];
    size_t len;
    unsigned warnings;
};

static void capture_log(void *ctx, enum http_log_level level, const char *message)
{
    struct log_capture *c = ctx;
    int n = snprintf(c->text + c->len, sizeof(c->text) - c->len, "%s\n", message);

    if (n > 0 && (size_t)n < sizeof(c->text) - c->len)
        c->len += (size_t)n;
    if (level == HTTP_LOG_WARNING)
        c->warnings++;
}

static void test_debug_log_redacts_credentials(void **state)
{
    struct script s = {.statuses = {200},
                       .count = 1,
                       .extra_headers = "Set-Cookie: session=SECRETCOOKIE\r\n",
                       .body = "ok"};
    struct test_server *server = test_server_start(scripted, &s);
    struct log_capture capture = {.len = 0};
    struct http_pool_options options = {.debug = true, .log = capture_log, .log_ctx = &capture};
    seaf_err err;
    struct http_pool *pool = http_pool_new(&options, &err);
    const char *headers[] = {"Seafile-Repo-Token: SECRETREPOTOKEN",
                             "Authorization: Token SECRETAPITOKEN", "X-SEAFILE-OTP: 123456", NULL};
    struct http_response response;

    (void)state;
    struct http_request request = {.method = HTTP_POST,
                                   .url = url_of(server, "/api2/auth-token/"),
                                   .headers = headers,
                                   .body = "password=SECRETPASSWORD",
                                   .body_len = 23};
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_non_null(strstr(capture.text, "> POST /api2/auth-token/"));
    assert_non_null(strstr(capture.text, "Seafile-Repo-Token: <redacted>"));
    assert_non_null(strstr(capture.text, "Authorization: <redacted>"));
    assert_null(strstr(capture.text, "SECRETREPOTOKEN"));
    assert_null(strstr(capture.text, "SECRETAPITOKEN"));
    assert_null(strstr(capture.text, "SECRETPASSWORD"));
    assert_null(strstr(capture.text, "SECRETCOOKIE"));
    assert_null(strstr(capture.text, "123456"));
    http_pool_free(pool);
    test_server_stop(server);
}

static void test_insecure_option_warns(void **state)
{
    struct log_capture capture = {.len = 0};
    struct http_pool_options options = {
        .insecure_skip_tls_verify = true, .log = capture_log, .log_ctx = &capture};
    seaf_err err;
    struct http_pool *pool = http_pool_new(&options, &err);

    (void)state;
    assert_non_null(pool);
    assert_int_equal(capture.warnings, 1);
    assert_non_null(strstr(capture.text, "DISABLED"));
    http_pool_free(pool);
}

static void test_redact_line(void **state)
{
    char out[128];
    const char *plain = "Content-Type: text/plain\r\n";

    (void)state;
    http_redact_line("authorization: Token abc\r\n", 26, out, sizeof(out));
    assert_string_equal(out, "authorization: <redacted>");
    http_redact_line(plain, strlen(plain), out, sizeof(out));
    assert_string_equal(out, "Content-Type: text/plain");
    http_redact_line("Seafile-Repo-Tokens: x", 22, out, sizeof(out));
    assert_string_equal(out, "Seafile-Repo-Tokens: x"); /* only exact names */
    http_redact_line("X-Seafile-S2FA: k", 17, out, 8);
    assert_string_equal(out, "X-Seafi"); /* truncated, never overflowing */
    /* libcurl's HTTP/2 messages quote the headers it sends. */
    const char *h2 = "h2h3 [authorization: Token c7c9bdccbe007033b1d232dd8fcae2e4a6bdec79]\n";
    http_redact_line(h2, strlen(h2), out, sizeof(out));
    assert_string_equal(out, "h2h3 [authorization: <redacted>]");
    const char *repo = "h2 [seafile-repo-token: 20bda07880e284787a7ee1d9e7fa6d22ae4db6b5]";
    http_redact_line(repo, strlen(repo), out, sizeof(out));
    assert_string_equal(out, "h2 [seafile-repo-token: <redacted>]");
    const char *other = "h2h3 [:path: /api2/repos/]";
    http_redact_line(other, strlen(other), out, sizeof(out));
    assert_string_equal(out, other);
}

static void test_backoff_delay(void **state)
{
    (void)state;
    for (uint64_t r = 0; r < 1000; r += 7) {
        long d1 = http_backoff_delay_ms(1, 100, 5000, r);
        long d3 = http_backoff_delay_ms(3, 100, 5000, r);
        long d20 = http_backoff_delay_ms(20, 100, 5000, r);

        assert_true(d1 >= 50 && d1 <= 100);
        assert_true(d3 >= 200 && d3 <= 400);
        assert_true(d20 >= 2500 && d20 <= 5000);
    }
    /* The jitter actually varies. */
    assert_int_not_equal(http_backoff_delay_ms(4, 100, 5000, 1),
                         http_backoff_delay_ms(4, 100, 5000, 2));
}

static void test_parse_retry_after(void **state)
{
    (void)state;
    assert_int_equal(http_parse_retry_after_s("120"), 120);
    assert_int_equal(http_parse_retry_after_s(" 0 "), 0);
    assert_int_equal(http_parse_retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT"), -1);
    assert_int_equal(http_parse_retry_after_s("-5"), -1);
    assert_int_equal(http_parse_retry_after_s("12abc"), -1);
    assert_int_equal(http_parse_retry_after_s(""), -1);
    assert_int_equal(http_parse_retry_after_s("99999999999999999999999"), 86400);
}

/* A body of len bytes (printable, not repeating with a short period). */
static char *long_body(size_t len)
{
    char *body = malloc(len + 1);
    uint32_t x = 12345;

    assert_non_null(body);
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        body[i] = (char)('A' + (x >> 16) % 26);
    }
    body[len] = '\0';
    return body;
}

/* A sink that is slow now and then (so the queue of a multiplexed transfer fills up and the
 * transfer pauses) and refuses its bytes once it has fail_after of them (0: never). */
struct slow_sink {
    struct http_buffer buffer;
    size_t fail_after;
    unsigned writes;
};

static seaf_err slow_write(void *ctx, const void *data, size_t len)
{
    struct slow_sink *s = ctx;
    struct timespec pause = {.tv_nsec = 20 * 1000 * 1000};

    if (s->writes++ % 4 == 0)
        nanosleep(&pause, NULL);
    if (s->fail_after && s->buffer.len + len > s->fail_after)
        return SEAF_ERR_NOSPACE;
    return http_buffer_sink(&s->buffer).write(&s->buffer, data, len);
}

#define LONG_BODY (3u << 20)

static void test_long_body_into_slow_sink_arrives_whole(void **state)
{
    char *body = long_body(LONG_BODY);
    struct script s = {.statuses = {200}, .count = 1, .body = body};
    struct slow_sink slow = {0};
    struct http_sink sink = {.write = slow_write, .ctx = &slow};
    struct http_response response;
    char expected[SEAF_ID_LEN + 1];

    (void)state;
    http_buffer_init(&slow.buffer, LONG_BODY);
    assert_int_equal(run_get(&s, 0, 5, &sink, &response, NULL), SEAF_OK);
    assert_int_equal(response.status, 200);
    assert_int_equal(response.body_len, LONG_BODY);
    assert_int_equal(slow.buffer.len, LONG_BODY);
    assert_memory_equal(slow.buffer.data, body, LONG_BODY);
    assert_int_equal(seaf_sha1_id(body, LONG_BODY, expected), SEAF_OK);
    assert_string_equal(response.body_id, expected);
    http_buffer_release(&slow.buffer);
    free(body);
}

/* A sink refusing a long body half-way ends the transfer; the pool goes on serving. */
static void test_sink_refusing_a_long_body_ends_it(void **state)
{
    char *body = long_body(LONG_BODY);
    struct script s = {.statuses = {200}, .count = 1, .body = body};
    struct test_server *server = test_server_start(scripted, &s);
    struct http_pool *pool = make_pool(2, 5);
    struct slow_sink slow = {.fail_after = LONG_BODY / 3};
    struct http_sink sink = {.write = slow_write, .ctx = &slow};
    struct http_request request = {
        .method = HTTP_GET, .url = url_of(server, "/x"), .idempotent = true, .sink = &sink};
    struct http_response response;
    struct http_buffer again;
    struct http_sink again_sink;

    (void)state;
    http_buffer_init(&slow.buffer, LONG_BODY);
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_ERR_NOSPACE);
    assert_int_equal(response.attempts, 1);
    assert_true(slow.buffer.len <= LONG_BODY / 3);
    http_buffer_init(&again, LONG_BODY);
    again_sink = http_buffer_sink(&again);
    request.sink = &again_sink;
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_int_equal(again.len, LONG_BODY);
    assert_memory_equal(again.data, body, LONG_BODY);
    http_buffer_release(&again);
    http_buffer_release(&slow.buffer);
    http_pool_free(pool);
    test_server_stop(server);
    free(body);
}

/* Answers "hello" after ctx's delay in milliseconds (a far server, as the link estimate sees it:
 * every wait for a first byte is at least that long). */
static void answer_late(void *ctx, const struct test_request *request, struct test_reply *reply)
{
    (void)request;
    test_reply_set(reply, 200, NULL, "hello", 5);
    reply->delay_ms = *(const unsigned *)ctx;
}

/* GETs /x from server through pool, multiplexed or asking for a connection of its own. */
static void get_on(struct http_pool *pool, struct test_server *server, bool own_connection)
{
    struct http_request request = {.method = HTTP_GET,
                                   .url = url_of(server, "/x"),
                                   .idempotent = true,
                                   .own_connection = own_connection};
    struct http_response response;
    assert_int_equal(http_pool_perform(pool, &request, &response), SEAF_OK);
    assert_int_equal(response.status, 200);
    assert_string_equal(response.body_id, "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
}

/* Connections the server accepted for these requests, one after the other (true: a connection
 * of its own, as block downloads ask), through a pool that multiplexes, from a server answering
 * delay_ms late. */
static unsigned connections_for(unsigned delay_ms, const bool *own, size_t n)
{
    struct test_server *server = test_server_start(answer_late, &delay_ms);
    on_io_thread = true;
    struct http_pool *pool = make_pool(0, 5);
    for (size_t i = 0; i < n; i++)
        get_on(pool, server, own[i]);
    struct http_pool_stats stats;
    http_pool_get_stats(pool, &stats);
    unsigned accepted = test_server_connections(server);
    assert_int_equal(stats.connections_opened, accepted);
    http_pool_free(pool);
    test_server_stop(server);
    on_io_thread = false;
    return accepted;
}

/* Block downloads between multiplexed requests reuse their one connection instead of opening a
 * new one each (a handle that keeps a connection of its own is not used for multiplexed
 * requests: libcurl may close that connection when the handle joins the CURLM). */
static void test_own_connection_survives_multiplexed_requests(void **state)
{
    (void)state;
    const bool own[] = {false, true, false, true, false, true, true};
    assert_int_equal(connections_for(0, own, sizeof(own) / sizeof(own[0])), 2);
}

/* On a far link a block download with no warm connection of its own goes over the multiplexed
 * connection instead of paying for handshakes; on a near one it opens its own. */
static void test_block_on_far_link_is_multiplexed(void **state)
{
    (void)state;
    const bool own[] = {false, true, true};
    assert_int_equal(connections_for(20, own, 3), 1);
    assert_int_equal(connections_for(0, own, 3), 2);
}

static int run_on_calling_thread(void **state)
{
    (void)state;
    on_io_thread = false;
    return 0;
}

static int run_on_io_thread(void **state)
{
    (void)state;
    on_io_thread = true;
    return 0;
}

/* Run once on each path. */
static const struct CMUnitTest transfer_tests[] = {
    cmocka_unit_test(test_get_streams_body_and_hashes_it),
    cmocka_unit_test(test_sink_that_checks_sha1_is_not_hashed),
    cmocka_unit_test(test_request_headers_and_body),
    cmocka_unit_test(test_retries_5xx_until_success),
    cmocka_unit_test(test_retries_are_bounded),
    cmocka_unit_test(test_no_retry_on_final_4xx),
    cmocka_unit_test(test_non_idempotent_not_retried),
    cmocka_unit_test(test_non_idempotent_uses_a_fresh_connection),
    cmocka_unit_test(test_error_body_collected_whole),
    cmocka_unit_test(test_429_honours_retry_after),
    cmocka_unit_test(test_mid_body_reset_is_retried_from_scratch),
    cmocka_unit_test(test_unrestartable_sink_is_not_retried),
    cmocka_unit_test(test_stall_times_out),
    cmocka_unit_test(test_connection_refused),
    cmocka_unit_test(test_sink_error_aborts),
    cmocka_unit_test(test_buffer_limit),
    cmocka_unit_test(test_capture_header),
    cmocka_unit_test(test_redirect_keeps_post_and_body),
    cmocka_unit_test(test_long_body_into_slow_sink_arrives_whole),
    cmocka_unit_test(test_sink_refusing_a_long_body_ends_it),
};

int main(void)
{
    const struct CMUnitTest other_tests[] = {
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_tls_failure_is_tls_error),
        cmocka_unit_test(test_debug_log_redacts_credentials),
        cmocka_unit_test(test_insecure_option_warns),
        cmocka_unit_test(test_redact_line),
        cmocka_unit_test(test_backoff_delay),
        cmocka_unit_test(test_parse_retry_after),
        cmocka_unit_test(test_own_connection_survives_multiplexed_requests),
        cmocka_unit_test(test_block_on_far_link_is_multiplexed),
    };
    int failed = cmocka_run_group_tests_name("transfers on the calling thread", transfer_tests,
                                             run_on_calling_thread, NULL);

    failed += cmocka_run_group_tests_name("transfers on the I/O thread", transfer_tests,
                                          run_on_io_thread, NULL);
    return failed + cmocka_run_group_tests_name("the rest", other_tests, NULL, NULL);
}
