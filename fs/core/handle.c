/* handle: open files (see handle.h). A handle keeps the inode it was opened on; a read through a
 * handle holding a server version first checks whether that inode has been staged meanwhile
 * (one inode-table lookup) and then reads the staged file instead. Writes only ever go through
 * handles holding a staged file: opening for writing stages the file. */
#include "handle.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>

#include "changes.h"
#include "dirty.h"
#include "file.h"
#include "log.h"
#include "node.h"
#include "uploader.h"

struct open_handle {
    uint64_t ino;
    bool writer;
    pthread_mutex_t lock;
    struct open_file *version; /* the server version opened (read-only handles) */
    struct dirty_file *dirty;  /* protected by lock once set: the staged file */
    /* A reader's earlier staged files (references kept until the close: a read may still be
     * using one when the reader moves on to a newer one). Protected by lock. */
    struct dirty_file **retired;
    size_t n_retired;
    struct open_handle *prev_open, *next_open; /* in the registry (protected by its lock) */
};

/* Every open handle of the mount (one mount per process), so that a file staged by a writer is
 * attached at once to the handles reading it: they then hold its staged content too, which an
 * unlinked or replaced file keeps only while some descriptor has it (as on a local disk). */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_handle *registry;

static void registry_add(struct open_handle *h)
{
    pthread_mutex_lock(&registry_lock);
    h->next_open = registry;
    if (registry)
        registry->prev_open = h;
    registry = h;
    pthread_mutex_unlock(&registry_lock);
}

static void registry_remove(struct open_handle *h)
{
    pthread_mutex_lock(&registry_lock);
    if (h->prev_open)
        h->prev_open->next_open = h->next_open;
    else if (registry == h)
        registry = h->next_open;
    if (h->next_open)
        h->next_open->prev_open = h->prev_open;
    pthread_mutex_unlock(&registry_lock);
}

