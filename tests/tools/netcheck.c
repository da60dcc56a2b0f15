/* seafs-netcheck: drives net/ (http_pool + Seafile client) from the command line for the
 * integration tests and the benchmark. Prints one JSON object on stdout: the result, or
 * {"ok": false, "error": ..., "code": ...}. Credentials are never printed.
 *
 *   seafs-netcheck --server URL (--user U --password P | --user U --token T) [options] COMMAND
 *   COMMAND: discover | repos | account | head REPO | metadata REPO | cat REPO PATH OUT |
 *            blocks REPO PATH | upload REPO NAME FILE     (discover needs no credentials)
 *   upload puts FILE into the root directory of REPO (a plain library) as NAME: new blocks of
 *   at most 8 MiB, file and root objects and a commit on top of the head, then the upload
 *   requests in SeaDrive's order (permission-check, quota-check, PUT commit, check-fs, recv-fs,
 *   check-blocks, PUT block, update-branch) and the head afterwards.
 *   options: --fileserver URL --token-dir DIR --connections N --parallel N --repeat N --retries N
 *            --ca-file PEM --insecure
 *            --low-speed-time S --connect-timeout-ms MS --retry-budget-ms MS --otp CODE --debug
 */
#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "fileserver_api.h"
#include "fileserver_upload.h"
#include "http_pool.h"
#include "seaf_client.h"
#include "seaf_objwrite.h"
#include "seaf_sha1.h"
#include "seahub_api.h"

#define DEVICE_ID   "5eaf5000000000000000000000000000000000fe"
#define DEVICE_NAME "seafs-netcheck"
/* Fixed-size chunks: the server does not care how files are split (protocol doc §4.5). */
#define UPLOAD_BLOCK_SIZE (8 * 1024 * 1024)

struct settings {
    const char *server;
    const char *fileserver;
    const char *user;
    const char *password;
    const char *token;
    const char *token_dir;
    const char *otp;
    const char *ca_file;
    bool insecure;
    unsigned connections;
    unsigned parallel;
    unsigned repeat;
    long retries;
    long low_speed_time;
    long connect_timeout_ms;
    long retry_budget_ms;
    bool debug;
};

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void log_stderr(void *ctx, enum http_log_level level, const char *message)
{
    (void)ctx;
    fprintf(stderr, "[%d] %s\n", (int)level, message);
}

/* Adds the pool's counters and the elapsed time to out, prints it and frees it. */
static void print_result(json_t *out, struct http_pool *pool, double started)
{
    struct http_pool_stats stats;

    json_object_set_new(out, "seconds", json_real(now_s() - started));
    if (pool) {
        http_pool_get_stats(pool, &stats);
        json_object_set_new(out, "requests", json_integer((json_int_t)stats.requests));
        json_object_set_new(out, "retries", json_integer((json_int_t)stats.retries));
        json_object_set_new(out, "connections_opened",
                            json_integer((json_int_t)stats.connections_opened));
    }
    json_dumpf(out, stdout, JSON_COMPACT);
    putchar('\n');
    json_decref(out);
}

static int fail(seaf_err err, const char *what, struct http_pool *pool, double started)
{
    print_result(json_pack("{s:b, s:s, s:i, s:s}", "ok", 0, "error", seaf_strerror(err), "code",
                           (int)err, "during", what),
                 pool, started);
    return 1;
}

/* ---- metadata: every fs object of a commit, kept raw and looked up by id ------------------ */

struct object {
    char id[SEAF_ID_LEN + 1];
    void *stored;
    size_t len;
};

struct objects {
    struct object *items;
    size_t n;
};

static seaf_err keep_object(void *ctx, const char *id, const void *stored, size_t len,
                            const char *json, size_t json_len, struct seaf_fsobj **obj)
{
    struct objects *objects = ctx;
    struct object *o = &objects->items[objects->n++];

    (void)json;
    (void)json_len;
    (void)obj;
    memcpy(o->id, id, sizeof(o->id));
    o->stored = malloc(len);
    if (!o->stored)
        return SEAF_ERR_NOMEM;
    memcpy(o->stored, stored, len);
    o->len = len;
    return SEAF_OK;
}

