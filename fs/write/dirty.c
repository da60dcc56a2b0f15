/* dirty: staged files in memory and on disk (see dirty.h).
 *
 * Written bytes go to the staging file at their own offset (pwrite, in parallel under the shared
 * data lock) and their range joins the extents. A read walks the extents overlapping it: extent
 * bytes come from the staging file, gaps below base_limit from the base through the read path
 * (a file_open_version handle opened on first need), and the rest are zeros. The extents and
 * size reach the journal only in dirty_persist, so writes cost no journal transaction; the
 * staging area's use (the sum of the extents) is reported to the cache as it changes. */
#include "dirty_int.h"
#include "seaf_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "journal.h"
#include "log.h"
#include "overlay.h"
#include "seafs.h"
#include "uploader.h"

struct dirty_set {
    struct seafs *fs;
    pthread_mutex_t lock;
    struct dirty_file *files; /* protected by lock: the staged files in memory */
};

/* ---- extents ---- */

static int extents_reserve(struct extents *x, size_t n)
{
    if (n <= x->cap)
        return 0;
    size_t cap = x->cap ? x->cap : 4;
    while (cap < n)
        cap *= 2;
    uint64_t *v = realloc(x->v, cap * 2 * sizeof(*v));
    if (!v)
        return -ENOMEM;
    x->v = v;
    x->cap = cap;
    return 0;
}

/* Adds [a, b) (merging with what it overlaps or touches); *added = bytes newly covered. */
static int extents_add(struct extents *x, uint64_t a, uint64_t b, uint64_t *added)
{
    *added = 0;
    if (a >= b)
        return 0;
    /* first: the first extent ending at or after a; last: one past the last starting at or
     * before b. Those in [first, last) merge with [a, b). */
    size_t first = 0;
    while (first < x->n && x->v[2 * first + 1] < a)
        first++;
    size_t last = first;
    uint64_t covered = 0;
    while (last < x->n && x->v[2 * last] <= b) {
        uint64_t s = x->v[2 * last], e = x->v[2 * last + 1];
        uint64_t lo = s > a ? s : a, hi = e < b ? e : b;
        covered += hi > lo ? hi - lo : 0;
        last++;
    }
    uint64_t lo = a, hi = b;
    if (first < last) {
        lo = x->v[2 * first] < a ? x->v[2 * first] : a;
        hi = x->v[2 * (last - 1) + 1] > b ? x->v[2 * (last - 1) + 1] : b;
    }
    size_t merged = last - first;
    if (merged == 0) {
        if (extents_reserve(x, x->n + 1))
            return -ENOMEM;
        memmove(&x->v[2 * (first + 1)], &x->v[2 * first], (x->n - first) * 2 * sizeof(*x->v));
        x->n++;
    } else if (merged > 1) {
        memmove(&x->v[2 * (first + 1)], &x->v[2 * last], (x->n - last) * 2 * sizeof(*x->v));
        x->n -= merged - 1;
    }
    x->v[2 * first] = lo;
    x->v[2 * first + 1] = hi;
    *added = (b - a) - covered;
    return 0;
}

/* Drops everything at or past size; returns the bytes dropped. */
static uint64_t extents_cut(struct extents *x, uint64_t size)
{
    uint64_t dropped = 0;
    while (x->n > 0 && x->v[2 * (x->n - 1)] >= size) {
        dropped += x->v[2 * (x->n - 1) + 1] - x->v[2 * (x->n - 1)];
        x->n--;
    }
    if (x->n > 0 && x->v[2 * (x->n - 1) + 1] > size) {
        dropped += x->v[2 * (x->n - 1) + 1] - size;
        x->v[2 * (x->n - 1) + 1] = size;
    }
    return dropped;
}

static uint64_t extents_total(const uint64_t *v, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[2 * i + 1] - v[2 * i];
    return total;
}

/* ---- the set ---- */

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

/* Records a change (meta_lock held): a new version, and when the content started to differ from
 * what was last folded. true for the first change since then: the uploader is told (after the
 * lock is released), so that a file kept open is looked at again within upload_max_delay. */
