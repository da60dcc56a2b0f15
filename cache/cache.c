/* cache: the public face of the cache: lifecycle, single-flight open-or-fill, reads, pins.
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

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_format.h"
#include "block_reader.h"
#include "block_writer.h"
#include "cache_int.h"
#include "index_db.h"
#include "index_writer.h"

struct cache_fill {
    struct cache *cache;
    struct cache_entry *entry; /* FILLING; holds a reference */
    int fd;
    char tmp_path[PATH_MAX];
    struct block_writer *writer;
    bool pin;
};

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
    entry_table_release(&c->table);
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
    seaf_err err = entry_table_init(&c->table);
    if (err == SEAF_OK)
        err = store_init(&c->store, o->dir);
    if (err == SEAF_OK && snprintf(c->db_path, sizeof(c->db_path), "%s/index.db", c->store.root) >=
                              (int)sizeof(c->db_path))
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

/* Posts the current state of e to the index. Called with c->lock held. */
static void index_put_locked(struct cache *c, const struct cache_entry *e)
{
    index_writer_put(c->writer, e->kind, e->id, e->disk_size, e->seq, e->pinned);
}

/* Marks a use of e: newest in the LRU list, new recency in the index. Called with c->lock held. */
static void touch_locked(struct cache *c, struct cache_entry *e)
{
    e->seq = c->next_seq++;
    entry_lru_push_recent(&c->table, e);
    index_put_locked(c, e);
}

void cache_begin_removal_locked(struct cache *c, struct cache_entry *e)
{
    e->state = ENTRY_REMOVING;
    entry_lru_unlink(&c->table, e);
}

