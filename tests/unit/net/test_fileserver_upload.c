/* Unit tests of fileserver_upload against the scripted local HTTP server: the exact requests
 * (method, path with its trailing slash, token headers, Content-Type, body bytes: check-fs
 * batches of 1000, recv-fs framing and its 1 MiB cut), how every status is mapped (real-server
 * answers replayed from the vectors where they exist), that check-fs/check-blocks refuse answers
 * naming ids that were not asked, that nothing is sent for bad arguments, and that update-branch
 * goes out exactly once even on 500 or a connection that dies without an answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fileserver_upload.h"
#include "http_test_server.h"
#include "seaf_client.h"
#include "seaf_sha1.h"

#define VEC         SEAFS_VECTORS_DIR
#define REPO        "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46"
#define TOKEN       "dbd96be7aff0b375e11a68f8666840dbdff31326"
#define COMMIT      "6f7470e14131c4b5a0c64baebc0ac10489f81338"
#define PREFIX      "/seafhttp/repo/" REPO
#define HELLO_FILE  "a2223a08dae418d78cd1070b674325969cfbef75"
#define HELLO_BLOCK "22596363b3de40b06f981fb85d82312e8c0ed511"

/* How the fake file server answers. */
struct fake {
    int status;               /* answer to everything but check-*: 0 = 200 with an empty body */
    const char *body;         /* its body (NUL-terminated) */
    const char *vector;       /* non-NULL: replay this captured response file instead */
    bool hang_up;             /* close the connection without an answer */
    const char *check_answer; /* non-NULL: the check-* answer; else every second asked id */
};

struct env {
    struct fake fake;
    struct test_server *server;
    struct http_pool *pool;
    struct seaf_client *client;
};

/* The ids of a check-* request body, as JSON. */
static void answer_check(struct fake *fake, const struct test_request *request,
                         struct test_reply *reply)
{
    json_t *asked = json_loadb(request->body, request->body_len, 0, NULL);
    json_t *answer = json_array();
    size_t index;
    json_t *item;
    char *text;

    assert_non_null(asked);
    json_array_foreach(asked, index, item)
    {
        if (index % 2 == 1)
            json_array_append(answer, item);
    }
    /* The C server answers compact JSON. */
    text = fake->check_answer ? strdup(fake->check_answer) : json_dumps(answer, JSON_COMPACT);
    test_reply_set(reply, 200, "Content-Type: text/plain\r\n", text, strlen(text));
    free(text);
    json_decref(answer);
    json_decref(asked);
}

static void handler(void *ctx, const struct test_request *request, struct test_reply *reply)
{
    struct fake *fake = ctx;
    char path[512];

    if (fake->hang_up) {
        reply->close_connection = true; /* raw stays empty: the connection just closes */
        return;
    }
    if (strcmp(request->method, "POST") == 0 &&
        (strstr(request->target, "/check-fs/") || strstr(request->target, "/check-blocks/"))) {
        answer_check(fake, request, reply);
        return;
    }
    if (fake->vector) {
        snprintf(path, sizeof(path), "%s/%s", VEC, fake->vector);
        assert_true(test_reply_from_file(reply, path));
        return;
    }
    test_reply_set(reply, fake->status ? fake->status : 200, NULL, fake->body ? fake->body : "",
                   fake->body ? strlen(fake->body) : 0);
}

