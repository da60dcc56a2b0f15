/* seaf_parse_msg: the human-readable reason a parser of net/ gives when it refuses data, for
 * logs and error messages (the error code alone says only "malformed"). */
#ifndef SEAFS_SEAF_PARSE_MSG_H
#define SEAFS_SEAF_PARSE_MSG_H

#include "seaf_error.h"

/* Why a parse failed, for logs: filled by every parser of net/ on failure when non-NULL. */
struct seaf_parse_msg {
    char text[192]; /* NUL-terminated English sentence, e.g. "dirent 3: name contains '/'" */
};

/* Records a printf-style reason in msg (may be NULL) and returns err, so callers can write
 * `return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "...")`. */
seaf_err seaf_parse_fail(struct seaf_parse_msg *msg, seaf_err err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
