/* uploader: the upload rounds (see uploader.h).
 *
 * One round of a library, in the official client's order (protocol doc §6.3):
 *   0. an upload the journal says was under way (the daemon died, or its update-branch got no
 *      answer) is looked for in the server's history first: update-branch is sent again only
 *      when the server does not have it (a repeat would make the server merge it twice);
 *   1. permission-check op=upload, and the server's head H (GET commit/HEAD);
 *   2. staged files are folded into blocks (fold.h) -- those open for writing only when
 *      forced or written for too long;
 *   3. a snapshot of the library's rows is built on H's tree (commit_build.h) into a commit C
 *      whose parent is H, recorded in the journal;
 *   4. quota-check, PUT commit, check-fs + recv-fs, check-blocks + PUT block (parallel),
 *      update-branch;
 *   5. GET commit/HEAD gives the new head H' (C, or the server's merge of C): the rows the
 *      snapshot held and nobody changed since are removed from the journal, the others now
 *      count on top of H'; the mount adopts H'; objects pinned for the upload are let go.
 * Transient failures (network, 5xx, 409 GC conflict) are retried with a growing delay; the
 * server refusing (403, 443, 444) is kept as the library's error and retried slowly. */
#include "uploader.h"
#include "seaf_clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "commit_build.h"
#include "dirty.h"
#include "fileserver_api.h"
#include "fileserver_upload.h"
#include "fold.h"
#include "log.h"
#include "overlay.h"
#include "parallel.h"
#include "poll.h"
#include "rescue.h"
#include "seaf_objwrite.h"
#include "seafs.h"

#define RETRY_FIRST_S   2
#define RETRY_MAX_S     60
#define REFUSED_RETRY_S 60 /* quota, permission: the user has to act first */
#define PUT_THREADS_MAX 4  /* parallel block uploads (each holds one block in memory) */
#define HISTORY_DEPTH   64 /* commits searched for an upload whose answer was lost */

struct lib_state {
    char repo[SEAF_REPO_ID_LEN + 1];
    uint64_t changes;      /* change notifications so far */
    uint64_t done;         /* changes covered by the last round that succeeded */
    int64_t changed_at;    /* monotonic ms of the last notification */
    int64_t retry_at;      /* monotonic ms before which no round starts (after an error) */
    int64_t recheck_at;    /* monotonic ms: files left open are looked at again */
    unsigned failures;     /* consecutive failed rounds */
    uint64_t waiters;      /* threads in uploader_wait for this library */
    uint64_t failed_round; /* counts failed rounds (waiters see a failure since they began) */
    int failed_errno;
    bool uploading;
    uint64_t round_bytes, round_sent;
    int64_t round_started; /* monotonic ms */
    char last_commit[SEAF_ID_LEN + 1];
    int64_t last_commit_time;
    char error[256];
    int64_t error_time;
    int64_t error_retry_at; /* wall clock seconds */
    char recovery_dir[512];
    struct lib_state *next;
};

struct uploader {
    struct seafs *fs;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;    /* the thread: something to do */
    pthread_cond_t changed; /* waiters: a round ended */
    bool stopping;          /* protected by lock */
    bool halted;            /* the thread was joined (uploader_halt) */
    struct lib_state *libs; /* protected by lock */
};

/* The state of repo, made when missing (lock held). NULL on ENOMEM. */
static struct lib_state *state_of(struct uploader *u, const char *repo)
{
    for (struct lib_state *s = u->libs; s; s = s->next)
        if (strcmp(s->repo, repo) == 0)
            return s;
    struct lib_state *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    snprintf(s->repo, sizeof(s->repo), "%s", repo);
    s->next = u->libs;
    u->libs = s;
    return s;
}

void uploader_notify(struct uploader *u, const char *repo)
{
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    struct lib_state *s = state_of(u, repo);
    if (s) {
        s->changes++;
        s->changed_at = seaf_monotonic_ms();
    }
    pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->lock);
}

/* ---- one round ---- */

struct round {
    struct uploader *u;
    struct seafs *fs;
    struct lib_state *st; /* read under u->lock only */
    char repo[SEAF_REPO_ID_LEN + 1];
    bool force; /* fold files open for writing too */
    char why[256];
    int error; /* -errno for waiters */
    struct seaf_commit *head;
    struct seaf_commit *commit;
    char (*blocks)[SEAF_ID_LEN + 1]; /* blocks to PUT */
    size_t n_blocks;
    char rescued[512]; /* the library was gone: where its unsent files went */
};

static int fail_round(struct round *r, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail_round(struct round *r, int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    r->error = error;
    return error;
}

/* The errno waiters get for a server or network failure. */
static int err_errno(seaf_err err)
{
    switch (err) {
    case SEAF_ERR_QUOTA:
        return -EDQUOT;
    case SEAF_ERR_PERMISSION:
    case SEAF_ERR_AUTH:
        return -EACCES;
    case SEAF_ERR_REPO_GONE:
        return -ENOENT;
    case SEAF_ERR_NOSPACE:
        return -ENOSPC;
    default:
        return -EIO;
    }
}

static int server_failed(struct round *r, const char *step, seaf_err err)
{
    return fail_round(r, err_errno(err), "%s: %s", step, seaf_strerror(err));
}

/* Staged files of the library that a row names. */
struct staged_ids {
    struct seafs *fs;
    const char *repo;
    uint64_t *ids;
    size_t n, cap;
};

static int collect_staged(void *ctx, uint64_t id)
{
    struct staged_ids *c = ctx;
    struct journal *j = overlay_journal(c->fs->overlay);
    struct journal_staged s;
    struct journal_entry e;
    if (journal_staged_get(j, id, &s) != SEAF_OK)
        return 0;
    bool mine = strcmp(s.repo, c->repo) == 0;
    free(s.extents);
    if (!mine || journal_entry_of_staged(j, id, &e) != SEAF_OK)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        uint64_t *more = realloc(c->ids, cap * sizeof(*more));
        if (!more)
            return -ENOMEM;
        c->ids = more;
        c->cap = cap;
    }
    c->ids[c->n++] = id;
    return 0;
}

/* Step 2: folds the staged files that are due. Files left open are looked at again later.
 * Durability, in this order: the blocks and file objects of every folded file are flushed to
 * disk at once (one flush for a whole tar x, not an fsync per object), then the journal
 * records the folded files and is synced, and only then their staging data goes. */
