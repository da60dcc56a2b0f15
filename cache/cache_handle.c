/* cache_handle: read access to cached objects: open (a hit), read, close.
 *
 * Opening claims the entry (an open count keeps it from eviction) and records the use: the LRU
 * move is done under the cache lock, the index row is posted to the writer thread, so a hit never
 * waits for the index. A block's file is then opened and its trailer checked outside the lock; a
 * metadata object is read whole from its row and checked (meta_db). A damaged or missing object
 * drops the entry and the open reports a miss. A block frame that fails its checksum during a
 * read drops the object too, and no byte of it is returned. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

#include "block_reader.h"
#include "cache_int.h"
#include "meta_db.h"

/* Marks a use of e: newest in the LRU list, new recency in the index. Called with c->lock held. */
static void touch_locked(struct cache *c, struct cache_entry *e)
{
    e->seq = c->next_seq++;
    entry_lru_push_recent(&c->table, e);
    cache_index_put_locked(c, e);
}

void cache_claim_open_locked(struct cache *c, struct cache_entry *e)
{
    e->opens++;
    e->refs++;
    c->stats.hits++;
    touch_locked(c, e);
}

/* Drops a READY entry whose file failed a check (the caller holds a reference). */
static void drop_damaged(struct cache *c, struct cache_entry *e)
{
    pthread_mutex_lock(&c->lock);
    bool mine = e->state == ENTRY_READY;
    if (mine) {
        cache_begin_removal_locked(e);
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

/* Opens the content of e: a block file's reader, or a metadata object's checked bytes. */
static seaf_err open_content(struct cache *c, struct cache_entry *e, int fd,
                             struct block_reader **reader, char **data, size_t *len)
{
    if (cache_kind_is_meta(e->kind))
        return *data != NULL ? SEAF_OK : meta_db_get(c->meta, e->kind, e->id, data, len);
    seaf_err err = fd >= 0 ? SEAF_OK : store_open_object(&c->store, e->kind, e->id, &fd);
    return err == SEAF_OK ? block_reader_open(fd, (uint32_t)e->kind, e->id, reader) : err;
}

seaf_err cache_make_handle(struct cache *c, struct cache_entry *e, int fd, char *data, size_t len,
                           struct cache_handle **out)
{
    *out = NULL;
    struct block_reader *reader = NULL;
    seaf_err err = open_content(c, e, fd, &reader, &data, &len);
    struct cache_handle *h = err == SEAF_OK ? calloc(1, sizeof(*h)) : NULL;
    if (err == SEAF_OK && h == NULL)
        err = SEAF_ERR_NOMEM;
    if (err != SEAF_OK) {
        block_reader_free(reader);
        free(data);
        if (err == SEAF_ERR_MALFORMED || err == SEAF_ERR_NOT_FOUND || err == SEAF_ERR_ID_MISMATCH) {
            drop_damaged(c, e);
            err = SEAF_ERR_NOT_FOUND;
        }
        release_open(c, e);
        return err;
    }
    h->cache = c;
    h->entry = e;
    h->reader = reader;
    h->data = data;
    h->len = len;
    *out = h;
    return SEAF_OK;
}

seaf_err cache_open(struct cache *c, int kind, const char *id, struct cache_handle **out)
{
    *out = NULL;
    if (!cache_key_valid(kind, id))
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    struct cache_entry *e = entry_table_find(&c->table, kind, id);
    if (e == NULL || e->state != ENTRY_READY) {
        c->stats.misses++;
        pthread_mutex_unlock(&c->lock);
        return SEAF_ERR_NOT_FOUND;
    }
    cache_claim_open_locked(c, e);
    pthread_mutex_unlock(&c->lock);
    return cache_make_handle(c, e, -1, NULL, 0, out);
}

seaf_err cache_read(struct cache_handle *h, uint64_t off, size_t len, void *buf, size_t *n_read)
{
    if (h->reader == NULL) { /* a metadata object, checked when opened */
        size_t n = off < h->len ? h->len - (size_t)off : 0;
        n = n < len ? n : len;
        if (n > 0)
            memcpy(buf, h->data + off, n);
        *n_read = n;
        return SEAF_OK;
    }
    seaf_err err = block_reader_read(h->reader, off, len, buf, n_read);
    if (err == SEAF_ERR_ID_MISMATCH)
        drop_damaged(h->cache, h->entry);
    return err;
}

void cache_preload(const struct cache_handle *h)
{
    if (h->reader != NULL)
        block_reader_preload(h->reader);
}

uint64_t cache_handle_size(const struct cache_handle *h)
{
    return h->reader != NULL ? block_reader_size(h->reader) : h->len;
}

void cache_close(struct cache_handle *h)
{
    if (h == NULL)
        return;
    block_reader_free(h->reader);
    free(h->data);
    release_open(h->cache, h->entry);
    free(h);
}

seaf_err cache_get_object(struct cache *c, int kind, const char *id, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    struct cache_handle *h;
    seaf_err err = cache_open(c, kind, id, &h);
    if (err != SEAF_OK)
        return err;
    if (h->reader == NULL) { /* a metadata object: its checked bytes are handed over */
        *data = h->data;
        *len = h->len;
        h->data = NULL;
        cache_close(h);
        return SEAF_OK;
    }
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
