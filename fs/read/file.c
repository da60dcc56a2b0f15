/* file: open-file handles and the read path (style-models §2.2). The block sizes are found
 * once per open: a one-block file needs nothing, a file whose blocks are all cached takes them
 * from the cache, anything else takes the block map from the cache or else the server (one small
 * request, then cached, so the file opens offline later);
 * file_layout turns them into plaintext positions. A read locates each block it spans, opens
 * it through fetch.c (cache hit, or a shared single-flight download) and copies the bytes out;
 * the two blocks read last stay open. A sequential reader has the blocks ahead fetched by the
 * read-ahead pool, and those of them already cached read from the disk a little ahead of it.
 * Blocks of encrypted libraries are cached as ciphertext: a read decrypts only the 16-byte
 * aligned span it needs (seaf_crypt), and learns a block's plaintext length from its padding
 * the first time the block is open (file_layout asks for the lengths it needs to place a read
 * far into a file whose earlier blocks were never read). The lengths learned are kept in the
 * cache (plain_lengths.h) in batches: when they complete the file's offsets, after lengths were
 * learned only to place a read, every SAVE_BATCH lengths or SAVE_INTERVAL_NS, at close and for
 * the files still open at unmount. A later open takes them as hints, each confirmed by its
 * block's padding when the block is open; one found wrong (or lengths that stop adding up) drops
 * them all, and the reads they placed start over without them. */
#include "file.h"
#include "seaf_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "block_map_ahead.h"
#include "file_layout.h"
#include "fetch.h"
#include "fileserver_api.h"
#include "log.h"
#include "node.h"
#include "plain_lengths.h"
#include "range_read.h"
#include "seaf_crypt.h"

/* Blocks kept open per open file: the kernel's concurrent read-ahead requests of a sequential
 * reader straddle two blocks at a time (a single one kept open was replaced, and each block
 * opened again, about a dozen times). Open blocks are not evicted, so they are few. */
#define HELD_BLOCKS 2

struct open_file {
    char path[512]; /* for log messages */
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char file_id[SEAF_ID_LEN + 1];
    uint64_t size;
    bool encrypted;
    size_t n_blocks;
    char (*block_ids)[SEAF_ID_LEN + 1]; /* copied: the handle owns its version */
    pthread_mutex_t lock;
    struct file_layout layout; /* fixed at open for plain files; else under layout_lock */
    struct readahead ra;       /* protected by lock */
    size_t disk_first;         /* protected by lock; blocks [disk_first, disk_next) were asked */
    size_t disk_next;          /* from the disk ahead of a sequential reader */
    size_t failed_block;       /* protected by lock; index + 1 of the last block that failed */
    int64_t failed_at_ns;      /* protected by lock; when (CLOCK_MONOTONIC) */
    int failed_rc;             /* protected by lock; with which -errno */
    char *mem_block;           /* protected by lock; a block the cache could not take */
    size_t mem_len;            /* protected by lock; its stored size */
    size_t mem_index;          /* protected by lock; its index + 1 (0: none) */
    struct held_block *held[HELD_BLOCKS]; /* protected by lock; blocks read last, kept open */
    uint64_t held_clock;                  /* protected by lock; counts uses of held blocks */
    struct range_state ranges;            /* byte ranges served instead of blocks (own lock) */
    struct cache *cache;                  /* where the plaintext lengths learned are kept */
    size_t unsaved;                       /* under layout_lock: lengths learned and not kept yet */
    int64_t saved_at_ns;       /* under layout_lock: when they were last kept (or the open) */
    uint64_t hint_drops;       /* under layout_lock: times wrong hints were dropped */
    bool hints_wrong;          /* under layout_lock: the kept record is to be removed */
    pthread_mutex_t save_lock; /* one save of the lengths at a time */
};

/* Lengths learned (one per block opened) are kept at the latest after this many, or this long
 * after the last save. */
#define SAVE_BATCH       64
#define SAVE_INTERVAL_NS (10 * 1000000000LL)

/* A cached block kept open between reads of one file, so that consecutive reads of the same
 * block (a sequential reader makes dozens per block) skip the cache lookup and open. Shared by
 * the readers using it; closed when the last one lets go after it was replaced. */
struct held_block {
    struct cache_handle *ch;
    size_t index;
    uint64_t used; /* protected by the open file's lock: its held_clock at the last use */
    unsigned refs; /* protected by the open file's lock: readers + 1 while it is held */
};

/* Drops one reference (the lock is held); the caller closes the block when this says so. */
static bool held_unref_locked(struct held_block *hb)
{
    return --hb->refs == 0;
}

static void held_free(struct held_block *hb)
{
    cache_close(hb->ch);
    free(hb);
}

/* The held block if it is block index, with a reference for the caller; NULL otherwise. */
static struct held_block *held_get(struct open_file *h, size_t index)
{
    pthread_mutex_lock(&h->lock);
    struct held_block *hb = NULL;
    for (size_t i = 0; i < HELD_BLOCKS && !hb; i++)
        if (h->held[i] && h->held[i]->index == index)
            hb = h->held[i];
    if (hb) {
        hb->refs++;
        hb->used = ++h->held_clock;
    }
    pthread_mutex_unlock(&h->lock);
    return hb;
}

/* The slot a block newly held goes to: the one holding the same block (opened by two readers at
 * once), else an empty one, else the least recently used. The lock is held. */
static size_t held_slot_locked(const struct open_file *h, size_t index)
{
    size_t slot = 0;
    for (size_t i = 0; i < HELD_BLOCKS; i++) {
        if (h->held[i] && h->held[i]->index == index)
            return i;
        if (!h->held[i] || (h->held[slot] && h->held[i]->used < h->held[slot]->used))
            slot = i;
    }
    return slot;
}

/* Makes ch (block index, just opened) a held block, with a reference for the caller; NULL (ch
 * closed) on ENOMEM. */
static struct held_block *held_set(struct open_file *h, size_t index, struct cache_handle *ch)
{
    struct held_block *hb = malloc(sizeof(*hb));
    if (!hb) {
        cache_close(ch);
        return NULL;
    }
    *hb = (struct held_block){.ch = ch, .index = index, .refs = 2};
    pthread_mutex_lock(&h->lock);
    hb->used = ++h->held_clock;
    size_t slot = held_slot_locked(h, index);
    struct held_block *old = h->held[slot];
    h->held[slot] = hb;
    bool close_old = old && held_unref_locked(old);
    pthread_mutex_unlock(&h->lock);
    if (close_old)
        held_free(old);
    return hb;
}

