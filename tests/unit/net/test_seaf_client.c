/* Unit tests of the Seafile client (seaf_client, seahub_api, fileserver_api) against a local
 * fake server that answers with the captured real-server responses and builds pack-fs answers from
 * the vectors' stored fs objects, with switchable faults: partial pack-fs answers, empty answers, a
 * corrupted block, an OTP-protected login. */
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
#include <sys/stat.h>
#include <unistd.h>

#include "fileserver_api.h"
#include "http_test_server.h"
#include "seaf_client.h"
#include "seaf_sha1.h"
#include "seahub_api.h"

#define VEC          SEAFS_VECTORS_DIR
#define DOCS         "c4910f68-4419-472d-8790-7d453cca13f4"
#define DOCS_HEAD    "549115324a52afbcae8894c85814f1b3723b07c5"
#define DOCS_TOKEN   "e84466d9528185dbaa8b383ec92880e71802c0df"
#define API_TOKEN    "c7c9bdccbe007033b1d232dd8fcae2e4a6bdec79"
#define README_BLOCK "36ec5985dac28bd7c7f60fb66a61b84125080d28"
#define README_FILE  "db74a666bf4468692fca46bd5cdf575a1952fc37"
#define DEVICE_ID    "0123456789abcdef0123456789abcdef01234567"

struct fake {
    unsigned packfs_max_records; /* > 0: answer at most this many records per pack-fs */
    bool packfs_empty;           /* answer pack-fs with 200 and no record */
    bool packfs_corrupt;         /* flip a byte inside the first record's object */
    bool packfs_500;             /* answer 500 with the records anyway, as the C server does */
    bool corrupt_block;
    bool require_otp;
    const char *protocol_version; /* non-NULL: the protocol-version answer's body */
    unsigned packfs_requests;
    unsigned download_infos;
};

/* The body of a captured response file. */
static char *vector_body(const char *name, size_t *len)
{
    char path[512];
    char *body;

    snprintf(path, sizeof(path), "%s/http/%s", VEC, name);
    body = test_read_body(path, len);
    assert_non_null(body);
    return body;
}

static void reply_vector(struct test_reply *reply, const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/http/%s", VEC, name);
    assert_true(test_reply_from_file(reply, path));
}

/* A pack-fs answer for the ids requested in body, from the stored objects. */
static void reply_pack_fs(struct fake *fake, const struct test_request *request,
                          struct test_reply *reply)
{
    json_t *ids = json_loadb(request->body, request->body_len, 0, NULL);
    char *out = malloc(8 << 20);
    size_t len = 0;
    size_t index;
    json_t *item;