void cache_finish_removal(struct cache *c, struct cache_entry *chain, bool evicted)
{
    for (struct cache_entry *e = chain; e != NULL; e = e->work_next) {
        store_remove(&c->store, e->kind, e->id);
        if (e->pinned) /* set while READY, under the lock: stable now */
            store_pin_clear(&c->store, e->kind, e->id);
    }
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

/* Drops a READY entry whose file failed a check (the caller holds a reference). */
static void drop_damaged(struct cache *c, struct cache_entry *e)
{
    pthread_mutex_lock(&c->lock);
    bool mine = e->state == ENTRY_READY;
    if (mine) {
        cache_begin_removal_locked(c, e);
        e->work_next = NULL;
    }
    pthread_mutex_unlock(&c->lock);
    if (mine)
        cache_finish_removal(c, e, false);
}

/* Gives up a handle's claim on its entry (reference and open count). */
static void release_open(struct cache *c, struct cache_entry *e)
{
    pthread_mutex_lock(&c->lock);
    e->opens--;
    entry_unref(e);
    if (c->used > c->high_water)
        evict_kick_locked(c); /* it may have been the object eviction was waiting for */
    pthread_mutex_unlock(&c->lock);
}

/* Builds a handle on an entry that the caller has already counted as open (opens and refs).
 * fd < 0 means "open the file"; otherwise the reader takes the given descriptor. On a damaged
 * or missing file the entry is dropped and SEAF_ERR_NOT_FOUND returned. */
static seaf_err make_handle(struct cache *c, struct cache_entry *e, int fd,
                            struct cache_handle **out)
{
    *out = NULL;
    seaf_err err = fd >= 0 ? SEAF_OK : store_open_object(&c->store, e->kind, e->id, &fd);
    struct block_reader *reader = NULL;
    if (err == SEAF_OK)
        err = block_reader_open(fd, (uint32_t)e->kind, e->id, &reader);
    struct cache_handle *h = err == SEAF_OK ? calloc(1, sizeof(*h)) : NULL;
    if (err == SEAF_OK && h == NULL)
        err = SEAF_ERR_NOMEM;
    if (err != SEAF_OK) {
        block_reader_free(reader);
        if (err == SEAF_ERR_MALFORMED || err == SEAF_ERR_NOT_FOUND) {
            drop_damaged(c, e);
            err = SEAF_ERR_NOT_FOUND;
        }
        release_open(c, e);
        return err;
    }
    h->cache = c;
    h->entry = e;
    h->reader = reader;
    *out = h;
    return SEAF_OK;
}

/* Claims a READY entry for a new handle and counts the hit. Called with c->lock held. */
static void claim_open_locked(struct cache *c, struct cache_entry *e)
{
    e->opens++;
    e->refs++;
    c->stats.hits++;
    touch_locked(c, e);
}

static bool key_valid(int kind, const char *id)
{
    return cache_kind_valid(kind) && id != NULL && seaf_id_valid(id, strlen(id));
}

seaf_err cache_open(struct cache *c, int kind, const char *id, struct cache_handle **out)
{
    *out = NULL;
    if (!key_valid(kind, id))
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = entry_table_find(&c->table, kind, id);
    if (e == NULL || e->state != ENTRY_READY) {
        c->stats.misses++;
        pthread_mutex_unlock(&c->lock);
        return SEAF_ERR_NOT_FOUND;
    }
    claim_open_locked(c, e);
    pthread_mutex_unlock(&c->lock);
    return make_handle(c, e, -1, out);
}

/* Fails the FILLING entry e: it leaves the table and waiters get `reason`. Drops the table's
 * reference and the fill's. */
static void fail_entry(struct cache *c, struct cache_entry *e, seaf_err reason)
{
    pthread_mutex_lock(&c->lock);
    entry_table_remove(&c->table, e);
    e->state = ENTRY_GONE;
    e->outcome = reason;
    c->stats.fill_failures++;
    entry_unref(e); /* the table's reference */
    entry_unref(e); /* the fill's reference */
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
}

/* Ends a fill that will not be committed: deletes its temporary file, fails its entry, frees f. */
static void finish_failed_fill(struct cache_fill *f, seaf_err reason)
{
    if (f->fd >= 0) {
        close(f->fd);
        unlink(f->tmp_path);
    }
    block_writer_free(f->writer);
    fail_entry(f->cache, f->entry, reason);
    free(f);
}

/* Creates the temporary file and writer of a new fill on entry e (FILLING, in the table, with a
 * reference for the fill). On failure the entry is failed with the error. */
static seaf_err start_fill(struct cache *c, struct cache_entry *e, struct cache_fill **out)
{
    struct cache_fill *f = calloc(1, sizeof(*f));
    if (f == NULL) {
        fail_entry(c, e, SEAF_ERR_NOMEM);
        return SEAF_ERR_NOMEM;
    }
    f->cache = c;
    f->entry = e;
    seaf_err err = store_temp_create(&c->store, e->kind, e->id, &f->fd, f->tmp_path);
    if (err == SEAF_OK)
        err = block_writer_new(f->fd, (uint32_t)e->kind, e->id, c->opts.frame_size, &f->writer);
    if (err != SEAF_OK) {
        finish_failed_fill(f, err);
        return err;
    }
    *out = f;
    return SEAF_OK;
}

seaf_err cache_open_or_fill(struct cache *c, int kind, const char *id, struct cache_handle **handle,
                            struct cache_fill **fill)
{
    *handle = NULL;
    *fill = NULL;
    if (!key_valid(kind, id))
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        struct cache_entry *e = entry_table_find(&c->table, kind, id);
        if (e == NULL) {
            e = entry_new(kind, id);
            if (e == NULL) {
                pthread_mutex_unlock(&c->lock);
                return SEAF_ERR_NOMEM;
            }
            e->refs++; /* one for the table, one for the fill */
            entry_table_insert(&c->table, e);
            c->stats.misses++;
            pthread_mutex_unlock(&c->lock);
            return start_fill(c, e, fill);
        }
        if (e->state == ENTRY_READY) {
            claim_open_locked(c, e);
            pthread_mutex_unlock(&c->lock);
            seaf_err err = make_handle(c, e, -1, handle);
            if (err != SEAF_ERR_NOT_FOUND)
                return err;
            pthread_mutex_lock(&c->lock); /* the file was damaged and dropped: fill it again */
            continue;
        }
        /* FILLING or REMOVING: wait for the outcome, then look again. */
        e->refs++;
        if (e->state == ENTRY_FILLING)
            c->stats.waits++;
        while (e->state == ENTRY_FILLING || e->state == ENTRY_REMOVING)
            pthread_cond_wait(&c->changed, &c->lock);
        seaf_err outcome = e->state == ENTRY_GONE ? e->outcome : SEAF_OK;
        entry_unref(e);
        if (outcome != SEAF_OK) {
            pthread_mutex_unlock(&c->lock);
            return outcome;
        }
    }
}