/* Lets go of hb; forget: it is no longer to be used (it failed), so the next read opens the
 * block again. */
static void held_put(struct open_file *h, struct held_block *hb, bool forget)
{
    pthread_mutex_lock(&h->lock);
    bool close = false;
    for (size_t i = 0; forget && i < HELD_BLOCKS; i++) {
        if (h->held[i] == hb) {
            h->held[i] = NULL;
            close = held_unref_locked(hb);
        }
    }
    close = held_unref_locked(hb) || close;
    pthread_mutex_unlock(&h->lock);
    if (close)
        held_free(hb);
}

/* The layout of an encrypted file grows as plaintext lengths are learned; a plain file's is
 * fixed at open and read without the lock. */
static void layout_lock(struct open_file *h)
{
    if (h->encrypted)
        pthread_mutex_lock(&h->lock);
}

static void layout_unlock(struct open_file *h)
{
    if (h->encrypted)
        pthread_mutex_unlock(&h->lock);
}

static void save_lengths(struct open_file *h, bool urgent);

void file_keep_learned(struct open_file *h)
{
    if (h)
        save_lengths(h, true);
}

void file_close(struct open_file *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < HELD_BLOCKS; i++)
        if (h->held[i]) /* no reader is left */
            held_free(h->held[i]);
    save_lengths(h, true);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->save_lock);
    free(h->mem_block);
    free(h->block_ids);
    file_layout_release(&h->layout);
    range_state_release(&h->ranges);
    free(h);
}

/* Where the stored bytes of one block are read from: a cache handle, or a block held in memory
 * (the handle's mem_block, read under its lock). */
struct block_source {
    struct cache_handle *ch;
    const char *mem;
    uint64_t size; /* stored size */
};

static int source_read(const struct block_source *src, uint64_t at, size_t len, void *dst)
{
    if (at + len > src->size)
        return -EIO;
    if (src->mem) {
        memcpy(dst, src->mem + at, len);
        return 0;
    }
    size_t got = 0;
    seaf_err err = cache_read(src->ch, at, len, dst, &got);
    return err == SEAF_OK && got == len ? 0 : -EIO;
}

/* The plaintext length of an encrypted block, from its padding. */
static int learn_plain_length(const struct block_source *src, const struct seaf_crypt_key *key,
                              uint64_t *plain)
{
    uint8_t tail[2 * SEAF_CRYPT_BLOCK];
    size_t n = src->size >= sizeof(tail) ? sizeof(tail) : SEAF_CRYPT_BLOCK;
    if (src->size < SEAF_CRYPT_BLOCK || source_read(src, src->size - n, n, tail) != 0)
        return -EIO;
    return seaf_crypt_plain_size(key, src->size, tail, plain) == SEAF_OK ? 0 : -EIO;
}

/* A per-thread buffer for ciphertext, kept between reads (a fresh allocation per read cost page
 * faults that slowed decrypting reads several times) and freed when the thread ends. */
struct scratch {
    size_t size;
    uint8_t data[];
};
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_key_create(void)
{
    pthread_key_create(&scratch_key, free);
}

static uint8_t *scratch_buffer(size_t size)
{
    pthread_once(&scratch_once, scratch_key_create);
    struct scratch *s = pthread_getspecific(scratch_key);
    if (!s || s->size < size) {
        struct scratch *bigger = realloc(s, sizeof(*s) + size);
        if (!bigger)
            return NULL;
        bigger->size = size;
        pthread_setspecific(scratch_key, bigger);
        s = bigger;
    }
    return s->data;
}

/* Decrypts ciphertext [at, at + len) (16-byte aligned) of a block into out; cipher holds the
 * block's ciphertext from offset base on, including the 16 bytes before at (its IV) unless at is
 * 0 or the version needs none. */
static int decrypt_span(const struct seaf_crypt_key *key, const uint8_t *cipher, uint64_t base,
                        uint64_t at, size_t len, uint8_t *out)
{
    const uint8_t *prev =
        at > 0 && key->version != 3 ? cipher + (at - SEAF_CRYPT_BLOCK - base) : NULL;
    return seaf_crypt_decrypt_range(key, at, prev, cipher + (at - base), len, out) == SEAF_OK
               ? 0
               : -EIO;
}

/* Copies plaintext bytes [from, to) of the block (offsets within the block) into dst; key is
 * NULL for plain libraries. For an encrypted block the ciphertext of the span, widened to whole
 * AES blocks plus the block before (the IV), is read into the scratch buffer; the whole AES
 * blocks inside [from, to) are decrypted straight into dst, the partial ones at either end
 * through a 16-byte buffer. */
static int copy_plain(const struct block_source *src, const struct seaf_crypt_key *key,
                      uint64_t from, uint64_t to, char *dst)
{
    if (!key)
        return source_read(src, from, (size_t)(to - from), dst);
    const uint64_t B = SEAF_CRYPT_BLOCK;
    uint64_t first = from - from % B, last = to + (B - to % B) % B;
    uint64_t base = first >= B && key->version != 3 ? first - B : first;
    uint8_t *cipher = scratch_buffer((size_t)(last - base));
    if (!cipher)
        return -ENOMEM;
    int rc = source_read(src, base, (size_t)(last - base), cipher);
    uint64_t inner_from = from + (B - from % B) % B, inner_to = to - to % B;
    uint8_t edge[SEAF_CRYPT_BLOCK];
    if (rc == 0 && from < inner_from) { /* partial first AES block */
        rc = decrypt_span(key, cipher, base, first, B, edge);
        uint64_t stop = to < first + B ? to : first + B;
        memcpy(dst, edge + (from - first), (size_t)(stop - from));
    }
    if (rc == 0 && inner_from < inner_to)
        rc = decrypt_span(key, cipher, base, inner_from, (size_t)(inner_to - inner_from),
                          (uint8_t *)dst + (inner_from - from));
    if (rc == 0 && inner_to < to && inner_to >= inner_from) { /* partial last AES block */
        rc = decrypt_span(key, cipher, base, inner_to, B, edge);
        memcpy(dst + (inner_to - from), edge, (size_t)(to - inner_to));
    }
    OPENSSL_cleanse(edge, sizeof(edge));
    return rc;
}

