/* readahead: sequential-read detection per open file and the bounded pool of threads that
 * fetch the following blocks ahead of the reader. On a fast link the window opens on the second
 * read that continues the one before (never on a file's first read), starts small, doubles while
 * reads stay sequential, and falls back to nothing on a seek. On a slow link (as measured,
 * net/link_estimate.h) nearby reads are not enough: the reads must have covered a dense, growing
 * run of READAHEAD_SLOW_RUN bytes -- a header probe followed by an index read a few hundred KiB
 * away is served by byte ranges, not by blocks fetched ahead -- and the window is what the link
 * moves in READAHEAD_TARGET_S, not a fixed size. */
#ifndef SEAFS_FS_READAHEAD_H
#define SEAFS_FS_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link_estimate.h"
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

/* Slow links. The read-ahead window there is the bytes the link moves in this many seconds
 * (bandwidth x target latency); a link whose window would be smaller than READAHEAD_SLOW_WINDOW
 * is slow: one that takes more than a quarter of a second for a typical 8 MiB block (less than
 * about 134 Mbit/s). There a block fetched for a few nearby small reads (a media probe, an image
 * reader) costs far more than the byte ranges they need. */
#define READAHEAD_TARGET_S    2.0
#define READAHEAD_SLOW_WINDOW (4 * READAHEAD_INITIAL_WINDOW)
/* On a slow link, a read continues the run of reads before it when it starts at most this far
 * past the run's end or ends at most this far before its start (the kernel's concurrent
 * read-ahead requests, one FUSE read apart, may arrive out of order)... */
#define READAHEAD_SLOW_GAP (128u * 1024)
/* ... and the run is sequential once its reads cover this many bytes and at least
 * READAHEAD_SLOW_DENSITY of its span: reads here and there inside a region (a parser following
 * an index) are not, nor is a tool reading a few hundred KiB in a row, which the kernel's own
 * read-ahead (up to 1 MiB a request, kernel_readahead.c) turns into about 1 MiB of reads. */
#define READAHEAD_SLOW_RUN     (2u << 20)
#define READAHEAD_SLOW_DENSITY 0.75

/* Per-open-file state; not thread-safe (the caller locks the file handle). */
struct readahead {
    uint64_t next_off;      /* where a sequential read would start next (READAHEAD_NO_READ) */
    uint64_t window;        /* current window in bytes; 0 = not sequential */
    uint64_t max_window;    /* the readahead= option; 0 disables read-ahead */
    uint64_t prefetched_to; /* bytes before this were already queued */
    uint64_t run_start;     /* the current run of nearby reads spans [run_start, next_off) */
    uint64_t run_bytes;     /* bytes its reads covered (at most the span) */
    bool sequential;        /* the last read continued the one before (also when read-ahead is
                               off): such reads want whole blocks, never byte ranges */
};

/* Starts with nothing read. Cannot fail. */
void readahead_init(struct readahead *ra, uint64_t max_window);
/* The read-ahead window the link calls for: the bytes it moves in READAHEAD_TARGET_S; 0 when
 * nothing is known of it yet (then it counts as fast). */
uint64_t readahead_link_window(const struct link_figures *link);
/* Whether a link whose window is link_window is slow (see above). */
bool readahead_link_is_slow(uint64_t link_window);
/* Records a read of len bytes at off in a file of file_size bytes, on a link whose window is
 * link_window (readahead_link_window), and gives the range [*start, *end) to fetch ahead
 * (*start == *end: nothing). */
void readahead_on_read(struct readahead *ra, uint64_t off, size_t len, uint64_t file_size,
                       uint64_t link_window, uint64_t *start, uint64_t *end);

/* What a prefetch job fetches. */
enum prefetch_kind {
    PREFETCH_BLOCK,  /* one block */
    PREFETCH_FILE,   /* a small file's object and its first block (directory scans) */
    PREFETCH_FOLDER, /* the file objects of a folder a directory scan reaches next (one batch),
                        then its first small files as PREFETCH_FILE jobs */
    PREFETCH_DISK,   /* a cached block's file read from the disk ahead of the reader (a block
                        not cached is not fetched: that is PREFETCH_BLOCK's job) */
};

/* Runs one prefetch job (called on a pool thread); id is a block or file object id. */
typedef void (*prefetch_fn)(void *ctx, enum prefetch_kind kind, const char *repo_id,
                            const char *id);

struct prefetch_pool;

/* Starts n_threads workers with a queue of at most queue_max jobs. NULL on failure. */
struct prefetch_pool *prefetch_pool_new(unsigned n_threads, size_t queue_max, prefetch_fn fn,
                                        void *ctx);
/* Queues a job unless the same job (kind and id) is already queued or the queue is full (then
 * false: read-ahead is best effort). Thread-safe. */
bool prefetch_pool_submit(struct prefetch_pool *pool, enum prefetch_kind kind, const char *repo_id,
                          const char *id);
/* The same, queued before the jobs already waiting: for a job that is one request and makes the
 * jobs after it cheaper (PREFETCH_FOLDER). */
bool prefetch_pool_submit_first(struct prefetch_pool *pool, enum prefetch_kind kind,
                                const char *repo_id, const char *id);

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
/* Files larger than this are not fetched ahead of a directory scan... */
#define SCAN_MAX_FILE_SIZE (16u << 20)
/* ... and on a slow link only files that cost about one round trip more than nothing: up to the
 * link's bandwidth-delay product, and at least this (a byte range fetches as much). A tool that
 * opens file after file on a slow link (a thumbnailer, exiftool, head) mostly reads a few KiB of
 * each: whole files fetched ahead would cost far more than the round trips they save. */
#define SCAN_SLOW_MIN_FILE_SIZE (128u * 1024)

/* On a far link (a round trip of at least SCAN_NEXT_FOLDER_MIN_RTT_S), once a scan's window
 * reaches the end of its folder and no sub-folder is left in it, the first files (up to
 * SCAN_NEXT_FOLDER_FILES) of the folder listed next in the parent are fetched ahead too: tar,
 * cp -r and grep -r go on there, and without it every folder began with the scan's ramp (a file
 * object batch, then one block at a time), a few round trips in sequence per folder. */
#define SCAN_NEXT_FOLDER_FILES     SCAN_MAX_WINDOW
#define SCAN_NEXT_FOLDER_MIN_RTT_S 0.005

/* The largest file worth fetching ahead of a directory scan on that link. */
uint64_t scan_max_file_size(const struct link_figures *link);

/* Records an open of listing position index (of n_entries) in directory dir; gives the range
 * [*from, *to) of positions to fetch ahead (*from == *to: nothing). */
void scan_on_open(struct scan_detector *sd, uint64_t dir, size_t index, size_t n_entries,
                  size_t *from, size_t *to);
/* Drops queued jobs, waits for running ones, stops the workers. NULL is a no-op. */
void prefetch_pool_free(struct prefetch_pool *pool);

#endif