static int compare_objects(const void *a, const void *b)
{
    return strcmp(((const struct object *)a)->id, ((const struct object *)b)->id);
}

static seaf_err parse_object(const struct objects *objects, const char *id, struct seaf_fsobj **out)
{
    struct object key;
    const struct object *found;

    snprintf(key.id, sizeof(key.id), "%s", id);
    found = bsearch(&key, objects->items, objects->n, sizeof(key), compare_objects);
    if (!found)
        return SEAF_ERR_NOT_FOUND;
    return seaf_fsobj_parse(found->stored, found->len, id, out, NULL);
}

static void free_objects(struct objects *objects)
{
    for (size_t i = 0; i < objects->n; i++)
        free(objects->items[i].stored);
    free(objects->items);
}

/* Fetches head, commit, fs-id-list and every fs object of repo. */
static seaf_err fetch_metadata(struct seaf_client *client, const char *repo,
                               struct seaf_commit **commit, struct objects *objects,
                               const char **stage)
{
    char head[SEAF_ID_LEN + 1];
    char(*ids)[SEAF_ID_LEN + 1] = NULL;
    const char **list = NULL;
    size_t n = 0;
    seaf_err err;

    *stage = "permission-check";
    err = fileserver_permission_check(client, repo, false);
    if (err == SEAF_OK) {
        *stage = "head";
        err = fileserver_head_commit(client, repo, head);
    }
    if (err == SEAF_OK) {
        *stage = "commit";
        err = fileserver_get_commit(client, repo, head, commit, NULL, NULL);
    }
    if (err == SEAF_OK) {
        *stage = "fs-id-list";
        err = fileserver_fs_id_list(client, repo, head, NULL, false, &ids, &n);
    }
    objects->items = calloc(n + 1, sizeof(*objects->items));
    objects->n = 0;
    list = calloc(n + 1, sizeof(*list));
    if (err == SEAF_OK && (!objects->items || !list))
        err = SEAF_ERR_NOMEM;
    for (size_t i = 0; err == SEAF_OK && i < n; i++)
        list[i] = ids[i];
    if (err == SEAF_OK) {
        *stage = "pack-fs";
        err = fileserver_pack_fs(client, repo, list, n, keep_object, objects);
    }
    qsort(objects->items, objects->n, sizeof(*objects->items), compare_objects);
    free(list);
    free(ids);
    return err;
}

/* Adds every file below dir_id (at path prefix) to files, every directory to dirs. */
static seaf_err walk(const struct objects *objects, const char *dir_id, const char *prefix,
                     json_t *files, json_t *dirs)
{
    struct seaf_fsobj *dir = NULL;
    seaf_err err = SEAF_OK;

    json_array_append_new(dirs, json_string(prefix[0] ? prefix : "/"));
    if (strcmp(dir_id, SEAF_EMPTY_ID) == 0)
        return SEAF_OK;
    err = parse_object(objects, dir_id, &dir);
    if (err == SEAF_OK && dir->type != SEAF_FSOBJ_DIR)
        err = SEAF_ERR_MALFORMED;
    for (size_t i = 0; err == SEAF_OK && i < dir->dir.n_entries; i++) {
        const struct seaf_dirent *e = &dir->dir.entries[i];
        char *path = malloc(strlen(prefix) + e->name_len + 2);

        sprintf(path, "%s/%s", prefix, e->name);
        if (seaf_dirent_is_dir(e)) {
            err = walk(objects, e->id, path, files, dirs);
        } else {
            json_t *blocks = json_array();
            struct seaf_fsobj *file = NULL;

            if (strcmp(e->id, SEAF_EMPTY_ID) != 0) {
                err = parse_object(objects, e->id, &file);
                for (size_t b = 0; err == SEAF_OK && b < file->file.n_blocks; b++)
                    json_array_append_new(blocks, json_string(file->file.block_ids[b]));
                if (err == SEAF_OK && file->file.size != e->size)
                    err = SEAF_ERR_MALFORMED;
            }
            json_object_set_new(files, path,
                                json_pack("{s:I, s:s, s:o}", "size", (json_int_t)e->size, "id",
                                          e->id, "blocks", blocks));
            seaf_fsobj_free(file);
        }
        free(path);
    }
    seaf_fsobj_free(dir);
    return err;
}

