/* seaf_objwrite: serialisation of fs objects and commits for the upload path.
 *
 * The JSON is written by hand rather than with jansson: jansson's json_dumps gives the right
 * bytes only with JSON_SORT_KEYS for fs objects and insertion order for commits, and building a
 * json_t tree of a large directory first would double its memory. The writer reproduces
 * jansson's output exactly: ", " and ": " separators, integers in decimal, strings as raw UTF-8
 * with only '"', '\\' and bytes below 0x20 escaped (\b \f \n \r \t, else \u00XX in uppercase).
 * Everything is validated before it is written, so no object leaves here that the read side
 * (seaf_fsobj_parse, seaf_commit_parse) or the server would refuse. */
#include "seaf_objwrite.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "seaf_sha1.h"

/* ---- JSON text builder ------------------------------------------------------------------- */

/* A growing text; an allocation failure is remembered and reported once at the end. */
struct jbuf {
    char *data;
    size_t len;
    size_t cap;
    bool failed;
};

static void jb_raw(struct jbuf *b, const char *s, size_t n)
{
    if (b->failed || n == 0)
        return;
    if (n + 1 > b->cap - b->len) {
        size_t cap = b->cap ? b->cap : 256;
        while (n + 1 > cap - b->len)
            cap *= 2;
        char *grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = true;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void jb_lit(struct jbuf *b, const char *s)
{
    jb_raw(b, s, strlen(s));
}

/* A JSON string of the n bytes at s (valid UTF-8), escaped as jansson does: these bytes by a
 * letter, every other byte below 0x20 as \u00XX. */
static void jb_str(struct jbuf *b, const char *s, size_t n)
{
    static const char short_from[] = "\"\\\b\f\n\r\t";
    static const char short_to[] = "\"\\bfnrt";
    size_t start = 0;

    jb_raw(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char seq[8];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        const char *named = memchr(short_from, c, sizeof(short_from) - 1);
        if (named)
            snprintf(seq, sizeof(seq), "\\%c", short_to[named - short_from]);
        else
            snprintf(seq, sizeof(seq), "\\u%04X", (unsigned)c);
        jb_raw(b, s + start, i - start);
        jb_lit(b, seq);
        start = i + 1;
    }
    jb_raw(b, s + start, n - start);
    jb_raw(b, "\"", 1);
}

static void jb_int(struct jbuf *b, int64_t value)
{
    char text[32];

    jb_raw(b, text, (size_t)snprintf(text, sizeof(text), "%lld", (long long)value));
}

/* Starts the member key of the object being written (", " before all but the first, i.e. unless
 * the text so far ends with '{'). */
static void jb_key(struct jbuf *b, const char *key)
{
    if (b->len > 0 && b->data[b->len - 1] != '{')
        jb_lit(b, ", ");
    jb_str(b, key, strlen(key));
    jb_lit(b, ": ");
}

static void jb_key_str(struct jbuf *b, const char *key, const char *value)
{
    jb_key(b, key);
    jb_str(b, value, strlen(value));
}

static void jb_key_int(struct jbuf *b, const char *key, int64_t value)
{
    jb_key(b, key);
    jb_int(b, value);
}

/* Hands the text over (NUL-terminated, NUL not counted); SEAF_ERR_NOMEM if anything failed. */
static seaf_err jb_finish(struct jbuf *b, char **json, size_t *len)
{
    if (b->failed) {
        free(b->data);
        return SEAF_ERR_NOMEM;
    }
    *json = b->data;
    *len = b->len;
    return SEAF_OK;
}

/* ---- fs objects -------------------------------------------------------------------------- */

static bool id_ok(const char *id)
{
    return id != NULL && seaf_id_valid(id, strnlen(id, SEAF_ID_LEN + 1));
}

static bool is_empty_id(const char *id)
{
    return strcmp(id, SEAF_EMPTY_ID) == 0;
}

/* Hands out an fs object's JSON with its id, refusing what seaf_fsobj_parse would refuse. */
static seaf_err finish_fsobj(struct jbuf *b, char **json, size_t *len, char id_out[SEAF_ID_LEN + 1])
{
    seaf_err err = jb_finish(b, json, len);

    if (err != SEAF_OK)
        return err;
    err = *len > SEAF_FSOBJ_MAX_SIZE ? SEAF_ERR_INVALID_ARG : seaf_sha1_id(*json, *len, id_out);
    if (err != SEAF_OK) {
        free(*json);
        *json = NULL;
        *len = 0;
    }
    return err;
}

/* Strictly descending byte order of names (no NUL inside). */
static int by_name_descending(const void *a, const void *b)
{
    const struct seaf_dirent *x = *(const struct seaf_dirent *const *)a;
    const struct seaf_dirent *y = *(const struct seaf_dirent *const *)b;
    int c = memcmp(y->name, x->name, x->name_len < y->name_len ? x->name_len : y->name_len);

    if (c != 0)
        return c;
    return (y->name_len > x->name_len) - (y->name_len < x->name_len);
}

static bool dirent_ok(const struct seaf_dirent *e)
{
    if (seaf_name_problem(e->name, e->name_len) != NULL || !id_ok(e->id))
        return false;
    if (e->mode == SEAF_MODE_DIR)
        return true;
    if (e->mode != SEAF_MODE_FILE && e->mode != SEAF_MODE_FILE_EXEC)
        return false;
    if (e->size < 0 || e->size > SEAF_MAX_FILE_SIZE || (e->size == 0) != is_empty_id(e->id))
        return false;
    return e->modifier == NULL || seaf_utf8_valid(e->modifier, strlen(e->modifier));
}

static void write_dirent(struct jbuf *b, const struct seaf_dirent *e)
{
    jb_lit(b, "{");
    jb_key_str(b, "id", e->id);
    jb_key_int(b, "mode", e->mode);
    if (e->mode != SEAF_MODE_DIR)
        jb_key_str(b, "modifier", e->modifier ? e->modifier : "");
    jb_key_int(b, "mtime", e->mtime);
    jb_key(b, "name");
    jb_str(b, e->name, e->name_len);
    if (e->mode != SEAF_MODE_DIR)
        jb_key_int(b, "size", e->size);
    jb_lit(b, "}");
}

seaf_err seaf_dir_to_json(const struct seaf_dirent *entries, size_t n, char **json, size_t *len,
                          char id_out[SEAF_ID_LEN + 1])
{
    struct jbuf b = {0};

    if (json == NULL || len == NULL || id_out == NULL || (n > 0 && entries == NULL))
        return SEAF_ERR_INVALID_ARG;
    *json = NULL;
    *len = 0;
    for (size_t i = 0; i < n; i++) {
        if (!dirent_ok(&entries[i]))
            return SEAF_ERR_INVALID_ARG;
    }
    if (n == 0) {
        memcpy(id_out, SEAF_EMPTY_ID, SEAF_ID_LEN + 1);
        return SEAF_OK;
    }
    const struct seaf_dirent **order = malloc(n * sizeof(*order));
    if (order == NULL)
        return SEAF_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        order[i] = &entries[i];
    qsort(order, n, sizeof(*order), by_name_descending);
    for (size_t i = 1; i < n; i++) {
        if (by_name_descending(&order[i - 1], &order[i]) == 0) {
            free(order);
            return SEAF_ERR_INVALID_ARG; /* duplicate name */
        }
    }
    jb_lit(&b, "{\"dirents\": [");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            jb_lit(&b, ", ");
        write_dirent(&b, order[i]);
    }
    jb_lit(&b, "], \"type\": 3, \"version\": 1}");
    free(order);
    return finish_fsobj(&b, json, len, id_out);
}

seaf_err seaf_file_to_json(const char (*block_ids)[SEAF_ID_LEN + 1], size_t n, int64_t size,
                           char **json, size_t *len, char id_out[SEAF_ID_LEN + 1])
{
    struct jbuf b = {0};

    if (json == NULL || len == NULL || id_out == NULL || (n > 0 && block_ids == NULL))
        return SEAF_ERR_INVALID_ARG;
    *json = NULL;
    *len = 0;
    if (n == 0 && size == 0) {
        memcpy(id_out, SEAF_EMPTY_ID, SEAF_ID_LEN + 1);
        return SEAF_OK;
    }
    /* Every block holds at least one byte, so n <= size (checked as the parser does). */
    if (n == 0 || size <= 0 || size > SEAF_MAX_FILE_SIZE || (uint64_t)n > (uint64_t)size)
        return SEAF_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        if (!id_ok(block_ids[i]))
            return SEAF_ERR_INVALID_ARG;
    }
    jb_lit(&b, "{\"block_ids\": [");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            jb_lit(&b, ", ");
        jb_str(&b, block_ids[i], SEAF_ID_LEN);
    }
    jb_lit(&b, "]");
    jb_key_int(&b, "size", size);
    jb_lit(&b, ", \"type\": 1, \"version\": 1}");
    return finish_fsobj(&b, json, len, id_out);
}

