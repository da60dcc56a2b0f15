/* block_map_ahead: the block map of a multi-block file (its block sizes, one small request)
 * asked for at open in a thread of its own, alongside the file object, instead of after it: on
 * a far link that is one round trip less before the first read. Only for files large enough to
 * be of several blocks (more than Seafile's smallest chunk), and only on a link whose round trip
 * is worth saving; the answer goes to the cache, where the open finds it (file.c). */
#ifndef SEAFS_FS_BLOCK_MAP_AHEAD_H
#define SEAFS_FS_BLOCK_MAP_AHEAD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "link_estimate.h"
#include "seafs.h"

/* Round trips shorter than this are not worth a thread. */
#define BLOCK_MAP_AHEAD_MIN_RTT_S 0.005

struct block_map_ahead {
    pthread_t thread;
    bool running; /* thread is to be joined */
};

/* Whether a file of file_size bytes on that link gets its block map ahead (pure). */
bool block_map_ahead_pays(uint64_t file_size, const struct link_figures *link);
/* Starts the request when block_map_ahead_pays says so and the cache has no block map of
 * file_id; best effort (nothing happens on any failure). ba is zeroed first. */
void block_map_ahead_start(struct block_map_ahead *ba, struct seafs *fs, const char *repo_id,
                           const char *file_id, uint64_t file_size);
/* Waits for it, if started. */
void block_map_ahead_wait(struct block_map_ahead *ba);

#endif
