/* store: paths of cached block files, temporary files, atomic publish by rename, and the
 * directory scan that recovery uses to rebuild or reconcile the index. */
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache_kind.h"
#include "io_util.h"
#include "seaf_ids.h"

#define TEMP_DIR "tmp"
#define PINS_DIR "pins"

static seaf_err make_dir(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return SEAF_OK;
    return io_err_from_errno(errno) == SEAF_ERR_NOSPACE ? SEAF_ERR_NOSPACE : SEAF_ERR_IO;
}

seaf_err store_init(struct store *s, const char *root)
{
    if (root == NULL || root[0] == '\0' || strlen(root) >= sizeof(s->root))
        return SEAF_ERR_INVALID_ARG;
    snprintf(s->root, sizeof(s->root), "%s", root);
    seaf_err err = make_dir(s->root);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->root, TEMP_DIR);
    if (err == SEAF_OK)
        err = make_dir(path);
    snprintf(path, sizeof(path), "%s/%s", s->root, PINS_DIR);
    if (err == SEAF_OK)
        err = make_dir(path);
    snprintf(path, sizeof(path), "%s/%s", s->root, cache_kind_dir(CACHE_KIND_BLOCK));
    if (err == SEAF_OK)
        err = make_dir(path);
    return err;
}

seaf_err store_lock(const struct store *s, int *fd)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/lock", s->root);
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0)
        return io_err_from_errno(errno);
    /* A filesystem without flock support cannot tell us about other users: go on unlocked. */
    if (flock(*fd, LOCK_EX | LOCK_NB) == 0 || errno != EWOULDBLOCK)
        return SEAF_OK;
    close(*fd);
    *fd = -1;
    return SEAF_ERR_IO;
}

void store_object_path(const struct store *s, int kind, const char *id, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s/%.2s/%s", s->root, cache_kind_dir(kind), id, id);
}

seaf_err store_temp_create(const struct store *s, int kind, const char *id, int *fd,
                           char tmp_path[PATH_MAX])
{
    snprintf(tmp_path, PATH_MAX, "%s/%s/%d-%s.XXXXXX", s->root, TEMP_DIR, kind, id);
    *fd = mkostemp(tmp_path, O_CLOEXEC);
    return *fd < 0 ? io_err_from_errno(errno) : SEAF_OK;
}

/* fsyncs a directory (so that a rename in it is durable). */
static seaf_err sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_err_from_errno(errno);
    seaf_err err = fsync(fd) == 0 ? SEAF_OK : io_err_from_errno(errno);
    close(fd);
    return err;
}

seaf_err store_publish(const struct store *s, const char *tmp_path, int kind, const char *id,
                       bool sync)
{
    char path[PATH_MAX];
    char dir[PATH_MAX];
    store_object_path(s, kind, id, path);
    snprintf(dir, sizeof(dir), "%s/%s/%.2s", s->root, cache_kind_dir(kind), id);
    if (rename(tmp_path, path) != 0) {
        if (errno != ENOENT)
            return io_err_from_errno(errno);
        /* The fan-out directory does not exist yet. */
        seaf_err err = make_dir(dir);
        if (err != SEAF_OK)
            return err;
        if (rename(tmp_path, path) != 0)
            return io_err_from_errno(errno);
    }
    return sync ? sync_dir(dir) : SEAF_OK;
}

seaf_err store_open_object(const struct store *s, int kind, const char *id, int *fd)
{
    char path[PATH_MAX];
    store_object_path(s, kind, id, path);
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    return *fd < 0 ? io_err_from_errno(errno) : SEAF_OK;
}

seaf_err store_remove(const struct store *s, int kind, const char *id)
{
    char path[PATH_MAX];
    store_object_path(s, kind, id, path);
    if (unlink(path) == 0 || errno == ENOENT)
        return SEAF_OK;
    return SEAF_ERR_IO;
}

/* A pin marker is named "<kind>-<id>" with the kind as one decimal digit (store_scan_pins reads
 * it back from the first character). */
