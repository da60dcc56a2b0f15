/* changes: write-class operations as overlay rows (see changes.h, overlay.h).
 *
 * Every operation resolves what it needs first (names through the view, which may need the
 * server's directory objects), then takes the overlay lock and records its change in one journal
 * transaction: the directories it changes get nodes (made top-down from the library's root node
 * along the names of the inode chain, so a directory renamed meanwhile is found where it is now),
 * and the names get entries. A name that held something on the server (or an earlier local
 * change of it) is deleted with a "deleted" entry remembering what it held; a name made locally
 * and never uploaded just loses its entry. The inode table follows at once (renames move inodes,
 * unlinks detach them), so open files keep working on what they opened. */
#define FUSE_USE_VERSION 35
#include "changes.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "handle.h"
#include "journal.h"
#include "log.h"
#include "node.h"
#include "overlay.h"
#include "trash.h"
#include "uploader.h"

static int64_t now_seconds(void)
{
    return (int64_t)time(NULL);
}

int changes_writable(struct seafs *fs, uint64_t ino)
{
    return -node_write_errno(fs, ino);
}

/* -ENAMETOOLONG / -EINVAL for a name Seafile cannot store. */
static int check_name(const char *name)
{
    size_t len = strlen(name);
    if (len >= SEAF_NAME_MAX)
        return -ENAMETOOLONG;
    return seaf_name_problem(name, len) ? -EINVAL : 0;
}

/* The resolved directory parent, which must take changes. */
static int writable_dir(struct seafs *fs, uint64_t parent, struct inode_info *dir)
{
    int rc = changes_writable(fs, parent);
    if (rc)
        return rc;
    rc = node_resolve(fs, parent, dir);
    if (rc)
        return rc;
    if (dir->kind != INODE_DIR && dir->kind != INODE_LIBRARY)
        return -ENOTDIR;
    if (dir->kind == INODE_LIBRARY) { /* its listing source is the head's root */
        uint64_t generation;
        rc = node_library_root(fs, dir->repo_id, dir->obj_id, &generation);
    }
    return rc;
}

static int journal_errno(struct seafs *fs, seaf_err err)
{
    log_msg(LOG_ERR, "journal of local changes: %s",
            journal_last_error(overlay_journal(fs->overlay)));
    return err == SEAF_ERR_NOSPACE ? -ENOSPC : err == SEAF_ERR_NOMEM ? -ENOMEM : -EIO;
}

/* The inode chain from ino up to (not including) its library: names[0] is ino's own name. */
struct chain {
    uint64_t inos[256];
    char *names[256];
    size_t n;
    uint64_t library; /* the LIBRARY inode */
};

static void chain_release(struct chain *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->names[i]);
}

static int chain_of(struct seafs *fs, uint64_t ino, struct chain *c)
{
    memset(c, 0, sizeof(*c));
    for (;;) {
        struct inode_info info;
        uint64_t parent = 0;
        char *name = NULL;
        if (!inode_table_get(fs->inodes, ino, &info, &parent, &name))
            return -ENOENT;
        if (info.kind == INODE_LIBRARY) {
            free(name);
            c->library = ino;
            return 0;
        }
        if (info.kind != INODE_DIR || c->n == 256) {
            free(name);
            return info.kind != INODE_DIR ? -ENOTDIR : -ELOOP;
        }
        c->inos[c->n] = ino;
        c->names[c->n++] = name;
        ino = parent;
    }
}

/* Sets the node of inode ino in the inode table (other fields kept). */
static void remember_node(struct seafs *fs, uint64_t ino, uint64_t node)
{
    struct inode_info info;
    if (inode_table_get(fs->inodes, ino, &info, NULL, NULL) && info.node != node) {
        info.node = node;
        inode_table_update(fs->inodes, ino, &info);
    }
}

/* The node of directory inode dir (LIBRARY or DIR of library repo), made with those of its
 * ancestors when missing. Overlay lock held, inside the caller's transaction. */