static bool note_change_locked(struct dirty_file *d)
{
    dirty_mark_changed_locked(d);
    d->version++;
    if (d->changed_since)
        return false;
    d->changed_since = seaf_monotonic_ms();
    return true;
}

int64_t dirty_changed_since(struct dirty_file *d)
{
    pthread_mutex_lock(&d->meta_lock);
    int64_t since = d->changed_since;
    pthread_mutex_unlock(&d->meta_lock);
    return since;
}

static int account_existing(void *ctx, uint64_t id)
{
    struct dirty_set *set = ctx;
    struct journal_staged s;
    if (journal_staged_get(overlay_journal(set->fs->overlay), id, &s) == SEAF_OK) {
        cache_staging_account(set->fs->cache, (int64_t)extents_total(s.extents, s.n_extents));
        free(s.extents);
    }
    return 0;
}

static int drop_orphan(void *ctx, uint64_t id)
{
    struct dirty_set *set = ctx;
    struct journal_staged s;
    if (journal_staged_get(overlay_journal(set->fs->overlay), id, &s) == SEAF_ERR_NOT_FOUND) {
        log_msg(LOG_DEBUG, "removing staging file %llu (no staged file refers to it)",
                (unsigned long long)id);
        cache_staging_remove(set->fs->cache, id);
    }
    free(s.extents);
    return 0;
}

int dirty_set_new(struct seafs *fs, struct dirty_set **out)
{
    struct dirty_set *set = calloc(1, sizeof(*set));
    if (!set)
        return -ENOMEM;
    set->fs = fs;
    pthread_mutex_init(&set->lock, NULL);
    /* The staging area's use counts towards the cache; files the journal does not know are
     * debris of a crash between creating a staging file and committing its row. */
    overlay_lock(fs->overlay);
    journal_staged_ids(overlay_journal(fs->overlay), account_existing, set);
    cache_staging_scan(fs->cache, drop_orphan, set);
    overlay_unlock(fs->overlay);
    *out = set;
    return 0;
}

void dirty_set_free(struct dirty_set *set)
{
    if (!set)
        return;
    pthread_mutex_destroy(&set->lock);
    free(set);
}

static struct dirty_file *file_new(uint64_t id, const char *repo)
{
    struct dirty_file *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->id = id;
    snprintf(d->repo, sizeof(d->repo), "%s", repo);
    d->fd = -1;
    d->refs = 1;
    pthread_rwlock_init(&d->data_lock, NULL);
    pthread_mutex_init(&d->meta_lock, NULL);
    return d;
}

/* The staging key of an encrypted library's staged file; -EACCES while the library is locked. */
static int take_key(struct dirty_set *set, struct dirty_file *d)
{
    struct seaf_crypt_key block_key;
    if (!library_keys_get(set->fs->keys, d->repo, &block_key))
        return -EACCES;
    staging_key_derive(&block_key, &d->key);
    seaf_crypt_key_wipe(&block_key);
    d->encrypted = true;
    return 0;
}

static void file_free(struct dirty_file *d)
{
    staging_key_wipe(&d->key);
    if (d->fd >= 0)
        close(d->fd);
    file_close(d->base_reader);
    free(d->ext.v);
    pthread_rwlock_destroy(&d->data_lock);
    pthread_mutex_destroy(&d->meta_lock);
    free(d);
}

/* Makes d known to the set; if another thread loaded the same file meanwhile, that one is
 * returned (with a reference) and d freed. */
static struct dirty_file *publish(struct dirty_set *set, struct dirty_file *d)
{
    pthread_mutex_lock(&set->lock);
    for (struct dirty_file *o = set->files; o; o = o->next) {
        if (o->id == d->id) {
            o->refs++;
            pthread_mutex_unlock(&set->lock);
            file_free(d);
            return o;
        }
    }
    d->next = set->files;
    set->files = d;
    pthread_mutex_unlock(&set->lock);
    return d;
}

