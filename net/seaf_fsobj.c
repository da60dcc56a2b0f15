/* seaf_fsobj: decompression, id verification and strict validation of version-1 fs objects.
 *
 * Order of checks: the zlib stream is inflated with a hard size cap, the SHA-1 of the JSON is
 * compared with the id the object was requested under (so corrupted or substituted data is
 * reported as such before anything else), then the JSON is validated member by member. A
 * directory keeps its entries in one allocation: the dirent array followed by the names and
 * modifiers, which makes freeing trivial and keeps large directories compact. */
#include "seaf_fsobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "seaf_dir_scan.h"
#include "seaf_json_field.h"
#include "seaf_sha1.h"

/* ---------------------------------------------------------------- names */

/* Length of the UTF-8 sequence starting at s (at most avail bytes), or 0 if it is invalid:
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
static size_t utf8_sequence_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t min;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0) {
        len = 2, min = 0x80, cp = c & 0x1f;
    } else if ((c & 0xf0) == 0xe0) {
        len = 3, min = 0x800, cp = c & 0x0f;
    } else if ((c & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, cp = c & 0x07;
    } else {
        return 0;
    }
    if (len > avail)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

bool seaf_utf8_valid(const char *s, size_t len)
{
    const unsigned char *bytes = (const unsigned char *)s;
    if (s == NULL)
        return len == 0;
    for (size_t i = 0; i < len;) {
        size_t step = utf8_sequence_len(bytes + i, len - i);
        if (step == 0)
            return false;
        i += step;
    }
    return true;
}

const char *seaf_name_problem(const char *name, size_t len)
{
    if (name == NULL || len == 0)
        return "name is empty";
    if (len >= SEAF_NAME_MAX)
        return "name is 256 bytes or longer";
    if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
        return "name is \".\" or \"..\"";
    if (memchr(name, '/', len) != NULL)
        return "name contains '/'";
    if (memchr(name, '\0', len) != NULL)
        return "name contains a NUL byte";
    if (!seaf_utf8_valid(name, len))
        return "name is not valid UTF-8";
    return NULL;
}

/* strcmp order of two names that contain no NUL. */
static int name_cmp(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0)
        return c;
    return a_len < b_len ? -1 : (a_len > b_len ? 1 : 0);
}

/* ---------------------------------------------------------------- zlib */

seaf_err seaf_fsobj_inflate(const void *stored, size_t len, char **json_out, size_t *json_len,
                            struct seaf_parse_msg *msg)
{
    if ((stored == NULL && len > 0) || json_out == NULL || json_len == NULL)
        return SEAF_ERR_INVALID_ARG;
    if (len > SEAF_FSOBJ_MAX_STORED_SIZE)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "fs object: %zu stored bytes is too large",
                               len);
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit(&zs) != Z_OK)
        return SEAF_ERR_NOMEM;
    size_t cap = len < SEAF_FSOBJ_MAX_SIZE / 8 ? len * 8 + 256 : SEAF_FSOBJ_MAX_SIZE + 1;
    unsigned char *buf = malloc(cap);
    seaf_err err = buf == NULL ? SEAF_ERR_NOMEM : SEAF_OK;
    size_t used = 0;
    zs.next_in = (unsigned char *)stored;
    zs.avail_in = (uInt)len;
    int zrc = Z_OK;
    while (err == SEAF_OK && zrc != Z_STREAM_END) {
        if (used == cap) {
            if (cap > SEAF_FSOBJ_MAX_SIZE) {
                err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                                      "fs object: decompresses to more than %d bytes",
                                      SEAF_FSOBJ_MAX_SIZE);
                break;
            }
            size_t bigger = cap * 2 > SEAF_FSOBJ_MAX_SIZE ? SEAF_FSOBJ_MAX_SIZE + 1 : cap * 2;
            unsigned char *grown = realloc(buf, bigger);
            if (grown == NULL) {
                err = SEAF_ERR_NOMEM;
                break;
            }
            buf = grown;
            cap = bigger;
        }
        zs.next_out = buf + used;
        zs.avail_out = (uInt)(cap - used);
        zrc = inflate(&zs, Z_NO_FLUSH);
        used = cap - zs.avail_out;
        if (zrc == Z_MEM_ERROR)
            err = SEAF_ERR_NOMEM;
        else if (zrc == Z_BUF_ERROR && zs.avail_in == 0)
            err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "fs object: zlib data is truncated");
        else if (zrc != Z_OK && zrc != Z_STREAM_END && zrc != Z_BUF_ERROR)
            err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "fs object: bad zlib data (%s)",
                                  zs.msg != NULL ? zs.msg : "unknown");
    }
    if (err == SEAF_OK && zs.avail_in != 0)
        err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                              "fs object: %u bytes of garbage after the zlib stream", zs.avail_in);
    if (err == SEAF_OK && used > SEAF_FSOBJ_MAX_SIZE)
        err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                              "fs object: decompresses to more than %d bytes", SEAF_FSOBJ_MAX_SIZE);
    inflateEnd(&zs);
    if (err != SEAF_OK) {
        free(buf);
        return err;
    }
    *json_out = (char *)buf;
    *json_len = used;
    return SEAF_OK;
}

