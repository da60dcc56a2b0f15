/* commit_build: snapshot of a library's rows and the tree they make on a head (see
 * commit_build.h).
 *
 * build_dir walks one directory: the server's entries of its listing source (the head's
 * directory at that place, or the fixed source of a directory made or moved locally), with the
 * node's rows applied name by name, recursing into rows that have nodes; the result is
 * serialised with seaf_dir_to_json, and kept for upload when it is new. */
#include "commit_build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ignore.h"
#include "log.h"
#include "overlay.h"
#include "seaf_objwrite.h"
#include "seafs.h"

/* ---- snapshot ---- */

struct collect {
    struct snap_row *rows;
    size_t n, cap;
};

static int collect_row(void *ctx, const struct journal_entry *e)
{
    struct collect *c = ctx;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct snap_row *more = realloc(c->rows, cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        c->rows = more;
        c->cap = cap;
    }
    memset(&c->rows[c->n], 0, sizeof(c->rows[c->n]));
    c->rows[c->n++].e = *e;
    return 0;
}

/* Fills the content of a staged row from its staged file (lock held). */
static int staged_content(struct journal *j, struct snap_row *r)
{
    struct journal_staged s;
    seaf_err err = journal_staged_get(j, r->e.staged, &s);
    if (err != SEAF_OK)
        return err == SEAF_ERR_NOT_FOUND ? 0 : -EIO; /* left out */
    if (s.prev[0] && strcmp(s.prev, s.base) == 0) {
        memcpy(r->content, s.prev, sizeof(r->content));
        r->content_size = (int64_t)s.base_size;
        r->unfolded = s.n_extents > 0 || s.size != s.base_size || s.base_limit != s.size;
    }
    free(s.extents);
    return 0;
}

int snapshot_take(struct seafs *fs, const char *repo, struct snapshot *out)
{
    memset(out, 0, sizeof(*out));
    snprintf(out->repo, sizeof(out->repo), "%s", repo);
    struct journal *j = overlay_journal(fs->overlay);
    size_t cap = 0;
    int rc = 0;
    overlay_lock(fs->overlay);
    out->seq = journal_seq(j);
    seaf_err err = journal_library_root(j, repo, false, &out->root_node);
    if (err == SEAF_ERR_NOT_FOUND) {
        overlay_unlock(fs->overlay);
        return 0;
    }
    if (err != SEAF_OK)
        rc = -EIO;
    uint64_t next = out->root_node;
    for (size_t k = 0; rc == 0; k++) {
        if (out->n == cap) {
            cap = cap ? cap * 2 : 16;
            struct snap_node *more = realloc(out->nodes, cap * sizeof(*more));
            if (!more) {
                rc = -ENOMEM;
                break;
            }
            out->nodes = more;
        }
        struct collect c = {0};
        int stopped = 0;
        err = journal_entries(j, next, collect_row, &c, &stopped);
        out->nodes[out->n++] = (struct snap_node){.node = next, .rows = c.rows, .n = c.n};
        if (err != SEAF_OK || stopped) {
            rc = stopped ? stopped : -EIO;
            break;
        }
        for (size_t i = 0; i < c.n && rc == 0; i++) {
            c.rows[i].ignored = !fs->opts->no_ignore && ignore_name(c.rows[i].e.name);
            if (c.rows[i].e.kind == JOURNAL_FILE) {
                if (c.rows[i].e.staged) {
                    rc = staged_content(j, &c.rows[i]);
                } else {
                    memcpy(c.rows[i].content, c.rows[i].e.obj, sizeof(c.rows[i].content));
                    c.rows[i].content_size = c.rows[i].e.size;
                }
            }
        }
        /* The next node: the first child node not taken yet, breadth first. */
        next = 0;
        for (size_t a = 0; !next && a < out->n; a++)
            for (size_t i = 0; !next && i < out->nodes[a].n; i++) {
                uint64_t child = out->nodes[a].rows[i].e.child;
                if (out->nodes[a].rows[i].e.kind == JOURNAL_DIR && child &&
                    !snapshot_node(out, child))
                    next = child;
            }
        if (!next)
            break;
    }
    overlay_unlock(fs->overlay);
    if (rc)
        snapshot_release(out);
    return rc;
}

void snapshot_release(struct snapshot *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->nodes[i].rows);
    free(s->nodes);
    memset(s, 0, sizeof(*s));
}

