/* node: resolution of inodes and names against the current state of the libraries.
 *
 * An inode remembers what it resolved to and at which library generation. When the poller sees
 * a library's head move it gives the library a new generation; the next access to any inode of
 * that library walks again from the parent (recursively up to the library's new root), so names
 * keep their inode numbers across remote changes while their contents follow the new commit.
 * The top levels (mount point, SeaDrive category folders, libraries) come from the library list
 * under libs_lock; everything below from directory objects via tree.c. */
#include "node.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dir_prefetch.h"
#include "dirty.h"
#include "library_roots.h"
#include "log.h"
#include "overlay.h"

struct listing_item {
    char *name;
    struct inode_info info;
};

struct node_listing {
    struct tree_obj *dir;       /* library or folder listing: its directory object */
    struct inode_info parent;   /* repo_id and generation given to the entries */
    struct listing_item *items; /* mount point / category listing */
    size_t n_items;
    uint64_t clock;       /* the inode table's clock before the listing was read */
    uint64_t names_epoch; /* fs->names_epoch before the listing was read */
};

int node_library_root(struct seafs *fs, const char *repo_id, char root[SEAF_ID_LEN + 1],
                      uint64_t *generation)
{
    char head[SEAF_ID_LEN + 1];
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    if (!lib) {
        pthread_rwlock_unlock(&fs->libs_lock);
        return -ENOENT;
    }
    *generation = lib->generation;
    bool known = lib->root_id[0] != '\0';
    if (known)
        memcpy(root, lib->root_id, SEAF_ID_LEN + 1);
    memcpy(head, lib->head_commit_id, sizeof(head));
    pthread_rwlock_unlock(&fs->libs_lock);
    if (known)
        return 0;
    int rc = library_roots_find(fs->roots, repo_id, head, root);
    if (rc)
        return rc;
    /* Opened (or changed): its folders come ahead in the background, the root's sub-folders
     * first when the root came warmed. */
    tree_children_ahead(fs->tree, repo_id, root);
    dir_prefetch_library(fs->dir_prefetch, repo_id, head);
    pthread_rwlock_wrlock(&fs->libs_lock);
    lib = library_list_find(&fs->libs, repo_id);
    if (lib && lib->generation == *generation)
        memcpy(lib->root_id, root, SEAF_ID_LEN + 1);
    pthread_rwlock_unlock(&fs->libs_lock);
    return 0;
}

/* Called with libs_lock held (the overlay lock nests inside it). */
static void library_info(struct seafs *fs, const struct library *lib, struct inode_info *info)
{
    memset(info, 0, sizeof(*info));
    info->kind = INODE_LIBRARY;
    memcpy(info->repo_id, lib->id, sizeof(info->repo_id));
    info->mode = SEAF_MODE_DIR;
    info->mtime = lib->mtime;
    info->generation = lib->generation;
    info->node = fs->overlay ? overlay_library_node(fs->overlay, lib->id) : 0;
}

/* The directory object id and generation a DIR or LIBRARY inode stands for now. */
static int dir_object(struct seafs *fs, uint64_t ino, struct inode_info *info)
{
    int rc = node_resolve(fs, ino, info);
    if (rc)
        return rc;
    if (info->kind == INODE_LIBRARY) {
        if (fs->overlay)
            info->node = overlay_library_node(fs->overlay, info->repo_id);
        return node_library_root(fs, info->repo_id, info->obj_id, &info->generation);
    }
    return info->kind == INODE_DIR ? 0 : -ENOTDIR;
}

int node_dir_object(struct seafs *fs, uint64_t ino, struct inode_info *info, struct tree_obj **out)
{
    int rc = dir_object(fs, ino, info);
    if (rc)
        return rc;
    return tree_get(fs->tree, info->repo_id, info->obj_id, SEAF_FSOBJ_DIR, out);
}

/* Finds name in the DIR/LIBRARY inode parent: its local entry, else the server's. *absent
 * (when not NULL): -ENOENT came from the directory's entries, not from parent. */
