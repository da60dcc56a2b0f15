/* fileserver_upload: file-server upload endpoints over seaf_client_repo_call. Arguments are
 * validated before anything is sent (a bad id never reaches the server, where the C server would
 * answer 400 or, for some malformed bodies, nothing at all); answers are checked as strictly as
 * on the read side (check-fs/check-blocks may only name ids that were asked). update-branch is
 * the one call that is never repeated: see fileserver_update_branch. */
#include "fileserver_upload.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_client_int.h"
#include "seaf_commit.h"
#include "seaf_fsobj.h"
#include "seaf_json_field.h"
#include "seaf_sha1.h"

/* Largest check-fs/check-blocks answer buffered: 1000 ids take 43 KB. */
#define CHECK_ANSWER_LIMIT (1024 * 1024)
/* Largest update-branch error body kept (a 446 lists file names). */
#define UPDATE_ANSWER_LIMIT (1024 * 1024)
/* Bytes of one pack record header: 40-byte id and a 32-bit length. */
#define RECORD_HEADER_LEN (SEAF_ID_LEN + 4)

static bool repo_ok(const char *repo_id)
{
    return repo_id && seaf_repo_id_valid(repo_id, strlen(repo_id));
}

static bool id_ok(const char *id)
{
    return id && seaf_id_valid(id, strlen(id));
}

/* An id that can name a stored object or block (never SEAF_EMPTY_ID). */
static bool object_id_ok(const char *id)
{
    return id_ok(id) && strcmp(id, SEAF_EMPTY_ID) != 0;
}

/* Performs call on <fs>/repo/<repo_id><path>, discarding a 2xx answer body. */
static seaf_err repo_send(struct seaf_client *client, const char *repo_id, const char *path,
                          struct seaf_call *call)
{
    struct http_sink discard = {0};

    call->sink = &discard;
    return seaf_client_repo_call(client, repo_id, path, call, NULL);
}

seaf_err fileserver_quota_check(struct seaf_client *client, const char *repo_id, int64_t delta)
{
    char path[64];
    struct seaf_call call = {.method = HTTP_GET, .idempotent = true};

    if (!repo_ok(repo_id))
        return SEAF_ERR_INVALID_ARG;
    snprintf(path, sizeof(path), "/quota-check/?delta=%lld", (long long)delta);
    return repo_send(client, repo_id, path, &call);
}

seaf_err fileserver_put_commit(struct seaf_client *client, const char *repo_id,
                               const char *commit_id, const char *json, size_t len)
{
    char path[64];
    struct seaf_commit *commit = NULL;
    struct seaf_call call = {.method = HTTP_PUT,
                             .body = json,
                             .body_len = len,
                             .content_type = "application/octet-stream",
                             .idempotent = true};

    if (!repo_ok(repo_id) || !object_id_ok(commit_id) || !json || len == 0)
        return SEAF_ERR_INVALID_ARG;
    seaf_err err = seaf_commit_parse(json, len, &commit, NULL);
    if (err == SEAF_ERR_NOMEM)
        return err;
    bool same = err == SEAF_OK && strcmp(commit->commit_id, commit_id) == 0 &&
                strcmp(commit->repo_id, repo_id) == 0;
    seaf_commit_free(commit);
    if (!same)
        return SEAF_ERR_INVALID_ARG;
    snprintf(path, sizeof(path), "/commit/%s", commit_id);
    return repo_send(client, repo_id, path, &call);
}

/* ---- check-fs / check-blocks ------------------------------------------------------------- */

