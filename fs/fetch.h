/* fetch: a block, from the cache or else from the server. A miss is filled exactly once however
 * many threads ask (the cache's single-flight fill); the download streams into the fill, is
 * verified against the block id, and only then becomes visible. Errors become errnos here. */
#ifndef SEAFS_FS_FETCH_H
#define SEAFS_FS_FETCH_H

#include "cache.h"
#include "seaf_client.h"

/* Opens block_id of repo_id for reading: 0 and *out (cache_close it), or -errno (-EIO for a
 * corrupted or missing block or an unreachable server, ...). May block on the network. */
int fetch_block(struct cache *cache, struct seaf_client *client, const char *repo_id,
                const char *block_id, struct cache_handle **out);

#endif
