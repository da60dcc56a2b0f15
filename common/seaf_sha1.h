/* seaf_sha1: SHA-1 of Seafile content as a 40-digit id, one-shot or streamed, and the check
 * "these bytes hash to this id" used for blocks (streamed by the HTTP layer), fs objects and
 * commits. A thin wrapper over OpenSSL's EVP interface. */
#ifndef SEAFS_SEAF_SHA1_H
#define SEAFS_SEAF_SHA1_H

#include <stddef.h>

#include "seaf_error.h"
#include "seaf_ids.h"

/* A streaming SHA-1 computation. Not thread-safe: one thread feeds one context at a time. */
struct seaf_sha1;

/* Starts a computation in *out. SEAF_ERR_NOMEM on allocation failure. Free with seaf_sha1_free. */
seaf_err seaf_sha1_new(struct seaf_sha1 **out);
/* Hashes len more bytes. */
seaf_err seaf_sha1_update(struct seaf_sha1 *sha1, const void *data, size_t len);
/* Writes the digest of everything fed so far as 40 lowercase hex digits plus a NUL, then starts
 * over (the context can hash the next object). */
seaf_err seaf_sha1_final(struct seaf_sha1 *sha1, char id_out[SEAF_ID_LEN + 1]);
/* Forgets everything fed so far (the next update starts a new object). */
seaf_err seaf_sha1_reset(struct seaf_sha1 *sha1);
/* Like seaf_sha1_final but compares with expected_id (40 hex digits): SEAF_OK when equal,
 * SEAF_ERR_ID_MISMATCH when not. This is the block-verification step after streaming a body. */
seaf_err seaf_sha1_verify(struct seaf_sha1 *sha1, const char *expected_id);
/* Frees the context; NULL is a no-op. */
void seaf_sha1_free(struct seaf_sha1 *sha1);

/* One-shot: the id of len bytes. */
seaf_err seaf_sha1_id(const void *data, size_t len, char id_out[SEAF_ID_LEN + 1]);

#endif