/* ---------------------------------------------------------------- file objects */

static seaf_err parse_file(json_t *root, struct seaf_file *file, struct seaf_parse_msg *msg)
{
    static const char what[] = "file object";
    json_int_t size = 0;
    seaf_err err = seaf_json_int(root, "size", true, what, &size, NULL, msg);
    if (err != SEAF_OK)
        return err;
    if (size <= 0 || size > SEAF_MAX_FILE_SIZE)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "file object: size %lld is out of range (an empty file has no "
                               "object; at most %lld)",
                               (long long)size, (long long)SEAF_MAX_FILE_SIZE);
    json_t *ids = json_object_get(root, "block_ids");
    if (!json_is_array(ids))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "file object: \"block_ids\" is missing or not an array");
    size_t n = json_array_size(ids);
    if (n == 0 || (json_int_t)n > size)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "file object: %zu blocks cannot hold %lld bytes (every block holds "
                               "at least one byte)",
                               n, (long long)size);
    file->block_ids = malloc(n * sizeof(*file->block_ids));
    if (file->block_ids == NULL)
        return SEAF_ERR_NOMEM;
    file->n_blocks = n;
    file->size = size;
    for (size_t i = 0; i < n; i++) {
        json_t *id = json_array_get(ids, i);
        if (!json_is_string(id) || !seaf_id_valid(json_string_value(id), json_string_length(id)))
            return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                                   "file object: block %zu is not 40 lowercase hex digits", i);
        memcpy(file->block_ids[i], json_string_value(id), SEAF_ID_LEN + 1);
    }
    return SEAF_OK;
}

/* ---------------------------------------------------------------- directory objects */

/* What one dirent holds before it is copied into the directory's storage. */
struct dirent_fields {
    const char *name;
    size_t name_len;
    const char *modifier;
    size_t modifier_len;
};

/* The rules on a dirent's mode and name (out->id set, the members read): fills out for a
 * directory entry, a file's size comes with check_file_size. */
static seaf_err check_mode_and_name(const char *what, json_int_t mode, json_int_t mtime,
                                    struct seaf_dirent *out, struct dirent_fields *fields,
                                    struct seaf_parse_msg *msg)
{
    if (mode != SEAF_MODE_FILE && mode != SEAF_MODE_FILE_EXEC && mode != SEAF_MODE_DIR)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "%s: mode %lld is not 33188, 33261 or 16384", what, (long long)mode);
    const char *problem = seaf_name_problem(fields->name, fields->name_len);
    if (problem != NULL)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: %s", what, problem);
    out->mode = (uint32_t)mode;
    out->mtime = mtime;
    out->size = 0;
    fields->modifier = "";
    fields->modifier_len = 0;
    return SEAF_OK;
}

/* The rules on a file entry's size: in range, and 0 exactly for the empty file's id. */
static seaf_err check_file_size(const char *what, json_int_t size, struct seaf_dirent *out,
                                struct seaf_parse_msg *msg)
{
    if (size < 0 || size > SEAF_MAX_FILE_SIZE)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: size %lld is out of range", what,
                               (long long)size);
    if ((size == 0) != (strcmp(out->id, SEAF_EMPTY_ID) == 0))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "%s: size %lld does not match id %s (only empty files have the "
                               "all-zero id)",
                               what, (long long)size, out->id);
    out->size = size;
    return SEAF_OK;
}

