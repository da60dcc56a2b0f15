/* evict: keeps the cache within its size limit and the disk above its free-space minimum.
 *
 * Policy: least recently used first, skipping pinned objects and objects open by a reader.
 *  - Hard limit, on the commit path: before a fill becomes visible it reserves its size; if the
 *    limit (or the free-space minimum) would be crossed, enough old objects are evicted
 *    synchronously, or the commit fails with SEAF_ERR_NOSPACE. So the files of committed objects
 *    never exceed the limit; only fills still being written (temporary files) come on top.
 *    Pinned objects (data not yet uploaded) are admitted over the limit when nothing more can be
 *    evicted, as long as the disk has room: clean objects are evicted first, and the write path
 *    slows writers down (cache_wait_room) instead of failing them.
 *  - Watermarks, in the background: when use rises above the high watermark (or free space drops
 *    below the minimum) the evictor thread evicts down to the low watermark, so commits rarely
 *    have to evict themselves.
 * Victims are marked REMOVING under the lock and unlinked outside it; requests for a victim wait
 * until its file is gone, so a new fill of the same id can never be unlinked by mistake. */
#include <sys/statvfs.h>

#include "cache_int.h"

/* Free bytes for unprivileged use on the cache's filesystem (UINT64_MAX if unknown). Only asked
 * (a statvfs) when the cache keeps a free-space minimum. */
static uint64_t disk_free_bytes(const struct cache *c)
{
    struct statvfs sv;
    if (c->opts.min_free_bytes == 0 || statvfs(c->store.root, &sv) != 0)
        return UINT64_MAX;
    return (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
}

/* Bytes to free so that `incoming` more bytes keep use within target and free space (free_now,
 * from disk_free_bytes) above the minimum. */
static uint64_t bytes_to_free(const struct cache *c, uint64_t free_now, uint64_t incoming,
                              uint64_t target)
{
    uint64_t need = 0;
    if (c->used + incoming > target)
        need = c->used + incoming - target;
    if (c->opts.min_free_bytes > 0) {
        uint64_t want = c->opts.min_free_bytes + incoming;
        if (free_now < want && want - free_now > need)
            need = want - free_now;
    }
    return need;
}

static bool evictable(const struct cache_entry *e)
{
    return e->state == ENTRY_READY && !e->pinned && e->opens == 0;
}

/* Walks the LRU list from the oldest entry, summing evictable entries until `bytes` is reached.
 * With victims != NULL the entries are marked REMOVING and chained; without, it only counts. */
static uint64_t pick(struct cache *c, uint64_t bytes, struct cache_entry **victims)
{
    uint64_t total = 0;
    struct cache_entry *e = entry_lru_oldest(&c->table);
    while (e != NULL && total < bytes) {
        struct cache_entry *next = entry_lru_next(&c->table, e);
        if (evictable(e)) {
            total += e->disk_size;
            if (victims != NULL) {
                cache_begin_removal_locked(e);
                e->work_next = *victims;
                *victims = e;
            }
        }
        e = next;
    }
    return total;
}

/* Evicts `bytes` (or as much as possible), dropping and retaking the lock around the unlinks.
 * Returns the bytes evicted. */
static uint64_t evict_bytes_locked(struct cache *c, uint64_t bytes)
{
    struct cache_entry *victims = NULL;
    uint64_t total = pick(c, bytes, &victims);
    if (victims == NULL)
        return 0;
    pthread_mutex_unlock(&c->lock);
    cache_finish_removal(c, victims, true);
    pthread_mutex_lock(&c->lock);
    return total;
}

/* Wakes the evictor when use is above the high watermark or free space (free_now) below the
 * minimum. */
static void kick_if_needed_locked(struct cache *c, uint64_t free_now)
{
    if (c->used <= c->high_water && bytes_to_free(c, free_now, 0, UINT64_MAX) == 0)
        return;
    c->evict_kicks++;
    pthread_cond_signal(&c->evict_wake);
}

seaf_err evict_reserve_locked(struct cache *c, uint64_t incoming, bool must)
{
    if (incoming > c->opts.size_limit && !must)
        return SEAF_ERR_NOSPACE;
    for (;;) {
        uint64_t free_now = disk_free_bytes(c);
        uint64_t need = bytes_to_free(c, free_now, incoming, c->opts.size_limit);
        if (need == 0) {
            c->used += incoming;
            kick_if_needed_locked(c, free_now);
            return SEAF_OK;
        }
        if (pick(c, need, NULL) >= need && evict_bytes_locked(c, need) > 0)
            continue;
        /* Data that exists nowhere else goes in over the limit (evicting what could be) as long
         * as the disk itself has room: the limit is never worth losing it. */
        if (!must)
            return SEAF_ERR_NOSPACE;
        evict_bytes_locked(c, need);
        struct statvfs sv;
        if (statvfs(c->store.root, &sv) == 0 &&
            (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize < incoming)
            return SEAF_ERR_NOSPACE;
        c->used += incoming;
        kick_if_needed_locked(c, free_now);
        return SEAF_OK;
    }
}

void evict_pass_locked(struct cache *c)
{
    uint64_t need = bytes_to_free(c, disk_free_bytes(c), 0, c->low_water);
    if (need > 0)
        evict_bytes_locked(c, need);
}

void evict_kick_locked(struct cache *c)
{
    kick_if_needed_locked(c, disk_free_bytes(c));
}

static void *evictor_main(void *arg)
{
    struct cache *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (c->evict_passes == c->evict_kicks) {
            pthread_cond_wait(&c->evict_wake, &c->lock);
            continue;
        }
        uint64_t answered = c->evict_kicks;
        evict_pass_locked(c);
        c->evict_passes = answered;
        pthread_cond_broadcast(&c->changed);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

seaf_err evict_thread_start(struct cache *c)
{
    return pthread_create(&c->evictor, NULL, evictor_main, c) == 0 ? SEAF_OK : SEAF_ERR_NOMEM;
}

void evict_thread_stop(struct cache *c)
{
    pthread_mutex_lock(&c->lock);
    c->stopping = true;
    pthread_cond_signal(&c->evict_wake);
    pthread_mutex_unlock(&c->lock);
    pthread_join(c->evictor, NULL);
}