static int ensure_node_locked(struct seafs *fs, const char *repo, uint64_t dir, uint64_t *node)
{
    struct journal *j = overlay_journal(fs->overlay);
    struct chain c;
    int rc = chain_of(fs, dir, &c);
    seaf_err err = rc ? SEAF_OK : journal_library_root(j, repo, true, node);
    if (!rc && err != SEAF_OK)
        rc = journal_errno(fs, err);
    if (!rc)
        remember_node(fs, c.library, *node);
    for (size_t i = c.n; !rc && i-- > 0;) {
        struct journal_entry e;
        err = journal_entry_get(j, *node, c.names[i], &e);
        if (err == SEAF_OK && e.kind != JOURNAL_DIR) {
            rc = -ENOENT; /* deleted or replaced by a file meanwhile */
            break;
        }
        if (err == SEAF_OK && e.child) {
            *node = e.child;
        } else if (err == SEAF_OK || err == SEAF_ERR_NOT_FOUND) {
            bool found = err == SEAF_OK; /* e holds the name's entry (else: a previous name's) */
            uint64_t child;
            if ((err = journal_node_new(j, repo, &child)) != SEAF_OK) {
                rc = journal_errno(fs, err);
                break;
            }
            if (found) {
                e.child = child; /* a directory made or moved locally gets its node */
            } else {
                /* A server directory: its listing follows the server's. */
                struct inode_info info;
                inode_table_get(fs->inodes, c.inos[i], &info, NULL, NULL);
                memset(&e, 0, sizeof(e));
                e.parent = *node;
                snprintf(e.name, sizeof(e.name), "%s", c.names[i]);
                e.kind = JOURNAL_DIR;
                memcpy(e.base, info.obj_id, sizeof(e.base));
                memcpy(e.obj, info.obj_id, sizeof(e.obj));
                e.follow = true;
                e.child = child;
                e.mode = SEAF_MODE_DIR;
                e.mtime = info.mtime;
            }
            if ((err = journal_entry_put(j, &e)) != SEAF_OK) {
                rc = journal_errno(fs, err);
                break;
            }
            *node = child;
        } else {
            rc = journal_errno(fs, err);
            break;
        }
        remember_node(fs, c.inos[i], *node);
    }
    chain_release(&c);
    return rc;
}

/* The parent and a malloc'd copy of the name of ino while that name still leads to it; -ENOENT for
 * an inode unlinked or replaced since (detached: reachable by number only, by open files), whose
 * changes must not be recorded under the name it had. */
static int name_of(struct seafs *fs, uint64_t ino, uint64_t *parent, char **name)
{
    if (!inode_table_get(fs->inodes, ino, NULL, parent, name))
        return -ENOENT;
    if (inode_table_find(fs->inodes, *parent, *name) != ino) {
        free(*name);
        *name = NULL;
        return -ENOENT;
    }
    return 0;
}

/* The local entry (node, name) into *e; *have says whether there is one. */
static int local_entry(struct seafs *fs, uint64_t node, const char *name, struct journal_entry *e,
                       bool *have)
{
    seaf_err err = journal_entry_get(overlay_journal(fs->overlay), node, name, e);
    *have = err == SEAF_OK;
    return err == SEAF_OK || err == SEAF_ERR_NOT_FOUND ? 0 : journal_errno(fs, err);
}

/* Records that (node, name) holds nothing any more. old is its local entry (when have) and
 * held the object id the view showed. */
static int record_gone(struct seafs *fs, uint64_t node, const char *name,
                       const struct journal_entry *old, bool have, const char *held)
{
    struct journal *j = overlay_journal(fs->overlay);
    seaf_err err;
    if (have && !old->base[0]) { /* made locally: nothing to delete on the server */
        err = journal_entry_delete(j, node, name);
    } else {
        struct journal_entry e;
        memset(&e, 0, sizeof(e));
        e.parent = node;
        snprintf(e.name, sizeof(e.name), "%s", name);
        e.kind = JOURNAL_DELETED;
        snprintf(e.base, sizeof(e.base), "%s", have ? old->base : held);
        e.mtime = now_seconds();
        err = journal_entry_put(j, &e);
    }
    return err == SEAF_OK ? 0 : journal_errno(fs, err);
}

/* Deletes node and every node below it (their entries are only deleted ones when the view
 * shows the directory empty, but renamed-in subtrees may hang below deleted names). */
