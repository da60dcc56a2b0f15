/* Concurrency test of net/http_pool (run under TSan too): many threads share one pool; every
 * request succeeds with its own body, and the server never sees more connections than the
 * per-host bound, however many requests are made -- with transfers on the calling threads, and
 * through the I/O thread (http_multi: bodies handed back to the callers). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "http_pool.h"
#include "http_test_server.h"

#define THREADS             8
#define REQUESTS_PER_THREAD 25
#define MAX_PER_HOST        3

/* Answers /n/<k> with body "body-<k>", and every 7th request with a 503 first. */
static void echo_handler(void *ctx, const struct test_request *request, struct test_reply *reply)
{
    char body[64];
    int len = snprintf(body, sizeof(body), "body-%s", request->target + 3);

    (void)ctx;
    if (request->index % 7 == 3) {
        test_reply_set(reply, 503, NULL, "", 0);
        return;
    }
    test_reply_set(reply, 200, NULL, body, (size_t)len);
}

struct worker {
    struct http_pool *pool;
    const char *base;
    int id;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
        char url[256];
        char expected[64];
        struct http_buffer buffer;
        struct http_sink sink;
        struct http_response response;
        int k = w->id * 1000 + i;

        snprintf(url, sizeof(url), "%s/n/%d", w->base, k);
        snprintf(expected, sizeof(expected), "body-%d", k);
        http_buffer_init(&buffer, 256);
        sink = http_buffer_sink(&buffer);
        struct http_request request = {
            .method = HTTP_GET, .url = url, .idempotent = true, .sink = &sink};
        if (http_pool_perform(w->pool, &request, &response) != SEAF_OK || response.status != 200 ||
            !buffer.data || strcmp(buffer.data, expected) != 0)
            w->failures++;
        http_buffer_release(&buffer);
    }
    return NULL;
}

static void run_threads_share_bounded_connections(bool on_io_threads)
{
    struct test_server *server = test_server_start(echo_handler, NULL);
    struct http_pool_options options = {.max_connections_per_host = MAX_PER_HOST,
                                        .retry_base_ms = 5,
                                        .http_on_io_thread = on_io_threads};
    seaf_err err;
    struct http_pool *pool = http_pool_new(&options, &err);
    pthread_t threads[THREADS];
    struct worker workers[THREADS];
    struct http_pool_stats stats;

    assert_non_null(pool);
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (struct worker){.pool = pool, .base = test_server_url(server), .id = i};
        assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    http_pool_get_stats(pool, &stats);
    assert_int_equal(stats.requests, THREADS * REQUESTS_PER_THREAD);
    assert_true(stats.retries > 0);
    assert_true(test_server_connections(server) <= MAX_PER_HOST);
    assert_true(stats.connections_opened <= MAX_PER_HOST);
    http_pool_free(pool);
    test_server_stop(server);
}

static void test_threads_share_bounded_connections(void **state)
{
    (void)state;
    run_threads_share_bounded_connections(false);
}

static void test_io_thread_shares_bounded_connections(void **state)
{
    (void)state;
    run_threads_share_bounded_connections(true);
}

/* /slow: 429 with Retry-After: 1 the first time, then 200; anything else: 200 at once. */
static void slow_then_ok(void *ctx, const struct test_request *request, struct test_reply *reply)
{
    int *slow_seen = ctx;

    if (strcmp(request->target, "/slow") == 0 && (*slow_seen)++ == 0) {
        test_reply_set(reply, 429, "Retry-After: 1\r\n", "", 0);
        return;
    }
    test_reply_set(reply, 200, NULL, "ok", 2);
}

struct timed_get {
    struct http_pool *pool;
    char url[256];
    atomic_int *finished; /* completion counter shared by the requests */
    int rank;             /* 1 if this request finished first */
};

static void *timed_get_main(void *arg)
{
    struct timed_get *g = arg;
    struct http_response response;
    struct http_request request = {.method = HTTP_GET, .url = g->url, .idempotent = true};

    if (http_pool_perform(g->pool, &request, &response) == SEAF_OK && response.status == 200)
        g->rank = atomic_fetch_add(g->finished, 1) + 1;
    return NULL;
}

/* With one connection per host, a request waiting out a Retry-After must not hold the slot. */
static void test_backoff_frees_the_connection_slot(void **state)
{
    int slow_seen = 0;
    struct test_server *server = test_server_start(slow_then_ok, &slow_seen);
    struct http_pool_options options = {.max_connections_per_host = 1};
    seaf_err err;
    struct http_pool *pool = http_pool_new(&options, &err);
    atomic_int finished;
    struct timed_get slow = {.pool = pool, .finished = &finished};
    struct timed_get fast = {.pool = pool, .finished = &finished};
    pthread_t slow_thread;
    pthread_t fast_thread;

    (void)state;
    atomic_init(&finished, 0);
    snprintf(slow.url, sizeof(slow.url), "%s/slow", test_server_url(server));
    snprintf(fast.url, sizeof(fast.url), "%s/fast", test_server_url(server));
    assert_int_equal(pthread_create(&slow_thread, NULL, timed_get_main, &slow), 0);
    while (test_server_connections(server) == 0)
        usleep(1000);
    usleep(100 * 1000); /* the slow request is now (almost surely) in its backoff */
    assert_int_equal(pthread_create(&fast_thread, NULL, timed_get_main, &fast), 0);
    pthread_join(fast_thread, NULL);
    pthread_join(slow_thread, NULL);
    assert_int_equal(fast.rank, 1);
    assert_int_equal(slow.rank, 2);
    http_pool_free(pool);
    test_server_stop(server);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_share_bounded_connections),
        cmocka_unit_test(test_io_thread_shares_bounded_connections),
        cmocka_unit_test(test_backoff_frees_the_connection_slot),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
