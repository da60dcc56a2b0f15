/* tree: loading of commits and fs objects for the FUSE layer.
 *
 * The cache stores fs objects as their plain JSON (what their id hashes): objects read back from
 * it are parsed from that JSON directly, and pack-fs hands over each object already inflated and
 * parsed, so it is cached as is and the wanted one is kept without parsing it again. A directory
 * that had to come from the server brings the objects of its entries with it (one pack-fs call,
 * batched by net/), which is what makes `tar`, `find` or `ls -lR` of a fresh tree cost a request
 * per directory instead of one per file.
 *
 * In memory, parsed objects live in a hash map with reference counts; unused ones stay in an
 * LRU list until their estimated size exceeds the limit. */
#include "tree.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "fileserver_api.h"
#include "fetch.h"
#include "log.h"

#define TREE_BUCKETS 4096

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
    pthread_mutex_t lock;
    struct tree_obj *buckets[TREE_BUCKETS]; /* protected by lock */
    struct tree_obj *lru_head;              /* protected by lock */
    struct tree_obj *lru_tail;              /* protected by lock */
    size_t lru_cost;                        /* protected by lock */
    struct tree_obj empty_dir;              /* SEAF_EMPTY_ID; never freed */
    struct seaf_fsobj empty_dir_obj;
};

static size_t bucket_of(const char *id)
{
    size_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h * 16 + (size_t)(id[i] <= '9' ? id[i] - '0' : id[i] - 'a' + 10);
    return h % TREE_BUCKETS;
}

struct tree *tree_new(struct cache *cache, struct seaf_client *client, size_t mem_limit)
{
    struct tree *tree = calloc(1, sizeof(*tree));
    if (!tree)
        return NULL;
    tree->cache = cache;
    tree->client = client;
    tree->mem_limit = mem_limit;
    pthread_mutex_init(&tree->lock, NULL);
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
    for (size_t i = 0; i < TREE_BUCKETS; i++) {
        struct tree_obj *obj = tree->buckets[i];
        while (obj) {
            struct tree_obj *next = obj->next;
            obj_free(obj);
            obj = next;
        }
    }
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

/* Collects pack-fs answers: every object goes into the cache; the one asked for is kept; the
 * entries of directories are gathered for the next level of a subtree fetch. */
struct pack_ctx {
    struct tree *tree;
    const char *wanted;       /* NULL: only cache the objects */
    struct seaf_fsobj *found; /* wanted, taken from the callback */
    size_t found_cost;
    struct id_list *next; /* NULL: do not collect */
};

/* A growing list of object ids. */
struct id_list {
    char (*ids)[SEAF_ID_LEN + 1];
    size_t n;
    size_t cap;
};

/* Appends id to list, growing it; false when out of memory. */
static bool id_list_push(struct id_list *list, const char *id)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 256;
        void *grown = realloc(list->ids, cap * sizeof(*list->ids));
        if (!grown)
            return false;
        list->ids = grown;
        list->cap = cap;
    }
    memcpy(list->ids[list->n++], id, SEAF_ID_LEN + 1);
    return true;
}

/* Adds the uncached, non-empty entry ids of dir to list, up to limit ids in total. */
static void collect_children(struct tree *tree, const struct seaf_dir *dir, struct id_list *list,
                             size_t limit)
{
    for (size_t i = 0; i < dir->n_entries && list->n < limit; i++) {
        const char *id = dir->entries[i].id;
        if (strcmp(id, SEAF_EMPTY_ID) == 0 || cache_contains(tree->cache, CACHE_KIND_FS, id))
            continue;
        if (!id_list_push(list, id))
            return;
    }
}

/* Most fs objects fetched ahead when a directory is first loaded from the server. */
#define SUBTREE_FETCH_LIMIT 20000

static seaf_err on_packed_object(void *ctx, const char *id, const void *stored, size_t stored_len,
                                 const char *json, size_t json_len, struct seaf_fsobj **obj)
{
    struct pack_ctx *pc = ctx;
    (void)stored;
    (void)stored_len;
    seaf_err err = cache_put_object(pc->tree->cache, CACHE_KIND_FS, id, json, json_len);
    if (err != SEAF_OK)
        log_msg(LOG_WARNING, "could not cache fs object %s: %s", id, seaf_strerror(err));
    if (pc->next && (*obj)->type == SEAF_FSOBJ_DIR)
        collect_children(pc->tree, &(*obj)->dir, pc->next, SUBTREE_FETCH_LIMIT);
    if (pc->wanted && !pc->found && strcmp(id, pc->wanted) == 0) {
        pc->found = *obj; /* kept: the caller inserts it into the tree */
        *obj = NULL;
        pc->found_cost = json_len * 2;
    }
    return SEAF_OK;
}

/* Parallel pack-fs requests of one level (each a batch of FILESERVER_PACK_FS_BATCH ids): the
 * server and the cache's per-object writes overlap instead of taking turns. */
#define PACK_FS_PARALLEL 4

struct level_job {
    struct tree *tree;
    const char *repo_id;
    const struct id_list *level;
    pthread_mutex_t lock;
    size_t next_batch;  /* protected by lock */
    seaf_err first_err; /* protected by lock */
};

struct level_worker {
    struct level_job *job;
    struct id_list found; /* entries of the directories this worker received */
    pthread_t thread;
};

