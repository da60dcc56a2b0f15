/* cache_handle: read access to cached objects: open (a hit), read, close.
 *
 * Opening claims the entry (an open count keeps it from eviction) and records the use: the LRU
 * move is done under the cache lock, the index row is posted to the writer thread, so a hit never
 * waits for sqlite. The file is then opened and its trailer checked outside the lock; a damaged or
 * missing file drops the entry and the open reports a miss. A frame that fails its checksum during
 * a read drops the object too, and no byte of it is returned. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>

#include "block_reader.h"
#include "cache_int.h"

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

seaf_err cache_make_handle(struct cache *c, struct cache_entry *e, int fd,
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
    return cache_make_handle(c, e, -1, out);
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
