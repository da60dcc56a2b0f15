/* fold: staged content into blocks (see fold.h).
 *
 * Plan: with the base's block offsets, base block i is reused when it lies wholly within the
 * base bytes still in the content (below base_limit) and no extent overlaps it. Walking the
 * content from offset 0, reused blocks are emitted as they are; each run of other blocks (and
 * the tail past the last reused one) is a span whose bytes are read through the staged file
 * (extents, base, zeros) into a SEAF_CDC_MAX_SIZE buffer and cut by the chunker. The staged
 * file's data lock is held exclusively throughout, so the content cannot change under the fold.
 * The base's offsets of an encrypted library come from the plaintext lengths the cache kept for
 * it when they are complete (else every base block it lacks is fetched to learn its length); the
 * result's lengths, all known here, are kept for it in turn (plain_lengths.h). */
#include "fold.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "dirty_int.h"
#include "log.h"
#include "plain_lengths.h"
#include "seaf_cdc.h"
#include "seaf_crypt.h"
#include "seaf_objwrite.h"
#include "seaf_sha1.h"
#include "seafs.h"

/* The blocks of the result: ids, stored sizes (its block map) and plaintext lengths. */
struct block_list {
    char (*ids)[SEAF_ID_LEN + 1];
    int64_t *sizes;
    uint64_t *plain;
    size_t n, cap;
};

static int list_add(struct block_list *l, const char *id, uint64_t stored_size, uint64_t plain)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        void *more = realloc(l->ids, cap * sizeof(*l->ids));
        if (!more)
            return -ENOMEM;
        l->ids = more;
        if (!(more = realloc(l->sizes, cap * sizeof(*l->sizes))))
            return -ENOMEM;
        l->sizes = more;
        if (!(more = realloc(l->plain, cap * sizeof(*l->plain))))
            return -ENOMEM;
        l->plain = more;
        l->cap = cap;
    }
    l->sizes[l->n] = (int64_t)stored_size;
    l->plain[l->n] = plain;
    memcpy(l->ids[l->n++], id, SEAF_ID_LEN + 1);
    return 0;
}

struct fold {
    struct seafs *fs;
    struct dirty_file *d;
    const struct seaf_crypt_key *key; /* NULL for plain libraries */
    struct block_list blocks;
    unsigned char *buf; /* SEAF_CDC_MAX_SIZE bytes */
    struct fold_result *out;
};

/* Stores one chunk as a block (encrypted first when the library is) and lists it. */
static int emit_chunk(struct fold *f, const unsigned char *chunk, size_t len)
{
    uint8_t *cipher = NULL;
    size_t stored_len = len;
    const void *stored = chunk;
    if (f->key) {
        if (seaf_crypt_encrypt_block(f->key, chunk, len, &cipher, &stored_len) != SEAF_OK)
            return -ENOMEM;
        stored = cipher;
    }
    char id[SEAF_ID_LEN + 1];
    if (seaf_sha1_id(stored, stored_len, id) != SEAF_OK) {
        free(cipher);
        return -ENOMEM;
    }
    seaf_err err = cache_put_pinned(f->fs->cache, CACHE_KIND_BLOCK, id, stored, stored_len);
    free(cipher);
    if (err != SEAF_OK) {
        log_msg(LOG_ERR, "staged file %llu: cannot keep a block of it in the cache: %s",
                (unsigned long long)f->d->id, seaf_strerror(err));
        return -seaf_err_to_errno(err);
    }
    f->out->new_blocks++;
    f->out->new_bytes += len;
    return list_add(&f->blocks, id, stored_len, len);
}

