/* dir_prefetch: when a library is opened, its folder objects are brought into the cache in the
 * background: one fs-id-list request (dir-only=1, against the head fetched last time when there
 * is one, so that after a change only the changed folders are listed) gives their ids, and those
 * not cached come in parallel batched pack-fs requests (bulk_fetch.h). Listings meanwhile are
 * served as before, each missing folder fetched at once on its own: nothing waits for this.
 * One library at a time, in the order asked; one thread, started on the first request. */
#ifndef SEAFS_FS_DIR_PREFETCH_H
#define SEAFS_FS_DIR_PREFETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "cache.h"
#include "seaf_client.h"
#include "seaf_ids.h"

struct dir_prefetch;

enum dir_prefetch_phase {
    DIR_PREFETCH_NONE,    /* never asked for */
    DIR_PREFETCH_QUEUED,  /* waiting for its turn */
    DIR_PREFETCH_RUNNING, /* being fetched */
    DIR_PREFETCH_DONE,    /* every folder of done_head is cached (or was, when it finished) */
    DIR_PREFETCH_FAILED,  /* the last run failed (listings fetch folders one by one) */
};

struct dir_prefetch_state {
    enum dir_prefetch_phase phase;
    char done_head[SEAF_ID_LEN + 1]; /* the head whose folders were all fetched ("" if none) */
    size_t folders;                  /* folder ids the last run was given by the server */
    size_t fetched;                  /* of those, fetched (the others were cached) */
};

/* A prefetcher over cache and client (both outlive it), with up to `parallel` requests in
 * flight; NULL on ENOMEM. */
struct dir_prefetch *dir_prefetch_new(struct cache *cache, struct seaf_client *client,
                                      unsigned parallel);
/* Stops the thread (the requests in flight finish first) and frees p. NULL is allowed. */
void dir_prefetch_free(struct dir_prefetch *p);
/* Asks for the folders of repo_id at commit head; returns at once. Nothing is done when that
 * head is done already or queued; a library queued with another head is fetched at the newer. */
void dir_prefetch_library(struct dir_prefetch *p, const char *repo_id, const char *head);
/* The state of repo_id's prefetch (phase NONE when never asked for). */
void dir_prefetch_state(struct dir_prefetch *p, const char *repo_id,
                        struct dir_prefetch_state *out);
/* The name of a phase, for status reports. */
const char *dir_prefetch_phase_name(enum dir_prefetch_phase phase);

#endif