/* Sets the stored sizes of the layout from the cache (learning plaintext lengths of cached
 * encrypted blocks too); false when a block is not cached. */
static bool sizes_from_cache(struct seafs *fs, struct open_file *h,
                             const struct seaf_crypt_key *key)
{
    for (size_t i = 0; i < h->n_blocks; i++) {
        struct cache_handle *ch = NULL;
        if (cache_open(fs->cache, CACHE_KIND_BLOCK, h->block_ids[i], &ch) != SEAF_OK)
            return false;
        struct block_source src = {.ch = ch, .size = cache_handle_size(ch)};
        file_layout_set_stored(&h->layout, i, src.size);
        uint64_t plain = 0;
        if (key && learn_plain_length(&src, key, &plain) == 0)
            file_layout_set_plain(&h->layout, i, plain);
        cache_close(ch);
    }
    return true;
}

int file_keep_block_map(struct seafs *fs, const char *file_id, const int64_t *sizes, size_t n,
                        bool pinned)
{
    size_t cap = n * 21 + 3, len = 0;
    char *json = malloc(cap);
    if (!json)
        return -ENOMEM;
    json[len++] = '[';
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(json + len, cap - len, "%s%lld", i ? "," : "", (long long)sizes[i]);
    json[len++] = ']';
    seaf_err err = pinned ? cache_put_pinned(fs->cache, CACHE_KIND_BLOCK_MAP, file_id, json, len)
                          : cache_put_object(fs->cache, CACHE_KIND_BLOCK_MAP, file_id, json, len);
    free(json);
    if (err != SEAF_OK) {
        log_msg(pinned ? LOG_ERR : LOG_DEBUG, "block map of %s not cached: %s", file_id,
                seaf_strerror(err));
        return -seaf_err_to_errno(err);
    }
    return 0;
}

/* The stored block sizes from the cached block map; false when there is none that fits. */
static bool sizes_from_cached_block_map(struct seafs *fs, struct open_file *h)
{
    char *json = NULL;
    size_t len = 0, n = 0;
    int64_t *sizes = NULL;
    if (cache_get_object(fs->cache, CACHE_KIND_BLOCK_MAP, h->file_id, &json, &len) != SEAF_OK)
        return false;
    bool ok = seaf_block_map_parse(json, len, &sizes, &n) == SEAF_OK && n == h->n_blocks;
    for (size_t i = 0; ok && i < n; i++)
        file_layout_set_stored(&h->layout, i, (uint64_t)sizes[i]);
    ok = ok && file_layout_check(&h->layout) == 0;
    if (!ok)
        cache_remove(fs->cache, CACHE_KIND_BLOCK_MAP, h->file_id);
    free(sizes);
    free(json);
    return ok;
}

static int sizes_from_block_map(struct seafs *fs, struct open_file *h)
{
    if (sizes_from_cached_block_map(fs, h))
        return 0;
    int64_t *sizes = NULL;
    size_t n = 0;
    seaf_err err = fileserver_block_map(fs->client, h->repo_id, h->file_id, &sizes, &n);
    if (err != SEAF_OK) {
        log_msg(LOG_ERR, "open of '%s': block map: %s", h->path, seaf_strerror(err));
        return -seaf_err_to_errno(err);
    }
    int rc = n == h->n_blocks ? 0 : -EIO;
    for (size_t i = 0; i < n && rc == 0; i++)
        file_layout_set_stored(&h->layout, i, (uint64_t)sizes[i]);
    if (rc == 0 && file_layout_check(&h->layout) == 0)
        file_keep_block_map(fs, h->file_id, sizes, n, false);
    free(sizes);
    return rc;
}

/* Takes the plaintext lengths the cache kept for an encrypted file as hints (unless the layout
 * is complete already; a record that cannot be right is removed), and counts the lengths known
 * now that the record lacks. */
static void use_kept_lengths(struct seafs *fs, struct open_file *h)
{
    size_t n = h->n_blocks;
    uint64_t *kept = calloc(n, sizeof(*kept)), *known = calloc(n, sizeof(*known));
    if (kept && known && plain_lengths_load(fs->cache, h->file_id, n, kept) == 0 &&
        !h->layout.offsets && file_layout_add_hints(&h->layout, kept) != 0) {
        log_msg(LOG_WARNING,
                "open of '%s': the plaintext lengths kept for it cannot be right: "
                "dropped",
                h->path);
        plain_lengths_forget(fs->cache, h->file_id);
        memset(kept, 0, n * sizeof(*kept));
    }
    if (kept && known) {
        file_layout_confirmed(&h->layout, known);
        for (size_t i = 0; i < n; i++)
            h->unsaved += known[i] && known[i] != kept[i];
    }
    free(kept);
    free(known);
}

/* Fills the layout: from the offsets remembered with the file object, else the one block's
 * size, else the cache, else the block map; then the lengths kept in the cache. */
static int compute_layout(struct seafs *fs, struct open_file *h, const uint64_t *known,
                          const struct seaf_crypt_key *key)
{
    int rc = file_layout_init(&h->layout, h->n_blocks, h->size, h->encrypted);
    if (rc)
        return rc;
    if (known) {
        file_layout_set_offsets(&h->layout, known);
    } else if (h->n_blocks == 1) {
        file_layout_set_stored(&h->layout, 0, key ? seaf_crypt_cipher_size(h->size) : h->size);
        file_layout_set_plain(&h->layout, 0, h->size);
    } else if (!sizes_from_cache(fs, h, key) || file_layout_check(&h->layout) != 0) {
        if ((rc = sizes_from_block_map(fs, h)) != 0)
            return rc;
    }
    if (file_layout_check(&h->layout) != 0) {
        log_msg(LOG_ERR, "open of '%s': the block sizes do not match the file size", h->path);
        return -EIO;
    }
    if (key && !known && h->n_blocks > 1)
        use_kept_lengths(fs, h);
    return 0;
}

/* At open: the library's key into *key when it is encrypted (*encrypted); -EACCES while it is
 * locked. */