/* ---- block fetching ------------------------------------------------------------------------ */

/* Writes one block at its offset of an output file; restartable. */
struct file_sink {
    int fd;
    off_t start;
    off_t pos;
};

static seaf_err file_write(void *ctx, const void *data, size_t len)
{
    struct file_sink *s = ctx;

    if (s->fd < 0) {
        s->pos += (off_t)len; /* counting only */
        return SEAF_OK;
    }
    if (pwrite(s->fd, data, len, s->pos) != (ssize_t)len)
        return SEAF_ERR_IO;
    s->pos += (off_t)len;
    return SEAF_OK;
}

static seaf_err file_reset(void *ctx)
{
    struct file_sink *s = ctx;

    s->pos = s->start;
    return SEAF_OK;
}

struct block_job {
    struct seaf_client *client;
    const char *repo;
    json_t *blocks;
    const int64_t *offsets;
    size_t total; /* fetches to make: the blocks, repeat times over */
    int fd;
    atomic_size_t next;
    atomic_int first_error;
};

static void *block_worker(void *arg)
{
    struct block_job *job = arg;

    for (;;) {
        size_t k = atomic_fetch_add(&job->next, 1);
        size_t i = k % json_array_size(job->blocks);
        struct file_sink sink;
        struct http_sink http;
        seaf_err err;

        if (k >= job->total || atomic_load(&job->first_error) != SEAF_OK)
            return NULL;
        sink = (struct file_sink){.fd = job->fd, .start = job->offsets[i], .pos = job->offsets[i]};
        http = (struct http_sink){.write = file_write, .reset = file_reset, .ctx = &sink};
        err = fileserver_get_block(job->client, job->repo,
                                   json_string_value(json_array_get(job->blocks, i)), &http, NULL);
        if (err == SEAF_OK && sink.pos - sink.start != job->offsets[i + 1] - job->offsets[i])
            err = SEAF_ERR_PROTOCOL;
        if (err != SEAF_OK) {
            int expected = SEAF_OK;

            atomic_compare_exchange_strong(&job->first_error, &expected, (int)err);
        }
    }
}

/* Fetches the blocks of file `entry` into fd (or only counts them when fd < 0), repeat times. */
static seaf_err fetch_blocks(struct seaf_client *client, const char *repo, json_t *entry, int fd,
                             unsigned parallel, unsigned repeat, const char **stage)
{
    json_t *blocks = json_object_get(entry, "blocks");
    size_t n = json_array_size(blocks);
    int64_t *sizes = NULL;
    int64_t *offsets = NULL;
    size_t n_sizes = 0;
    pthread_t threads[64];
    seaf_err err = SEAF_OK;

    if (n == 0)
        return SEAF_OK;
    *stage = "block-map";
    err = fileserver_block_map(client, repo, json_string_value(json_object_get(entry, "id")),
                               &sizes, &n_sizes);
    if (err == SEAF_OK && n_sizes != n)
        err = SEAF_ERR_PROTOCOL;
    offsets = calloc(n + 1, sizeof(*offsets));
    for (size_t i = 0; err == SEAF_OK && i < n; i++)
        offsets[i + 1] = offsets[i] + sizes[i];
    if (err == SEAF_OK) {
        struct block_job job = {.client = client,
                                .repo = repo,
                                .blocks = blocks,
                                .offsets = offsets,
                                .fd = fd,
                                .total = n * repeat};

        *stage = "blocks";
        atomic_init(&job.next, 0);
        atomic_init(&job.first_error, SEAF_OK);
        if (parallel > 64)
            parallel = 64;
        for (unsigned t = 0; t < parallel; t++)
            pthread_create(&threads[t], NULL, block_worker, &job);
        for (unsigned t = 0; t < parallel; t++)
            pthread_join(threads[t], NULL);
        err = (seaf_err)atomic_load(&job.first_error);
    }
    free(sizes);
    free(offsets);
    return err;
}

