/* block_format: encoding and validation of block files (frames, frame table, footer).
 *
 * Nothing here touches the disk: block_writer and block_reader do the I/O and call these to turn
 * bytes into frames and back. Every decode path validates before trusting a length, so a damaged
 * or truncated file is reported as SEAF_ERR_MALFORMED / SEAF_ERR_ID_MISMATCH, never read out of
 * bounds. */
#include "block_format.h"

#include <lz4.h>
#include <stdlib.h>
#include <string.h>

#include "crc32c.h"

static const unsigned char footer_magic[8] = {'S', 'F', 'S', 'B', 'L', 'K', '\r', '\n'};

static void put_u32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

size_t block_trailer_size(uint32_t frame_count)
{
    return (size_t)frame_count * BLOCK_TABLE_ENTRY_SIZE + BLOCK_FOOTER_SIZE;
}

size_t block_frame_bound(uint32_t plain_len)
{
    size_t bound = (size_t)LZ4_compressBound((int)plain_len);
    return bound > plain_len ? bound : plain_len;
}

const void *block_frame_encode_raw(const void *plain, uint32_t plain_len, struct block_frame *desc)
{
    desc->stored_len = plain_len;
    desc->flags = 0;
    desc->plain_len = plain_len;
    desc->crc = crc32c_update(0, plain, plain_len);
    return plain;
}

const void *block_frame_encode(const void *plain, uint32_t plain_len, void *out,
                               struct block_frame *desc)
{
    int n = 0;
    if (plain_len > 0)
        n = LZ4_compress_default(plain, out, (int)plain_len, (int)block_frame_bound(plain_len));
    if (n <= 0 || (uint32_t)n >= plain_len || (uint32_t)n > plain_len - plain_len / 16)
        return block_frame_encode_raw(plain, plain_len, desc);
    desc->stored_len = (uint32_t)n;
    desc->flags = BLOCK_FRAME_LZ4;
    desc->plain_len = plain_len;
    desc->crc = crc32c_update(0, out, desc->stored_len);
    return out;
}

bool block_frame_intact(const struct block_frame *f, const void *stored)
{
    return crc32c_update(0, stored, f->stored_len) == f->crc;
}

seaf_err block_frame_decode_prefix(const struct block_frame *f, const void *stored, void *plain,
                                   uint32_t need, uint32_t *decoded)
{
    *decoded = 0;
    if (!(f->flags & BLOCK_FRAME_LZ4)) {
        memcpy(plain, stored, f->plain_len);
        *decoded = f->plain_len;
        return SEAF_OK;
    }
    if (need > f->plain_len)
        need = f->plain_len;
    int n = LZ4_decompress_safe_partial(stored, plain, (int)f->stored_len, (int)need,
                                        (int)f->plain_len);
    if (n < (int)need || n > (int)f->plain_len)
        return SEAF_ERR_ID_MISMATCH;
    *decoded = (uint32_t)n;
    return SEAF_OK;
}

void block_trailer_encode(const struct block_layout *layout, unsigned char *out)
{
    unsigned char *p = out;
    for (uint32_t i = 0; i < layout->frame_count; i++) {
        const struct block_frame *f = &layout->frames[i];
        put_u32(p, f->stored_len);
        put_u32(p + 4, f->flags);
        put_u32(p + 8, f->crc);
        p += BLOCK_TABLE_ENTRY_SIZE;
    }
    memcpy(p, footer_magic, 8);
    put_u32(p + 8, BLOCK_FORMAT_VERSION);
    put_u32(p + 12, layout->kind);
    memcpy(p + 16, layout->id, SEAF_ID_LEN);
    put_u64(p + 56, layout->plain_size);
    put_u32(p + 64, layout->frame_size);
    put_u32(p + 68, layout->frame_count);
    put_u32(p + 72, crc32c_update(0, out, (size_t)(p + 72 - out)));
}