static int library_key(struct seafs *fs, const char *repo_id, bool *encrypted,
                       struct seaf_crypt_key *key)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    *encrypted = lib && lib->encrypted;
    char name[256];
    snprintf(name, sizeof(name), "%s", lib ? lib->folder : "?");
    pthread_rwlock_unlock(&fs->libs_lock);
    if (!*encrypted || library_keys_get(fs->keys, repo_id, key))
        return 0;
    log_msg(LOG_INFO, "library '%s' is encrypted and locked: run `seafs unlock` (EACCES)", name);
    return -EACCES;
}

static void queue_scan_ahead(struct seafs *fs, uint64_t ino, const char *repo_id);

static int open_version(struct seafs *fs, const char *repo_id, const char *file_id, uint64_t size,
                        const char *path, const char *lib_path, struct open_file **out);

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
    char path[512];
    node_path(fs, ino, path, sizeof(path));
    char *lib_path = fs->range_links ? range_library_path(fs, ino) : NULL;
    rc = open_version(fs, info.repo_id, info.obj_id, (uint64_t)info.size, path, lib_path, out);
    free(lib_path);
    if (rc == 0 && (flags & O_DIRECT)) /* its reads are the reader's own: never held */
        range_hold_disable(&(*out)->ranges.hold);
    if (rc == 0)
        queue_scan_ahead(fs, ino, info.repo_id);
    return rc;
}

int file_open_version(struct seafs *fs, const char *repo_id, const char *file_id, uint64_t size,
                      const char *path, struct open_file **out)
{
    return open_version(fs, repo_id, file_id, size, path, NULL, out);
}

/* Opens version file_id; lib_path: the file's path in its library, for byte-range reads (NULL:
 * none). On a far link the requests the open and a first small read need -- the file object,
 * the block map of a multi-block file, the download link of a range -- go out together. */
static int open_version(struct seafs *fs, const char *repo_id, const char *file_id, uint64_t size,
                        const char *path, const char *lib_path, struct open_file **out)
{
    *out = NULL;
    bool encrypted = false;
    struct seaf_crypt_key key;
    int rc = library_key(fs, repo_id, &encrypted, &key);
    if (rc)
        return rc;
    struct open_file *h = calloc(1, sizeof(*h));
    if (!h) {
        seaf_crypt_key_wipe(&key);
        return -ENOMEM;
    }
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->save_lock, NULL);
    h->cache = fs->cache;
    h->saved_at_ns = seaf_monotonic_ns();
    range_state_init(&h->ranges, encrypted ? NULL : lib_path);
    readahead_init(&h->ra, fs->opts->readahead);
    snprintf(h->path, sizeof(h->path), "%s", path);
    snprintf(h->repo_id, sizeof(h->repo_id), "%s", repo_id);
    snprintf(h->file_id, sizeof(h->file_id), "%s", file_id);
    h->size = size;
    h->encrypted = encrypted;
    if (h->size == 0) {
        seaf_crypt_key_wipe(&key);
        *out = h;
        return 0;
    }
    range_link_ahead(fs, &h->ranges, repo_id, file_id, size);
    struct block_map_ahead block_map;
    block_map_ahead_start(&block_map, fs, repo_id, file_id, size);
    struct tree_obj *obj = NULL;
    rc = tree_get(fs->tree, repo_id, file_id, SEAF_FSOBJ_FILE, &obj);
    if (rc)
        goto fail;
    const struct seaf_file *file = &tree_obj_fsobj(obj)->file;
    if ((uint64_t)file->size != h->size || file->n_blocks == 0) {
        log_msg(LOG_ERR, "open of '%s': file object %s: size differs from the directory's", h->path,
                file_id);
        rc = -EIO;
        tree_obj_unref(fs->tree, obj);
        goto fail;
    }
    h->n_blocks = file->n_blocks;
    h->block_ids = malloc(h->n_blocks * sizeof(*h->block_ids));
    if (!h->block_ids) {
        tree_obj_unref(fs->tree, obj);
        rc = -ENOMEM;
        goto fail;
    }
    memcpy(h->block_ids, file->block_ids, h->n_blocks * sizeof(*h->block_ids));
    const uint64_t *known = tree_obj_offsets(obj);
    block_map_ahead_wait(&block_map); /* compute_layout finds it in the cache */
    rc = compute_layout(fs, h, known, encrypted ? &key : NULL);
    if (rc == 0 && !known && h->layout.offsets && !h->layout.n_hints && h->n_blocks > 1) {
        /* Kept with the file object: later opens need neither block map nor padding (hints are
         * not: they are confirmed block by block). */
        uint64_t *copy = malloc((h->n_blocks + 1) * sizeof(*copy));
        if (copy) {
            memcpy(copy, h->layout.offsets, (h->n_blocks + 1) * sizeof(*copy));
            tree_obj_set_offsets(obj, copy);
        }
    }
    tree_obj_unref(fs->tree, obj);
    if (rc)
        goto fail;
    seaf_crypt_key_wipe(&key);
    save_lengths(h, false);
    *out = h;
    return 0;
fail:
    block_map_ahead_wait(&block_map);
    seaf_crypt_key_wipe(&key);
    file_close(h);
    return rc;
}

/* Queues for the pool at most limit of the files of d at listing positions [from, to) that a
 * directory scan fetches ahead on this link (small enough, not empty). */
static void queue_small_files(struct seafs *fs, const char *repo_id, const struct seaf_dir *d,
                              size_t from, size_t to, size_t limit)
{
    struct link_figures link;
    http_pool_link(fs->pool, &link);
    uint64_t max_size = scan_max_file_size(&link); /* small files only on a slow link */
    for (size_t i = from; i < to && limit > 0; i++) {
        const struct seaf_dirent *next = &d->entries[i];
        if (!seaf_dirent_is_dir(next) && next->size > 0 && (uint64_t)next->size <= max_size) {
            prefetch_pool_submit(fs->prefetch, PREFETCH_FILE, repo_id, next->id);
            limit--;
        }
    }
}

/* PREFETCH_FOLDER: the folder's file objects come in bulk with its first file's (tree.c fetches
 * a file object missing from the cache with its siblings), then its first small files are
 * queued; their jobs find their objects in the cache and go straight to their blocks. */
