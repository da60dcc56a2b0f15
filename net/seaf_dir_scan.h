/* seaf_dir_scan: a fast reader for directory objects in the plain form Seafile servers write:
 * one object with "dirents", "type" 3 and "version" 1, entries with only the known members,
 * strings without escapes, integers without fraction or exponent. It reads such a document
 * without building a JSON tree; anything else -- escapes, unknown or repeated members, other
 * value types, another type or version, bad JSON -- it declines, and the caller uses the general
 * parser (jansson), which also says precisely what is wrong. Values are not validated here
 * beyond their JSON type: ids, modes, names and sizes are checked by the caller. */
#ifndef SEAFS_SEAF_DIR_SCAN_H
#define SEAFS_SEAF_DIR_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Which members an entry had. */
enum {
    SEAF_SCAN_ID = 1 << 0,
    SEAF_SCAN_MODE = 1 << 1,
    SEAF_SCAN_MTIME = 1 << 2,
    SEAF_SCAN_NAME = 1 << 3,
    SEAF_SCAN_SIZE = 1 << 4,
    SEAF_SCAN_MODIFIER = 1 << 5,
};

/* One entry as written. The strings point into the scanned text (not NUL-terminated), hold no
 * byte below 0x20 and are not checked for valid UTF-8. */
struct seaf_scan_dirent {
    unsigned present; /* SEAF_SCAN_* bits */
    const char *id;
    size_t id_len;
    const char *name;
    size_t name_len;
    const char *modifier;
    size_t modifier_len;
    int64_t mode;
    int64_t mtime;
    int64_t size;
};

/* True when json (len bytes) is a directory object in the plain form: *entries (malloc()ed, free
 * it; NULL when *n is 0) receives its *n entries in document order. False when it is not (or on
 * a lack of memory): nothing is allocated and the general parser must decide. */
bool seaf_dir_scan(const char *json, size_t len, struct seaf_scan_dirent **entries, size_t *n);

#endif