_Static_assert(CACHE_KIND_LAST < 10, "pin marker names hold the kind as a single digit");

void store_pin_path(const struct store *s, int kind, const char *id, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s/%d-%s", s->root, PINS_DIR, kind, id);
}

seaf_err store_pin_mark(const struct store *s, int kind, const char *id, const char *object_path)
{
    char path[PATH_MAX];
    store_pin_path(s, kind, id, path);
    /* A hard link costs a directory entry; a file of its own costs an inode, which is what
     * makes many small pinned objects slow on some file systems (ext4 without a journal). */
    if (link(object_path, path) == 0 || errno == EEXIST)
        return SEAF_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600); /* no hard links here */
    if (fd < 0)
        return io_err_from_errno(errno);
    close(fd);
    return SEAF_OK;
}

seaf_err store_sync_all(const struct store *s)
{
    int fd = open(s->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return io_err_from_errno(errno);
    seaf_err err = syncfs(fd) == 0 ? SEAF_OK : io_err_from_errno(errno);
    close(fd);
    return err;
}

seaf_err store_pin_clear(const struct store *s, int kind, const char *id)
{
    char path[PATH_MAX];
    store_pin_path(s, kind, id, path);
    return unlink(path) == 0 || errno == ENOENT ? SEAF_OK : SEAF_ERR_IO;
}

seaf_err store_scan_pins(const struct store *s, store_pin_fn fn, void *ctx)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->root, PINS_DIR);
    DIR *d = opendir(path);
    if (d == NULL)
        return SEAF_ERR_IO;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        int kind = name[0] - '0';
        const char *id = name + 2;
        if (!cache_kind_valid(kind) || name[1] != '-' || !seaf_id_valid(id, strlen(id))) {
            unlinkat(dirfd(d), name, 0);
            continue;
        }
        fn(kind, id, ctx);
    }
    closedir(d);
    return SEAF_OK;
}

unsigned store_clear_temp(const struct store *s)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->root, TEMP_DIR);
    DIR *d = opendir(path);
    if (d == NULL)
        return 0;
    unsigned removed = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}

/* Scans one fan-out directory (kind dir / two hex digits). */
static seaf_err scan_fanout(int kind, const char *fanout, int dir_fd, store_scan_fn fn, void *ctx,
                            int *stop)
{
    int fd = openat(dir_fd, fanout, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return SEAF_OK; /* a stray non-directory; ignored */
    DIR *d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        return SEAF_ERR_IO;
    }
    struct dirent *e;
    while (!*stop && (e = readdir(d)) != NULL) {
        const char *name = e->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        struct stat st;
        if (fstatat(dirfd(d), name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (!S_ISREG(st.st_mode) || !seaf_id_valid(name, strlen(name)) ||
            strncmp(name, fanout, 2) != 0) {
            unlinkat(dirfd(d), name, S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0);
            continue;
        }
        *stop = fn(kind, name, (uint64_t)st.st_size, st.st_mtime, ctx);
    }
    closedir(d);
    return SEAF_OK;
}

seaf_err store_scan(const struct store *s, int kind, store_scan_fn fn, void *ctx)
{
    int stop = 0;
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->root, cache_kind_dir(kind));
    DIR *d = opendir(path);
    if (d == NULL)
        return errno == ENOENT ? SEAF_OK : SEAF_ERR_IO;
    struct dirent *e;
    seaf_err err = SEAF_OK;
    while (err == SEAF_OK && !stop && (e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            err = scan_fanout(kind, e->d_name, dirfd(d), fn, ctx, &stop);
    }
    closedir(d);
    return err;
}

bool store_kind_dir_exists(const struct store *s, int kind)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->root, cache_kind_dir(kind));
    return access(path, F_OK) == 0;
}

void store_remove_kind_dir(const struct store *s, int kind)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", s->root, cache_kind_dir(kind));
    DIR *d = opendir(path);
    if (d == NULL)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
    closedir(d);
    rmdir(path);
}
