/* file: open-file handles and the read path (style-models §2.2). The block offsets are computed
 * once per open: a one-block file needs nothing, a file whose blocks are all cached takes them
 * from the cache, anything else asks the server for the block map (one small request). A read
 * finds its first block by binary search over the offsets, opens each block it spans through
 * fetch.c (cache hit, or a shared single-flight download) and copies the bytes out. */
#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "fileserver_api.h"
#include "log.h"
#include "node.h"

struct open_file {
    char path[512]; /* for log messages */
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char file_id[SEAF_ID_LEN + 1];
    uint64_t size;
    size_t n_blocks;
    char (*block_ids)[SEAF_ID_LEN + 1]; /* copied: the handle owns its version */
    uint64_t *offsets;                  /* n_blocks + 1 entries; offsets[n_blocks] == size */
    pthread_mutex_t lock;
    struct readahead ra;  /* protected by lock */
    size_t failed_block;  /* protected by lock; index + 1 of the last block that failed */
    int64_t failed_at_ns; /* protected by lock; when (CLOCK_MONOTONIC) */
    int failed_rc;        /* protected by lock; with which -errno */
    char *mem_block;      /* protected by lock; a block the cache could not take */
    size_t mem_index;     /* protected by lock; its index + 1 (0: none) */
};

void file_close(struct open_file *h)
{
    if (!h)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h->mem_block);
    free(h->block_ids);
    free(h->offsets);
    free(h);
}

/* Block sizes from the cache; false when a block is not cached. */
static bool offsets_from_cache(struct seafs *fs, struct open_file *h)
{
    for (size_t i = 0; i < h->n_blocks; i++) {
        struct cache_handle *ch = NULL;
        if (cache_open(fs->cache, CACHE_KIND_BLOCK, h->block_ids[i], &ch) != SEAF_OK)
            return false;
        h->offsets[i + 1] = h->offsets[i] + cache_handle_size(ch);
        cache_close(ch);
    }
    return true;
}

static int compute_offsets(struct seafs *fs, struct open_file *h)
{
    h->offsets[0] = 0;
    if (h->n_blocks == 1) {
        h->offsets[1] = h->size;
        return 0;
    }
    if (offsets_from_cache(fs, h) && h->offsets[h->n_blocks] == h->size)
        return 0;
    int64_t *sizes = NULL;
    size_t n = 0;
    seaf_err err = fileserver_block_map(fs->client, h->repo_id, h->file_id, &sizes, &n);
    if (err != SEAF_OK) {
        log_msg(LOG_ERR, "open of '%s': block map: %s", h->path, seaf_strerror(err));
        return -seaf_err_to_errno(err);
    }
    int rc = n == h->n_blocks ? 0 : -EIO;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (sizes[i] <= 0)
            rc = -EIO;
        else
            h->offsets[i + 1] = h->offsets[i] + (uint64_t)sizes[i];
    }
    if (rc == 0 && h->offsets[h->n_blocks] != h->size)
        rc = -EIO;
    if (rc)
        log_msg(LOG_ERR, "open of '%s': the block map does not match the file", h->path);
    free(sizes);
    return rc;
}

static int library_read_check(struct seafs *fs, const char *repo_id)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    bool encrypted = lib && lib->encrypted;
    char name[256];
    snprintf(name, sizeof(name), "%s", lib ? lib->folder : "?");
    pthread_rwlock_unlock(&fs->libs_lock);
    if (!encrypted)
        return 0;
    log_msg(LOG_WARNING,
            "library '%s' (%s) is encrypted: reading encrypted libraries is not "
            "supported yet (EACCES)",
            name, repo_id);
    return -EACCES;
}

static void queue_scan_ahead(struct seafs *fs, uint64_t ino, const char *repo_id);

