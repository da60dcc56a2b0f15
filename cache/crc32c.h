/* crc32c: the CRC-32C (Castagnoli) checksum that guards every frame and trailer of a block file. */
#ifndef SEAFS_CRC32C_H
#define SEAFS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends crc (0 to start) over len bytes at data and returns the new value. Uses the SSE4.2
 * instruction when the CPU has it, a table otherwise; both give the same result. Cannot fail. */
uint32_t crc32c_update(uint32_t crc, const void *data, size_t len);
/* The same checksum computed with the table only (the fallback path; exposed so tests can
 * check that both paths agree). Cannot fail. */
uint32_t crc32c_update_portable(uint32_t crc, const void *data, size_t len);

#endif