/* ---- upload ------------------------------------------------------------------------------- */

/* What one upload makes: blocks, the file and root objects, the commit. */
struct upload {
    unsigned char *content;
    size_t size;
    size_t n_blocks;
    char (*block_ids)[SEAF_ID_LEN + 1];
    char file_id[SEAF_ID_LEN + 1];
    char root_id[SEAF_ID_LEN + 1];
    struct fileserver_fs_record records[2];
    size_t n_records;
    void *stored[2];
    struct seaf_commit *commit;
    char *commit_json;
    size_t commit_len;
    int64_t old_size; /* of the replaced file, for quota-check's delta */
};

static seaf_err read_content(const char *path, struct upload *u)
{
    FILE *f = fopen(path, "rb");
    size_t cap = 1 << 16;

    if (!f)
        return SEAF_ERR_IO;
    u->content = malloc(cap);
    while (u->content) {
        u->size += fread(u->content + u->size, 1, cap - u->size, f);
        if (u->size < cap)
            break;
        cap *= 2;
        unsigned char *grown = realloc(u->content, cap);
        if (!grown)
            free(u->content);
        u->content = grown;
    }
    fclose(f);
    return u->content ? SEAF_OK : SEAF_ERR_NOMEM;
}

/* Deflates json (len bytes; taken) as the next recv-fs record, under id. */
static seaf_err add_record(struct upload *u, const char *id, char *json, size_t len)
{
    size_t i = u->n_records;
    seaf_err err = seaf_fsobj_deflate(json, len, &u->stored[i], &u->records[i].len);

    free(json);
    if (err == SEAF_OK) {
        u->records[i].id = id;
        u->records[i].data = u->stored[i];
        u->n_records++;
    }
    return err;
}

/* Blocks, file object, the root with NAME replaced or added, and the commit on top of head. */
static seaf_err make_upload(const struct objects *objects, const struct seaf_commit *head,
                            const char *user, const char *name, struct upload *u)
{
    struct seaf_fsobj *root = NULL;
    struct seaf_dirent *entries;
    size_t n = 0;
    char *json = NULL;
    size_t len = 0;
    char description[512];
    seaf_err err;

    u->n_blocks = (u->size + UPLOAD_BLOCK_SIZE - 1) / UPLOAD_BLOCK_SIZE;
    u->block_ids = calloc(u->n_blocks + 1, sizeof(*u->block_ids));
    if (!u->block_ids)
        return SEAF_ERR_NOMEM;
    for (size_t b = 0; b < u->n_blocks; b++) {
        size_t at = b * UPLOAD_BLOCK_SIZE;
        size_t block_len = u->size - at < UPLOAD_BLOCK_SIZE ? u->size - at : UPLOAD_BLOCK_SIZE;

        seaf_sha1_id(u->content + at, block_len, u->block_ids[b]);
    }
    err = seaf_file_to_json((const char(*)[SEAF_ID_LEN + 1]) u->block_ids, u->n_blocks,
                            (int64_t)u->size, &json, &len, u->file_id);
    if (err == SEAF_OK && json)
        err = add_record(u, u->file_id, json, len);
    if (err == SEAF_OK && strcmp(head->root_id, SEAF_EMPTY_ID) != 0)
        err = parse_object(objects, head->root_id, &root);
    if (err != SEAF_OK)
        return err;
    size_t old = root ? root->dir.n_entries : 0;
    entries = calloc(old + 1, sizeof(*entries));
    for (size_t i = 0; entries && i < old; i++) {
        const struct seaf_dirent *e = &root->dir.entries[i];
        if (e->name_len == strlen(name) && memcmp(e->name, name, e->name_len) == 0)
            u->old_size = e->size;
        else
            entries[n++] = *e;
    }
    if (!entries) {
        seaf_fsobj_free(root);
        return SEAF_ERR_NOMEM;
    }
    entries[n] = (struct seaf_dirent){.mode = SEAF_MODE_FILE,
                                      .mtime = (int64_t)time(NULL),
                                      .size = (int64_t)u->size,
                                      .name = name,
                                      .name_len = strlen(name),
                                      .modifier = user};
    memcpy(entries[n].id, u->file_id, sizeof(u->file_id));
    err = seaf_dir_to_json(entries, n + 1, &json, &len, u->root_id);
    free(entries);
    seaf_fsobj_free(root);
    if (err == SEAF_OK)
        err = add_record(u, u->root_id, json, len);
    snprintf(description, sizeof(description), "Added \"%s\".\n", name);
    if (err == SEAF_OK)
        err = seaf_commit_new_child(head, u->root_id, DEVICE_ID, user, description,
                                    (int64_t)time(NULL), DEVICE_NAME, "seafs_" SEAFS_VERSION,
                                    &u->commit);
    if (err == SEAF_OK)
        err = seaf_commit_to_json(u->commit, &u->commit_json, &u->commit_len);
    return err;
}

