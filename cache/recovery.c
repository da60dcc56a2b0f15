/* recovery: brings the cache back to a consistent state at start-up, whatever the previous run
 * died in the middle of.
 *
 * Block files and metadata rows are the truth; the index is a fast path to them. Steps:
 *  1. delete everything in tmp/ (fills that never reached their rename); open the metadata
 *     database (a corrupt one is replaced by an empty one) and move the metadata files of a
 *     cache of an earlier version into it (meta_migrate.h); either forces the scan of step 4;
 *  2. open the index; if it is missing, corrupt or of another version, delete it and start an
 *     empty one ("rebuild");
 *  3. load its rows into the entry table; if the last run shut down cleanly, the rows and files
 *     agree and steps 4-5 are skipped (a file removed behind our back is still caught on open);
 *     the clean flag is cleared until the next clean shutdown;
 *  4. scan the block files: a file matching its row (same size) is kept as is; a file without a
 *     row (the index lags the files by up to one batch, or was rebuilt) is opened and its trailer
 *     validated before it is adopted, with a recency taken from the file's mtime order, newer than
 *     every indexed object; a file that fails validation is deleted. The metadata rows are
 *     scanned the same way (a row is whole by construction: no validation; it is checked when
 *     read);
 *  5. index rows without a file or metadata row are deleted;
 *  6. pins of blocks are taken from the pin markers (the durable record; a row may lag them),
 *     and markers of objects that are not there are deleted; pins of metadata objects from the
 *     flag in their row;
 *  7. the LRU list is rebuilt in recency order and the used bytes are summed.
 * Frame checksums are not verified here (that would read the whole cache); every read checks the
 * frames it touches. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_reader.h"
#include "cache_int.h"
#include "index_db.h"
#include "meta_db.h"
#include "meta_migrate.h"

struct orphan {
    struct cache_entry *entry;
    time_t mtime;
};

struct recovery {
    struct cache *c;
    uint64_t max_seq;
    struct orphan *orphans;
    size_t orphan_count;
    size_t orphan_cap;
    seaf_err err;
};

static int load_row(int kind, const char *id, uint64_t size, uint64_t seq, bool pinned, void *ctx)
{
    struct recovery *r = ctx;
    struct entry_table *t = &r->c->table;
    if (!cache_kind_valid(kind) || entry_table_find(t, kind, id) != NULL)
        return 0;
    struct cache_entry *e = entry_new(kind, id);
    if (e == NULL) {
        r->err = SEAF_ERR_NOMEM;
        return 1;
    }
    e->state = ENTRY_READY;
    e->disk_size = size;
    e->seq = seq;
    e->pinned = pinned;
    entry_table_insert(t, e);
    if (seq > r->max_seq)
        r->max_seq = seq;
    return 0;
}

/* True when the file of (kind, id) has a valid trailer describing that object. */
static bool file_is_valid(const struct store *s, int kind, const char *id)
{
    int fd;
    if (store_open_object(s, kind, id, &fd) != SEAF_OK)
        return false;
    struct block_reader *reader;
    if (block_reader_open(fd, (uint32_t)kind, id, &reader) != SEAF_OK)
        return false;
    block_reader_free(reader);
    return true;
}

static seaf_err add_orphan(struct recovery *r, struct cache_entry *e, time_t mtime)
{
    if (r->orphan_count == r->orphan_cap) {
        size_t cap = r->orphan_cap ? r->orphan_cap * 2 : 256;
        struct orphan *o = realloc(r->orphans, cap * sizeof(*o));
        if (o == NULL)
            return SEAF_ERR_NOMEM;
        r->orphans = o;
        r->orphan_cap = cap;
    }
    r->orphans[r->orphan_count++] = (struct orphan){e, mtime};
    return SEAF_OK;
}

/* Adopts an object found on disk without a matching index row (e: its row of another size, or
 * NULL): it gets an entry and a recency from mtime, newer than every indexed object. Returns
 * the entry, or NULL (r->err set) when out of memory. */
static struct cache_entry *adopt(struct recovery *r, struct cache_entry *e, int kind,
                                 const char *id, uint64_t size, time_t mtime)
{
    if (e == NULL) {
        e = entry_new(kind, id);
        if (e == NULL) {
            r->err = SEAF_ERR_NOMEM;
            return NULL;
        }
        e->state = ENTRY_READY;
        entry_table_insert(&r->c->table, e);
    }
    e->disk_size = size;
    e->seen = true;
    r->err = add_orphan(r, e, mtime);
    return r->err == SEAF_OK ? e : NULL;
}