static int fold_due(struct round *r, int64_t *recheck_at)
{
    struct seafs *fs = r->fs;
    struct staged_ids c = {.fs = fs, .repo = r->repo};
    overlay_lock(fs->overlay);
    seaf_err err = journal_staged_ids(overlay_journal(fs->overlay), collect_staged, &c);
    overlay_unlock(fs->overlay);
    if (err != SEAF_OK) {
        free(c.ids);
        return fail_round(r, -EIO, "journal: cannot list staged files");
    }
    struct folded {
        struct dirty_file *d;
        bool drop_staging; /* new blocks hold its content: its staging data can go, below */
    } *folded = calloc(c.n ? c.n : 1, sizeof(*folded));
    if (!folded) {
        free(c.ids);
        return fail_round(r, -ENOMEM, "out of memory");
    }
    int rc = 0;
    size_t n_folded = 0, n_new = 0;
    int64_t now = seaf_monotonic_ms();
    for (size_t i = 0; i < c.n && rc == 0; i++) {
        struct dirty_file *d = NULL;
        if (dirty_get(fs->dirty, c.ids[i], &d) != 0)
            continue;
        int64_t since = dirty_changed_since(d);
        bool open = dirty_is_open_for_writing(fs->dirty, c.ids[i]);
        int64_t due = since + (int64_t)fs->opts->upload_max_delay * 1000;
        if (open && !r->force && (since == 0 || now < due)) {
            if (since && (*recheck_at == 0 || due < *recheck_at))
                *recheck_at = due;
            dirty_put(fs->dirty, d);
            continue;
        }
        struct fold_result fr;
        if ((rc = fold_staged(fs, d, &fr)) != 0) {
            fail_round(r, rc, "preparing a changed file for upload: %s", strerror(-rc));
            dirty_put(fs->dirty, d);
            break;
        }
        n_new += fr.new_blocks != 0;
        folded[n_folded++] = (struct folded){.d = d, .drop_staging = fr.new_blocks != 0};
    }
    if (n_new && (err = cache_flush(fs->cache)) != SEAF_OK)
        rc = fail_round(r, -seaf_err_to_errno(err), "cache: cannot flush the folded files: %s",
                        seaf_strerror(err));
    for (size_t i = 0; i < n_folded && rc == 0; i++)
        if ((rc = dirty_persist(fs->dirty, folded[i].d, false)) != 0)
            fail_round(r, rc, "journal: cannot record a folded file: %s", strerror(-rc));
    /* The folded content is in pinned blocks; once the journal says so durably, the staging
     * data of those files is of no use any more. */
    if (rc == 0 && n_new) {
        overlay_lock(fs->overlay);
        seaf_err sync = journal_sync(overlay_journal(fs->overlay));
        overlay_unlock(fs->overlay);
        for (size_t i = 0; sync == SEAF_OK && i < n_folded; i++)
            if (folded[i].drop_staging)
                dirty_drop_staging(fs->dirty, folded[i].d);
    }
    for (size_t i = 0; i < n_folded; i++)
        dirty_put(fs->dirty, folded[i].d);
    free(folded);
    free(c.ids);
    return rc;
}

/* The stored (zlib) form of fs object id: a directory built this round, else a file object
 * folded into the cache. */
static int stored_object(struct round *r, const struct build_result *br, const char *id,
                         void **stored, size_t *len)
{
    for (size_t i = 0; i < br->n_objects; i++)
        if (strcmp(br->objects[i].id, id) == 0)
            return seaf_fsobj_deflate(br->objects[i].json, br->objects[i].len, stored, len) ==
                           SEAF_OK
                       ? 0
                       : -ENOMEM;
    char *json = NULL;
    size_t json_len = 0;
    seaf_err err = cache_get_object(r->fs->cache, CACHE_KIND_FS, id, &json, &json_len);
    if (err != SEAF_OK)
        return -EIO;
    err = seaf_fsobj_deflate(json, json_len, stored, len);
    free(json);
    return err == SEAF_OK ? 0 : -ENOMEM;
}

/* check-fs, then recv-fs of what the server lacks. */
static int send_fs_objects(struct round *r, const struct build_result *br)
{
    size_t n = br->n_objects + br->n_files;
    const char **ids = calloc(n ? n : 1, sizeof(*ids));
    if (!ids)
        return fail_round(r, -ENOMEM, "out of memory");
    for (size_t i = 0; i < br->n_objects; i++)
        ids[i] = br->objects[i].id;
    for (size_t i = 0; i < br->n_files; i++)
        ids[br->n_objects + i] = br->files[i];
    char(*needed)[SEAF_ID_LEN + 1] = NULL;
    size_t n_needed = 0;
    seaf_err err = fileserver_check_fs(r->fs->client, r->repo, ids, n, &needed, &n_needed);
    free(ids);
    if (err != SEAF_OK)
        return server_failed(r, "check-fs", err);
    struct fileserver_fs_record *records = calloc(n_needed ? n_needed : 1, sizeof(*records));
    int rc = records ? 0 : -ENOMEM;
    for (size_t i = 0; i < n_needed && rc == 0; i++) {
        void *data = NULL;
        size_t len = 0;
        rc = stored_object(r, br, needed[i], &data, &len);
        records[i] = (struct fileserver_fs_record){.id = needed[i], .data = data, .len = len};
    }
    if (rc == 0 && n_needed > 0 &&
        (err = fileserver_recv_fs(r->fs->client, r->repo, records, n_needed)) != SEAF_OK)
        rc = server_failed(r, "recv-fs", err);
    else if (rc)
        fail_round(r, rc, "an fs object to upload is missing from the cache");
    for (size_t i = 0; records && i < n_needed; i++)
        free((void *)records[i].data);
    free(records);
    free(needed);
    return rc;
}

