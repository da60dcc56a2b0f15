/* io_util: whole-buffer pread/pwrite loops and errno-to-seaf_err for the cache's file I/O. */
#ifndef SEAFS_IO_UTIL_H
#define SEAFS_IO_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "seaf_error.h"

/* Writes all len bytes at offset, retrying short writes and EINTR. SEAF_ERR_NOSPACE on ENOSPC or
 * EDQUOT, SEAF_ERR_IO on other errors. */
seaf_err io_pwrite_all(int fd, const void *buf, size_t len, off_t offset);
/* Reads exactly len bytes at offset, retrying short reads and EINTR. SEAF_ERR_MALFORMED when the
 * file ends first (a truncated file), SEAF_ERR_IO on errors. */
seaf_err io_pread_all(int fd, void *buf, size_t len, off_t offset);
/* The seaf_err for an errno left by a failed file operation. */
seaf_err io_err_from_errno(int errnum);

#endif