seaf_err cache_read(struct cache_handle *h, uint64_t off, size_t len, void *buf, size_t *n_read)
{
    seaf_err err = block_reader_read(h->reader, off, len, buf, n_read);
    if (err == SEAF_ERR_ID_MISMATCH)
        drop_damaged(h->cache, h->entry);
    return err;
}

uint64_t cache_handle_size(const struct cache_handle *h)
{
    return block_reader_size(h->reader);
}

void cache_close(struct cache_handle *h)
{
    if (h == NULL)
        return;
    block_reader_free(h->reader);
    release_open(h->cache, h->entry);
    free(h);
}

seaf_err cache_fill_write(struct cache_fill *f, const void *data, size_t len)
{
    if (block_writer_plain_size(f->writer) + len > f->cache->opts.size_limit)
        return SEAF_ERR_NOSPACE;
    return block_writer_append(f->writer, data, len);
}

void cache_fill_pin(struct cache_fill *f)
{
    f->pin = true;
}

seaf_err cache_fill_commit(struct cache_fill *f, struct cache_handle **handle)
{
    struct cache *c = f->cache;
    struct cache_entry *e = f->entry;
    if (handle != NULL)
        *handle = NULL;
    char sha1[SEAF_ID_LEN + 1];
    uint64_t file_size = 0;
    bool sync = f->pin || c->opts.sync_writes;
    seaf_err err = block_writer_finish(f->writer, sync, sha1, &file_size);
    if (err == SEAF_OK && cache_kind_id_is_sha1(e->kind) && strcmp(sha1, e->id) != 0)
        err = SEAF_ERR_ID_MISMATCH;
    /* The marker goes first: a crash before the rename leaves a marker without an object, which
     * recovery deletes; never a pinned object without its marker. */
    if (err == SEAF_OK && f->pin)
        err = store_pin_mark(&c->store, e->kind, e->id);
    if (err == SEAF_OK) {
        pthread_mutex_lock(&c->lock);
        err = evict_reserve_locked(c, file_size);
        pthread_mutex_unlock(&c->lock);
    }
    if (err == SEAF_OK) {
        err = store_publish(&c->store, f->tmp_path, e->kind, e->id, sync);
        if (err != SEAF_OK) {
            pthread_mutex_lock(&c->lock);
            c->used -= file_size;
            pthread_mutex_unlock(&c->lock);
        }
    }
    if (err != SEAF_OK) {
        if (f->pin)
            store_pin_clear(&c->store, e->kind, e->id);
        finish_failed_fill(f, err);
        return err;
    }
    block_writer_free(f->writer);
    pthread_mutex_lock(&c->lock);
    e->state = ENTRY_READY;
    e->disk_size = file_size;
    e->pinned = f->pin;
    c->stats.pinned += f->pin;
    c->stats.fills++;
    e->seq = c->next_seq++;
    entry_lru_push_recent(&c->table, e);
    index_put_locked(c, e);
    if (handle != NULL)
        e->opens++; /* the fill's reference becomes the handle's */
    pthread_cond_broadcast(&c->changed);
    pthread_mutex_unlock(&c->lock);
    int fd = f->fd;
    free(f);
    if (handle == NULL) {
        close(fd);
        pthread_mutex_lock(&c->lock);
        entry_unref(e);
        pthread_mutex_unlock(&c->lock);
        return SEAF_OK;
    }
    return make_handle(c, e, fd, handle);
}

void cache_fill_abort(struct cache_fill *f, seaf_err reason)
{
    if (f != NULL)
        finish_failed_fill(f, reason == SEAF_OK ? SEAF_ERR_IO : reason);
}

