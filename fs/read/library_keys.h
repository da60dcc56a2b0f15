/* library_keys: the block keys of the encrypted libraries unlocked on this mount. Keys live in
 * memory only (locked into RAM when the system allows, wiped when forgotten) unless the mount
 * was asked to keep them (-o save_keys): then each key is also written to
 * <state dir>/keys/<repo id> (directory 0700, file 0600, atomically) and loaded again by the
 * next mount, which then starts with those libraries unlocked. Thread-safe. */
#ifndef SEAFS_FS_LIBRARY_KEYS_H
#define SEAFS_FS_LIBRARY_KEYS_H

#include <stdbool.h>

#include "seaf_crypt.h"

struct library_keys;

/* An empty key store; save_dir (may be NULL: memory only) is where keys are kept across
 * mounts, and those found there are loaded. NULL on ENOMEM. */
struct library_keys *library_keys_new(const char *save_dir);
/* Wipes every key in memory (saved files stay). */
void library_keys_free(struct library_keys *keys);

/* Remembers the key of repo_id (replacing any), and saves it when the store saves keys.
 * 0 or -errno (the key is kept in memory even when saving fails). */
int library_keys_put(struct library_keys *keys, const char *repo_id,
                     const struct seaf_crypt_key *key);
/* Forgets the key of repo_id, in memory and on disk. Whether there was one. */
bool library_keys_forget(struct library_keys *keys, const char *repo_id);
/* Copies the key of repo_id into *out (wipe it after use). false when locked. */
bool library_keys_get(struct library_keys *keys, const char *repo_id, struct seaf_crypt_key *out);

#endif
