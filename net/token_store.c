/* token_store: tokens (and other short secrets) in 0600 files of a 0700 directory, written
 * atomically (mkstemp in the same directory, write, fsync, rename), read only when nobody else may
 * read them. */
#include "token_store.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAME 200

static bool name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;

    if (len == 0 || len > MAX_NAME || name[0] == '.')
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return true;
}

static seaf_err errno_to_err(int e)
{
    return e == ENOSPC || e == EDQUOT ? SEAF_ERR_NOSPACE : SEAF_ERR_IO;
}

static seaf_err path_of(const char *dir, const char *name, char *out, size_t out_size)
{
    if (!dir || !name_valid(name))
        return SEAF_ERR_INVALID_ARG;
    if ((size_t)snprintf(out, out_size, "%s/%s", dir, name) >= out_size)
        return SEAF_ERR_INVALID_ARG;
    return SEAF_OK;
}

/* A value: 1..TOKEN_STORE_VALUE_MAX bytes of [0-9a-z:]. */
static bool value_valid(const char *value)
{
    size_t len = value ? strlen(value) : 0;
    if (len == 0 || len > TOKEN_STORE_VALUE_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((value[i] >= 'a' && value[i] <= 'z') || (value[i] >= '0' && value[i] <= '9') ||
              value[i] == ':'))
            return false;
    return true;
}

seaf_err token_store_save_value(const char *dir, const char *name, const char *value)
{
    char path[PATH_MAX];
    char tmp[PATH_MAX];
    char line[TOKEN_STORE_VALUE_MAX + 1];
    seaf_err err = path_of(dir, name, path, sizeof(path));
    int fd;

    if (err != SEAF_OK)
        return err;
    if (!value_valid(value))
        return SEAF_ERR_INVALID_ARG;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return errno_to_err(errno);
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name) >= sizeof(tmp))
        return SEAF_ERR_INVALID_ARG;
    fd = mkstemp(tmp); /* created 0600 */
    if (fd < 0)
        return errno_to_err(errno);
    size_t len = strlen(value);
    memcpy(line, value, len);
    line[len] = '\n';
    if (fchmod(fd, 0600) != 0 || write(fd, line, len + 1) != (ssize_t)(len + 1) || fsync(fd) != 0) {
        err = errno_to_err(errno);
        close(fd);
        unlink(tmp);
        explicit_bzero(line, sizeof(line));
        return err;
    }
    explicit_bzero(line, sizeof(line));
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        err = errno_to_err(errno);
        unlink(tmp);
        return err;
    }
    return SEAF_OK;
}

seaf_err token_store_load_value(const char *dir, const char *name,
                                char out[TOKEN_STORE_VALUE_MAX + 1])
{
    char path[PATH_MAX];
    char line[TOKEN_STORE_VALUE_MAX + 2];
    seaf_err err = path_of(dir, name, path, sizeof(path));
    struct stat st;
    ssize_t n;
    int fd;

    if (err != SEAF_OK)
        return err;
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SEAF_ERR_NOT_FOUND : SEAF_ERR_IO;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0 ||
        st.st_uid != geteuid()) {
        close(fd);
        return SEAF_ERR_NOT_FOUND;
    }
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n > 0 && line[n - 1] == '\n')
        n--;
    line[n < 0 ? 0 : n] = '\0';
    bool ok = n > 0 && value_valid(line);
    if (ok)
        memcpy(out, line, (size_t)n + 1);
    explicit_bzero(line, sizeof(line));
    return ok ? SEAF_OK : SEAF_ERR_NOT_FOUND;
}

seaf_err token_store_save(const char *dir, const char *name, const char *token)
{
    if (!token || !seaf_id_valid(token, strlen(token)))
        return SEAF_ERR_INVALID_ARG;
    return token_store_save_value(dir, name, token);
}

seaf_err token_store_load(const char *dir, const char *name, char out[SEAF_ID_LEN + 1])
{
    char value[TOKEN_STORE_VALUE_MAX + 1];
    seaf_err err = token_store_load_value(dir, name, value);
    if (err != SEAF_OK)
        return err;
    if (!seaf_id_valid(value, strlen(value)))
        return SEAF_ERR_NOT_FOUND;
    memcpy(out, value, SEAF_ID_LEN + 1);
    return SEAF_OK;
}

seaf_err token_store_remove(const char *dir, const char *name)
{
    char path[PATH_MAX];
    seaf_err err = path_of(dir, name, path, sizeof(path));

    if (err != SEAF_OK)
        return err;
    if (unlink(path) != 0 && errno != ENOENT)
        return SEAF_ERR_IO;
    return SEAF_OK;
}