static int scan_file(int kind, const char *id, uint64_t size, time_t mtime, void *ctx)
{
    struct recovery *r = ctx;
    struct cache *c = r->c;
    struct cache_entry *e = entry_table_find(&c->table, kind, id);
    if (e != NULL && e->disk_size == size) {
        e->seen = true;
        return 0;
    }
    if (!file_is_valid(&c->store, kind, id)) {
        store_remove(&c->store, kind, id);
        return 0;
    }
    return adopt(r, e, kind, id, size, mtime) == NULL;
}

/* The scan of a metadata row: like scan_file, without validation (a row is whole), and the pin
 * from the row. */
static int scan_row(int kind, const char *id, uint64_t size, bool pinned, int64_t stored_at,
                    void *ctx)
{
    struct recovery *r = ctx;
    struct cache *c = r->c;
    struct cache_entry *e = entry_table_find(&c->table, kind, id);
    if (e != NULL && e->disk_size == size) {
        e->seen = true;
        if (e->pinned != pinned) {
            e->pinned = pinned;
            index_db_put(c->db, e->kind, e->id, e->disk_size, e->seq, e->pinned);
            c->stats.recovered_rows++;
        }
        return 0;
    }
    e = adopt(r, e, kind, id, size, (time_t)stored_at);
    if (e != NULL)
        e->pinned = pinned;
    return e == NULL;
}

static int by_mtime(const void *a, const void *b)
{
    const struct orphan *x = a, *y = b;
    return (x->mtime > y->mtime) - (x->mtime < y->mtime);
}

static int by_seq(const void *a, const void *b)
{
    const struct cache_entry *x = *(struct cache_entry *const *)a;
    const struct cache_entry *y = *(struct cache_entry *const *)b;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Chains (work_next) the entries whose file was not found. */
static void collect_unseen(struct cache_entry *e, void *ctx)
{
    struct cache_entry **chain = ctx;
    if (!e->seen) {
        e->work_next = *chain;
        *chain = e;
    }
}

struct entry_list {
    struct cache_entry **items;
    size_t count;
};

static void collect_all(struct cache_entry *e, void *ctx)
{
    struct entry_list *l = ctx;
    l->items[l->count++] = e;
}

/* Replaces the index (closed first if open) with a new empty one. */
static seaf_err rebuild_index(struct cache *c)
{
    index_db_close(c->db);
    c->db = NULL;
    index_db_delete_files(c->db_path);
    c->stats.index_rebuilt = true;
    return index_db_open(c->db_path, &c->db);
}

/* Opens the index, replacing it with an empty one if it is unusable. */
static seaf_err open_index(struct cache *c)
{
    if (access(c->db_path, F_OK) != 0)
        c->stats.index_rebuilt = true;
    seaf_err err = index_db_open(c->db_path, &c->db);
    return err == SEAF_ERR_MALFORMED ? rebuild_index(c) : err;
}

/* Loads the rows; a table that cannot be read is treated like a corrupt index: the rows loaded
 * so far are dropped and the index is rebuilt. */
static seaf_err load_index(struct cache *c, struct recovery *r)
{
    seaf_err err = index_db_load(c->db, load_row, r);
    if (err == SEAF_OK || r->err != SEAF_OK)
        return r->err != SEAF_OK ? r->err : err;
    entry_table_release(&c->table);
    r->max_seq = 0;
    if ((err = entry_table_init(&c->table)) != SEAF_OK)
        return err;
    return rebuild_index(c);
}

/* Writes the reconciliation to the index: stale rows out, adopted files in. */
static void reconcile_index(struct cache *c, struct recovery *r, struct cache_entry *stale)
{
    index_db_begin(c->db);
    for (struct cache_entry *e = stale; e != NULL;) {
        struct cache_entry *next = e->work_next;
        index_db_delete(c->db, e->kind, e->id);
        entry_table_remove(&c->table, e);
        e->state = ENTRY_GONE;
        entry_unref(e);
        c->stats.recovered_rows++;
        e = next;
    }
    if (r->orphan_count > 0)
        qsort(r->orphans, r->orphan_count, sizeof(*r->orphans), by_mtime);
    for (size_t i = 0; i < r->orphan_count; i++) {
        struct cache_entry *e = r->orphans[i].entry;
        e->seq = ++r->max_seq;
        index_db_put(c->db, e->kind, e->id, e->disk_size, e->seq, e->pinned);
        c->stats.recovered_rows++;
    }
    index_db_commit(c->db);
}

static void clear_pin(struct cache_entry *e, void *ctx)
{
    (void)ctx;
    e->seen = e->pinned; /* remember the indexed pin to see what changed */
    if (!cache_kind_is_meta(e->kind))
        e->pinned = false; /* a metadata object's pin came from its row */
}

static void apply_pin_marker(int kind, const char *id, void *ctx)
{
    struct cache *c = ctx;
    struct cache_entry *e = entry_table_find(&c->table, kind, id);
    if (e == NULL || cache_kind_is_meta(kind))
        store_pin_clear(&c->store, kind, id);
    else
        e->pinned = true;
}

static void write_changed_pin(struct cache_entry *e, void *ctx)
{
    struct cache *c = ctx;
    if (e->seen != e->pinned) {
        index_db_put(c->db, e->kind, e->id, e->disk_size, e->seq, e->pinned);
        c->stats.recovered_rows++;
    }
}

/* Sets every entry's pin from the markers and writes the rows that change. */
static seaf_err apply_pins(struct cache *c)
{
    entry_table_for_each(&c->table, clear_pin, NULL);
    seaf_err err = store_scan_pins(&c->store, apply_pin_marker, c);
    if (err != SEAF_OK)
        return err;
    index_db_begin(c->db);
    entry_table_for_each(&c->table, write_changed_pin, c);
    index_db_commit(c->db);
    return SEAF_OK;
}

/* Orders the LRU list by recency and sums the used bytes. */
static seaf_err build_lru(struct cache *c)
{
    struct entry_list all = {calloc(c->table.count + 1, sizeof(*all.items)), 0};
    if (all.items == NULL)
        return SEAF_ERR_NOMEM;
    entry_table_for_each(&c->table, collect_all, &all);
    qsort(all.items, all.count, sizeof(*all.items), by_seq);
    c->used = 0;
    for (size_t i = 0; i < all.count; i++) {
        entry_lru_push_recent(&c->table, all.items[i]);
        c->used += all.items[i]->disk_size;
        c->stats.pinned += all.items[i]->pinned;
    }
    free(all.items);
    return SEAF_OK;
}

/* Moves a damaged metadata database (with its WAL) aside to PATH.damaged*, replacing an earlier
 * one: it may hold pinned rows, which exist nowhere else, for a person to recover. */
static void set_aside(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char from[PATH_MAX], to[PATH_MAX];
        snprintf(from, sizeof(from), "%s%s", path, suffixes[i]);
        snprintf(to, sizeof(to), "%s.damaged%s", path, suffixes[i]);
        if (rename(from, to) != 0 && errno != ENOENT)
            unlink(from);
    }
}