/* One batch of distinct ids being checked. */
struct check_batch {
    char (*ids)[SEAF_ID_LEN + 1]; /* the batch's ids */
    size_t n;
    const char **sorted; /* the same ids in strcmp order, for lookups */
    bool *needed;        /* per id: named in the answer */
};

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Marks the ids of the answer (a JSON array of ids) in batch->needed. */
static seaf_err read_check_answer(struct check_batch *batch, const struct http_buffer *body)
{
    json_t *root = NULL;
    json_t *item;
    size_t index;
    seaf_err err = seaf_json_load_array(body->data, body->len, "check answer", &root, NULL);

    if (err != SEAF_OK)
        return err;
    json_array_foreach(root, index, item)
    {
        const char *id = json_string_value(item);
        const char **found;
        size_t at;

        if (!id) {
            err = SEAF_ERR_MALFORMED;
            break;
        }
        found = bsearch(&id, batch->sorted, batch->n, sizeof(*batch->sorted), compare_strings);
        if (!found) {
            err = SEAF_ERR_PROTOCOL; /* an id that was not asked */
            break;
        }
        at = (size_t)((*found - batch->ids[0]) / (SEAF_ID_LEN + 1));
        if (batch->needed[at]) {
            err = SEAF_ERR_PROTOCOL; /* named twice */
            break;
        }
        batch->needed[at] = true;
    }
    json_decref(root);
    return err;
}

/* One POST of batch->ids to endpoint; fills batch->needed. */
static seaf_err check_round(struct seaf_client *client, const char *repo_id, const char *endpoint,
                            struct check_batch *batch)
{
    char *request = malloc(batch->n * (SEAF_ID_LEN + 4) + 3);
    struct http_buffer body;
    struct seaf_call call = {.method = HTTP_POST,
                             .content_type = "application/json",
                             .idempotent = true,
                             .response_body = &body};
    size_t len = 0;
    seaf_err err;

    if (!request)
        return SEAF_ERR_NOMEM;
    /* Written as jansson writes a list (SeaDrive's json_dumps): ["a", "b"]. */
    request[len++] = '[';
    for (size_t i = 0; i < batch->n; i++) {
        len += (size_t)sprintf(request + len, "%s\"%s\"", i ? ", " : "", batch->ids[i]);
        batch->sorted[i] = batch->ids[i];
        batch->needed[i] = false;
    }
    request[len++] = ']';
    qsort(batch->sorted, batch->n, sizeof(*batch->sorted), compare_strings);
    call.body = request;
    call.body_len = len;
    http_buffer_init(&body, CHECK_ANSWER_LIMIT);
    err = seaf_client_repo_call(client, repo_id, endpoint, &call, NULL);
    if (err == SEAF_OK)
        err = read_check_answer(batch, &body);
    http_buffer_release(&body);
    free(request);
    return err;
}

/* ids[0..n) without SEAF_EMPTY_ID and repeats, in order, into a new array *out of *n_out. */
static seaf_err distinct_ids(const char *const *ids, size_t n, char (**out)[SEAF_ID_LEN + 1],
                             size_t *n_out)
{
    char(*copy)[SEAF_ID_LEN + 1] = malloc((n + 1) * sizeof(*copy));
    size_t kept = 0;
    seaf_err err;

    if (!copy)
        return SEAF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i], SEAF_EMPTY_ID) != 0)
            memcpy(copy[kept++], ids[i], SEAF_ID_LEN + 1);
    }
    err = seaf_ids_remove_duplicates(copy, &kept);
    if (err != SEAF_OK) {
        free(copy);
        return err;
    }
    *out = copy;
    *n_out = kept;
    return SEAF_OK;
}

