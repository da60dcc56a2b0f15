/* seaf_error (common/): the closed set of error codes used across seafs, their text and their
 * errno. */
#include "seaf_error.h"

#include <errno.h>

static const struct {
    const char *text;
    int errno_value;
} err_table[SEAF_ERR_COUNT] = {
    [SEAF_OK] = {"success", 0},
    [SEAF_ERR_NOMEM] = {"out of memory", ENOMEM},
    [SEAF_ERR_INVALID_ARG] = {"invalid argument", EINVAL},
    [SEAF_ERR_MALFORMED] = {"malformed data from server", EIO},
    [SEAF_ERR_ID_MISMATCH] = {"content does not match its id (corrupted)", EIO},
    [SEAF_ERR_NOT_FOUND] = {"object not found", ENOENT},
    [SEAF_ERR_AUTH] = {"authentication failed", EACCES},
    [SEAF_ERR_PERMISSION] = {"permission denied by server", EACCES},
    [SEAF_ERR_REPO_GONE] = {"library deleted or corrupted on server", ENOENT},
    [SEAF_ERR_QUOTA] = {"over quota", EDQUOT},
    [SEAF_ERR_PROTOCOL] = {"unexpected answer from server", EIO},
    [SEAF_ERR_SERVER] = {"server error", EIO},
    [SEAF_ERR_NETWORK] = {"network unreachable or connection lost", EHOSTDOWN},
    [SEAF_ERR_TIMEOUT] = {"timed out", EIO},
    [SEAF_ERR_TLS] = {"TLS verification failed", EACCES},
    [SEAF_ERR_IO] = {"local I/O error", EIO},
    [SEAF_ERR_NOSPACE] = {"no space left for the cache", ENOSPC},
    [SEAF_ERR_UNSUPPORTED] = {"not supported", EOPNOTSUPP},
};

const char *seaf_strerror(seaf_err err)
{
    if ((unsigned)err >= SEAF_ERR_COUNT)
        return "unknown error";
    return err_table[err].text;
}

int seaf_err_to_errno(seaf_err err)
{
    if ((unsigned)err >= SEAF_ERR_COUNT)
        return EIO;
    return err_table[err].errno_value;
}