seaf_err seaf_fsobj_deflate(const char *json, size_t len, void **stored, size_t *stored_len)
{
    if (json == NULL || len == 0 || len > SEAF_FSOBJ_MAX_SIZE || stored == NULL ||
        stored_len == NULL)
        return SEAF_ERR_INVALID_ARG;
    *stored = NULL;
    *stored_len = 0;
    uLongf out_len = compressBound((uLong)len);
    unsigned char *out = malloc(out_len);
    if (out == NULL)
        return SEAF_ERR_NOMEM;
    /* Z_DEFAULT_COMPRESSION is level 6, what the C client's deflateInit uses. */
    int rc = compress2(out, &out_len, (const Bytef *)json, (uLong)len, Z_DEFAULT_COMPRESSION);
    if (rc != Z_OK) {
        free(out);
        return rc == Z_MEM_ERROR ? SEAF_ERR_NOMEM : SEAF_ERR_INVALID_ARG;
    }
    *stored = out;
    *stored_len = out_len;
    return SEAF_OK;
}

/* ---- commits ----------------------------------------------------------------------------- */

static void jb_key_id_or_null(struct jbuf *b, const char *key, const char *id)
{
    jb_key(b, key);
    if (id[0] == '\0')
        jb_lit(b, "null");
    else
        jb_str(b, id, strlen(id));
}