static seaf_err check_dirent(json_t *entry, size_t index, struct seaf_dirent *out,
                             struct dirent_fields *fields, struct seaf_parse_msg *msg)
{
    char what[32];
    snprintf(what, sizeof(what), "dirent %zu", index);
    if (!json_is_object(entry))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s is not an object", what);
    json_int_t mode = 0;
    json_int_t mtime = 0;
    seaf_err err = seaf_json_id(entry, "id", false, what, out->id, msg);
    if (err == SEAF_OK)
        err = seaf_json_int(entry, "mode", true, what, &mode, NULL, msg);
    if (err == SEAF_OK)
        err = seaf_json_int(entry, "mtime", true, what, &mtime, NULL, msg);
    if (err == SEAF_OK)
        err = seaf_json_string(entry, "name", true, false, what, &fields->name, &fields->name_len,
                               msg);
    if (err == SEAF_OK)
        err = check_mode_and_name(what, mode, mtime, out, fields, msg);
    if (err != SEAF_OK || mode == SEAF_MODE_DIR)
        return err;

    json_int_t size = 0;
    err = seaf_json_int(entry, "size", true, what, &size, NULL, msg);
    if (err == SEAF_OK)
        err = seaf_json_string(entry, "modifier", false, false, what, &fields->modifier,
                               &fields->modifier_len, msg);
    if (err != SEAF_OK)
        return err;
    if (fields->modifier == NULL)
        fields->modifier = "";
    return check_file_size(what, size, out, msg);
}

/* The same rules on an entry read by seaf_dir_scan (which leaves UTF-8 to be checked); no
 * message: on any failure the general parser reads the object again and says what is wrong. */
static bool check_scanned(const struct seaf_scan_dirent *e, struct seaf_dirent *out,
                          struct dirent_fields *fields)
{
    const unsigned needed = SEAF_SCAN_ID | SEAF_SCAN_MODE | SEAF_SCAN_MTIME | SEAF_SCAN_NAME;
    if ((e->present & needed) != needed || !seaf_id_valid(e->id, e->id_len))
        return false;
    if ((e->present & SEAF_SCAN_MODIFIER) && !seaf_utf8_valid(e->modifier, e->modifier_len))
        return false;
    memcpy(out->id, e->id, SEAF_ID_LEN);
    out->id[SEAF_ID_LEN] = '\0';
    fields->name = e->name;
    fields->name_len = e->name_len;
    if (check_mode_and_name("", e->mode, e->mtime, out, fields, NULL) != SEAF_OK)
        return false;
    if (e->mode == SEAF_MODE_DIR)
        return true;
    if (!(e->present & SEAF_SCAN_SIZE))
        return false;
    if (e->present & SEAF_SCAN_MODIFIER) {
        fields->modifier = e->modifier;
        fields->modifier_len = e->modifier_len;
    }
    return check_file_size("", e->size, out, NULL) == SEAF_OK;
}

/* Entry i against entry i - 1: names strictly descending. */
static seaf_err check_order(const struct dirent_fields *fields, size_t i,
                            struct seaf_parse_msg *msg)
{
    int order =
        name_cmp(fields[i - 1].name, fields[i - 1].name_len, fields[i].name, fields[i].name_len);
    if (order == 0)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "dirent %zu: duplicate name", i);
    if (order < 0)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "dirent %zu: entries are not sorted in descending name order", i);
    return SEAF_OK;
}