static int lookup_in_dir(struct seafs *fs, uint64_t parent, const char *name,
                         struct inode_info *info, bool *absent)
{
    struct inode_info dir_info;
    int rc = dir_object(fs, parent, &dir_info);
    if (rc)
        return rc;
    rc = overlay_lookup(fs->overlay, fs->tree, &dir_info, name, info);
    if (absent)
        *absent = rc == -ENOENT;
    return rc;
}

/* Latest mtime of the libraries in category (SeaDrive layout). Caller holds libs_lock. */
static int64_t category_mtime(const struct seafs *fs, const char *category)
{
    int64_t mtime = 0;
    for (size_t i = 0; i < fs->libs.n; i++)
        if (strcmp(fs->libs.libs[i].category, category) == 0 && fs->libs.libs[i].mtime > mtime)
            mtime = fs->libs.libs[i].mtime;
    return mtime;
}

/* Finds name among the libraries (and categories) shown in a top-level directory: category is
 * NULL for the mount point. */
static int lookup_top(struct seafs *fs, const char *category, const char *name,
                      struct inode_info *info)
{
    int rc = -ENOENT;
    pthread_rwlock_rdlock(&fs->libs_lock);
    bool seadrive = fs->opts->layout == SEAFS_LAYOUT_SEADRIVE;
    for (size_t i = 0; i < fs->libs.n && rc; i++) {
        const struct library *lib = &fs->libs.libs[i];
        if (seadrive && !category) {
            if (strcmp(lib->category, name) == 0) {
                memset(info, 0, sizeof(*info));
                info->kind = INODE_CATEGORY;
                info->mode = SEAF_MODE_DIR;
                info->mtime = category_mtime(fs, name);
                rc = 0;
            }
        } else if ((!category || strcmp(lib->category, category) == 0) &&
                   strcmp(lib->folder, name) == 0) {
            library_info(fs, lib, info);
            rc = 0;
        }
    }
    pthread_rwlock_unlock(&fs->libs_lock);
    return rc;
}

/* A malloc'd copy of the name of ino (and its parent when not NULL): only the paths that need
 * it ask, as lookups and getattrs of known inodes do not. NULL when ino is unknown or ENOMEM. */
static char *inode_name(struct seafs *fs, uint64_t ino, uint64_t *parent)
{
    char *name = NULL;
    return inode_table_get(fs->inodes, ino, NULL, parent, &name) ? name : NULL;
}

static int lookup_info(struct seafs *fs, uint64_t parent, const char *name, struct inode_info *info,
                       bool *absent)
{
    *absent = false;
    struct inode_info parent_info;
    if (!inode_table_get(fs->inodes, parent, &parent_info, NULL, NULL))
        return -ENOENT;
    char *parent_name = NULL;
    int rc = -ENOENT;
    switch (parent_info.kind) {
    case INODE_ROOT_DIR:
        rc = lookup_top(fs, NULL, name, info);
        *absent = rc == -ENOENT;
        break;
    case INODE_CATEGORY:
        parent_name = inode_name(fs, parent, NULL);
        if (parent_name) {
            rc = lookup_top(fs, parent_name, name, info);
            *absent = rc == -ENOENT;
        }
        break;
    case INODE_LIBRARY:
    case INODE_DIR:
        rc = lookup_in_dir(fs, parent, name, info, absent);
        break;
    default:
        rc = -ENOTDIR;
    }
    free(parent_name);
    return rc;
}

