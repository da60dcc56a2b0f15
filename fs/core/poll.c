/* poll: change detection by polling (protocol doc §7.1: SeaDrive polls the library list, whose
 * entries carry head_commit_id, so one request per interval covers every library). The quota
 * (account info) is asked by the polling thread after each round and once at its start, never
 * on the mount's path.
 *
 * A library whose head moved gets a new generation and forgets its root id; node.c resolves its
 * inodes again on the next access. The kernel is told with fuse_lowlevel_notify_inval_inode
 * (attributes and page cache) and _inval_entry (names) for every inode it knows in that
 * library, from this thread, never from inside a request. Open files are unaffected: their
 * handles own the block list they were opened with. */
#define FUSE_USE_VERSION 35
#include "poll.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "log.h"
#include "overlay.h"
#include "uploader.h"

struct poller {
    struct seafs *fs;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stopping; /* protected by lock */
};

/* Whether the folder layout differs (a library added, removed or renamed). */
static bool folders_changed(const struct library_list *a, const struct library_list *b)
{
    if (a->n != b->n)
        return true;
    for (size_t i = 0; i < a->n; i++) {
        const struct library *other = library_list_find(b, a->libs[i].id);
        if (!other || strcmp(other->folder, a->libs[i].folder) != 0)
            return true;
        if ((a->libs[i].category == NULL) != (other->category == NULL) ||
            (other->category && strcmp(other->category, a->libs[i].category) != 0))
            return true;
    }
    return false;
}

static void invalidate_refs(struct fuse_session *se, struct inode_ref *refs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fuse_lowlevel_notify_inval_inode(se, refs[i].ino, 0, 0);
        fuse_lowlevel_notify_inval_entry(se, refs[i].parent, refs[i].name, strlen(refs[i].name));
    }
}

void poll_invalidate_library(struct seafs *fs, const char *repo_id)
{
    if (!fs->session)
        return;
    struct inode_ref *refs = NULL;
    size_t n = inode_table_collect(fs->inodes, repo_id, &refs);
    invalidate_refs(fs->session, refs, n);
    inode_refs_free(refs, n);
}

/* Drops the kernel's view of the top levels: the mount point, categories and library folders. */
static void invalidate_top(struct seafs *fs, const struct library_list *old)
{
    fuse_lowlevel_notify_inval_inode(fs->session, INODE_ROOT, 0, 0);
    for (size_t i = 0; i < old->n; i++) {
        const struct library *lib = &old->libs[i];
        uint64_t parent = INODE_ROOT;
        if (lib->category) {
            parent = inode_table_find(fs->inodes, INODE_ROOT, lib->category);
            fuse_lowlevel_notify_inval_entry(fs->session, INODE_ROOT, lib->category,
                                             strlen(lib->category));
            if (!parent)
                continue;
            fuse_lowlevel_notify_inval_inode(fs->session, parent, 0, 0);
        }
        fuse_lowlevel_notify_inval_entry(fs->session, parent, lib->folder, strlen(lib->folder));
    }
}

static void refresh_quota(struct seafs *fs)
{
    struct seahub_account account;
    memset(&account, 0, sizeof(account));
    if (seahub_account_info(fs->client, &account) != SEAF_OK) {
        atomic_store(&fs->quota_tried, true);
        return;
    }
    pthread_rwlock_wrlock(&fs->libs_lock);
    fs->quota_total = account.total;
    fs->quota_used = account.usage;
    pthread_rwlock_unlock(&fs->libs_lock);
    atomic_store(&fs->quota_tried, true);
    seahub_account_release(&account);
}

void poll_wait_quota(struct seafs *fs)
{
    const struct timespec step = {0, 5 * 1000 * 1000};
    for (unsigned waited_ms = 0;
         !atomic_load(&fs->quota_tried) && waited_ms < fs->opts->timeout * 1000u; waited_ms += 5)
        nanosleep(&step, NULL);
}

void poll_adopt_head(struct seafs *fs, const char *repo_id, const char *head, bool invalidate)
{
    pthread_rwlock_wrlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    if (lib) {
        snprintf(lib->head_commit_id, sizeof(lib->head_commit_id), "%s", head);
        lib->root_id[0] = '\0';
        lib->generation = ++fs->next_generation;
        lib->adopted_epoch = atomic_fetch_add(&fs->head_epoch, 1) + 1;
    }
    pthread_rwlock_unlock(&fs->libs_lock);
    if (lib && invalidate)
        poll_invalidate_library(fs, repo_id);
}

bool poll_head_shown(struct seafs *fs, const char *repo_id, const char *head)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    bool shown = lib && strcmp(lib->head_commit_id, head) == 0;
    pthread_rwlock_unlock(&fs->libs_lock);
    return shown;
}

