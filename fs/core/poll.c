/* poll: change detection by polling (protocol doc §7.1: SeaDrive polls the library list, whose
 * entries carry head_commit_id, so one request per interval covers every library). Each poll
 * asks the file server's cheap accessible-repos (C/Go, no Django) with a library's sync token;
 * Seahub's full /api2/repos/ only when that list names other libraries than the mount shows, or
 * the endpoint is missing (remembered) or refuses the token. The quota is not polled (quota.c).
 *
 * A library whose head moved gets a new generation and forgets its root id; node.c resolves its
 * inodes again on the next access. The kernel is told with fuse_lowlevel_notify_inval_inode
 * (attributes and page cache) and _inval_entry (names) for every inode it knows in that
 * library, from this thread, never from inside a request; and with _inval_entry for every name
 * the kernel caches as absent there (inode.h, absent names): a superset of the names the change
 * brought in, and so no diff of trees. A change of the library list drops every absent name.
 * Open files are unaffected: their handles own the block list they were opened with. */
#define FUSE_USE_VERSION 35
#include "poll.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fetch.h"
#include "fileserver_api.h"
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
        if (refs[i].ino)
            fuse_lowlevel_notify_inval_inode(se, refs[i].ino, 0, 0);
        fuse_lowlevel_notify_inval_entry(se, refs[i].parent, refs[i].name, strlen(refs[i].name));
    }
}

/* The kernel forgets the names it caches as absent in library repo_id (NULL: everywhere). */
static void invalidate_absent(struct seafs *fs, const char *repo_id)
{
    struct inode_ref *refs = NULL;
    size_t n = inode_table_collect_absent(fs->inodes, repo_id, &refs);
    invalidate_refs(fs->session, refs, n);
    inode_refs_free(refs, n);
}

void poll_invalidate_library(struct seafs *fs, const char *repo_id)
{
    if (!fs->session)
        return;
    struct inode_ref *refs = NULL;
    size_t n = inode_table_collect(fs->inodes, repo_id, &refs);
    invalidate_refs(fs->session, refs, n);
    inode_refs_free(refs, n);
    invalidate_absent(fs, repo_id);
}

/* Drops the kernel's view of the top levels: the mount point, categories and library folders. */
static void invalidate_top(struct seafs *fs, const struct library_list *old)
{
    invalidate_absent(fs, NULL); /* new folder names, and libraries back under an old inode */
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

/* lib shows head from now on: its root is resolved again, and a new generation makes every
 * inode of it be resolved again too (libs_lock held for writing). */
static void set_head(struct seafs *fs, struct library *lib, const char *head)
{
    snprintf(lib->head_commit_id, sizeof(lib->head_commit_id), "%s", head);
    lib->root_id[0] = '\0';
    lib->generation = ++fs->next_generation;
}

void poll_adopt_head(struct seafs *fs, const char *repo_id, const char *head, bool invalidate)
{
    pthread_rwlock_wrlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    if (lib) {
        set_head(fs, lib, head);
        lib->adopted_epoch = atomic_fetch_add(&fs->head_epoch, 1) + 1;
    }
    pthread_rwlock_unlock(&fs->libs_lock);
    if (lib && invalidate)
        poll_invalidate_library(fs, repo_id);
    else /* absences read across the change are not cached (the view may gain names) */
        inode_table_advance_absent(fs->inodes);
}

bool poll_head_shown(struct seafs *fs, const char *repo_id, const char *head)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    bool shown = lib && strcmp(lib->head_commit_id, head) == 0;
    pthread_rwlock_unlock(&fs->libs_lock);
    return shown;
}

/* What a refresh changed, told once the list is in place: the saved list is rewritten, the
 * uploader hears of libraries gone with unsent changes, the kernel forgets what it cached of
 * libraries that moved (and of the top folder when the layout changed). old: the list before
 * (NULL when only heads moved in place). */
struct refresh_changes {
    char *saved_text; /* the new list as saved; NULL when nothing changed */
    char (*changed)[SEAF_REPO_ID_LEN + 1];
    size_t n_changed;
    bool top_changed;
};

