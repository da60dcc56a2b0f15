/* cache: lifecycle of a cache (open with recovery, threads, shutdown), pins, removal, stats,
 * and the removal path shared by eviction and damage handling. Reads are in cache_handle.c,
 * fills in cache_fill.c.
 *
 * The state of every object is an entry (entry_table.h) guarded by c->lock:
 *   (none) --open_or_fill--> FILLING --commit--> READY --evict/drop/remove--> REMOVING --> GONE
 *                              \--abort / failed commit--> GONE (waiters get the error)
 * A request that finds FILLING or REMOVING waits on c->changed (a condition variable, no polling)
 * and looks again. Hits only take c->lock for a lookup and an LRU move; the index row is updated
 * by posting a command to the index writer thread, so a read never waits for sqlite.
 * Block files are read through block_reader (one frame per small read, checksummed); a checksum
 * failure drops the object so the next request refills it from the source. */
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_format.h"
#include "cache_int.h"
#include "index_db.h"
#include "index_writer.h"
#include "meta_db.h"

void cache_options_init(struct cache_options *o)
{
    memset(o, 0, sizeof(*o));
    o->size_limit = 10ull << 30;
    o->high_water_pct = 90;
    o->low_water_pct = 75;
    o->min_free_bytes = 1ull << 30;
    o->frame_size = BLOCK_FRAME_SIZE_DEFAULT;
}

static bool options_valid(const struct cache_options *o)
{
    return o->dir != NULL && o->size_limit > 0 && o->low_water_pct <= o->high_water_pct &&
           o->high_water_pct <= 100 && o->frame_size > 0 && o->frame_size <= BLOCK_FRAME_SIZE_MAX;
}

/* pct % of n, without overflow for any n. */
static uint64_t percent_of(uint64_t n, unsigned pct)
{
    return n / 100 * pct + n % 100 * pct / 100;
}

/* Frees what cache_new set up, in reverse order; safe on a partly built cache. */
static void teardown(struct cache *c, bool threads)
{
    if (threads)
        evict_thread_stop(c);
    /* With every change in the index, the next start may trust it without a scan. */
    if (index_writer_stop(c->writer) == 0 && threads)
        index_db_set_clean(c->db, true);
    index_db_close(c->db);
    meta_db_close(c->meta);
    entry_table_release(&c->table);
    if (c->lock_fd >= 0)
        close(c->lock_fd);
    pthread_cond_destroy(&c->evict_wake);
    pthread_cond_destroy(&c->changed);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->pin_lock);
    free(c);
}

seaf_err cache_new(const struct cache_options *o, struct cache **out)
{
    *out = NULL;
    if (o == NULL || !options_valid(o))
        return SEAF_ERR_INVALID_ARG;
    struct cache *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return SEAF_ERR_NOMEM;
    c->opts = *o;
    c->opts.dir = NULL; /* not kept: the store has its own copy */
    c->high_water = percent_of(o->size_limit, o->high_water_pct);
    c->low_water = percent_of(o->size_limit, o->low_water_pct);
    pthread_mutex_init(&c->pin_lock, NULL);
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->changed, NULL);
    pthread_cond_init(&c->evict_wake, NULL);
    c->lock_fd = -1;
    seaf_err err = entry_table_init(&c->table);
    if (err == SEAF_OK)
        err = store_init(&c->store, o->dir);
    if (err == SEAF_OK)
        err = store_lock(&c->store, &c->lock_fd);
    if (err == SEAF_OK && (snprintf(c->db_path, sizeof(c->db_path), "%s/index.db", c->store.root) >=
                               (int)sizeof(c->db_path) ||
                           snprintf(c->meta_path, sizeof(c->meta_path), "%s/meta.db",
                                    c->store.root) >= (int)sizeof(c->meta_path)))
        err = SEAF_ERR_INVALID_ARG;
    if (err == SEAF_OK)
        err = recovery_run(c);
    if (err == SEAF_OK)
        err = index_writer_start(c->db, &c->writer);
    if (err == SEAF_OK) {
        /* A limit lowered since the last run is enforced before anything is served. */
        pthread_mutex_lock(&c->lock);
        if (c->used > c->high_water)
            evict_pass_locked(c);
        pthread_mutex_unlock(&c->lock);
        err = evict_thread_start(c);
    }
    if (err == SEAF_OK) {
        pthread_mutex_lock(&c->lock);
        evict_kick_locked(c); /* the disk may be short of free space already */
        pthread_mutex_unlock(&c->lock);
    }
    if (err != SEAF_OK) {
        teardown(c, false);
        return err;
    }
    *out = c;
    return SEAF_OK;
}

