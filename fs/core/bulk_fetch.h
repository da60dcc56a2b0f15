/* bulk_fetch: brings many fs objects into the cache at once, in parallel batched pack-fs
 * requests, each answer stored in one cache transaction (cache_put_objects). Used for the
 * folders of a library in the background (dir_prefetch.h) and for the file objects of a folder
 * whose files are being read (tree.c). Nothing is parsed into memory beyond one batch per
 * worker: memory does not grow with the number of objects. */
#ifndef SEAFS_FS_BULK_FETCH_H
#define SEAFS_FS_BULK_FETCH_H

#include <stdatomic.h>
#include <stddef.h>

#include "cache.h"
#include "seaf_client.h"
#include "seaf_ids.h"

/* Fetches ids[0..n) of repo_id into the cache with up to `parallel` requests in flight (the
 * calling thread is one of the workers); ids already cached are asked for all the same (filter
 * them first). Stops early (between batches) once *stop is set, when stop is not NULL.
 * *fetched (may be NULL) counts the objects stored. SEAF_OK or the first error of a batch (the
 * other batches still run). */
seaf_err bulk_fetch_fs(struct cache *cache, struct seaf_client *client, const char *repo_id,
                       const char (*ids)[SEAF_ID_LEN + 1], size_t n, unsigned parallel,
                       const atomic_bool *stop, size_t *fetched);

#endif
