/* block_reader: serves byte ranges of a block file.
 *
 * Opening reads the trailer with (usually) a single pread of the file's last 4 KiB. A read maps
 * its offset to a frame, preads just that frame, checks its crc32c, decodes it, and keeps the
 * decoded frame so that the next small sequential read of the same frame costs only a memcpy;
 * a read that covers a whole frame is decoded straight into the caller's buffer instead. The
 * buffers are sized by the object's largest frame and allocated on first use. Whole raw frames
 * (what incompressible data is stored as) need neither buffer: consecutive ones are read with
 * one pread into the caller's buffer and checked there, without the reader's lock, so parallel
 * large reads of one block (the kernel's read-ahead) do not wait for each other.
 * A checksum failure poisons the reader: damaged data is never returned, now or later.
 * Preloading (for a reader's helper thread) only brings the file into the page cache; it
 * checks nothing and marks nothing as checked. */
#include "block_reader.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block_format.h"
#include "io_util.h"

#define TAIL_READ_SIZE 4096
/* Bytes per read of block_reader_preload: large, so that a disk that seeks reads much for each
 * seek while other files are preloaded at the same time. */
#define PRELOAD_CHUNK (1024 * 1024)

struct block_reader {
    int fd;
    struct block_layout layout;
    pthread_mutex_t lock;      /* protects everything below */
    unsigned char *stored_buf; /* one stored frame, allocated on first read */
    int64_t stored_frame;      /* frame whose checked stored bytes are in stored_buf, or -1 */
    unsigned char *plain_buf;  /* decoded bytes of frame plain_frame */
    int64_t plain_frame;       /* frame in plain_buf, -1 if none */
    uint32_t plain_valid;      /* how many of its bytes are decoded */
    atomic_int broken;         /* SEAF_OK, or the seaf_err every read now returns (any thread) */
};

/* Reads the trailer of a file of file_size bytes into layout. */
static seaf_err load_layout(int fd, uint64_t file_size, struct block_layout *layout)
{
    if (file_size < BLOCK_FOOTER_SIZE)
        return SEAF_ERR_MALFORMED;
    size_t tail_len = file_size < TAIL_READ_SIZE ? (size_t)file_size : TAIL_READ_SIZE;
    unsigned char tail[TAIL_READ_SIZE];
    seaf_err err = io_pread_all(fd, tail, tail_len, (off_t)(file_size - tail_len));
    if (err != SEAF_OK)
        return err;
    uint32_t frame_count;
    err = block_footer_frame_count(tail + tail_len - BLOCK_FOOTER_SIZE, &frame_count);
    if (err != SEAF_OK)
        return err;
    size_t trailer_len = block_trailer_size(frame_count);
    if (trailer_len > file_size)
        return SEAF_ERR_MALFORMED;
    if (trailer_len <= tail_len)
        return block_trailer_decode(tail + tail_len - trailer_len, trailer_len, file_size, layout);
    unsigned char *trailer = malloc(trailer_len);
    if (trailer == NULL)
        return SEAF_ERR_NOMEM;
    err = io_pread_all(fd, trailer, trailer_len, (off_t)(file_size - trailer_len));
    if (err == SEAF_OK)
        err = block_trailer_decode(trailer, trailer_len, file_size, layout);
    free(trailer);
    return err;
}

seaf_err block_reader_open(int fd, uint32_t kind, const char *id, struct block_reader **out)
{
    *out = NULL;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return SEAF_ERR_IO;
    }
    struct block_reader *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        close(fd);
        return SEAF_ERR_NOMEM;
    }
    r->fd = fd;
    atomic_init(&r->broken, SEAF_OK);
    r->stored_frame = -1;
    r->plain_frame = -1;
    pthread_mutex_init(&r->lock, NULL);
    seaf_err err = load_layout(fd, (uint64_t)st.st_size, &r->layout);
    if (err == SEAF_OK && (r->layout.kind != kind || strcmp(r->layout.id, id) != 0))
        err = SEAF_ERR_MALFORMED;
    if (err != SEAF_OK) {
        block_reader_free(r);
        return err;
    }
    *out = r;
    return SEAF_OK;
}

uint64_t block_reader_size(const struct block_reader *r)
{
    return r->layout.plain_size;
}

/* Size of the largest frame: the first one (every frame but the last is frame_size bytes, and an
 * object smaller than a frame has just one). Buffers sized by it fit any frame of this file: a
 * stored lz4 frame is always shorter than its plain bytes (block_trailer_decode checks that). */