    fake->packfs_requests++;
    json_array_foreach(ids, index, item)
    {
        const char *id = json_string_value(item);
        char path[512];
        size_t obj_len;
        char *obj;

        if (fake->packfs_empty || (fake->packfs_max_records && index >= fake->packfs_max_records))
            break;
        snprintf(path, sizeof(path), "%s/storage/fs/%s/%.2s/%s", VEC, DOCS, id, id + 2);
        obj = test_read_file(path, &obj_len);
        assert_non_null(obj);
        memcpy(out + len, id, 40);
        out[len + 40] = (char)(obj_len >> 24);
        out[len + 41] = (char)(obj_len >> 16);
        out[len + 42] = (char)(obj_len >> 8);
        out[len + 43] = (char)obj_len;
        memcpy(out + len + 44, obj, obj_len);
        len += 44 + obj_len;
        free(obj);
    }
    json_decref(ids);
    if (fake->packfs_corrupt && len > 60)
        out[60] ^= 0x20;
    test_reply_set(reply, fake->packfs_500 ? 500 : 200, NULL, out, len);
    free(out);
}

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void fake_handler(void *ctx, const struct test_request *request, struct test_reply *reply)
{
    struct fake *fake = ctx;
    const char *t = request->target;

    if (strcmp(t, "/api2/auth-token/") == 0) {
        if (fake->require_otp && !strstr(request->headers, "X-SEAFILE-OTP: 123456\r\n")) {
            static const char body[] =
                "{\"non_field_errors\": [\"Two factor auth token is missing.\"]}";
            test_reply_set(reply, 400, "X-Seafile-OTP: required\r\n", body, sizeof(body) - 1);
            return;
        }
        reply_vector(reply, "shim-auth-token.http");
    } else if (strcmp(t, "/api2/account/info/") == 0) {
        reply_vector(reply, "shim-account-info.http");
    } else if (strcmp(t, "/api2/repos/") == 0) {
        reply_vector(reply, strstr(request->headers, "Token " API_TOKEN) ? "shim-repos.http"
                                                                         : "shim-bad-token.http");
    } else if (strcmp(t, "/api2/repos/" DOCS "/download-info/") == 0) {
        fake->download_infos++;
        reply_vector(reply, "shim-download-info-docs.http");
    } else if (strcmp(t, "/seafhttp/protocol-version") == 0 && fake->protocol_version) {
        test_reply_set(reply, 200, NULL, fake->protocol_version, strlen(fake->protocol_version));
    } else if (strcmp(t, "/seafhttp/protocol-version") == 0) {
        reply_vector(reply, "protocol-version.http");
    } else if (starts(t, "/seafhttp/repo/" DOCS "/permission-check/")) {
        reply_vector(reply, "perm-check-download.http");
    } else if (strcmp(t, "/seafhttp/repo/" DOCS "/commit/HEAD") == 0) {
        reply_vector(reply, "head-commit.http");
    } else if (strcmp(t, "/seafhttp/repo/00000000-0000-0000-0000-000000000000/commit/HEAD") == 0) {
        reply_vector(reply, "err-unknown-repo-head.http");
    } else if (strcmp(t, "/seafhttp/repo/" DOCS "/commit/" DOCS_HEAD) == 0) {
        reply_vector(reply, "commit.http");
    } else if (starts(t, "/seafhttp/repo/" DOCS "/commit/")) {
        reply_vector(reply, "commit-unknown.http");
    } else if (starts(t, "/seafhttp/repo/" DOCS "/fs-id-list/")) {
        reply_vector(reply, "fs-id-list-full.http");
    } else if (strcmp(t, "/seafhttp/repo/" DOCS "/pack-fs/") == 0) {
        reply_pack_fs(fake, request, reply);
    } else if (strcmp(t, "/seafhttp/repo/" DOCS "/block/" README_BLOCK) == 0) {
        reply_vector(reply, "block.http");
        if (fake->corrupt_block)
            reply->raw[reply->raw_len - 1] ^= 1;
    } else if (strcmp(t, "/seafhttp/repo/" DOCS "/block-map/" README_FILE) == 0) {
        reply_vector(reply, "block-map.http");
    } else {
        reply_vector(reply, "err-unknown-path.http");
    }
}

struct env {
    struct fake fake;
    struct test_server *server;
    struct http_pool *pool;
    struct seaf_client *client;
    char token_dir[64];
};

static struct seaf_client *new_client(struct env *env, const char *path_suffix)
{
    char url[256];
    struct seaf_client *client = NULL;

    snprintf(url, sizeof(url), "%s%s", test_server_url(env->server), path_suffix);
    struct seaf_client_options options = {.server_url = url,
                                          .username = "user@example.com",
                                          .device_id = DEVICE_ID,
                                          .device_name = "test box",
                                          .token_dir = env->token_dir};
    assert_int_equal(seaf_client_new(&options, env->pool, &client), SEAF_OK);
    return client;
}

static int env_setup(void **state)
{
    struct env *env = calloc(1, sizeof(*env));
    struct http_pool_options options = {.retry_base_ms = 5, .retry_set = true, .max_retries = 1};
    seaf_err err;

    snprintf(env->token_dir, sizeof(env->token_dir), "/tmp/seafs-client-test-XXXXXX");
    assert_non_null(mkdtemp(env->token_dir));
    env->server = test_server_start(fake_handler, &env->fake);
    env->pool = http_pool_new(&options, &err);
    env->client = new_client(env, "/");
    *state = env;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *env = *state;
    char command[128];

    seaf_client_free(env->client);
    http_pool_free(env->pool);
    test_server_stop(env->server);
    snprintf(command, sizeof(command), "rm -rf '%s'", env->token_dir);
    assert_int_equal(system(command), 0);
    free(env);
    return 0;
}