int dirty_create_locked(struct dirty_set *set, const char *repo, bool encrypted, const char *base,
                        uint64_t base_size, uint64_t keep, const char *prev, int64_t mtime,
                        struct dirty_file **out)
{
    struct seaf_crypt_key block_key;
    if (encrypted && !library_keys_get(set->fs->keys, repo, &block_key))
        return -EACCES; /* locked meanwhile: nothing may be staged in plaintext */
    if (encrypted)
        seaf_crypt_key_wipe(&block_key);
    struct journal_staged s;
    memset(&s, 0, sizeof(s));
    s.encrypted = encrypted;
    snprintf(s.repo, sizeof(s.repo), "%s", repo);
    snprintf(s.base, sizeof(s.base), "%s", base);
    snprintf(s.prev, sizeof(s.prev), "%s", prev);
    s.base_size = base_size;
    s.base_limit = keep < base_size ? keep : base_size;
    s.size = keep;
    if (journal_staged_new(overlay_journal(set->fs->overlay), &s) != SEAF_OK)
        return -EIO;
    struct dirty_file *d = file_new(s.id, repo);
    if (!d)
        return -ENOMEM;
    if (encrypted && take_key(set, d) != 0) {
        file_free(d);
        return -EACCES;
    }
    memcpy(d->base, s.base, sizeof(d->base));
    memcpy(d->prev, s.prev, sizeof(d->prev));
    d->base_size = s.base_size;
    d->base_limit = s.base_limit;
    d->size = s.size;
    d->mtime = mtime;
    *out = publish(set, d);
    return 0;
}

/* Staged file id from the journal, made known to the set (dirty_get); overlay lock held. */
static int load_locked(struct dirty_set *set, uint64_t id, struct dirty_file **out)
{
    struct seafs *fs = set->fs;
    struct journal_staged s;
    struct journal_entry e;
    seaf_err err = journal_staged_get(overlay_journal(fs->overlay), id, &s);
    bool named =
        err == SEAF_OK && journal_entry_of_staged(overlay_journal(fs->overlay), id, &e) == SEAF_OK;
    if (err != SEAF_OK)
        return err == SEAF_ERR_NOT_FOUND ? -ENOENT : -EIO;
    struct dirty_file *d = file_new(id, s.repo);
    if (!d) {
        free(s.extents);
        return -ENOMEM;
    }
    if (s.encrypted && take_key(set, d) != 0) {
        free(s.extents);
        file_free(d);
        return -EACCES;
    }
    memcpy(d->base, s.base, sizeof(d->base));
    memcpy(d->prev, s.prev, sizeof(d->prev));
    d->base_size = s.base_size;
    d->base_limit = s.base_limit;
    d->size = s.size;
    d->mtime = named ? e.mtime : now_seconds();
    d->ext.v = s.extents;
    d->ext.n = d->ext.cap = s.n_extents;
    d->ext_bytes = extents_total(s.extents, s.n_extents);
    seaf_err open_err = cache_staging_open(fs->cache, id, false, &d->fd);
    if (open_err != SEAF_OK) {
        d->fd = -1;
        if (d->ext.n > 0) {
            d->damaged = true;
            log_msg(LOG_ERR,
                    "staged file %llu: its staging data is missing (%s): the bytes written "
                    "locally cannot be read (EIO)",
                    (unsigned long long)id, seaf_strerror(open_err));
        }
    }
    *out = publish(set, d);
    return 0;
}

int dirty_get(struct dirty_set *set, uint64_t id, struct dirty_file **out)
{
    pthread_mutex_lock(&set->lock);
    for (struct dirty_file *o = set->files; o; o = o->next) {
        if (o->id == id && o->settled) { /* its journal row goes with its last reference */
            pthread_mutex_unlock(&set->lock);
            return -ENOENT;
        }
        if (o->id == id && !o->discarded) {
            o->refs++;
            pthread_mutex_unlock(&set->lock);
            *out = o;
            return 0;
        }
    }
    pthread_mutex_unlock(&set->lock);

    /* Loaded and published under the overlay lock: an upload settling it meanwhile either comes
     * first (no row: -ENOENT) or finds it in the set (dirty_settle_locked). */
    overlay_lock(set->fs->overlay);
    int rc = load_locked(set, id, out);
    overlay_unlock(set->fs->overlay);
    return rc;
}

