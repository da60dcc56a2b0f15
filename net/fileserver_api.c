/* fileserver_api: file-server sync endpoints (read side) over seaf_client_call, with everything
 * the server sends checked before it is handed out. pack-fs is driven round by round: each
 * answer is fed to the incremental seaf_packfs parser as it streams, every record is inflated
 * once, verified with seaf_fsobj_parse_json and delivered once (a retried transfer that repeats
 * records does not deliver them twice), and the ids the server left out are asked for again
 * until none remain or a round brings nothing. */
#include "fileserver_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_client_int.h"
#include "seaf_json_field.h"
#include "seaf_packfs.h"

/* fs-id-list may take many minutes on huge libraries (SeaDrive allows 1800 s). */
#define FS_ID_LIST_LOW_SPEED_TIME_S 1800

static bool repo_ok(const char *repo_id)
{
    return repo_id && seaf_repo_id_valid(repo_id, strlen(repo_id));
}

static bool id_ok(const char *id)
{
    return id && seaf_id_valid(id, strlen(id));
}

/* GETs <fs>/repo/<repo_id><path> into a new buffer body (released on error). */
static seaf_err repo_get_json(struct seaf_client *client, const char *repo_id, const char *path,
                              long low_speed_time_s, struct http_buffer *body)
{
    struct seaf_call call = {.method = HTTP_GET,
                             .idempotent = true,
                             .low_speed_time_s = low_speed_time_s,
                             .response_body = body};
    seaf_err err;

    http_buffer_init(body, SEAF_JSON_LIMIT);
    err = seaf_client_repo_call(client, repo_id, path, &call, NULL);
    if (err == SEAF_OK && !body->data)
        err = SEAF_ERR_MALFORMED;
    if (err != SEAF_OK)
        http_buffer_release(body);
    return err;
}

seaf_err fileserver_protocol_version(struct seaf_client *client, int *version)
{
    char *url = NULL;
    json_int_t value = 0;
    seaf_err err = seaf_client_fileserver_path(client, "/protocol-version", &url);

    if (err == SEAF_OK)
        err = seaf_client_protocol_version(client, url, true, &value);
    if (err == SEAF_OK && (value < 1 || value > 1000))
        err = SEAF_ERR_MALFORMED;
    if (err == SEAF_OK)
        *version = (int)value;
    free(url);
    return err;
}

seaf_err fileserver_permission_check(struct seaf_client *client, const char *repo_id, bool upload)
{
    const struct seaf_client_options *o = seaf_client_options(client);
    char path[512];
    char name[256];
    struct http_buffer body;
    struct seaf_call call = {.method = HTTP_GET, .idempotent = true, .response_body = &body};
    seaf_err err;

    if (!repo_ok(repo_id))
        return SEAF_ERR_INVALID_ARG;
    if (o->device_id && seaf_percent_encode(o->device_name, name, sizeof(name)))
        snprintf(path, sizeof(path),
                 "/permission-check/?op=%s&client_id=%s&client_name=%s&client_ver=%s",
                 upload ? "upload" : "download", o->device_id, name, SEAFS_VERSION);
    else
        snprintf(path, sizeof(path), "/permission-check/?op=%s", upload ? "upload" : "download");
    http_buffer_init(&body, 64 * 1024);
    err = seaf_client_repo_call(client, repo_id, path, &call, NULL);
    http_buffer_release(&body);
    return err;
}

seaf_err fileserver_accessible_repos(struct seaf_client *client, const char *repo_id,
                                     struct seahub_repo_list *out)
{
    char path[128];
    char *url = NULL;
    struct http_buffer body;
    memset(out, 0, sizeof(*out));
    if (!repo_ok(repo_id))
        return SEAF_ERR_INVALID_ARG;
    snprintf(path, sizeof(path), "/accessible-repos/?repo_id=%s", repo_id);
    seaf_err err = seaf_client_fileserver_path(client, path, &url);
    if (err != SEAF_OK)
        return err;
    struct seaf_call call = {.method = HTTP_GET,
                             .idempotent = true,
                             .url = url,
                             .auth = SEAF_AUTH_REPO,
                             .repo_id = repo_id,
                             .response_body = &body};
    http_buffer_init(&body, SEAF_JSON_LIMIT);
    err = seaf_client_call(client, &call, NULL);
    free(url);
    if (err == SEAF_OK && !body.data)
        err = SEAF_ERR_MALFORMED;
    if (err == SEAF_OK)
        err = seahub_parse_repo_list(body.data, body.len, out, NULL);
    http_buffer_release(&body);
    return err;
}