void cache_free(struct cache *c)
{
    if (c != NULL)
        teardown(c, true);
}

void cache_index_put_locked(struct cache *c, const struct cache_entry *e)
{
    index_writer_put(c->writer, e->kind, e->id, e->disk_size, e->seq, e->pinned);
}

void cache_begin_removal_locked(struct cache_entry *e)
{
    e->state = ENTRY_REMOVING;
    entry_lru_unlink(e);
}

/* Deletes the rows of the metadata objects of a chain, in one transaction per batch. */
static void remove_meta_rows(struct cache *c, struct cache_entry *chain)
{
    struct meta_db_key keys[256];
    size_t n = 0;
    for (struct cache_entry *e = chain; e != NULL; e = e->work_next) {
        if (!cache_kind_is_meta(e->kind))
            continue;
        keys[n].kind = e->kind;
        memcpy(keys[n].id, e->id, sizeof(keys[n].id));
        if (++n == sizeof(keys) / sizeof(keys[0])) {
            meta_db_delete(c->meta, keys, n);
            n = 0;
        }
    }
    meta_db_delete(c->meta, keys, n);
}

void cache_finish_removal(struct cache *c, struct cache_entry *chain, bool evicted)
{
    for (struct cache_entry *e = chain; e != NULL; e = e->work_next) {
        if (cache_kind_is_meta(e->kind))
            continue; /* the row goes with its pin flag, below */
        store_remove(&c->store, e->kind, e->id);
        if (e->pinned) /* set while READY, under the lock: stable now */
            store_pin_clear(&c->store, e->kind, e->id);
    }
    remove_meta_rows(c, chain);
    pthread_mutex_lock(&c->lock);
    while (chain != NULL) {
        struct cache_entry *e = chain;
        chain = e->work_next;
        c->used -= e->disk_size;
        if (e->pinned)
            c->stats.pinned--;
        if (evicted)
            c->stats.evictions++;
        else
            c->stats.corrupt_drops++;
        index_writer_delete(c->writer, e->kind, e->id);
        entry_table_remove(&c->table, e);
        e->state = ENTRY_GONE;
        e->outcome = SEAF_OK;
        entry_unref(e);
    }
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

bool cache_key_valid(int kind, const char *id)
{
    return cache_kind_valid(kind) && id != NULL && seaf_id_valid(id, strlen(id));
}

/* The READY entry of (kind, id), or NULL. Called with c->lock held. */
static struct cache_entry *find_ready_locked(struct cache *c, int kind, const char *id)
{
    struct cache_entry *e = entry_table_find(&c->table, kind, id);
    return e != NULL && e->state == ENTRY_READY ? e : NULL;
}

/* The READY entry of (kind, id) with an extra reference, or NULL. Called with c->lock held. */
static struct cache_entry *ref_ready_locked(struct cache *c, int kind, const char *id)
{
    struct cache_entry *e = find_ready_locked(c, kind, id);
    if (e != NULL)
        e->refs++;
    return e;
}

bool cache_contains(struct cache *c, int kind, const char *id)
{
    if (!cache_key_valid(kind, id))
        return false;
    pthread_mutex_lock(&c->lock);
    bool ready = find_ready_locked(c, kind, id) != NULL;
    pthread_mutex_unlock(&c->lock);
    return ready;
}

struct pinned_list {
    struct cache_pinned *items;
    size_t n, cap;
    bool failed;
};

static void collect_pinned(struct cache_entry *e, void *ctx)
{
    struct pinned_list *l = ctx;
    if (!e->pinned || e->state != ENTRY_READY || l->failed)
        return;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct cache_pinned *more = realloc(l->items, cap * sizeof(*more));
        if (more == NULL) {
            l->failed = true;
            return;
        }
        l->items = more;
        l->cap = cap;
    }
    l->items[l->n].kind = e->kind;
    memcpy(l->items[l->n].id, e->id, sizeof(e->id));
    l->n++;
}