static void announce(struct seafs *fs, struct refresh_changes *c, const struct library_list *old,
                     const struct library_list *fresh)
{
    if (c->saved_text) {
        int save = library_list_write(c->saved_text, fs->libraries_file);
        if (save)
            log_msg(LOG_WARNING, "cannot save the library list to %s: %s", fs->libraries_file,
                    strerror(-save));
    }
    /* A library with unsent changes that the account no longer sees: the uploader finds out
     * why and saves them. */
    for (size_t i = 0; old && i < old->n; i++) /* none at start, while the overlay opens */
        if (!library_list_find(fresh, old->libs[i].id) && fs->overlay &&
            overlay_library_node(fs->overlay, old->libs[i].id))
            uploader_notify(fs->uploader, old->libs[i].id);
    if (fs->session) {
        for (size_t i = 0; i < c->n_changed; i++) {
            log_msg(LOG_INFO, "library %s changed on the server", c->changed[i]);
            poll_invalidate_library(fs, c->changed[i]);
        }
        if (c->top_changed && old)
            invalidate_top(fs, old);
    }
    free(c->saved_text);
    free(c->changed);
}

/* Takes lib's head from the server's list unless an upload adopted a newer one since the list
 * was asked for (head_epoch was epoch then). Returns whether it changed (lock held). */
static bool take_head(struct seafs *fs, struct library *lib, const char *head, uint64_t epoch,
                      struct refresh_changes *c)
{
    if (strcmp(lib->head_commit_id, head) == 0 || lib->adopted_epoch > epoch)
        return false;
    set_head(fs, lib, head);
    memcpy(c->changed[c->n_changed++], lib->id, sizeof(*c->changed));
    return true;
}

/* Whether the file server's list names exactly the libraries shown (same ids, names,
 * permissions, kinds and -- but for group libraries, whose owner the two lists name differently
 * -- owners: everything the folders are made of), so that only heads can have moved (lock
 * held). */
static bool same_libraries(const struct library_list *shown, const struct seahub_repo_list *heads)
{
    size_t kept = 0;
    for (size_t i = 0; i < heads->n_repos; i++) {
        const struct seahub_repo *r = &heads->repos[i];
        if (!r->name || r->version != 1)
            continue; /* left out of the shown list too (library_list_from_repos) */
        const struct library *lib = library_list_find(shown, r->id);
        if (!lib || strcmp(lib->name, r->name) != 0 || lib->read_only != r->read_only ||
            lib->kind != library_kind_of(r))
            return false;
        if (lib->kind != LIBRARY_GROUP && (!r->owner || strcmp(lib->owner, r->owner) != 0))
            return false;
        kept++;
    }
    return kept == shown->n;
}

/* The cheap refresh (protocol doc §7.1, as SeaDrive polls): one file-server request lists every
 * library with its head. 1 when it showed the same libraries and their heads were taken; 0 when
 * Seahub's full list is needed (libraries came, went or changed; the endpoint is missing or
 * refused the token; no library to ask with); -errno when the server cannot be reached. */
static int refresh_heads(struct seafs *fs, uint64_t epoch, seaf_err *err_out)
{
    char asker[SEAF_REPO_ID_LEN + 1] = "";
    pthread_rwlock_rdlock(&fs->libs_lock);
    if (fs->libs.n > 0)
        memcpy(asker, fs->libs.libs[0].id, sizeof(asker));
    pthread_rwlock_unlock(&fs->libs_lock);
    if (!asker[0] || atomic_load(&fs->no_accessible_repos))
        return 0;
    struct seahub_repo_list heads = {0};
    seaf_err err = fileserver_accessible_repos(fs->client, asker, &heads);
    if (err == SEAF_ERR_NOT_FOUND) { /* an old server: remembered, as SeaDrive does */
        log_msg(LOG_INFO, "the file server has no accessible-repos: polling the library list");
        atomic_store(&fs->no_accessible_repos, true);
        return 0;
    }
    if (err == SEAF_ERR_PERMISSION || err == SEAF_ERR_AUTH) {
        seaf_client_forget_repo_token(fs->client, asker);
        return 0;
    }
    if (err == SEAF_ERR_NETWORK || err == SEAF_ERR_TIMEOUT || err == SEAF_ERR_TLS) {
        if (err_out)
            *err_out = err;
        return -seaf_err_to_errno(err);
    }
    if (err != SEAF_OK)
        return 0; /* anything else (garbage, 5xx): Seahub's list decides */
    struct refresh_changes c = {.changed = calloc(heads.n_repos + 1, sizeof(*c.changed))};
    pthread_rwlock_wrlock(&fs->libs_lock);
    bool same = c.changed && same_libraries(&fs->libs, &heads);
    for (size_t i = 0; same && i < heads.n_repos; i++) {
        struct library *lib = library_list_find(&fs->libs, heads.repos[i].id);
        if (lib && take_head(fs, lib, heads.repos[i].head_commit_id, epoch, &c))
            lib->mtime = heads.repos[i].mtime;
    }
    if (same && c.n_changed)
        c.saved_text = library_list_text(&fs->libs);
    pthread_rwlock_unlock(&fs->libs_lock);
    seahub_repo_list_release(&heads);
    if (!same) {
        free(c.changed);
        return 0;
    }
    announce(fs, &c, NULL, NULL);
    return 1;
}

