/* staging: the cache directory's staging area -- one sparse file per staged file (data of a
 * file being changed locally, not yet folded into blocks), named by its journal id under
 * staging/. Staged data is never evicted; its bytes count towards the cache's use, so clean
 * objects make room for it, and writers are slowed (cache_wait_room) while the cache is over its
 * limit. The files' meaning (which bytes are valid) is in the journal, not here. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache_int.h"
#include "io_util.h"

#define STAGING_DIR "staging"

static void staging_path(const struct cache *c, uint64_t id, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/" STAGING_DIR "/%" PRIu64, c->store.root, id);
}

seaf_err cache_staging_open(struct cache *c, uint64_t id, bool create, int *fd)
{
    char path[PATH_MAX];
    if (create) {
        snprintf(path, sizeof(path), "%s/" STAGING_DIR, c->store.root);
        if (mkdir(path, 0700) != 0 && errno != EEXIST)
            return io_err_from_errno(errno);
    }
    staging_path(c, id, path);
    *fd = open(path, O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0), 0600);
    if (*fd >= 0)
        return SEAF_OK;
    return errno == ENOENT ? SEAF_ERR_NOT_FOUND : io_err_from_errno(errno);
}

seaf_err cache_staging_remove(struct cache *c, uint64_t id)
{
    char path[PATH_MAX];
    staging_path(c, id, path);
    if (unlink(path) == 0 || errno == ENOENT)
        return SEAF_OK;
    return io_err_from_errno(errno);
}

seaf_err cache_staging_sync_dir(struct cache *c)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" STAGING_DIR, c->store.root);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? SEAF_OK : io_err_from_errno(errno);
    int rc = fsync(fd);
    close(fd);
    return rc == 0 ? SEAF_OK : SEAF_ERR_IO;
}

seaf_err cache_staging_scan(struct cache *c, cache_staging_fn fn, void *ctx)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/" STAGING_DIR, c->store.root);
    DIR *d = opendir(path);
    if (!d)
        return errno == ENOENT ? SEAF_OK : io_err_from_errno(errno);
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char *end = NULL;
        errno = 0;
        unsigned long long id = strtoull(de->d_name, &end, 10);
        if (de->d_name[0] < '1' || de->d_name[0] > '9' || *end || errno)
            continue; /* ".", "..", anything not ours */
        if (fn(ctx, (uint64_t)id))
            break;
    }
    closedir(d);
    return SEAF_OK;
}

void cache_staging_account(struct cache *c, int64_t delta)
{
    pthread_mutex_lock(&c->lock);
    if (delta < 0) {
        uint64_t drop = (uint64_t)-delta;
        drop = drop > c->staged ? c->staged : drop;
        c->staged -= drop;
        c->used -= drop > c->used ? c->used : drop;
        pthread_cond_broadcast(&c->changed);
    } else {
        c->staged += (uint64_t)delta;
        c->used += (uint64_t)delta;
        evict_kick_locked(c);
    }
    pthread_mutex_unlock(&c->lock);
}

void cache_usage(struct cache *c, uint64_t *used, uint64_t *limit, uint64_t *staged)
{
    pthread_mutex_lock(&c->lock);
    *used = c->used;
    *limit = c->opts.size_limit;
    *staged = c->staged;
    pthread_mutex_unlock(&c->lock);
}

bool cache_wait_room(struct cache *c, unsigned timeout_ms)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->lock);
    evict_kick_locked(c);
    while (c->used > c->opts.size_limit && !c->stopping)
        if (pthread_cond_timedwait(&c->changed, &c->lock, &deadline) == ETIMEDOUT)
            break;
    bool room = c->used <= c->opts.size_limit;
    pthread_mutex_unlock(&c->lock);
    return room;
}