/* Cuts content bytes [from, to) into chunks. */
static int chunk_span(struct fold *f, uint64_t from, uint64_t to)
{
    size_t filled = 0;
    uint64_t pos = from;
    int rc = 0;
    while (rc == 0 && (pos < to || filled > 0)) {
        size_t want = SEAF_CDC_MAX_SIZE - filled;
        if (want > to - pos)
            want = (size_t)(to - pos);
        if (want > 0) {
            ssize_t n =
                dirty_read_locked(f->fs->dirty, f->d, (char *)f->buf + filled, want, pos, false);
            if (n < 0)
                return (int)n;
            if ((size_t)n != want)
                return -EIO;
            filled += want;
            pos += want;
        }
        size_t len = seaf_cdc_chunk_length(f->buf, filled);
        rc = emit_chunk(f, f->buf, len);
        memmove(f->buf, f->buf + len, filled - len);
        filled -= len;
    }
    return rc;
}

/* Whether no extent overlaps [a, b). */
static bool untouched(const struct extents *x, uint64_t a, uint64_t b)
{
    for (size_t i = 0; i < x->n; i++)
        if (x->v[2 * i] < b && x->v[2 * i + 1] > a)
            return false;
    return true;
}

/* The offsets of the base's blocks (NULL and 0 blocks without a base). */
static int base_blocks(struct fold *f, uint64_t **offsets, size_t *n, struct open_file **h)
{
    *offsets = NULL;
    *n = 0;
    *h = NULL;
    struct dirty_file *d = f->d;
    if (strcmp(d->base, SEAF_EMPTY_ID) == 0 || d->base_limit == 0)
        return 0;
    int rc = file_open_version(f->fs, d->repo, d->base, d->base_size, "base of a staged file", h);
    if (rc == 0)
        rc = file_block_offsets(f->fs, *h, offsets);
    if (rc == 0)
        *n = file_block_count(*h);
    return rc;
}

/* Emits the content: reused base blocks and chunked spans. */
static int plan_and_emit(struct fold *f, uint64_t size)
{
    uint64_t *off = NULL;
    size_t nb = 0;
    struct open_file *base = NULL;
    int rc = base_blocks(f, &off, &nb, &base);
    const struct dirty_file *d = f->d;
#define REUSABLE(i) (off[(i) + 1] <= d->base_limit && untouched(&d->ext, off[i], off[(i) + 1]))
    uint64_t pos = 0;
    size_t i = 0;
    while (rc == 0 && pos < size) {
        if (i < nb && off[i] == pos && REUSABLE(i)) {
            uint64_t plain = off[i + 1] - off[i];
            rc = list_add(&f->blocks, file_block_id(base, i),
                          f->key ? seaf_crypt_cipher_size(plain) : plain, plain);
            pos = off[++i];
            continue;
        }
        size_t j = i;
        while (j < nb && (off[j] <= pos || !REUSABLE(j)))
            j++;
        uint64_t end = j < nb ? off[j] : size;
        rc = chunk_span(f, pos, end);
        pos = end;
        i = j;
    }
#undef REUSABLE
    free(off);
    file_close(base);
    return rc;
}

static int library_key_of(struct seafs *fs, const char *repo, bool *encrypted,
                          struct seaf_crypt_key *key)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo);
    *encrypted = lib && lib->encrypted;
    pthread_rwlock_unlock(&fs->libs_lock);
    if (*encrypted && !library_keys_get(fs->keys, repo, key))
        return -EACCES;
    return 0;
}

/* Whether d's content is all of its base and nothing else (meta_lock or the data lock held). */
static bool content_is_base(const struct dirty_file *d)
{
    return d->ext.n == 0 && d->base_limit == d->size && d->base_size == d->size;
}

/* A staged file whose content is still all of its base (opened for writing, nothing changed)
 * folds to the base, without the data lock: a reader of it waiting on the network holds no upload
 * up. Its base reader stays (the base is the same). false for any other file. */
static bool fold_unchanged(struct dirty_file *d, struct fold_result *out)
{
    pthread_mutex_lock(&d->meta_lock);
    bool unchanged = d->size > 0 && content_is_base(d);
    if (unchanged) {
        out->size = d->size;
        out->mtime = d->mtime;
        out->version = d->version;
        memcpy(out->file_id, d->base, sizeof(out->file_id));
        memcpy(d->prev, d->base, sizeof(d->prev));
        dirty_mark_changed_locked(d);
        d->changed_since = 0;
    }
    pthread_mutex_unlock(&d->meta_lock);
    return unchanged;
}

