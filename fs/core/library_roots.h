/* library_roots: the root folder of each library, found in as few round trips as the server
 * allows, and ahead of time. Right after the library list arrives, every library is warmed in
 * the background, a few at once: its sync token, its head commit and its root folder object
 * come into the cache, so that the first listing of any library finds them there. A library
 * opened while it waits for its turn is taken over by the opener; one being warmed is waited
 * for (its requests are in flight already) instead of being asked for twice.
 *
 * Warming goes the plain way, one request after the other on one connection (download-info when
 * there is no sync token yet, the head commit, the root folder), leaving the other connections
 * to what the user asks for. An opener of a library without a sync token yet asks Seahub for
 * the library's info (§2.5, which names the head's root folder) beside download-info, so that
 * its root folder needs two round trips in sequence instead of three. */
#ifndef SEAFS_FS_LIBRARY_ROOTS_H
#define SEAFS_FS_LIBRARY_ROOTS_H

#include "cache.h"
#include "libraries.h"
#include "seaf_client.h"
#include "seaf_ids.h"
#include "tree.h"

struct library_roots;

/* Over cache, tree and client (all outlive it), warming up to `parallel` libraries at once.
 * NULL on ENOMEM. */
struct library_roots *library_roots_new(struct cache *cache, struct tree *tree,
                                        struct seaf_client *client, unsigned parallel);
/* Stops warming (what is in flight finishes first) and frees r. NULL is allowed. */
void library_roots_free(struct library_roots *r);
/* Queues every library of libs (id and head, copied) for warming, in list order; returns at
 * once. The threads start on the first call. */
void library_roots_warm(struct library_roots *r, const struct library_list *libs);
/* The root folder id of library repo_id at commit head, into root: from the cached commit, else
 * from the server (waiting for a warming of the same library in flight). 0 or -errno. */
int library_roots_find(struct library_roots *r, const char *repo_id, const char *head,
                       char root[SEAF_ID_LEN + 1]);
/* How many libraries the warming has finished (fetched or found cached) and how many failed,
 * for status and tests. */
void library_roots_counts(struct library_roots *r, size_t *warmed, size_t *failed);

#endif