seaf_err cache_pinned_list(struct cache *c, struct cache_pinned **out, size_t *n)
{
    struct pinned_list l = {0};
    pthread_mutex_lock(&c->lock);
    entry_table_for_each(&c->table, collect_pinned, &l);
    pthread_mutex_unlock(&c->lock);
    if (l.failed) {
        free(l.items);
        return SEAF_ERR_NOMEM;
    }
    *out = l.items;
    *n = l.n;
    return SEAF_OK;
}

seaf_err cache_pin(struct cache *c, int kind, const char *id, bool pinned)
{
    if (!cache_key_valid(kind, id))
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->pin_lock);
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = ref_ready_locked(c, kind, id);
    bool change = e != NULL && e->pinned != pinned;
    pthread_mutex_unlock(&c->lock);
    seaf_err err = e == NULL ? SEAF_ERR_NOT_FOUND : SEAF_OK;
    bool meta = cache_kind_is_meta(kind);
    /* Pinning writes the marker (a metadata object: its row's flag) before the entry's flag;
     * unpinning clears the entry's flag first. */
    if (change && pinned && meta) {
        err = meta_db_set_pinned(c->meta, kind, id, true);
    } else if (change && pinned) {
        char path[PATH_MAX];
        store_object_path(&c->store, kind, id, path);
        err = store_pin_mark(&c->store, kind, id, path);
    }
    pthread_mutex_lock(&c->lock);
    if (change && err == SEAF_OK && e->state == ENTRY_READY) {
        c->stats.pinned += pinned ? 1 : (uint64_t)-1;
        e->pinned = pinned;
        cache_index_put_locked(c, e);
        if (!pinned && c->used > c->opts.size_limit)
            evict_pass_locked(c); /* pinned data let in over the limit may go now */
        else
            evict_kick_locked(c);
    } else if (change && err == SEAF_OK) {
        err = SEAF_ERR_NOT_FOUND; /* removed meanwhile */
    }
    if (e != NULL)
        entry_unref(e);
    pthread_mutex_unlock(&c->lock);
    if (change && (!pinned || err != SEAF_OK)) {
        if (meta)
            meta_db_set_pinned(c->meta, kind, id, false);
        else
            store_pin_clear(&c->store, kind, id);
    }
    pthread_mutex_unlock(&c->pin_lock);
    return err;
}

seaf_err cache_remove(struct cache *c, int kind, const char *id)
{
    if (!cache_key_valid(kind, id))
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = find_ready_locked(c, kind, id);
    if (e == NULL) {
        pthread_mutex_unlock(&c->lock);
        return SEAF_ERR_NOT_FOUND;
    }
    cache_begin_removal_locked(e);
    e->work_next = NULL;
    pthread_mutex_unlock(&c->lock);
    cache_finish_removal(c, e, true);
    return SEAF_OK;
}

seaf_err cache_flush(struct cache *c)
{
    return store_sync_all(&c->store);
}

void cache_sync(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->evict_passes != c->evict_kicks)
        pthread_cond_wait(&c->changed, &c->lock);
    pthread_mutex_unlock(&c->lock);
    index_writer_flush(c->writer);
}

static void add_pinned_bytes(struct cache_entry *e, void *ctx)
{
    if (e->pinned && e->state == ENTRY_READY)
        *(uint64_t *)ctx += e->disk_size;
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->used_bytes = c->used;
    out->staged_bytes = c->staged;
    out->entries = c->table.count;
    out->pinned_bytes = 0;
    entry_table_for_each(&c->table, add_pinned_bytes, &out->pinned_bytes);
    pthread_mutex_unlock(&c->lock);
    out->index_errors = index_writer_errors(c->writer);
}
