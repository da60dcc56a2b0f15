/* entry_table: the in-memory state of every cached object: a hash table by (kind, id) and the
 * least-recently-used list, both intrusive. The cache's lock protects all of it. */
#ifndef SEAFS_ENTRY_TABLE_H
#define SEAFS_ENTRY_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"
#include "seaf_ids.h"

enum entry_state {
    ENTRY_FILLING,  /* a fill is writing it; others wait for the outcome */
    ENTRY_READY,    /* on disk, readable, in the LRU list */
    ENTRY_REMOVING, /* being deleted (evicted or dropped); its file may still exist */
    ENTRY_GONE,     /* out of the table; kept alive only by references */
};

struct cache_entry {
    struct cache_entry *hash_next; /* chain in the hash bucket */
    struct cache_entry *lru_prev;  /* LRU neighbours while READY */
    struct cache_entry *lru_next;
    struct cache_entry *work_next; /* scratch chain for batches (victims, recovery) */
    int kind;
    char id[SEAF_ID_LEN + 1];
    enum entry_state state;
    uint64_t disk_size; /* bytes of the file on disk (READY / REMOVING) */
    uint64_t seq;       /* recency: larger is more recent */
    bool pinned;        /* never evicted */
    unsigned refs;      /* the table's own reference plus one per handle, fill and waiter */
    unsigned opens;     /* open read handles: such an entry is not evicted */
    seaf_err outcome;   /* when GONE: the error of the fill that failed (SEAF_OK if removed) */
    bool seen;          /* scratch mark for start-up recovery */
};

struct entry_table {
    struct cache_entry **buckets;
    size_t bucket_count;    /* power of two */
    size_t count;           /* entries in the hash table */
    struct cache_entry lru; /* sentinel: lru.lru_next is the least recently used */
};

/* Prepares an empty table. SEAF_ERR_NOMEM. */
seaf_err entry_table_init(struct entry_table *t);
/* Frees every entry still in the table and the buckets. */
void entry_table_release(struct entry_table *t);

/* Allocates an entry for (kind, id) with one reference and state FILLING. NULL on no memory. */
struct cache_entry *entry_new(int kind, const char *id);
/* Drops one reference; frees the entry at zero. */
void entry_unref(struct cache_entry *e);

/* The entry of (kind, id), or NULL. */
struct cache_entry *entry_table_find(const struct entry_table *t, int kind, const char *id);
/* Adds e (not already present) to the hash table; grows the table when needed. */
void entry_table_insert(struct entry_table *t, struct cache_entry *e);
/* Takes e out of the hash table (and the LRU list if it is in it). */
void entry_table_remove(struct entry_table *t, struct cache_entry *e);

/* Calls fn on every entry of the hash table (fn must not change the table). */
void entry_table_for_each(const struct entry_table *t, void (*fn)(struct cache_entry *, void *),
                          void *ctx);

/* Appends e as the most recently used entry (removing it from its old place first). */
void entry_lru_push_recent(struct entry_table *t, struct cache_entry *e);
/* Takes e out of the LRU list (no-op if it is not in it). */
void entry_lru_unlink(struct cache_entry *e);
/* The least recently used entry, or NULL when the list is empty. */
struct cache_entry *entry_lru_oldest(const struct entry_table *t);
/* The next more recent entry after e, or NULL. */
struct cache_entry *entry_lru_next(const struct entry_table *t, const struct cache_entry *e);

#endif