int poll_refresh(struct seafs *fs, seaf_err *err_out)
{
    /* A head adopted after an upload while the list was on its way is newer than the list's. */
    uint64_t epoch = atomic_load(&fs->head_epoch);
    struct seahub_repo_list repos = {0};
    seaf_err err = seahub_list_repos(fs->client, &repos);
    if (err_out)
        *err_out = err;
    if (err != SEAF_OK) {
        if (atomic_exchange(&fs->online, false))
            log_msg(LOG_WARNING, "cannot refresh the library list (%s): working from the cache",
                    seaf_strerror(err));
        return -seaf_err_to_errno(err);
    }
    if (!atomic_exchange(&fs->online, true))
        log_msg(LOG_INFO, "server reachable: library list refreshed");
    struct library_list fresh;
    int rc = library_list_from_repos(&repos, fs->opts->layout, &fresh);
    seahub_repo_list_release(&repos);
    if (rc)
        return rc;

    /* What gets saved are the server's fields, final already: the text is made now and written
     * (with its fsync) after the lock is released, when anything changed. */
    char *saved_text = library_list_text(&fresh);
    char(*changed)[SEAF_REPO_ID_LEN + 1] = calloc(fresh.n + 1, sizeof(*changed));
    size_t n_changed = 0;
    pthread_rwlock_wrlock(&fs->libs_lock);
    struct library_list old = fs->libs;
    bool top_changed = folders_changed(&old, &fresh);
    bool any_change = top_changed;
    for (size_t i = 0; i < fresh.n; i++) {
        struct library *lib = &fresh.libs[i];
        const struct library *before = library_list_find(&old, lib->id);
        if (before && (strcmp(before->head_commit_id, lib->head_commit_id) == 0 ||
                       before->adopted_epoch > epoch)) {
            memcpy(lib->head_commit_id, before->head_commit_id, sizeof(lib->head_commit_id));
            memcpy(lib->root_id, before->root_id, sizeof(lib->root_id));
            lib->generation = before->generation;
            lib->adopted_epoch = before->adopted_epoch;
            continue;
        }
        lib->generation = ++fs->next_generation;
        any_change = true;
        if (before && changed)
            memcpy(changed[n_changed++], lib->id, sizeof(*changed));
    }
    fs->libs = fresh;
    pthread_rwlock_unlock(&fs->libs_lock);

    if (any_change) {
        int save = saved_text ? library_list_write(saved_text, fs->libraries_file) : -ENOMEM;
        if (save)
            log_msg(LOG_WARNING, "cannot save the library list to %s: %s", fs->libraries_file,
                    strerror(-save));
    }
    /* A library with unsent changes that the account no longer sees: the uploader finds out
     * why and saves them. */
    for (size_t i = 0; fs->overlay && i < old.n; i++)
        if (!library_list_find(&fresh, old.libs[i].id) &&
            overlay_library_node(fs->overlay, old.libs[i].id))
            uploader_notify(fs->uploader, old.libs[i].id);
    if (fs->session) {
        for (size_t i = 0; i < n_changed; i++) {
            log_msg(LOG_INFO, "library %s changed on the server", changed[i]);
            poll_invalidate_library(fs, changed[i]);
        }
        if (top_changed)
            invalidate_top(fs, &old);
    }
    library_list_release(&old);
    free(saved_text);
    free(changed);
    return 0;
}

static void *poll_main(void *arg)
{
    struct poller *p = arg;
    unsigned interval = p->fs->opts->poll_interval;
    /* The quota is not needed to show the libraries: it comes after the mount, not before. */
    refresh_quota(p->fs);
    pthread_mutex_lock(&p->lock);
    while (!p->stopping && interval == 0) /* no polling: the quota once, then wait for stop */
        pthread_cond_wait(&p->wake, &p->lock);
    while (!p->stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += interval;
        while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &deadline) != ETIMEDOUT)
            ;
        if (p->stopping)
            break;
        pthread_mutex_unlock(&p->lock);
        if (poll_refresh(p->fs, NULL) == 0)
            refresh_quota(p->fs);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct poller *poll_start(struct seafs *fs)
{
    struct poller *p = calloc(1, sizeof(*p));
    if (!p) {
        atomic_store(&fs->quota_tried, true);
        return NULL;
    }
    p->fs = fs;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, poll_main, p) != 0) {
        log_msg(LOG_ERR, "cannot start the polling thread");
        atomic_store(&fs->quota_tried, true); /* nobody will ask: statfs must not wait */
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->lock);
        free(p);
        return NULL;
    }
    return p;
}

void poll_stop(struct poller *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->lock);
    pthread_join(p->thread, NULL);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
