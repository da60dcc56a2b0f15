/* cache_fill: filling the cache: the single-flight entry point and the fill sink.
 *
 * The first request for a missing object creates its entry in state FILLING and gets a fill;
 * later requests find FILLING and wait on the cache's condition variable (no polling) until the
 * fill commits (they then open the object) or fails (they get its error). A fill streams bytes
 * into a temporary block file; commit checks the id (for kinds whose id is a SHA-1 of the bytes),
 * reserves room under the limit (evicting if needed), and only then renames the file into place
 * and makes the entry READY. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_writer.h"
#include "cache_int.h"

struct cache_fill {
    struct cache *cache;
    struct cache_entry *entry; /* FILLING; holds a reference */
    int fd;
    char tmp_path[PATH_MAX];
    struct block_writer *writer;
    bool pin;
};

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
    if (!cache_key_valid(kind, id))
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
            cache_claim_open_locked(c, e);
            pthread_mutex_unlock(&c->lock);
            seaf_err err = cache_make_handle(c, e, -1, handle);
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

seaf_err cache_fill_write(struct cache_fill *f, const void *data, size_t len)
{
    if (f->writer == NULL) /* a failed reset */
        return SEAF_ERR_IO;
    if (block_writer_plain_size(f->writer) + len > f->cache->opts.size_limit)
        return SEAF_ERR_NOSPACE;
    return block_writer_append(f->writer, data, len);
}

seaf_err cache_fill_reset(struct cache_fill *f)
{
    struct cache_entry *e = f->entry;
    block_writer_free(f->writer);
    f->writer = NULL;
    if (ftruncate(f->fd, 0) != 0)
        return SEAF_ERR_IO;
    return block_writer_new(f->fd, (uint32_t)e->kind, e->id, f->cache->opts.frame_size, &f->writer);
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
    bool sync = c->opts.sync_writes; /* pinned objects too: cache_flush makes them durable */
    seaf_err err =
        f->writer == NULL ? SEAF_ERR_IO : block_writer_finish(f->writer, sync, sha1, &file_size);
    if (err == SEAF_OK && cache_kind_id_is_sha1(e->kind) && strcmp(sha1, e->id) != 0)
        err = SEAF_ERR_ID_MISMATCH;
    /* The marker goes first: a crash before the rename leaves a marker without an object, which
     * recovery deletes; never a pinned object without its marker. */
    if (err == SEAF_OK && f->pin)
        err = store_pin_mark(&c->store, e->kind, e->id, f->tmp_path);
    if (err == SEAF_OK) {
        pthread_mutex_lock(&c->lock);
        err = evict_reserve_locked(c, file_size, f->pin);
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
    cache_index_put_locked(c, e);
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
    return cache_make_handle(c, e, fd, handle);
}

void cache_fill_abort(struct cache_fill *f, seaf_err reason)
{
    if (f != NULL)
        finish_failed_fill(f, reason == SEAF_OK ? SEAF_ERR_IO : reason);
}

/* Stores a whole object (pinned when pin); an object already cached is only pinned. */
static seaf_err put_object(struct cache *c, int kind, const char *id, const void *data, size_t len,
                           bool pin)
{
    for (int tries = 0; tries < 3; tries++) {
        struct cache_handle *h;
        struct cache_fill *f;
        seaf_err err = cache_open_or_fill(c, kind, id, &h, &f);
        if (err != SEAF_OK)
            return err;
        if (h != NULL) {
            cache_close(h);
            if (!pin)
                return SEAF_OK;
            err = cache_pin(c, kind, id, true);
            if (err == SEAF_ERR_NOT_FOUND)
                continue; /* evicted between the open and the pin: store it again */
            return err;
        }
        if (pin)
            cache_fill_pin(f);
        err = cache_fill_write(f, data, len);
        if (err != SEAF_OK) {
            cache_fill_abort(f, err);
            return err;
        }
        return cache_fill_commit(f, NULL);
    }
    return SEAF_ERR_IO;
}

seaf_err cache_put_object(struct cache *c, int kind, const char *id, const void *data, size_t len)
{
    return put_object(c, kind, id, data, len, false);
}

seaf_err cache_put_pinned(struct cache *c, int kind, const char *id, const void *data, size_t len)
{
    return put_object(c, kind, id, data, len, true);
}
