/* io_util: pread/pwrite that move whole buffers, and the one errno -> seaf_err mapping of the
 * cache's local file operations. */
#include "io_util.h"

#include <errno.h>
#include <unistd.h>

seaf_err io_err_from_errno(int errnum)
{
    switch (errnum) {
    case ENOSPC:
    case EDQUOT:
        return SEAF_ERR_NOSPACE;
    case ENOMEM:
        return SEAF_ERR_NOMEM;
    case ENOENT:
        return SEAF_ERR_NOT_FOUND;
    default:
        return SEAF_ERR_IO;
    }
}

seaf_err io_pwrite_all(int fd, const void *buf, size_t len, off_t offset)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_err_from_errno(errno);
        }
        p += n;
        len -= (size_t)n;
        offset += n;
    }
    return SEAF_OK;
}

seaf_err io_pread_all(int fd, void *buf, size_t len, off_t offset)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, offset);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return io_err_from_errno(errno);
        }
        if (n == 0)
            return SEAF_ERR_MALFORMED;
        p += n;
        len -= (size_t)n;
        offset += n;
    }
    return SEAF_OK;
}