static seaf_err check_ids(struct seaf_client *client, const char *repo_id, const char *endpoint,
                          const char *const *ids, size_t n, char (**needed_out)[SEAF_ID_LEN + 1],
                          size_t *n_needed)
{
    char(*distinct)[SEAF_ID_LEN + 1] = NULL;
    char(*needed)[SEAF_ID_LEN + 1] = NULL;
    const char *sorted[FILESERVER_CHECK_BATCH];
    bool flags[FILESERVER_CHECK_BATCH];
    size_t n_distinct = 0;
    size_t found = 0;
    seaf_err err;

    if (!needed_out || !n_needed)
        return SEAF_ERR_INVALID_ARG;
    *needed_out = NULL;
    *n_needed = 0;
    if (!repo_ok(repo_id) || (n > 0 && !ids))
        return SEAF_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        if (!id_ok(ids[i]))
            return SEAF_ERR_INVALID_ARG;
    }
    err = distinct_ids(ids, n, &distinct, &n_distinct);
    if (err != SEAF_OK)
        return err;
    needed = malloc((n_distinct + 1) * sizeof(*needed));
    if (!needed)
        err = SEAF_ERR_NOMEM;
    for (size_t start = 0; start < n_distinct && err == SEAF_OK; start += FILESERVER_CHECK_BATCH) {
        struct check_batch batch = {.ids = distinct + start,
                                    .n = n_distinct - start < FILESERVER_CHECK_BATCH
                                             ? n_distinct - start
                                             : FILESERVER_CHECK_BATCH,
                                    .sorted = sorted,
                                    .needed = flags};

        err = check_round(client, repo_id, endpoint, &batch);
        for (size_t i = 0; i < batch.n && err == SEAF_OK; i++) {
            if (flags[i])
                memcpy(needed[found++], batch.ids[i], SEAF_ID_LEN + 1);
        }
    }
    free(distinct);
    if (err != SEAF_OK || found == 0) {
        free(needed);
        return err;
    }
    *needed_out = needed;
    *n_needed = found;
    return SEAF_OK;
}

seaf_err fileserver_check_fs(struct seaf_client *client, const char *repo_id,
                             const char *const *ids, size_t n, char (**needed_out)[SEAF_ID_LEN + 1],
                             size_t *n_needed)
{
    return check_ids(client, repo_id, "/check-fs/", ids, n, needed_out, n_needed);
}

seaf_err fileserver_check_blocks(struct seaf_client *client, const char *repo_id,
                                 const char *const *ids, size_t n,
                                 char (**needed_out)[SEAF_ID_LEN + 1], size_t *n_needed)
{
    return check_ids(client, repo_id, "/check-blocks/", ids, n, needed_out, n_needed);
}

/* ---- recv-fs ----------------------------------------------------------------------------- */

/* Sends records[0..n) as one recv-fs request of size bytes. */
static seaf_err send_pack(struct seaf_client *client, const char *repo_id,
                          const struct fileserver_fs_record *records, size_t n, size_t size)
{
    unsigned char *body = malloc(size);
    struct seaf_call call = {
        .method = HTTP_POST, .content_type = "application/octet-stream", .idempotent = true};
    size_t at = 0;
    seaf_err err;

    if (!body)
        return SEAF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        uint32_t len = (uint32_t)records[i].len;

        memcpy(body + at, records[i].id, SEAF_ID_LEN);
        body[at + 40] = (unsigned char)(len >> 24);
        body[at + 41] = (unsigned char)(len >> 16);
        body[at + 42] = (unsigned char)(len >> 8);
        body[at + 43] = (unsigned char)len;
        memcpy(body + at + RECORD_HEADER_LEN, records[i].data, records[i].len);
        at += RECORD_HEADER_LEN + records[i].len;
    }
    call.body = (const char *)body;
    call.body_len = size;
    err = repo_send(client, repo_id, "/recv-fs/", &call);
    free(body);
    return err;
}

seaf_err fileserver_recv_fs(struct seaf_client *client, const char *repo_id,
                            const struct fileserver_fs_record *records, size_t n)
{
    seaf_err err = SEAF_OK;

    if (!repo_ok(repo_id) || (n > 0 && !records))
        return SEAF_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        if (!object_id_ok(records[i].id) || !records[i].data || records[i].len == 0 ||
            records[i].len > SEAF_FSOBJ_MAX_STORED_SIZE)
            return SEAF_ERR_INVALID_ARG;
    }
    for (size_t first = 0; first < n && err == SEAF_OK;) {
        size_t end = first;
        size_t size = 0;

        /* Like SeaDrive: add records until the body reaches the pack size. */
        while (end < n && size < FILESERVER_RECV_FS_PACK_SIZE)
            size += RECORD_HEADER_LEN + records[end++].len;
        err = send_pack(client, repo_id, records + first, end - first, size);
        first = end;
    }
    return err;
}