seaf_err block_footer_frame_count(const unsigned char *footer, uint32_t *frame_count)
{
    if (memcmp(footer, footer_magic, 8) != 0 || get_u32(footer + 8) != BLOCK_FORMAT_VERSION)
        return SEAF_ERR_MALFORMED;
    *frame_count = get_u32(footer + 68);
    return SEAF_OK;
}

/* Checks the footer fields against each other: frame size in range, frame count matching the
 * plain size. */
static seaf_err check_footer_fields(const struct block_layout *l)
{
    if (l->frame_size == 0 || l->frame_size > BLOCK_FRAME_SIZE_MAX)
        return SEAF_ERR_MALFORMED;
    uint64_t expect_frames = l->plain_size / l->frame_size + (l->plain_size % l->frame_size != 0);
    if (expect_frames != l->frame_count || !seaf_id_valid(l->id, SEAF_ID_LEN))
        return SEAF_ERR_MALFORMED;
    return SEAF_OK;
}

/* Reads the frame table, derives offsets and plain lengths, and checks that each stored length is
 * possible for its flags and that the frames end exactly where the trailer begins. */
static seaf_err decode_table(const unsigned char *table, uint64_t data_end, struct block_layout *l)
{
    uint64_t offset = 0;
    uint64_t plain_left = l->plain_size;
    for (uint32_t i = 0; i < l->frame_count; i++) {
        struct block_frame *f = &l->frames[i];
        const unsigned char *e = table + (size_t)i * BLOCK_TABLE_ENTRY_SIZE;
        f->stored_len = get_u32(e);
        f->flags = get_u32(e + 4);
        f->crc = get_u32(e + 8);
        f->plain_len = plain_left < l->frame_size ? (uint32_t)plain_left : l->frame_size;
        f->offset = offset;
        plain_left -= f->plain_len;
        bool lz4 = f->flags == BLOCK_FRAME_LZ4;
        if (f->flags & ~BLOCK_FRAME_LZ4)
            return SEAF_ERR_MALFORMED;
        if (lz4 ? (f->stored_len == 0 || f->stored_len >= f->plain_len)
                : f->stored_len != f->plain_len)
            return SEAF_ERR_MALFORMED;
        offset += f->stored_len;
    }
    return offset == data_end ? SEAF_OK : SEAF_ERR_MALFORMED;
}

seaf_err block_trailer_decode(const unsigned char *trailer, size_t trailer_len, uint64_t file_size,
                              struct block_layout *out)
{
    memset(out, 0, sizeof(*out));
    if (trailer_len < BLOCK_FOOTER_SIZE || trailer_len > file_size)
        return SEAF_ERR_MALFORMED;
    const unsigned char *footer = trailer + trailer_len - BLOCK_FOOTER_SIZE;
    uint32_t frame_count;
    if (block_footer_frame_count(footer, &frame_count) != SEAF_OK ||
        block_trailer_size(frame_count) != trailer_len)
        return SEAF_ERR_MALFORMED;
    if (get_u32(footer + 72) != crc32c_update(0, trailer, trailer_len - 4))
        return SEAF_ERR_MALFORMED;
    out->kind = get_u32(footer + 12);
    memcpy(out->id, footer + 16, SEAF_ID_LEN);
    out->id[SEAF_ID_LEN] = '\0';
    out->plain_size = get_u64(footer + 56);
    out->frame_size = get_u32(footer + 64);
    out->frame_count = frame_count;
    seaf_err err = check_footer_fields(out);
    if (err != SEAF_OK)
        return err;
    out->frames = calloc(frame_count ? frame_count : 1, sizeof(*out->frames));
    if (out->frames == NULL)
        return SEAF_ERR_NOMEM;
    err = decode_table(trailer, file_size - trailer_len, out);
    if (err != SEAF_OK)
        block_layout_release(out);
    return err;
}

void block_layout_release(struct block_layout *layout)
{
    free(layout->frames);
    layout->frames = NULL;
}
