/* fuse_ops: glue between libfuse's low-level API and the filesystem core. Errors from the core
 * are negative errnos; fuse_reply_err takes them positive. Entries and attributes get long
 * kernel timeouts because poll.c invalidates them when a library changes, so `ls -l` of a large
 * cached folder costs no round trip per entry (readdirplus hands out entry and attributes at
 * once); names that do not exist are negative entries kept as long, invalidated the same way. Open
 * files are handles (handle.h); write-class operations go to write/changes.h. What Seafile cannot
 * store is refused: symlinks, hard links, devices and FIFOs (EPERM), extended attributes (ENOTSUP);
 * owner and group changes are accepted and not kept. */
#include "fuse_ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "changes.h"
#include "dirty.h"
#include "file.h"
#include "handle.h"
#include "kernel_readahead.h"
#include "log.h"
#include "node.h"
#include "overlay.h"
#include "quota.h"
#include "uploader.h"

#define KERNEL_TIMEOUT 86400.0 /* seconds; changes are pushed by invalidation */

/* The session's state; on the first request after INIT also widens the kernel read-ahead
 * (which the INIT exchange itself would cap again). */
static struct seafs *fs_of(fuse_req_t req)
{
    struct seafs *fs = fuse_req_userdata(req);
    if (!atomic_load(&fs->readahead_widened) && !atomic_exchange(&fs->readahead_widened, true))
        kernel_readahead_widen(fs->mountpoint, fs->opts->readahead);
    return fs;
}

static void sfs_ll_init(void *userdata, struct fuse_conn_info *conn)
{
    struct seafs *fs = userdata;
    if (conn->capable & FUSE_CAP_READDIRPLUS)
        conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    if (conn->capable & FUSE_CAP_ASYNC_READ)
        conn->want |= FUSE_CAP_ASYNC_READ;
    /* No POSIX ACLs: the kernel then never asks for one to check a permission, and a program
     * asking for system.posix_acl_* gets EOPNOTSUPP (sfs_ll_getxattr), which `ls -l` remembers
     * for the whole mount instead of asking once per file. The kernel checks permissions against
     * the modes shown all the same: the session is mounted with default_permissions (main.c). */
    conn->want &= ~FUSE_CAP_POSIX_ACL;
    /* O_TRUNC comes with the open (one request, and no download of what is cut away). */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    /* The kernel gathers small writes into large ones and serves reads of written pages. */
    if ((conn->capable & FUSE_CAP_WRITEBACK_CACHE) && !fs->opts->no_writeback_cache)
        conn->want |= FUSE_CAP_WRITEBACK_CACHE;
    if (conn->max_write < (1u << 20))
        conn->max_write = 1u << 20;
}

static void fill_entry(struct fuse_entry_param *e, uint64_t ino, const struct stat *st)
{
    memset(e, 0, sizeof(*e));
    e->ino = ino;
    e->attr = *st;
    e->attr_timeout = KERNEL_TIMEOUT;
    e->entry_timeout = KERNEL_TIMEOUT;
}

/* "No such name" as a negative entry the kernel keeps for as long as a positive one: the
 * table remembers it (inode.h, absent names) so that poll.c takes it back when the directory
 * may have gained names. Uncached (timeout 0) when it cannot be remembered or a change ran
 * while the lookup read. */
static void reply_absent(fuse_req_t req, struct seafs *fs, fuse_ino_t parent, const char *name,
                         uint64_t epoch)
{
    atomic_fetch_add(&fs->lookups_absent, 1);
    struct fuse_entry_param e;
    memset(&e, 0, sizeof(e));
    if (inode_table_note_absent(fs->inodes, parent, name, epoch))
        e.entry_timeout = KERNEL_TIMEOUT;
    fuse_reply_entry(req, &e);
}

static void sfs_ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct seafs *fs = fs_of(req);
    atomic_fetch_add(&fs->lookups, 1);
    uint64_t epoch = inode_table_absent_epoch(fs->inodes);
    uint64_t ino;
    struct stat st;
    bool absent;
    int rc = node_lookup(fs, parent, name, &ino, &st, &absent);
    if (rc && absent) {
        reply_absent(req, fs, parent, name, epoch);
        return;
    }
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    struct fuse_entry_param e;
    fill_entry(&e, ino, &st);
    if (fuse_reply_entry(req, &e) != 0)
        inode_table_forget(fs->inodes, ino, 1);
}

static void sfs_ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    inode_table_forget(fs_of(req)->inodes, ino, nlookup);
    fuse_reply_none(req);
}