seaf_err fileserver_head_commit(struct seaf_client *client, const char *repo_id,
                                char head_out[SEAF_ID_LEN + 1])
{
    static const char what[] = "commit/HEAD answer";
    struct http_buffer body;
    json_t *root = NULL;
    json_int_t corrupted = 0;
    seaf_err err;

    if (!repo_ok(repo_id))
        return SEAF_ERR_INVALID_ARG;
    err = repo_get_json(client, repo_id, "/commit/HEAD", 0, &body);
    if (err != SEAF_OK)
        return err;
    err = seaf_json_load_object(body.data, body.len, what, &root, NULL);
    if (err == SEAF_OK)
        err = seaf_json_int(root, "is_corrupted", false, what, &corrupted, NULL, NULL);
    if (err == SEAF_OK && corrupted != 0)
        err = SEAF_ERR_SERVER;
    if (err == SEAF_OK)
        err = seaf_json_id(root, "head_commit_id", false, what, head_out, NULL);
    json_decref(root);
    http_buffer_release(&body);
    return err;
}

seaf_err fileserver_get_commit(struct seaf_client *client, const char *repo_id,
                               const char *commit_id, struct seaf_commit **out, char **raw_out,
                               size_t *raw_len)
{
    char path[128];
    struct http_buffer body;
    seaf_err err;

    *out = NULL;
    if (!repo_ok(repo_id) || !id_ok(commit_id))
        return SEAF_ERR_INVALID_ARG;
    snprintf(path, sizeof(path), "/commit/%s", commit_id);
    err = repo_get_json(client, repo_id, path, 0, &body);
    if (err != SEAF_OK)
        return err;
    err = seaf_commit_parse(body.data, body.len, out, NULL);
    if (err == SEAF_OK &&
        (strcmp((*out)->commit_id, commit_id) != 0 || strcmp((*out)->repo_id, repo_id) != 0)) {
        seaf_commit_free(*out);
        *out = NULL;
        err = SEAF_ERR_ID_MISMATCH;
    }
    if (err == SEAF_OK && raw_out) {
        *raw_out = body.data;
        if (raw_len)
            *raw_len = body.len;
        return SEAF_OK;
    }
    http_buffer_release(&body);
    return err;
}

/* ---- fs-id-list -------------------------------------------------------------------------- */

seaf_err fileserver_fs_id_list(struct seaf_client *client, const char *repo_id,
                               const char *server_head, const char *client_head, bool dir_only,
                               char (**ids_out)[SEAF_ID_LEN + 1], size_t *n_out)
{
    char path[256];
    struct http_buffer body;
    json_t *root = NULL;
    json_t *item;
    size_t index;
    char(*ids)[SEAF_ID_LEN + 1] = NULL;
    seaf_err err;

    *ids_out = NULL;
    *n_out = 0;
    if (!repo_ok(repo_id) || !id_ok(server_head) || (client_head && !id_ok(client_head)))
        return SEAF_ERR_INVALID_ARG;
    snprintf(path, sizeof(path), "/fs-id-list/?server-head=%s%s%s%s", server_head,
             client_head ? "&client-head=" : "", client_head ? client_head : "",
             dir_only ? "&dir-only=1" : "");
    err = repo_get_json(client, repo_id, path, FS_ID_LIST_LOW_SPEED_TIME_S, &body);
    if (err != SEAF_OK)
        return err;
    err = seaf_json_load_array(body.data, body.len, "fs-id-list", &root, NULL);
    http_buffer_release(&body);
    if (err != SEAF_OK)
        return err;
    ids = malloc((json_array_size(root) + 1) * sizeof(*ids));
    if (!ids) {
        json_decref(root);
        return SEAF_ERR_NOMEM;
    }
    json_array_foreach(root, index, item)
    {
        if (!json_is_string(item) ||
            !seaf_id_valid(json_string_value(item), json_string_length(item)) ||
            strcmp(json_string_value(item), SEAF_EMPTY_ID) == 0) {
            err = SEAF_ERR_MALFORMED;
            break;
        }
        memcpy(ids[index], json_string_value(item), SEAF_ID_LEN + 1);
    }
    if (err == SEAF_OK) {
        *n_out = json_array_size(root);
        err = seaf_ids_remove_duplicates(ids, n_out);
    }
    json_decref(root);
    if (err != SEAF_OK) {
        free(ids);
        *n_out = 0;
        return err;
    }
    *ids_out = ids;
    return SEAF_OK;
}