struct snap_node *snapshot_node(struct snapshot *s, uint64_t node)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->nodes[i].node == node)
            return &s->nodes[i];
    return NULL;
}

/* ---- building ---- */

struct builder {
    struct seafs *fs;
    struct snapshot *snap;
    const char *user;
    int64_t now;
    struct build_result *out;
    size_t objects_cap, files_cap;
    /* description counters and first names */
    size_t added, modified, deleted, dirs_added, dirs_removed;
    char first_added[256], first_modified[256], first_deleted[256], first_dir_added[256],
        first_dir_removed[256];
};

void commit_conflict_name(const char *name, const char *who, int64_t mtime, char *out, size_t size)
{
    char stamp[32];
    time_t t = (time_t)mtime;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y-%m-%d-%H-%M-%S", &tm);
    const char *dot = strrchr(name, '.');
    if (dot && dot != name)
        snprintf(out, size, "%.*s (SFConflict %s %s)%s", (int)(dot - name), name, who, stamp, dot);
    else
        snprintf(out, size, "%s (SFConflict %s %s)", name, who, stamp);
}

static void count(size_t *counter, char *first, const char *name)
{
    if ((*counter)++ == 0)
        snprintf(first, 256, "%s", name);
}

/* A growing array of directory entries; names and modifiers point into rows or the source. */
struct entries {
    struct seaf_dirent *v;
    char **owned; /* names made here (conflict names), freed with the array */
    size_t n, cap, n_owned;
};

static int entries_add(struct entries *x, const struct seaf_dirent *d)
{
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 32;
        struct seaf_dirent *more = realloc(x->v, cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        x->v = more;
        x->cap = cap;
    }
    x->v[x->n++] = *d;
    return 0;
}

static const char *entries_own(struct entries *x, const char *name)
{
    char **more = realloc(x->owned, (x->n_owned + 1) * sizeof(*more));
    if (!more)
        return NULL;
    x->owned = more;
    return (x->owned[x->n_owned++] = strdup(name));
}

static void entries_release(struct entries *x)
{
    for (size_t i = 0; i < x->n_owned; i++)
        free(x->owned[i]);
    free(x->owned);
    free(x->v);
}

static int add_file(struct builder *b, const char *id)
{
    struct build_result *r = b->out;
    if (r->n_files == b->files_cap) {
        size_t cap = b->files_cap ? b->files_cap * 2 : 16;
        void *more = realloc(r->files, cap * sizeof(*r->files));
        if (!more)
            return -ENOMEM;
        r->files = more;
        b->files_cap = cap;
    }
    memcpy(r->files[r->n_files++], id, SEAF_ID_LEN + 1);
    return 0;
}

