/* block_writer: streams an object's bytes into a block file (frames, trailer, optional fsync). */
#ifndef SEAFS_BLOCK_WRITER_H
#define SEAFS_BLOCK_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"
#include "seaf_ids.h"

struct block_writer;

/* Starts a block file for object (kind, id) on fd, an empty file open for writing. The writer does
 * not own fd. frame_size is the plain bytes per frame (1 .. BLOCK_FRAME_SIZE_MAX).
 * SEAF_ERR_INVALID_ARG, SEAF_ERR_NOMEM. */
seaf_err block_writer_new(int fd, uint32_t kind, const char *id, uint32_t frame_size,
                          struct block_writer **out);
/* Appends len bytes of the object; full frames are compressed and written as they fill.
 * SEAF_ERR_IO / SEAF_ERR_NOSPACE on write errors (the writer is then unusable). */
seaf_err block_writer_append(struct block_writer *w, const void *data, size_t len);
/* Writes the last frame and the trailer, and fsyncs the file if sync is true. Fills sha1_hex
 * with the SHA-1 of all appended bytes and file_size with the size of the finished file. */
seaf_err block_writer_finish(struct block_writer *w, bool sync, char sha1_hex[SEAF_ID_LEN + 1],
                             uint64_t *file_size);
/* Plain bytes appended so far. */
uint64_t block_writer_plain_size(const struct block_writer *w);
/* Frees the writer (does not close the fd). NULL is allowed. */
void block_writer_free(struct block_writer *w);

#endif