int node_resolve(struct seafs *fs, uint64_t ino, struct inode_info *info)
{
    uint64_t since = inode_table_clock(fs->inodes);
    if (!inode_table_get(fs->inodes, ino, info, NULL, NULL))
        return -ENOENT;
    if (info->kind == INODE_ROOT_DIR || info->kind == INODE_CATEGORY)
        return 0;
    uint64_t generation = 0;
    bool exists = false;
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, info->repo_id);
    if (lib) {
        exists = true;
        generation = lib->generation;
        if (info->kind == INODE_LIBRARY)
            info->mtime = lib->mtime;
    }
    pthread_rwlock_unlock(&fs->libs_lock);
    if (!exists) /* a file keeps what it was, so files open in a vanished library still work */
        return info->kind == INODE_FILE ? 0 : -ENOENT;
    if (info->kind == INODE_LIBRARY || info->generation == generation)
        return 0;
    /* The library changed since this inode was resolved: find its name again. */
    uint64_t parent = 0;
    char *name = inode_name(fs, ino, &parent);
    if (!name)
        return -ENOENT;
    struct inode_info fresh;
    int rc = lookup_in_dir(fs, parent, name, &fresh, NULL);
    bool other_version = fresh.kind != INODE_FILE || fresh.staged != info->staged ||
                         (!info->staged && strcmp(fresh.obj_id, info->obj_id) != 0);
    if (info->kind == INODE_FILE && (rc != 0 || other_version)) {
        /* A file inode is one version of the file: when the name now holds other content (or
         * nothing), this inode keeps describing what it was, for the files open on it; lookups
         * of the name get a new inode (inode_table_ref). */
        info->generation = generation;
        inode_table_update_since(fs->inodes, ino, info, since);
        rc = 0;
    } else if (rc == 0) {
        *info = fresh;
        inode_table_update_since(fs->inodes, ino, info, since);
    }
    free(name);
    return rc;
}

bool node_library_encrypted(struct seafs *fs, const char *repo_id)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    bool encrypted = lib && lib->encrypted;
    pthread_rwlock_unlock(&fs->libs_lock);
    return encrypted;
}

bool node_library_writable(struct seafs *fs, const char *repo_id)
{
    if (fs->opts->read_only || !repo_id[0])
        return false;
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    bool writable = lib && !lib->read_only;
    bool encrypted = lib && lib->encrypted;
    pthread_rwlock_unlock(&fs->libs_lock);
    if (writable && encrypted) {
        struct seaf_crypt_key key;
        writable = library_keys_get(fs->keys, repo_id, &key);
        seaf_crypt_key_wipe(&key);
    }
    return writable;
}

void node_stat(struct seafs *fs, uint64_t ino, const struct inode_info *info, struct stat *st)
{
    memset(st, 0, sizeof(*st));
    st->st_ino = ino;
    st->st_uid = fs->opts->uid;
    st->st_gid = fs->opts->gid;
    st->st_blksize = 128 * 1024;
    bool inside = info->kind != INODE_ROOT_DIR && info->kind != INODE_CATEGORY;
    mode_t write = inside && node_library_writable(fs, info->repo_id) ? 0200 : 0;
    int64_t mtime = info->mtime;
    if (info->kind == INODE_FILE) {
        mode_t perm = (info->mode == SEAF_MODE_FILE_EXEC ? 0555 : 0444) | write;
        uint64_t size = (uint64_t)info->size;
        /* A staged file's size and mtime: live while it is in memory, else as last saved (the
         * inode's copy is that of when it was staged). */
        if (info->staged && fs->dirty && !dirty_attr_of(fs->dirty, info->staged, &size, &mtime))
            overlay_staged_attr(fs->overlay, info->staged, &size, &mtime);
        st->st_mode = S_IFREG | (perm & ~fs->opts->umask);
        st->st_nlink = 1;
        st->st_size = (off_t)size;
        st->st_blocks = (blkcnt_t)((size + 511) / 512);
    } else {
        st->st_mode = S_IFDIR | ((0555 | write) & ~fs->opts->umask);
        st->st_nlink = 2;
        st->st_size = 4096;
    }
    st->st_mtim.tv_sec = st->st_atim.tv_sec = st->st_ctim.tv_sec = (time_t)mtime;
}

int node_lookup(struct seafs *fs, uint64_t parent, const char *name, uint64_t *ino, struct stat *st,
                bool *absent)
{
    struct inode_info info;
    uint64_t since = inode_table_clock(fs->inodes);
    bool none;
    int rc = lookup_info(fs, parent, name, &info, &none);
    if (absent)
        *absent = rc == -ENOENT && none;
    if (rc)
        return rc;
    *ino = inode_table_ref(fs->inodes, parent, name, &info, since);
    if (*ino == 0)
        return -ENOMEM;
    node_stat(fs, *ino, &info, st);
    return 0;
}