/* Copies n checked entries into dir: one block, the entries, then their strings. */
static seaf_err place_entries(const struct seaf_dirent *entries, const struct dirent_fields *fields,
                              size_t n, struct seaf_dir *dir)
{
    size_t strings = 0;
    for (size_t i = 0; i < n; i++)
        strings += fields[i].name_len + 1 + fields[i].modifier_len + 1;
    char *block = malloc(n * sizeof(*entries) + strings + 1);
    if (block == NULL)
        return SEAF_ERR_NOMEM;
    struct seaf_dirent *placed = (struct seaf_dirent *)block;
    char *pool = block + n * sizeof(*entries);
    for (size_t i = 0; i < n; i++) {
        placed[i] = entries[i];
        memcpy(pool, fields[i].name, fields[i].name_len);
        pool[fields[i].name_len] = '\0';
        placed[i].name = pool;
        placed[i].name_len = fields[i].name_len;
        pool += fields[i].name_len + 1;
        memcpy(pool, fields[i].modifier, fields[i].modifier_len);
        pool[fields[i].modifier_len] = '\0';
        placed[i].modifier = pool;
        pool += fields[i].modifier_len + 1;
    }
    dir->entries = placed;
    dir->n_entries = n;
    return SEAF_OK;
}

/* Room for n entries and their fields; SEAF_ERR_NOMEM (both NULL) when there is none. */
static seaf_err entry_arrays(size_t n, struct seaf_dirent **entries, struct dirent_fields **fields)
{
    *fields = calloc(n > 0 ? n : 1, sizeof(**fields));
    *entries = calloc(n > 0 ? n : 1, sizeof(**entries));
    if (*fields != NULL && *entries != NULL)
        return SEAF_OK;
    free(*fields);
    free(*entries);
    *fields = NULL;
    *entries = NULL;
    return SEAF_ERR_NOMEM;
}

/* A directory object in the plain form (seaf_dir_scan): SEAF_OK with dir filled, SEAF_ERR_NOMEM,
 * or SEAF_ERR_MALFORMED when it is not one or breaks a rule (then read it with parse_dir). */
static seaf_err parse_plain_dir(const char *json, size_t len, struct seaf_dir *dir)
{
    struct seaf_scan_dirent *scanned;
    size_t n;
    if (!seaf_dir_scan(json, len, &scanned, &n))
        return SEAF_ERR_MALFORMED;
    struct seaf_dirent *entries;
    struct dirent_fields *fields;
    seaf_err err = entry_arrays(n, &entries, &fields);
    for (size_t i = 0; i < n && err == SEAF_OK; i++)
        if (!check_scanned(&scanned[i], &entries[i], &fields[i]) ||
            (i > 0 && check_order(fields, i, NULL) != SEAF_OK))
            err = SEAF_ERR_MALFORMED;
    if (err == SEAF_OK)
        err = place_entries(entries, fields, n, dir);
    free(fields);
    free(entries);
    free(scanned);
    return err;
}

static seaf_err parse_dir(json_t *root, struct seaf_dir *dir, struct seaf_parse_msg *msg)
{
    json_t *array = json_object_get(root, "dirents");
    if (!json_is_array(array))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "dir object: \"dirents\" is missing or not an array");
    size_t n = json_array_size(array);
    struct seaf_dirent *entries;
    struct dirent_fields *fields;
    seaf_err err = entry_arrays(n, &entries, &fields);
    for (size_t i = 0; i < n && err == SEAF_OK; i++) {
        err = check_dirent(json_array_get(array, i), i, &entries[i], &fields[i], msg);
        if (err == SEAF_OK && i > 0)
            err = check_order(fields, i, msg);
    }
    if (err == SEAF_OK)
        err = place_entries(entries, fields, n, dir);
    free(fields);
    free(entries);
    return err;
}

