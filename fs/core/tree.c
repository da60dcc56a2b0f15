/* tree: loading of commits and fs objects for the FUSE layer.
 *
 * The cache stores fs objects as their plain JSON (what their id hashes): objects read back from
 * it are parsed from that JSON directly (and a copy failing its id check is dropped and fetched
 * again), and pack-fs hands over each object already inflated and parsed, so it is cached as is
 * and the wanted one is kept without parsing it again. A folder missing from the cache is fetched
 * alone, at once, unless the request in flight for the sub-folders of its parent brings it (the
 * folders of a library come in bulk in the background: dir_prefetch.h; the sub-folders of every
 * folder loaded right after it, in the background too: children_ahead.h). A
 * file object missing from the cache brings the missing file objects of its folder with it, the
 * folder being found among the ones listed last: reading the files of a fresh tree (`tar`,
 * `cp -r`) costs a few parallel requests per folder instead of one per file.
 *
 * In memory, parsed objects live in a hash map with reference counts; unused ones stay in an
 * LRU list until their estimated size exceeds the limit. */
#include "tree.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bulk_fetch.h"
#include "children_ahead.h"
#include "fileserver_api.h"
#include "log.h"

#define TREE_BUCKETS 4096
/* Folders remembered as recently listed, to find the folder of a file object asked for. */
#define TREE_RECENT_DIRS 8
/* Folders whose files may be fetched together at the same time. */
#define TREE_SIBLING_JOBS 8
/* Most file objects fetched together with one that is missing. */
#define TREE_SIBLING_FETCH 1000

struct recent_dir {
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char dir_id[SEAF_ID_LEN + 1];
};

struct tree_obj {
    char id[SEAF_ID_LEN + 1];
    struct seaf_fsobj *fsobj;
    _Atomic(uint64_t *) offsets; /* file objects: block offsets, once known */
    size_t cost;                 /* estimated bytes in memory */
    unsigned refs;               /* protected by tree lock */
    struct tree_obj *next;       /* hash chain */
    struct tree_obj *lru_prev;   /* unused list (refs == 0), newest first */
    struct tree_obj *lru_next;
    bool in_lru;
};

struct tree {
    struct cache *cache;
    struct seaf_client *client;
    size_t mem_limit;
    unsigned parallel;            /* requests in flight when fetching many objects */
    struct children_ahead *ahead; /* sub-folders of folders fetched on their own */
    pthread_mutex_t lock;
    pthread_cond_t sibling_done;                           /* a sibling fetch ended */
    char sibling_jobs[TREE_SIBLING_JOBS][SEAF_ID_LEN + 1]; /* protected by lock */
    struct recent_dir recent[TREE_RECENT_DIRS];            /* protected by lock */
    size_t recent_next;                                    /* protected by lock */
    struct tree_obj *buckets[TREE_BUCKETS];                /* protected by lock */
    struct tree_obj *lru_head;                             /* protected by lock */
    struct tree_obj *lru_tail;                             /* protected by lock */
    size_t lru_cost;                                       /* protected by lock */
    struct tree_obj empty_dir;                             /* SEAF_EMPTY_ID; never freed */
    struct seaf_fsobj empty_dir_obj;
};