/* The block ids of the files with new content (duplicates removed). */
static int collect_blocks(struct round *r, const struct build_result *br, const char ***out,
                          size_t *n_out)
{
    const char **ids = NULL;
    size_t n = 0, cap = 0;
    struct tree_obj **objs = calloc(br->n_files ? br->n_files : 1, sizeof(*objs));
    int rc = objs ? 0 : -ENOMEM;
    for (size_t i = 0; i < br->n_files && rc == 0; i++) {
        rc = tree_get(r->fs->tree, r->repo, br->files[i], SEAF_FSOBJ_FILE, &objs[i]);
        const struct seaf_file *f = rc == 0 ? &tree_obj_fsobj(objs[i])->file : NULL;
        for (size_t b = 0; f && b < f->n_blocks; b++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                const char **more = realloc(ids, cap * sizeof(*more));
                if (!more) {
                    rc = -ENOMEM;
                    break;
                }
                ids = more;
            }
            ids[n++] = f->block_ids[b];
        }
    }
    /* check-blocks wants ids as strings that live on: copy them before the objects go. */
    r->blocks = calloc(n ? n : 1, sizeof(*r->blocks));
    if (!r->blocks)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < n; i++)
        memcpy(r->blocks[i], ids[i], SEAF_ID_LEN + 1);
    r->n_blocks = rc == 0 ? n : 0;
    for (size_t i = 0; objs && i < br->n_files; i++)
        tree_obj_unref(r->fs->tree, objs[i]);
    free(objs);
    free(ids);
    *out = NULL;
    *n_out = 0;
    if (rc == 0) {
        *out = calloc(n ? n : 1, sizeof(**out));
        if (!*out)
            return -ENOMEM;
        for (size_t i = 0; i < n; i++)
            (*out)[i] = r->blocks[i];
        *n_out = n;
    }
    return rc;
}

struct put_job {
    struct round *r;
    char (*ids)[SEAF_ID_LEN + 1];
    seaf_err err;
};

static int put_one(void *ctx, size_t i)
{
    struct put_job *job = ctx;
    struct round *r = job->r;
    char *data = NULL;
    size_t len = 0;
    seaf_err err = cache_get_object(r->fs->cache, CACHE_KIND_BLOCK, job->ids[i], &data, &len);
    if (err == SEAF_OK)
        err = fileserver_put_block(r->fs->client, r->repo, job->ids[i], data, len);
    free(data);
    if (err != SEAF_OK) {
        job->err = err;
        return -1;
    }
    pthread_mutex_lock(&r->u->lock);
    r->st->round_sent += len;
    pthread_mutex_unlock(&r->u->lock);
    return 0;
}

/* check-blocks, then the missing blocks in parallel. */
static int send_blocks(struct round *r, const struct build_result *br)
{
    const char **ids = NULL;
    size_t n = 0;
    int rc = collect_blocks(r, br, &ids, &n);
    if (rc) {
        free(ids);
        return fail_round(r, rc == -ENOMEM ? rc : -EIO, "cannot list the blocks to upload");
    }
    char(*needed)[SEAF_ID_LEN + 1] = NULL;
    size_t n_needed = 0;
    seaf_err err =
        n ? fileserver_check_blocks(r->fs->client, r->repo, ids, n, &needed, &n_needed) : SEAF_OK;
    free(ids);
    if (err != SEAF_OK)
        return server_failed(r, "check-blocks", err);
    uint64_t total = 0;
    for (size_t i = 0; i < n_needed; i++) {
        struct cache_handle *h = NULL;
        if (cache_open(r->fs->cache, CACHE_KIND_BLOCK, needed[i], &h) == SEAF_OK) {
            total += cache_handle_size(h);
            cache_close(h);
        }
    }
    pthread_mutex_lock(&r->u->lock);
    r->st->round_bytes = total;
    r->st->round_sent = 0;
    pthread_mutex_unlock(&r->u->lock);
    struct put_job job = {.r = r, .ids = needed, .err = SEAF_OK};
    unsigned threads =
        r->fs->opts->connections < PUT_THREADS_MAX ? r->fs->opts->connections : PUT_THREADS_MAX;
    rc = parallel_for(n_needed, threads, put_one, &job);
    free(needed);
    if (rc)
        return server_failed(r, "uploading blocks", job.err);
    return 0;
}

/* Whether commit id is head or among its ancestors (breadth first, HISTORY_DEPTH commits). */
static bool in_history(struct round *r, const char *head, const char *id)
{
    char queue[HISTORY_DEPTH][SEAF_ID_LEN + 1];
    size_t n = 0, k = 0;
    memcpy(queue[n++], head, SEAF_ID_LEN + 1);
    while (k < n) {
        if (strcmp(queue[k], id) == 0)
            return true;
        struct seaf_commit *c = NULL;
        if (tree_commit_get(r->fs->tree, r->repo, queue[k++], &c) != 0)
            return false;
        const char *parents[2] = {c->parent_id, c->second_parent_id};
        for (int p = 0; p < 2; p++)
            if (parents[p][0] && n < HISTORY_DEPTH)
                memcpy(queue[n++], parents[p], SEAF_ID_LEN + 1);
        seaf_commit_free(c);
    }
    return false;
}

/* ---- after a successful update-branch ---- */

struct finish {
    struct seafs *fs;
    struct snapshot *snap;
    bool more; /* changes remain (made after the snapshot, or files still open) */
};

/* Whether staged file id is exactly content now (nothing written since it was folded). */
static bool staged_is(struct journal *j, uint64_t id, const char *content)
{
    struct journal_staged s;
    if (journal_staged_get(j, id, &s) != SEAF_OK)
        return false;
    bool same = s.n_extents == 0 && strcmp(s.base, content) == 0 && s.base_limit == s.size &&
                s.size == s.base_size;
    free(s.extents);
    return same;
}

/* Row r of the snapshot is no longer in the journal: the name was made here and went away
 * after the snapshot (a file or directory created, then renamed or deleted, so there was
 * nothing to delete on the server then). The commit put it on the server all the same: it is
 * deleted there next, and the view keeps it out meanwhile. Lock held. */
static seaf_err gone_since(struct finish *f, uint64_t node, const struct snap_row *r)
{
    struct journal *j = overlay_journal(f->fs->overlay);
    char repo[SEAF_REPO_ID_LEN + 1];
    if (r->e.kind == JOURNAL_DELETED || r->conflict || !r->uploaded[0] ||
        journal_node_repo(j, node, repo) != SEAF_OK) /* its directory went as a whole */
        return SEAF_OK;
    struct journal_entry gone;
    memset(&gone, 0, sizeof(gone));
    gone.parent = node;
    snprintf(gone.name, sizeof(gone.name), "%s", r->e.name);
    gone.kind = JOURNAL_DELETED;
    memcpy(gone.base, r->uploaded, sizeof(gone.base));
    gone.mtime = (int64_t)time(NULL);
    f->more = true;
    return journal_entry_put(j, &gone);
}

