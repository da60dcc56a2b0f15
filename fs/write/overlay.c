/* overlay: resolving names and listing directories through the local changes (see overlay.h).
 * A lookup in a directory with a node asks the journal first (one primary-key query); only a
 * name the journal does not know goes to the server's directory object. A listing merges the two
 * in one pass over the journal's rows, which come sorted by name. */
#include "overlay.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct overlay {
    pthread_mutex_t lock;
    struct journal *journal; /* protected by lock */
};

int overlay_open(const char *path, struct overlay **out)
{
    *out = NULL;
    struct overlay *ov = calloc(1, sizeof(*ov));
    if (!ov)
        return -ENOMEM;
    seaf_err err = journal_open(path, &ov->journal);
    if (err != SEAF_OK) {
        log_msg(LOG_ERR, "cannot open the journal of local changes %s: %s", path,
                err == SEAF_ERR_MALFORMED ? "damaged or of another version (left as it is)"
                                          : seaf_strerror(err));
        free(ov);
        return -EIO;
    }
    pthread_mutex_init(&ov->lock, NULL);
    *out = ov;
    return 0;
}

void overlay_close(struct overlay *ov)
{
    if (!ov)
        return;
    journal_close(ov->journal);
    pthread_mutex_destroy(&ov->lock);
    free(ov);
}

void overlay_lock(struct overlay *ov)
{
    pthread_mutex_lock(&ov->lock);
}

void overlay_unlock(struct overlay *ov)
{
    pthread_mutex_unlock(&ov->lock);
}

struct journal *overlay_journal(struct overlay *ov)
{
    return ov->journal;
}

uint64_t overlay_library_node(struct overlay *ov, const char *repo)
{
    uint64_t node = 0;
    pthread_mutex_lock(&ov->lock);
    if (journal_library_root(ov->journal, repo, false, &node) != SEAF_OK)
        node = 0;
    pthread_mutex_unlock(&ov->lock);
    return node;
}

bool overlay_staged_attr(struct overlay *ov, uint64_t id, uint64_t *size, int64_t *mtime)
{
    struct journal_entry e;
    pthread_mutex_lock(&ov->lock);
    bool found = journal_entry_of_staged(ov->journal, id, &e) == SEAF_OK;
    pthread_mutex_unlock(&ov->lock);
    if (found) {
        *size = (uint64_t)e.size;
        *mtime = e.mtime;
    }
    return found;
}

void overlay_dirent_info(const struct seaf_dirent *d, const char *repo, uint64_t generation,
                         struct inode_info *info)
{
    memset(info, 0, sizeof(*info));
    info->kind = seaf_dirent_is_dir(d) ? INODE_DIR : INODE_FILE;
    snprintf(info->repo_id, sizeof(info->repo_id), "%s", repo);
    memcpy(info->obj_id, d->id, sizeof(info->obj_id));
    info->mode = d->mode;
    info->size = d->size;
    info->mtime = d->mtime;
    info->generation = generation;
}

/* The id of directory name in the directory object source, or false when it has none. */
static bool server_subdir(struct tree *tree, const char *repo, const char *source, const char *name,
                          char out[SEAF_ID_LEN + 1])
{
    struct tree_obj *obj = NULL;
    if (!source || !source[0] || tree_get(tree, repo, source, SEAF_FSOBJ_DIR, &obj) != 0)
        return false;
    const struct seaf_dirent *d = seaf_dir_lookup(&tree_obj_fsobj(obj)->dir, name, strlen(name));
    bool found = d && seaf_dirent_is_dir(d);
    if (found)
        memcpy(out, d->id, SEAF_ID_LEN + 1);
    tree_obj_unref(tree, obj);
    return found;
}

