/* block_format: the on-disk layout of one cached object (a "block file"), with no I/O.
 *
 * A block file is the object's bytes cut into frames of frame_size plain bytes (the last one may
 * be shorter), each stored lz4-compressed or, when lz4 does not make it smaller, raw; then a frame
 * table; then a fixed footer. All integers are little-endian.
 *
 *   frame 0 | frame 1 | ... | table: per frame {u32 stored_len, u32 flags, u32 crc32c(stored)}
 *   footer (76 bytes): "SFSBLK\r\n" | u32 version | u32 kind | char id[40] | u64 plain_size |
 *                      u32 frame_size | u32 frame_count | u32 crc32c(table + footer before it)
 *
 * The table sits at the end so a writer can stream frames without knowing the final size; a
 * reader loads the trailer once, then reads and decodes only the frame a request touches. */
#ifndef SEAFS_BLOCK_FORMAT_H
#define SEAFS_BLOCK_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"
#include "seaf_ids.h"

#define BLOCK_FORMAT_VERSION     1
#define BLOCK_FOOTER_SIZE        76
#define BLOCK_TABLE_ENTRY_SIZE   12
#define BLOCK_FRAME_SIZE_DEFAULT (64u * 1024u)
#define BLOCK_FRAME_SIZE_MAX     (16u * 1024u * 1024u)
#define BLOCK_FRAME_LZ4          1u /* flag: the frame is lz4-compressed (else stored raw) */

/* One frame as described by the table, plus where it lies (offset and plain_len are derived). */
struct block_frame {
    uint32_t stored_len; /* bytes in the file */
    uint32_t flags;      /* BLOCK_FRAME_LZ4 or 0 */
    uint32_t crc;        /* crc32c of the stored bytes */
    uint32_t plain_len;  /* bytes after decoding */
    uint64_t offset;     /* file offset of the stored bytes */
};

/* Everything the trailer says about a block file. */
struct block_layout {
    uint32_t kind;
    char id[SEAF_ID_LEN + 1];
    uint64_t plain_size;
    uint32_t frame_size;
    uint32_t frame_count;
    struct block_frame *frames; /* frame_count entries, owned (block_layout_release) */
};

/* Size of the table plus footer for frame_count frames. */
size_t block_trailer_size(uint32_t frame_count);
/* Largest stored size of a frame of plain_len bytes (size the output buffer of encode with it). */
size_t block_frame_bound(uint32_t plain_len);

/* Encodes plain_len bytes at plain as a frame: lz4-compressed into out (at least
 * block_frame_bound(plain_len) bytes) when that saves at least 1/16 of them (less is not worth
 * decoding on every read), else raw. Fills desc (offset is left to the caller) and returns the
 * frame's stored bytes: out, or plain itself for a raw frame (nothing is copied). Cannot fail. */
const void *block_frame_encode(const void *plain, uint32_t plain_len, void *out,
                               struct block_frame *desc);
/* The same without trying lz4 (for data known not to compress): a raw frame; returns plain. */
const void *block_frame_encode_raw(const void *plain, uint32_t plain_len, struct block_frame *desc);
/* True when the stored bytes of frame f match its checksum. */
bool block_frame_intact(const struct block_frame *f, const void *stored);
/* Decodes the (already checked) stored bytes of frame f into plain (room for f->plain_len bytes):
 * at least the first `need` bytes, possibly more; *decoded is how many. A raw frame is copied
 * whole. SEAF_ERR_ID_MISMATCH when the bytes do not decode. */
seaf_err block_frame_decode_prefix(const struct block_frame *f, const void *stored, void *plain,
                                   uint32_t need, uint32_t *decoded);

/* Writes the trailer of layout (block_trailer_size(layout->frame_count) bytes) to out. */
void block_trailer_encode(const struct block_layout *layout, unsigned char *out);
/* Reads the frame count from a footer (the last BLOCK_FOOTER_SIZE bytes of a file) after checking
 * its magic and version. SEAF_ERR_MALFORMED if it is not a footer of this format. */
seaf_err block_footer_frame_count(const unsigned char *footer, uint32_t *frame_count);
/* Decodes a whole trailer (the last block_trailer_size(n) bytes of a file of file_size bytes) and
 * checks its crc and that the frames exactly fill the file. On success the caller owns
 * out->frames. SEAF_ERR_MALFORMED on any inconsistency, SEAF_ERR_NOMEM. */
seaf_err block_trailer_decode(const unsigned char *trailer, size_t trailer_len, uint64_t file_size,
                              struct block_layout *out);
/* Frees the frame table of a layout. */
void block_layout_release(struct block_layout *layout);

#endif