static int delete_subtree_locked(struct seafs *fs, uint64_t node);

static int delete_child(void *ctx, const struct journal_entry *e)
{
    struct seafs *fs = ctx;
    if (e->kind == JOURNAL_DIR && e->child)
        return delete_subtree_locked(fs, e->child);
    if (e->kind == JOURNAL_FILE && e->staged)
        dirty_discard_locked(fs->dirty, e->staged);
    return 0;
}

static int delete_subtree_locked(struct seafs *fs, uint64_t node)
{
    int stopped = 0;
    struct journal *j = overlay_journal(fs->overlay);
    seaf_err err = journal_entries(j, node, delete_child, fs, &stopped);
    if (err == SEAF_OK && !stopped)
        err = journal_node_delete(j, node);
    return stopped ? stopped : err == SEAF_OK ? 0 : journal_errno(fs, err);
}

/* Runs body inside one journal transaction under the overlay lock; a change of library repo
 * that the uploader will send once things are quiet. */
static int in_transaction(struct seafs *fs, const char *repo,
                          int (*body)(struct seafs *fs, void *arg), void *arg)
{
    struct journal *j = overlay_journal(fs->overlay);
    overlay_lock(fs->overlay);
    seaf_err err = journal_begin(j);
    int rc = err == SEAF_OK ? body(fs, arg) : journal_errno(fs, err);
    if (err == SEAF_OK) {
        if (rc == 0 && (err = journal_commit(j)) != SEAF_OK)
            rc = journal_errno(fs, err);
        else if (rc)
            journal_rollback(j);
    }
    overlay_unlock(fs->overlay);
    if (rc == 0) {
        atomic_fetch_add(&fs->names_epoch, 1);
        uploader_notify(fs->uploader, repo);
    }
    return rc;
}

static uint32_t file_mode_of(mode_t mode)
{
    return (mode & S_IXUSR) ? SEAF_MODE_FILE_EXEC : SEAF_MODE_FILE;
}

/* ---- create / mkdir ---- */

struct make_args {
    uint64_t parent;
    const struct inode_info *dir;
    const char *name;
    bool is_dir;
    uint32_t mode;
    bool encrypted;           /* the library is: staging data encrypted */
    struct dirty_file *dirty; /* out: created file */
    struct inode_info info;   /* out */
};

static int make_body(struct seafs *fs, void *arg)
{
    struct make_args *a = arg;
    uint64_t node;
    int rc = ensure_node_locked(fs, a->dir->repo_id, a->parent, &node);
    struct journal_entry old, e;
    bool have = false;
    if (!rc)
        rc = local_entry(fs, node, a->name, &old, &have);
    if (rc)
        return rc;
    if (have && old.kind != JOURNAL_DELETED)
        return -EEXIST;
    int64_t now = now_seconds();
    memset(&e, 0, sizeof(e));
    e.parent = node;
    snprintf(e.name, sizeof(e.name), "%s", a->name);
    snprintf(e.base, sizeof(e.base), "%s", have ? old.base : "");
    memcpy(e.obj, SEAF_EMPTY_ID, sizeof(e.obj));
    e.mtime = now;
    if (a->is_dir) {
        e.kind = JOURNAL_DIR;
        e.mode = SEAF_MODE_DIR;
    } else {
        e.kind = JOURNAL_FILE;
        e.mode = a->mode;
        rc = dirty_create_locked(fs->dirty, a->dir->repo_id, a->encrypted, SEAF_EMPTY_ID, 0, 0, "",
                                 now, &a->dirty);
        if (rc)
            return rc;
        /* The creator's handle writes it: counted before any upload can see the row. Cannot
         * fail, nothing settled it. On failure the caller discards it (not here: the last put
         * of a discarded file takes the overlay lock). */
        dirty_writer_begin(fs->dirty, a->dirty);
        e.staged = dirty_id(a->dirty);
    }
    seaf_err err = journal_entry_put(overlay_journal(fs->overlay), &e);
    if (err != SEAF_OK)
        return journal_errno(fs, err);
    overlay_entry_info(NULL, a->dir->repo_id, a->dir->generation, NULL, &e, &a->info);
    return 0;
}

