/* vectors_util: helpers for the object-parser tests -- reading files of the real-server vectors,
 * splitting captured HTTP responses, listing stored objects, and building mutated fs objects
 * (recompressed, with the id recomputed, so only the targeted rule is broken). */
#ifndef SEAFS_TESTS_VECTORS_UTIL_H
#define SEAFS_TESTS_VECTORS_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "seaf_ids.h"

/* Path of name under the vectors directory (static buffer, overwritten by the next call). */
const char *vectors_path(const char *name);
/* Whole file into a malloc()ed, NUL-terminated buffer (NUL not counted in *len); NULL on error. */
unsigned char *read_whole_file(const char *path, size_t *len);

/* A captured response (http/NAME.http): status code and body (pointing into raw). */
struct captured_http {
    unsigned char *raw; /* free() this */
    int status;
    const unsigned char *body;
    size_t body_len;
};
/* Loads http/<name>; false when missing or not a response. */
bool load_captured_http(const char *name, struct captured_http *out);

/* Calls fn(id, path, ctx) for every object file under storage/<kind>/ (kind "commits" or "fs"),
 * id being the 40-digit id spelled by its path. Returns how many were visited. */
size_t for_each_stored_object(const char *kind,
                              void (*fn)(const char *repo_id, const char *id, const char *path,
                                         void *ctx),
                              void *ctx);
/* storage/<kind>/<repo_id>/<id[0:2]>/<id[2:]> (static buffer). */
const char *stored_object_path(const char *kind, const char *repo_id, const char *id);

/* Decompressed JSON of a stored fs object (malloc()ed, NUL-terminated); NULL on error. */
char *inflate_stored(const unsigned char *stored, size_t len);
/* zlib-compresses json (strlen) into a malloc()ed buffer and computes the id of json. */
unsigned char *deflate_with_id(const char *json, size_t *len, char id_out[SEAF_ID_LEN + 1]);
/* A copy of text with the first occurrence of from replaced by to; NULL if from is absent. */
char *replace_once(const char *text, const char *from, const char *to);

#endif