/* Settles one row of the snapshot now that the commit is on the server. Lock held. */
static seaf_err finish_row(struct finish *f, uint64_t node, struct snap_row *r)
{
    struct journal *j = overlay_journal(f->fs->overlay);
    struct journal_entry cur;
    seaf_err err = journal_entry_get(j, node, r->e.name, &cur);
    if (r->ignored)
        return SEAF_OK;
    if (err == SEAF_ERR_NOT_FOUND)
        return gone_since(f, node, r);
    if (err != SEAF_OK)
        return err;
    if (cur.seq != r->e.seq) { /* changed since: stays, now on top of what was uploaded */
        f->more = true;
        if (!r->conflict)
            snprintf(cur.base, sizeof(cur.base), "%s", r->uploaded);
        return journal_entry_put(j, &cur);
    }
    if (cur.kind == JOURNAL_FILE && !r->content[0]) { /* new, not folded yet (still open) */
        f->more = true;
        return SEAF_OK;
    }
    if (cur.kind == JOURNAL_FILE && cur.staged) {
        /* Settled unless changed since the fold: in the journal, or in memory by a writer (a
         * handle open for writing, a truncate by path on its way to the journal). Inodes of it
         * hold its content from then on; done under the overlay lock, so that a lookup sees
         * either the staged file and its row, or the content and no row. */
        bool clean = staged_is(j, cur.staged, r->content);
        if (!clean || !dirty_settle_locked(f->fs->dirty, cur.staged, r->content)) {
            f->more = f->more || !clean;
            snprintf(cur.base, sizeof(cur.base), "%s", r->conflict ? "" : r->uploaded);
            return journal_entry_put(j, &cur);
        }
    }
    if (cur.kind == JOURNAL_DIR && cur.child) {
        bool any = false;
        if ((err = journal_node_has_entries(j, cur.child, &any)) != SEAF_OK)
            return err;
        if (any && !r->conflict) { /* it stays as the link to changes below it */
            cur.follow = true;
            snprintf(cur.obj, sizeof(cur.obj), "%s", r->uploaded);
            snprintf(cur.base, sizeof(cur.base), "%s", r->uploaded);
            return journal_entry_put(j, &cur);
        }
        if (!any && (err = journal_node_delete(j, cur.child)) != SEAF_OK)
            return err;
        if (any)
            return SEAF_OK;
    }
    return journal_entry_delete(j, node, r->e.name);
}

/* Sets moved[k] for the snapshot's nodes whose directory left its place after the snapshot (the
 * name that led to it leads elsewhere now, or nowhere), and for everything below them: the
 * commit put their rows on the server under the old path, so they do not describe the server's
 * content where the directory is now, and are kept as they are. Lock held. */
static void moved_nodes(struct journal *j, const struct snapshot *snap, bool *moved)
{
    for (size_t k = 1; k < snap->n; k++) { /* parents come first; 0 is the library's root */
        const struct snap_row *link = NULL;
        size_t parent = 0;
        for (size_t p = 0; p < k && !link; p++)
            for (size_t i = 0; i < snap->nodes[p].n && !link; i++)
                if (snap->nodes[p].rows[i].e.kind == JOURNAL_DIR &&
                    snap->nodes[p].rows[i].e.child == snap->nodes[k].node) {
                    link = &snap->nodes[p].rows[i];
                    parent = p;
                }
        struct journal_entry cur;
        moved[k] = !link || moved[parent] ||
                   journal_entry_get(j, snap->nodes[parent].node, link->e.name, &cur) != SEAF_OK ||
                   cur.kind != JOURNAL_DIR || cur.child != snap->nodes[k].node;
    }
}

/* Removes what the upload settled from the journal, in one transaction. */
static int finish_rows(struct round *r, struct finish *f)
{
    struct journal *j = overlay_journal(r->fs->overlay);
    bool *moved = calloc(f->snap->n + 1, sizeof(*moved));
    if (!moved)
        return fail_round(r, -ENOMEM, "out of memory");
    overlay_lock(r->fs->overlay);
    seaf_err err = journal_begin(j);
    moved_nodes(j, f->snap, moved);
    /* Children before parents, so a directory knows whether anything is left below it. */
    for (size_t k = f->snap->n; err == SEAF_OK && k-- > 0;) {
        struct snap_node *n = &f->snap->nodes[k];
        if (moved[k]) { /* its rows stay, relative to where the directory is now */
            f->more = true;
            continue;
        }
        for (size_t i = 0; err == SEAF_OK && i < n->n; i++)
            err = finish_row(f, n->node, &n->rows[i]);
    }
    free(moved);
    bool any = true;
    if (err == SEAF_OK && f->snap->root_node &&
        (err = journal_node_has_entries(j, f->snap->root_node, &any)) == SEAF_OK && !any)
        err = journal_node_delete(j, f->snap->root_node);
    if (err == SEAF_OK)
        err = journal_upload_delete(j, r->repo);
    err = journal_end(j, err, true);
    overlay_unlock(r->fs->overlay);
    atomic_fetch_add(&r->fs->names_epoch, 1); /* rows settled, staged files unstaged */
    if (err != SEAF_OK)
        return fail_round(r, -EIO, "journal: %s", journal_last_error(j));
    return 0;
}

/* Lets go of pinned objects nothing pending needs any more. Content made locally is only ever
 * referred to by staged files (their base and prev: folded content waiting for upload); rows
 * without a staged file name objects the server has, and so does a staged file's content that
 * equals its entry's base (set to what was uploaded). What stays pinned is the other file
 * objects the staged files name, and their blocks. Also run at start-up (pins a crash left). */
struct needed {
    char (*ids)[SEAF_ID_LEN + 1];
    size_t n, cap;
};

static void need(struct needed *x, const char *id)
{
    if (!id[0] || strcmp(id, SEAF_EMPTY_ID) == 0)
        return;
    if (x->n == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 64;
        void *more = realloc(x->ids, cap * sizeof(*x->ids));
        if (!more)
            return;
        x->ids = more;
        x->cap = cap;
    }
    memcpy(x->ids[x->n++], id, SEAF_ID_LEN + 1);
}

