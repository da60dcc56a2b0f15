/* fold: turns the content of a staged file into what Seafile stores -- blocks and a file object
 * -- for upload. Blocks of the base version that no write touched are reused as they are; only
 * the changed spans (widened to the base blocks they overlap, plus anything appended) are read
 * and cut again with Seafile's content-defined chunker, encrypted for encrypted libraries. So a
 * small edit inside a large file costs the one or two base blocks it falls in, never the file.
 * New blocks and the file object go into the cache pinned (never evicted until uploaded, and
 * durable before fold returns). Afterwards the staged file is layered on the result, with nothing
 * left in its staging data. */
#ifndef SEAFS_FS_FOLD_H
#define SEAFS_FS_FOLD_H

#include <stddef.h>
#include <stdint.h>

#include "seaf_ids.h"

struct seafs;
struct dirty_file;

struct fold_result {
    char file_id[SEAF_ID_LEN + 1]; /* SEAF_EMPTY_ID for an empty file */
    uint64_t size;
    int64_t mtime;
    uint64_t version;  /* the staged file's version folded (see dirty_version) */
    size_t new_blocks; /* blocks made (the others came from the base) */
    uint64_t new_bytes;
};

/* Folds staged file d. 0, or -errno: -EACCES for a locked encrypted library, -EIO when a base
 * block cannot be had (network), -ENOSPC. Writers of d wait meanwhile (unless its content is still
 * all of its base: then nothing waits for it, nor it for anything); may block on the network
 * (the base blocks of changed spans). */
int fold_staged(struct seafs *fs, struct dirty_file *d, struct fold_result *out);

#endif