static void prefetch_folder(struct seafs *fs, const char *repo_id, const char *dir_id)
{
    struct tree_obj *dir = NULL;
    if (tree_get(fs->tree, repo_id, dir_id, SEAF_FSOBJ_DIR, &dir) != 0)
        return;
    const struct seaf_dir *d = &tree_obj_fsobj(dir)->dir;
    for (size_t i = 0; i < d->n_entries; i++) {
        if (!seaf_dirent_is_dir(&d->entries[i]) && strcmp(d->entries[i].id, SEAF_EMPTY_ID) != 0) {
            struct tree_obj *file = NULL;
            tree_get(fs->tree, repo_id, d->entries[i].id, SEAF_FSOBJ_FILE, &file);
            tree_obj_unref(fs->tree, file);
            break;
        }
    }
    queue_small_files(fs, repo_id, d, 0, d->n_entries, SCAN_NEXT_FOLDER_FILES);
    tree_obj_unref(fs->tree, dir);
}

void file_prefetch(void *ctx, enum prefetch_kind kind, const char *repo_id, const char *id)
{
    struct seafs *fs = ctx;
    struct cache_handle *ch = NULL;
    if (kind == PREFETCH_BLOCK) {
        if (fetch_block(fs->cache, fs->client, repo_id, id, &ch, NULL) == 0)
            cache_close(ch);
        return;
    }
    if (kind == PREFETCH_DISK) {
        if (cache_open(fs->cache, CACHE_KIND_BLOCK, id, &ch) == SEAF_OK) {
            cache_preload(ch);
            cache_close(ch);
        }
        return;
    }
    struct tree_obj *obj = NULL;
    if (kind == PREFETCH_FOLDER) {
        prefetch_folder(fs, repo_id, id);
        return;
    }
    if (tree_get(fs->tree, repo_id, id, SEAF_FSOBJ_FILE, &obj) != 0)
        return;
    const struct seaf_file *file = &tree_obj_fsobj(obj)->file;
    size_t n = file->n_blocks <= 2 ? file->n_blocks : 1;
    for (size_t i = 0; i < n; i++)
        if (fetch_block(fs->cache, fs->client, repo_id, file->block_ids[i], &ch, NULL) == 0)
            cache_close(ch);
    tree_obj_unref(fs->tree, obj);
}

/* Whether d lists a folder at position from or after it (a scan goes down into it first). */
static bool folder_after(const struct seaf_dir *d, size_t from)
{
    for (size_t i = from; i < d->n_entries; i++)
        if (seaf_dirent_is_dir(&d->entries[i]))
            return true;
    return false;
}

/* On a far link, queues the folder listed after folder dir_ino in its parent (readahead.h,
 * SCAN_NEXT_FOLDER_FILES): a scan reaching the end of a folder goes on there. */
static void queue_next_folder(struct seafs *fs, uint64_t dir_ino, const char *repo_id)
{
    struct link_figures link;
    http_pool_link(fs->pool, &link);
    uint64_t grandparent = 0;
    char *name = NULL;
    if (link.rtt_s < SCAN_NEXT_FOLDER_MIN_RTT_S ||
        !inode_table_get(fs->inodes, dir_ino, NULL, &grandparent, &name))
        return;
    struct inode_info info;
    struct tree_obj *parent = NULL;
    if (node_dir_object(fs, grandparent, &info, &parent) == 0 &&
        strcmp(info.repo_id, repo_id) == 0) {
        const struct seaf_dir *d = &tree_obj_fsobj(parent)->dir;
        const struct seaf_dirent *e = seaf_dir_lookup(d, name, strlen(name));
        for (size_t i = e ? (size_t)(e - d->entries) + 1 : d->n_entries; i < d->n_entries; i++) {
            if (seaf_dirent_is_dir(&d->entries[i])) {
                prefetch_pool_submit_first(fs->prefetch, PREFETCH_FOLDER, repo_id,
                                           d->entries[i].id);
                break;
            }
        }
    }
    tree_obj_unref(fs->tree, parent);
    free(name);
}

/* Feeds the directory scan detector with this open and queues the next files of the folder (and
 * of the next folder, see queue_next_folder). */
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
            size_t index = (size_t)(e - d->entries), from, to;
            pthread_mutex_lock(&fs->scan_lock);
            scan_on_open(&fs->scan, parent, index, d->n_entries, &from, &to);
            pthread_mutex_unlock(&fs->scan_lock);
            queue_small_files(fs, repo_id, d, from, to, SIZE_MAX);
            if (from < to && to == d->n_entries && !folder_after(d, index + 1))
                queue_next_folder(fs, parent, repo_id);
        }
        tree_obj_unref(fs->tree, dir);
    }
    free(name);
}

/* Queues the blocks starting in [start, end) (the window's new part) that the current read,
 * which ends at read_end, does not reach; a block starting before start was queued when the
 * window first covered its start (else every read moving the window's edge through a block
 * queued it again). Positions of encrypted blocks whose lengths are not known yet are
 * estimates. */
static void queue_readahead(struct seafs *fs, struct open_file *h, uint64_t start, uint64_t end,
                            uint64_t read_end)
{
    if (!fs->prefetch || start >= end)
        return;
    layout_lock(h);
    size_t from = file_layout_approx_index(&h->layout, start), to = from;
    while (to < h->n_blocks && file_layout_approx_start(&h->layout, to) < end)
        to++;
    uint64_t skip_before = read_end > start ? read_end : start;
    while (from < to && file_layout_approx_start(&h->layout, from) < skip_before)
        from++; /* the reader fetches these itself, or they were queued before */
    layout_unlock(h);
    for (size_t i = from; i < to; i++)
        prefetch_pool_submit(fs->prefetch, PREFETCH_BLOCK, h->repo_id, h->block_ids[i]);
}

/* A sequential reader's cached blocks are read from the disk this far ahead of it, each by a
 * pool thread: a warm read then has two or three block files streaming from the disk at once
 * while it reads the one before from memory (one block file after the other, as the reader goes,
 * the disk delivered about 0.6x of what it does for one large file on the test machine; asking
 * the kernel with posix_fadvise(WILLNEED) instead did not help). */
#define DISK_AHEAD (24u << 20)

/* Queues for the pool the cached blocks of [read_end, read_end + DISK_AHEAD) not asked for
 * yet, for a sequential reader: each block once, in order, while the reader moves forward (its
 * concurrent reads arrive slightly out of order); a seek starts over. */