int file_open(struct seafs *fs, uint64_t ino, int flags, struct open_file **out)
{
    *out = NULL;
    struct inode_info info;
    int rc = node_resolve(fs, ino, &info);
    if (rc)
        return rc;
    if (info.kind != INODE_FILE)
        return -EISDIR;
    if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
        return -node_write_errno(fs, ino);
    if ((rc = library_read_check(fs, info.repo_id)) != 0)
        return rc;
    queue_scan_ahead(fs, ino, info.repo_id);
    struct open_file *h = calloc(1, sizeof(*h));
    if (!h)
        return -ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    readahead_init(&h->ra, fs->opts->readahead);
    node_path(fs, ino, h->path, sizeof(h->path));
    memcpy(h->repo_id, info.repo_id, sizeof(h->repo_id));
    memcpy(h->file_id, info.obj_id, sizeof(h->file_id));
    h->size = (uint64_t)info.size;
    if (h->size == 0) {
        *out = h;
        return 0;
    }
    struct tree_obj *obj = NULL;
    rc = tree_get(fs->tree, info.repo_id, info.obj_id, SEAF_FSOBJ_FILE, &obj);
    if (rc)
        goto fail;
    const struct seaf_file *file = &tree_obj_fsobj(obj)->file;
    if ((uint64_t)file->size != h->size) {
        log_msg(LOG_ERR, "open of '%s': file object %s: size differs from the directory's", h->path,
                info.obj_id);
        rc = -EIO;
        tree_obj_unref(fs->tree, obj);
        goto fail;
    }
    h->n_blocks = file->n_blocks;
    h->block_ids = malloc(h->n_blocks * sizeof(*h->block_ids));
    h->offsets = calloc(h->n_blocks + 1, sizeof(*h->offsets));
    if (!h->block_ids || !h->offsets) {
        tree_obj_unref(fs->tree, obj);
        rc = -ENOMEM;
        goto fail;
    }
    memcpy(h->block_ids, file->block_ids, h->n_blocks * sizeof(*h->block_ids));
    /* The offsets are remembered with the file object: later opens need no block map. */
    const uint64_t *known = tree_obj_offsets(obj);
    if (known) {
        memcpy(h->offsets, known, (h->n_blocks + 1) * sizeof(*h->offsets));
    } else if ((rc = compute_offsets(fs, h)) == 0) {
        uint64_t *copy = malloc((h->n_blocks + 1) * sizeof(*copy));
        if (copy) {
            memcpy(copy, h->offsets, (h->n_blocks + 1) * sizeof(*copy));
            tree_obj_set_offsets(obj, copy);
        }
    }
    tree_obj_unref(fs->tree, obj);
    if (rc)
        goto fail;
    *out = h;
    return 0;
fail:
    file_close(h);
    return rc;
}