static void sfs_ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
    for (size_t i = 0; i < count; i++)
        inode_table_forget(fs_of(req)->inodes, forgets[i].ino, forgets[i].nlookup);
    fuse_reply_none(req);
}

static void sfs_ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)fi;
    struct stat st;
    int rc = node_getattr(fs_of(req), ino, &st);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, KERNEL_TIMEOUT);
}

static void sfs_ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct node_listing *listing = NULL;
    int rc = node_list(fs_of(req), ino, &listing);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uintptr_t)listing;
    fi->keep_cache = 1;
    fi->cache_readdir = 1;
    if (fuse_reply_open(req, fi) != 0)
        node_listing_free(fs_of(req), listing);
}

static void sfs_ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    node_listing_free(fs_of(req), (struct node_listing *)(uintptr_t)fi->fh);
    fuse_reply_err(req, 0);
}

/* Entry i of a listing: 0 ".", 1 "..", then the directory's entries. With plus, each entry
 * comes with its inode and attributes, which the kernel keeps as if looked up (stat of a listed
 * name then costs no request). */
static void read_dir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                     struct fuse_file_info *fi, bool plus)
{
    struct seafs *fs = fs_of(req);
    struct node_listing *listing = (struct node_listing *)(uintptr_t)fi->fh;
    /* A listing read at opendir and read from the start after a change is read again: what the
     * kernel gets from the start may go into its cache of the directory, kept until the next
     * change. */
    int rc =
        off == 0 && !node_listing_current(fs, listing) ? node_listing_refresh(fs, ino, listing) : 0;
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    char *buf = malloc(size ? size : 1); /* the fuse_add_direntry* calls fill what is sent */
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    size_t used = 0;
    size_t total = node_listing_count(listing) + 2;
    /* Entries of a listing that names may have changed since (further on in a directory read
     * across a change) are sent without their inode: the kernel looks each one up as it is now. */
    bool linked = plus && node_listing_current(fs, listing);
    for (size_t i = off < 0 ? 0 : (size_t)off; i < total; i++) {
        const char *name = i == 0 ? "." : "..";
        struct inode_info info;
        struct fuse_entry_param e;
        memset(&e, 0, sizeof(e));
        bool dot = i < 2;
        if (dot) {
            e.attr.st_ino = i == 0 ? ino : FUSE_ROOT_ID;
            e.attr.st_mode = S_IFDIR;
        } else {
            node_listing_entry(listing, i - 2, &name, &info);
        }
        size_t need = plus ? fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0)
                           : fuse_add_direntry(req, NULL, 0, name, NULL, 0);
        if (used + need > size)
            break;
        if (linked && !dot) {
            /* info becomes what the inode knows, when it knows better than the listing */
            uint64_t child =
                inode_table_ref(fs->inodes, ino, name, &info, node_listing_clock(listing));
            if (!child)
                break;
            struct stat st;
            node_stat(fs, child, &info, &st);
            fill_entry(&e, child, &st);
        } else if (!dot) {
            node_stat(fs, 0, &info, &e.attr);
            uint64_t known = inode_table_find(fs->inodes, ino, name);
            e.attr.st_ino = known ? known : 0xffffffffu;
        }
        used += plus ? fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)i + 1)
                     : fuse_add_direntry(req, buf + used, size - used, name, &e.attr, (off_t)i + 1);
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

static void sfs_ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    read_dir(req, ino, size, off, fi, false);
}

static void sfs_ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                               struct fuse_file_info *fi)
{
    read_dir(req, ino, size, off, fi, true);
}

static void sfs_ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct open_handle *h = NULL;
    int rc = handle_open(fs_of(req), ino, fi->flags, &h);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uintptr_t)h;
    fi->keep_cache = 1;
    if (fuse_reply_open(req, fi) != 0)
        handle_release(fs_of(req), h);
}

static void sfs_ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                          struct fuse_file_info *fi)
{
    struct seafs *fs = fs_of(req);
    struct open_handle *h = NULL;
    uint64_t ino;
    struct stat st;
    int rc = handle_create(fs, parent, name, mode, &ino, &st, &h);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    struct fuse_entry_param e;
    fill_entry(&e, ino, &st);
    fi->fh = (uintptr_t)h;
    fi->keep_cache = 1;
    if (fuse_reply_create(req, &e, fi) != 0) {
        handle_release(fs, h);
        inode_table_forget(fs->inodes, ino, 1);
    }
}

static struct open_handle *handle_of(struct fuse_file_info *fi)
{
    return (struct open_handle *)(uintptr_t)fi->fh;
}