static void queue_disk_ahead(struct seafs *fs, struct open_file *h, uint64_t read_end)
{
    if (!fs->prefetch || read_end >= h->size)
        return;
    uint64_t to = read_end + DISK_AHEAD < h->size ? read_end + DISK_AHEAD : h->size;
    layout_lock(h);
    size_t first = file_layout_approx_index(&h->layout, read_end), last = first;
    while (last < h->n_blocks && file_layout_approx_start(&h->layout, last) < to)
        last++;
    layout_unlock(h);
    pthread_mutex_lock(&h->lock);
    bool continues = first >= h->disk_first && first <= h->disk_next;
    size_t from = continues ? h->disk_next : first;
    if (!continues)
        h->disk_first = first;
    if (last > from)
        h->disk_next = last;
    pthread_mutex_unlock(&h->lock);
    for (size_t i = from; i < last; i++)
        prefetch_pool_submit(fs->prefetch, PREFETCH_DISK, h->repo_id, h->block_ids[i]);
}

/* The kernel retries a failed page read at once. That retry gets the same error without
 * another wait for the server (and without a second log line); a read a second later tries
 * again. */
#define FAILURE_ECHO_NS 1000000000LL

static int recent_failure(struct open_file *h, size_t index)
{
    pthread_mutex_lock(&h->lock);
    bool recent =
        h->failed_block == index + 1 && seaf_monotonic_ns() - h->failed_at_ns < FAILURE_ECHO_NS;
    int rc = recent ? h->failed_rc : 0;
    pthread_mutex_unlock(&h->lock);
    return rc;
}

static void note_failure(struct open_file *h, size_t index, int rc)
{
    pthread_mutex_lock(&h->lock);
    h->failed_block = index + 1;
    h->failed_at_ns = seaf_monotonic_ns();
    h->failed_rc = rc;
    pthread_mutex_unlock(&h->lock);
}

/* Downloads block index into memory, verified, for a block the cache cannot take (larger than
 * cache_size, or no room); the handle keeps it while the reader moves through it. */
static int load_uncached(struct seafs *fs, struct open_file *h, size_t index, seaf_err *cause)
{
    char *data = NULL;
    size_t n = 0;
    int rc = fetch_block_to_memory(fs->client, h->repo_id, h->block_ids[index], &data, &n, cause);
    if (rc)
        return rc;
    pthread_mutex_lock(&h->lock);
    bool fits = n == h->layout.stored[index];
    if (fits) {
        free(h->mem_block);
        h->mem_block = data;
        h->mem_len = n;
        h->mem_index = index + 1;
        h->ra.max_window = 0; /* blocks fetched ahead would not fit in the cache either */
    }
    pthread_mutex_unlock(&h->lock);
    if (!fits) {
        free(data);
        *cause = SEAF_ERR_MALFORMED;
        return -EIO;
    }
    return 0;
}

/* The hints turned out wrong: drops them all (the reads placed by them start over, the record
 * is removed). The layout lock is held. */
static void drop_wrong_hints_locked(struct open_file *h)
{
    file_layout_drop_hints(&h->layout);
    h->hint_drops++;
    h->hints_wrong = true;
}

/* Learns the plaintext length of encrypted block index from src unless known, or confirms it
 * when it is a hint; the open file's lock is held. -ESTALE: a hint was wrong (this block's, or
 * others that do not add up with its length), every hint is dropped and the read must start
 * over. */
static int learn_length_locked(struct open_file *h, size_t index, const struct block_source *src,
                               const struct seaf_crypt_key *key)
{
    if (h->layout.plain[index] && !h->layout.hint[index])
        return 0;
    uint64_t plain = 0;
    int rc = learn_plain_length(src, key, &plain);
    if (rc)
        return rc;
    bool learned = !h->layout.plain[index], stale = false;
    rc = file_layout_confirm(&h->layout, index, plain);
    if (rc == -ESTALE) {
        drop_wrong_hints_locked(h);
        stale = learned = true;
        rc = file_layout_confirm(&h->layout, index, plain);
    }
    if (rc == 0 && learned) {
        h->unsaved++;
        rc = file_layout_check(&h->layout);
        if (rc == -EIO && h->layout.n_hints) { /* the hints do not add up with it */
            drop_wrong_hints_locked(h);
            stale = true;
            rc = file_layout_check(&h->layout);
        }
    }
    return rc == 0 && stale ? -ESTALE : rc;
}

/* Copies plaintext [pos, end) of the file, as far as it lies in block index (which starts at
 * start), from src; *next is where the copy stopped. holds_lock: src is the memory block. */
static int copy_from_block(struct open_file *h, size_t index, uint64_t start,
                           const struct block_source *src, const struct seaf_crypt_key *key,
                           uint64_t pos, uint64_t end, char *dst, uint64_t *next, bool holds_lock)
{
    if (!holds_lock)
        layout_lock(h);
    int rc = key ? learn_length_locked(h, index, src, key) : 0;
    uint64_t len = h->layout.plain[index];
    if (!holds_lock)
        layout_unlock(h);
    if (rc)
        return rc;
    uint64_t stop = start + len < end ? start + len : end;
    *next = stop;
    return copy_plain(src, key, pos - start, stop - start, dst);
}

/* The same from the block kept in memory, if it is block index; false otherwise. */
static bool copy_from_memory(struct open_file *h, size_t index, uint64_t start,
                             const struct seaf_crypt_key *key, uint64_t pos, uint64_t end,
                             char *dst, uint64_t *next, int *rc)
{
    pthread_mutex_lock(&h->lock);
    bool have = h->mem_index == index + 1;
    if (have) {
        struct block_source src = {.mem = h->mem_block, .size = h->mem_len};
        *rc = copy_from_block(h, index, start, &src, key, pos, end, dst, next, true);
    }
    pthread_mutex_unlock(&h->lock);
    return have;
}

/* What a whole read asks for, as the choice between a byte range and a block needs it. */
struct read_intent {
    uint64_t len;    /* bytes of the read */
    bool sequential; /* it continues the previous read */
};

/* Serves what the read wants of block index of a plain file from a byte range when range_read
 * says so (RANGE_NOT_SERVED: read the block). */