/* The online flag follows the last refresh; the change is logged once. */
static void set_online(struct seafs *fs, seaf_err err)
{
    if (err != SEAF_OK) {
        if (atomic_exchange(&fs->online, false))
            log_msg(LOG_WARNING, "cannot refresh the library list (%s): working from the cache",
                    seaf_strerror(err));
    } else if (!atomic_exchange(&fs->online, true)) {
        log_msg(LOG_INFO, "server reachable: library list refreshed");
    }
}

int poll_refresh(struct seafs *fs, seaf_err *err_out)
{
    /* A head adopted after an upload while the list was on its way is newer than the list's. */
    uint64_t epoch = atomic_load(&fs->head_epoch);
    seaf_err err = SEAF_OK;
    int cheap = refresh_heads(fs, epoch, &err);
    if (cheap != 0) {
        set_online(fs, err);
        if (err_out)
            *err_out = err;
        return cheap < 0 ? cheap : 0;
    }
    struct seahub_repo_list repos = {0};
    err = seahub_list_repos(fs->client, &repos);
    if (err_out)
        *err_out = err;
    set_online(fs, err);
    if (err != SEAF_OK)
        return -seaf_err_to_errno(err);
    struct library_list fresh;
    int rc = library_list_from_repos(&repos, fs->opts->layout, &fresh);
    seahub_repo_list_release(&repos);
    if (rc)
        return rc;

    /* What gets saved are the server's fields, final already: the text is made now and written
     * (with its fsync) after the lock is released, when anything changed. */
    char *saved_text = library_list_text(&fresh);
    struct refresh_changes c = {.changed = calloc(fresh.n + 1, sizeof(*c.changed))};
    pthread_rwlock_wrlock(&fs->libs_lock);
    struct library_list old = fs->libs;
    c.top_changed = folders_changed(&old, &fresh);
    bool any_change = c.top_changed;
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
        if (before && c.changed)
            memcpy(c.changed[c.n_changed++], lib->id, sizeof(*c.changed));
    }
    fs->libs = fresh;
    pthread_rwlock_unlock(&fs->libs_lock);
    if (any_change && !saved_text)
        log_msg(LOG_WARNING, "cannot save the library list to %s: %s", fs->libraries_file,
                strerror(ENOMEM));
    if (any_change)
        c.saved_text = saved_text;
    else
        free(saved_text);
    announce(fs, &c, &old, &fresh);
    library_list_release(&old);
    return 0;
}

static void *poll_main(void *arg)
{
    struct poller *p = arg;
    unsigned interval = p->fs->opts->poll_interval;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += interval;
        while (!p->stopping && pthread_cond_timedwait(&p->wake, &p->lock, &deadline) != ETIMEDOUT)
            ;
        if (p->stopping)
            break;
        pthread_mutex_unlock(&p->lock);
        poll_refresh(p->fs, NULL);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

struct poller *poll_start(struct seafs *fs)
{
    if (fs->opts->poll_interval == 0)
        return NULL;
    struct poller *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->fs = fs;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, poll_main, p) != 0) {
        log_msg(LOG_ERR, "cannot start the polling thread");
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