static void test_login_sends_form_and_stores_token(void **state)
{
    struct env *env = *state;
    struct test_request seen;
    bool otp_required = true;
    struct seaf_client *again;

    assert_int_equal(seaf_client_login(env->client, "s&cret pw", NULL, &otp_required), SEAF_OK);
    assert_false(otp_required);
    assert_true(seaf_client_has_api_token(env->client));
    assert_true(test_server_request(env->server, 0, &seen));
    assert_string_equal(seen.method, "POST");
    assert_non_null(strstr(seen.headers, "Content-Type: application/x-www-form-urlencoded"));
    assert_null(strstr(seen.headers, "X-SEAFILE-OTP"));
    /* A remount finds the stored token and needs no login. */
    again = new_client(env, "");
    assert_false(seaf_client_has_api_token(again));
    assert_int_equal(seaf_client_load_api_token(again), SEAF_OK);
    assert_true(seaf_client_has_api_token(again));
    seaf_client_free(again);
}

static void test_login_form_encoding(void **state)
{
    struct env *env = *state;
    struct test_request seen;

    assert_int_equal(seaf_client_login(env->client, "s&cret pw", NULL, NULL), SEAF_OK);
    assert_true(test_server_request(env->server, 0, &seen));
    assert_non_null(strstr(seen.body, "username=user%40example.com&password=s%26cret%20pw"));
    assert_non_null(strstr(seen.body, "&platform=linux&device_id=" DEVICE_ID
                                      "&device_name=test%20box&client_version="));
}

static void test_login_with_otp(void **state)
{
    struct env *env = *state;
    bool otp_required = false;

    env->fake.require_otp = true;
    assert_int_equal(seaf_client_login(env->client, "secret", NULL, &otp_required), SEAF_ERR_AUTH);
    assert_true(otp_required);
    assert_false(seaf_client_has_api_token(env->client));
    assert_int_equal(seaf_client_login(env->client, "secret", "123456", &otp_required), SEAF_OK);
    assert_false(otp_required);
    assert_true(seaf_client_has_api_token(env->client));
}

static void test_list_repos_every_field(void **state)
{
    struct env *env = *state;
    struct seahub_repo_list list;
    const struct seahub_repo *secret = NULL;
    const struct seahub_repo *shared = NULL;

    assert_int_equal(seaf_client_set_api_token(env->client, API_TOKEN), SEAF_OK);
    assert_int_equal(seahub_list_repos(env->client, &list), SEAF_OK);
    assert_int_equal(list.n_repos, 6);
    for (size_t i = 0; i < list.n_repos; i++) {
        if (strcmp(list.repos[i].name, "Secret") == 0)
            secret = &list.repos[i];
        if (strcmp(list.repos[i].name, "SharedRO") == 0)
            shared = &list.repos[i];
    }
    assert_non_null(secret);
    assert_string_equal(secret->id, "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46");
    assert_string_equal(secret->type, "repo");
    assert_true(secret->encrypted);
    assert_int_equal(secret->enc_version, 2);
    assert_string_equal(secret->magic,
                        "16622225bedc2f2f531ffb80fd4f93e59c27cb99601ad5e5f2943fc237ee282e");
    assert_string_equal(secret->head_commit_id, "6f7470e14131c4b5a0c64baebc0ac10489f81338");
    assert_int_equal(secret->size, 300182);
    assert_int_equal(secret->mtime, 1795939799);
    assert_int_equal(secret->version, 1);
    assert_string_equal(secret->owner_name, "user");
    assert_string_equal(secret->size_formatted, "300.2 KB");
    assert_false(secret->read_only);
    assert_false(secret->is_virtual);
    assert_non_null(shared);
    assert_string_equal(shared->type, "srepo");
    assert_string_equal(shared->permission, "r");
    assert_true(shared->read_only);
    seahub_repo_list_release(&list);
}

static void test_bad_api_token_is_auth_error_and_forgotten(void **state)
{
    struct env *env = *state;
    struct seahub_repo_list list;

    assert_int_equal(
        seaf_client_set_api_token(env->client, "0000000000000000000000000000000000000001"),
        SEAF_OK);
    assert_int_equal(seahub_list_repos(env->client, &list), SEAF_ERR_AUTH);
    assert_false(seaf_client_has_api_token(env->client));
    assert_int_equal(seaf_client_load_api_token(env->client), SEAF_ERR_NOT_FOUND);
    /* Without a token nothing is sent. */
    assert_int_equal(seahub_list_repos(env->client, &list), SEAF_ERR_AUTH);
}