/* Deletes the staging data and journal row of d (overlay lock not held). */
static void discard_now(struct dirty_set *set, uint64_t id, uint64_t bytes)
{
    overlay_lock(set->fs->overlay);
    journal_staged_delete(overlay_journal(set->fs->overlay), id);
    overlay_unlock(set->fs->overlay);
    cache_staging_remove(set->fs->cache, id);
    cache_staging_account(set->fs->cache, -(int64_t)bytes);
}

/* Whether d has changes the journal does not have (set's lock held). */
static bool unsaved(struct dirty_file *d)
{
    pthread_mutex_lock(&d->meta_lock);
    bool changed = d->changed;
    pthread_mutex_unlock(&d->meta_lock);
    return changed;
}

void dirty_put(struct dirty_set *set, struct dirty_file *d)
{
    if (!d)
        return;
    bool last, save_failed = false;
    for (;;) {
        pthread_mutex_lock(&set->lock);
        last = d->refs == 1;
        if (last && !save_failed && !d->discarded && unsaved(d)) {
            /* Saved while still in the set with this reference: an upload settling it meanwhile
             * sees its changes (dirty_settle_locked), not the journal's older row. */
            pthread_mutex_unlock(&set->lock);
            save_failed = dirty_persist(set, d, false) != 0;
            continue;
        }
        d->refs--;
        if (last) {
            struct dirty_file **p = &set->files;
            while (*p != d)
                p = &(*p)->next;
            *p = d->next;
        }
        pthread_mutex_unlock(&set->lock);
        break;
    }
    if (!last)
        return;
    if (d->discarded)
        discard_now(set, d->id, d->ext_bytes);
    else if (d->changed)
        dirty_persist(set, d, false);
    file_free(d);
}

/* Marks the in-memory staged file id discarded; false when it is not in memory. With content
 * (settling after an upload), only when idle (else *busy, and nothing is done), and its inodes
 * hold content from then on: done under the set's lock, so that a writer either counted itself
 * first or finds the file settled and the inode unstaged (dirty_writer_begin, dirty_get). */
static bool discard_in_memory(struct dirty_set *set, uint64_t id, const char *content, bool *busy)
{
    bool found = false;
    *busy = false;
    pthread_mutex_lock(&set->lock);
    for (struct dirty_file *o = set->files; o && !found; o = o->next) {
        if (o->id != id)
            continue;
        found = true;
        if (content) {
            pthread_mutex_lock(&o->meta_lock);
            *busy = __atomic_load_n(&o->writers, __ATOMIC_SEQ_CST) > 0 || o->changed;
            pthread_mutex_unlock(&o->meta_lock);
            if (!*busy)
                inode_table_unstage(set->fs->inodes, id, content);
        }
        if (!*busy) {
            o->discarded = true;
            o->settled = o->settled || content;
        }
    }
    pthread_mutex_unlock(&set->lock);
    return found;
}

/* Deletes the journal row and staging data of staged file id, not in memory (overlay lock held). */
static void discard_stored_locked(struct dirty_set *set, uint64_t id)
{
    struct journal *j = overlay_journal(set->fs->overlay);
    struct journal_staged s;
    if (journal_staged_get(j, id, &s) != SEAF_OK)
        return;
    journal_staged_delete(j, id);
    cache_staging_remove(set->fs->cache, id);
    cache_staging_account(set->fs->cache, -(int64_t)extents_total(s.extents, s.n_extents));
    free(s.extents);
}

bool dirty_settle_locked(struct dirty_set *set, uint64_t id, const char *content)
{
    bool busy;
    if (discard_in_memory(set, id, content, &busy))
        return !busy;
    inode_table_unstage(set->fs->inodes, id, content);
    discard_stored_locked(set, id);
    return true;
}

int dirty_discard_locked(struct dirty_set *set, uint64_t id)
{
    bool busy;
    if (!discard_in_memory(set, id, NULL, &busy))
        discard_stored_locked(set, id);
    return 0;
}

uint64_t dirty_id(const struct dirty_file *d)
{
    return d->id;
}

const char *dirty_repo(const struct dirty_file *d)
{
    return d->repo;
}

void dirty_attr(struct dirty_file *d, uint64_t *size, int64_t *mtime)
{
    pthread_mutex_lock(&d->meta_lock);
    *size = d->size;
    *mtime = d->mtime;
    pthread_mutex_unlock(&d->meta_lock);
}