static int make(struct seafs *fs, uint64_t parent, const char *name, bool is_dir, uint32_t mode,
                uint64_t *ino, struct stat *st, struct dirty_file **out)
{
    struct inode_info dir, existing;
    int rc = check_name(name);
    if (!rc)
        rc = writable_dir(fs, parent, &dir);
    if (!rc) {
        rc = overlay_lookup(fs->overlay, fs->tree, &dir, name, &existing);
        rc = rc == 0 ? -EEXIST : rc == -ENOENT ? 0 : rc;
    }
    if (!rc && is_dir && trash_folder_name(name)) {
        log_msg(LOG_INFO,
                "not making trash folder %s in library %s: files deleted here stay "
                "in the library's history on the server",
                name, dir.repo_id);
        rc = -EPERM;
    }
    struct make_args a = {.parent = parent,
                          .dir = &dir,
                          .name = name,
                          .is_dir = is_dir,
                          .mode = mode,
                          .encrypted = !rc && node_library_encrypted(fs, dir.repo_id)};
    if (!rc)
        rc = in_transaction(fs, dir.repo_id, make_body, &a);
    if (rc) {
        if (a.dirty) {
            overlay_lock(fs->overlay);
            dirty_discard_locked(fs->dirty, dirty_id(a.dirty));
            overlay_unlock(fs->overlay);
            dirty_writer_end(a.dirty);
            dirty_put(fs->dirty, a.dirty);
        }
        return rc;
    }
    *ino = inode_table_ref(fs->inodes, parent, name, &a.info, UINT64_MAX); /* just made */
    if (*ino == 0) {
        if (a.dirty) {
            dirty_writer_end(a.dirty);
            dirty_put(fs->dirty, a.dirty);
        }
        return -ENOMEM;
    }
    node_stat(fs, *ino, &a.info, st);
    if (out)
        *out = a.dirty;
    return 0;
}

int changes_create(struct seafs *fs, uint64_t parent, const char *name, mode_t mode, uint64_t *ino,
                   struct stat *st, struct dirty_file **out)
{
    return make(fs, parent, name, false, file_mode_of(mode), ino, st, out);
}

int changes_mkdir(struct seafs *fs, uint64_t parent, const char *name, uint64_t *ino,
                  struct stat *st)
{
    return make(fs, parent, name, true, SEAF_MODE_DIR, ino, st, NULL);
}

/* ---- unlink / rmdir ---- */

struct remove_args {
    uint64_t parent;
    const struct inode_info *dir;
    const char *name;
    const struct inode_info *victim;
};

static int remove_body(struct seafs *fs, void *arg)
{
    struct remove_args *a = arg;
    uint64_t node;
    int rc = ensure_node_locked(fs, a->dir->repo_id, a->parent, &node);
    struct journal_entry old;
    bool have = false;
    if (!rc)
        rc = local_entry(fs, node, a->name, &old, &have);
    if (!rc && have && old.kind == JOURNAL_DIR && old.child)
        rc = delete_subtree_locked(fs, old.child);
    if (!rc && have && old.kind == JOURNAL_FILE && old.staged)
        rc = dirty_discard_locked(fs->dirty, old.staged);
    if (!rc)
        rc = record_gone(fs, node, a->name, &old, have, a->victim->obj_id);
    return rc;
}

static int remove_name(struct seafs *fs, uint64_t parent, const char *name, bool is_dir)
{
    struct inode_info dir, victim;
    int rc = writable_dir(fs, parent, &dir);
    if (!rc)
        rc = overlay_lookup(fs->overlay, fs->tree, &dir, name, &victim);
    if (rc)
        return rc;
    if (is_dir && victim.kind != INODE_DIR)
        return -ENOTDIR;
    if (!is_dir && victim.kind == INODE_DIR)
        return -EISDIR;
    if (is_dir) {
        struct overlay_listing l;
        if ((rc = overlay_list(fs->overlay, fs->tree, &victim, &l)) != 0)
            return rc;
        bool empty = l.n == 0;
        overlay_listing_release(&l);
        if (!empty)
            return -ENOTEMPTY;
    }
    struct remove_args a = {.parent = parent, .dir = &dir, .name = name, .victim = &victim};
    rc = in_transaction(fs, dir.repo_id, remove_body, &a);
    if (!rc)
        inode_table_detach(fs->inodes, parent, name);
    return rc;
}

