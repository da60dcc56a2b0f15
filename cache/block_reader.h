/* block_reader: random-access reads of one block file, decoding only the frames a read touches. */
#ifndef SEAFS_BLOCK_READER_H
#define SEAFS_BLOCK_READER_H

#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"

struct block_reader;

/* Loads and validates the trailer of the block file open on fd and checks it describes object
 * (kind, id). Takes ownership of fd (closed on failure too). SEAF_ERR_MALFORMED when the file is
 * damaged, truncated or belongs to another object; SEAF_ERR_IO, SEAF_ERR_NOMEM. */
seaf_err block_reader_open(int fd, uint32_t kind, const char *id, struct block_reader **out);
/* Plain size of the object. */
uint64_t block_reader_size(const struct block_reader *r);
/* Copies up to len plain bytes from offset off into buf and sets *n_read (0 at or past the end).
 * Each frame read is checked against its checksum: SEAF_ERR_ID_MISMATCH if one is damaged (the
 * reader then fails every later read too). Thread-safe. */
seaf_err block_reader_read(struct block_reader *r, uint64_t off, size_t len, void *buf,
                           size_t *n_read);
/* Reads the parts of the block file that are not in the page cache into it (sequentially, so
 * the disk streams), for a reader about to read them; the bytes are checked when they are read,
 * not here. Best effort. */
void block_reader_preload(const struct block_reader *r);
/* Closes the file and frees the reader. NULL is allowed. */
void block_reader_free(struct block_reader *r);

#endif