static size_t largest_frame(const struct block_reader *r)
{
    return r->layout.frame_count > 0 ? r->layout.frames[0].plain_len : 0;
}

/* Reads frame idx's stored bytes into stored_buf and checks them, unless they are there already.
 * Called with r->lock held. */
static seaf_err load_stored(struct block_reader *r, uint32_t idx)
{
    if (r->stored_frame == (int64_t)idx)
        return SEAF_OK;
    if (r->stored_buf == NULL && (r->stored_buf = malloc(largest_frame(r))) == NULL)
        return SEAF_ERR_NOMEM;
    const struct block_frame *f = &r->layout.frames[idx];
    r->stored_frame = -1;
    seaf_err err = io_pread_all(r->fd, r->stored_buf, f->stored_len, (off_t)f->offset);
    if (err == SEAF_OK && !block_frame_intact(f, r->stored_buf))
        err = SEAF_ERR_ID_MISMATCH;
    if (err == SEAF_OK)
        r->stored_frame = idx;
    return err;
}

/* Turns a read error meaning "the file is damaged" into SEAF_ERR_ID_MISMATCH, which from then on
 * every read of r returns. */
static seaf_err poison_on_damage(struct block_reader *r, seaf_err err)
{
    if (err == SEAF_ERR_MALFORMED) /* the file shrank under us */
        err = SEAF_ERR_ID_MISMATCH;
    if (err == SEAF_ERR_ID_MISMATCH)
        atomic_store(&r->broken, (int)err);
    return err;
}

/* Decodes at least the first `need` plain bytes of frame idx into plain (room for the whole
 * frame) and sets *decoded. A raw frame is read straight into plain and checked there; an lz4
 * frame goes through stored_buf. A checksum or decoding failure poisons the reader.
 * Called with r->lock held. */
static seaf_err decode_frame(struct block_reader *r, uint32_t idx, unsigned char *plain,
                             uint32_t need, uint32_t *decoded)
{
    const struct block_frame *f = &r->layout.frames[idx];
    seaf_err err;
    *decoded = 0;
    if (f->flags & BLOCK_FRAME_LZ4) {
        err = load_stored(r, idx);
        if (err == SEAF_OK)
            err = block_frame_decode_prefix(f, r->stored_buf, plain, need, decoded);
    } else {
        err = io_pread_all(r->fd, plain, f->stored_len, (off_t)f->offset);
        if (err == SEAF_OK && !block_frame_intact(f, plain))
            err = SEAF_ERR_ID_MISMATCH;
        if (err == SEAF_OK)
            *decoded = f->plain_len;
    }
    return poison_on_damage(r, err);
}

/* Makes at least the first `need` plain bytes of frame idx available in plain_buf.
 * An lz4 frame met for the first time is decoded only up to `need` (a random small read pays for
 * part of a frame); if the same frame is asked for beyond what was decoded (a sequential reader),
 * it is decoded whole, once. Called with r->lock held. */
static seaf_err load_frame(struct block_reader *r, uint32_t idx, uint32_t need)
{
    if (r->plain_frame == (int64_t)idx && r->plain_valid >= need)
        return SEAF_OK;
    if (r->plain_buf == NULL && (r->plain_buf = malloc(largest_frame(r))) == NULL)
        return SEAF_ERR_NOMEM;
    bool continuing = r->plain_frame == (int64_t)idx;
    r->plain_frame = -1;
    seaf_err err = decode_frame(
        r, idx, r->plain_buf, continuing ? r->layout.frames[idx].plain_len : need, &r->plain_valid);
    if (err == SEAF_OK)
        r->plain_frame = idx;
    return err;
}

/* The last frame of the run of whole raw frames starting at frame first that fits in len bytes
 * (first itself is one); *run_len is their plain size. */
static uint32_t raw_run(const struct block_reader *r, uint32_t first, size_t len, size_t *run_len)
{
    const struct block_frame *frames = r->layout.frames;
    uint32_t last = first;
    size_t run = frames[first].plain_len;

    while (last + 1 < r->layout.frame_count && !(frames[last + 1].flags & BLOCK_FRAME_LZ4) &&
           frames[last + 1].plain_len <= len - run) {
        last++;
        run += frames[last].plain_len;
    }
    *run_len = run;
    return last;
}

/* Reads the raw frames first..last (stored back to back, as their plain bytes) with one pread
 * into dst and checks each. Needs no lock: only the file and the fixed layout are used. */