static void free_upload(struct upload *u)
{
    free(u->content);
    free(u->block_ids);
    for (size_t i = 0; i < u->n_records; i++)
        free(u->stored[i]);
    seaf_commit_free(u->commit);
    free(u->commit_json);
}

/* The needed blocks of the file, each PUT from its place in the content. */
static seaf_err send_blocks(struct seaf_client *client, const char *repo, const struct upload *u)
{
    const char **list = calloc(u->n_blocks + 1, sizeof(*list));
    char(*needed)[SEAF_ID_LEN + 1] = NULL;
    size_t n_needed = 0;
    seaf_err err = list ? SEAF_OK : SEAF_ERR_NOMEM;

    for (size_t b = 0; err == SEAF_OK && b < u->n_blocks; b++)
        list[b] = u->block_ids[b];
    if (err == SEAF_OK)
        err = fileserver_check_blocks(client, repo, list, u->n_blocks, &needed, &n_needed);
    for (size_t i = 0; err == SEAF_OK && i < n_needed; i++) {
        for (size_t b = 0; b < u->n_blocks; b++) {
            size_t at = b * UPLOAD_BLOCK_SIZE;

            if (strcmp(u->block_ids[b], needed[i]) != 0)
                continue;
            err = fileserver_put_block(client, repo, needed[i], u->content + at,
                                       u->size - at < UPLOAD_BLOCK_SIZE ? u->size - at
                                                                        : UPLOAD_BLOCK_SIZE);
            break;
        }
    }
    free(needed);
    free(list);
    return err;
}

/* The upload requests in SeaDrive's order (protocol doc §6.3). */
static seaf_err send_upload(struct seaf_client *client, const char *repo, const struct upload *u,
                            json_t *out, const char **stage)
{
    const char *ids[2];
    char(*needed)[SEAF_ID_LEN + 1] = NULL;
    size_t n_needed = 0;
    struct fileserver_fs_record records[2];
    size_t n_records = 0;
    struct fileserver_update_result result;
    char head[SEAF_ID_LEN + 1];
    seaf_err err;

    *stage = "permission-check";
    err = fileserver_permission_check(client, repo, true);
    if (err == SEAF_OK) {
        *stage = "quota-check";
        err = fileserver_quota_check(client, repo, (int64_t)u->size - u->old_size);
    }
    if (err == SEAF_OK) {
        *stage = "put-commit";
        err = fileserver_put_commit(client, repo, u->commit->commit_id, u->commit_json,
                                    u->commit_len);
    }
    for (size_t i = 0; i < u->n_records; i++)
        ids[i] = u->records[i].id;
    if (err == SEAF_OK) {
        *stage = "check-fs";
        err = fileserver_check_fs(client, repo, ids, u->n_records, &needed, &n_needed);
    }
    for (size_t i = 0; err == SEAF_OK && i < u->n_records; i++) {
        for (size_t k = 0; k < n_needed; k++) {
            if (strcmp(needed[k], u->records[i].id) == 0)
                records[n_records++] = u->records[i];
        }
    }
    free(needed);
    if (err == SEAF_OK) {
        *stage = "recv-fs";
        err = fileserver_recv_fs(client, repo, records, n_records);
    }
    if (err == SEAF_OK) {
        *stage = "blocks";
        err = send_blocks(client, repo, u);
    }
    if (err == SEAF_OK) {
        *stage = "update-branch";
        err = fileserver_update_branch(client, repo, u->commit->commit_id, &result);
        if (err != SEAF_OK)
            fprintf(stderr, "update-branch: HTTP %ld %s\n", result.status, result.message);
        fileserver_update_result_release(&result);
    }
    if (err == SEAF_OK) {
        *stage = "head";
        err = fileserver_head_commit(client, repo, head);
    }
    if (err == SEAF_OK) {
        json_object_set_new(out, "head", json_string(head));
        json_object_set_new(out, "sent_fs", json_integer((json_int_t)n_records));
    }
    return err;
}

