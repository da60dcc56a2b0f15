/* cache: the persistent, content-addressed cache of blocks and metadata objects (public API).
 *
 * Objects are keyed by (kind, id); see cache_kind.h. The cache knows nothing about where objects
 * come from: on a miss the caller gets a fill, a sink it writes the bytes into (from the network,
 * or from local writes later), and commits. Concurrent requests for the same missing object are
 * collapsed into one fill; the others wait for its outcome on a condition variable.
 *
 * Thread-safety: every function may be called from any thread, except cache_free (no other call
 * may be running, every handle and fill must be finished). Handles and fills belong to one thread
 * at a time, except cache_read, which may be called concurrently on one handle.
 * Return convention: SEAF_OK or a seaf_err; turn it into an errno with seaf_err_to_errno(). */
#ifndef SEAFS_CACHE_H
#define SEAFS_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache_kind.h"
#include "seaf_error.h"
#include "seaf_ids.h"

struct cache;
struct cache_handle;
struct cache_fill;

struct cache_options {
    const char *dir;         /* cache directory (created if missing) */
    uint64_t size_limit;     /* hard limit of the bytes of cached files on disk */
    unsigned high_water_pct; /* background eviction starts above this % of the limit */
    unsigned low_water_pct;  /* ... and evicts down to this % */
    uint64_t min_free_bytes; /* keep at least this much free space on the cache's filesystem */
    uint32_t frame_size;     /* plain bytes per lz4 frame in new block files */
    bool sync_writes;        /* fsync every committed object, not only pinned ones */
};

struct cache_stats {
    uint64_t used_bytes;     /* bytes of cached files on disk, staging area included */
    uint64_t pinned_bytes;   /* bytes of pinned objects (may go past the limit: data that
                                exists nowhere else is never refused for the limit) */
    uint64_t staged_bytes;   /* bytes of the staging area */
    uint64_t entries;        /* objects cached (including those being filled) */
    uint64_t pinned;         /* pinned objects */
    uint64_t hits;           /* opens served from the cache */
    uint64_t misses;         /* opens that found nothing */
    uint64_t fills;          /* fills committed */
    uint64_t fill_failures;  /* fills aborted or refused at commit */
    uint64_t waits;          /* requests that waited for another thread's fill */
    uint64_t evictions;      /* objects evicted for space */
    uint64_t corrupt_drops;  /* objects dropped because a check failed */
    uint64_t index_errors;   /* index commands lost (repaired by the next start-up) */
    uint64_t recovered_temp; /* temporary files removed at start-up */
    uint64_t recovered_rows; /* index rows dropped or added at start-up to match the files */
    bool index_rebuilt;      /* the index was missing (new cache too) or corrupt at start-up */
};

/* Fills o with the defaults: 10 GiB limit, watermarks 90% / 75%, 1 GiB minimum free space,
 * 64 KiB frames, sync_writes off; dir stays NULL. Cannot fail.
 * Durability: a pinned object (data that may exist nowhere else) is always fsynced, file and
 * directory, before its commit returns. Other objects are not: a crash of the process loses
 * nothing, and after a power cut a torn file fails its trailer or frame checksums and is dropped,
 * never served; fsync costs milliseconds per object on common disks. */
void cache_options_init(struct cache_options *o);

/* Opens the cache in o->dir, recovering from any earlier crash: temporary files are deleted, the
 * index is reconciled with the files (rebuilt from them if it is missing or corrupt), and the
 * cache is brought under its limit. Starts the index writer and evictor threads.
 * SEAF_ERR_INVALID_ARG for bad options, SEAF_ERR_IO (also when another cache, in this or another
 * process, has the directory open), SEAF_ERR_NOMEM. */
seaf_err cache_new(const struct cache_options *o, struct cache **out);
/* Flushes the index, stops the threads and frees the cache. NULL is allowed. */
void cache_free(struct cache *c);

