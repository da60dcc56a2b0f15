/* seaf_json_field: strict access to the members of Seafile JSON objects (commits, fs objects,
 * Seahub answers): each getter checks presence and JSON type and, on failure, says which member
 * of what was wrong in a seaf_parse_msg; string members can be copied table-driven. Internal to the
 * JSON parsers of net/ (not included by callers). */
#ifndef SEAFS_SEAF_JSON_FIELD_H
#define SEAFS_SEAF_JSON_FIELD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "seaf_error.h"
#include "seaf_ids.h"
#include "seaf_parse_msg.h"

/* Parses len bytes of JSON text that must be one object (no trailing data, no duplicate keys)
 * into *out (caller json_decref()s; NULL on error). text NULL counts as empty (bad JSON). what
 * names the document in messages ("commit"). */
seaf_err seaf_json_load_object(const char *text, size_t len, const char *what, json_t **out,
                               struct seaf_parse_msg *msg);

/* The same for a document that must be one array. */
seaf_err seaf_json_load_array(const char *text, size_t len, const char *what, json_t **out,
                              struct seaf_parse_msg *msg);

/* Member key of obj as a string without embedded NUL. Absent: SEAF_OK with *out = NULL when
 * !required, SEAF_ERR_MALFORMED when required; null counts as absent only when null_ok.
 * *out points into obj; *len (may be NULL) receives the byte length. */
seaf_err seaf_json_string(json_t *obj, const char *key, bool required, bool null_ok,
                          const char *what, const char **out, size_t *len,
                          struct seaf_parse_msg *msg);
/* Member key of obj as an integer (a JSON real or string is refused). Absent and !required:
 * SEAF_OK, *present (may be NULL) false and *out untouched. */
seaf_err seaf_json_int(json_t *obj, const char *key, bool required, const char *what,
                       json_int_t *out, bool *present, struct seaf_parse_msg *msg);
/* Member key of obj as an object id (40 lowercase hex digits) copied to out. When null_ok, null or
 * absence give out = "" (e.g. a commit without parent). */
seaf_err seaf_json_id(json_t *obj, const char *key, bool null_ok, const char *what,
                      char out[SEAF_ID_LEN + 1], struct seaf_parse_msg *msg);

/* Member key of obj (required) as a repo id (lowercase UUID) copied to out. */
seaf_err seaf_json_repo_id(json_t *obj, const char *key, const char *what,
                           char out[SEAF_REPO_ID_LEN + 1], struct seaf_parse_msg *msg);

/* One string member of a result struct: its JSON key and the char * member its copy goes to. */
struct seaf_json_string_field {
    const char *key;
    size_t offset; /* offsetof the char * member */
    bool required; /* absence is SEAF_ERR_MALFORMED */
    const char
        *fallback; /* copied when the member is absent or null; NULL: the member stays NULL */
};

/* Copies the string members fields[0..n_fields) of obj into the char * members of base (NUL-free
 * copies owned by base). null counts as absent for optional members, and for required ones too
 * when required_may_be_null. Stops at the first error; the members copied so far stay set (free
 * them with seaf_json_free_strings). */
seaf_err seaf_json_copy_strings(json_t *obj, void *base,
                                const struct seaf_json_string_field *fields, size_t n_fields,
                                bool required_may_be_null, const char *what,
                                struct seaf_parse_msg *msg);
/* Frees the members of base named by fields[0..n_fields) and sets them to NULL. */
void seaf_json_free_strings(void *base, const struct seaf_json_string_field *fields,
                            size_t n_fields);

#endif