/* The READY entry of (kind, id) with an extra reference, or NULL. Called with c->lock held. */
static struct cache_entry *ref_ready_locked(struct cache *c, int kind, const char *id)
{
    struct cache_entry *e = entry_table_find(&c->table, kind, id);
    if (e == NULL || e->state != ENTRY_READY)
        return NULL;
    e->refs++;
    return e;
}

seaf_err cache_pin(struct cache *c, int kind, const char *id, bool pinned)
{
    if (!key_valid(kind, id))
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->pin_lock);
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = ref_ready_locked(c, kind, id);
    bool change = e != NULL && e->pinned != pinned;
    pthread_mutex_unlock(&c->lock);
    seaf_err err = e == NULL ? SEAF_ERR_NOT_FOUND : SEAF_OK;
    /* Pinning writes the durable marker before the flag; unpinning clears the flag first. */
    if (change && pinned)
        err = store_pin_mark(&c->store, kind, id);
    pthread_mutex_lock(&c->lock);
    if (change && err == SEAF_OK && e->state == ENTRY_READY) {
        c->stats.pinned += pinned ? 1 : (uint64_t)-1;
        e->pinned = pinned;
        index_put_locked(c, e);
        evict_kick_locked(c);
    } else if (change && err == SEAF_OK) {
        err = SEAF_ERR_NOT_FOUND; /* removed meanwhile */
    }
    if (e != NULL)
        entry_unref(e);
    pthread_mutex_unlock(&c->lock);
    if (change && (!pinned || err != SEAF_OK))
        store_pin_clear(&c->store, kind, id);
    pthread_mutex_unlock(&c->pin_lock);
    return err;
}

seaf_err cache_remove(struct cache *c, int kind, const char *id)
{
    if (!key_valid(kind, id))
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = entry_table_find(&c->table, kind, id);
    if (e == NULL || e->state != ENTRY_READY) {
        pthread_mutex_unlock(&c->lock);
        return SEAF_ERR_NOT_FOUND;
    }
    cache_begin_removal_locked(c, e);
    e->work_next = NULL;
    pthread_mutex_unlock(&c->lock);
    cache_finish_removal(c, e, true);
    return SEAF_OK;
}

seaf_err cache_put_object(struct cache *c, int kind, const char *id, const void *data, size_t len)
{
    struct cache_handle *h;
    struct cache_fill *f;
    seaf_err err = cache_open_or_fill(c, kind, id, &h, &f);
    if (err != SEAF_OK || h != NULL) {
        cache_close(h);
        return err;
    }
    err = cache_fill_write(f, data, len);
    if (err != SEAF_OK) {
        cache_fill_abort(f, err);
        return err;
    }
    return cache_fill_commit(f, NULL);
}

seaf_err cache_get_object(struct cache *c, int kind, const char *id, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    struct cache_handle *h;
    seaf_err err = cache_open(c, kind, id, &h);
    if (err != SEAF_OK)
        return err;
    uint64_t size = cache_handle_size(h);
    char *buf = size < SIZE_MAX ? malloc((size_t)size + 1) : NULL;
    size_t n = 0;
    err = buf == NULL ? SEAF_ERR_NOMEM : cache_read(h, 0, (size_t)size, buf, &n);
    cache_close(h);
    if (err == SEAF_OK && n != size)
        err = SEAF_ERR_IO;
    if (err != SEAF_OK) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return SEAF_OK;
}

void cache_sync(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    while (c->evict_passes != c->evict_kicks)
        pthread_cond_wait(&c->changed, &c->lock);
    pthread_mutex_unlock(&c->lock);
    index_writer_flush(c->writer);
}

void cache_get_stats(struct cache *c, struct cache_stats *out)
{
    pthread_mutex_lock(&c->lock);
    *out = c->stats;
    out->used_bytes = c->used;
    out->entries = c->table.count;
    pthread_mutex_unlock(&c->lock);
    out->index_errors = index_writer_errors(c->writer);
}