/* Opens a cached object for reading without waiting: SEAF_ERR_NOT_FOUND on a miss (also while
 * another thread is still filling it). A damaged file found on open is dropped and reported as a
 * miss. The object is not evicted while open. Counts as a use for LRU. */
seaf_err cache_open(struct cache *c, int kind, const char *id, struct cache_handle **out);
/* True when (kind, id) is cached and ready to open (false while it is being filled or removed,
 * and for a bad kind or id). Not a use: no LRU move, no index write, no hit or miss counted; the
 * file itself is not checked (cache_open may still find it damaged). */
bool cache_contains(struct cache *c, int kind, const char *id);
/* The single-flight entry point. Exactly one of *handle / *fill is set on SEAF_OK:
 *  - *handle: the object is cached (possibly after waiting for another thread's fill);
 *  - *fill: it is not, and this caller must fill it (cache_fill_write, then cache_fill_commit
 *    or cache_fill_abort); concurrent callers for the same object wait meanwhile.
 * If the fill this call waited for failed, its error is returned (e.g. SEAF_ERR_NETWORK passed to
 * cache_fill_abort, SEAF_ERR_ID_MISMATCH, SEAF_ERR_NOSPACE). SEAF_ERR_INVALID_ARG for a bad kind
 * or id; SEAF_ERR_IO / SEAF_ERR_NOSPACE / SEAF_ERR_NOMEM when no fill can be started. */
seaf_err cache_open_or_fill(struct cache *c, int kind, const char *id, struct cache_handle **handle,
                            struct cache_fill **fill);

/* Reads up to len bytes at off into buf; *n_read is the count (0 at or past the end). Every frame
 * read is checked: on a damaged frame the object is dropped from the cache, no byte of it is
 * returned, and SEAF_ERR_ID_MISMATCH is reported. Never blocks on the index. */
seaf_err cache_read(struct cache_handle *h, uint64_t off, size_t len, void *buf, size_t *n_read);
/* Reads what of the object's file is not in memory yet into the page cache, for a reader about
 * to read it (the disk streams while the reader is busy elsewhere); cache_read checks the bytes
 * all the same. Nothing for a metadata object (read whole at open). Best effort; blocks for the
 * disk, so it is for a helper thread. */
void cache_preload(const struct cache_handle *h);
/* Plain size of the object. */
uint64_t cache_handle_size(const struct cache_handle *h);
/* Closes a handle. NULL is allowed. */
void cache_close(struct cache_handle *h);

/* Appends bytes of the object being filled. SEAF_ERR_NOSPACE when the object alone would exceed
 * the cache limit, SEAF_ERR_IO; after an error only cache_fill_abort is allowed. */
seaf_err cache_fill_write(struct cache_fill *f, const void *data, size_t len);
/* Forgets everything written to the fill so far, so a retried download can start over (the
 * `reset` of a net sink). SEAF_ERR_IO, SEAF_ERR_NOMEM. */
seaf_err cache_fill_reset(struct cache_fill *f);
/* Asks for the object to be pinned when committed (for data not yet uploaded, for example); it
 * is then also made durable (fsync) before the commit returns. */
void cache_fill_pin(struct cache_fill *f);
/* Finishes the fill. For kinds whose id is a SHA-1 of the bytes the digest is checked first
 * (SEAF_ERR_ID_MISMATCH, nothing stored). Room is made by evicting least recently used objects;
 * SEAF_ERR_NOSPACE if that is impossible. Only then does the object become visible, and waiters
 * wake. If handle is not NULL it receives an open handle on success. Frees f in every case. */
seaf_err cache_fill_commit(struct cache_fill *f, struct cache_handle **handle);
/* Abandons the fill; waiters get reason (SEAF_ERR_IO if reason is SEAF_OK). Frees f. */
void cache_fill_abort(struct cache_fill *f, seaf_err reason);

