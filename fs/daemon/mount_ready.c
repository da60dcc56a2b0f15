/* mount_ready: the listing thread. It opens the mount point, checks that the directory it got is
 * a FUSE file system (not the directory underneath after an early unmount) and reads every
 * entry: that takes the kernel's FUSE init, a lookup of the root and a readdir, all answered by
 * the session loop. A lock orders a failed listing's signal against mount_ready_session_over, so
 * no signal reaches the loop thread once fuse's handlers may be gone. */
#include "mount_ready.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/vfs.h>

#include "log.h"

#define FUSE_SUPER_MAGIC 0x65735546

struct mount_ready {
    char *mountpoint;
    void (*ready)(void *ctx);
    void *ctx;
    pthread_t thread;
    pthread_t loop_thread;
    pthread_mutex_t lock;
    bool session_over; /* under lock */
    int failure;       /* -errno of a failed listing that ended the session, else 0 */
};

/* Lists the mount point. 0 or -errno. */
static int list_mountpoint(const char *mountpoint, size_t *entries)
{
    DIR *dir = opendir(mountpoint);
    if (!dir)
        return -errno;
    int rc = 0;
    struct statfs fs;
    if (fstatfs(dirfd(dir), &fs) != 0)
        rc = -errno;
    else if (fs.f_type != FUSE_SUPER_MAGIC)
        rc = -ENOTCONN; /* unmounted before it answered */
    *entries = 0;
    while (rc == 0) {
        errno = 0;
        struct dirent *entry = readdir(dir);
        if (!entry) {
            rc = -errno;
            break;
        }
        (*entries)++;
    }
    closedir(dir);
    return rc;
}

static void *listing_thread(void *arg)
{
    struct mount_ready *w = arg;
    size_t entries = 0;
    int rc = list_mountpoint(w->mountpoint, &entries);
    if (rc == 0) {
        log_msg(LOG_DEBUG, "%s answers (%zu entries)", w->mountpoint, entries);
        w->ready(w->ctx);
        return NULL;
    }
    pthread_mutex_lock(&w->lock);
    if (!w->session_over) { /* else the session ended first: expected to fail then */
        log_msg(LOG_ERR, "the mount on %s does not answer: %s", w->mountpoint, strerror(-rc));
        w->failure = rc;
        pthread_kill(w->loop_thread, SIGTERM);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct mount_ready *mount_ready_start(const char *mountpoint, void (*ready)(void *ctx), void *ctx)
{
    struct mount_ready *w = calloc(1, sizeof(*w));
    if (!w || !(w->mountpoint = strdup(mountpoint))) {
        free(w);
        return NULL;
    }
    w->ready = ready;
    w->ctx = ctx;
    w->loop_thread = pthread_self();
    pthread_mutex_init(&w->lock, NULL);
    if (pthread_create(&w->thread, NULL, listing_thread, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        free(w->mountpoint);
        free(w);
        return NULL;
    }
    return w;
}

void mount_ready_session_over(struct mount_ready *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->session_over = true;
    pthread_mutex_unlock(&w->lock);
}

int mount_ready_finish(struct mount_ready *w)
{
    if (!w)
        return -ENOMEM;
    pthread_join(w->thread, NULL);
    int rc = w->failure;
    pthread_mutex_destroy(&w->lock);
    free(w->mountpoint);
    free(w);
    return rc;
}