const struct seaf_dirent *seaf_dir_lookup(const struct seaf_dir *dir, const char *name,
                                          size_t name_len)
{
    if (dir == NULL || name == NULL)
        return NULL;
    size_t lo = 0;
    size_t hi = dir->n_entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct seaf_dirent *entry = &dir->entries[mid];
        int c = name_cmp(name, name_len, entry->name, entry->name_len);
        if (c == 0)
            return entry;
        if (c > 0) /* descending order: larger names come first */
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

bool seaf_dirent_is_dir(const struct seaf_dirent *dirent)
{
    return dirent != NULL && dirent->mode == SEAF_MODE_DIR;
}

/* ---------------------------------------------------------------- objects */

/* Validates the JSON of an fs object into obj. */
static seaf_err parse_object(const char *json, size_t len, struct seaf_fsobj *obj,
                             struct seaf_parse_msg *msg)
{
    static const char what[] = "fs object";
    seaf_err err = parse_plain_dir(json, len, &obj->dir);
    if (err == SEAF_OK)
        obj->type = SEAF_FSOBJ_DIR;
    if (err != SEAF_ERR_MALFORMED)
        return err;
    json_t *root;
    err = seaf_json_load_object(json, len, what, &root, msg);
    if (err != SEAF_OK)
        return err;
    json_int_t type = 0;
    json_int_t version = 0;
    err = seaf_json_int(root, "version", true, what, &version, NULL, msg);
    if (err == SEAF_OK && version != 1)
        err = seaf_parse_fail(msg, SEAF_ERR_UNSUPPORTED,
                              "fs object: version %lld is not supported; only version 1 is",
                              (long long)version);
    if (err == SEAF_OK)
        err = seaf_json_int(root, "type", true, what, &type, NULL, msg);
    if (err == SEAF_OK) {
        if (type == SEAF_FSOBJ_FILE) {
            obj->type = SEAF_FSOBJ_FILE;
            err = parse_file(root, &obj->file, msg);
        } else if (type == SEAF_FSOBJ_DIR) {
            obj->type = SEAF_FSOBJ_DIR;
            err = parse_dir(root, &obj->dir, msg);
        } else {
            err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                                  "fs object: type %lld is neither 1 (file) nor 3 (directory)",
                                  (long long)type);
        }
    }
    json_decref(root);
    return err;
}

/* SEAF_OK when id names an object that can exist: 40 lowercase hex digits, not SEAF_EMPTY_ID. */
static seaf_err check_requested_id(const char *id, struct seaf_parse_msg *msg)
{
    size_t id_len = strnlen(id, SEAF_ID_LEN + 1);
    if (!seaf_id_valid(id, id_len) || strcmp(id, SEAF_EMPTY_ID) == 0)
        return seaf_parse_fail(msg, SEAF_ERR_INVALID_ARG,
                               "fs object: requested id is not a valid object id");
    return SEAF_OK;
}

seaf_err seaf_fsobj_parse_json(const char *json, size_t len, const char *id,
                               struct seaf_fsobj **out, struct seaf_parse_msg *msg)
{
    if ((json == NULL && len > 0) || id == NULL || out == NULL)
        return SEAF_ERR_INVALID_ARG;
    *out = NULL;
    seaf_err err = check_requested_id(id, msg);
    if (err != SEAF_OK)
        return err;
    char actual[SEAF_ID_LEN + 1];
    err = seaf_sha1_id(json, len, actual);
    if (err == SEAF_OK && strcmp(actual, id) != 0)
        err = seaf_parse_fail(msg, SEAF_ERR_ID_MISMATCH,
                              "fs object %s: content hashes to %s (corrupted or substituted)", id,
                              actual);
    if (err != SEAF_OK)
        return err;
    struct seaf_fsobj *obj = calloc(1, sizeof(*obj));
    err = obj == NULL ? SEAF_ERR_NOMEM : parse_object(json != NULL ? json : "", len, obj, msg);
    if (err != SEAF_OK) {
        seaf_fsobj_free(obj);
        return err;
    }
    *out = obj;
    return SEAF_OK;
}

seaf_err seaf_fsobj_parse(const void *stored, size_t len, const char *id, struct seaf_fsobj **out,
                          struct seaf_parse_msg *msg)
{
    if ((stored == NULL && len > 0) || id == NULL || out == NULL)
        return SEAF_ERR_INVALID_ARG;
    *out = NULL;
    seaf_err err = check_requested_id(id, msg);
    if (err != SEAF_OK)
        return err;
    char *json = NULL;
    size_t json_len = 0;
    err = seaf_fsobj_inflate(stored, len, &json, &json_len, msg);
    if (err != SEAF_OK)
        return err;
    err = seaf_fsobj_parse_json(json, json_len, id, out, msg);
    free(json);
    return err;
}

void seaf_fsobj_free(struct seaf_fsobj *obj)
{
    if (obj == NULL)
        return;
    if (obj->type == SEAF_FSOBJ_FILE)
        free(obj->file.block_ids);
    else if (obj->type == SEAF_FSOBJ_DIR)
        free(obj->dir.entries);
    free(obj);
}