/* Sets or clears the pin of a cached object. SEAF_ERR_NOT_FOUND if it is not cached. */
seaf_err cache_pin(struct cache *c, int kind, const char *id, bool pinned);
/* The pinned objects now, in a malloc'd array (free() it). */
struct cache_pinned {
    int kind;
    char id[SEAF_ID_LEN + 1];
};
seaf_err cache_pinned_list(struct cache *c, struct cache_pinned **out, size_t *n);
/* Removes an object. SEAF_ERR_NOT_FOUND if it is not cached (or still being filled).
 * Open handles keep reading the old file. */
seaf_err cache_remove(struct cache *c, int kind, const char *id);

/* Stores a whole small object (commit, fs object or block map) in one call; SEAF_OK if it was
 * already cached. Same checks as a fill. */
seaf_err cache_put_object(struct cache *c, int kind, const char *id, const void *data, size_t len);
/* The same for data that exists nowhere else yet (made locally, not uploaded): stored pinned, or
 * pinned if already cached. The limit never refuses it (only a full disk: SEAF_ERR_NOSPACE).
 * Once this returns the object survives a crash of the process; a power cut only after
 * cache_flush (so that many objects cost one flush, not an fsync each). */
seaf_err cache_put_pinned(struct cache *c, int kind, const char *id, const void *data, size_t len);
/* One object of a cache_put_objects call. */
struct cache_object {
    const char *id;
    const void *data;
    size_t len;
};
/* Stores many whole metadata objects of one kind (not pinned) at once: those not cached yet are
 * written in one transaction, so a batch costs about what one object does. Objects cached or
 * being filled already are left alone; one whose bytes do not hash to its id (SHA-1 kinds) is
 * skipped. SEAF_OK when every object is cached now; else the first error (SEAF_ERR_ID_MISMATCH,
 * SEAF_ERR_INVALID_ARG for a bad id, SEAF_ERR_NOSPACE, ...), the other objects being stored all
 * the same unless the write itself failed. SEAF_ERR_INVALID_ARG for the block kind. */
seaf_err cache_put_objects(struct cache *c, int kind, const struct cache_object *objs, size_t n);
/* Reads a whole cached object into a new buffer (*data, free() it; NUL-terminated for
 * convenience, *len excludes the NUL). SEAF_ERR_NOT_FOUND on a miss. */
seaf_err cache_get_object(struct cache *c, int kind, const char *id, char **data, size_t *len);

/* Makes every object and pin stored so far durable against a power cut (see cache_put_pinned). */
seaf_err cache_flush(struct cache *c);
/* Waits until the index has committed every change made so far and no eviction is pending. */
void cache_sync(struct cache *c);
/* A consistent snapshot of the counters. */
void cache_get_stats(struct cache *c, struct cache_stats *out);

/* ---- staging area: data of files being changed locally (never evicted; staging.c) ---- */

/* Opens the staging file of staged file id (read-write), creating it when create.
 * SEAF_ERR_NOT_FOUND when it does not exist. The caller owns *fd. */
seaf_err cache_staging_open(struct cache *c, uint64_t id, bool create, int *fd);
/* Removes the staging file of id (a missing one is not an error). */
seaf_err cache_staging_remove(struct cache *c, uint64_t id);
/* fsyncs the staging directory, so staging files created before survive a power cut. */
seaf_err cache_staging_sync_dir(struct cache *c);
/* Calls fn with the id of every staging file present; a non-zero return stops the scan. */
typedef int (*cache_staging_fn)(void *ctx, uint64_t id);
seaf_err cache_staging_scan(struct cache *c, cache_staging_fn fn, void *ctx);
/* Adds delta (may be negative) to the bytes the staging area holds: they count as used space, so
 * clean objects are evicted to make room. */
void cache_staging_account(struct cache *c, int64_t delta);
/* Bytes used (staging included), the limit, and the staging area's bytes. */
void cache_usage(struct cache *c, uint64_t *used, uint64_t *limit, uint64_t *staged);
/* Waits (evicting meanwhile) until the cache is within its limit or timeout_ms passed; true when
 * it is within. For slowing down writers while pinned and staged data fill the cache. */
bool cache_wait_room(struct cache *c, unsigned timeout_ms);

#endif