static void *level_worker_main(void *arg)
{
    struct level_worker *w = arg;
    struct level_job *job = w->job;
    const char *ids[FILESERVER_PACK_FS_BATCH];
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t start = job->next_batch * FILESERVER_PACK_FS_BATCH;
        bool stop = start >= job->level->n || job->first_err != SEAF_OK;
        job->next_batch++;
        pthread_mutex_unlock(&job->lock);
        if (stop)
            break;
        size_t n = job->level->n - start;
        if (n > FILESERVER_PACK_FS_BATCH)
            n = FILESERVER_PACK_FS_BATCH;
        for (size_t i = 0; i < n; i++)
            ids[i] = job->level->ids[start + i];
        struct pack_ctx pc = {.tree = job->tree, .next = &w->found};
        seaf_err err =
            fileserver_pack_fs(job->tree->client, job->repo_id, ids, n, on_packed_object, &pc);
        if (err != SEAF_OK) {
            pthread_mutex_lock(&job->lock);
            if (job->first_err == SEAF_OK)
                job->first_err = err;
            pthread_mutex_unlock(&job->lock);
        }
    }
    return NULL;
}

/* Fetches the objects of level into the cache, gathering the entries of the directories among
 * them into next. */
static seaf_err fetch_level(struct tree *tree, const char *repo_id, const struct id_list *level,
                            struct id_list *next)
{
    struct level_job job = {.tree = tree, .repo_id = repo_id, .level = level};
    pthread_mutex_init(&job.lock, NULL);
    struct level_worker workers[PACK_FS_PARALLEL];
    size_t batches = (level->n + FILESERVER_PACK_FS_BATCH - 1) / FILESERVER_PACK_FS_BATCH;
    size_t n_workers = batches < PACK_FS_PARALLEL ? batches : PACK_FS_PARALLEL;
    size_t started = 0;
    for (size_t i = 0; i < n_workers; i++) {
        workers[i] = (struct level_worker){.job = &job};
        if (i > 0 && pthread_create(&workers[i].thread, NULL, level_worker_main, &workers[i]) != 0)
            break;
        started++;
    }
    level_worker_main(&workers[0]); /* the calling thread works too */
    for (size_t i = 0; i < started; i++) {
        if (i > 0)
            pthread_join(workers[i].thread, NULL);
        struct id_list *found = &workers[i].found;
        for (size_t k = 0; k < found->n && next->n < SUBTREE_FETCH_LIMIT; k++)
            if (!id_list_push(next, found->ids[k]))
                break;
        free(found->ids);
    }
    pthread_mutex_destroy(&job.lock);
    return job.first_err;
}

/* Fetches (into the cache) the objects below dir that are not cached yet, one level at a time
 * (each level in parallel batched pack-fs requests), up to SUBTREE_FETCH_LIMIT objects. */
static void fetch_subtree(struct tree *tree, const char *repo_id, const struct seaf_dir *dir)
{
    struct id_list level = {0};
    collect_children(tree, dir, &level, SUBTREE_FETCH_LIMIT);
    size_t fetched = 0;
    while (level.n && fetched < SUBTREE_FETCH_LIMIT) {
        struct id_list next = {0};
        seaf_err err = fetch_level(tree, repo_id, &level, &next);
        fetched += level.n;
        free(level.ids);
        level = next;
        if (err != SEAF_OK) {
            log_msg(LOG_WARNING, "library %s: fetching objects ahead failed: %s", repo_id,
                    seaf_strerror(err));
            break;
        }
    }
    free(level.ids);
}

int tree_get(struct tree *tree, const char *repo_id, const char *id, enum seaf_fsobj_type type,
             struct tree_obj **out)
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
        bool from_server = false;
        char *json = NULL;
        size_t json_len = 0;
        seaf_err err = cache_get_object(tree->cache, CACHE_KIND_FS, id, &json, &json_len);
        if (err == SEAF_OK) {
            int rc = parse_cached(id, json, json_len, &fsobj);
            free(json);
            if (rc)
                return rc;
            cost = json_len * 2;
        } else {
            struct pack_ctx pc = {.tree = tree, .wanted = id};
            const char *ids[1] = {id};
            err = fileserver_pack_fs(tree->client, repo_id, ids, 1, on_packed_object, &pc);
            if (err != SEAF_OK || !pc.found) {
                seaf_fsobj_free(pc.found);
                log_msg(LOG_ERR, "library %s: fs object %s unavailable: %s", repo_id, id,
                        seaf_strerror(err != SEAF_OK ? err : SEAF_ERR_PROTOCOL));
                return -seaf_err_to_errno(err != SEAF_OK ? err : SEAF_ERR_PROTOCOL);
            }
            fsobj = pc.found;
            cost = pc.found_cost;
            from_server = true;
        }
        obj = insert(tree, id, fsobj, cost);
        if (!obj)
            return -ENOMEM;
        if (from_server && obj->fsobj->type == SEAF_FSOBJ_DIR)
            fetch_subtree(tree, repo_id, &obj->fsobj->dir);
    }
    if (obj->fsobj->type != type) {
        log_msg(LOG_ERR, "library %s: fs object %s has the wrong type", repo_id, id);
        tree_obj_unref(tree, obj);
        return -EIO;
    }
    *out = obj;
    return 0;
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
