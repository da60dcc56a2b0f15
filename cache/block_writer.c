/* block_writer: turns a stream of appended bytes into a block file (see block_format.h).
 *
 * Bytes collect in a frame-sized buffer; each full frame is encoded (lz4 or raw) and written at
 * the current end of the file, and its table entry remembered. Appended bytes that make whole
 * frames by themselves are encoded where they are, without the copy. finish() writes the partial
 * last frame, the table and the footer, and (when asked) fsyncs, so the file is complete on disk
 * before the store renames it into place. A SHA-1 of the plain bytes is kept on the way for id
 * verification.
 *
 * Data that does not compress (most of what people store in bulk: media, archives) is not
 * offered to lz4 frame after frame: after a frame stays raw, the next ones are stored raw
 * without trying, 1, 2, 4 ... up to LZ4_MAX_SKIP frames before the next try; a frame that
 * compresses ends the skipping. */
#include "block_writer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_format.h"
#include "io_util.h"
#include "seaf_sha1.h"

/* Most frames stored raw untried after frames that did not compress (2 MiB of 64 KiB frames). */
#define LZ4_MAX_SKIP 32

struct block_writer {
    int fd;                     /* not owned */
    struct block_layout layout; /* frames grow as frames are written */
    uint32_t frames_cap;        /* allocated entries in layout.frames */
    unsigned char *plain_buf;   /* frame_size bytes: the frame being collected */
    size_t plain_fill;          /* bytes in plain_buf */
    unsigned char *stored_buf;  /* block_frame_bound(frame_size) bytes: encode output */
    uint64_t file_off;          /* where the next frame goes */
    uint32_t lz4_skip;          /* frames still to store raw without trying lz4 */
    uint32_t lz4_backoff;       /* frames to skip after the next frame that stays raw */
    struct seaf_sha1 *sha1;     /* over all appended bytes */
    seaf_err failed;            /* first write error; the writer refuses further work */
};

seaf_err block_writer_new(int fd, uint32_t kind, const char *id, uint32_t frame_size,
                          struct block_writer **out)
{
    *out = NULL;
    if (fd < 0 || !seaf_id_valid(id, id ? strlen(id) : 0) || frame_size == 0 ||
        frame_size > BLOCK_FRAME_SIZE_MAX)
        return SEAF_ERR_INVALID_ARG;
    struct block_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return SEAF_ERR_NOMEM;
    w->fd = fd;
    w->layout.kind = kind;
    memcpy(w->layout.id, id, SEAF_ID_LEN + 1);
    w->layout.frame_size = frame_size;
    w->lz4_backoff = 1;
    w->plain_buf = malloc(frame_size);
    w->stored_buf = malloc(block_frame_bound(frame_size));
    if (w->plain_buf == NULL || w->stored_buf == NULL || seaf_sha1_new(&w->sha1) != SEAF_OK) {
        block_writer_free(w);
        return SEAF_ERR_NOMEM;
    }
    *out = w;
    return SEAF_OK;
}

static seaf_err add_frame_slot(struct block_writer *w)
{
    if (w->layout.frame_count < w->frames_cap)
        return SEAF_OK;
    uint32_t cap = w->frames_cap ? w->frames_cap * 2 : 64;
    struct block_frame *frames = realloc(w->layout.frames, cap * sizeof(*frames));
    if (frames == NULL)
        return SEAF_ERR_NOMEM;
    w->layout.frames = frames;
    w->frames_cap = cap;
    return SEAF_OK;
}