static size_t bucket_of(const char *id)
{
    size_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h * 16 + (size_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
    return h % TREE_BUCKETS;
}

struct tree *tree_new(struct cache *cache, struct seaf_client *client, size_t mem_limit,
                      unsigned parallel)
{
    struct tree *tree = calloc(1, sizeof(*tree));
    if (!tree)
        return NULL;
    tree->cache = cache;
    tree->client = client;
    tree->mem_limit = mem_limit;
    tree->parallel = parallel ? parallel : 1;
    tree->ahead = children_ahead_new(cache, client);
    if (!tree->ahead) {
        free(tree);
        return NULL;
    }
    pthread_mutex_init(&tree->lock, NULL);
    pthread_cond_init(&tree->sibling_done, NULL);
    tree->empty_dir_obj.type = SEAF_FSOBJ_DIR;
    tree->empty_dir.fsobj = &tree->empty_dir_obj;
    memcpy(tree->empty_dir.id, SEAF_EMPTY_ID, sizeof(tree->empty_dir.id));
    return tree;
}

static void obj_free(struct tree_obj *obj)
{
    free(atomic_load(&obj->offsets));
    seaf_fsobj_free(obj->fsobj);
    free(obj);
}

void tree_free(struct tree *tree)
{
    if (!tree)
        return;
    children_ahead_free(tree->ahead);
    for (size_t i = 0; i < TREE_BUCKETS; i++) {
        struct tree_obj *obj = tree->buckets[i];
        while (obj) {
            struct tree_obj *next = obj->next;
            obj_free(obj);
            obj = next;
        }
    }
    pthread_cond_destroy(&tree->sibling_done);
    pthread_mutex_destroy(&tree->lock);
    free(tree);
}

static void lru_remove(struct tree *tree, struct tree_obj *obj)
{
    if (!obj->in_lru)
        return;
    if (obj->lru_prev)
        obj->lru_prev->lru_next = obj->lru_next;
    else
        tree->lru_head = obj->lru_next;
    if (obj->lru_next)
        obj->lru_next->lru_prev = obj->lru_prev;
    else
        tree->lru_tail = obj->lru_prev;
    obj->lru_prev = obj->lru_next = NULL;
    obj->in_lru = false;
    tree->lru_cost -= obj->cost;
}

static void unhash(struct tree *tree, struct tree_obj *obj)
{
    struct tree_obj **p = &tree->buckets[bucket_of(obj->id)];
    while (*p != obj)
        p = &(*p)->next;
    *p = obj->next;
}

/* Finds id in memory and takes a reference; caller holds the lock. */
static struct tree_obj *find_locked(struct tree *tree, const char *id)
{
    for (struct tree_obj *obj = tree->buckets[bucket_of(id)]; obj; obj = obj->next) {
        if (strcmp(obj->id, id) == 0) {
            lru_remove(tree, obj);
            obj->refs++;
            return obj;
        }
    }
    return NULL;
}

void tree_obj_unref(struct tree *tree, struct tree_obj *obj)
{
    if (!obj || obj == &tree->empty_dir)
        return;
    struct tree_obj *victims = NULL;
    pthread_mutex_lock(&tree->lock);
    if (--obj->refs == 0) {
        obj->in_lru = true;
        obj->lru_next = tree->lru_head;
        if (tree->lru_head)
            tree->lru_head->lru_prev = obj;
        tree->lru_head = obj;
        if (!tree->lru_tail)
            tree->lru_tail = obj;
        tree->lru_cost += obj->cost;
        while (tree->lru_cost > tree->mem_limit && tree->lru_tail) {
            struct tree_obj *old = tree->lru_tail;
            lru_remove(tree, old);
            unhash(tree, old);
            old->next = victims;
            victims = old;
        }
    }
    pthread_mutex_unlock(&tree->lock);
    while (victims) {
        struct tree_obj *next = victims->next;
        obj_free(victims);
        victims = next;
    }
}

const struct seaf_fsobj *tree_obj_fsobj(const struct tree_obj *obj)
{
    return obj->fsobj;
}

const uint64_t *tree_obj_offsets(const struct tree_obj *obj)
{
    return atomic_load(&((struct tree_obj *)obj)->offsets);
}

void tree_obj_set_offsets(struct tree_obj *obj, uint64_t *offsets)
{
    uint64_t *expected = NULL;
    if (!atomic_compare_exchange_strong(&obj->offsets, &expected, offsets))
        free(offsets);
}

/* Adds a parsed object (taking ownership) and returns the shared one with a reference. */
static struct tree_obj *insert(struct tree *tree, const char *id, struct seaf_fsobj *fsobj,
                               size_t cost)
{
    struct tree_obj *obj = calloc(1, sizeof(*obj));
    if (!obj) {
        seaf_fsobj_free(fsobj);
        return NULL;
    }
    memcpy(obj->id, id, sizeof(obj->id));
    obj->fsobj = fsobj;
    obj->cost = cost + sizeof(*obj);
    obj->refs = 1;
    pthread_mutex_lock(&tree->lock);
    struct tree_obj *existing = find_locked(tree, id);
    if (!existing) {
        size_t b = bucket_of(id);
        obj->next = tree->buckets[b];
        tree->buckets[b] = obj;
    }
    pthread_mutex_unlock(&tree->lock);
    if (existing) {
        obj_free(obj);
        return existing;
    }
    return obj;
}

/* Parses plain JSON read back from the cache (what the object's id hashes). */
static int parse_cached(const char *id, const char *json, size_t len, struct seaf_fsobj **out)
{
    seaf_err err = seaf_fsobj_parse_json(json, len, id, out, NULL);
    if (err != SEAF_OK)
        log_msg(LOG_ERR, "cached fs object %s is unusable: %s", id, seaf_strerror(err));
    return err == SEAF_OK ? 0 : -seaf_err_to_errno(err);
}

/* Keeps the object asked for out of a pack-fs answer (and caches it). */
struct pack_ctx {
    struct tree *tree;
    const char *wanted;
    struct seaf_fsobj *found; /* wanted, taken from the callback */
    size_t found_cost;
};

static seaf_err on_packed_object(void *ctx, const char *id, const void *stored, size_t stored_len,
                                 const char *json, size_t json_len, struct seaf_fsobj **obj)
{
    struct pack_ctx *pc = ctx;
    (void)stored;
    (void)stored_len;
    seaf_err err = cache_put_object(pc->tree->cache, CACHE_KIND_FS, id, json, json_len);
    if (err != SEAF_OK)
        log_msg(LOG_WARNING, "could not cache fs object %s: %s", id, seaf_strerror(err));
    if (!pc->found && strcmp(id, pc->wanted) == 0) {
        pc->found = *obj; /* kept: the caller inserts it into the tree */
        *obj = NULL;
        pc->found_cost = json_len * 2;
    }
    return SEAF_OK;
}

/* Remembers dir as the most recently listed folder (where the next file asked for is likely to
 * be). Called with the tree lock held. */
static void note_recent_dir_locked(struct tree *tree, const char *repo_id, const char *dir_id)
{
    for (size_t i = 0; i < TREE_RECENT_DIRS; i++)
        if (strcmp(tree->recent[i].dir_id, dir_id) == 0)
            return;
    struct recent_dir *slot = &tree->recent[tree->recent_next++ % TREE_RECENT_DIRS];
    memcpy(slot->repo_id, repo_id, sizeof(slot->repo_id));
    memcpy(slot->dir_id, dir_id, sizeof(slot->dir_id));
}

/* A recently listed folder of repo_id (in memory) holding file id, with a reference, and the
 * entry's position; NULL when none is known. */
static struct tree_obj *recent_dir_holding(struct tree *tree, const char *repo_id, const char *id,
                                           size_t *pos)
{
    struct recent_dir recent[TREE_RECENT_DIRS];
    pthread_mutex_lock(&tree->lock);
    memcpy(recent, tree->recent, sizeof(recent));
    size_t newest = tree->recent_next + TREE_RECENT_DIRS - 1;
    pthread_mutex_unlock(&tree->lock);
    for (size_t k = 0; k < TREE_RECENT_DIRS; k++) { /* newest first */
        size_t i = (newest - k) % TREE_RECENT_DIRS;
        if (!recent[i].dir_id[0] || strcmp(recent[i].repo_id, repo_id) != 0)
            continue;
        pthread_mutex_lock(&tree->lock);
        struct tree_obj *dir = find_locked(tree, recent[i].dir_id);
        pthread_mutex_unlock(&tree->lock);
        if (!dir)
            continue;
        const struct seaf_dir *d = &dir->fsobj->dir;
        for (size_t e = 0; dir->fsobj->type == SEAF_FSOBJ_DIR && e < d->n_entries; e++) {
            if (d->entries[e].mode != SEAF_MODE_DIR && strcmp(d->entries[e].id, id) == 0) {
                *pos = e;
                return dir;
            }
        }
        tree_obj_unref(tree, dir);
    }
    return NULL;
}

/* Waits while another thread fetches the files of dir_id, then claims that job (true), or
 * returns false when no slot is free (the caller then fetches the one object alone). */
static bool claim_sibling_fetch(struct tree *tree, const char *dir_id)
{
    pthread_mutex_lock(&tree->lock);
    for (;;) {
        bool busy = false;
        for (size_t i = 0; i < TREE_SIBLING_JOBS; i++)
            busy = busy || strcmp(tree->sibling_jobs[i], dir_id) == 0;
        if (!busy)
            break;
        pthread_cond_wait(&tree->sibling_done, &tree->lock);
    }
    bool claimed = false;
    for (size_t i = 0; i < TREE_SIBLING_JOBS && !claimed; i++) {
        if (!tree->sibling_jobs[i][0]) {
            memcpy(tree->sibling_jobs[i], dir_id, SEAF_ID_LEN + 1);
            claimed = true;
        }
    }
    pthread_mutex_unlock(&tree->lock);
    return claimed;
}

static void release_sibling_fetch(struct tree *tree, const char *dir_id)
{
    pthread_mutex_lock(&tree->lock);
    for (size_t i = 0; i < TREE_SIBLING_JOBS; i++)
        if (strcmp(tree->sibling_jobs[i], dir_id) == 0)
            tree->sibling_jobs[i][0] = '\0';
    pthread_cond_broadcast(&tree->sibling_done);
    pthread_mutex_unlock(&tree->lock);
}

/* A file object missing from the cache is most likely read with the files after it in its
 * folder (tar, cp -r, a build): when the folder is known, the missing file objects from this
 * one on (up to TREE_SIBLING_FETCH) are fetched together, in parallel batches. Afterwards the
 * object may be in the cache (true), or the caller fetches it alone (false). */
static bool fetch_with_siblings(struct tree *tree, const char *repo_id, const char *id)
{
    size_t pos = 0;
    struct tree_obj *dir = recent_dir_holding(tree, repo_id, id, &pos);
    if (!dir)
        return false;
    char dir_id[SEAF_ID_LEN + 1];
    memcpy(dir_id, dir->id, sizeof(dir_id));
    if (!claim_sibling_fetch(tree, dir_id)) {
        tree_obj_unref(tree, dir);
        return false;
    }
    bool fetched = cache_contains(tree->cache, CACHE_KIND_FS, id); /* by the job waited for */
    char(*ids)[SEAF_ID_LEN + 1] = fetched ? NULL : malloc(TREE_SIBLING_FETCH * sizeof(*ids));
    size_t n = 0;
    const struct seaf_dir *d = &dir->fsobj->dir;
    /* From this file on in listing order, then the ones before it (a reader going the other
     * way). */
    for (size_t k = 0; ids && k < d->n_entries && n < TREE_SIBLING_FETCH; k++) {
        size_t e = (pos + k) % d->n_entries;
        const char *sibling = d->entries[e].id;
        if (d->entries[e].mode != SEAF_MODE_DIR && strcmp(sibling, SEAF_EMPTY_ID) != 0 &&
            !cache_contains(tree->cache, CACHE_KIND_FS, sibling))
            memcpy(ids[n++], sibling, SEAF_ID_LEN + 1);
    }
    tree_obj_unref(tree, dir);
    if (n > 0) {
        seaf_err err =
            bulk_fetch_fs(tree->cache, tree->client, repo_id, (const char(*)[SEAF_ID_LEN + 1]) ids,
                          n, tree->parallel, NULL, NULL);
        if (err != SEAF_OK)
            log_msg(LOG_WARNING, "library %s: fetching the files of folder %s failed: %s", repo_id,
                    dir_id, seaf_strerror(err));
    }
    free(ids);
    release_sibling_fetch(tree, dir_id);
    return cache_contains(tree->cache, CACHE_KIND_FS, id);
}

/* Reads object id from the cache and parses it; a copy that fails its id check or does not parse
 * is dropped (so that it is fetched again), never one that only met a lack of memory. -ENOENT
 * when it is not cached. */
static int load_cached(struct tree *tree, const char *id, struct seaf_fsobj **fsobj, size_t *cost)
{
    char *json = NULL;
    size_t json_len = 0;
    if (cache_get_object(tree->cache, CACHE_KIND_FS, id, &json, &json_len) != SEAF_OK)
        return -ENOENT;
    int rc = parse_cached(id, json, json_len, fsobj);
    free(json);
    if (rc == -ENOMEM)
        return rc;
    if (rc) {
        cache_remove(tree->cache, CACHE_KIND_FS, id);
        return -ENOENT;
    }
    *cost = json_len * 2;
    return 0;
}

/* tree_get; ahead: a folder fetched from the server has its sub-folders fetched next. */
static int get_object(struct tree *tree, const char *repo_id, const char *id,
                      enum seaf_fsobj_type type, bool ahead, struct tree_obj **out)
{
    *out = NULL;
    if (strcmp(id, SEAF_EMPTY_ID) == 0) {
        if (type != SEAF_FSOBJ_DIR)
            return -EIO;
        *out = &tree->empty_dir;
        return 0;
    }
    pthread_mutex_lock(&tree->lock);
    struct tree_obj *obj = find_locked(tree, id);
    pthread_mutex_unlock(&tree->lock);
    if (!obj) {
        struct seaf_fsobj *fsobj = NULL;
        size_t cost = 0;
        int rc = load_cached(tree, id, &fsobj, &cost);
        if (rc == -ENOENT && type == SEAF_FSOBJ_FILE && fetch_with_siblings(tree, repo_id, id))
            rc = load_cached(tree, id, &fsobj, &cost);
        if (rc == -ENOENT && type == SEAF_FSOBJ_DIR && children_ahead_wait(tree->ahead, id))
            rc = load_cached(tree, id, &fsobj, &cost);
        if (rc == 0 && fsobj->type == SEAF_FSOBJ_DIR) /* came ahead itself: go on ahead */
            children_ahead_queue(tree->ahead, repo_id, &fsobj->dir);
        if (rc == -ENOENT) {
            struct pack_ctx pc = {.tree = tree, .wanted = id};
            const char *ids[1] = {id};
            seaf_err err = fileserver_pack_fs(tree->client, repo_id, ids, 1, on_packed_object, &pc);
            if (err != SEAF_OK || !pc.found) {
                seaf_fsobj_free(pc.found);
                log_msg(LOG_ERR, "library %s: fs object %s unavailable: %s", repo_id, id,
                        seaf_strerror(err != SEAF_OK ? err : SEAF_ERR_PROTOCOL));
                return -seaf_err_to_errno(err != SEAF_OK ? err : SEAF_ERR_PROTOCOL);
            }
            fsobj = pc.found;
            cost = pc.found_cost;
            rc = 0;
            if (ahead && fsobj->type == SEAF_FSOBJ_DIR) /* a walk going down comes next */
                children_ahead_queue(tree->ahead, repo_id, &fsobj->dir);
        }
        if (rc)
            return rc;
        obj = insert(tree, id, fsobj, cost);
        if (!obj)
            return -ENOMEM;
    }
    if (obj->fsobj->type == SEAF_FSOBJ_DIR) {
        pthread_mutex_lock(&tree->lock);
        note_recent_dir_locked(tree, repo_id, id);
        pthread_mutex_unlock(&tree->lock);
    }
    if (obj->fsobj->type != type) {
        log_msg(LOG_ERR, "library %s: fs object %s has the wrong type", repo_id, id);
        tree_obj_unref(tree, obj);
        return -EIO;
    }
    *out = obj;
    return 0;
}

int tree_get(struct tree *tree, const char *repo_id, const char *id, enum seaf_fsobj_type type,
             struct tree_obj **out)
{
    return get_object(tree, repo_id, id, type, true, out);
}

int tree_warm_dir(struct tree *tree, const char *repo_id, const char *id)
{
    if (cache_contains(tree->cache, CACHE_KIND_FS, id))
        return 0; /* warm already: nothing to read, nothing to fetch ahead */
    struct tree_obj *obj = NULL;
    int rc = get_object(tree, repo_id, id, SEAF_FSOBJ_DIR, false, &obj);
    tree_obj_unref(tree, obj);
    return rc;
}

void tree_children_ahead(struct tree *tree, const char *repo_id, const char *id)
{
    pthread_mutex_lock(&tree->lock);
    struct tree_obj *obj = find_locked(tree, id);
    pthread_mutex_unlock(&tree->lock);
    if (!obj && cache_contains(tree->cache, CACHE_KIND_FS, id) &&
        get_object(tree, repo_id, id, SEAF_FSOBJ_DIR, false, &obj) != 0)
        obj = NULL;
    if (obj && obj->fsobj->type == SEAF_FSOBJ_DIR)
        children_ahead_queue(tree->ahead, repo_id, &obj->fsobj->dir);
    tree_obj_unref(tree, obj);
}

int tree_commit_get(struct tree *tree, const char *repo_id, const char *commit_id,
                    struct seaf_commit **out)
{
    char *raw = NULL;
    size_t raw_len = 0;
    struct seaf_commit *commit = NULL;
    seaf_err err = cache_get_object(tree->cache, CACHE_KIND_COMMIT, commit_id, &raw, &raw_len);
    if (err == SEAF_OK) {
        err = seaf_commit_parse(raw, raw_len, &commit, NULL);
        if (err == SEAF_OK && strcmp(commit->commit_id, commit_id) != 0)
            err = SEAF_ERR_ID_MISMATCH;
        if (err != SEAF_OK) {
            seaf_commit_free(commit);
            commit = NULL;
            cache_remove(tree->cache, CACHE_KIND_COMMIT, commit_id);
        }
        free(raw);
        raw = NULL;
    }
    if (!commit) {
        err = fileserver_get_commit(tree->client, repo_id, commit_id, &commit, &raw, &raw_len);
        if (err != SEAF_OK) {
            log_msg(LOG_ERR, "library %s: commit %s unavailable: %s", repo_id, commit_id,
                    seaf_strerror(err));
            return -seaf_err_to_errno(err);
        }
        seaf_err put = cache_put_object(tree->cache, CACHE_KIND_COMMIT, commit_id, raw, raw_len);
        if (put != SEAF_OK)
            log_msg(LOG_WARNING, "could not cache commit %s: %s", commit_id, seaf_strerror(put));
        free(raw);
    }
    *out = commit;
    return 0;
}

int tree_commit_root(struct tree *tree, const char *repo_id, const char *commit_id,
                     char root_out[SEAF_ID_LEN + 1])
{
    struct seaf_commit *commit = NULL;
    int rc = tree_commit_get(tree, repo_id, commit_id, &commit);
    if (rc)
        return rc;
    memcpy(root_out, commit->root_id, SEAF_ID_LEN + 1);
    seaf_commit_free(commit);
    return 0;
}