int changes_unlink(struct seafs *fs, uint64_t parent, const char *name)
{
    return remove_name(fs, parent, name, false);
}

int changes_rmdir(struct seafs *fs, uint64_t parent, const char *name)
{
    return remove_name(fs, parent, name, true);
}

/* ---- rename ---- */

struct rename_args {
    uint64_t parent, new_parent;
    const struct inode_info *dir, *new_dir;
    const char *name, *new_name;
    const struct inode_info *src, *dst; /* dst NULL when the new name is free */
};

static int rename_body(struct seafs *fs, void *arg)
{
    struct rename_args *a = arg;
    uint64_t snode, dnode;
    int rc = ensure_node_locked(fs, a->dir->repo_id, a->parent, &snode);
    if (!rc)
        rc = ensure_node_locked(fs, a->dir->repo_id, a->new_parent, &dnode);
    struct journal_entry sold, dold, e;
    bool shave = false, dhave = false;
    if (!rc)
        rc = local_entry(fs, snode, a->name, &sold, &shave);
    if (!rc)
        rc = local_entry(fs, dnode, a->new_name, &dold, &dhave);
    if (rc)
        return rc;
    /* What the new name held goes away. */
    if (dhave && dold.kind == JOURNAL_DIR && dold.child)
        rc = delete_subtree_locked(fs, dold.child);
    if (!rc && dhave && dold.kind == JOURNAL_FILE && dold.staged &&
        !(shave && sold.staged == dold.staged))
        rc = dirty_discard_locked(fs->dirty, dold.staged);
    if (rc)
        return rc;
    memset(&e, 0, sizeof(e));
    e.parent = dnode;
    snprintf(e.name, sizeof(e.name), "%s", a->new_name);
    snprintf(e.base, sizeof(e.base), "%s", dhave ? dold.base : a->dst ? a->dst->obj_id : "");
    e.mtime = a->src->mtime;
    if (a->src->kind == INODE_DIR) {
        /* The moved directory keeps its listing as it is now: its source is fixed. */
        e.kind = JOURNAL_DIR;
        e.mode = SEAF_MODE_DIR;
        memcpy(e.obj, a->src->obj_id, sizeof(e.obj));
        e.child = shave && sold.kind == JOURNAL_DIR ? sold.child : 0;
    } else {
        e.kind = JOURNAL_FILE;
        e.mode = a->src->mode;
        memcpy(e.obj, a->src->obj_id, sizeof(e.obj));
        e.staged = a->src->staged;
        e.size = a->src->size;
        if (e.staged) { /* the entry has the latest size and mtime */
            uint64_t size;
            int64_t mtime;
            if (dirty_attr_of(fs->dirty, e.staged, &size, &mtime)) {
                e.size = (int64_t)size;
                e.mtime = mtime;
            } else if (shave) {
                e.size = sold.size;
                e.mtime = sold.mtime;
            }
        }
    }
    seaf_err err = journal_entry_put(overlay_journal(fs->overlay), &e);
    if (err != SEAF_OK)
        return journal_errno(fs, err);
    /* The old name: its entry now lives at the new name (node and staged data moved). */
    if (shave) {
        sold.child = 0;
        sold.staged = 0;
    }
    return record_gone(fs, snode, a->name, &sold, shave, a->src->obj_id);
}