/* ---- blocks ------------------------------------------------------------------------------ */

seaf_err fileserver_put_block(struct seaf_client *client, const char *repo_id, const char *block_id,
                              const void *data, size_t len)
{
    char path[64];
    char actual[SEAF_ID_LEN + 1];
    struct seaf_call call = {.method = HTTP_PUT, .body = data, .body_len = len, .idempotent = true};

    if (!repo_ok(repo_id) || !object_id_ok(block_id) || !data || len == 0)
        return SEAF_ERR_INVALID_ARG;
    /* Checked in every build: see the header. */
    seaf_err err = seaf_sha1_id(data, len, actual);
    if (err != SEAF_OK)
        return err;
    if (strcmp(actual, block_id) != 0)
        return SEAF_ERR_ID_MISMATCH;
    snprintf(path, sizeof(path), "/block/%s", block_id);
    return repo_send(client, repo_id, path, &call);
}

/* ---- update-branch ----------------------------------------------------------------------- */

/* The file names of a 446 body (a JSON array of strings); nothing for any other body. */
static seaf_err read_missing(const struct http_buffer *body, struct fileserver_update_result *r)
{
    json_t *root = NULL;
    json_t *item;
    size_t index;

    if (body->len == 0 ||
        seaf_json_load_array(body->data, body->len, "446 answer", &root, NULL) != SEAF_OK)
        return SEAF_OK;
    json_array_foreach(root, index, item)
    {
        if (!json_is_string(item)) {
            json_decref(root);
            return SEAF_OK;
        }
    }
    r->missing = calloc(json_array_size(root) + 1, sizeof(*r->missing));
    if (!r->missing) {
        json_decref(root);
        return SEAF_ERR_NOMEM;
    }
    json_array_foreach(root, index, item)
    {
        r->missing[index] = strndup(json_string_value(item), json_string_length(item));
        if (!r->missing[index]) {
            json_decref(root);
            return SEAF_ERR_NOMEM;
        }
        r->n_missing = index + 1;
    }
    json_decref(root);
    return SEAF_OK;
}

seaf_err fileserver_update_branch(struct seaf_client *client, const char *repo_id,
                                  const char *commit_id, struct fileserver_update_result *result)
{
    char path[128];
    struct http_buffer body;
    struct http_response response = {0};
    struct http_sink discard = {0};
    struct seaf_call call = {
        .method = HTTP_PUT, .idempotent = false, .sink = &discard, .error_body = &body};
    seaf_err err;

    if (!result)
        return SEAF_ERR_INVALID_ARG;
    memset(result, 0, sizeof(*result));
    if (!repo_ok(repo_id) || !object_id_ok(commit_id))
        return SEAF_ERR_INVALID_ARG;
    snprintf(path, sizeof(path), "/commit/HEAD/?head=%s", commit_id);
    http_buffer_init(&body, UPDATE_ANSWER_LIMIT);
    err = seaf_client_repo_call(client, repo_id, path, &call, &response);
    result->status = response.status;
    if (response.status != 0 && (response.status < 200 || response.status >= 300))
        snprintf(result->message, sizeof(result->message), "%s", response.error_text);
    switch (response.status) {
    case 409:
        result->gc_conflict = true;
        err = SEAF_ERR_SERVER;
        break;
    case 446: {
        seaf_err names = read_missing(&body, result);
        err = names != SEAF_OK ? names : SEAF_ERR_NOT_FOUND;
        break;
    }
    case 404:
        err = SEAF_ERR_PROTOCOL; /* no such route: not a missing object */
        break;
    default:
        break; /* as seaf_client_call maps it */
    }
    http_buffer_release(&body);
    return err;
}

void fileserver_update_result_release(struct fileserver_update_result *result)
{
    if (!result)
        return;
    for (size_t i = 0; i < result->n_missing; i++)
        free(result->missing[i]);
    free(result->missing);
    memset(result, 0, sizeof(*result));
}