/* ---- pack-fs ----------------------------------------------------------------------------- */

/* One batch of distinct ids being fetched over one or more rounds. */
struct pack_batch {
    const char **ids; /* the batch's ids */
    bool *delivered;  /* per id: already verified and given to the caller */
    size_t n;
    fileserver_fsobj_fn on_object;
    void *ctx;
    struct seaf_packfs *parser;                 /* the current round's parser */
    size_t round_ids[FILESERVER_PACK_FS_BATCH]; /* request position -> index in ids */
};

static seaf_err on_record(void *ctx, size_t index, const char *id, const unsigned char *data,
                          size_t len)
{
    struct pack_batch *batch = ctx;
    size_t i = batch->round_ids[index];
    struct seaf_fsobj *obj = NULL;
    char *json = NULL;
    size_t json_len = 0;
    seaf_err err;

    if (batch->delivered[i])
        return SEAF_OK; /* a retried transfer repeating an object */
    err = seaf_fsobj_inflate(data, len, &json, &json_len, NULL);
    if (err == SEAF_OK)
        err = seaf_fsobj_parse_json(json, json_len, id, &obj, NULL);
    if (err == SEAF_OK)
        err = batch->on_object(batch->ctx, id, data, len, json, json_len, &obj);
    seaf_fsobj_free(obj);
    free(json);
    if (err == SEAF_OK)
        batch->delivered[i] = true;
    return err;
}

static seaf_err pack_sink_write(void *ctx, const void *data, size_t len)
{
    struct pack_batch *batch = ctx;

    return seaf_packfs_feed(batch->parser, data, len);
}

static seaf_err pack_sink_reset(void *ctx)
{
    struct pack_batch *batch = ctx;

    seaf_packfs_reset(batch->parser);
    return SEAF_OK;
}

/* One POST pack-fs for the ids not delivered yet; *progress tells whether anything new came. */
static seaf_err pack_round(struct seaf_client *client, const char *repo_id,
                           struct pack_batch *batch, bool *progress)
{
    const char *wanted[FILESERVER_PACK_FS_BATCH];
    char body[FILESERVER_PACK_FS_BATCH * (SEAF_ID_LEN + 4) + 4];
    size_t n_wanted = 0;
    size_t len = 0;
    size_t before = 0;
    size_t after = 0;
    struct http_sink sink = {.write = pack_sink_write, .reset = pack_sink_reset, .ctx = batch};
    struct seaf_call call = {
        .method = HTTP_POST, .content_type = "application/json", .idempotent = true, .sink = &sink};
    seaf_err err;

    body[len++] = '[';
    for (size_t i = 0; i < batch->n; i++) {
        if (batch->delivered[i]) {
            before++;
            continue;
        }
        len += (size_t)snprintf(body + len, sizeof(body) - len, "%s\"%s\"", n_wanted ? ", " : "",
                                batch->ids[i]);
        batch->round_ids[n_wanted] = i;
        wanted[n_wanted++] = batch->ids[i];
    }
    body[len++] = ']';
    call.body = body;
    call.body_len = len;
    err = seaf_packfs_new(wanted, n_wanted, on_record, batch, &batch->parser);
    if (err != SEAF_OK)
        return err;
    err = seaf_client_repo_call(client, repo_id, "/pack-fs/", &call, NULL);
    if (err == SEAF_OK)
        err = seaf_packfs_finish(batch->parser);
    seaf_packfs_free(batch->parser);
    batch->parser = NULL;
    for (size_t i = 0; i < batch->n; i++)
        after += batch->delivered[i];
    *progress = after > before;
    return err;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

seaf_err fileserver_pack_fs(struct seaf_client *client, const char *repo_id, const char *const *ids,
                            size_t n_ids, fileserver_fsobj_fn on_object, void *ctx)
{
    const char **distinct;
    bool delivered[FILESERVER_PACK_FS_BATCH];
    size_t n = 0;
    seaf_err err = SEAF_OK;

    if (!repo_ok(repo_id) || !on_object || (n_ids && !ids))
        return SEAF_ERR_INVALID_ARG;
    distinct = malloc((n_ids + 1) * sizeof(*distinct));
    if (!distinct)
        return SEAF_ERR_NOMEM;
    for (size_t i = 0; i < n_ids; i++) {
        if (!id_ok(ids[i])) {
            free(distinct);
            return SEAF_ERR_INVALID_ARG;
        }
        if (strcmp(ids[i], SEAF_EMPTY_ID) != 0)
            distinct[n++] = ids[i];
    }
    qsort(distinct, n, sizeof(*distinct), compare_strings);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept == 0 || strcmp(distinct[kept - 1], distinct[i]) != 0)
            distinct[kept++] = distinct[i];
    }
    n = kept;
    for (size_t start = 0; start < n && err == SEAF_OK; start += FILESERVER_PACK_FS_BATCH) {
        struct pack_batch batch = {
            .ids = distinct + start,
            .delivered = delivered,
            .n = n - start < FILESERVER_PACK_FS_BATCH ? n - start : FILESERVER_PACK_FS_BATCH,
            .on_object = on_object,
            .ctx = ctx};
        size_t done = 0;

        memset(delivered, 0, sizeof(delivered));
        while (err == SEAF_OK && done < batch.n) {
            bool progress = false;

            err = pack_round(client, repo_id, &batch, &progress);
            if (err == SEAF_OK && !progress)
                err = SEAF_ERR_PROTOCOL; /* the server sent nothing new: do not loop */
            done = 0;
            for (size_t i = 0; i < batch.n; i++)
                done += delivered[i];
        }
    }
    free(distinct);
    return err;
}