static void sfs_ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                        struct fuse_file_info *fi)
{
    char *buf = malloc(size ? size : 1);
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    struct seafs *fs = fs_of(req);
    ssize_t n = handle_read(fs, handle_of(fi), buf, size, off < 0 ? 0 : (uint64_t)off);
    if (n == -ECANCELED) {
        /* Read-ahead nobody waits for, dropped (file.h): the kernel does not pass the error on
         * to anyone, and the pages, taken out of its cache, are asked for again when read. */
        fuse_reply_err(req, EIO);
        fuse_lowlevel_notify_inval_inode(fs->session, ino, off, (off_t)size);
    } else if (n < 0) {
        fuse_reply_err(req, (int)-n);
    } else {
        fuse_reply_buf(req, buf, (size_t)n);
    }
    free(buf);
}

static void sfs_ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                         struct fuse_file_info *fi)
{
    (void)ino;
    if (off < 0) {
        fuse_reply_err(req, EINVAL);
        return;
    }
    ssize_t n = handle_write(fs_of(req), handle_of(fi), buf, size, (uint64_t)off);
    if (n < 0)
        fuse_reply_err(req, (int)-n);
    else
        fuse_reply_write(req, (size_t)n);
}

static void sfs_ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    fuse_reply_err(req, -handle_flush(fs_of(req), handle_of(fi)));
}

static void sfs_ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
    (void)ino, (void)datasync;
    fuse_reply_err(req, -handle_fsync(fs_of(req), handle_of(fi)));
}

static void sfs_ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    handle_release(fs_of(req), handle_of(fi));
    fuse_reply_err(req, 0);
}

static void sfs_ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
                             struct fuse_file_info *fi)
{
    (void)ino;
    struct seafs *fs = fs_of(req);
    struct dirty_file *d = handle_dirty(handle_of(fi));
    if (mode & ~FALLOC_FL_KEEP_SIZE) { /* holes and ranges Seafile cannot keep */
        fuse_reply_err(req, EOPNOTSUPP);
        return;
    }
    if (!d || offset < 0 || length <= 0) {
        fuse_reply_err(req, !d ? EBADF : EINVAL);
        return;
    }
    uint64_t size;
    int64_t mtime;
    dirty_attr(d, &size, &mtime);
    uint64_t end = (uint64_t)offset + (uint64_t)length;
    int rc = 0;
    if (!(mode & FALLOC_FL_KEEP_SIZE) && end > size) /* growing is cheap: zeros are not stored */
        rc = dirty_truncate(fs->dirty, d, end);
    fuse_reply_err(req, -rc);
}

/* Whether the request came from this process: FUSE names the calling thread (its thread id),
 * and the daemon's own check that the mount answers (mount_ready.c) runs in a thread of its
 * own. */
static bool from_this_process(fuse_req_t req)
{
    pid_t pid = fuse_req_ctx(req)->pid;
    if (pid == getpid())
        return true;
    char task[64];
    snprintf(task, sizeof(task), "/proc/self/task/%d", (int)pid);
    return access(task, F_OK) == 0;
}

static void sfs_ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
    (void)ino;
    struct seafs *fs = fs_of(req);
    const uint64_t frsize = 4096;
    int64_t total = 0, used = 0;
    quota_get(fs, !from_this_process(req), &total, &used);
    if (used < 0)
        used = 0;
    uint64_t free_bytes = total > used ? (uint64_t)(total - used) : 0;
    if (total <= 0) /* unlimited: report a petabyte free */
        free_bytes = 1ULL << 50;
    struct statvfs sv;
    memset(&sv, 0, sizeof(sv));
    sv.f_bsize = frsize;
    sv.f_frsize = frsize;
    sv.f_blocks = ((uint64_t)used + free_bytes) / frsize;
    sv.f_bfree = free_bytes / frsize;
    sv.f_bavail = sv.f_bfree;
    sv.f_files = inode_table_count(fs->inodes, NULL);
    sv.f_namemax = 255;
    fuse_reply_statfs(req, &sv);
}

/* The local changes' node of directory info (a LIBRARY or DIR), 0 when it has none. */
static uint64_t dir_node(struct seafs *fs, const struct inode_info *info)
{
    return info->kind == INODE_LIBRARY ? overlay_library_node(fs->overlay, info->repo_id)
                                       : info->node;
}

/* user.seafs.status of ino (resolved as info, a FILE, DIR or LIBRARY): "conflict" for a conflict
 * copy (by its name), else "pending" when the name has a local change the server does not have
 * yet (its entry in its parent's node, a staged file, a directory with changes below it) --
 * "uploading" while its library's upload round runs -- else "synced". */