int node_getattr(struct seafs *fs, uint64_t ino, struct stat *st)
{
    struct inode_info info;
    int rc = node_resolve(fs, ino, &info);
    if (rc == 0)
        node_stat(fs, ino, &info, st);
    return rc;
}

int node_write_errno(struct seafs *fs, uint64_t ino)
{
    struct inode_info info;
    if (fs->opts->read_only || !inode_table_get(fs->inodes, ino, &info, NULL, NULL) ||
        !info.repo_id[0])
        return EROFS;
    return node_library_writable(fs, info.repo_id) ? 0 : EACCES;
}

static int add_item(struct node_listing *l, size_t *cap, const char *name,
                    const struct inode_info *info)
{
    for (size_t i = 0; i < l->n_items; i++)
        if (strcmp(l->items[i].name, name) == 0)
            return 0; /* category already listed */
    if (l->n_items == *cap) {
        size_t grown_cap = *cap ? *cap * 2 : 16;
        struct listing_item *grown = realloc(l->items, grown_cap * sizeof(*grown));
        if (!grown)
            return -ENOMEM;
        l->items = grown;
        *cap = grown_cap;
    }
    if (!(l->items[l->n_items].name = strdup(name)))
        return -ENOMEM;
    l->items[l->n_items++].info = *info;
    return 0;
}

/* Lists the mount point (category NULL) or a category folder. */
static int list_top(struct seafs *fs, const char *category, struct node_listing *l)
{
    size_t cap = 0;
    int rc = 0;
    pthread_rwlock_rdlock(&fs->libs_lock);
    bool seadrive = fs->opts->layout == SEAFS_LAYOUT_SEADRIVE;
    for (size_t i = 0; i < fs->libs.n && rc == 0; i++) {
        const struct library *lib = &fs->libs.libs[i];
        struct inode_info info;
        if (seadrive && !category) {
            memset(&info, 0, sizeof(info));
            info.kind = INODE_CATEGORY;
            info.mode = SEAF_MODE_DIR;
            info.mtime = category_mtime(fs, lib->category);
            rc = add_item(l, &cap, lib->category, &info);
        } else if (!category || strcmp(lib->category, category) == 0) {
            library_info(fs, lib, &info);
            rc = add_item(l, &cap, lib->folder, &info);
        }
    }
    pthread_rwlock_unlock(&fs->libs_lock);
    return rc;
}

/* Lists a directory with local changes (the overlay's merged listing) into l's items. */
static int list_changed(struct seafs *fs, const struct inode_info *dir, struct node_listing *l)
{
    struct overlay_listing ol;
    int rc = overlay_list(fs->overlay, fs->tree, dir, &ol);
    if (rc)
        return rc;
    l->items = calloc(ol.n ? ol.n : 1, sizeof(*l->items));
    if (!l->items) {
        overlay_listing_release(&ol);
        return -ENOMEM;
    }
    for (size_t i = 0; i < ol.n; i++) {
        l->items[i].name = ol.names[i]; /* taken over */
        l->items[i].info = ol.infos[i];
        ol.names[i] = NULL;
    }
    l->n_items = ol.n;
    overlay_listing_release(&ol);
    return 0;
}

/* The generation of library repo_id now (0 when it is not listed). */
static uint64_t generation_of(struct seafs *fs, const char *repo_id)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo_id);
    uint64_t generation = lib ? lib->generation : 0;
    pthread_rwlock_unlock(&fs->libs_lock);
    return generation;
}