static void test_account_info(void **state)
{
    struct env *env = *state;
    struct seahub_account account;

    assert_int_equal(seaf_client_set_api_token(env->client, API_TOKEN), SEAF_OK);
    assert_int_equal(seahub_account_info(env->client, &account), SEAF_OK);
    assert_string_equal(account.email, "user@example.com");
    assert_int_equal(account.total, -2);
    assert_int_equal(account.usage, 77057272);
    assert_false(account.is_staff);
    seahub_account_release(&account);
}

static void test_repo_token_from_download_info_is_persisted(void **state)
{
    struct env *env = *state;
    char token[SEAF_ID_LEN + 1];
    char path[256];
    struct stat st;
    struct seaf_client *again;

    assert_int_equal(seaf_client_set_api_token(env->client, API_TOKEN), SEAF_OK);
    assert_int_equal(seaf_client_repo_token(env->client, DOCS, token), SEAF_OK);
    assert_string_equal(token, DOCS_TOKEN);
    /* Token files are private. */
    snprintf(path, sizeof(path), "%s", env->token_dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 077, 0);
    /* A new client reads it from the store: no second download-info (which mints a new one). */
    again = new_client(env, "/");
    assert_int_equal(seaf_client_repo_token(again, DOCS, token), SEAF_OK);
    assert_string_equal(token, DOCS_TOKEN);
    seaf_client_free(again);
    assert_int_equal(test_server_connections(env->server) > 0, 1);
    struct test_request seen;
    assert_false(test_server_request(env->server, 1, &seen));
}

static void test_fileserver_reads(void **state)
{
    struct env *env = *state;
    char head[SEAF_ID_LEN + 1];
    char base[256];
    char expected[256];
    struct seaf_commit *commit = NULL;
    struct test_request seen;
    int64_t *sizes = NULL;
    size_t n = 0;
    int version = 0;

    assert_int_equal(seaf_client_set_repo_token(env->client, DOCS, DOCS_TOKEN), SEAF_OK);
    assert_int_equal(seaf_client_fileserver_url(env->client, base, sizeof(base)), SEAF_OK);
    snprintf(expected, sizeof(expected), "%s/seafhttp", test_server_url(env->server));
    assert_string_equal(base, expected);
    assert_int_equal(fileserver_protocol_version(env->client, &version), SEAF_OK);
    assert_int_equal(version, 2);
    assert_int_equal(fileserver_permission_check(env->client, DOCS, false), SEAF_OK);
    assert_true(test_server_request(env->server, 2, &seen));
    assert_non_null(strstr(seen.target, "op=download&client_id=" DEVICE_ID
                                        "&client_name=test%20box&client_ver="));
    assert_non_null(strstr(seen.headers, "Seafile-Repo-Token: " DOCS_TOKEN "\r\n"));
    assert_non_null(strstr(seen.headers, "Authorization: Token " DOCS_TOKEN "\r\n"));
    assert_int_equal(fileserver_head_commit(env->client, DOCS, head), SEAF_OK);
    assert_string_equal(head, DOCS_HEAD);
    assert_int_equal(fileserver_get_commit(env->client, DOCS, head, &commit, NULL, NULL), SEAF_OK);
    assert_string_equal(commit->root_id, "29f5d7d3c161639951aa8037dcccc951133b4677");
    seaf_commit_free(commit);
    assert_int_equal(fileserver_get_commit(env->client, DOCS,
                                           "ffffffffffffffffffffffffffffffffffffffff", &commit,
                                           NULL, NULL),
                     SEAF_ERR_NOT_FOUND);
    assert_int_equal(fileserver_block_map(env->client, DOCS, README_FILE, &sizes, &n), SEAF_OK);
    assert_int_equal(n, 1);
    assert_int_equal(sizes[0], 56);
    free(sizes);
    assert_int_equal(
        seaf_client_set_repo_token(env->client, "00000000-0000-0000-0000-000000000000", DOCS_TOKEN),
        SEAF_OK);
    assert_int_equal(
        fileserver_head_commit(env->client, "00000000-0000-0000-0000-000000000000", head),
        SEAF_ERR_REPO_GONE);
}

/* Discovery only asks whether a file server answers; fileserver_protocol_version also wants a
 * plausible version number. */
