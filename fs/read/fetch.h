/* fetch: a block, from the cache or else from the server. A miss is filled exactly once however
 * many threads ask (the cache's single-flight fill); the download streams into the fill, is
 * verified against the block id, and only then becomes visible. Errors become errnos through
 * seaf_err_to_errno() (common/seaf_error.c), the one place that mapping is made. */
#ifndef SEAFS_FS_FETCH_H
#define SEAFS_FS_FETCH_H

#include "cache.h"
#include "seaf_client.h"

/* Opens block_id of repo_id for reading: 0 and *out (cache_close it), or -errno (-EIO for a
 * corrupted or missing block or an unreachable server, ...) with the reason in *cause (may be
 * NULL). Logs nothing above debug level: the caller reports the failure once, with the path.
 * May block on the network. */
int fetch_block(struct cache *cache, struct seaf_client *client, const char *repo_id,
                const char *block_id, struct cache_handle **out, seaf_err *cause);

/* Largest block accepted by fetch_block_to_memory (Seafile blocks are at most ~10 MiB). */
#define FETCH_MEMORY_BLOCK_MAX (64u << 20)

/* Downloads block_id of repo_id into memory (*data, free() it; *len bytes), verified against
 * its id, without the cache: for blocks the cache cannot take (larger than cache_size, or no
 * room). 0 or -errno with the reason in *cause (may be NULL). Blocks on the network. */
int fetch_block_to_memory(struct seaf_client *client, const char *repo_id, const char *block_id,
                          char **data, size_t *len, seaf_err *cause);

#endif
