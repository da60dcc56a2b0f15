/* plain_lengths: the cache's record of the plaintext lengths of an encrypted file's blocks, so
 * that a read in the middle of the file can be placed without downloading the blocks before (or
 * after) it again after a remount or once those blocks were evicted.
 *
 * One record per file version: a metadata object of kind CACHE_KIND_PLAIN_LENGTHS keyed by the
 * file's id (which names its block list and size for good), holding a JSON array with one entry
 * per block, 0 where the length is not known yet. Per file rather than per block: positions are
 * sums over one file's blocks, so an open reads one row and a complete record is the file's
 * offsets; the cache's LRU, accounting and row checksum apply as to block maps. A record grows:
 * saving merges the lengths with the record there and replaces it when it gains one.
 *
 * What a record says is a hint (file_layout_add_hints checks it against the stored sizes and the
 * file size; each block's padding confirms its own length when it is open). */
#ifndef SEAFS_FS_PLAIN_LENGTHS_H
#define SEAFS_FS_PLAIN_LENGTHS_H

#include <stddef.h>
#include <stdint.h>

#include "cache.h"

/* The bytes of a record of n lengths (0 = unknown) into *json (malloc'd, NUL-terminated, *len
 * without the NUL). 0 or -ENOMEM. */
int plain_lengths_encode(const uint64_t *plain, size_t n, char **json, size_t *len);
/* Parses a record of n lengths into out. 0, or -EINVAL when it is not a JSON array of n
 * integers >= 0 of which one at least is not 0. */
int plain_lengths_parse(const char *json, size_t len, size_t n, uint64_t *out);

/* The record of file file_id (n blocks) into out: 0; -ENOENT when there is none (a damaged row
 * counts as none: the cache drops it); -EINVAL when it does not parse (it is removed). */
int plain_lengths_load(struct cache *c, const char *file_id, size_t n, uint64_t *out);
/* Adds the known lengths of plain (n of them, 0 = unknown) to file_id's record: merged with the
 * record there (where the two differ, plain wins), written only when the record gains a length.
 * Two writers at once may lose the lengths of one (they are learned again). 0 or -errno. */
int plain_lengths_save(struct cache *c, const char *file_id, const uint64_t *plain, size_t n);
/* Removes file_id's record (found wrong). */
void plain_lengths_forget(struct cache *c, const char *file_id);

#endif
