/* token_store: credentials persisted on disk so a remount does not log in again. One small file
 * per token in a private directory (0700), each file 0600 and replaced atomically (temporary
 * file, fsync, rename). A file that others could read is ignored, never trusted. */
#ifndef SEAFS_TOKEN_STORE_H
#define SEAFS_TOKEN_STORE_H

#include <stddef.h>

#include "seaf_error.h"
#include "seaf_ids.h"

/* Tokens are 40 hex digits; names are caller-chosen keys of [A-Za-z0-9._-] (1..200 bytes). */

/* Writes token under name in dir (dir is created with mode 0700 if missing). SEAF_ERR_IO,
 * SEAF_ERR_INVALID_ARG (bad name or token), SEAF_ERR_NOSPACE. */
seaf_err token_store_save(const char *dir, const char *name, const char *token);
/* Reads the token stored under name into out. SEAF_ERR_NOT_FOUND when absent, unreadable by
 * mode (group/other bits set: ignored), or not a 40-hex token; SEAF_ERR_INVALID_ARG. */
seaf_err token_store_load(const char *dir, const char *name, char out[SEAF_ID_LEN + 1]);
/* The same for any short one-line secret value: 1..TOKEN_STORE_VALUE_MAX bytes of [0-9a-z:]
 * (saved library keys). */
#define TOKEN_STORE_VALUE_MAX 200
seaf_err token_store_save_value(const char *dir, const char *name, const char *value);
seaf_err token_store_load_value(const char *dir, const char *name,
                                char out[TOKEN_STORE_VALUE_MAX + 1]);
/* Removes the token stored under name (absent is fine). */
seaf_err token_store_remove(const char *dir, const char *name);

#endif