/* The optional string member key, written only when value is not NULL. */
static void jb_key_opt_str(struct jbuf *b, const char *key, const char *value)
{
    if (value != NULL)
        jb_key_str(b, key, value);
}

static void jb_key_flag(struct jbuf *b, const char *key, bool set)
{
    if (set)
        jb_key_int(b, key, 1);
}

static void write_commit(struct jbuf *b, const struct seaf_commit *c)
{
    jb_lit(b, "{");
    jb_key_str(b, "commit_id", c->commit_id);
    jb_key_str(b, "root_id", c->root_id);
    jb_key_str(b, "repo_id", c->repo_id);
    jb_key_opt_str(b, "creator_name", c->creator_name);
    jb_key_str(b, "creator", c->creator);
    jb_key_str(b, "description", c->description);
    jb_key_int(b, "ctime", c->ctime);
    jb_key_id_or_null(b, "parent_id", c->parent_id);
    jb_key_id_or_null(b, "second_parent_id", c->second_parent_id);
    jb_key_str(b, "repo_name", c->repo_name);
    jb_key_str(b, "repo_desc", c->repo_desc ? c->repo_desc : "");
    jb_key(b, "repo_category");
    jb_lit(b, "null");
    jb_key_opt_str(b, "device_name", c->device_name);
    jb_key_opt_str(b, "client_version", c->client_version);
    if (c->encrypted) {
        jb_key_str(b, "encrypted", "true");
        jb_key_int(b, "enc_version", c->enc_version);
        jb_key_opt_str(b, "magic", c->magic);
        jb_key_opt_str(b, "key", c->key);
        jb_key_opt_str(b, "salt", c->salt);
        jb_key_opt_str(b, "pwd_hash", c->pwd_hash);
        jb_key_opt_str(b, "pwd_hash_algo", c->pwd_hash_algo);
        jb_key_opt_str(b, "pwd_hash_params", c->pwd_hash_params);
    }
    jb_key_flag(b, "no_local_history", c->no_local_history);
    if (c->version != 0)
        jb_key_int(b, "version", c->version);
    jb_key_flag(b, "conflict", c->conflict);
    jb_key_flag(b, "new_merge", c->new_merge);
    jb_key_flag(b, "repaired", c->repaired);
    jb_lit(b, "}");
}