bool dirty_attr_of(struct dirty_set *set, uint64_t id, uint64_t *size, int64_t *mtime)
{
    /* Read under the set's lock, without taking a reference: dropping one could be the last and
     * persist, which takes the overlay lock -- that rename holds when it calls this. */
    bool found = false;
    pthread_mutex_lock(&set->lock);
    for (struct dirty_file *o = set->files; o && !found; o = o->next)
        if (o->id == id) { /* also discarded ones: unlinked, still open */
            dirty_attr(o, size, mtime);
            found = true;
        }
    pthread_mutex_unlock(&set->lock);
    return found;
}

void dirty_set_mtime(struct dirty_file *d, int64_t mtime)
{
    pthread_mutex_lock(&d->meta_lock);
    d->mtime = mtime;
    note_change_locked(d);
    pthread_mutex_unlock(&d->meta_lock);
}

int dirty_writer_begin(struct dirty_set *set, struct dirty_file *d)
{
    pthread_mutex_lock(&set->lock);
    bool settled = d->settled;
    if (!settled)
        __atomic_add_fetch(&d->writers, 1, __ATOMIC_SEQ_CST);
    pthread_mutex_unlock(&set->lock);
    return settled ? -ESTALE : 0;
}

void dirty_writer_end(struct dirty_file *d)
{
    __atomic_sub_fetch(&d->writers, 1, __ATOMIC_SEQ_CST);
}

bool dirty_is_open_for_writing(struct dirty_set *set, uint64_t id)
{
    bool open = false;
    pthread_mutex_lock(&set->lock);
    for (struct dirty_file *o = set->files; o; o = o->next)
        if (o->id == id)
            open = __atomic_load_n(&o->writers, __ATOMIC_SEQ_CST) > 0;
    pthread_mutex_unlock(&set->lock);
    return open;
}

/* ---- reading ---- */