int changes_rename(struct seafs *fs, uint64_t parent, const char *name, uint64_t new_parent,
                   const char *new_name, unsigned flags)
{
    if (flags & ~RENAME_NOREPLACE)
        return -EINVAL;
    struct inode_info dir, new_dir, src, dst;
    int rc = check_name(new_name);
    if (!rc)
        rc = writable_dir(fs, parent, &dir);
    if (!rc)
        rc = writable_dir(fs, new_parent, &new_dir);
    if (rc)
        return rc;
    if (strcmp(dir.repo_id, new_dir.repo_id) != 0)
        return -EXDEV;
    if ((rc = overlay_lookup(fs->overlay, fs->tree, &dir, name, &src)) != 0)
        return rc;
    rc = overlay_lookup(fs->overlay, fs->tree, &new_dir, new_name, &dst);
    bool dst_exists = rc == 0;
    if (rc && rc != -ENOENT)
        return rc;
    if (parent == new_parent && strcmp(name, new_name) == 0)
        return 0;
    if (dst_exists) {
        if (flags & RENAME_NOREPLACE)
            return -EEXIST;
        if (src.kind == INODE_DIR && dst.kind != INODE_DIR)
            return -ENOTDIR;
        if (src.kind != INODE_DIR && dst.kind == INODE_DIR)
            return -EISDIR;
        if (dst.kind == INODE_DIR) {
            struct overlay_listing l;
            if ((rc = overlay_list(fs->overlay, fs->tree, &dst, &l)) != 0)
                return rc;
            bool empty = l.n == 0;
            overlay_listing_release(&l);
            if (!empty)
                return -ENOTEMPTY;
        }
    }
    struct rename_args a = {.parent = parent,
                            .new_parent = new_parent,
                            .dir = &dir,
                            .new_dir = &new_dir,
                            .name = name,
                            .new_name = new_name,
                            .src = &src,
                            .dst = dst_exists ? &dst : NULL};
    rc = in_transaction(fs, dir.repo_id, rename_body, &a);
    if (rc)
        return rc;
    uint64_t ino = inode_table_find(fs->inodes, parent, name);
    if (ino)
        inode_table_move(fs->inodes, ino, new_parent, new_name);
    else
        inode_table_detach(fs->inodes, new_parent, new_name);
    return 0;
}

/* ---- open for writing, setattr ---- */

struct stage_args {
    uint64_t ino, parent;
    const char *name;
    struct inode_info *info;
    bool truncate;
    bool encrypted;           /* the library is: staging data encrypted */
    struct dirty_file *dirty; /* out: made here */
    uint64_t existing;        /* out: the staged file another open made meanwhile */
};

/* Gives the file a staged file holding its current content (none of it copied). */
static int stage_body(struct seafs *fs, void *arg)
{
    struct stage_args *a = arg;
    uint64_t node;
    int rc = ensure_node_locked(fs, a->info->repo_id, a->parent, &node);
    struct journal_entry old, e;
    bool have = false;
    if (!rc)
        rc = local_entry(fs, node, a->name, &old, &have);
    if (rc)
        return rc;
    if (have && old.kind == JOURNAL_FILE && old.staged) { /* staged meanwhile by another open */
        a->info->staged = a->existing = old.staged;
        return 0;
    }
    uint64_t size = (uint64_t)a->info->size;
    rc = dirty_create_locked(fs->dirty, a->info->repo_id, a->encrypted, a->info->obj_id, size,
                             a->truncate ? 0 : size, a->info->obj_id,
                             a->truncate ? now_seconds() : a->info->mtime, &a->dirty);
    if (rc)
        return rc;
    memset(&e, 0, sizeof(e));
    e.parent = node;
    snprintf(e.name, sizeof(e.name), "%s", a->name);
    e.kind = JOURNAL_FILE;
    snprintf(e.base, sizeof(e.base), "%s", have ? old.base : a->info->obj_id);
    memcpy(e.obj, a->info->obj_id, sizeof(e.obj));
    e.staged = dirty_id(a->dirty);
    e.mode = a->info->mode;
    dirty_attr(a->dirty, &size, &e.mtime);
    e.size = (int64_t)size;
    seaf_err err = journal_entry_put(overlay_journal(fs->overlay), &e);
    if (err != SEAF_OK)
        return journal_errno(fs, err);
    a->info->staged = e.staged;
    return 0;
}

/* The staged file of ino (made when it has none; truncate: made empty). Not counted as a
 * writer. */