static int add_object(struct builder *b, const char *id, char *json, size_t len)
{
    struct build_result *r = b->out;
    if (r->n_objects == b->objects_cap) {
        size_t cap = b->objects_cap ? b->objects_cap * 2 : 16;
        struct built_object *more = realloc(r->objects, cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        r->objects = more;
        b->objects_cap = cap;
    }
    struct built_object *o = &r->objects[r->n_objects++];
    memcpy(o->id, id, sizeof(o->id));
    o->json = json;
    o->len = len;
    return 0;
}

static const struct seaf_dirent *find_entry(const struct seaf_dir *dir, const char *name)
{
    return dir ? seaf_dir_lookup(dir, name, strlen(name)) : NULL;
}

static int build_dir(struct builder *b, uint64_t node, const char *source, char id_out[41]);

/* A file row applied to the directory being built. */
static int apply_file(struct builder *b, struct entries *x, struct snap_row *r,
                      const struct seaf_dirent *s)
{
    if (!r->content[0]) { /* new and never folded: not part of this upload */
        if (s)
            return entries_add(x, s);
        return 0;
    }
    struct seaf_dirent d = {.mode = r->e.mode == SEAF_MODE_FILE_EXEC ? SEAF_MODE_FILE_EXEC
                                                                     : SEAF_MODE_FILE,
                            .mtime = r->e.mtime,
                            .size = r->content_size,
                            .name = r->e.name,
                            .name_len = strlen(r->e.name),
                            .modifier = b->user};
    memcpy(d.id, r->content, sizeof(d.id));
    bool same_as_server = s && !seaf_dirent_is_dir(s) && strcmp(s->id, r->content) == 0;
    if (same_as_server && r->unfolded)
        d.mtime = s->mtime; /* the row's time belongs to writes not in this upload */
    /* (a directory there is ours to replace only when it is the one this name held here) */
    bool changed_there = s && strcmp(s->id, r->e.base) != 0 && !same_as_server;
    int rc = 0;
    if (changed_there) {
        /* Both sides changed the name: the server's stays, ours goes up beside it. */
        char name[SEAF_NAME_MAX + 128];
        commit_conflict_name(r->e.name, b->user, r->e.mtime, name, sizeof(name));
        if (strlen(name) >= SEAF_NAME_MAX || !(d.name = entries_own(x, name)))
            return strlen(name) >= SEAF_NAME_MAX ? -ENAMETOOLONG : -ENOMEM;
        d.name_len = strlen(d.name);
        r->conflict = true;
        log_msg(LOG_WARNING, "'%s' was changed on the server and here: uploading ours as '%s'",
                r->e.name, d.name);
        if ((rc = entries_add(x, s)) != 0)
            return rc;
    }
    memcpy(r->uploaded, r->content, sizeof(r->uploaded));
    if (strcmp(r->content, r->e.base) != 0 && strcmp(r->content, SEAF_EMPTY_ID) != 0)
        rc = add_file(b, r->content);
    if (!s || changed_there)
        count(&b->added, b->first_added, d.name);
    else if (!same_as_server || s->mtime != d.mtime || s->mode != d.mode)
        count(&b->modified, b->first_modified, d.name);
    b->out->delta += r->content_size - (s && !changed_there ? s->size : 0);
    return rc ? rc : entries_add(x, &d);
}

/* A directory row applied to the directory being built (source_dir: the parent's listing). */
static int apply_dir(struct builder *b, struct entries *x, struct snap_row *r,
                     const struct seaf_dirent *s)
{
    const char *source = r->e.obj[0] ? r->e.obj : SEAF_EMPTY_ID;
    bool server_dir = s && seaf_dirent_is_dir(s);
    /* A directory made here where the server now has one too (not the one it replaced here,
     * which ours replaces): ours goes into it. */
    bool merge_in = server_dir && !r->e.follow && strcmp(source, SEAF_EMPTY_ID) == 0 &&
                    strcmp(s->id, r->e.base) != 0;
    if ((r->e.follow || merge_in) && server_dir)
        source = s->id;
    char id[SEAF_ID_LEN + 1];
    memcpy(id, source, sizeof(id));
    int rc = r->e.child ? build_dir(b, r->e.child, source, id) : 0;
    if (rc)
        return rc;
    struct seaf_dirent d = {.mode = SEAF_MODE_DIR,
                            .mtime = r->e.mtime,
                            .name = r->e.name,
                            .name_len = strlen(r->e.name),
                            .modifier = ""};
    memcpy(d.id, id, sizeof(d.id));
    /* Something else appeared there on the server: a file, or a directory when ours was moved
     * here with content of its own. */
    bool file_there =
        s && strcmp(s->id, r->e.base) != 0 && (!server_dir || (!r->e.follow && !merge_in));
    if (file_there) {
        char name[SEAF_NAME_MAX + 128];
        commit_conflict_name(r->e.name, b->user, b->now, name, sizeof(name));
        if (strlen(name) >= SEAF_NAME_MAX || !(d.name = entries_own(x, name)))
            return strlen(name) >= SEAF_NAME_MAX ? -ENAMETOOLONG : -ENOMEM;
        d.name_len = strlen(d.name);
        r->conflict = true;
        if ((rc = entries_add(x, s)) != 0)
            return rc;
    }
    if (server_dir && !file_there) {
        /* A time set here (utimens) on a directory the server did not change meanwhile. */
        bool set_here = r->e.follow && strcmp(s->id, r->e.base) == 0 && r->e.mtime != s->mtime;
        if (set_here)
            d.mtime = r->e.mtime;
        else if (strcmp(s->id, id) != 0 && (r->e.follow || merge_in))
            d.mtime = b->now; /* something inside changed */
        else if (r->e.follow)
            d.mtime = s->mtime;
    } else {
        count(&b->dirs_added, b->first_dir_added, d.name);
    }
    memcpy(r->uploaded, id, sizeof(r->uploaded));
    return entries_add(x, &d);
}

/* A deleted row: the server's entry goes, unless it changed there since (then it stays). */
static int apply_deleted(struct builder *b, struct entries *x, struct snap_row *r,
                         const struct seaf_dirent *s)
{
    if (!s)
        return 0;
    if (r->e.base[0] && strcmp(s->id, r->e.base) != 0) {
        log_msg(LOG_INFO, "'%s' was deleted here but changed on the server: kept", r->e.name);
        return entries_add(x, s);
    }
    if (seaf_dirent_is_dir(s))
        count(&b->dirs_removed, b->first_dir_removed, r->e.name);
    else
        count(&b->deleted, b->first_deleted, r->e.name);
    b->out->delta -= s->size;
    return 0;
}

static bool rows_have(const struct snap_node *n, const char *name)
{
    size_t lo = 0, hi = n ? n->n : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(n->rows[mid].e.name, name);
        if (c == 0)
            return !n->rows[mid].ignored;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

static int build_dir(struct builder *b, uint64_t node, const char *source, char id_out[41])
{
    struct tree_obj *obj = NULL;
    int rc = 0;
    if (strcmp(source, SEAF_EMPTY_ID) != 0)
        rc = tree_get(b->fs->tree, b->snap->repo, source, SEAF_FSOBJ_DIR, &obj);
    if (rc)
        return rc;
    const struct seaf_dir *dir = obj ? &tree_obj_fsobj(obj)->dir : NULL;
    struct snap_node *n = snapshot_node(b->snap, node);
    struct entries x = {0};
    for (size_t i = 0; dir && i < dir->n_entries && rc == 0; i++)
        if (!rows_have(n, dir->entries[i].name))
            rc = entries_add(&x, &dir->entries[i]);
    for (size_t i = 0; n && i < n->n && rc == 0; i++) {
        struct snap_row *r = &n->rows[i];
        if (r->ignored)
            continue;
        b->out->changes++;
        const struct seaf_dirent *s = find_entry(dir, r->e.name);
        if (r->e.kind == JOURNAL_FILE)
            rc = apply_file(b, &x, r, s);
        else if (r->e.kind == JOURNAL_DIR)
            rc = apply_dir(b, &x, r, s);
        else
            rc = apply_deleted(b, &x, r, s);
    }
    char *json = NULL;
    size_t len = 0;
    if (rc == 0 && seaf_dir_to_json(x.v, x.n, &json, &len, id_out) != SEAF_OK)
        rc = -EIO;
    if (rc == 0 && json && strcmp(id_out, source) != 0) {
        rc = add_object(b, id_out, json, len);
        json = rc ? json : NULL;
    }
    free(json);
    entries_release(&x);
    tree_obj_unref(b->fs->tree, obj);
    return rc;
}

/* Appends one description line for a counter. */
static void describe(char *out, size_t size, const char *verb, size_t n, const char *first,
                     const char *what)
{
    size_t len = strlen(out);
    if (n == 1)
        snprintf(out + len, size - len, "%s \"%s\".\n", verb, first);
    else if (n > 1)
        snprintf(out + len, size - len, "%s \"%s\" and %zu more %s.\n", verb, first, n - 1, what);
}

int build_tree(struct seafs *fs, struct snapshot *snap, const char *head_root, const char *user,
               int64_t now, struct build_result *out)
{
    memset(out, 0, sizeof(*out));
    struct builder b = {.fs = fs, .snap = snap, .user = user, .now = now, .out = out};
    memcpy(out->root_id, head_root, sizeof(out->root_id));
    int rc = snap->root_node ? build_dir(&b, snap->root_node, head_root, out->root_id) : 0;
    if (rc == 0) {
        size_t size = 6 * 1400;
        out->description = calloc(1, size);
        if (!out->description)
            rc = -ENOMEM;
        if (out->description) {
            describe(out->description, size, "Added", b.added, b.first_added, "files");
            describe(out->description, size, "Modified", b.modified, b.first_modified, "files");
            describe(out->description, size, "Deleted", b.deleted, b.first_deleted, "files");
            describe(out->description, size, "Added directory", b.dirs_added, b.first_dir_added,
                     "directories");
            describe(out->description, size, "Removed directory", b.dirs_removed,
                     b.first_dir_removed, "directories");
        }
    }
    if (rc)
        build_result_release(out);
    return rc;
}

void build_result_release(struct build_result *r)
{
    for (size_t i = 0; i < r->n_objects; i++)
        free(r->objects[i].json);
    free(r->objects);
    free(r->files);
    free(r->description);
    memset(r, 0, sizeof(*r));
}