static enum range_outcome copy_from_range(struct seafs *fs, struct open_file *h, size_t index,
                                          uint64_t start, const struct read_intent *intent,
                                          uint64_t pos, uint64_t end, char *dst, uint64_t *next)
{
    uint64_t size = h->layout.plain[index]; /* fixed at open for a plain file */
    struct range_read_args args = {.log_path = h->path,
                                   .repo_id = h->repo_id,
                                   .file_id = h->file_id,
                                   .file_size = h->size,
                                   .block_id = h->block_ids[index],
                                   .block_index = index,
                                   .block_start = start,
                                   .block_size = size,
                                   .pos = pos,
                                   .stop = start + size < end ? start + size : end,
                                   .read_len = intent->len,
                                   .sequential = intent->sequential};
    enum range_outcome outcome = range_read(fs, &h->ranges, &args, dst);
    if (outcome == RANGE_SERVED)
        *next = args.stop;
    return outcome;
}

/* Opens block index (cache, else download; in memory when the cache cannot take it) and copies
 * what the read wants of it. intent: the read as a whole, NULL when it may not be served by a
 * byte range. */
static int read_block(struct seafs *fs, struct open_file *h, size_t index, uint64_t start,
                      const struct seaf_crypt_key *key, const struct read_intent *intent,
                      uint64_t pos, uint64_t end, char *dst, uint64_t *next)
{
    int rc = recent_failure(h, index);
    if (rc)
        return rc;
    if (copy_from_memory(h, index, start, key, pos, end, dst, next, &rc))
        return rc;
    struct held_block *hb = held_get(h, index);
    if (hb) {
        struct block_source src = {.ch = hb->ch, .size = cache_handle_size(hb->ch)};
        rc = copy_from_block(h, index, start, &src, key, pos, end, dst, next, false);
        held_put(h, hb, rc != 0 && rc != -ESTALE);
        if (rc == 0 || rc == -ESTALE)
            return rc;
        /* else open it again below: the cache drops a damaged block and fetches it anew */
    }
    enum range_outcome ranged =
        !key && intent ? copy_from_range(fs, h, index, start, intent, pos, end, dst, next)
                       : RANGE_NOT_SERVED;
    if (ranged != RANGE_NOT_SERVED)
        return ranged == RANGE_SERVED ? 0 : -ECANCELED;
    struct cache_handle *ch = NULL;
    seaf_err cause = SEAF_OK;
    rc = fetch_block(fs->cache, fs->client, h->repo_id, h->block_ids[index], &ch, &cause);
    if (rc && cause == SEAF_ERR_NOSPACE) {
        /* Another reader may put another block in memory between the load and the copy. */
        for (int tries = 0; tries < 3; tries++) {
            if ((rc = load_uncached(fs, h, index, &cause)) != 0)
                break;
            if (copy_from_memory(h, index, start, key, pos, end, dst, next, &rc))
                return rc;
            rc = -EIO;
        }
    }
    if (rc) {
        note_failure(h, index, rc);
        log_msg(LOG_ERR, "read of '%s' at %llu: block %s: %s", h->path, (unsigned long long)pos,
                h->block_ids[index], seaf_strerror(cause));
        return rc;
    }
    struct block_source src = {.ch = ch, .size = cache_handle_size(ch)};
    layout_lock(h);
    bool size_ok = src.size == h->layout.stored[index];
    layout_unlock(h);
    hb = size_ok ? held_set(h, index, ch) : NULL;
    if (!size_ok)
        cache_close(ch);
    rc = hb ? copy_from_block(h, index, start, &src, key, pos, end, dst, next, false) : -EIO;
    if (hb)
        held_put(h, hb, rc != 0 && rc != -ESTALE);
    if (!size_ok) /* a block map that lies is not kept */
        cache_remove(fs->cache, CACHE_KIND_BLOCK_MAP, h->file_id);
    if (rc && rc != -ESTALE)
        log_msg(LOG_ERR, "read of '%s': cached block %s: %s", h->path, h->block_ids[index],
                size_ok ? "unreadable or does not decrypt" : "size differs from the block map");
    return rc;
}

static bool length_known(struct open_file *h, size_t i)
{
    layout_lock(h);
    bool known = h->layout.plain[i] != 0;
    layout_unlock(h);
    return known;
}

/* Learns the plaintext lengths of those of blocks [from, to) whose lengths are not known (hints
 * count as known): fetched in parallel by the read-ahead pool, then taken in order (each fetch
 * joins the download already under way); then keeps them in the cache. */
static int learn_lengths(struct seafs *fs, struct open_file *h, const struct seaf_crypt_key *key,
                         size_t from, size_t to)
{
    for (size_t i = from; fs->prefetch && i < to; i++)
        if (!length_known(h, i))
            prefetch_pool_submit(fs->prefetch, PREFETCH_BLOCK, h->repo_id, h->block_ids[i]);
    int rc = 0;
    for (size_t i = from; i < to && rc == 0; i++) {
        char byte;
        uint64_t next;
        /* Reading a block's first byte opens it, which learns its length. */
        if (!length_known(h, i))
            rc = read_block(fs, h, i, 0, key, NULL, 0, 1, &byte, &next);
    }
    save_lengths(h, true); /* they cost downloads */
    return rc;
}

/* The block holding plaintext byte pos and its start, learning lengths first when needed. */
static int locate(struct seafs *fs, struct open_file *h, const struct seaf_crypt_key *key,
                  uint64_t pos, size_t *index, uint64_t *start)
{
    for (size_t rounds = 0; rounds <= h->n_blocks; rounds++) {
        size_t from, to;
        uint64_t known;
        layout_lock(h);
        bool found = file_layout_locate(&h->layout, pos, index, start, &known, &from, &to);
        bool stale = !found && from >= to && h->layout.n_hints;
        if (stale) /* the lengths do not add up: hints are among them */
            drop_wrong_hints_locked(h);
        layout_unlock(h);
        if (found)
            return 0;
        if (stale)
            return -ESTALE;
        if (from >= to || !key)
            break;
        int rc = learn_lengths(fs, h, key, from, to);
        if (rc)
            return rc;
    }
    log_msg(LOG_ERR, "read of '%s': the blocks' plaintext lengths do not add up", h->path);
    return -EIO;
}

/* Reads plaintext [off, end) into buf. -ESTALE when hints were found wrong meanwhile (by this
 * read or another): the bytes may have been placed by them, the read is to start over. */