static int need_staged(void *ctx, uint64_t id)
{
    struct needed *x = ((void **)ctx)[0];
    struct seafs *fs = ((void **)ctx)[1];
    struct journal *j = overlay_journal(fs->overlay);
    struct journal_staged s;
    struct journal_entry e;
    /* A staged file no name refers to is on its way out; content equal to the entry's base is
     * what the server has there. */
    if (journal_entry_of_staged(j, id, &e) != SEAF_OK)
        return 0;
    if (journal_staged_get(j, id, &s) == SEAF_OK) {
        if (strcmp(s.base, e.base) != 0)
            need(x, s.base);
        if (strcmp(s.prev, e.base) != 0)
            need(x, s.prev);
        free(s.extents);
    }
    return 0;
}

static int cmp_id(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void release_pins(struct seafs *fs)
{
    struct needed x = {0};
    void *ctx[2] = {&x, fs};
    overlay_lock(fs->overlay);
    journal_staged_ids(overlay_journal(fs->overlay), need_staged, ctx);
    overlay_unlock(fs->overlay);
    /* The blocks of the needed file objects. */
    size_t files = x.n;
    for (size_t i = 0; i < files; i++) {
        char *json = NULL;
        size_t len = 0;
        struct seaf_fsobj *obj = NULL;
        if (cache_get_object(fs->cache, CACHE_KIND_FS, x.ids[i], &json, &len) != SEAF_OK)
            continue;
        if (seaf_fsobj_parse_json(json, len, x.ids[i], &obj, NULL) == SEAF_OK &&
            obj->type == SEAF_FSOBJ_FILE)
            for (size_t b = 0; b < obj->file.n_blocks; b++)
                need(&x, obj->file.block_ids[b]);
        seaf_fsobj_free(obj);
        free(json);
    }
    if (x.n) /* qsort and bsearch want an array, even of nothing */
        qsort(x.ids, x.n, sizeof(*x.ids), cmp_id);
    struct cache_pinned *pinned = NULL;
    size_t n = 0;
    if (cache_pinned_list(fs->cache, &pinned, &n) == SEAF_OK) {
        for (size_t i = 0; i < n; i++)
            if (!x.n || !bsearch(pinned[i].id, x.ids, x.n, sizeof(*x.ids), cmp_id))
                cache_pin(fs->cache, pinned[i].kind, pinned[i].id, false);
    }
    free(pinned);
    free(x.ids);
}

/* ---- the round ---- */

/* Steps 4-5 for commit r->commit (json) built from br on head r->head. */
static int send_commit(struct round *r, const struct build_result *br, const char *json, size_t len)
{
    seaf_err err = fileserver_quota_check(r->fs->client, r->repo, br->delta);
    if (err != SEAF_OK)
        return server_failed(r, "quota-check", err);
    err = fileserver_put_commit(r->fs->client, r->repo, r->commit->commit_id, json, len);
    if (err != SEAF_OK)
        return server_failed(r, "PUT commit", err);
    int rc = send_fs_objects(r, br);
    if (rc == 0)
        rc = send_blocks(r, br);
    return rc;
}

/* update-branch, with one more try of the blocks when the server says some are missing. */
static int update_branch(struct round *r, const struct build_result *br)
{
    for (int attempt = 0;; attempt++) {
        struct fileserver_update_result res;
        memset(&res, 0, sizeof(res));
        seaf_err err = fileserver_update_branch(r->fs->client, r->repo, r->commit->commit_id, &res);
        long status = res.status;
        fileserver_update_result_release(&res);
        if (err == SEAF_OK)
            return 0;
        if (err == SEAF_ERR_NOT_FOUND && attempt == 0) { /* 446: blocks or objects missing */
            log_msg(LOG_WARNING,
                    "library %s: the server lacks objects of the upload; "
                    "sending them again",
                    r->repo);
            int rc = send_fs_objects(r, br);
            if (rc == 0)
                rc = send_blocks(r, br);
            if (rc)
                return rc;
            continue;
        }
        if (status == 0)
            return fail_round(r, -EIO,
                              "update-branch: no answer (%s); the server's history "
                              "decides next time",
                              seaf_strerror(err));
        return server_failed(r, "update-branch", err);
    }
}

/* Adopts head (after our commit went in): rows, pins, the mount's view. only_ours: head holds
 * nothing but what the mount already shows (our commit on the head the mount showed), so the
 * kernel's caches stay. */
static int adopt(struct round *r, struct snapshot *snap, const char *new_head, bool only_ours)
{
    /* The head first, the rows after: in between the view is the rows over the new head, so
     * nothing uploaded is ever out of view (the other way round, a new file would vanish for
     * a moment). Then a new generation again, as inodes resolved in between hold rows that
     * are gone now. An interrupted settling is finished by resume() on the next round. */
    poll_adopt_head(r->fs, r->repo, new_head, false);
    struct finish f = {.fs = r->fs, .snap = snap};
    int rc = finish_rows(r, &f);
    /* with the kernel's caches dropped when the server's versions (merges, conflicts) replace
     * what the rows showed */
    poll_adopt_head(r->fs, r->repo, new_head, !only_ours);
    if (rc == 0)
        release_pins(r->fs);
    if (rc == 0 && f.more)
        uploader_notify(r->u, r->repo); /* what changed meanwhile goes next */
    return rc;
}

static int head_of(struct round *r, char head[SEAF_ID_LEN + 1])
{
    seaf_err err = fileserver_head_commit(r->fs->client, r->repo, head);
    return err == SEAF_OK ? 0 : server_failed(r, "GET commit/HEAD", err);
}

/* The id of entry name in directory object dir_id of the library ("" when absent or dir_id is
 * ""). */
static int entry_in_dir(struct round *r, const char *dir_id, const char *name,
                        char out[SEAF_ID_LEN + 1])
{
    out[0] = '\0';
    if (!dir_id[0] || strcmp(dir_id, SEAF_EMPTY_ID) == 0)
        return 0;
    struct tree_obj *obj = NULL;
    int rc = tree_get(r->fs->tree, r->repo, dir_id, SEAF_FSOBJ_DIR, &obj);
    if (rc)
        return rc;
    const struct seaf_dir *dir = &tree_obj_fsobj(obj)->dir;
    for (size_t i = 0; i < dir->n_entries; i++)
        if (strcmp(dir->entries[i].name, name) == 0) {
            memcpy(out, dir->entries[i].id, SEAF_ID_LEN + 1);
            break;
        }
    tree_obj_unref(r->fs->tree, obj);
    return 0;
}

/* Sets every row's uploaded to what commit commit_id holds at its path ("" for nothing): the
 * snapshot's nodes are directories of that tree, reached from the root through the rows that
 * lead to them. */
static int uploaded_from_commit(struct round *r, const char *commit_id, struct snapshot *snap)
{
    struct seaf_commit *commit = NULL;
    int rc = tree_commit_get(r->fs->tree, r->repo, commit_id, &commit);
    char(*dir_of)[SEAF_ID_LEN + 1] = rc ? NULL : calloc(snap->n + 1, sizeof(*dir_of));
    if (!rc && !dir_of)
        rc = -ENOMEM;
    if (!rc && snap->n)
        snprintf(dir_of[0], sizeof(dir_of[0]), "%s", commit->root_id);
    for (size_t k = 0; !rc && k < snap->n; k++) {
        struct snap_node *n = &snap->nodes[k];
        for (size_t i = 0; !rc && i < n->n; i++) {
            struct snap_row *row = &n->rows[i];
            rc = entry_in_dir(r, dir_of[k], row->e.name, row->uploaded);
            struct snap_node *below = row->e.kind == JOURNAL_DIR && row->e.child
                                          ? snapshot_node(snap, row->e.child)
                                          : NULL;
            if (!rc && below)
                memcpy(dir_of[below - snap->nodes], row->uploaded, SEAF_ID_LEN + 1);
        }
    }
    free(dir_of);
    seaf_commit_free(commit);
    return rc;
}

/* Step 0: an upload recorded in the journal. 1 when it was found on the server (and adopted),
 * 0 when it was not (the record is dropped: a new round starts), -errno. */
static int resume(struct round *r)
{
    struct journal *j = overlay_journal(r->fs->overlay);
    struct journal_upload up;
    overlay_lock(r->fs->overlay);
    seaf_err err = journal_upload_get(j, r->repo, &up);
    overlay_unlock(r->fs->overlay);
    if (err == SEAF_ERR_NOT_FOUND)
        return 0;
    char head[SEAF_ID_LEN + 1];
    int rc = head_of(r, head);
    if (rc)
        return rc;
    if (!in_history(r, head, up.commit_id)) {
        overlay_lock(r->fs->overlay);
        journal_upload_delete(j, r->repo);
        overlay_unlock(r->fs->overlay);
        return 0;
    }
    /* It went in: settle exactly the rows it held. */
    log_msg(LOG_INFO, "library %s: upload %.8s was committed before; settling it", r->repo,
            up.commit_id);
    struct snapshot snap;
    if ((rc = snapshot_take(r->fs, r->repo, &snap)) != 0)
        return fail_round(r, rc, "journal: cannot read the changes");
    /* Rows changed after the recorded snapshot stay; the others were in the commit. What the
     * commit holds at each name is read from its tree (a row changed since may be something
     * else now: a file where the commit has a directory). */
    if ((rc = uploaded_from_commit(r, up.commit_id, &snap)) != 0) {
        snapshot_release(&snap);
        return fail_round(r, rc, "reading upload %.8s back: %s", up.commit_id, strerror(-rc));
    }
    for (size_t k = 0; k < snap.n; k++)
        for (size_t i = 0; i < snap.nodes[k].n; i++)
            if (snap.nodes[k].rows[i].e.seq > up.snapshot_seq)
                snap.nodes[k].rows[i].e.seq = 0; /* never equal to the current one: kept */
    rc = adopt(r, &snap, head,
               strcmp(head, up.commit_id) == 0 && poll_head_shown(r->fs, r->repo, up.parent_id));
    snapshot_release(&snap);
    return rc ? rc : 1;
}

/* The library's folder name while it is listed; false when the account no longer sees it. */
static bool listed(struct seafs *fs, const char *repo, char *folder, size_t size)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    struct library *lib = library_list_find(&fs->libs, repo);
    if (lib)
        snprintf(folder, size, "%s", lib->folder);
    pthread_rwlock_unlock(&fs->libs_lock);
    return lib != NULL;
}

