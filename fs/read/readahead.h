/* readahead: sequential-read detection per open file and the bounded pool of threads that
 * fetch the following blocks ahead of the reader. The window opens on the second read that
 * continues the one before (never on a file's first read), starts small, doubles while reads
 * stay sequential, and falls back to nothing on a seek. */
#ifndef SEAFS_FS_READAHEAD_H
#define SEAFS_FS_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_ids.h"

/* Reads that land this close to where the previous one ended still count as sequential (the
 * kernel issues its read-ahead requests concurrently, slightly out of order). */
#define READAHEAD_SLACK (1u << 20)
/* First window after a sequential start (capped by the maximum): one typical Seafile block
 * (CDC blocks average 8 MiB), so the second block is already on its way while the first one
 * arrives. */
#define READAHEAD_INITIAL_WINDOW (8u << 20)

/* next_off before the first read. */
#define READAHEAD_NO_READ UINT64_MAX

/* Per-open-file state; not thread-safe (the caller locks the file handle). */
struct readahead {
    uint64_t next_off;      /* where a sequential read would start next (READAHEAD_NO_READ) */
    uint64_t window;        /* current window in bytes; 0 = not sequential */
    uint64_t max_window;    /* the readahead= option; 0 disables read-ahead */
    uint64_t prefetched_to; /* bytes before this were already queued */
    bool sequential;        /* the last read continued the one before (also when read-ahead is
                               off): such reads want whole blocks, never byte ranges */
};

/* Starts with nothing read. Cannot fail. */
void readahead_init(struct readahead *ra, uint64_t max_window);
/* Records a read of len bytes at off in a file of file_size bytes and gives the range
 * [*start, *end) to fetch ahead (*start == *end: nothing). */
void readahead_on_read(struct readahead *ra, uint64_t off, size_t len, uint64_t file_size,
                       uint64_t *start, uint64_t *end);

/* What a prefetch job fetches. */
enum prefetch_kind {
    PREFETCH_BLOCK, /* one block */
    PREFETCH_FILE,  /* a small file's object and its first block (directory scans) */
};

/* Runs one prefetch job (called on a pool thread); id is a block or file object id. */
typedef void (*prefetch_fn)(void *ctx, enum prefetch_kind kind, const char *repo_id,
                            const char *id);

struct prefetch_pool;

/* Starts n_threads workers with a queue of at most queue_max jobs. NULL on failure. */
struct prefetch_pool *prefetch_pool_new(unsigned n_threads, size_t queue_max, prefetch_fn fn,
                                        void *ctx);
/* Queues a job unless the same id is already queued or the queue is full (then false:
 * read-ahead is best effort). Thread-safe. */
bool prefetch_pool_submit(struct prefetch_pool *pool, enum prefetch_kind kind, const char *repo_id,
                          const char *id);

/* Directory scan detection (tar, cp -r, grep -r open the files of a folder one after the other,
 * in listing order): when files are opened at consecutive listing positions, the next ones are
 * fetched ahead, a window that doubles while the scan goes on. Not thread-safe. */
struct scan_detector {
    uint64_t dir;         /* inode of the directory of the last open */
    size_t last_index;    /* listing position of the last open */
    unsigned run;         /* consecutive opens so far */
    size_t prefetched_to; /* positions below this were already queued */
};

/* Most files fetched ahead of a directory scan. */
#define SCAN_MAX_WINDOW 64

/* Records an open of listing position index (of n_entries) in directory dir; gives the range
 * [*from, *to) of positions to fetch ahead (*from == *to: nothing). */
void scan_on_open(struct scan_detector *sd, uint64_t dir, size_t index, size_t n_entries,
                  size_t *from, size_t *to);
/* Drops queued jobs, waits for running ones, stops the workers. NULL is a no-op. */
void prefetch_pool_free(struct prefetch_pool *pool);

#endif