int dirty_read_base(struct dirty_set *set, struct dirty_file *d, char *buf, size_t len,
                    uint64_t off, bool readahead)
{
    pthread_mutex_lock(&d->meta_lock);
    struct open_file *h = d->base_reader;
    char base[SEAF_ID_LEN + 1];
    memcpy(base, d->base, sizeof(base));
    uint64_t base_size = d->base_size;
    pthread_mutex_unlock(&d->meta_lock);
    if (!h) {
        char path[64];
        snprintf(path, sizeof(path), "staged file %llu (base %.8s)", (unsigned long long)d->id,
                 base);
        int rc = file_open_version(set->fs, d->repo, base, base_size, path, &h);
        if (rc)
            return rc;
        pthread_mutex_lock(&d->meta_lock);
        if (d->base_reader) { /* another reader was quicker */
            file_close(h);
            h = d->base_reader;
        } else {
            d->base_reader = h;
        }
        pthread_mutex_unlock(&d->meta_lock);
    }
    while (len > 0) {
        ssize_t n = readahead ? file_read(set->fs, h, buf, len, off)
                              : file_read_exact(set->fs, h, buf, len, off);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EIO; /* base_limit is never past the base's end */
        buf += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* pread that fills a short read at the end of the file (a hole) with zeros. */
static int pread_full(int fd, char *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pread(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0) { /* a hole at the end of the staging file */
            memset(buf, 0, len);
            return 0;
        }
        buf += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

static int pwrite_full(int fd, const char *buf, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        buf += n;
        off += (uint64_t)n;
        len -= (size_t)n;
    }
    return 0;
}

/* Plaintext of staging sector `sector` of an encrypted staged file. */
static int read_sector(struct dirty_file *d, uint64_t sector, uint8_t *out)
{
    int rc = pread_full(d->fd, (char *)out, STAGING_SECTOR, sector * STAGING_SECTOR);
    if (rc == 0 && !staging_sector_crypt(&d->key, false, d->id, sector, out, out))
        rc = -EIO;
    return rc;
}

static int read_staging(struct dirty_file *d, char *buf, size_t len, uint64_t off)
{
    if (d->damaged || d->fd < 0)
        return -EIO;
    if (!d->encrypted)
        return pread_full(d->fd, buf, len, off);
    uint8_t sector[STAGING_SECTOR];
    int rc = 0;
    while (rc == 0 && len > 0) {
        uint64_t index = off / STAGING_SECTOR, at = off % STAGING_SECTOR;
        size_t n = STAGING_SECTOR - at < len ? (size_t)(STAGING_SECTOR - at) : len;
        if ((rc = read_sector(d, index, sector)) == 0)
            memcpy(buf, sector + at, n);
        buf += n;
        off += n;
        len -= n;
    }
    OPENSSL_cleanse(sector, sizeof(sector));
    return rc;
}

/* Writes an encrypted staged file's bytes sector by sector: a sector the write covers partly is
 * read back (when it holds written bytes), patched and encrypted again. The caller holds the
 * data lock exclusively (no two writers patch one sector at once). */
static int write_sectors(struct dirty_file *d, const char *buf, size_t len, uint64_t off)
{
    uint8_t sector[STAGING_SECTOR];
    int rc = 0;
    while (rc == 0 && len > 0) {
        uint64_t index = off / STAGING_SECTOR, at = off % STAGING_SECTOR;
        size_t n = STAGING_SECTOR - at < len ? (size_t)(STAGING_SECTOR - at) : len;
        uint64_t start = index * STAGING_SECTOR;
        if (n < STAGING_SECTOR) {
            pthread_mutex_lock(&d->meta_lock);
            bool old = false;
            for (size_t i = 0; i < d->ext.n && !old; i++)
                old = d->ext.v[2 * i] < start + STAGING_SECTOR && d->ext.v[2 * i + 1] > start;
            pthread_mutex_unlock(&d->meta_lock);
            if (old)
                rc = read_sector(d, index, sector);
            else
                memset(sector, 0, sizeof(sector));
        }
        if (rc == 0) {
            memcpy(sector + at, buf, n);
            if (!staging_sector_crypt(&d->key, true, d->id, index, sector, sector))
                rc = -EIO;
        }
        if (rc == 0)
            rc = pwrite_full(d->fd, (const char *)sector, STAGING_SECTOR, start);
        buf += n;
        off += n;
        len -= n;
    }
    OPENSSL_cleanse(sector, sizeof(sector));
    return rc;
}

ssize_t dirty_read(struct dirty_set *set, struct dirty_file *d, char *buf, size_t size,
                   uint64_t off)
{
    pthread_rwlock_rdlock(&d->data_lock);
    ssize_t n = dirty_read_locked(set, d, buf, size, off, true);
    pthread_rwlock_unlock(&d->data_lock);
    return n;
}

ssize_t dirty_read_locked(struct dirty_set *set, struct dirty_file *d, char *buf, size_t size,
                          uint64_t off, bool readahead)
{
    pthread_mutex_lock(&d->meta_lock);
    uint64_t end = off + size < d->size ? off + size : d->size;
    uint64_t base_limit = d->base_limit;
    /* The extents overlapping the read, copied: I/O happens without the lock. */
    size_t first = 0;
    while (first < d->ext.n && d->ext.v[2 * first + 1] <= off)
        first++;
    size_t last = first;
    while (last < d->ext.n && d->ext.v[2 * last] < end)
        last++;
    size_t n_ext = last - first;
    uint64_t stack_ext[16], *ext = stack_ext;
    if (n_ext * 2 > 16 && !(ext = malloc(n_ext * 2 * sizeof(*ext)))) {
        pthread_mutex_unlock(&d->meta_lock);
        return -ENOMEM;
    }
    if (n_ext) /* without extents d->ext.v may be NULL */
        memcpy(ext, &d->ext.v[2 * first], n_ext * 2 * sizeof(*ext));
    pthread_mutex_unlock(&d->meta_lock);

    int rc = 0;
    uint64_t pos = off;
    size_t k = 0;
    while (rc == 0 && pos < end) {
        if (k < n_ext && ext[2 * k] <= pos) { /* inside extent k */
            uint64_t stop = ext[2 * k + 1] < end ? ext[2 * k + 1] : end;
            rc = read_staging(d, buf + (pos - off), (size_t)(stop - pos), pos);
            pos = stop;
            k++;
            continue;
        }
        uint64_t gap_end = k < n_ext && ext[2 * k] < end ? ext[2 * k] : end;
        if (pos < base_limit) {
            uint64_t stop = gap_end < base_limit ? gap_end : base_limit;
            rc = dirty_read_base(set, d, buf + (pos - off), (size_t)(stop - pos), pos, readahead);
            pos = stop;
        } else {
            memset(buf + (pos - off), 0, (size_t)(gap_end - pos));
            pos = gap_end;
        }
    }
    if (ext != stack_ext)
        free(ext);
    if (rc)
        return rc;
    return off < end ? (ssize_t)(end - off) : 0;
}

/* ---- writing ---- */

/* Opens (creating) the staging file; meta_lock held. */
static int ensure_staging_locked(struct dirty_set *set, struct dirty_file *d)
{
    if (d->fd >= 0)
        return 0;
    seaf_err err = cache_staging_open(set->fs->cache, d->id, true, &d->fd);
    if (err != SEAF_OK) {
        d->fd = -1;
        return -seaf_err_to_errno(err);
    }
    return 0;
}

/* Backpressure: while the cache is past its limit and uploads can free space, a writer waits
 * for them (a second at a time, so it never hangs on them); when they cannot (offline, the
 * server refusing), the data goes in over the limit: only a full disk fails a write. */
static void wait_for_room(struct dirty_set *set, struct dirty_file *d)
{
    struct cache *c = set->fs->cache;
    uint64_t used, limit, staged;
    cache_usage(c, &used, &limit, &staged);
    if (used <= limit)
        return;
    uploader_notify(set->fs->uploader, d->repo); /* this file too may go up while open */
    if (uploader_can_free_space(set->fs->uploader))
        cache_wait_room(c, 1000);
}

ssize_t dirty_write(struct dirty_set *set, struct dirty_file *d, const char *buf, size_t size,
                    uint64_t off)
{
    if (size == 0)
        return 0;
    if (off > (uint64_t)SEAF_MAX_FILE_SIZE || size > (uint64_t)SEAF_MAX_FILE_SIZE - off)
        return -EFBIG;
    wait_for_room(set, d);
    /* Encrypted sectors are read back and patched: one writer at a time. */
    if (d->encrypted)
        pthread_rwlock_wrlock(&d->data_lock);
    else
        pthread_rwlock_rdlock(&d->data_lock);
    pthread_mutex_lock(&d->meta_lock);
    int rc = ensure_staging_locked(set, d);
    int fd = d->fd;
    pthread_mutex_unlock(&d->meta_lock);
    if (rc == 0)
        rc = d->encrypted ? write_sectors(d, buf, size, off) : pwrite_full(fd, buf, size, off);
    uint64_t added = 0;
    bool first = false;
    if (rc == 0) {
        pthread_mutex_lock(&d->meta_lock);
        rc = extents_add(&d->ext, off, off + size, &added);
        d->ext_bytes += added;
        if (off + size > d->size)
            d->size = off + size;
        d->mtime = now_seconds();
        first = note_change_locked(d);
        pthread_mutex_unlock(&d->meta_lock);
    }
    pthread_rwlock_unlock(&d->data_lock);
    if (added)
        cache_staging_account(set->fs->cache, (int64_t)added);
    if (first)
        uploader_notify(set->fs->uploader, d->repo);
    return rc ? rc : (ssize_t)size;
}

int dirty_truncate(struct dirty_set *set, struct dirty_file *d, uint64_t size)
{
    if (size > (uint64_t)SEAF_MAX_FILE_SIZE)
        return -EFBIG;
    pthread_rwlock_wrlock(&d->data_lock);
    pthread_mutex_lock(&d->meta_lock);
    uint64_t dropped = 0;
    if (size < d->size) {
        dropped = extents_cut(&d->ext, size);
        d->ext_bytes -= dropped;
        if (d->base_limit > size)
            d->base_limit = size;
        /* An encrypted staging file keeps whole sectors. */
        uint64_t keep =
            d->encrypted ? (size + STAGING_SECTOR - 1) / STAGING_SECTOR * STAGING_SECTOR : size;
        if (d->fd >= 0 && ftruncate(d->fd, (off_t)keep) != 0)
            log_msg(LOG_WARNING, "staged file %llu: cannot shrink its staging file: %s",
                    (unsigned long long)d->id, strerror(errno));
    }
    d->size = size;
    d->mtime = now_seconds();
    bool first = note_change_locked(d);
    pthread_mutex_unlock(&d->meta_lock);
    pthread_rwlock_unlock(&d->data_lock);
    if (dropped)
        cache_staging_account(set->fs->cache, -(int64_t)dropped);
    if (first)
        uploader_notify(set->fs->uploader, d->repo);
    return 0;
}

void dirty_drop_staging(struct dirty_set *set, struct dirty_file *d)
{
    (void)set;
    pthread_rwlock_wrlock(&d->data_lock);
    pthread_mutex_lock(&d->meta_lock);
    if (d->ext.n == 0 && !d->changed && d->fd >= 0 && ftruncate(d->fd, 0) != 0)
        log_msg(LOG_WARNING, "staged file %llu: cannot empty its staging file: %s",
                (unsigned long long)d->id, strerror(errno));
    pthread_mutex_unlock(&d->meta_lock);
    pthread_rwlock_unlock(&d->data_lock);
}

/* ---- persistence ---- */

int dirty_persist(struct dirty_set *set, struct dirty_file *d, bool sync)
{
    struct seafs *fs = set->fs;
    pthread_mutex_lock(&d->meta_lock);
    if (!d->changed && !sync) {
        pthread_mutex_unlock(&d->meta_lock);
        return 0;
    }
    struct journal_staged s;
    memset(&s, 0, sizeof(s));
    s.id = d->id;
    s.encrypted = d->encrypted;
    memcpy(s.repo, d->repo, sizeof(s.repo));
    memcpy(s.base, d->base, sizeof(s.base));
    memcpy(s.prev, d->prev, sizeof(s.prev));
    s.base_size = d->base_size;
    s.base_limit = d->base_limit;
    s.size = d->size;
    s.n_extents = d->ext.n;
    s.extents = malloc(d->ext.n * 2 * sizeof(uint64_t) + 1);
    if (s.extents)
        memcpy(s.extents, d->ext.v, d->ext.n * 2 * sizeof(uint64_t));
    int64_t mtime = d->mtime;
    int fd = d->fd;
    uint64_t marks = d->change_marks;
    pthread_mutex_unlock(&d->meta_lock);
    if (!s.extents)
        return -ENOMEM;
    int rc = 0;
    if (sync && fd >= 0 && (fdatasync(fd) != 0 || cache_staging_sync_dir(fs->cache) != SEAF_OK))
        rc = -EIO;
    struct journal *j = overlay_journal(fs->overlay);
    overlay_lock(fs->overlay);
    seaf_err err = rc ? SEAF_ERR_IO : journal_begin(j);
    if (err == SEAF_OK)
        err = journal_staged_put(j, &s);
    struct journal_entry e;
    if (err == SEAF_OK && journal_entry_of_staged(j, d->id, &e) == SEAF_OK &&
        (e.size != (int64_t)s.size || e.mtime != mtime)) {
        e.size = (int64_t)s.size;
        e.mtime = mtime;
        err = journal_entry_put(j, &e);
    }
    if (!rc)
        err = journal_end(j, err, sync);
    if (err != SEAF_OK && !rc)
        log_msg(LOG_ERR, "staged file %llu: cannot save it in the journal: %s",
                (unsigned long long)d->id, journal_last_error(j));
    if (err == SEAF_OK) {
        /* Saved: cleared under the overlay lock, so an upload settling it sees either `changed`
         * or the journal holding the change -- unless it changed again since the copy above. */
        pthread_mutex_lock(&d->meta_lock);
        if (d->change_marks == marks)
            d->changed = false;
        pthread_mutex_unlock(&d->meta_lock);
    }
    overlay_unlock(fs->overlay);
    free(s.extents);
    if (err != SEAF_OK)
        return rc ? rc : err == SEAF_ERR_NOSPACE ? -ENOSPC : -EIO;
    return 0;
}