static int find_or_stage(struct seafs *fs, uint64_t ino, bool truncate, struct dirty_file **out)
{
    struct inode_info info;
    *out = NULL;
    int rc = changes_writable(fs, ino);
    if (!rc)
        rc = node_resolve(fs, ino, &info);
    if (rc)
        return rc;
    if (info.kind != INODE_FILE)
        return -EISDIR;
    if (info.staged && (rc = dirty_get(fs->dirty, info.staged, out)) == -ENOENT)
        rc = node_resolve(fs, ino, &info); /* settled by an upload just now: staged afresh */
    if (info.staged || rc) {
        if (rc == 0 && !*out && (rc = dirty_get(fs->dirty, info.staged, out)) == -ENOENT)
            rc = -ESTALE; /* settled again: the caller tries again */
        return rc;
    }
    struct stage_args a = {.ino = ino,
                           .info = &info,
                           .truncate = truncate,
                           .encrypted = node_library_encrypted(fs, info.repo_id)};
    char *name = NULL;
    if ((rc = name_of(fs, ino, &a.parent, &name)) != 0)
        return rc;
    a.name = name;
    rc = in_transaction(fs, info.repo_id, stage_body, &a);
    free(name);
    if (rc) {
        if (a.dirty) {
            overlay_lock(fs->overlay);
            dirty_discard_locked(fs->dirty, dirty_id(a.dirty));
            overlay_unlock(fs->overlay);
            dirty_put(fs->dirty, a.dirty);
        }
        return rc;
    }
    inode_table_update(fs->inodes, ino, &info);
    if (a.existing && (rc = dirty_get(fs->dirty, a.existing, &a.dirty)) != 0)
        return rc == -ENOENT ? -ESTALE : rc; /* settled meanwhile: the caller tries again */
    *out = a.dirty;
    return 0;
}

/* The staged file of ino with a writer counted (dirty_writer_begin), so that no upload settles it
 * before the change is in the journal; truncate: emptied. The handles reading ino read it from
 * now on. An upload may settle the staged file found between the lookup and the count (-ESTALE):
 * the file is then staged afresh on the content the upload left. Each new try needs another
 * upload round to have settled the file, so the bound is never met in practice. */
static int staged_file_for_change(struct seafs *fs, uint64_t ino, bool truncate,
                                  struct dirty_file **out)
{
    int rc;
    for (unsigned tries = 0;; tries++) {
        if ((rc = find_or_stage(fs, ino, truncate, out)) == 0 &&
            (rc = dirty_writer_begin(fs->dirty, *out)) == -ESTALE)
            dirty_put(fs->dirty, *out);
        if (rc != -ESTALE)
            break;
        if (tries == 100) {
            log_msg(LOG_ERR, "inode %llu: settled by uploads %u times while being staged",
                    (unsigned long long)ino, tries + 1);
            return -EIO;
        }
    }
    if (rc) {
        *out = NULL;
        return rc;
    }
    if (truncate && (rc = dirty_truncate(fs->dirty, *out, 0)) != 0) {
        dirty_writer_end(*out);
        dirty_put(fs->dirty, *out);
        *out = NULL;
        return rc;
    }
    handle_attach_readers(fs, ino, *out);
    return 0;
}

int changes_open_for_writing(struct seafs *fs, uint64_t ino, bool truncate, struct dirty_file **out)
{
    return staged_file_for_change(fs, ino, truncate, out);
}

struct attr_args {
    uint64_t parent;
    const char *name;
    struct inode_info *info;
    bool set_mtime, set_exec;
    int64_t mtime;
    uint32_t mode;
};

/* Records a new mtime or mode of a file or directory as its entry. */
static int attr_body(struct seafs *fs, void *arg)
{
    struct attr_args *a = arg;
    uint64_t node;
    int rc = ensure_node_locked(fs, a->info->repo_id, a->parent, &node);
    struct journal_entry e;
    bool have = false;
    if (!rc)
        rc = local_entry(fs, node, a->name, &e, &have);
    if (rc)
        return rc;
    if (!have) {
        memset(&e, 0, sizeof(e));
        e.parent = node;
        snprintf(e.name, sizeof(e.name), "%s", a->name);
        memcpy(e.base, a->info->obj_id, sizeof(e.base));
        memcpy(e.obj, a->info->obj_id, sizeof(e.obj));
        e.mode = a->info->mode;
        e.mtime = a->info->mtime;
        e.size = a->info->size;
        e.kind = a->info->kind == INODE_FILE ? JOURNAL_FILE : JOURNAL_DIR;
        e.follow = e.kind == JOURNAL_DIR;
    }
    if (a->set_mtime)
        e.mtime = a->mtime;
    if (a->set_exec && e.kind == JOURNAL_FILE)
        e.mode = a->mode;
    seaf_err err = journal_entry_put(overlay_journal(fs->overlay), &e);
    if (err != SEAF_OK)
        return journal_errno(fs, err);
    a->info->mtime = e.mtime;
    a->info->mode = e.mode;
    return 0;
}