/* Opens the metadata database (a damaged one is set aside and replaced by an empty one; any
 * other failure -- full disk, I/O error -- fails the start and keeps the file) and migrates the
 * metadata files of an older cache into it. *changed: the rows may not match the index. */
static seaf_err open_meta(struct cache *c, bool *changed)
{
    *changed = access(c->meta_path, F_OK) != 0;
    seaf_err err = meta_db_open(c->meta_path, c->opts.sync_writes, &c->meta);
    if (err == SEAF_ERR_MALFORMED) {
        set_aside(c->meta_path);
        *changed = true;
        err = meta_db_open(c->meta_path, c->opts.sync_writes, &c->meta);
    }
    for (int kind = CACHE_KIND_FIRST; kind <= CACHE_KIND_LAST; kind++)
        if (cache_kind_is_meta(kind) && store_kind_dir_exists(&c->store, kind))
            *changed = true;
    unsigned migrated = 0;
    if (err == SEAF_OK && *changed)
        err = meta_migrate_files(&c->store, c->meta, &migrated);
    c->stats.recovered_rows += migrated;
    return err;
}

seaf_err recovery_run(struct cache *c)
{
    struct recovery r = {.c = c};
    c->stats.recovered_temp = store_clear_temp(&c->store);
    bool clean = false;
    bool meta_changed = false;
    seaf_err err = open_meta(c, &meta_changed);
    if (err == SEAF_OK)
        err = open_index(c);
    if (err == SEAF_OK)
        err = load_index(c, &r);
    /* Read after the load (which only reads): an index rebuilt there is new, so not clean, and
     * the files are scanned into it. */
    if (err == SEAF_OK) {
        clean = index_db_get_clean(c->db) && !meta_changed;
        err = index_db_set_clean(c->db, false);
    }
    if (err == SEAF_OK && !clean)
        err = store_scan(&c->store, CACHE_KIND_BLOCK, scan_file, &r);
    if (err == SEAF_OK && !clean)
        err = r.err != SEAF_OK ? r.err : meta_db_scan(c->meta, scan_row, &r);
    if (err == SEAF_OK)
        err = r.err;
    if (err == SEAF_OK && !clean) {
        struct cache_entry *stale = NULL;
        entry_table_for_each(&c->table, collect_unseen, &stale);
        reconcile_index(c, &r, stale);
        err = apply_pins(c);
    }
    if (err == SEAF_OK)
        err = build_lru(c);
    c->next_seq = r.max_seq + 1;
    free(r.orphans);
    return err;
}