static int sync_state(struct seafs *fs, fuse_ino_t ino, const struct inode_info *info,
                      const char **state)
{
    uint64_t parent = 0;
    char *name = NULL;
    if (!inode_table_get(fs->inodes, ino, NULL, &parent, &name))
        return -ENOENT;
    if (strstr(name, " (SFConflict ")) {
        free(name);
        *state = "conflict";
        return 0;
    }
    struct inode_info dir = {0};
    int rc = info->kind == INODE_LIBRARY ? 0 : node_resolve(fs, parent, &dir);
    uint64_t parent_node = rc == 0 && info->kind != INODE_LIBRARY ? dir_node(fs, &dir) : 0;
    uint64_t own_node = info->kind == INODE_FILE ? 0 : dir_node(fs, info);
    bool pending = info->kind == INODE_FILE && info->staged;
    struct journal *j = overlay_journal(fs->overlay);
    struct journal_entry e;
    overlay_lock(fs->overlay);
    if (parent_node && journal_entry_get(j, parent_node, name, &e) == SEAF_OK) {
        uint64_t bytes;
        pending = overlay_entry_pending(fs->overlay, &e, &bytes);
    }
    bool below = false;
    if (!pending && own_node && journal_node_has_entries(j, own_node, &below) == SEAF_OK)
        pending = below;
    overlay_unlock(fs->overlay);
    free(name);
    if (rc)
        return rc;
    *state = !pending                                             ? "synced"
             : uploader_is_uploading(fs->uploader, info->repo_id) ? "uploading"
                                                                  : "pending";
    return 0;
}

/* Value of a user.seafs.* attribute into out (NUL-free text); -ENODATA when ino has none. */
static int xattr_value(struct seafs *fs, fuse_ino_t ino, const char *name, char *out,
                       size_t out_size)
{
    struct inode_info info;
    int rc = node_resolve(fs, ino, &info);
    if (rc)
        return rc;
    if (strcmp(name, "user.seafs.status") == 0 && info.repo_id[0]) {
        const char *state;
        if ((rc = sync_state(fs, ino, &info, &state)) != 0)
            return rc;
        snprintf(out, out_size, "%s", state);
    } else if (strcmp(name, "user.seafs.library_id") == 0 && info.repo_id[0]) {
        snprintf(out, out_size, "%s", info.repo_id);
    } else if (strcmp(name, "user.seafs.file_id") == 0 && info.kind == INODE_FILE) {
        snprintf(out, out_size, "%s", info.obj_id);
    } else if (strcmp(name, "user.seafs.dir_id") == 0 &&
               (info.kind == INODE_DIR || info.kind == INODE_LIBRARY)) {
        uint64_t generation;
        if (info.kind == INODE_LIBRARY &&
            (rc = node_library_root(fs, info.repo_id, info.obj_id, &generation)) != 0)
            return rc;
        snprintf(out, out_size, "%s", info.obj_id);
    } else if (strcmp(name, "user.seafs.cached") == 0 && info.kind == INODE_FILE) {
        bool cached;
        if ((rc = file_is_cached(fs, &info, &cached)) != 0)
            return rc;
        snprintf(out, out_size, "%d", cached ? 1 : 0);
    } else {
        return -ENODATA;
    }
    return 0;
}

static void reply_xattr_bytes(fuse_req_t req, const char *data, size_t len, size_t size)
{
    if (size == 0)
        fuse_reply_xattr(req, len);
    else if (size < len)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, data, len);
}

static void sfs_ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    /* ACLs, SELinux labels, capabilities...: not supported, not just absent. `ls -l` and
     * SELinux's getfilecon then stop asking for the mount's other files, where ENODATA costs
     * a request per file and attribute. */
    if (strncmp(name, "user.", 5) != 0) {
        fuse_reply_err(req, EOPNOTSUPP);
        return;
    }
    if (strncmp(name, "user.seafs.", 11) != 0) {
        fuse_reply_err(req, ENODATA);
        return;
    }
    char value[64];
    int rc = xattr_value(fs_of(req), ino, name, value, sizeof(value));
    if (rc)
        fuse_reply_err(req, -rc);
    else
        reply_xattr_bytes(req, value, strlen(value), size);
}

static void sfs_ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    struct inode_info info;
    int rc = node_resolve(fs_of(req), ino, &info);
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    static const char file_names[] = "user.seafs.cached\0user.seafs.library_id\0"
                                     "user.seafs.file_id\0user.seafs.status";
    static const char dir_names[] = "user.seafs.library_id\0user.seafs.dir_id\0"
                                    "user.seafs.status";
    if (info.kind == INODE_FILE)
        reply_xattr_bytes(req, file_names, sizeof(file_names), size);
    else if (info.kind == INODE_DIR || info.kind == INODE_LIBRARY)
        reply_xattr_bytes(req, dir_names, sizeof(dir_names), size);
    else
        reply_xattr_bytes(req, "", 0, size);
}