static seaf_err read_raw_run(struct block_reader *r, uint32_t first, uint32_t last, size_t run_len,
                             unsigned char *dst)
{
    const struct block_frame *frames = r->layout.frames;
    seaf_err err = io_pread_all(r->fd, dst, run_len, (off_t)frames[first].offset);

    for (uint32_t i = first; err == SEAF_OK && i <= last; i++)
        if (!block_frame_intact(&frames[i], dst + (frames[i].offset - frames[first].offset)))
            err = SEAF_ERR_ID_MISMATCH;
    return poison_on_damage(r, err);
}

seaf_err block_reader_read(struct block_reader *r, uint64_t off, size_t len, void *buf,
                           size_t *n_read)
{
    *n_read = 0;
    seaf_err err = (seaf_err)atomic_load(&r->broken);
    uint64_t size = r->layout.plain_size;
    unsigned char *dst = buf;
    while (err == SEAF_OK && len > 0 && off < size) {
        uint32_t idx = (uint32_t)(off / r->layout.frame_size);
        const struct block_frame *f = &r->layout.frames[idx];
        size_t in_frame = (size_t)(off % r->layout.frame_size);
        size_t avail = f->plain_len - in_frame;
        size_t n = len < avail ? len : avail;
        bool whole = in_frame == 0 && n == f->plain_len;
        if (whole && !(f->flags & BLOCK_FRAME_LZ4)) {
            uint32_t last = raw_run(r, idx, len, &n);
            err = read_raw_run(r, idx, last, n, dst);
        } else {
            pthread_mutex_lock(&r->lock);
            if (whole) {
                /* A whole frame: decoded straight into the caller's buffer (all n bytes or an
                 * error), leaving plain_buf as it is. */
                uint32_t decoded;
                err = decode_frame(r, idx, dst, (uint32_t)n, &decoded);
            } else if ((err = load_frame(r, idx, (uint32_t)(in_frame + n))) == SEAF_OK) {
                memcpy(dst, r->plain_buf + in_frame, n);
            }
            pthread_mutex_unlock(&r->lock);
        }
        if (err != SEAF_OK)
            break;
        dst += n;
        off += n;
        len -= n;
        *n_read += n;
    }
    if (err != SEAF_OK)
        *n_read = 0;
    return err;
}

/* Reads [from, to) of the file into the page cache through buf (PRELOAD_CHUNK bytes), discarding
 * the bytes. */
static void preload_range(int fd, unsigned char *buf, uint64_t from, uint64_t to)
{
    while (from < to) {
        size_t n = to - from < PRELOAD_CHUNK ? (size_t)(to - from) : PRELOAD_CHUNK;
        ssize_t got = pread(fd, buf, n, (off_t)from);
        if (got <= 0)
            return;
        from += (uint64_t)got;
    }
}

void block_reader_preload(const struct block_reader *r)
{
    const struct block_layout *l = &r->layout;
    if (l->frame_count == 0)
        return;
    const struct block_frame *last = &l->frames[l->frame_count - 1];
    uint64_t size = last->offset + last->stored_len;
    long page_size = sysconf(_SC_PAGESIZE);
    size_t pages = (size_t)((size + (uint64_t)page_size - 1) / (uint64_t)page_size);
    /* Which pages are resident: a mapping that is never touched (so a file cut short meanwhile
     * cannot fault), asked with mincore. A block just written is, and is not read again. */
    void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, r->fd, 0);
    unsigned char *resident = map != MAP_FAILED ? malloc(pages) : NULL;
    bool known = resident && mincore(map, (size_t)size, resident) == 0;
    if (map != MAP_FAILED)
        munmap(map, (size_t)size);
    unsigned char *buf = malloc(PRELOAD_CHUNK);
    for (size_t i = 0; buf && i < pages;) {
        size_t end = i + 1;
        if (known && (resident[i] & 1)) {
            i++;
            continue;
        }
        while (end < pages && !(known && (resident[end] & 1)))
            end++;
        uint64_t to = (uint64_t)end * (uint64_t)page_size;
        preload_range(r->fd, buf, (uint64_t)i * (uint64_t)page_size, to < size ? to : size);
        i = end;
    }
    free(buf);
    free(resident);
}

void block_reader_free(struct block_reader *r)
{
    if (r == NULL)
        return;
    close(r->fd);
    block_layout_release(&r->layout);
    pthread_mutex_destroy(&r->lock);
    free(r->stored_buf);
    free(r->plain_buf);
    free(r);
}
