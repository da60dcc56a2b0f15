/* seaf_packfs: incremental parser of pack-fs response bodies (protocol doc §3.9), a sequence of
 * records [40-byte ASCII id][uint32 big-endian length][length bytes of stored fs object]. Fed
 * chunk by chunk as the body arrives; hands each complete record to a callback and remembers
 * which of the requested ids came back, because the server may stop early (after ~1 MiB) and the
 * client must then ask again for the rest. */
#ifndef SEAFS_SEAF_PACKFS_H
#define SEAFS_SEAF_PACKFS_H

#include <stdbool.h>
#include <stddef.h>

#include "seaf_error.h"
#include "seaf_ids.h"
#include "seaf_parse_msg.h"

/* Receives one record: the request position it fills (index into the ids given to
 * seaf_packfs_new), its id (NUL-terminated, equal to that requested id) and the stored object
 * bytes (zlib data, to be checked with seaf_fsobj_parse). data is only valid during the call.
 * A non-OK return stops parsing and is returned by seaf_packfs_feed. */
typedef seaf_err (*seaf_packfs_record_fn)(void *ctx, size_t index, const char *id,
                                          const unsigned char *data, size_t len);

struct seaf_packfs;

/* Starts parsing the response to a request for the n_ids ids (valid object ids, copied). An id
 * may be repeated: the server then sends it once per occurrence (de-duplicating the request
 * first saves bandwidth). Records go to on_record(ctx, ...). SEAF_ERR_INVALID_ARG for an empty
 * list or an invalid id; SEAF_ERR_NOMEM. Free with seaf_packfs_free. Not thread-safe. */
seaf_err seaf_packfs_new(const char *const *ids, size_t n_ids, seaf_packfs_record_fn on_record,
                         void *ctx, struct seaf_packfs **out);
/* Consumes the next len bytes of the body. Errors are sticky (every later call returns the
 * first one): SEAF_ERR_MALFORMED for a non-hex id or a record longer than
 * SEAF_FSOBJ_MAX_STORED_SIZE, SEAF_ERR_PROTOCOL for an id that was not requested or came more often
 * than requested, SEAF_ERR_NOMEM, or the callback's error. */
seaf_err seaf_packfs_feed(struct seaf_packfs *packfs, const void *data, size_t len);
/* Declares the end of the body. SEAF_ERR_MALFORMED when it ends inside a record (truncated),
 * SEAF_ERR_PROTOCOL when it held no record at all (a 200 answer always carries at least one
 * object, so re-requesting would loop), else the sticky error or SEAF_OK. */
seaf_err seaf_packfs_finish(struct seaf_packfs *packfs);
/* Forgets everything received so far (for a retried request that delivers the body again). */
void seaf_packfs_reset(struct seaf_packfs *packfs);

/* Whether requested id number index (position in the array given to seaf_packfs_new) came back. */
bool seaf_packfs_received(const struct seaf_packfs *packfs, size_t index);
/* How many request positions were filled (n_ids when the answer was complete). */
size_t seaf_packfs_n_received(const struct seaf_packfs *packfs);
/* Why the last error happened ("" when none). */
const char *seaf_packfs_message(const struct seaf_packfs *packfs);

/* Frees the parser; NULL is a no-op. */
void seaf_packfs_free(struct seaf_packfs *packfs);

#endif