void overlay_entry_info(struct tree *tree, const char *repo, uint64_t generation,
                        const char *parent_source, const struct journal_entry *e,
                        struct inode_info *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->repo_id, sizeof(out->repo_id), "%s", repo);
    out->generation = generation;
    out->mode = e->mode;
    out->mtime = e->mtime;
    if (e->kind == JOURNAL_DIR) {
        out->kind = INODE_DIR;
        out->node = e->child;
        out->mode = SEAF_MODE_DIR;
        if (!e->follow || !server_subdir(tree, repo, parent_source, e->name, out->obj_id))
            memcpy(out->obj_id, e->obj[0] ? e->obj : SEAF_EMPTY_ID, sizeof(out->obj_id));
        return;
    }
    out->kind = INODE_FILE;
    out->staged = e->staged;
    out->size = e->size;
    memcpy(out->obj_id, e->obj[0] ? e->obj : SEAF_EMPTY_ID, sizeof(out->obj_id));
}

/* The local entry (node, name): 0, -ENOENT when there is none, -EIO. */
static int local_entry(struct overlay *ov, uint64_t node, const char *name, struct journal_entry *e)
{
    pthread_mutex_lock(&ov->lock);
    seaf_err err = journal_entry_get(ov->journal, node, name, e);
    pthread_mutex_unlock(&ov->lock);
    if (err == SEAF_ERR_NOT_FOUND)
        return -ENOENT;
    if (err != SEAF_OK) {
        log_msg(LOG_ERR, "journal of local changes: %s", journal_last_error(ov->journal));
        return -EIO;
    }
    return 0;
}

int overlay_lookup(struct overlay *ov, struct tree *tree, const struct inode_info *dir,
                   const char *name, struct inode_info *out)
{
    if (dir->node) {
        struct journal_entry e;
        int rc = local_entry(ov, dir->node, name, &e);
        if (rc == 0) {
            if (e.kind == JOURNAL_DELETED)
                return -ENOENT;
            overlay_entry_info(tree, dir->repo_id, dir->generation, dir->obj_id, &e, out);
            return 0;
        }
        if (rc != -ENOENT)
            return rc;
    }
    if (strcmp(dir->obj_id, SEAF_EMPTY_ID) == 0 || !dir->obj_id[0])
        return -ENOENT;
    struct tree_obj *obj = NULL;
    int rc = tree_get(tree, dir->repo_id, dir->obj_id, SEAF_FSOBJ_DIR, &obj);
    if (rc) /* an object the server does not have (any more) is no answer about the name */
        return rc == -ENOENT ? -EIO : rc;
    const struct seaf_dirent *d = seaf_dir_lookup(&tree_obj_fsobj(obj)->dir, name, strlen(name));
    if (d)
        overlay_dirent_info(d, dir->repo_id, dir->generation, out);
    tree_obj_unref(tree, obj);
    return d ? 0 : -ENOENT;
}

/* The local entries of a node, sorted by name (ascending). */
struct rows {
    struct journal_entry *e;
    size_t n, cap;
};

static int collect_row(void *ctx, const struct journal_entry *e)
{
    struct rows *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct journal_entry *more = realloc(r->e, cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        r->e = more;
        r->cap = cap;
    }
    r->e[r->n++] = *e;
    return 0;
}

static bool rows_have(const struct rows *r, const char *name)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(r->e[mid].name, name);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int listing_add(struct overlay_listing *l, size_t *cap, const char *name,
                       const struct inode_info *info)
{
    if (l->n == *cap) {
        size_t grown = *cap ? *cap * 2 : 32;
        char **names = realloc(l->names, grown * sizeof(*names));
        if (!names)
            return -ENOMEM;
        l->names = names;
        struct inode_info *infos = realloc(l->infos, grown * sizeof(*infos));
        if (!infos)
            return -ENOMEM;
        l->infos = infos;
        *cap = grown;
    }
    if (!(l->names[l->n] = strdup(name)))
        return -ENOMEM;
    l->infos[l->n++] = *info;
    return 0;
}

