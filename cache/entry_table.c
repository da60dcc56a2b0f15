/* entry_table: chained hash table keyed by (kind, id) plus a doubly linked LRU list.
 *
 * Both structures are intrusive (the links live in struct cache_entry), so a touch on a cache hit
 * is a hash lookup and two pointer moves, with no allocation. Entries are reference counted: an
 * entry taken out of the table stays valid for the handles and waiters still holding it. */
#include "entry_table.h"

#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 1024

seaf_err entry_table_init(struct entry_table *t)
{
    memset(t, 0, sizeof(*t));
    t->buckets = calloc(INITIAL_BUCKETS, sizeof(*t->buckets));
    if (t->buckets == NULL)
        return SEAF_ERR_NOMEM;
    t->bucket_count = INITIAL_BUCKETS;
    t->lru.lru_next = &t->lru;
    t->lru.lru_prev = &t->lru;
    return SEAF_OK;
}

void entry_table_release(struct entry_table *t)
{
    for (size_t i = 0; i < t->bucket_count; i++) {
        struct cache_entry *e = t->buckets[i];
        while (e != NULL) {
            struct cache_entry *next = e->hash_next;
            e->state = ENTRY_GONE;
            entry_unref(e);
            e = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->count = 0;
}

struct cache_entry *entry_new(int kind, const char *id)
{
    struct cache_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->kind = kind;
    memcpy(e->id, id, SEAF_ID_LEN);
    e->id[SEAF_ID_LEN] = '\0';
    e->state = ENTRY_FILLING;
    e->refs = 1;
    return e;
}

void entry_unref(struct cache_entry *e)
{
    if (--e->refs == 0)
        free(e);
}

/* FNV-1a over the id (already a hash, but this keeps us honest for any input) and the kind. */
static size_t bucket_of(const struct entry_table *t, int kind, const char *id)
{
    uint64_t h = 1469598103934665603ull ^ (uint64_t)kind;
    for (int i = 0; i < SEAF_ID_LEN; i++)
        h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
    return (size_t)h & (t->bucket_count - 1);
}

struct cache_entry *entry_table_find(const struct entry_table *t, int kind, const char *id)
{
    for (struct cache_entry *e = t->buckets[bucket_of(t, kind, id)]; e; e = e->hash_next)
        if (e->kind == kind && memcmp(e->id, id, SEAF_ID_LEN) == 0)
            return e;
    return NULL;
}

/* Doubles the bucket array; on allocation failure keeps the old one (longer chains only). */
static void grow(struct entry_table *t)
{
    size_t old_count = t->bucket_count;
    struct cache_entry **old = t->buckets;
    struct cache_entry **buckets = calloc(old_count * 2, sizeof(*buckets));
    if (buckets == NULL)
        return;
    t->buckets = buckets;
    t->bucket_count = old_count * 2;
    for (size_t i = 0; i < old_count; i++) {
        struct cache_entry *e = old[i];
        while (e != NULL) {
            struct cache_entry *next = e->hash_next;
            size_t b = bucket_of(t, e->kind, e->id);
            e->hash_next = buckets[b];
            buckets[b] = e;
            e = next;
        }
    }
    free(old);
}

void entry_table_insert(struct entry_table *t, struct cache_entry *e)
{
    if (t->count >= t->bucket_count)
        grow(t);
    size_t b = bucket_of(t, e->kind, e->id);
    e->hash_next = t->buckets[b];
    t->buckets[b] = e;
    t->count++;
}

void entry_table_remove(struct entry_table *t, struct cache_entry *e)
{
    entry_lru_unlink(e);
    struct cache_entry **link = &t->buckets[bucket_of(t, e->kind, e->id)];
    while (*link != NULL && *link != e)
        link = &(*link)->hash_next;
    if (*link == e) {
        *link = e->hash_next;
        e->hash_next = NULL;
        t->count--;
    }
}

void entry_table_for_each(const struct entry_table *t, void (*fn)(struct cache_entry *, void *),
                          void *ctx)
{
    for (size_t i = 0; i < t->bucket_count; i++)
        for (struct cache_entry *e = t->buckets[i]; e != NULL; e = e->hash_next)
            fn(e, ctx);
}

void entry_lru_unlink(struct cache_entry *e)
{
    if (e->lru_next == NULL)
        return;
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
    e->lru_next = NULL;
    e->lru_prev = NULL;
}

void entry_lru_push_recent(struct entry_table *t, struct cache_entry *e)
{
    entry_lru_unlink(e);
    e->lru_prev = t->lru.lru_prev;
    e->lru_next = &t->lru;
    t->lru.lru_prev->lru_next = e;
    t->lru.lru_prev = e;
}

struct cache_entry *entry_lru_oldest(const struct entry_table *t)
{
    return t->lru.lru_next == &t->lru ? NULL : t->lru.lru_next;
}

struct cache_entry *entry_lru_next(const struct entry_table *t, const struct cache_entry *e)
{
    return e->lru_next == &t->lru ? NULL : e->lru_next;
}
