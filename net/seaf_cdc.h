/* seaf_cdc: Seafile's content-defined chunking (protocol doc §9.1), so files split into the same
 * blocks (and block ids) as with the official clients: Rabin fingerprint over a 48-byte window,
 * blocks of 6 MiB minimum, 8 MiB average, 10 MiB maximum. */
#ifndef SEAFS_SEAF_CDC_H
#define SEAFS_SEAF_CDC_H

#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"

#define SEAF_CDC_MIN_SIZE   ((size_t)6 << 20)
#define SEAF_CDC_AVG_SIZE   ((size_t)8 << 20)
#define SEAF_CDC_MAX_SIZE   ((size_t)10 << 20)
#define SEAF_CDC_WINDOW     48
#define SEAF_CDC_BREAK      0x13u
#define SEAF_CDC_POLYNOMIAL 0xbfe6b8a5bf378d83ull

/* Fingerprint of one fresh window of SEAF_CDC_WINDOW bytes. */
uint32_t seaf_cdc_window_fingerprint(const unsigned char window[SEAF_CDC_WINDOW]);
/* The fingerprint after byte `out` leaves the window and byte `in` enters it. */
uint32_t seaf_cdc_roll(uint32_t fingerprint, unsigned char out, unsigned char in);

/* Length of the chunk that starts at buf[0]. buf must hold at least SEAF_CDC_MAX_SIZE bytes, or
 * else everything that remains of the file (the last bytes then form the last chunk when no
 * boundary is found). Returns 0 only when len is 0. */
size_t seaf_cdc_chunk_length(const unsigned char *buf, size_t len);

/* Called once per chunk, in file order; any result other than SEAF_OK stops the chunking and is
 * returned by seaf_cdc_chunk_fd. The data is only valid during the call. */
typedef seaf_err (*seaf_cdc_chunk_fn)(void *ctx, uint64_t offset, const unsigned char *data,
                                      size_t len);

/* Reads fd from its current position to end of file and calls fn for each chunk (none for an
 * empty file). Uses one buffer of SEAF_CDC_MAX_SIZE bytes. SEAF_ERR_IO on a read error,
 * SEAF_ERR_NOMEM when the buffer cannot be allocated. */
seaf_err seaf_cdc_chunk_fd(int fd, seaf_cdc_chunk_fn fn, void *ctx);

#endif