/* The server says the library is gone (444), or refuses it and the account's list no longer
 * has it: its changes can never be uploaded, so they are saved into a recovery folder. */
static int library_gone(struct round *r, seaf_err err)
{
    char folder[256] = "";
    bool visible = listed(r->fs, r->repo, folder, sizeof(folder));
    if (err != SEAF_ERR_REPO_GONE && (err != SEAF_ERR_PERMISSION || visible))
        return server_failed(r, "permission-check", err);
    const char *why = err == SEAF_ERR_REPO_GONE ? "was deleted on the server"
                                                : "is no longer shared with this account";
    int rc = rescue_library(r->fs, r->repo, folder, why, r->rescued, sizeof(r->rescued));
    if (rc)
        return fail_round(r, rc, "the library %s, and its unsent changes cannot be saved: %s", why,
                          strerror(-rc));
    return 0;
}

static int run_round(struct round *r, int64_t *recheck_at)
{
    struct seafs *fs = r->fs;
    int rc = resume(r);
    if (rc)
        return rc < 0 ? rc : 0;
    seaf_err err = fileserver_permission_check(fs->client, r->repo, true);
    if (err == SEAF_ERR_REPO_GONE || err == SEAF_ERR_PERMISSION)
        return library_gone(r, err);
    if (err != SEAF_OK)
        return server_failed(r, "permission-check", err);
    char head[SEAF_ID_LEN + 1];
    if ((rc = head_of(r, head)) != 0)
        return rc;
    if ((rc = tree_commit_get(fs->tree, r->repo, head, &r->head)) != 0)
        return fail_round(r, rc, "head commit %.8s: %s", head, strerror(-rc));
    /* Built on a head the mount has not shown yet: its changes come into view with ours. */
    bool head_shown = poll_head_shown(fs, r->repo, head);
    if ((rc = fold_due(r, recheck_at)) != 0)
        return rc;
    struct snapshot snap;
    if ((rc = snapshot_take(fs, r->repo, &snap)) != 0)
        return fail_round(r, rc, "journal: cannot read the changes");
    struct build_result br;
    int64_t now = (int64_t)time(NULL);
    rc = build_tree(fs, &snap, r->head->root_id, fs->opts->user, now, &br);
    if (rc) {
        snapshot_release(&snap);
        return fail_round(r, rc, "building the new tree: %s", strerror(-rc));
    }
    if (strcmp(br.root_id, r->head->root_id) == 0) { /* nothing that goes to the server */
        rc = adopt(r, &snap, head, head_shown);
        build_result_release(&br);
        snapshot_release(&snap);
        return rc;
    }
    char version[32];
    snprintf(version, sizeof(version), "seafs_%s", SEAFS_VERSION);
    char *json = NULL;
    size_t len = 0;
    err = seaf_commit_new_child(r->head, br.root_id, fs->device_id, fs->opts->user, br.description,
                                now, fs->device_name, version, &r->commit);
    if (err == SEAF_OK && strcmp(r->commit->commit_id, head) == 0) {
        r->commit->ctime++; /* never the id of the head itself (same second, same change) */
        err = seaf_commit_compute_id(r->commit, SEAF_COMMIT_ID_C, r->commit->commit_id);
    }
    if (err == SEAF_OK)
        err = seaf_commit_to_json(r->commit, &json, &len);
    /* Cached for later reads of the history (best effort: the server has it once sent). */
    if (err == SEAF_OK)
        cache_put_object(fs->cache, CACHE_KIND_COMMIT, r->commit->commit_id, json, len);
    if (err != SEAF_OK)
        rc = fail_round(r, -EIO, "making the commit: %s", seaf_strerror(err));
    if (rc == 0) {
        struct journal_upload up = {.snapshot_seq = snap.seq, .started = now};
        memcpy(up.repo, r->repo, sizeof(up.repo));
        memcpy(up.commit_id, r->commit->commit_id, sizeof(up.commit_id));
        memcpy(up.parent_id, head, sizeof(up.parent_id));
        overlay_lock(fs->overlay);
        err = journal_upload_put(overlay_journal(fs->overlay), &up);
        overlay_unlock(fs->overlay);
        if (err != SEAF_OK)
            rc = fail_round(r, -EIO, "journal: cannot record the upload");
    }
    if (rc == 0)
        rc = send_commit(r, &br, json, len);
    if (rc == 0)
        rc = update_branch(r, &br);
    char new_head[SEAF_ID_LEN + 1];
    if (rc == 0 && (rc = head_of(r, new_head)) == 0) {
        log_msg(LOG_INFO, "library %s: committed %.8s (%zu changes)%s", r->repo,
                r->commit->commit_id, br.changes,
                strcmp(new_head, r->commit->commit_id) ? ", merged by the server" : "");
        rc = adopt(r, &snap, new_head, head_shown && strcmp(new_head, r->commit->commit_id) == 0);
    }
    free(json);
    build_result_release(&br);
    snapshot_release(&snap);
    return rc;
}