static int env_setup(void **state)
{
    struct env *env = calloc(1, sizeof(*env));
    struct http_pool_options options = {.retry_base_ms = 5, .retry_set = true, .max_retries = 1};
    char url[256];
    seaf_err err;

    env->server = test_server_start(handler, &env->fake);
    env->pool = http_pool_new(&options, &err);
    snprintf(url, sizeof(url), "%s/seafhttp", test_server_url(env->server));
    struct seaf_client_options client_options = {.server_url = test_server_url(env->server),
                                                 .username = "user@example.com",
                                                 .fileserver_url = url};
    assert_int_equal(seaf_client_new(&client_options, env->pool, &env->client), SEAF_OK);
    assert_int_equal(seaf_client_set_repo_token(env->client, REPO, TOKEN), SEAF_OK);
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

/* Request number index; fails the test when there is none. */
static struct test_request seen(struct env *env, unsigned index)
{
    struct test_request request;

    if (!test_server_request(env->server, index, &request))
        fail_msg("request %u was not sent", index);
    return request;
}

/* Checks method, target and the token headers of request number index. */
static struct test_request expect_request(struct env *env, unsigned index, const char *method,
                                          const char *target)
{
    struct test_request request = seen(env, index);

    assert_string_equal(request.method, method);
    assert_string_equal(request.target, target);
    assert_non_null(strstr(request.headers, "Seafile-Repo-Token: " TOKEN "\r\n"));
    assert_non_null(strstr(request.headers, "Authorization: Token " TOKEN "\r\n"));
    return request;
}

/* ---- quota-check ------------------------------------------------------------------------- */

static void test_quota_check(void **state)
{
    struct env *env = *state;

    assert_int_equal(fileserver_quota_check(env->client, REPO, 1000), SEAF_OK);
    expect_request(env, 0, "GET", PREFIX "/quota-check/?delta=1000");
    assert_int_equal(fileserver_quota_check(env->client, REPO, -123), SEAF_OK);
    expect_request(env, 1, "GET", PREFIX "/quota-check/?delta=-123");
    env->fake.vector = "http/quota-check-over.http"; /* the real server's 443 */
    assert_int_equal(fileserver_quota_check(env->client, REPO, 1), SEAF_ERR_QUOTA);
    env->fake.vector = NULL;
    env->fake.status = 403;
    assert_int_equal(fileserver_quota_check(env->client, REPO, 1), SEAF_ERR_PERMISSION);
    env->fake.status = 400;
    env->fake.body = "Invalid delta parameter.\n";
    assert_int_equal(fileserver_quota_check(env->client, REPO, 1), SEAF_ERR_PROTOCOL);
    assert_int_equal(test_server_request_count(env->server), 5);
    assert_int_equal(fileserver_quota_check(env->client, "not-a-repo", 1), SEAF_ERR_INVALID_ARG);
    assert_int_equal(test_server_request_count(env->server), 5);
}

/* ---- PUT commit -------------------------------------------------------------------------- */

static void test_put_commit(void **state)
{
    struct env *env = *state;
    size_t len;
    char *json = test_read_body(VEC "/client-trace/0058-PUT-seafhttp_repo_c8d1b0af-b71e-4f9c-"
                                    "8c07-9aa91e318d46_commit_6f7470e14131c4b5a0c64b.req",
                                &len);
    struct test_request request;

    assert_non_null(json);
    assert_int_equal(fileserver_put_commit(env->client, REPO, COMMIT, json, len), SEAF_OK);
    request = expect_request(env, 0, "PUT", PREFIX "/commit/" COMMIT);
    assert_non_null(strstr(request.headers, "Content-Type: application/octet-stream\r\n"));
    assert_non_null(strstr(request.headers, "Content-Length: 815\r\n"));
    assert_int_equal(request.body_len, len);
    assert_memory_equal(request.body, json, len);
    /* The server's answers to a refused commit (merge/ errors: bad JSON, wrong library). */
    env->fake.vector = "merge/http-errors/0015-PUT-put-commit-wrong-repo.resp";
    assert_int_equal(fileserver_put_commit(env->client, REPO, COMMIT, json, len),
                     SEAF_ERR_PROTOCOL);
    env->fake.vector = NULL;
    env->fake.status = 403;
    assert_int_equal(fileserver_put_commit(env->client, REPO, COMMIT, json, len),
                     SEAF_ERR_PERMISSION);
    assert_int_equal(test_server_request_count(env->server), 3);
    /* The URL id, the JSON's id and library must agree; nothing is sent otherwise. */
    assert_int_equal(fileserver_put_commit(env->client, REPO,
                                           "b5e08e065307b959cda507e4846f304c22a94f6f", json, len),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(fileserver_put_commit(env->client, "4c6dbc45-4aca-4e1f-8872-7831fe3e73ee",
                                           COMMIT, json, len),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(fileserver_put_commit(env->client, REPO, COMMIT, "{}", 2),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(fileserver_put_commit(env->client, REPO, COMMIT, json, 0),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(test_server_request_count(env->server), 3);
    free(json);
}

/* ---- check-fs / check-blocks ------------------------------------------------------------- */

static void make_id(unsigned n, char out[SEAF_ID_LEN + 1])
{
    char text[32];

    snprintf(text, sizeof(text), "id %u", n);
    assert_int_equal(seaf_sha1_id(text, strlen(text), out), SEAF_OK);
}

static void test_check_fs_batches_of_1000(void **state)
{
    struct env *env = *state;
    enum { DISTINCT = 2500 };
    static char ids[DISTINCT][SEAF_ID_LEN + 1];
    const char *list[DISTINCT + 600];
    size_t n = 0;
    char(*needed)[SEAF_ID_LEN + 1] = NULL;
    size_t n_needed = 0;

    for (unsigned i = 0; i < DISTINCT; i++) {
        make_id(i, ids[i]);
        list[n++] = ids[i];
        if (i % 10 == 0) { /* repeats and empty ids are never sent */
            list[n++] = ids[i / 2];
            list[n++] = SEAF_EMPTY_ID;
        }
    }
    assert_int_equal(fileserver_check_fs(env->client, REPO, list, n, &needed, &n_needed), SEAF_OK);
    assert_int_equal(test_server_request_count(env->server), 3);
    size_t sent = 0;
    for (unsigned r = 0; r < 3; r++) {
        struct test_request request = expect_request(env, r, "POST", PREFIX "/check-fs/");
        json_t *body = json_loadb(request.body, request.body_len, 0, NULL);
        size_t index;
        json_t *item;

        assert_non_null(strstr(request.headers, "Content-Type: application/json\r\n"));
        assert_int_equal(json_array_size(body), r < 2 ? 1000 : 500);
        json_array_foreach(body, index, item)
        {
            assert_string_equal(json_string_value(item), ids[sent + index]);
        }
        /* jansson's list form, as SeaDrive sends it: ["a", "b"] */
        assert_memory_equal(request.body, "[\"", 2);
        assert_memory_equal(request.body + 42, "\", \"", 4);
        assert_memory_equal(request.body + request.body_len - 2, "\"]", 2);
        assert_int_equal(request.body_len,
                         2 + json_array_size(body) * 42 + (json_array_size(body) - 1) * 2);
        sent += json_array_size(body);
        json_decref(body);
    }
    assert_int_equal(sent, DISTINCT);
    /* The answer named every second id of each batch: those, in the order given. */
    assert_int_equal(n_needed, DISTINCT / 2);
    for (size_t i = 0; i < n_needed; i++)
        assert_string_equal(needed[i], ids[2 * i + 1]);
    free(needed);
}

static void test_check_blocks_request(void **state)
{
    struct env *env = *state;
    size_t len;
    char *trace = test_read_body(VEC "/client-trace/0061-POST-seafhttp_repo_c8d1b0af-b71e-4f9c-"
                                     "8c07-9aa91e318d46_check-blocks.req",
                                 &len);
    const char *one[] = {"65d28f96d7762acbd8da30b9bcda1db665ad4ecc"};
    char(*needed)[SEAF_ID_LEN + 1] = (void *)1;
    size_t n_needed = 7;

    /* The official client's body, byte for byte. */
    assert_non_null(trace);
    env->fake.check_answer = "[\"65d28f96d7762acbd8da30b9bcda1db665ad4ecc\"]";
    assert_int_equal(fileserver_check_blocks(env->client, REPO, one, 1, &needed, &n_needed),
                     SEAF_OK);
    struct test_request request = expect_request(env, 0, "POST", PREFIX "/check-blocks/");
    assert_int_equal(request.body_len, len);
    assert_memory_equal(request.body, trace, len);
    assert_int_equal(n_needed, 1);
    assert_string_equal(needed[0], one[0]);
    free(needed);
    /* Nothing needed: no array. */
    env->fake.check_answer = "[]";
    assert_int_equal(fileserver_check_blocks(env->client, REPO, one, 1, &needed, &n_needed),
                     SEAF_OK);
    assert_null(needed);
    assert_int_equal(n_needed, 0);
    /* Nothing to ask: no request. */
    const char *empty[] = {SEAF_EMPTY_ID, SEAF_EMPTY_ID};
    assert_int_equal(fileserver_check_blocks(env->client, REPO, empty, 2, &needed, &n_needed),
                     SEAF_OK);
    assert_int_equal(fileserver_check_fs(env->client, REPO, NULL, 0, &needed, &n_needed), SEAF_OK);
    assert_null(needed);
    assert_int_equal(test_server_request_count(env->server), 2);
    free(trace);
}

static void test_check_answers_are_verified(void **state)
{
    struct env *env = *state;
    const char *asked[] = {HELLO_FILE, HELLO_BLOCK};
    const char *bad[] = {HELLO_FILE, "A2223A08DAE418D78CD1070B674325969CFBEF75"};
    char(*needed)[SEAF_ID_LEN + 1] = NULL;
    size_t n_needed = 0;
    static const struct {
        const char *answer;
        seaf_err want;
    } cases[] = {
        {"[\"" HELLO_FILE "\", \"ffffffffffffffffffffffffffffffffffffffff\"]", SEAF_ERR_PROTOCOL},
        {"[\"" HELLO_BLOCK "\",\"" HELLO_BLOCK "\"]", SEAF_ERR_PROTOCOL}, /* named twice */
        {"[\"not an id\"]", SEAF_ERR_PROTOCOL},
        {"[\"" SEAF_EMPTY_ID "\"]", SEAF_ERR_PROTOCOL},
        {"[1]", SEAF_ERR_MALFORMED},
        {"{}", SEAF_ERR_MALFORMED},
        {"", SEAF_ERR_MALFORMED},
        {"[\"" HELLO_BLOCK "\",\"" HELLO_FILE "\"]", SEAF_OK},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        env->fake.check_answer = cases[i].answer;
        assert_int_equal(fileserver_check_fs(env->client, REPO, asked, 2, &needed, &n_needed),
                         cases[i].want);
        if (cases[i].want != SEAF_OK) {
            assert_null(needed);
            assert_int_equal(n_needed, 0);
        }
    }
    /* In the order asked, not the order answered. */
    assert_int_equal(n_needed, 2);
    assert_string_equal(needed[0], HELLO_FILE);
    assert_string_equal(needed[1], HELLO_BLOCK);
    free(needed);
    unsigned before = test_server_request_count(env->server);
    assert_int_equal(fileserver_check_blocks(env->client, REPO, bad, 2, &needed, &n_needed),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(test_server_request_count(env->server), before);
}

/* ---- recv-fs ----------------------------------------------------------------------------- */

static void test_recv_fs_framing(void **state)
{
    struct env *env = *state;
    /* The doc's file object (§4.6): 44-byte header, then its 95 zlib bytes. */
    static const char zlib_hex[] =
        "789cab564acac94fce8ecf4c2956b2528856323232b5343336334e324e4935314832304bb3b4304c4bb2304d"
        "b1303236344ab54836484d313534548ad551502aceac4a05ea323402b24b2a0bc06c20b32cb5a838333f0fc4"
        "ab05001b5c1aa2";
    unsigned char zlib_data[95];
    unsigned char header[44];
    struct fileserver_fs_record records[2] = {
        {.id = HELLO_FILE, .data = zlib_data, .len = sizeof(zlib_data)},
        {.id = HELLO_BLOCK, .data = "xyz", .len = 3},
    };

    assert_true(seaf_hex_decode(zlib_hex, 190, zlib_data, sizeof(zlib_data)));
    assert_true(seaf_hex_decode("6132323233613038646165343138643738636431303730623637343332353936"
                                "3963666265663735"
                                "0000005f",
                                88, header, sizeof(header)));
    assert_int_equal(fileserver_recv_fs(env->client, REPO, records, 2), SEAF_OK);
    struct test_request request = expect_request(env, 0, "POST", PREFIX "/recv-fs/");
    assert_int_equal(request.body_len, 44 + 95 + 44 + 3);
    assert_memory_equal(request.body, header, 44);
    assert_memory_equal(request.body + 44, zlib_data, 95);
    assert_memory_equal(request.body + 139, HELLO_BLOCK "\0\0\0\3xyz", 47);
    assert_non_null(strstr(request.headers, "Content-Type: application/octet-stream\r\n"));
    /* Refused before anything is sent: an empty object, the empty id, a bad id. */
    records[1].len = 0;
    assert_int_equal(fileserver_recv_fs(env->client, REPO, records, 2), SEAF_ERR_INVALID_ARG);
    records[1].len = 3;
    records[1].id = SEAF_EMPTY_ID;
    assert_int_equal(fileserver_recv_fs(env->client, REPO, records, 2), SEAF_ERR_INVALID_ARG);
    records[1].id = "22596363B3DE40B06F981FB85D82312E8C0ED511";
    assert_int_equal(fileserver_recv_fs(env->client, REPO, records, 2), SEAF_ERR_INVALID_ARG);
    assert_int_equal(fileserver_recv_fs(env->client, REPO, records, 0), SEAF_OK);
    assert_int_equal(test_server_request_count(env->server), 1);
    /* The real server's refusal of a broken body (merge/ errors: id not hex). */
    records[1].id = HELLO_BLOCK;
    env->fake.vector = "merge/http-errors/0019-POST-recv-fs-bad-id.resp";
    assert_int_equal(fileserver_recv_fs(env->client, REPO, records, 2), SEAF_ERR_PROTOCOL);
}

/* Sends n records of size bytes each and checks the cut: every request but the last reached
 * 1 MiB with its last record and was below it before; the bodies together are all records. */
static void check_cut(struct env *env, size_t n, size_t size, unsigned want_requests)
{
    struct fileserver_fs_record *records = calloc(n, sizeof(*records));
    char(*ids)[SEAF_ID_LEN + 1] = calloc(n, sizeof(*ids));
    unsigned char *data = malloc(size);
    size_t next = 0;
    unsigned first = test_server_request_count(env->server);

    for (size_t i = 0; i < size; i++)
        data[i] = (unsigned char)(i * 7);
    for (size_t i = 0; i < n; i++) {
        make_id((unsigned)i, ids[i]);
        records[i] = (struct fileserver_fs_record){.id = ids[i], .data = data, .len = size};
    }
    assert_int_equal(fileserver_recv_fs(env->client, REPO, records, n), SEAF_OK);
    assert_int_equal(test_server_request_count(env->server) - first, want_requests);
    for (unsigned r = first; r < test_server_request_count(env->server); r++) {
        struct test_request request = expect_request(env, r, "POST", PREFIX "/recv-fs/");
        size_t count = request.body_len / (44 + size);

        assert_int_equal(request.body_len % (44 + size), 0);
        if (r + 1 < test_server_request_count(env->server)) {
            assert_true(request.body_len >= FILESERVER_RECV_FS_PACK_SIZE);
            assert_true(request.body_len - (44 + size) < FILESERVER_RECV_FS_PACK_SIZE);
        }
        for (size_t k = 0; k < count; k++) {
            const char *record = request.body + k * (44 + size);
            assert_memory_equal(record, ids[next], SEAF_ID_LEN);
            assert_int_equal(((unsigned char)record[40] << 24 | (unsigned char)record[41] << 16 |
                              (unsigned char)record[42] << 8 | (unsigned char)record[43]),
                             size);
            assert_memory_equal(record + 44, data, size);
            next++;
        }
    }
    assert_int_equal(next, n);
    free(records);
    free(ids);
    free(data);
}

static void test_recv_fs_cut_at_1mib(void **state)
{
    struct env *env = *state;

    /* 300,044-byte records: the 4th makes 1,200,176 >= 1 MiB. */
    check_cut(env, 8, 300000, 2);
    check_cut(env, 9, 300000, 3);
    /* 1044-byte records: 1005 of them first reach 1 MiB (1,049,220 bytes). */
    check_cut(env, 2010, 1000, 2);
    check_cut(env, 1004, 1000, 1);
    /* An object larger than the pack size goes alone. */
    check_cut(env, 3, 2 * 1024 * 1024, 3);
}

/* ---- blocks ------------------------------------------------------------------------------ */

static void test_put_block(void **state)
{
    struct env *env = *state;
    static const char content[] = "hello world\n";

    assert_int_equal(fileserver_put_block(env->client, REPO, HELLO_BLOCK, content, 12), SEAF_OK);
    struct test_request request = expect_request(env, 0, "PUT", PREFIX "/block/" HELLO_BLOCK);
    assert_int_equal(request.body_len, 12);
    assert_memory_equal(request.body, content, 12);
    assert_null(strstr(request.headers, "Content-Type"));
    /* The server's answer to an empty block (merge/ errors) never happens: refused here. */
    assert_int_equal(fileserver_put_block(env->client, REPO, HELLO_BLOCK, content, 0),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(fileserver_put_block(env->client, REPO, SEAF_EMPTY_ID, content, 12),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(fileserver_put_block(env->client, REPO, HELLO_FILE, content, 12),
                     SEAF_ERR_ID_MISMATCH);
    assert_int_equal(test_server_request_count(env->server), 1);
    /* Idempotent: a 500 is retried (the pool allows one retry here). */
    env->fake.status = 500;
    assert_int_equal(fileserver_put_block(env->client, REPO, HELLO_BLOCK, content, 12),
                     SEAF_ERR_SERVER);
    assert_int_equal(test_server_request_count(env->server), 3);
    env->fake.status = 403;
    assert_int_equal(fileserver_put_block(env->client, REPO, HELLO_BLOCK, content, 12),
                     SEAF_ERR_PERMISSION);
}

struct uploader {
    struct env *env;
    int thread;
    seaf_err err;
};

static void *upload_blocks(void *arg)
{
    struct uploader *u = arg;

    for (int i = 0; i < 20 && u->err == SEAF_OK; i++) {
        char block[64];
        char id[SEAF_ID_LEN + 1];
        int len = snprintf(block, sizeof(block), "block %d of thread %d", i, u->thread);

        seaf_sha1_id(block, (size_t)len, id);
        u->err = fileserver_put_block(u->env->client, REPO, id, block, (size_t)len);
    }
    return NULL;
}

static void test_put_block_from_threads(void **state)
{
    struct env *env = *state;
    pthread_t threads[4];
    struct uploader uploaders[4];

    for (int t = 0; t < 4; t++) {
        uploaders[t] = (struct uploader){.env = env, .thread = t};
        pthread_create(&threads[t], NULL, upload_blocks, &uploaders[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        assert_int_equal(uploaders[t].err, SEAF_OK);
    }
    assert_int_equal(test_server_request_count(env->server), 80);
}

/* ---- update-branch ----------------------------------------------------------------------- */

static void test_update_branch_request(void **state)
{
    struct env *env = *state;
    struct fileserver_update_result result;

    assert_int_equal(fileserver_update_branch(env->client, REPO, COMMIT, &result), SEAF_OK);
    assert_int_equal(result.status, 200);
    assert_false(result.gc_conflict);
    assert_string_equal(result.message, "");
    assert_int_equal(result.n_missing, 0);
    fileserver_update_result_release(&result);
    struct test_request request =
        expect_request(env, 0, "PUT", PREFIX "/commit/HEAD/?head=" COMMIT);
    assert_int_equal(request.body_len, 0);
    assert_non_null(strstr(request.headers, "Content-Length: 0\r\n"));
    /* Bad arguments: nothing sent. */
    assert_int_equal(fileserver_update_branch(env->client, REPO, SEAF_EMPTY_ID, &result),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(fileserver_update_branch(env->client, REPO,
                                              "6F7470E14131C4B5A0C64BAEBC0AC10489F81338", &result),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(test_server_request_count(env->server), 1);
    fileserver_update_result_release(&result);
}

static void test_update_branch_statuses(void **state)
{
    struct env *env = *state;
    static const struct {
        const char *vector; /* a real server's answer, or NULL for status/body */
        int status;
        const char *body;
        seaf_err want;
        bool gc;
        const char *message;
    } cases[] = {
        {"merge/http-errors/0001-PUT-ub-unknown-head.resp", 0, NULL, SEAF_ERR_SERVER, false, ""},
        {"merge/http-errors/0012-PUT-ub-unknown-parent.resp", 0, NULL, SEAF_ERR_PROTOCOL, false,
         ""},
        {"merge/http-errors/0136-PUT-ro-ub-unknown-head.resp", 0, NULL, SEAF_ERR_PERMISSION, false,
         ""},
        {NULL, 443, "", SEAF_ERR_QUOTA, false, ""},
        {NULL, 403, "File a/b.docx is locked", SEAF_ERR_PERMISSION, false,
         "File a/b.docx is locked"},
        {NULL, 444, "", SEAF_ERR_REPO_GONE, false, ""},
        {NULL, 445, "", SEAF_ERR_REPO_GONE, false, ""},
        {NULL, 409, "GC Conflict.", SEAF_ERR_SERVER, true, "GC Conflict."},
        {NULL, 400, "", SEAF_ERR_PROTOCOL, false, ""},
        {NULL, 404, "", SEAF_ERR_PROTOCOL, false, ""},
        {NULL, 503, "", SEAF_ERR_SERVER, false, ""},
        {NULL, 401, "", SEAF_ERR_AUTH, false, ""},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct fileserver_update_result result;
        unsigned before = test_server_request_count(env->server);

        env->fake.vector = cases[i].vector;
        env->fake.status = cases[i].status;
        env->fake.body = cases[i].body;
        assert_int_equal(fileserver_update_branch(env->client, REPO, COMMIT, &result),
                         cases[i].want);
        assert_int_equal(test_server_request_count(env->server), before + 1); /* never retried */
        assert_int_equal(result.gc_conflict, cases[i].gc);
        assert_string_equal(result.message, cases[i].message);
        assert_int_equal(result.n_missing, 0);
        assert_true(result.status >= 400);
        fileserver_update_result_release(&result);
    }
}

static void test_update_branch_missing_blocks(void **state)
{
    struct env *env = *state;
    struct fileserver_update_result result;

    /* The real server's 446 with the base names of the files whose blocks are missing. */
    env->fake.vector = "merge/http-errors/0010-PUT-ub-missing-block.resp";
    assert_int_equal(fileserver_update_branch(env->client, REPO, COMMIT, &result),
                     SEAF_ERR_NOT_FOUND);
    assert_int_equal(result.status, 446);
    assert_int_equal(result.n_missing, 2);
    assert_string_equal(result.missing[0], "missing-block2.txt");
    assert_string_equal(result.missing[1], "missing-block.txt");
    fileserver_update_result_release(&result);
    assert_null(result.missing);
    assert_int_equal(result.n_missing, 0);
    /* ... and with an empty body when an fs object is missing. */
    env->fake.vector = "merge/http-errors/0007-PUT-ub-missing-root.resp";
    assert_int_equal(fileserver_update_branch(env->client, REPO, COMMIT, &result),
                     SEAF_ERR_NOT_FOUND);
    assert_int_equal(result.n_missing, 0);
    assert_null(result.missing);
    fileserver_update_result_release(&result);
    /* A long list is read whole (beyond what an error message keeps). */
    env->fake.vector = NULL;
    env->fake.status = 446;
    json_t *names = json_array();
    for (int i = 0; i < 300; i++) {
        char name[64];
        snprintf(name, sizeof(name), "r\xc3\xa9sum\xc3\xa9 \"%d\".txt", i);
        json_array_append_new(names, json_string(name));
    }
    char *body = json_dumps(names, JSON_COMPACT);
    env->fake.body = body;
    assert_int_equal(fileserver_update_branch(env->client, REPO, COMMIT, &result),
                     SEAF_ERR_NOT_FOUND);
    assert_int_equal(result.n_missing, 300);
    assert_string_equal(result.missing[299], "r\xc3\xa9sum\xc3\xa9 \"299\".txt");
    assert_int_equal(strlen(result.message), sizeof(result.message) - 1);
    fileserver_update_result_release(&result);
    /* A body that is not a list of names: no names. */
    env->fake.body = "[\"a\", 3]";
    assert_int_equal(fileserver_update_branch(env->client, REPO, COMMIT, &result),
                     SEAF_ERR_NOT_FOUND);
    assert_int_equal(result.n_missing, 0);
    fileserver_update_result_release(&result);
    free(body);
    json_decref(names);
}

static void test_update_branch_sent_once_on_dead_connection(void **state)
{
    struct env *env = *state;
    struct fileserver_update_result result;

    /* A kept-alive connection first, as in a real upload (PUT block before update-branch). */
    assert_int_equal(fileserver_quota_check(env->client, REPO, 1), SEAF_OK);
    assert_int_equal(fileserver_quota_check(env->client, REPO, 1), SEAF_OK);
    assert_int_equal(test_server_connections(env->server), 1);
    /* The server takes the request and closes without an answer: the head may have moved, so
     * the request must not go out again -- neither by the pool nor by libcurl's own resend on
     * a reused connection. */
    env->fake.hang_up = true;
    assert_int_equal(fileserver_update_branch(env->client, REPO, COMMIT, &result),
                     SEAF_ERR_NETWORK);
    assert_int_equal(result.status, 0);
    fileserver_update_result_release(&result);
    assert_int_equal(test_server_request_count(env->server), 3);
    expect_request(env, 2, "PUT", PREFIX "/commit/HEAD/?head=" COMMIT);
    /* The same failure on an idempotent call is retried, so the count above means something. */
    assert_int_equal(fileserver_quota_check(env->client, REPO, 1), SEAF_ERR_NETWORK);
    assert_true(test_server_request_count(env->server) >= 5);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(test_quota_check),
        T(test_put_commit),
        T(test_check_fs_batches_of_1000),
        T(test_check_blocks_request),
        T(test_check_answers_are_verified),
        T(test_recv_fs_framing),
        T(test_recv_fs_cut_at_1mib),
        T(test_put_block),
        T(test_put_block_from_threads),
        T(test_update_branch_request),
        T(test_update_branch_statuses),
        T(test_update_branch_missing_blocks),
        T(test_update_branch_sent_once_on_dead_connection),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