/* ---- blocks ------------------------------------------------------------------------------ */

seaf_err fileserver_get_block(struct seaf_client *client, const char *repo_id, const char *block_id,
                              const struct http_sink *sink, uint64_t *size_out)
{
    char path[128];
    struct http_response response;
    struct seaf_call call = {
        .method = HTTP_GET, .idempotent = true, .sink = sink, .own_connection = true};
    struct http_sink discard = {0};
    seaf_err err;

    if (!repo_ok(repo_id) || !id_ok(block_id) || strcmp(block_id, SEAF_EMPTY_ID) == 0)
        return SEAF_ERR_INVALID_ARG;
    if (!sink)
        call.sink = &discard;
    snprintf(path, sizeof(path), "/block/%s", block_id);
    err = seaf_client_repo_call(client, repo_id, path, &call, &response);
    if (err != SEAF_OK)
        return err;
    if (size_out)
        *size_out = response.body_len;
    if (call.sink->checks_sha1)
        return SEAF_OK; /* the sink verifies the id before it uses the bytes */
    return strcmp(response.body_id, block_id) == 0 ? SEAF_OK : SEAF_ERR_ID_MISMATCH;
}

seaf_err seaf_block_map_parse(const char *json, size_t len, int64_t **sizes_out, size_t *n_out)
{
    json_t *root = NULL;
    json_t *item;
    size_t index;
    seaf_err err = seaf_json_load_array(json, len, "block map", &root, NULL);

    *sizes_out = NULL;
    *n_out = 0;
    if (err == SEAF_OK && json_array_size(root) == 0)
        err = SEAF_ERR_MALFORMED;
    if (err != SEAF_OK) {
        json_decref(root);
        return err;
    }
    int64_t *sizes = malloc(json_array_size(root) * sizeof(*sizes));
    if (!sizes) {
        json_decref(root);
        return SEAF_ERR_NOMEM;
    }
    json_array_foreach(root, index, item)
    {
        if (!json_is_integer(item) || json_integer_value(item) <= 0) {
            err = SEAF_ERR_MALFORMED;
            break;
        }
        sizes[index] = json_integer_value(item);
    }
    if (err == SEAF_OK) {
        *sizes_out = sizes;
        *n_out = json_array_size(root);
    } else {
        free(sizes);
    }
    json_decref(root);
    return err;
}

seaf_err fileserver_block_map(struct seaf_client *client, const char *repo_id, const char *file_id,
                              int64_t **sizes_out, size_t *n_out)
{
    char path[128];
    struct http_buffer body;

    *sizes_out = NULL;
    *n_out = 0;
    if (!repo_ok(repo_id) || !id_ok(file_id))
        return SEAF_ERR_INVALID_ARG;
    snprintf(path, sizeof(path), "/block-map/%s", file_id);
    seaf_err err = repo_get_json(client, repo_id, path, 0, &body);
    if (err != SEAF_OK)
        return err;
    err = seaf_block_map_parse(body.data, body.len, sizes_out, n_out);
    http_buffer_release(&body);
    return err;
}