int overlay_list(struct overlay *ov, struct tree *tree, const struct inode_info *dir,
                 struct overlay_listing *out)
{
    memset(out, 0, sizeof(*out));
    struct rows rows = {0};
    int rc = 0;
    if (dir->node) {
        int stopped = 0;
        pthread_mutex_lock(&ov->lock);
        seaf_err err = journal_entries(ov->journal, dir->node, collect_row, &rows, &stopped);
        pthread_mutex_unlock(&ov->lock);
        rc = stopped ? stopped : err != SEAF_OK ? -EIO : 0;
    }
    struct tree_obj *obj = NULL;
    if (rc == 0 && dir->obj_id[0] && strcmp(dir->obj_id, SEAF_EMPTY_ID) != 0)
        rc = tree_get(tree, dir->repo_id, dir->obj_id, SEAF_FSOBJ_DIR, &obj);
    size_t cap = 0;
    if (rc == 0 && obj) {
        const struct seaf_dir *d = &tree_obj_fsobj(obj)->dir;
        for (size_t i = 0; i < d->n_entries && rc == 0; i++) {
            if (rows_have(&rows, d->entries[i].name))
                continue;
            struct inode_info info;
            overlay_dirent_info(&d->entries[i], dir->repo_id, dir->generation, &info);
            rc = listing_add(out, &cap, d->entries[i].name, &info);
        }
    }
    tree_obj_unref(tree, obj);
    for (size_t i = 0; i < rows.n && rc == 0; i++) {
        if (rows.e[i].kind == JOURNAL_DELETED)
            continue;
        struct inode_info info;
        overlay_entry_info(tree, dir->repo_id, dir->generation, dir->obj_id, &rows.e[i], &info);
        rc = listing_add(out, &cap, rows.e[i].name, &info);
    }
    free(rows.e);
    if (rc)
        overlay_listing_release(out);
    return rc;
}

void overlay_listing_release(struct overlay_listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->infos);
    memset(l, 0, sizeof(*l));
}

/* ---- pending changes (seafs status) ---- */

struct pending_walk {
    struct overlay *ov;
    struct overlay_pending *out;
    uint64_t *nodes; /* still to visit */
    size_t n, cap;
};

static int visit_later(struct pending_walk *w, uint64_t node)
{
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        uint64_t *more = realloc(w->nodes, cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        w->nodes = more;
        w->cap = cap;
    }
    w->nodes[w->n++] = node;
    return 0;
}

bool overlay_entry_pending(struct overlay *ov, const struct journal_entry *e, uint64_t *bytes)
{
    *bytes = 0;
    if (e->kind == JOURNAL_DIR && e->child && e->follow)
        return false; /* it only leads to the changes below it */
    struct journal_staged s;
    if (e->kind == JOURNAL_FILE && e->staged &&
        journal_staged_get(ov->journal, e->staged, &s) == SEAF_OK) {
        bool on_server = s.n_extents == 0 && s.base_limit == s.size && s.size == s.base_size &&
                         e->base[0] && strcmp(s.base, e->base) == 0;
        free(s.extents);
        if (on_server)
            return false;
        *bytes = s.size;
    }
    return true;
}

static int count_pending_row(void *ctx, const struct journal_entry *e)
{
    struct pending_walk *w = ctx;
    if (e->kind == JOURNAL_DIR && e->child && visit_later(w, e->child) != 0)
        return -ENOMEM;
    uint64_t bytes;
    if (overlay_entry_pending(w->ov, e, &bytes)) {
        w->out->changes++;
        w->out->bytes += bytes;
    }
    return 0;
}

int overlay_pending(struct overlay *ov, const char *repo, struct overlay_pending *out)
{
    memset(out, 0, sizeof(*out));
    struct pending_walk w = {.ov = ov, .out = out};
    uint64_t root = overlay_library_node(ov, repo);
    int rc = root ? visit_later(&w, root) : 0;
    while (rc == 0 && w.n > 0) {
        uint64_t node = w.nodes[--w.n];
        int stopped = 0;
        pthread_mutex_lock(&ov->lock);
        seaf_err err = journal_entries(ov->journal, node, count_pending_row, &w, &stopped);
        pthread_mutex_unlock(&ov->lock);
        rc = stopped ? stopped : err != SEAF_OK ? -EIO : 0;
    }
    free(w.nodes);
    return rc;
}