/* ---- the thread ---- */

/* The library to upload now (lock held), or NULL with *wait_ms until something may be due. */
/* Whether the cache is past its limit: staged and pinned data then go up at once (files open
 * for writing too) so the space comes back, and writers wait for it (dirty_write). */
static bool under_pressure(struct seafs *fs)
{
    uint64_t used, limit, staged;
    cache_usage(fs->cache, &used, &limit, &staged);
    return used > limit;
}

static struct lib_state *next_due(struct uploader *u, int64_t *wait_ms, bool *force)
{
    bool pressure = under_pressure(u->fs);
    int64_t now = seaf_monotonic_ms(),
            delay = pressure ? 0 : (int64_t)u->fs->opts->upload_delay * 1000;
    *wait_ms = 1000;
    for (struct lib_state *s = u->libs; s; s = s->next) {
        bool pending = s->changes != s->done;
        bool recheck = s->recheck_at && now >= s->recheck_at;
        if (!pending && !recheck)
            continue;
        int64_t at = s->changed_at + (s->waiters ? 0 : delay);
        if (s->retry_at > at)
            at = s->retry_at;
        if (!pending && recheck)
            at = s->recheck_at;
        if (now >= at) {
            *force = s->waiters > 0 || pressure;
            return s;
        }
        if (at - now < *wait_ms)
            *wait_ms = at - now;
    }
    return NULL;
}

static void *uploader_main(void *arg)
{
    struct uploader *u = arg;
    pthread_mutex_lock(&u->lock);
    while (!u->stopping) {
        int64_t wait_ms;
        bool force = false;
        struct lib_state *s = next_due(u, &wait_ms, &force);
        if (!s) {
            struct timespec deadline;
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_sec += wait_ms / 1000;
            deadline.tv_nsec += (wait_ms % 1000) * 1000000;
            if (deadline.tv_nsec >= 1000000000) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&u->wake, &u->lock, &deadline);
            continue;
        }
        uint64_t changes = s->changes;
        s->uploading = true;
        s->round_started = seaf_monotonic_ms();
        s->round_bytes = s->round_sent = 0;
        s->recheck_at = 0;
        struct round r = {.u = u, .fs = u->fs, .st = s, .force = force};
        memcpy(r.repo, s->repo, sizeof(r.repo));
        pthread_mutex_unlock(&u->lock);

        int64_t recheck_at = 0;
        int rc = run_round(&r, &recheck_at);
        seaf_commit_free(r.head);
        free(r.blocks);

        pthread_mutex_lock(&u->lock);
        s->uploading = false;
        s->recheck_at = recheck_at;
        if (rc == 0 && r.rescued[0]) {
            s->done = s->changes; /* nothing of it is left to upload */
            snprintf(s->recovery_dir, sizeof(s->recovery_dir), "%s", r.rescued);
            snprintf(s->error, sizeof(s->error), "%s",
                     "the library is gone from the server: its unsent files were saved in the "
                     "recovery folder");
            s->error_time = (int64_t)time(NULL);
        } else if (rc == 0) {
            s->done = changes;
            s->failures = 0;
            s->retry_at = 0;
            s->error[0] = '\0';
            if (r.commit) {
                memcpy(s->last_commit, r.commit->commit_id, sizeof(s->last_commit));
                s->last_commit_time = (int64_t)time(NULL);
            }
        } else {
            bool refused = rc == -EDQUOT || rc == -EACCES || rc == -ENOENT;
            unsigned delay =
                refused ? REFUSED_RETRY_S : RETRY_FIRST_S << (s->failures < 5 ? s->failures : 5);
            if (delay > RETRY_MAX_S && !refused)
                delay = RETRY_MAX_S;
            s->failures++;
            s->failed_round++;
            s->failed_errno = rc;
            s->retry_at = seaf_monotonic_ms() + (int64_t)delay * 1000;
            s->error_retry_at = (int64_t)time(NULL) + delay;
            snprintf(s->error, sizeof(s->error), "%s", r.why[0] ? r.why : strerror(-rc));
            s->error_time = (int64_t)time(NULL);
            log_msg(LOG_WARNING, "library %s: upload failed (%s); trying again in %u s", s->repo,
                    s->error, delay);
        }
        seaf_commit_free(r.commit);
        pthread_cond_broadcast(&u->changed);
    }
    pthread_mutex_unlock(&u->lock);
    return NULL;
}