/* Index of the block holding byte off (< size). */
static size_t block_index(const struct open_file *h, uint64_t off)
{
    size_t lo = 0, hi = h->n_blocks;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (h->offsets[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

/* Files larger than this are not fetched ahead of a directory scan. */
#define SCAN_MAX_FILE_SIZE (16 << 20)

void file_prefetch(void *ctx, enum prefetch_kind kind, const char *repo_id, const char *id)
{
    struct seafs *fs = ctx;
    struct cache_handle *ch = NULL;
    if (kind == PREFETCH_BLOCK) {
        if (fetch_block(fs->cache, fs->client, repo_id, id, &ch, NULL) == 0)
            cache_close(ch);
        return;
    }
    struct tree_obj *obj = NULL;
    if (tree_get(fs->tree, repo_id, id, SEAF_FSOBJ_FILE, &obj) != 0)
        return;
    const struct seaf_file *file = &tree_obj_fsobj(obj)->file;
    size_t n = file->n_blocks <= 2 ? file->n_blocks : 1;
    for (size_t i = 0; i < n; i++)
        if (fetch_block(fs->cache, fs->client, repo_id, file->block_ids[i], &ch, NULL) == 0)
            cache_close(ch);
    tree_obj_unref(fs->tree, obj);
}

/* Feeds the directory scan detector with this open and queues the next files of the folder. */
static void queue_scan_ahead(struct seafs *fs, uint64_t ino, const char *repo_id)
{
    uint64_t parent = 0;
    char *name = NULL;
    if (!fs->prefetch || !inode_table_get(fs->inodes, ino, NULL, &parent, &name))
        return;
    struct inode_info dir_info;
    struct tree_obj *dir = NULL;
    if (node_dir_object(fs, parent, &dir_info, &dir) == 0) {
        const struct seaf_dir *d = &tree_obj_fsobj(dir)->dir;
        const struct seaf_dirent *e = seaf_dir_lookup(d, name, strlen(name));
        if (e) {
            size_t from, to;
            pthread_mutex_lock(&fs->scan_lock);
            scan_on_open(&fs->scan, parent, (size_t)(e - d->entries), d->n_entries, &from, &to);
            pthread_mutex_unlock(&fs->scan_lock);
            for (size_t i = from; i < to; i++) {
                const struct seaf_dirent *next = &d->entries[i];
                if (!seaf_dirent_is_dir(next) && next->size > 0 && next->size <= SCAN_MAX_FILE_SIZE)
                    prefetch_pool_submit(fs->prefetch, PREFETCH_FILE, repo_id, next->id);
            }
        }
        tree_obj_unref(fs->tree, dir);
    }
    free(name);
}

/* Queues the blocks of [start, end) that the current read [read_start, read_end) does not. */
static void queue_readahead(struct seafs *fs, struct open_file *h, uint64_t start, uint64_t end,
                            uint64_t read_end)
{
    if (!fs->prefetch || start >= end)
        return;
    for (size_t i = block_index(h, start); i < h->n_blocks && h->offsets[i] < end; i++) {
        if (h->offsets[i + 1] <= read_end)
            continue;
        if (h->offsets[i] < read_end)
            continue; /* the reader fetches this one itself */
        prefetch_pool_submit(fs->prefetch, PREFETCH_BLOCK, h->repo_id, h->block_ids[i]);
    }
}

/* The kernel retries a failed page read at once. That retry gets the same error without
 * another wait for the server (and without a second log line); a read a second later tries
 * again. */
#define FAILURE_ECHO_NS 1000000000LL

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int recent_failure(struct open_file *h, size_t index)
{
    pthread_mutex_lock(&h->lock);
    bool recent =
        h->failed_block == index + 1 && monotonic_ns() - h->failed_at_ns < FAILURE_ECHO_NS;
    int rc = recent ? h->failed_rc : 0;
    pthread_mutex_unlock(&h->lock);
    return rc;
}

static void note_failure(struct open_file *h, size_t index, int rc)
{
    pthread_mutex_lock(&h->lock);
    h->failed_block = index + 1;
    h->failed_at_ns = monotonic_ns();
    h->failed_rc = rc;
    pthread_mutex_unlock(&h->lock);
}

/* Serves len bytes at pos of block index from memory, for a block the cache cannot take (larger
 * than cache_size, or no room): the block is downloaded and verified once and kept with the
 * handle while the reader moves through it. */
static int read_uncached(struct seafs *fs, struct open_file *h, size_t index, uint64_t pos,
                         size_t len, char *dst, seaf_err *cause)
{
    size_t in_block = (size_t)(pos - h->offsets[index]);
    char *data = NULL;
    size_t n = 0;
    int rc = fetch_block_to_memory(fs->client, h->repo_id, h->block_ids[index], &data, &n, cause);
    if (rc)
        return rc;
    if (n != h->offsets[index + 1] - h->offsets[index]) {
        free(data);
        *cause = SEAF_ERR_MALFORMED;
        return -EIO;
    }
    memcpy(dst, data + in_block, len);
    pthread_mutex_lock(&h->lock);
    free(h->mem_block);
    h->mem_block = data;
    h->mem_index = index + 1;
    h->ra.max_window = 0; /* blocks fetched ahead would not fit in the cache either */
    pthread_mutex_unlock(&h->lock);
    return 0;
}

/* Copies len bytes at pos of block index from the block kept in memory, if it is that one. */
static bool read_from_memory(struct open_file *h, size_t index, uint64_t pos, size_t len, char *dst)
{
    pthread_mutex_lock(&h->lock);
    bool have = h->mem_index == index + 1;
    if (have)
        memcpy(dst, h->mem_block + (pos - h->offsets[index]), len);
    pthread_mutex_unlock(&h->lock);
    return have;
}

ssize_t file_read(struct seafs *fs, struct open_file *h, char *buf, size_t size, uint64_t off)
{
    if (off >= h->size || size == 0)
        return 0;
    uint64_t end = off + size < h->size ? off + size : h->size;
    uint64_t ra_start, ra_end;
    pthread_mutex_lock(&h->lock);
    readahead_on_read(&h->ra, off, (size_t)(end - off), h->size, &ra_start, &ra_end);
    pthread_mutex_unlock(&h->lock);
    queue_readahead(fs, h, ra_start, ra_end, end);

    uint64_t pos = off;
    for (size_t i = block_index(h, off); pos < end; i++) {
        struct cache_handle *ch = NULL;
        seaf_err cause;
        int rc = recent_failure(h, i);
        if (rc)
            return rc;
        uint64_t block_end = h->offsets[i + 1] < end ? h->offsets[i + 1] : end;
        if (read_from_memory(h, i, pos, (size_t)(block_end - pos), buf + (pos - off))) {
            pos = block_end;
            continue;
        }
        rc = fetch_block(fs->cache, fs->client, h->repo_id, h->block_ids[i], &ch, &cause);
        if (rc && cause == SEAF_ERR_NOSPACE)
            rc = read_uncached(fs, h, i, pos, (size_t)(block_end - pos), buf + (pos - off), &cause);
        if (rc == 0 && !ch) {
            pos = block_end;
            continue;
        }
        if (rc) {
            note_failure(h, i, rc);
            log_msg(LOG_ERR, "read of '%s' at %llu: block %s: %s", h->path, (unsigned long long)pos,
                    h->block_ids[i], seaf_strerror(cause));
            return rc;
        }
        size_t want = (size_t)(block_end - pos), got = 0;
        seaf_err err = cache_read(ch, pos - h->offsets[i], want, buf + (pos - off), &got);
        cache_close(ch);
        if (err != SEAF_OK || got != want) {
            log_msg(LOG_ERR, "read of '%s': cached block %s: %s", h->path, h->block_ids[i],
                    err != SEAF_OK ? seaf_strerror(err) : "short block");
            return -EIO;
        }
        pos = block_end;
    }
    return (ssize_t)(end - off);
}

int file_is_cached(struct seafs *fs, const struct inode_info *info, bool *cached)
{
    *cached = true;
    if (info->kind != INODE_FILE || info->size == 0)
        return 0;
    struct tree_obj *obj = NULL;
    int rc = tree_get(fs->tree, info->repo_id, info->obj_id, SEAF_FSOBJ_FILE, &obj);
    if (rc)
        return rc;
    const struct seaf_file *file = &tree_obj_fsobj(obj)->file;
    for (size_t i = 0; i < file->n_blocks && *cached; i++) {
        struct cache_handle *ch = NULL;
        if (cache_open(fs->cache, CACHE_KIND_BLOCK, file->block_ids[i], &ch) == SEAF_OK)
            cache_close(ch);
        else
            *cached = false;
    }
    tree_obj_unref(fs->tree, obj);
    return 0;
}