/* Encodes len plain bytes as the next frame (trying lz4 unless skipping) and writes it. */
static seaf_err write_frame(struct block_writer *w, const unsigned char *plain, size_t len)
{
    seaf_err err = add_frame_slot(w);
    if (err != SEAF_OK)
        return err;
    struct block_frame *f = &w->layout.frames[w->layout.frame_count];
    const void *stored;
    if (w->lz4_skip > 0) {
        w->lz4_skip--;
        stored = block_frame_encode_raw(plain, (uint32_t)len, f);
    } else {
        stored = block_frame_encode(plain, (uint32_t)len, w->stored_buf, f);
        bool compressed = f->flags & BLOCK_FRAME_LZ4;
        w->lz4_skip = compressed ? 0 : w->lz4_backoff;
        w->lz4_backoff = compressed ? 1 : w->lz4_backoff * 2;
        if (w->lz4_backoff > LZ4_MAX_SKIP)
            w->lz4_backoff = LZ4_MAX_SKIP;
    }
    f->offset = w->file_off;
    err = io_pwrite_all(w->fd, stored, f->stored_len, (off_t)w->file_off);
    if (err != SEAF_OK)
        return err;
    w->file_off += f->stored_len;
    w->layout.frame_count++;
    w->layout.plain_size += len;
    return SEAF_OK;
}

/* Writes the collected plain bytes as the next frame. */
static seaf_err flush_frame(struct block_writer *w)
{
    seaf_err err = write_frame(w, w->plain_buf, w->plain_fill);
    if (err == SEAF_OK)
        w->plain_fill = 0;
    return err;
}

seaf_err block_writer_append(struct block_writer *w, const void *data, size_t len)
{
    if (w->failed != SEAF_OK)
        return w->failed;
    if (len > 0 && seaf_sha1_update(w->sha1, data, len) != SEAF_OK)
        return w->failed = SEAF_ERR_NOMEM;
    const unsigned char *p = data;
    size_t frame_size = w->layout.frame_size;
    while (len > 0) {
        seaf_err err = SEAF_OK;
        size_t n;
        if (w->plain_fill == 0 && len >= frame_size) {
            n = frame_size; /* a whole frame where it is */
            err = write_frame(w, p, n);
        } else {
            size_t room = frame_size - w->plain_fill;
            n = len < room ? len : room;
            memcpy(w->plain_buf + w->plain_fill, p, n);
            w->plain_fill += n;
            if (w->plain_fill == frame_size)
                err = flush_frame(w);
        }
        if (err != SEAF_OK)
            return w->failed = err;
        p += n;
        len -= n;
    }
    return SEAF_OK;
}

seaf_err block_writer_finish(struct block_writer *w, bool sync, char sha1_hex[SEAF_ID_LEN + 1],
                             uint64_t *file_size)
{
    if (w->failed != SEAF_OK)
        return w->failed;
    seaf_err err = SEAF_OK;
    if (w->plain_fill > 0 && (err = flush_frame(w)) != SEAF_OK)
        return w->failed = err;
    size_t trailer_len = block_trailer_size(w->layout.frame_count);
    unsigned char *trailer = malloc(trailer_len);
    if (trailer == NULL)
        return w->failed = SEAF_ERR_NOMEM;
    block_trailer_encode(&w->layout, trailer);
    err = io_pwrite_all(w->fd, trailer, trailer_len, (off_t)w->file_off);
    free(trailer);
    if (err == SEAF_OK && sync && fsync(w->fd) != 0)
        err = io_err_from_errno(errno);
    if (err != SEAF_OK)
        return w->failed = err;
    if (seaf_sha1_final(w->sha1, sha1_hex) != SEAF_OK)
        return w->failed = SEAF_ERR_NOMEM;
    *file_size = w->file_off + trailer_len;
    w->failed = SEAF_ERR_INVALID_ARG; /* finished: no more appends */
    return SEAF_OK;
}

uint64_t block_writer_plain_size(const struct block_writer *w)
{
    return w->layout.plain_size + w->plain_fill;
}

void block_writer_free(struct block_writer *w)
{
    if (w == NULL)
        return;
    block_layout_release(&w->layout);
    free(w->plain_buf);
    free(w->stored_buf);
    seaf_sha1_free(w->sha1);
    free(w);
}
