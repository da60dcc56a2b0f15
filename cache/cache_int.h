/* cache_int: the private state of a cache, shared by cache.c (lifecycle, pins), cache_handle.c
 * (reads), cache_fill.c (fills), evict.c (space) and recovery.c (start-up). Not for use outside
 * cache/.
 *
 * Lock order: cache->pin_lock (held across pin-marker I/O), then cache->lock, then the index
 * writer's queue lock (commands are posted under cache->lock so the index sees changes of one
 * object in the order they were made). No disk I/O other than statvfs is done under cache->lock:
 * unlink, open, read and rename happen outside it, with the entry's state (FILLING / REMOVING)
 * keeping other threads off that object meanwhile. */
#ifndef SEAFS_CACHE_INT_H
#define SEAFS_CACHE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "entry_table.h"
#include "store.h"

struct index_db;
struct index_writer;
struct meta_db;

struct cache {
    struct store store;
    int lock_fd; /* holds the directory lock (store_lock) */
    struct cache_options opts;
    char db_path[PATH_MAX];
    char meta_path[PATH_MAX];
    struct meta_db *meta; /* the metadata objects (thread-safe on its own) */
    uint64_t high_water;  /* bytes */
    uint64_t low_water;   /* bytes */

    pthread_mutex_t pin_lock; /* serializes cache_pin calls with their pin-marker writes */
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* broadcast whenever an entry changes state; protected by lock */
    struct entry_table table; /* protected by lock */
    uint64_t used;            /* bytes of files on disk or reserved for commits, staging
                                 included; protected by lock */
    uint64_t staged;          /* bytes of the staging area (part of used); by lock */
    uint64_t next_seq;        /* recency counter; protected by lock */
    struct cache_stats stats; /* counters; protected by lock */

    struct index_db *db;
    struct index_writer *writer;

    pthread_t evictor;
    pthread_cond_t evict_wake; /* protected by lock */
    uint64_t evict_kicks;      /* requests for a background pass; protected by lock */
    uint64_t evict_passes;     /* passes done (a pass answers every kick before it); by lock */
    bool stopping;             /* protected by lock */
};

struct cache_handle {
    struct cache *cache;
    struct cache_entry *entry;   /* holds a reference and one of entry->opens */
    struct block_reader *reader; /* a block */
    char *data;                  /* a metadata object, read and checked whole at open */
    size_t len;
};

/* Space management (evict.c). */
/* Reserves room for incoming bytes under the hard limit and the free-space minimum, evicting
 * least recently used objects synchronously if needed. Called and returns with c->lock held (it
 * drops it while unlinking). SEAF_ERR_NOSPACE if not enough can be evicted -- unless must (data
 * that exists nowhere else), which only fails when the disk has no room for it. */
seaf_err evict_reserve_locked(struct cache *c, uint64_t incoming, bool must);
/* Asks the evictor thread for a pass if the cache is above its high watermark or the disk is
 * below its free-space minimum. Called with c->lock held. */
void evict_kick_locked(struct cache *c);
/* Runs one eviction pass now (down to the low watermark). Called with c->lock held. */
void evict_pass_locked(struct cache *c);
/* Starts / stops the evictor thread. */
seaf_err evict_thread_start(struct cache *c);
void evict_thread_stop(struct cache *c);

/* Deletes the files of a chain (work_next) of REMOVING entries, then, under the lock, takes them
 * out of the table, updates the accounting and the index, and wakes waiters. Called WITHOUT
 * c->lock. `evicted` says which counter to bump (evictions or corrupt_drops). */
void cache_finish_removal(struct cache *c, struct cache_entry *chain, bool evicted);
/* Marks a READY entry REMOVING and takes it out of the LRU list. Called with the cache's lock
 * held. */
void cache_begin_removal_locked(struct cache_entry *e);

/* Shared by the API files (cache.c, cache_handle.c, cache_fill.c). */
/* True for a valid kind and a 40-hex-digit id. */
bool cache_key_valid(int kind, const char *id);
/* Posts the current state of e to the index writer. Called with c->lock held. */
void cache_index_put_locked(struct cache *c, const struct cache_entry *e);
/* Claims a READY entry for a new handle (open count, reference, LRU touch, hit counter). Called
 * with c->lock held. */
void cache_claim_open_locked(struct cache *c, struct cache_entry *e);
/* Builds a handle on an entry the caller has claimed. A block: fd < 0 means "open the file";
 * otherwise the reader takes the given descriptor. A metadata object: data (malloc'd, taken over)
 * holds its len bytes, or is NULL to read them from the database. On a damaged or missing object
 * the entry is dropped, the claim released, and SEAF_ERR_NOT_FOUND returned. */
seaf_err cache_make_handle(struct cache *c, struct cache_entry *e, int fd, char *data, size_t len,
                           struct cache_handle **out);

/* Start-up recovery (recovery.c): clears temporary files, opens the metadata database (moving
 * the metadata files of an older cache into it), loads the index into c->table, reconciles it
 * with the files and rows (rebuilding a missing or corrupt index), and sets c->used,
 * c->next_seq and the recovery counters. Runs before any thread is started. */
seaf_err recovery_run(struct cache *c);

#endif