int changes_setattr(struct seafs *fs, uint64_t ino, const struct stat *attr, int to_set,
                    struct dirty_file *open, struct stat *st)
{
    struct inode_info info;
    int rc = node_resolve(fs, ino, &info);
    if (rc)
        return rc;
    bool changes =
        (to_set & (FUSE_SET_ATTR_SIZE | FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) != 0;
    bool set_exec = false;
    uint32_t mode = info.mode;
    if ((to_set & FUSE_SET_ATTR_MODE) && info.kind == INODE_FILE) {
        mode = file_mode_of(attr->st_mode);
        set_exec = mode != info.mode;
    }
    /* In a library that takes no changes, even a change without effect is refused. */
    int kept_or_not = FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID;
    if ((changes || (to_set & kept_or_not)) && (rc = changes_writable(fs, ino)) != 0)
        return rc;
    if (info.kind == INODE_LIBRARY && (to_set & FUSE_SET_ATTR_SIZE))
        return -EISDIR;
    int64_t mtime = (to_set & FUSE_SET_ATTR_MTIME_NOW) ? now_seconds()
                    : (to_set & FUSE_SET_ATTR_MTIME)   ? (int64_t)attr->st_mtim.tv_sec
                                                       : info.mtime;
    bool set_mtime = (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW)) != 0;
    struct dirty_file *d = NULL;
    if (info.kind == INODE_FILE && ((to_set & FUSE_SET_ATTR_SIZE) || info.staged)) {
        if (open) {
            d = open;
        } else if ((rc = staged_file_for_change(fs, ino, false, &d)) != 0) {
            uint64_t parent;
            char *name = NULL;
            bool named = name_of(fs, ino, &parent, &name) == 0;
            free(name);
            if (rc != -ENOENT || named)
                return rc;
            rc = 0; /* unlinked, its staged file gone with the last handle: as below */
        }
        if (d) {
            if (to_set & FUSE_SET_ATTR_SIZE)
                rc = dirty_truncate(fs->dirty, d, (uint64_t)attr->st_size);
            if (!rc && set_mtime)
                dirty_set_mtime(d, mtime);
            if (!rc && !open)
                rc = dirty_persist(fs->dirty, d, false);
            if (!rc)
                node_resolve(fs, ino, &info);
            set_mtime = false; /* the staged file carries it */
        }
    }
    if (!rc && info.kind != INODE_LIBRARY && (set_mtime || set_exec)) {
        struct attr_args a = {.info = &info,
                              .set_mtime = set_mtime,
                              .mtime = mtime,
                              .set_exec = set_exec,
                              .mode = mode};
        char *name = NULL;
        if (name_of(fs, ino, &a.parent, &name) == 0) {
            a.name = name;
            rc = in_transaction(fs, info.repo_id, attr_body, &a);
        } else { /* unlinked while open (e.g. the kernel flushing its times): the inode keeps it */
            info.mtime = mtime;
            info.mode = set_exec ? mode : info.mode;
        }
        free(name);
        if (!rc)
            inode_table_update(fs->inodes, ino, &info);
    }
    if (d && d != open) {
        dirty_writer_end(d); /* after dirty_persist: an upload may settle it from now on */
        dirty_put(fs->dirty, d);
    }
    if (d && !rc) /* after the writer is gone: a round now may take the file */
        uploader_notify(fs->uploader, info.repo_id);
    if (!rc)
        node_stat(fs, ino, &info, st);
    return rc;
}
