/* blocks_in_flight: the block downloads under way into the cache (fetch.c's fills), each with
 * when it started. The cache shares a fill with every reader that asks meanwhile but cannot say
 * that one is running; this can, so that a read about to fetch a byte range of a block that is
 * already on its way (read-ahead, a folder-scan prefetch, another reader) waits for the block
 * instead when it will arrive sooner (range_read.c). A small fixed table, per process: a
 * download that finds it full is simply not listed. Thread-safe. */
#ifndef SEAFS_FS_BLOCKS_IN_FLIGHT_H
#define SEAFS_FS_BLOCKS_IN_FLIGHT_H

#include <stdbool.h>

/* Downloads listed at once (a mount runs at most `connections` of them, 8 by default). */
#define BLOCKS_IN_FLIGHT_MAX 64

/* A download of block_id starts (the thread that fills the cache). */
void blocks_in_flight_begin(const char *block_id);
/* It ended, whatever the outcome. */
void blocks_in_flight_end(const char *block_id);
/* Whether a download of block_id is under way, and for how many seconds (*elapsed_s). */
bool blocks_in_flight_find(const char *block_id, double *elapsed_s);

#endif