static seaf_err upload_file(struct seaf_client *client, const char *repo, const char *name,
                            const char *path, const char *user, json_t *out, const char **stage)
{
    struct seaf_commit *head = NULL;
    struct objects objects = {0};
    struct upload u = {0};
    seaf_err err = fetch_metadata(client, repo, &head, &objects, stage);

    if (err == SEAF_OK && head->encrypted)
        err = SEAF_ERR_UNSUPPORTED; /* blocks would need encrypting: not this tool's business */
    if (err == SEAF_OK) {
        *stage = "read";
        err = read_content(path, &u);
    }
    if (err == SEAF_OK) {
        *stage = "make";
        err = make_upload(&objects, head, user, name, &u);
    }
    /* The same tree (same content and, to the second, the same mtime): nothing to upload, and
     * a commit would even get the head's id (same root, author, description and ctime). */
    if (err == SEAF_OK && strcmp(u.root_id, head->root_id) == 0) {
        json_object_set_new(out, "unchanged", json_true());
        json_object_set_new(out, "head", json_string(head->commit_id));
        json_object_set_new(out, "sent_fs", json_integer(0));
    } else if (err == SEAF_OK) {
        err = send_upload(client, repo, &u, out, stage);
    }
    if (err == SEAF_OK) {
        json_object_set_new(out, "parent", json_string(head->commit_id));
        json_object_set_new(out, "commit", json_string(u.commit->commit_id));
        json_object_set_new(out, "root", json_string(u.root_id));
        json_object_set_new(out, "file_id", json_string(u.file_id));
        json_object_set_new(out, "blocks", json_integer((json_int_t)u.n_blocks));
    }
    free_upload(&u);
    seaf_commit_free(head);
    free_objects(&objects);
    return err;
}

/* ---- main ---------------------------------------------------------------------------------- */

static seaf_err connect_account(struct seaf_client *client, const struct settings *s)
{
    bool otp_required = false;
    seaf_err err;

    if (s->token)
        return seaf_client_set_api_token(client, s->token);
    if (seaf_client_load_api_token(client) == SEAF_OK)
        return SEAF_OK;
    if (!s->password)
        return SEAF_ERR_AUTH;
    err = seaf_client_login(client, s->password, s->otp, &otp_required);
    if (err == SEAF_ERR_AUTH && otp_required)
        fprintf(stderr, "the server asks for a one-time code (--otp)\n");
    return err;
}