static struct open_handle *handle_new(uint64_t ino, bool writer)
{
    struct open_handle *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->ino = ino;
    h->writer = writer;
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

/* Makes now (a reference the caller gives away) reader h's staged file; the one it had is kept
 * until the close (a read may still be using it). Returns the staged file h reads now. */
static struct dirty_file *reader_switch(struct seafs *fs, struct open_handle *h,
                                        struct dirty_file *now)
{
    pthread_mutex_lock(&h->lock);
    struct dirty_file *old = h->dirty;
    struct dirty_file **more =
        old ? realloc(h->retired, (h->n_retired + 1) * sizeof(*more)) : h->retired;
    if (old && (old == now || !more)) { /* another reader switched first */
        pthread_mutex_unlock(&h->lock);
        dirty_put(fs->dirty, now);
        return old;
    }
    h->retired = more;
    if (old)
        h->retired[h->n_retired++] = old;
    h->dirty = now;
    pthread_mutex_unlock(&h->lock);
    return now;
}

static struct dirty_file *current_dirty(struct seafs *fs, struct open_handle *h)
{
    pthread_mutex_lock(&h->lock);
    struct dirty_file *d = h->dirty;
    pthread_mutex_unlock(&h->lock);
    if (d && h->writer)
        return d; /* a writer's staged file stays until it is closed */
    /* A reader follows the file's staged content: staged since it opened, or staged again
     * after an upload settled the staged file it read so far. */
    struct inode_info info;
    if (!inode_table_get(fs->inodes, h->ino, &info, NULL, NULL) || !info.staged ||
        (d && dirty_id(d) == info.staged))
        return d;
    struct dirty_file *now = NULL;
    if (dirty_get(fs->dirty, info.staged, &now) != 0)
        return d;
    return reader_switch(fs, h, now);
}

void handle_attach_readers(struct seafs *fs, uint64_t ino, struct dirty_file *d)
{
    pthread_mutex_lock(&registry_lock);
    for (struct open_handle *h = registry; h; h = h->next_open) {
        if (h->writer || h->ino != ino)
            continue;
        struct dirty_file *ref = NULL;
        if (dirty_get(fs->dirty, dirty_id(d), &ref) == 0)
            reader_switch(fs, h, ref);
    }
    pthread_mutex_unlock(&registry_lock);
}

void handle_keep_learned(void)
{
    pthread_mutex_lock(&registry_lock);
    for (struct open_handle *h = registry; h; h = h->next_open)
        file_keep_learned(h->version);
    pthread_mutex_unlock(&registry_lock);
}

int handle_open(struct seafs *fs, uint64_t ino, int flags, struct open_handle **out)
{
    bool writer = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
    struct inode_info info;
    int rc = node_resolve(fs, ino, &info);
    if (rc)
        return rc;
    if (info.kind != INODE_FILE)
        return -EISDIR;
    struct open_handle *h = handle_new(ino, writer);
    if (!h)
        return -ENOMEM;
    if (writer)
        rc = changes_open_for_writing(fs, ino, (flags & O_TRUNC) != 0, &h->dirty);
    else if (info.staged && (rc = dirty_get(fs->dirty, info.staged, &h->dirty)) == -ENOENT &&
             (rc = node_resolve(fs, ino, &info)) == 0 && info.staged)
        /* settled by an upload just now: the inode says what the server has instead */
        rc = dirty_get(fs->dirty, info.staged, &h->dirty);
    if (!writer && !h->dirty && rc == 0)
        rc = file_open(fs, ino, flags, &h->version);
    if (rc) {
        pthread_mutex_destroy(&h->lock);
        free(h);
        return rc;
    }
    registry_add(h);
    *out = h;
    return 0;
}

int handle_create(struct seafs *fs, uint64_t parent, const char *name, mode_t mode, uint64_t *ino,
                  struct stat *st, struct open_handle **out)
{
    struct dirty_file *d = NULL;
    int rc = changes_create(fs, parent, name, mode, ino, st, &d);
    if (rc)
        return rc;
    struct open_handle *h = handle_new(*ino, true);
    if (!h) {
        dirty_writer_end(d);
        dirty_put(fs->dirty, d);
        return -ENOMEM;
    }
    h->dirty = d;
    registry_add(h);
    handle_attach_readers(fs, *ino, d);
    *out = h;
    return 0;
}

/* The staged file to read from: the handle's, or the inode's when it was staged meanwhile. */
ssize_t handle_read(struct seafs *fs, struct open_handle *h, char *buf, size_t size, uint64_t off)
{
    struct dirty_file *d = current_dirty(fs, h);
    if (d)
        return dirty_read(fs->dirty, d, buf, size, off);
    return file_read(fs, h->version, buf, size, off);
}

ssize_t handle_write(struct seafs *fs, struct open_handle *h, const char *buf, size_t size,
                     uint64_t off)
{
    struct dirty_file *d = current_dirty(fs, h);
    if (!d)
        return -EBADF;
    uint64_t cur_size;
    int64_t mtime;
    if (fs->uploader && uploader_over_quota(fs->uploader, dirty_repo(d)) &&
        dirty_attr_of(fs->dirty, dirty_id(d), &cur_size, &mtime) && off + size > cur_size)
        return -EDQUOT; /* growing a file the server has no room for; rewrites go on */
    return dirty_write(fs->dirty, d, buf, size, off);
}

int handle_flush(struct seafs *fs, struct open_handle *h)
{
    file_flushed(h->version);
    struct dirty_file *d = h->writer ? current_dirty(fs, h) : NULL;
    int rc = d ? dirty_persist(fs->dirty, d, false) : 0;
    if (d && rc == 0)
        uploader_notify(fs->uploader, dirty_repo(d));
    return rc;
}

int handle_fsync(struct seafs *fs, struct open_handle *h)
{
    struct dirty_file *d = current_dirty(fs, h);
    int rc = d ? dirty_persist(fs->dirty, d, true) : 0;
    if (rc == 0 && d)
        uploader_notify(fs->uploader, dirty_repo(d));
    if (rc == 0 && d && fs->opts->fsync_server && fs->uploader) {
        /* -o fsync=server: on the server within the request timeout, or EIO. */
        char why[256];
        rc = uploader_wait(fs->uploader, dirty_repo(d), fs->opts->timeout, why, sizeof(why));
        if (rc)
            log_msg(LOG_WARNING, "fsync: not on the server: %s", why);
        rc = rc ? -EIO : 0;
    }
    return rc;
}

struct dirty_file *handle_dirty(struct open_handle *h)
{
    pthread_mutex_lock(&h->lock);
    struct dirty_file *d = h->dirty;
    pthread_mutex_unlock(&h->lock);
    return d;
}

bool handle_is_writer(const struct open_handle *h)
{
    return h->writer;
}

void handle_release(struct seafs *fs, struct open_handle *h)
{
    if (!h)
        return;
    registry_remove(h);
    if (h->dirty) {
        if (h->writer) {
            dirty_writer_end(h->dirty);
            /* The file may have waited for this close to be uploaded. */
            uploader_notify(fs->uploader, dirty_repo(h->dirty));
        }
        dirty_put(fs->dirty, h->dirty);
    }
    for (size_t i = 0; i < h->n_retired; i++)
        dirty_put(fs->dirty, h->retired[i]);
    free(h->retired);
    file_close(h->version);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
