/* seaf_fsobj: Seafile fs objects of repo version 1 (protocol doc §4.2-4.4) -- file objects (the
 * block list of a file) and directory objects (the sorted entries of a directory). Takes the
 * bytes as stored and transferred (zlib-compressed JSON) plus the id they were fetched under,
 * and returns a validated, read-only structure the cache and the FUSE layer use directly. */
#ifndef SEAFS_SEAF_FSOBJ_H
#define SEAFS_SEAF_FSOBJ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"
#include "seaf_ids.h"
#include "seaf_parse_msg.h"

/* Largest decompressed fs object accepted (bytes). A dirent takes about 150 bytes plus its name
 * and modifier; with 255-byte names and long modifiers about 650 bytes. 32 MiB holds 20,000
 * worst-case entries with 2.5x headroom, or some 150,000 typical ones, and the file object of a
 * multi-terabyte file (44 bytes per block id). Anything larger is a decompression bomb or garbage
 * and is refused before it costs more memory. */
#define SEAF_FSOBJ_MAX_SIZE (32 * 1024 * 1024)
/* Largest stored (compressed) fs object accepted: the maximum above plus zlib's worst-case
 * expansion of incompressible data (5 bytes per 16 KiB stored block, header and trailer). */
#define SEAF_FSOBJ_MAX_STORED_SIZE (SEAF_FSOBJ_MAX_SIZE + SEAF_FSOBJ_MAX_SIZE / 16384 * 5 + 64)
/* Largest file size accepted (1 PiB): far beyond any real Seafile file, and small enough that
 * offset arithmetic on it can never overflow int64_t. */
#define SEAF_MAX_FILE_SIZE ((int64_t)1 << 50)
/* Names are shorter than this many bytes (protocol doc §8). */
#define SEAF_NAME_MAX 256

/* The only dirent modes that exist. */
#define SEAF_MODE_FILE      33188 /* 0100644 */
#define SEAF_MODE_FILE_EXEC 33261 /* 0100755 */
#define SEAF_MODE_DIR       16384 /* 040000 */

/* A file object: the content is the concatenation of the blocks. Never describes an empty file
 * (those have id SEAF_EMPTY_ID and no object): size > 0 and n_blocks >= 1. */
struct seaf_file {
    int64_t size;                       /* bytes of content (plaintext size if encrypted) */
    size_t n_blocks;                    /* 1 <= n_blocks <= size */
    char (*block_ids)[SEAF_ID_LEN + 1]; /* n_blocks ids in content order */
};

/* One directory entry. Strings are NUL-terminated and live as long as the object. */
struct seaf_dirent {
    char id[SEAF_ID_LEN + 1]; /* file or directory object; SEAF_EMPTY_ID when empty */
    uint32_t mode;            /* SEAF_MODE_FILE, SEAF_MODE_FILE_EXEC or SEAF_MODE_DIR */
    int64_t mtime;            /* Unix seconds */
    int64_t size;             /* files: content bytes (0 iff id is SEAF_EMPTY_ID); dirs: 0 */
    const char *name;         /* valid UTF-8, 1..255 bytes, no '/', not "." or ".." */
    size_t name_len;          /* bytes in name */
    const char *modifier;     /* files: who changed it last ("" if unknown); dirs: "" */
};

/* A directory object: entries sorted by name in strictly descending byte order. */
struct seaf_dir {
    size_t n_entries;
    struct seaf_dirent *entries;
};

enum seaf_fsobj_type {
    SEAF_FSOBJ_FILE = 1,
    SEAF_FSOBJ_DIR = 3,
};

/* A parsed fs object: file or dir according to type. */
struct seaf_fsobj {
    enum seaf_fsobj_type type;
    union {
        struct seaf_file file; /* type == SEAF_FSOBJ_FILE */
        struct seaf_dir dir;   /* type == SEAF_FSOBJ_DIR */
    };
};

/* Decompresses stored (len bytes of zlib data), checks that SHA-1 of the JSON equals id and
 * validates it, giving *out (free with seaf_fsobj_free). Errors: SEAF_ERR_ID_MISMATCH when the
 * content does not hash to id; SEAF_ERR_MALFORMED for a bad zlib stream, an object above
 * SEAF_FSOBJ_MAX_SIZE, bad JSON, wrong types, bad ids, sizes, modes or names, unsorted or
 * duplicate entries; SEAF_ERR_UNSUPPORTED for an fs object version other than 1; SEAF_ERR_NOMEM;
 * SEAF_ERR_INVALID_ARG (id not a valid id, or SEAF_EMPTY_ID which never has an object).
 * msg (may be NULL) receives the reason. Thread-safe; the result is immutable. */
seaf_err seaf_fsobj_parse(const void *stored, size_t len, const char *id, struct seaf_fsobj **out,
                          struct seaf_parse_msg *msg);
/* Like seaf_fsobj_parse for an object already inflated: json (len bytes) is the plain JSON whose
 * SHA-1 must equal id (as kept in the cache and produced by seaf_fsobj_inflate). The same errors
 * except the zlib ones. */
seaf_err seaf_fsobj_parse_json(const char *json, size_t len, const char *id,
                               struct seaf_fsobj **out, struct seaf_parse_msg *msg);
/* The first step of seaf_fsobj_parse: inflates stored (len bytes of zlib data, nothing after the
 * stream) into a new malloc()ed buffer *json_out of *json_len bytes (free() it), refusing more
 * than SEAF_FSOBJ_MAX_SIZE. Nothing is verified. SEAF_ERR_MALFORMED, SEAF_ERR_NOMEM. */
seaf_err seaf_fsobj_inflate(const void *stored, size_t len, char **json_out, size_t *json_len,
                            struct seaf_parse_msg *msg);
/* Frees an fs object; NULL is a no-op. */
void seaf_fsobj_free(struct seaf_fsobj *obj);

/* The entry called name (name_len bytes) in dir, or NULL. Binary search: O(log n). */
const struct seaf_dirent *seaf_dir_lookup(const struct seaf_dir *dir, const char *name,
                                          size_t name_len);
/* True when the entry is a directory. */
bool seaf_dirent_is_dir(const struct seaf_dirent *dirent);

/* True when the len bytes at s are valid UTF-8 (no overlong forms, surrogates or code points
 * above U+10FFFF; NUL bytes are valid). NULL is valid only with len 0. */
bool seaf_utf8_valid(const char *s, size_t len);
/* Why name (len bytes) cannot be a Seafile entry name, or NULL when it can: empty, ".", "..",
 * contains '/' or NUL, not valid UTF-8, or SEAF_NAME_MAX bytes or more. */
const char *seaf_name_problem(const char *name, size_t len);

#endif
