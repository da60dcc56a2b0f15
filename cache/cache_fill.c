/* cache_fill: filling the cache: the single-flight entry point, the fill sink, and whole-object
 * puts (one at a time, or many metadata objects in one transaction).
 *
 * The first request for a missing object creates its entry in state FILLING and gets a fill;
 * later requests find FILLING and wait on the cache's condition variable (no polling) until the
 * fill commits (they then open the object) or fails (they get its error). A block fill streams
 * bytes into a temporary block file; a metadata fill collects them in memory. Commit checks the
 * id (for kinds whose id is a SHA-1 of the bytes), reserves room under the limit (evicting if
 * needed), and only then renames the file into place (or writes the row) and makes the entry
 * READY. */
#include "cache.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seaf_sha1.h"

#include "block_writer.h"
#include "cache_int.h"
#include "meta_db.h"

struct cache_fill {
    struct cache *cache;
    struct cache_entry *entry; /* FILLING; holds a reference */
    int fd;                    /* a block: its temporary file (-1 for a metadata object) */
    char tmp_path[PATH_MAX];
    struct block_writer *writer;
    char *data; /* a metadata object: the bytes so far (room for a NUL after them) */
    size_t len;
    size_t cap;
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
    free(f->data);
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
    f->fd = -1;
    if (cache_kind_is_meta(e->kind)) {
        *out = f;
        return SEAF_OK;
    }
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
            seaf_err err = cache_make_handle(c, e, -1, NULL, 0, handle);
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

/* Appends to a metadata fill's buffer, growing it. */
static seaf_err append_data(struct cache_fill *f, const void *data, size_t len)
{
    if (f->len + len + 1 > f->cap) {
        size_t cap = f->cap ? f->cap : 4096;
        while (cap < f->len + len + 1)
            cap *= 2;
        char *grown = realloc(f->data, cap);
        if (grown == NULL)
            return SEAF_ERR_NOMEM;
        f->data = grown;
        f->cap = cap;
    }
    memcpy(f->data + f->len, data, len);
    f->len += len;
    f->data[f->len] = '\0';
    return SEAF_OK;
}

seaf_err cache_fill_write(struct cache_fill *f, const void *data, size_t len)
{
    bool meta = cache_kind_is_meta(f->entry->kind);
    if (!meta && f->writer == NULL) /* a failed reset */
        return SEAF_ERR_IO;
    uint64_t so_far = meta ? f->len : block_writer_plain_size(f->writer);
    if (so_far + len > f->cache->opts.size_limit)
        return SEAF_ERR_NOSPACE;
    return meta ? append_data(f, data, len) : block_writer_append(f->writer, data, len);
}

seaf_err cache_fill_reset(struct cache_fill *f)
{
    struct cache_entry *e = f->entry;
    if (cache_kind_is_meta(e->kind)) {
        f->len = 0;
        return SEAF_OK;
    }
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

/* Checks the id of an object of a SHA-1 kind against its bytes. */
static seaf_err check_id(int kind, const char *id, const void *data, size_t len)
{
    char sha1[SEAF_ID_LEN + 1];
    if (!cache_kind_id_is_sha1(kind))
        return SEAF_OK;
    seaf_err err = seaf_sha1_id(data, len, sha1);
    return err != SEAF_OK ? err : strcmp(sha1, id) == 0 ? SEAF_OK : SEAF_ERR_ID_MISMATCH;
}

/* Makes a committed entry READY (with the fill's reference turned into a handle's open when
 * opened). Called with c->lock held. */
static void make_ready_locked(struct cache *c, struct cache_entry *e, uint64_t disk_size, bool pin,
                              bool opened)
{
    e->state = ENTRY_READY;
    e->disk_size = disk_size;
    e->pinned = pin;
    c->stats.pinned += pin;
    c->stats.fills++;
    e->seq = c->next_seq++;
    entry_lru_push_recent(&c->table, e);
    cache_index_put_locked(c, e);
    if (opened)
        e->opens++; /* the fill's reference becomes the handle's */
    pthread_cond_broadcast(&c->changed);
}

/* Stores the metadata rows of entries[0..n) (FILLING, each with a reference for this call): room
 * is reserved for the largest possible rows, the rows are written in one transaction, and the
 * reservation is trimmed to what they take. SEAF_OK or the error of the whole batch. */
static seaf_err store_meta_rows(struct cache *c, struct meta_db_object *objs, size_t n, bool pin)
{
    uint64_t reserved = 0;
    for (size_t i = 0; i < n; i++)
        reserved += meta_db_size_bound(objs[i].len);
    pthread_mutex_lock(&c->lock);
    seaf_err err = evict_reserve_locked(c, reserved, pin);
    pthread_mutex_unlock(&c->lock);
    if (err != SEAF_OK)
        return err;
    err = meta_db_put(c->meta, objs, n);
    uint64_t stored = 0;
    for (size_t i = 0; i < n && err == SEAF_OK; i++)
        stored += objs[i].stored_size;
    pthread_mutex_lock(&c->lock);
    c->used -= reserved - stored;
    pthread_mutex_unlock(&c->lock);
    return err;
}

/* Commits a metadata fill: the id check, then its row. */
static seaf_err commit_meta(struct cache_fill *f, struct cache_handle **handle)
{
    struct cache *c = f->cache;
    struct cache_entry *e = f->entry;
    seaf_err err = f->data != NULL ? SEAF_OK : append_data(f, "", 0); /* an empty object */
    if (err == SEAF_OK)
        err = check_id(e->kind, e->id, f->data, f->len);
    struct meta_db_object obj = {
        .kind = e->kind, .id = e->id, .data = f->data, .len = f->len, .pinned = f->pin};
    if (err == SEAF_OK)
        err = store_meta_rows(c, &obj, 1, f->pin);
    if (err != SEAF_OK) {
        finish_failed_fill(f, err);
        return err;
    }
    char *data = f->data;
    size_t len = f->len;
    bool pin = f->pin;
    free(f);
    pthread_mutex_lock(&c->lock);
    make_ready_locked(c, e, obj.stored_size, pin, handle != NULL);
    if (handle == NULL)
        entry_unref(e);
    pthread_mutex_unlock(&c->lock);
    if (handle == NULL) {
        free(data);
        return SEAF_OK;
    }
    return cache_make_handle(c, e, -1, data, len, handle);
}

seaf_err cache_fill_commit(struct cache_fill *f, struct cache_handle **handle)
{
    struct cache *c = f->cache;
    struct cache_entry *e = f->entry;
    if (handle != NULL)
        *handle = NULL;
    if (cache_kind_is_meta(e->kind))
        return commit_meta(f, handle);
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
    make_ready_locked(c, e, file_size, f->pin, handle != NULL);
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
    return cache_make_handle(c, e, fd, NULL, 0, handle);
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
    if (!pin && cache_contains(c, kind, id))
        return SEAF_OK; /* not read back just to be closed */
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

/* Stores rows like store_meta_rows; when there is no room for them all at once (eviction may be
 * under way in the background) each half is tried on its own, so that what fits is stored.
 * The rows stored have a stored_size; the error is the last one met (SEAF_OK: all stored). */
static seaf_err store_rows_split(struct cache *c, struct meta_db_object *objs, size_t n)
{
    seaf_err err = store_meta_rows(c, objs, n, false);
    if (err != SEAF_ERR_NOSPACE || n == 1)
        return err;
    seaf_err first = store_rows_split(c, objs, n / 2);
    seaf_err second = store_rows_split(c, objs + n / 2, n - n / 2);
    return second != SEAF_OK ? second : first;
}

/* The batch of cache_put_objects: new FILLING entries and their rows. */
struct put_batch {
    struct cache_entry **entries;
    struct meta_db_object *objs;
    size_t n;
};

/* Claims FILLING entries for the objects not in the table yet (those being filled by someone
 * else, or cached, are left alone). Called with c->lock held. */
static seaf_err claim_new_locked(struct cache *c, int kind, const struct cache_object *objs,
                                 const bool *valid, size_t n, struct put_batch *b)
{
    for (size_t i = 0; i < n; i++) {
        if (!valid[i] || entry_table_find(&c->table, kind, objs[i].id) != NULL)
            continue;
        struct cache_entry *e = entry_new(kind, objs[i].id);
        if (e == NULL)
            return SEAF_ERR_NOMEM;
        e->refs++; /* one for the table, one for this batch */
        entry_table_insert(&c->table, e);
        c->stats.misses++;
        b->entries[b->n] = e;
        b->objs[b->n] = (struct meta_db_object){
            .kind = kind, .id = e->id, .data = objs[i].data, .len = objs[i].len};
        b->n++;
    }
    return SEAF_OK;
}

seaf_err cache_put_objects(struct cache *c, int kind, const struct cache_object *objs, size_t n)
{
    if (!cache_kind_is_meta(kind))
        return SEAF_ERR_INVALID_ARG;
    if (n == 0)
        return SEAF_OK;
    struct put_batch b = {calloc(n, sizeof(*b.entries)), calloc(n, sizeof(*b.objs)), 0};
    bool *valid = calloc(n, sizeof(*valid));
    seaf_err first = b.entries && b.objs && valid ? SEAF_OK : SEAF_ERR_NOMEM;
    for (size_t i = 0; i < n && first != SEAF_ERR_NOMEM; i++) {
        /* The hashing is done before any entry is claimed: waiters never wait for it. */
        seaf_err err = cache_key_valid(kind, objs[i].id) ? SEAF_OK : SEAF_ERR_INVALID_ARG;
        if (err == SEAF_OK && !cache_contains(c, kind, objs[i].id))
            err = check_id(kind, objs[i].id, objs[i].data, objs[i].len);
        valid[i] = err == SEAF_OK;
        if (err != SEAF_OK && first == SEAF_OK)
            first = err;
    }
    if (first == SEAF_ERR_NOMEM) {
        free(b.entries);
        free(b.objs);
        free(valid);
        return first;
    }
    pthread_mutex_lock(&c->lock);
    seaf_err err = claim_new_locked(c, kind, objs, valid, n, &b);
    pthread_mutex_unlock(&c->lock);
    if (err == SEAF_OK && b.n > 0)
        err = store_rows_split(c, b.objs, b.n);
    for (size_t i = 0; i < b.n; i++) {
        if (b.objs[i].stored_size == 0) { /* its part of the batch could not be stored */
            fail_entry(c, b.entries[i], err != SEAF_OK ? err : SEAF_ERR_NOMEM);
            continue;
        }
        pthread_mutex_lock(&c->lock);
        make_ready_locked(c, b.entries[i], b.objs[i].stored_size, false, false);
        entry_unref(b.entries[i]);
        pthread_mutex_unlock(&c->lock);
    }
    free(b.entries);
    free(b.objs);
    free(valid);
    return first != SEAF_OK ? first : err;
}