static void test_protocol_version_range(void **state)
{
    struct env *env = *state;
    char base[256];
    int version = -1;

    env->fake.protocol_version = "{\"version\": 0}";
    assert_int_equal(seaf_client_fileserver_url(env->client, base, sizeof(base)), SEAF_OK);
    assert_int_equal(fileserver_protocol_version(env->client, &version), SEAF_ERR_MALFORMED);
    assert_int_equal(version, -1);
    env->fake.protocol_version = "{\"version\": \"2\"}";
    assert_int_equal(fileserver_protocol_version(env->client, &version), SEAF_ERR_MALFORMED);
    env->fake.protocol_version = "{\"version\": 3}";
    assert_int_equal(fileserver_protocol_version(env->client, &version), SEAF_OK);
    assert_int_equal(version, 3);
}

/* A buffer too small for the discovered base is refused, and the discovery is kept. */
static void test_fileserver_url_too_small(void **state)
{
    struct env *env = *state;
    char small[8];
    char base[256];
    char expected[256];

    assert_int_equal(seaf_client_fileserver_url(env->client, small, sizeof(small)),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(strlen(small), sizeof(small) - 1); /* truncated, still terminated */
    assert_int_equal(seaf_client_fileserver_url(env->client, base, sizeof(base)), SEAF_OK);
    snprintf(expected, sizeof(expected), "%s/seafhttp", test_server_url(env->server));
    assert_string_equal(base, expected);
    assert_int_equal(seaf_client_fileserver_url(env->client, base, strlen(expected)),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_client_fileserver_url(env->client, base, strlen(expected) + 1), SEAF_OK);
}

static void test_fs_id_list_removes_duplicates(void **state)
{
    struct env *env = *state;
    char(*ids)[SEAF_ID_LEN + 1] = NULL;
    size_t n = 0;

    assert_int_equal(seaf_client_set_repo_token(env->client, DOCS, DOCS_TOKEN), SEAF_OK);
    assert_int_equal(fileserver_fs_id_list(env->client, DOCS, DOCS_HEAD, NULL, false, &ids, &n),
                     SEAF_OK);
    assert_int_equal(n, 206); /* 215 ids in the answer, 9 of them repeated */
    assert_string_equal(ids[0], "afb2e1c11ad555e7423c651d72baec7e2439e5e5"); /* order kept */
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(ids[i], ids[j]);
    free(ids);
}

struct collected {
    char (*ids)[SEAF_ID_LEN + 1];
    size_t n;
    size_t dirs;
};

static seaf_err collect(void *ctx, const char *id, const void *stored, size_t stored_len,
                        const char *json, size_t json_len, struct seaf_fsobj **obj)
{
    struct collected *c = ctx;
    char json_id[SEAF_ID_LEN + 1];

    assert_true(stored_len > 2);
    assert_int_equal(((const unsigned char *)stored)[0], 0x78); /* zlib */
    assert_int_equal(seaf_sha1_id(json, json_len, json_id), SEAF_OK);
    assert_string_equal(json_id, id); /* the inflated JSON is what the id hashes */
    assert_non_null(*obj);
    for (size_t i = 0; i < c->n; i++)
        assert_string_not_equal(c->ids[i], id); /* every object exactly once */
    memcpy(c->ids[c->n++], id, SEAF_ID_LEN + 1);
    c->dirs += (*obj)->type == SEAF_FSOBJ_DIR;
    return SEAF_OK;
}

/* Fetches every fs object of Docs' head; returns the result and the objects collected. */
static seaf_err fetch_all(struct env *env, struct collected *c)
{
    char(*ids)[SEAF_ID_LEN + 1] = NULL;
    const char **list;
    size_t n = 0;
    seaf_err err;

    assert_int_equal(seaf_client_set_repo_token(env->client, DOCS, DOCS_TOKEN), SEAF_OK);
    assert_int_equal(fileserver_fs_id_list(env->client, DOCS, DOCS_HEAD, NULL, false, &ids, &n),
                     SEAF_OK);
    list = malloc(n * sizeof(*list));
    for (size_t i = 0; i < n; i++)
        list[i] = ids[i];
    c->ids = calloc(n, sizeof(*c->ids));
    c->n = 0;
    c->dirs = 0;
    err = fileserver_pack_fs(env->client, DOCS, list, n, collect, c);
    free(list);
    free(ids);
    return err;
}

static void test_pack_fs_everything_verified(void **state)
{
    struct env *env = *state;
    struct collected c;

    assert_int_equal(fetch_all(env, &c), SEAF_OK);
    assert_int_equal(c.n, 206);
    assert_int_equal(c.dirs, 17);                   /* as in fs-id-list-dir-only */
    assert_int_equal(env->fake.packfs_requests, 3); /* batches of 100 */
    free(c.ids);
}

static void test_pack_fs_partial_answers_are_completed(void **state)
{
    struct env *env = *state;
    struct collected c;

    env->fake.packfs_max_records = 7;
    assert_int_equal(fetch_all(env, &c), SEAF_OK);
    assert_int_equal(c.n, 206);
    assert_int_equal(env->fake.packfs_requests, 15 + 15 + 1);
    free(c.ids);
}

static void test_pack_fs_without_progress_stops(void **state)
{
    struct env *env = *state;
    struct collected c;

    env->fake.packfs_empty = true;
    assert_int_equal(fetch_all(env, &c), SEAF_ERR_PROTOCOL);
    assert_int_equal(c.n, 0);
    assert_int_equal(env->fake.packfs_requests, 1);
    free(c.ids);
}

static void test_pack_fs_corrupted_object_is_rejected(void **state)
{
    struct env *env = *state;
    struct collected c;
    seaf_err err;

    env->fake.packfs_corrupt = true;
    err = fetch_all(env, &c);
    assert_int_equal(err, SEAF_ERR_MALFORMED);
    assert_int_equal(c.n, 0); /* the first record is the bad one: nothing is delivered */
    free(c.ids);
}

static void test_pack_fs_500_is_a_server_error(void **state)
{
    struct env *env = *state;
    struct collected c;

    env->fake.packfs_500 = true;
    assert_int_equal(fetch_all(env, &c), SEAF_ERR_SERVER);
    assert_int_equal(c.n, 0);                       /* the records of a 500 answer are never used */
    assert_int_equal(env->fake.packfs_requests, 2); /* one retry (env pool: max_retries 1) */
    free(c.ids);
}

struct worker {
    struct seaf_client *client;
    int failures;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    for (int i = 0; i < 20; i++) {
        char token[SEAF_ID_LEN + 1];
        char head[SEAF_ID_LEN + 1];
        struct http_buffer buffer;
        struct http_sink sink;

        http_buffer_init(&buffer, 4096);
        sink = http_buffer_sink(&buffer);
        if (seaf_client_repo_token(w->client, DOCS, token) != SEAF_OK ||
            strcmp(token, DOCS_TOKEN) != 0 ||
            fileserver_get_block(w->client, DOCS, README_BLOCK, &sink, NULL) != SEAF_OK ||
            buffer.len != 56 || fileserver_head_commit(w->client, DOCS, head) != SEAF_OK ||
            strcmp(head, DOCS_HEAD) != 0)
            w->failures++;
        http_buffer_release(&buffer);
    }
    return NULL;
}

/* Many threads share one client: first use discovers the file server and needs the sync token
 * concurrently; every call must succeed and only one token is minted (download-info). */
static void test_threads_share_a_client(void **state)
{
    struct env *env = *state;
    pthread_t threads[6];
    struct worker workers[6];

    assert_int_equal(seaf_client_set_api_token(env->client, API_TOKEN), SEAF_OK);
    for (int i = 0; i < 6; i++) {
        workers[i] = (struct worker){.client = env->client};
        assert_int_equal(pthread_create(&threads[i], NULL, worker_main, &workers[i]), 0);
    }
    for (int i = 0; i < 6; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(workers[i].failures, 0);
    }
    assert_int_equal(env->fake.download_infos, 1);
}

static void test_block_is_verified(void **state)
{
    struct env *env = *state;
    struct http_buffer buffer;
    struct http_sink sink;
    uint64_t size = 0;
    size_t plain_len;
    char path[512];
    char *plain;

    snprintf(path, sizeof(path), "%s/plain/Docs/README.md", VEC);
    plain = test_read_file(path, &plain_len);
    assert_non_null(plain);
    assert_int_equal(seaf_client_set_repo_token(env->client, DOCS, DOCS_TOKEN), SEAF_OK);
    http_buffer_init(&buffer, 1 << 20);
    sink = http_buffer_sink(&buffer);
    assert_int_equal(fileserver_get_block(env->client, DOCS, README_BLOCK, &sink, &size), SEAF_OK);
    assert_int_equal(size, plain_len);
    assert_memory_equal(buffer.data, plain, plain_len);
    env->fake.corrupt_block = true;
    assert_int_equal(fileserver_get_block(env->client, DOCS, README_BLOCK, &sink, &size),
                     SEAF_ERR_ID_MISMATCH);
    assert_int_equal(fileserver_get_block(env->client, DOCS, "not-an-id", &sink, &size),
                     SEAF_ERR_INVALID_ARG);
    http_buffer_release(&buffer);
    free(plain);
}

static void test_parse_vectors(void **state)
{
    size_t len;
    char *body = vector_body("shim-download-info-secret.http", &len);
    struct seahub_download_info info;
    struct seahub_repo_list list;

    (void)state;
    assert_int_equal(seahub_parse_download_info(body, len, &info, NULL), SEAF_OK);
    assert_true(info.encrypted);
    assert_int_equal(info.enc_version, 2);
    assert_int_equal(info.repo_version, 1);
    assert_string_equal(info.token, "20bda07880e284787a7ee1d9e7fa6d22ae4db6b5");
    seahub_download_info_release(&info);
    free(body);
    body = vector_body("shim-download-info-docs.http", &len);
    assert_int_equal(seahub_parse_download_info(body, len, &info, NULL), SEAF_OK);
    assert_false(info.encrypted);
    assert_string_equal(info.permission, "rw");
    seahub_download_info_release(&info);
    free(body);
    /* Every truncation of the repo list is refused cleanly, never crashes. */
    body = vector_body("shim-repos.http", &len);
    for (size_t cut = 0; cut < len; cut += 97)
        assert_int_equal(seahub_parse_repo_list(body, cut, &list, NULL), SEAF_ERR_MALFORMED);
    free(body);
}

/* The library info (§2.5) names the head and the root folder of that head; an answer about
 * another library, without a root (null) or with a malformed id is refused. */
static void test_parse_repo_root(void **state)
{
    static const char good[] = "{\"type\": \"repo\", \"id\": \"" DOCS "\", \"owner\": \"self\", "
                               "\"name\": \"Docs\", \"root\": \"" SEAF_EMPTY_ID "\", "
                               "\"head_commit_id\": \"" DOCS_HEAD "\", \"permission\": \"rw\"}";
    static const char *const bad[] = {
        "{\"id\": \"" DOCS "\", \"root\": null, \"head_commit_id\": \"" DOCS_HEAD "\"}",
        "{\"id\": \"" DOCS "\", \"root\": \"xyz\", \"head_commit_id\": \"" DOCS_HEAD "\"}",
        "{\"id\": \"" DOCS "\", \"root\": \"" DOCS_HEAD "\"}",
        "[]",
    };
    char head[SEAF_ID_LEN + 1], root[SEAF_ID_LEN + 1];

    (void)state;
    assert_int_equal(seahub_parse_repo_root(good, strlen(good), DOCS, head, root), SEAF_OK);
    assert_string_equal(head, DOCS_HEAD);
    assert_string_equal(root, SEAF_EMPTY_ID);
    assert_int_equal(seahub_parse_repo_root(good, strlen(good),
                                            "ffcb8cab-919c-42fc-acb5-8811e70ece5b", head, root),
                     SEAF_ERR_PROTOCOL);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(seahub_parse_repo_root(bad[i], strlen(bad[i]), DOCS, head, root),
                         SEAF_ERR_MALFORMED);
}

static void test_parse_rejects_bad_entries(void **state)
{
    static const char *const bad[] = {
        "{}",
        "[{\"type\": \"repo\"}]",
        "[{\"type\": \"repo\", \"id\": \"C4910F68-4419-472D-8790-7D453CCA13F4\", "
        "\"head_commit_id\": \"549115324a52afbcae8894c85814f1b3723b07c5\", \"name\": \"x\", "
        "\"mtime\": 1, \"permission\": \"rw\", \"owner\": \"a\", \"version\": 1}]",
        "[{\"type\": \"repo\", \"id\": \"" DOCS "\", \"head_commit_id\": \"xyz\", "
        "\"name\": \"x\", \"mtime\": 1, \"permission\": \"rw\", \"owner\": \"a\", "
        "\"version\": 1}]",
        "[{\"type\": \"repo\", \"id\": \"" DOCS "\", \"head_commit_id\": \"" DOCS_HEAD
        "\", \"name\": 5, \"mtime\": 1, \"permission\": \"rw\", \"owner\": \"a\", "
        "\"version\": 1}]",
        "[{\"type\": \"repo\", \"id\": \"" DOCS "\", \"head_commit_id\": \"" DOCS_HEAD
        "\", \"name\": \"x\", \"mtime\": 1, \"permission\": \"rw\", \"owner\": \"a\"}]",
    };
    static const char null_name[] =
        "[{\"type\": \"grepo\", \"id\": \"" DOCS "\", \"head_commit_id\": \"" DOCS_HEAD
        "\", \"name\": null, \"mtime\": 1, \"permission\": \"r\", \"owner\": \"g\", "
        "\"version\": 1},"
        "{\"type\": \"repo\", \"id\": \"" DOCS "\", \"head_commit_id\": \"" DOCS_HEAD
        "\", \"name\": \"mine\", \"mtime\": 1, \"permission\": \"rw\", \"owner\": \"a\", "
        "\"version\": 1}]";
    struct seahub_repo_list list;
    struct seaf_parse_msg msg;

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        msg.text[0] = '\0';
        assert_int_equal(seahub_parse_repo_list(bad[i], strlen(bad[i]), &list, &msg),
                         SEAF_ERR_MALFORMED);
        assert_true(strlen(msg.text) > 0);
    }
    /* A library listed twice: the owned entry wins over the group one. */
    assert_int_equal(seahub_parse_repo_list(null_name, strlen(null_name), &list, NULL), SEAF_OK);
    assert_int_equal(list.n_repos, 1);
    assert_string_equal(list.repos[0].type, "repo");
    assert_string_equal(list.repos[0].name, "mine");
    seahub_repo_list_release(&list);
}