int fold_staged(struct seafs *fs, struct dirty_file *d, struct fold_result *out)
{
    memset(out, 0, sizeof(*out));
    if (fold_unchanged(d, out))
        return 0;
    struct seaf_crypt_key key;
    bool encrypted = false;
    int rc = library_key_of(fs, d->repo, &encrypted, &key);
    if (rc)
        return rc;
    struct fold f = {.fs = fs, .d = d, .key = encrypted ? &key : NULL, .out = out};
    pthread_rwlock_wrlock(&d->data_lock);
    /* Under the exclusive data lock only this thread changes the content; mtime (utime) and the
     * version may still change, under meta_lock. */
    pthread_mutex_lock(&d->meta_lock);
    uint64_t size = d->size;
    out->size = size;
    out->mtime = d->mtime;
    out->version = d->version;
    pthread_mutex_unlock(&d->meta_lock);
    if (size == 0) {
        memcpy(out->file_id, SEAF_EMPTY_ID, sizeof(out->file_id));
    } else if (content_is_base(d)) { /* became so while waiting for the lock */
        memcpy(out->file_id, d->base, sizeof(out->file_id));
    } else if (!(f.buf = malloc(SEAF_CDC_MAX_SIZE))) {
        rc = -ENOMEM;
    } else {
        rc = plan_and_emit(&f, size);
        char *json = NULL;
        size_t len = 0;
        if (rc == 0 && seaf_file_to_json((const char(*)[SEAF_ID_LEN + 1]) f.blocks.ids, f.blocks.n,
                                         (int64_t)size, &json, &len, out->file_id) != SEAF_OK)
            rc = -EIO;
        if (rc == 0 && json) {
            seaf_err err = cache_put_pinned(fs->cache, CACHE_KIND_FS, out->file_id, json, len);
            rc = err == SEAF_OK ? 0 : -seaf_err_to_errno(err);
        }
        /* Until the upload only this cache knows the block map (the server answers 404). */
        if (rc == 0 && json)
            rc = file_keep_block_map(fs, out->file_id, f.blocks.sizes, f.blocks.n, true);
        /* Every plaintext length is known here: reads of the result need not learn them. */
        if (rc == 0 && json && encrypted && f.blocks.n > 1)
            plain_lengths_save(fs->cache, out->file_id, f.blocks.plain, f.blocks.n);
        free(json);
    }
    struct open_file *old_reader = NULL;
    uint64_t dropped = 0;
    if (rc == 0) {
        /* The content is now the file object: the staged file is layered on it alone. */
        pthread_mutex_lock(&d->meta_lock);
        memcpy(d->base, out->file_id, sizeof(d->base));
        memcpy(d->prev, out->file_id, sizeof(d->prev));
        d->base_size = d->base_limit = size;
        dropped = d->ext_bytes;
        d->ext.n = 0;
        d->ext_bytes = 0;
        old_reader = d->base_reader;
        d->base_reader = NULL;
        dirty_mark_changed_locked(d);
        d->changed_since = 0;
        pthread_mutex_unlock(&d->meta_lock);
    }
    pthread_rwlock_unlock(&d->data_lock);
    file_close(old_reader);
    if (dropped)
        cache_staging_account(fs->cache, -(int64_t)dropped);
    if (f.buf && encrypted) /* plaintext of an encrypted library */
        OPENSSL_cleanse(f.buf, SEAF_CDC_MAX_SIZE);
    free(f.buf);
    free(f.blocks.ids);
    free(f.blocks.sizes);
    free(f.blocks.plain);
    if (encrypted)
        seaf_crypt_key_wipe(&key);
    return rc;
}
