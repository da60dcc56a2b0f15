/* seaf_ids: validation of the identifiers Seafile uses (object ids, repo ids), the hex form they
 * and other binary values (keys, salts) are written in, and de-duplication of id lists. */
#ifndef SEAFS_SEAF_IDS_H
#define SEAFS_SEAF_IDS_H

#include <stdbool.h>
#include <stddef.h>

#include "seaf_error.h"

/* Length of an object id (commit, fs object, block): 40 lowercase hex digits. */
#define SEAF_ID_LEN 40
/* Length of a repo id: a lowercase UUID, 36 characters. */
#define SEAF_REPO_ID_LEN 36
/* The id of empty files and empty directories; no object with this id exists. */
#define SEAF_EMPTY_ID "0000000000000000000000000000000000000000"

/* True when the len bytes at s are all lowercase hex digits (true for len 0; false for NULL). */
bool seaf_lower_hex_valid(const char *s, size_t len);
/* True when s is exactly 40 lowercase hex digits (len is the length of s). */
bool seaf_id_valid(const char *s, size_t len);
/* True when s is a lowercase UUID (8-4-4-4-12 hex digits). */
bool seaf_repo_id_valid(const char *s, size_t len);
/* Writes the 40-digit lowercase hex form of a 20-byte SHA-1 digest plus a NUL to out. */
void seaf_id_from_digest(const unsigned char digest[20], char out[SEAF_ID_LEN + 1]);
/* Writes the lowercase hex form of len bytes plus a NUL to out (2 * len + 1 bytes). */
void seaf_hex_encode(const unsigned char *in, size_t len, char *out);
/* Decodes hex (hex_len digits of either case) into exactly len bytes; false when hex_len is not
 * 2 * len or a digit is not hex. */
bool seaf_hex_decode(const char *hex, size_t hex_len, unsigned char *out, size_t len);

/* Removes repeated ids from ids[0..*n) in place, keeping the first occurrence of each and their
 * order. SEAF_ERR_NOMEM leaves the ids unchanged. */
seaf_err seaf_ids_remove_duplicates(char (*ids)[SEAF_ID_LEN + 1], size_t *n);

#endif