static void test_block_map_parse(void **state)
{
    static const char *const bad[] = {"",    "[",       "[]",    "{}",      "{\"a\": 1}",
                                      "[0]", "[1, -2]", "[1.5]", "[\"1\"]", "[1] x"};
    int64_t *sizes = NULL;
    size_t n = 0;

    (void)state;
    assert_int_equal(seaf_block_map_parse("[8388608, 17]", 13, &sizes, &n), SEAF_OK);
    assert_int_equal(n, 2);
    assert_int_equal(sizes[0], 8388608);
    assert_int_equal(sizes[1], 17);
    free(sizes);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(seaf_block_map_parse(bad[i], strlen(bad[i]), &sizes, &n),
                         SEAF_ERR_MALFORMED);
        assert_null(sizes);
        assert_int_equal(n, 0);
    }
}

static void test_url_origin(void **state)
{
    char out[64];

    (void)state;
    assert_true(seaf_url_origin("https://example.com/seafile/", out, sizeof(out)));
    assert_string_equal(out, "https://example.com");
    assert_true(seaf_url_origin("http://10.0.0.1:8000", out, sizeof(out)));
    assert_string_equal(out, "http://10.0.0.1:8000");
    assert_false(seaf_url_origin("ftp://example.com", out, sizeof(out)));
    assert_false(seaf_url_origin("http:///x", out, sizeof(out)));
    assert_false(seaf_url_origin("https://a-very-long-host-name.example.com", out, 10));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_login_sends_form_and_stores_token, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_login_form_encoding, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_login_with_otp, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_list_repos_every_field, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_bad_api_token_is_auth_error_and_forgotten, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_account_info, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_repo_token_from_download_info_is_persisted, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_fileserver_reads, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_protocol_version_range, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_fileserver_url_too_small, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_fs_id_list_removes_duplicates, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_pack_fs_everything_verified, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_pack_fs_partial_answers_are_completed, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_pack_fs_without_progress_stops, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_pack_fs_corrupted_object_is_rejected, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_pack_fs_500_is_a_server_error, env_setup,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_threads_share_a_client, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_block_is_verified, env_setup, env_teardown),
        cmocka_unit_test(test_parse_vectors),
        cmocka_unit_test(test_parse_rejects_bad_entries),
        cmocka_unit_test(test_parse_repo_root),
        cmocka_unit_test(test_block_map_parse),
        cmocka_unit_test(test_url_origin),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