/* One attempt of node_list into l. */
static int list_once(struct seafs *fs, uint64_t ino, struct node_listing *l)
{
    l->clock = inode_table_clock(fs->inodes);
    l->names_epoch = atomic_load(&fs->names_epoch);
    struct inode_info info;
    char *name = NULL;
    int rc = 0;
    if (!inode_table_get(fs->inodes, ino, &info, NULL, NULL)) {
        rc = -ENOENT;
    } else if (info.kind == INODE_ROOT_DIR) {
        rc = list_top(fs, NULL, l);
    } else if (info.kind == INODE_CATEGORY) {
        name = inode_name(fs, ino, NULL);
        rc = name ? list_top(fs, name, l) : -ENOENT;
    } else if ((rc = dir_object(fs, ino, &l->parent)) == 0) {
        if (l->parent.node && fs->overlay)
            rc = list_changed(fs, &l->parent, l);
        else
            rc = tree_get(fs->tree, l->parent.repo_id, l->parent.obj_id, SEAF_FSOBJ_DIR, &l->dir);
    }
    free(name);
    return rc;
}

int node_list(struct seafs *fs, uint64_t ino, struct node_listing **out)
{
    for (int tries = 0;; tries++) {
        struct node_listing *l = calloc(1, sizeof(*l));
        if (!l)
            return -ENOMEM;
        int rc = list_once(fs, ino, l);
        /* A library that moved on while it was listed (an upload adopted its head and settled
         * its rows meanwhile) may have been read half before, half after: again. */
        if (rc == 0 && tries < 3 && l->parent.repo_id[0] &&
            generation_of(fs, l->parent.repo_id) != l->parent.generation) {
            node_listing_free(fs, l);
            continue;
        }
        if (rc) {
            node_listing_free(fs, l);
            return rc;
        }
        *out = l;
        return 0;
    }
}

uint64_t node_listing_clock(const struct node_listing *l)
{
    return l->clock;
}

bool node_listing_current(struct seafs *fs, const struct node_listing *l)
{
    return atomic_load(&fs->names_epoch) == l->names_epoch &&
           (!l->parent.repo_id[0] || generation_of(fs, l->parent.repo_id) == l->parent.generation);
}

size_t node_listing_count(const struct node_listing *l)
{
    return l->dir ? tree_obj_fsobj(l->dir)->dir.n_entries : l->n_items;
}

void node_listing_entry(const struct node_listing *l, size_t i, const char **name,
                        struct inode_info *info)
{
    if (l->dir) {
        const struct seaf_dirent *d = &tree_obj_fsobj(l->dir)->dir.entries[i];
        *name = d->name;
        overlay_dirent_info(d, l->parent.repo_id, l->parent.generation, info);
    } else {
        *name = l->items[i].name;
        *info = l->items[i].info;
    }
}

int node_listing_refresh(struct seafs *fs, uint64_t ino, struct node_listing *l)
{
    struct node_listing *fresh = NULL;
    int rc = node_list(fs, ino, &fresh);
    if (rc)
        return rc;
    struct node_listing old = *l;
    *l = *fresh;
    *fresh = old;
    node_listing_free(fs, fresh);
    return 0;
}

void node_listing_free(struct seafs *fs, struct node_listing *l)
{
    if (!l)
        return;
    tree_obj_unref(fs->tree, l->dir);
    for (size_t i = 0; i < l->n_items; i++)
        free(l->items[i].name);
    free(l->items);
    free(l);
}

void node_path(struct seafs *fs, uint64_t ino, char *out, size_t size)
{
    char path[4096] = "";
    size_t len = 0;
    for (int depth = 0; ino != INODE_ROOT && depth < 256; depth++) {
        uint64_t parent = INODE_ROOT;
        char *name = inode_name(fs, ino, &parent);
        if (!name)
            parent = INODE_ROOT;
        const char *part = name ? name : "?";
        size_t part_len = strlen(part);
        if (len + part_len + 1 < sizeof(path)) {
            memmove(path + part_len + (len ? 1 : 0), path, len + 1);
            memcpy(path, part, part_len);
            if (len)
                path[part_len] = '/';
            len += part_len + (len ? 1 : 0);
        }
        free(name);
        ino = parent;
    }
    snprintf(out, size, "%s", path);
}