static int read_span(struct seafs *fs, struct open_file *h, const struct seaf_crypt_key *key,
                     const struct read_intent *intent, uint64_t off, uint64_t end, char *buf)
{
    layout_lock(h);
    uint64_t drops = h->hint_drops;
    layout_unlock(h);
    int rc = 0;
    for (uint64_t pos = off; pos < end && rc == 0;) {
        size_t index;
        uint64_t start;
        rc = locate(fs, h, key, pos, &index, &start);
        if (rc == 0)
            rc = read_block(fs, h, index, start, key, intent, pos, end, buf + (pos - off), &pos);
    }
    layout_lock(h);
    if (rc == 0 && h->hint_drops != drops)
        rc = -ESTALE;
    layout_unlock(h);
    return rc;
}

/* After hints were found wrong: removes the cache's record of the lengths (once), so that the
 * lengths confirmed since replace it. */
static void forget_kept_lengths(struct open_file *h)
{
    uint64_t *known = calloc(h->n_blocks ? h->n_blocks : 1, sizeof(*known));
    layout_lock(h);
    bool wrong = h->hints_wrong;
    h->hints_wrong = false;
    if (known) {
        file_layout_confirmed(&h->layout, known);
        h->unsaved = 0;
        for (size_t i = 0; i < h->n_blocks; i++)
            h->unsaved += known[i] != 0;
    }
    layout_unlock(h);
    free(known);
    if (!wrong)
        return;
    log_msg(LOG_WARNING, "read of '%s': a plaintext length kept for it was wrong: all dropped",
            h->path);
    plain_lengths_forget(h->cache, h->file_id);
}

/* Keeps the plaintext lengths learned so far in the cache when that is due: urgent (they cost
 * downloads, or the file is being closed), when the file's offsets are complete, or after
 * SAVE_BATCH lengths or SAVE_INTERVAL_NS. Outside the layout lock (sqlite transactions), one
 * save at a time. */
static void save_lengths(struct open_file *h, bool urgent)
{
    if (!h->encrypted || !h->cache || h->n_blocks < 2)
        return;
    layout_lock(h);
    bool due = h->unsaved && (urgent || h->layout.offsets || h->unsaved >= SAVE_BATCH ||
                              seaf_monotonic_ns() - h->saved_at_ns >= SAVE_INTERVAL_NS);
    layout_unlock(h);
    if (!due)
        return;
    uint64_t *known = malloc(h->n_blocks * sizeof(*known));
    if (!known)
        return;
    pthread_mutex_lock(&h->save_lock);
    layout_lock(h);
    due = h->unsaved > 0;
    h->unsaved = 0;
    h->saved_at_ns = seaf_monotonic_ns();
    file_layout_confirmed(&h->layout, known);
    layout_unlock(h);
    if (due)
        plain_lengths_save(h->cache, h->file_id, known, h->n_blocks);
    pthread_mutex_unlock(&h->save_lock);
    free(known);
}

static ssize_t read_at(struct seafs *fs, struct open_file *h, char *buf, size_t size, uint64_t off,
                       bool readahead)
{
    if (off >= h->size || size == 0)
        return 0;
    struct seaf_crypt_key key, *k = NULL;
    if (h->encrypted) {
        if (!library_keys_get(fs->keys, h->repo_id, &key)) {
            log_msg(LOG_DEBUG, "read of '%s': the library was locked (EACCES)", h->path);
            return -EACCES;
        }
        k = &key;
    }
    uint64_t end = off + size < h->size ? off + size : h->size;
    struct read_intent intent = {.len = end - off};
    if (readahead) {
        uint64_t ra_start, ra_end;
        struct link_figures link;
        http_pool_link(fs->pool, &link);
        uint64_t link_window = readahead_link_window(&link);
        pthread_mutex_lock(&h->lock);
        readahead_on_read(&h->ra, off, (size_t)(end - off), h->size, link_window, &ra_start,
                          &ra_end);
        intent.sequential = h->ra.sequential;
        pthread_mutex_unlock(&h->lock);
        queue_readahead(fs, h, ra_start, ra_end, end);
        if (intent.sequential)
            queue_disk_ahead(fs, h, end);
    }

    int rc = -ESTALE;
    for (int attempt = 0; rc == -ESTALE && attempt < 3; attempt++) {
        if (attempt)
            forget_kept_lengths(h);
        rc = read_span(fs, h, k, readahead ? &intent : NULL, off, end, buf);
    }
    if (k)
        seaf_crypt_key_wipe(k);
    save_lengths(h, false);
    return rc == -ESTALE ? -EIO : rc ? rc : (ssize_t)(end - off);
}

void file_flushed(struct open_file *h)
{
    if (h)
        range_state_flushed(&h->ranges);
}

ssize_t file_read(struct seafs *fs, struct open_file *h, char *buf, size_t size, uint64_t off)
{
    return read_at(fs, h, buf, size, off, true);
}

ssize_t file_read_exact(struct seafs *fs, struct open_file *h, char *buf, size_t size, uint64_t off)
{
    return read_at(fs, h, buf, size, off, false);
}

size_t file_block_count(const struct open_file *h)
{
    return h->n_blocks;
}

const char *file_block_id(const struct open_file *h, size_t i)
{
    return h->block_ids[i];
}

int file_block_offsets(struct seafs *fs, struct open_file *h, uint64_t **out)
{
    *out = calloc(h->n_blocks + 1, sizeof(**out));
    if (!*out)
        return -ENOMEM;
    if (h->n_blocks == 0)
        return 0;
    int rc = 0;
    if (h->encrypted) {
        struct seaf_crypt_key key;
        if (!library_keys_get(fs->keys, h->repo_id, &key))
            rc = -EACCES;
        if (rc == 0) {
            layout_lock(h);
            bool known = h->layout.offsets != NULL;
            layout_unlock(h);
            if (!known)
                rc = learn_lengths(fs, h, &key, 0, h->n_blocks);
            seaf_crypt_key_wipe(&key);
        }
    }
    layout_lock(h);
    if (rc == 0 && !h->layout.offsets)
        rc = -EIO;
    if (rc == 0)
        memcpy(*out, h->layout.offsets, (h->n_blocks + 1) * sizeof(**out));
    layout_unlock(h);
    if (rc) {
        free(*out);
        *out = NULL;
    }
    return rc;
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