static int run(struct seaf_client *client, struct http_pool *pool, const struct settings *s,
               int argc, char **argv, double started)
{
    const char *command = argv[0];
    const char *stage = command;
    json_t *out = json_object();
    seaf_err err = SEAF_OK;

    if (strcmp(command, "discover") == 0) {
        char url[1024];
        int version = 0;

        err = seaf_client_fileserver_url(client, url, sizeof(url));
        if (err == SEAF_OK)
            err = fileserver_protocol_version(client, &version);
        if (err == SEAF_OK) {
            json_object_set_new(out, "fileserver", json_string(url));
            json_object_set_new(out, "version", json_integer(version));
        }
        goto done;
    }
    err = connect_account(client, s);
    if (err != SEAF_OK) {
        json_decref(out);
        return fail(err, "login", pool, started);
    }
    if (strcmp(command, "repos") == 0) {
        struct seahub_repo_list list;

        err = seahub_list_repos(client, &list);
        json_t *repos = json_array();
        for (size_t i = 0; err == SEAF_OK && i < list.n_repos; i++) {
            const struct seahub_repo *r = &list.repos[i];

            json_array_append_new(repos, json_pack("{s:s, s:s?, s:s, s:s, s:s, s:b, s:i, s:b, s:I}",
                                                   "id", r->id, "name", r->name, "type", r->type,
                                                   "permission", r->permission, "head",
                                                   r->head_commit_id, "encrypted", r->encrypted,
                                                   "enc_version", r->enc_version, "read_only",
                                                   r->read_only, "size", (json_int_t)r->size));
        }
        json_object_set_new(out, "repos", repos);
        if (err == SEAF_OK)
            seahub_repo_list_release(&list);
    } else if (strcmp(command, "account") == 0) {
        struct seahub_account account;

        err = seahub_account_info(client, &account);
        if (err == SEAF_OK) {
            json_object_set_new(out, "email", json_string(account.email));
            json_object_set_new(out, "total", json_integer(account.total));
            json_object_set_new(out, "usage", json_integer(account.usage));
            seahub_account_release(&account);
        }
    } else if (strcmp(command, "head") == 0 && argc >= 2) {
        char head[SEAF_ID_LEN + 1];

        err = fileserver_head_commit(client, argv[1], head);
        if (err == SEAF_OK)
            json_object_set_new(out, "head", json_string(head));
    } else if ((strcmp(command, "metadata") == 0 && argc >= 2) ||
               (strcmp(command, "cat") == 0 && argc >= 4) ||
               (strcmp(command, "blocks") == 0 && argc >= 3)) {
        struct seaf_commit *commit = NULL;
        struct objects objects = {0};
        json_t *files = json_object();
        json_t *dirs = json_array();

        err = fetch_metadata(client, argv[1], &commit, &objects, &stage);
        if (err == SEAF_OK) {
            stage = "walk";
            err = walk(&objects, commit->root_id, "", files, dirs);
        }
        if (err == SEAF_OK && strcmp(command, "metadata") == 0) {
            json_object_set_new(out, "head", json_string(commit->commit_id));
            json_object_set_new(out, "root", json_string(commit->root_id));
            json_object_set_new(out, "objects", json_integer((json_int_t)objects.n));
            json_object_set(out, "files", files);
            json_object_set(out, "dirs", dirs);
        } else if (err == SEAF_OK) {
            json_t *entry = json_object_get(files, argv[2]);
            int fd = -1;
            double fetch_started = now_s();

            if (!entry)
                err = SEAF_ERR_NOT_FOUND;
            if (err == SEAF_OK && strcmp(command, "cat") == 0) {
                fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
                if (fd < 0)
                    err = SEAF_ERR_IO;
            }
            if (err == SEAF_OK)
                err = fetch_blocks(client, argv[1], entry, fd, s->parallel, s->repeat, &stage);
            if (fd >= 0)
                close(fd);
            if (err == SEAF_OK) {
                json_object_set_new(
                    out, "bytes",
                    json_integer(json_integer_value(json_object_get(entry, "size")) *
                                 (json_int_t)s->repeat));
                json_object_set_new(
                    out, "blocks",
                    json_integer((json_int_t)json_array_size(json_object_get(entry, "blocks"))));
                json_object_set_new(out, "fetch_seconds", json_real(now_s() - fetch_started));
            }
        }
        json_decref(files);
        json_decref(dirs);
        seaf_commit_free(commit);
        free_objects(&objects);
    } else if (strcmp(command, "upload") == 0 && argc >= 4) {
        err = upload_file(client, argv[1], argv[2], argv[3], s->user, out, &stage);
    } else {
        fprintf(stderr, "unknown command or missing arguments: %s\n", command);
        json_decref(out);
        return 2;
    }
done:
    if (err != SEAF_OK) {
        json_decref(out);
        return fail(err, stage, pool, started);
    }
    json_object_set_new(out, "ok", json_true());
    print_result(out, pool, started);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"server", required_argument, NULL, 's'},
        {"fileserver", required_argument, NULL, 'f'},
        {"user", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'p'},
        {"token", required_argument, NULL, 't'},
        {"token-dir", required_argument, NULL, 'd'},
        {"otp", required_argument, NULL, 'o'},
        {"connections", required_argument, NULL, 'c'},
        {"parallel", required_argument, NULL, 'j'},
        {"retries", required_argument, NULL, 'r'},
        {"repeat", required_argument, NULL, 'R'},
        {"low-speed-time", required_argument, NULL, 'l'},
        {"connect-timeout-ms", required_argument, NULL, 'C'},
        {"retry-budget-ms", required_argument, NULL, 'B'},
        {"debug", no_argument, NULL, 'D'},
        {"ca-file", required_argument, NULL, 'A'},
        {"insecure", no_argument, NULL, 'I'},
        {NULL, 0, NULL, 0},
    };
    struct settings s = {.connections = 4, .parallel = 1, .repeat = 1, .retries = -1};
    struct http_pool *pool;
    struct seaf_client *client = NULL;
    double started = now_s();
    seaf_err err;
    int opt;
    int rc;

    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case 's':
            s.server = optarg;
            break;
        case 'f':
            s.fileserver = optarg;
            break;
        case 'u':
            s.user = optarg;
            break;
        case 'p':
            s.password = optarg;
            break;
        case 't':
            s.token = optarg;
            break;
        case 'd':
            s.token_dir = optarg;
            break;
        case 'o':
            s.otp = optarg;
            break;
        case 'c':
            s.connections = (unsigned)atoi(optarg);
            break;
        case 'j':
            s.parallel = (unsigned)atoi(optarg);
            break;
        case 'r':
            s.retries = atol(optarg);
            break;
        case 'R':
            s.repeat = (unsigned)atoi(optarg);
            break;
        case 'l':
            s.low_speed_time = atol(optarg);
            break;
        case 'C':
            s.connect_timeout_ms = atol(optarg);
            break;
        case 'B':
            s.retry_budget_ms = atol(optarg);
            break;
        case 'D':
            s.debug = true;
            break;
        case 'A':
            s.ca_file = optarg;
            break;
        case 'I':
            s.insecure = true;
            break;
        default:
            return 2;
        }
    }
    if (!s.server || !s.user || optind >= argc || s.parallel == 0 || s.repeat == 0) {
        fprintf(stderr, "usage: seafs-netcheck --server URL --user U (--password P | --token T) "
                        "[options] repos|account|head|metadata|cat|blocks|upload ...\n");
        return 2;
    }
    struct http_pool_options pool_options = {.max_connections_per_host = s.connections,
                                             .low_speed_time_s = s.low_speed_time,
                                             .connect_timeout_ms = s.connect_timeout_ms,
                                             .retry_budget_ms = s.retry_budget_ms,
                                             .max_retries = s.retries < 0 ? 0 : (unsigned)s.retries,
                                             .retry_set = s.retries >= 0,
                                             .debug = s.debug,
                                             .ca_file = s.ca_file,
                                             .insecure_skip_tls_verify = s.insecure,
                                             .log = log_stderr};
    pool = http_pool_new(&pool_options, &err);
    if (!pool)
        return fail(err, "setup", NULL, started);
    struct seaf_client_options client_options = {.server_url = s.server,
                                                 .fileserver_url = s.fileserver,
                                                 .username = s.user,
                                                 .device_id = DEVICE_ID,
                                                 .device_name = DEVICE_NAME,
                                                 .token_dir = s.token_dir};
    err = seaf_client_new(&client_options, pool, &client);
    if (err != SEAF_OK) {
        http_pool_free(pool);
        return fail(err, "setup", NULL, started);
    }
    rc = run(client, pool, &s, argc - optind, argv + optind, started);
    seaf_client_free(client);
    http_pool_free(pool);
    return rc;
}