seaf_err seaf_commit_to_json(const struct seaf_commit *c, char **json, size_t *len)
{
    struct jbuf b = {0};
    struct seaf_commit *check = NULL;

    if (c == NULL || json == NULL || len == NULL || c->description == NULL || c->repo_name == NULL)
        return SEAF_ERR_INVALID_ARG;
    *json = NULL;
    *len = 0;
    write_commit(&b, c);
    seaf_err err = jb_finish(&b, json, len);
    if (err != SEAF_OK)
        return err;
    /* What the read side refuses, the server refuses too (same rules as its upload checks). */
    err = seaf_commit_parse(*json, *len, &check, NULL);
    seaf_commit_free(check);
    if (err != SEAF_OK) {
        free(*json);
        *json = NULL;
        *len = 0;
        return err == SEAF_ERR_NOMEM ? err : SEAF_ERR_INVALID_ARG;
    }
    return SEAF_OK;
}

/* A copy of s (NULL stays NULL); sets *failed when out of memory. */
static char *dup_opt(const char *s, bool *failed)
{
    char *copy;

    if (s == NULL)
        return NULL;
    copy = strdup(s);
    if (copy == NULL)
        *failed = true;
    return copy;
}

static bool utf8_opt(const char *s)
{
    return s == NULL || seaf_utf8_valid(s, strlen(s));
}

seaf_err seaf_commit_new_child(const struct seaf_commit *parent, const char *root_id,
                               const char *creator, const char *creator_name,
                               const char *description, int64_t ctime, const char *device_name,
                               const char *client_version, struct seaf_commit **out)
{
    bool failed = false;

    if (out == NULL)
        return SEAF_ERR_INVALID_ARG;
    *out = NULL;
    if (!id_ok(root_id) || !id_ok(creator) || creator_name == NULL || description == NULL ||
        !utf8_opt(creator_name) || !utf8_opt(description) || !utf8_opt(device_name) ||
        !utf8_opt(client_version))
        return SEAF_ERR_INVALID_ARG;
    struct seaf_commit *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SEAF_ERR_NOMEM;
    if (parent != NULL) {
        memcpy(c->repo_id, parent->repo_id, sizeof(c->repo_id));
        memcpy(c->parent_id, parent->commit_id, sizeof(c->parent_id));
        c->repo_name = dup_opt(parent->repo_name ? parent->repo_name : "", &failed);
        c->repo_desc = dup_opt(parent->repo_desc ? parent->repo_desc : "", &failed);
        c->encrypted = parent->encrypted;
        c->enc_version = parent->enc_version;
        c->magic = dup_opt(parent->magic, &failed);
        c->key = dup_opt(parent->key, &failed);
        c->salt = dup_opt(parent->salt, &failed);
        c->pwd_hash = dup_opt(parent->pwd_hash, &failed);
        c->pwd_hash_algo = dup_opt(parent->pwd_hash_algo, &failed);
        c->pwd_hash_params = dup_opt(parent->pwd_hash_params, &failed);
    } else {
        c->repo_name = dup_opt("", &failed);
        c->repo_desc = dup_opt("", &failed);
    }
    memcpy(c->root_id, root_id, SEAF_ID_LEN + 1);
    memcpy(c->creator, creator, SEAF_ID_LEN + 1);
    c->creator_name = dup_opt(creator_name, &failed);
    c->description = dup_opt(description, &failed);
    c->device_name = dup_opt(device_name, &failed);
    c->client_version = dup_opt(client_version, &failed);
    c->ctime = ctime;
    c->version = 1;
    seaf_err err =
        failed ? SEAF_ERR_NOMEM : seaf_commit_compute_id(c, SEAF_COMMIT_ID_C, c->commit_id);
    if (err != SEAF_OK) {
        seaf_commit_free(c);
        return err;
    }
    *out = c;
    return SEAF_OK;
}