static void sfs_ll_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
    fuse_reply_err(req, (mask & W_OK) ? node_write_errno(fs_of(req), ino) : 0);
}

/* ---- write-class operations ---- */

static void reply_entry_or_err(fuse_req_t req, int rc, uint64_t ino, const struct stat *st)
{
    if (rc) {
        fuse_reply_err(req, -rc);
        return;
    }
    struct fuse_entry_param e;
    fill_entry(&e, ino, st);
    if (fuse_reply_entry(req, &e) != 0)
        inode_table_forget(fs_of(req)->inodes, ino, 1);
}

static void sfs_ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                           struct fuse_file_info *fi)
{
    struct stat st;
    struct dirty_file *open = fi ? handle_dirty(handle_of(fi)) : NULL;
    int rc = changes_setattr(fs_of(req), ino, attr, to_set, open, &st);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_attr(req, &st, KERNEL_TIMEOUT);
}

static void sfs_ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                         dev_t rdev)
{
    (void)rdev;
    if (!S_ISREG(mode)) { /* devices, FIFOs and sockets cannot be stored in Seafile */
        fuse_reply_err(req, EPERM);
        return;
    }
    struct seafs *fs = fs_of(req);
    struct dirty_file *d = NULL;
    uint64_t ino = 0;
    struct stat st;
    int rc = changes_create(fs, parent, name, mode, &ino, &st, &d);
    if (d) {
        dirty_writer_end(d);
        dirty_put(fs->dirty, d);
    }
    reply_entry_or_err(req, rc, ino, &st);
}

static void sfs_ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    (void)mode;
    uint64_t ino = 0;
    struct stat st;
    int rc = changes_mkdir(fs_of(req), parent, name, &ino, &st);
    reply_entry_or_err(req, rc, ino, &st);
}

static void sfs_ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, -changes_unlink(fs_of(req), parent, name));
}

static void sfs_ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    fuse_reply_err(req, -changes_rmdir(fs_of(req), parent, name));
}

static void sfs_ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
    (void)link, (void)parent, (void)name;
    fuse_reply_err(req, EPERM); /* Seafile has no symbolic links */
}

static void sfs_ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                          const char *newname, unsigned int flags)
{
    fuse_reply_err(req, -changes_rename(fs_of(req), parent, name, newparent, newname, flags));
}

static void sfs_ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
    (void)ino, (void)newparent, (void)newname;
    fuse_reply_err(req, EPERM); /* nor hard links */
}

static void sfs_ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                            size_t size, int flags)
{
    (void)name, (void)value, (void)size, (void)flags;
    int rc = node_write_errno(fs_of(req), ino);
    fuse_reply_err(req, rc ? rc : ENOTSUP); /* nor extended attributes (user.seafs.* read-only) */
}

static void sfs_ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    (void)name;
    int rc = node_write_errno(fs_of(req), ino);
    fuse_reply_err(req, rc ? rc : ENOTSUP);
}

const struct fuse_lowlevel_ops seafs_fuse_ops = {
    .init = sfs_ll_init,
    .lookup = sfs_ll_lookup,
    .forget = sfs_ll_forget,
    .forget_multi = sfs_ll_forget_multi,
    .getattr = sfs_ll_getattr,
    .setattr = sfs_ll_setattr,
    .mknod = sfs_ll_mknod,
    .mkdir = sfs_ll_mkdir,
    .unlink = sfs_ll_unlink,
    .rmdir = sfs_ll_rmdir,
    .symlink = sfs_ll_symlink,
    .rename = sfs_ll_rename,
    .link = sfs_ll_link,
    .open = sfs_ll_open,
    .read = sfs_ll_read,
    .write = sfs_ll_write,
    .flush = sfs_ll_flush,
    .fsync = sfs_ll_fsync,
    .fallocate = sfs_ll_fallocate,
    .release = sfs_ll_release,
    .opendir = sfs_ll_opendir,
    .readdir = sfs_ll_readdir,
    .readdirplus = sfs_ll_readdirplus,
    .releasedir = sfs_ll_releasedir,
    .statfs = sfs_ll_statfs,
    .setxattr = sfs_ll_setxattr,
    .getxattr = sfs_ll_getxattr,
    .listxattr = sfs_ll_listxattr,
    .removexattr = sfs_ll_removexattr,
    .access = sfs_ll_access,
    .create = sfs_ll_create,
};