static int note_library(void *ctx, const char *repo)
{
    uploader_notify(ctx, repo);
    return 0;
}

struct uploader *uploader_start(struct seafs *fs)
{
    struct uploader *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->fs = fs;
    pthread_mutex_init(&u->lock, NULL);
    pthread_cond_init(&u->wake, NULL);
    pthread_cond_init(&u->changed, NULL);
    /* Changes an earlier run left: due at once. */
    overlay_lock(fs->overlay);
    journal_libraries(overlay_journal(fs->overlay), note_library, u);
    overlay_unlock(fs->overlay);
    for (struct lib_state *s = u->libs; s; s = s->next)
        s->changed_at = 0;
    release_pins(fs);
    if (pthread_create(&u->thread, NULL, uploader_main, u) != 0) {
        log_msg(LOG_ERR, "cannot start the upload thread");
        free(u);
        return NULL;
    }
    return u;
}

void uploader_halt(struct uploader *u)
{
    if (!u || u->halted)
        return;
    pthread_mutex_lock(&u->lock);
    u->stopping = true;
    pthread_cond_broadcast(&u->wake);
    pthread_cond_broadcast(&u->changed);
    pthread_mutex_unlock(&u->lock);
    pthread_join(u->thread, NULL);
    u->halted = true;
}

void uploader_stop(struct uploader *u)
{
    if (!u)
        return;
    uploader_halt(u);
    while (u->libs) {
        struct lib_state *next = u->libs->next;
        free(u->libs);
        u->libs = next;
    }
    pthread_cond_destroy(&u->changed);
    pthread_cond_destroy(&u->wake);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

int uploader_wait(struct uploader *u, const char *repo, unsigned timeout_s, char *why,
                  size_t why_size)
{
    if (why_size)
        why[0] = '\0';
    struct target {
        struct lib_state *s;
        uint64_t changes, failed_round;
    } targets[256];
    size_t n = 0;
    int64_t deadline = timeout_s ? seaf_monotonic_ms() + (int64_t)timeout_s * 1000 : 0;
    pthread_mutex_lock(&u->lock);
    for (struct lib_state *s = u->libs; s && n < 256; s = s->next) {
        if (repo && strcmp(s->repo, repo) != 0)
            continue;
        if (s->changes == s->done && !s->uploading)
            continue;
        s->waiters++;
        s->retry_at = 0; /* someone waits: the next attempt is now, not after the back-off */
        targets[n++] = (struct target){s, s->changes, s->failed_round};
    }
    pthread_cond_signal(&u->wake);
    int rc = 0;
    for (;;) {
        bool all_done = true;
        for (size_t i = 0; i < n && rc == 0; i++) {
            struct lib_state *s = targets[i].s;
            if (s->done >= targets[i].changes)
                continue;
            all_done = false;
            if (s->failed_round != targets[i].failed_round) {
                rc = s->failed_errno ? s->failed_errno : -EIO;
                snprintf(why, why_size, "%s: %s", s->repo, s->error);
            }
        }
        if (!all_done && !rc && u->stopping) {
            rc = -ESHUTDOWN;
            snprintf(why, why_size, "the mount is stopping (changes stay in the journal)");
        }
        if (all_done || rc)
            break;
        if (deadline && seaf_monotonic_ms() >= deadline) {
            rc = -ETIMEDOUT;
            snprintf(why, why_size, "changes still waiting for the server");
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 1;
        pthread_cond_timedwait(&u->changed, &u->lock, &ts);
    }
    for (size_t i = 0; i < n; i++)
        targets[i].s->waiters--;
    pthread_mutex_unlock(&u->lock);
    return rc;
}

void uploader_status(struct uploader *u, const char *repo, struct upload_status *out)
{
    memset(out, 0, sizeof(*out));
    if (!u)
        return;
    pthread_mutex_lock(&u->lock);
    for (struct lib_state *s = u->libs; s; s = s->next) {
        if (strcmp(s->repo, repo) != 0)
            continue;
        out->pending = s->changes != s->done || s->uploading;
        out->uploading = s->uploading;
        out->round_bytes = s->round_bytes;
        out->round_sent = s->round_sent;
        int64_t ms = seaf_monotonic_ms() - s->round_started;
        out->rate = s->uploading && ms > 0 ? (double)s->round_sent * 1000.0 / (double)ms : 0;
        memcpy(out->last_commit, s->last_commit, sizeof(out->last_commit));
        out->last_commit_time = s->last_commit_time;
        snprintf(out->error, sizeof(out->error), "%s", s->error);
        out->error_time = s->error_time;
        out->retry_at = s->error[0] ? s->error_retry_at : 0;
        snprintf(out->recovery_dir, sizeof(out->recovery_dir), "%s", s->recovery_dir);
    }
    pthread_mutex_unlock(&u->lock);
}

bool uploader_can_free_space(struct uploader *u)
{
    if (!u)
        return false;
    bool can = false;
    pthread_mutex_lock(&u->lock);
    for (struct lib_state *s = u->libs; s && !can; s = s->next)
        can = (s->changes != s->done || s->uploading) && !s->error[0];
    if (can)
        pthread_cond_signal(&u->wake);
    pthread_mutex_unlock(&u->lock);
    return can;
}

bool uploader_over_quota(struct uploader *u, const char *repo)
{
    /* Asked on every write: the flag alone, not a whole status copy. */
    bool over = false;
    pthread_mutex_lock(&u->lock);
    for (struct lib_state *s = u->libs; s && !over; s = s->next)
        over = s->error[0] && s->failed_errno == -EDQUOT && strcmp(s->repo, repo) == 0;
    pthread_mutex_unlock(&u->lock);
    return over;
}

bool uploader_is_uploading(struct uploader *u, const char *repo)
{
    struct upload_status st;
    uploader_status(u, repo, &st);
    return st.uploading;
}
