/* children_ahead: when a folder is loaded (fetched, or read from the cache before the library's
 * folders all arrived in bulk, or after that failed), its sub-folders not cached yet are fetched
 * right after, in one background request, so that a walk going down (ls -lR, find) finds them
 * cached instead of asking for each. A lookup waits only for a request already in flight that
 * brings its folder (children_ahead_wait), never for queued ones. A small queue and one
 * thread; requests beyond the queue are dropped (the bulk fetch or a lookup brings those
 * folders anyway). */
#ifndef SEAFS_FS_CHILDREN_AHEAD_H
#define SEAFS_FS_CHILDREN_AHEAD_H

#include <stdbool.h>

#include "cache.h"
#include "seaf_client.h"
#include "seaf_fsobj.h"

struct children_ahead;

/* A fetcher over cache and client (both outlive it); NULL on ENOMEM. The thread starts with
 * the first request. */
struct children_ahead *children_ahead_new(struct cache *cache, struct seaf_client *client);
/* Stops the thread (a request in flight finishes first) and frees a. NULL is allowed. */
void children_ahead_free(struct children_ahead *a);
/* Queues the uncached sub-folders of dir (of library repo_id) for a background fetch. */
void children_ahead_queue(struct children_ahead *a, const char *repo_id,
                          const struct seaf_dir *dir);
/* When folder id is in the request in flight, waits until that request ended and returns true
 * (the folder is then cached, unless the request failed); false at once otherwise. */
bool children_ahead_wait(struct children_ahead *a, const char *id);

#endif
