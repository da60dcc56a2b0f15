/* dir_prefetch: a record per library asked for (its phase, wanted and done heads), a FIFO by
 * request order, and the thread that works through it. */
#include "dir_prefetch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bulk_fetch.h"
#include "fileserver_api.h"
#include "log.h"
#include "worker.h"

struct library_record {
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char wanted[SEAF_ID_LEN + 1]; /* head to fetch when QUEUED or RUNNING */
    uint64_t order;               /* request order, for the FIFO */
    struct dir_prefetch_state state;
};

struct dir_prefetch {
    struct cache *cache;
    struct seaf_client *client;
    unsigned parallel;
    struct worker w;
    struct library_record *records; /* protected by w.lock */
    size_t n_records;               /* protected by w.lock */
    uint64_t next_order;            /* protected by w.lock */
};

struct dir_prefetch *dir_prefetch_new(struct cache *cache, struct seaf_client *client,
                                      unsigned parallel)
{
    struct dir_prefetch *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->cache = cache;
    p->client = client;
    p->parallel = parallel ? parallel : 1;
    worker_init(&p->w);
    return p;
}

void dir_prefetch_free(struct dir_prefetch *p)
{
    if (!p)
        return;
    worker_stop(&p->w);
    free(p->records);
    free(p);
}

/* The record of repo_id, or NULL. Called with the lock held. */
static struct library_record *find_locked(struct dir_prefetch *p, const char *repo_id)
{
    for (size_t i = 0; i < p->n_records; i++)
        if (strcmp(p->records[i].repo_id, repo_id) == 0)
            return &p->records[i];
    return NULL;
}

/* The queued record asked for first, or NULL. Called with the lock held. */
static struct library_record *next_queued_locked(struct dir_prefetch *p)
{
    struct library_record *first = NULL;
    for (size_t i = 0; i < p->n_records; i++) {
        struct library_record *r = &p->records[i];
        if (r->state.phase == DIR_PREFETCH_QUEUED && (!first || r->order < first->order))
            first = r;
    }
    return first;
}

/* Keeps the ids not cached yet, in traversal order (the server lists the root last). */
static size_t keep_missing(struct cache *cache, char (*ids)[SEAF_ID_LEN + 1], size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!cache_contains(cache, CACHE_KIND_FS, ids[i]))
            memmove(ids[kept++], ids[i], SEAF_ID_LEN + 1);
    for (size_t i = 0; i < kept / 2; i++) {
        char swap[SEAF_ID_LEN + 1];
        memcpy(swap, ids[i], sizeof(swap));
        memcpy(ids[i], ids[kept - 1 - i], sizeof(swap));
        memcpy(ids[kept - 1 - i], swap, sizeof(swap));
    }
    return kept;
}

/* One library's run; the outcome is written to its record. */
static void run(struct dir_prefetch *p, const char *repo_id, const char *head, const char *base)
{
    char(*ids)[SEAF_ID_LEN + 1] = NULL;
    size_t n = 0;
    seaf_err err =
        fileserver_fs_id_list(p->client, repo_id, head, base[0] ? base : NULL, true, &ids, &n);
    if (err != SEAF_OK && base[0]) /* the base commit may be gone from the server */
        err = fileserver_fs_id_list(p->client, repo_id, head, NULL, true, &ids, &n);
    size_t folders = n;
    size_t fetched = 0;
    if (err == SEAF_OK) {
        n = keep_missing(p->cache, ids, n);
        err = bulk_fetch_fs(p->cache, p->client, repo_id, (const char(*)[SEAF_ID_LEN + 1]) ids, n,
                            p->parallel, &p->w.stopping, &fetched);
    }
    free(ids);
    if (err != SEAF_OK)
        log_msg(LOG_WARNING, "library %s: fetching its folders ahead failed: %s", repo_id,
                seaf_strerror(err));
    else
        log_msg(LOG_DEBUG, "library %s: %zu folders, %zu fetched ahead", repo_id, folders, fetched);
    pthread_mutex_lock(&p->w.lock);
    struct library_record *r = find_locked(p, repo_id);
    bool complete = err == SEAF_OK && !atomic_load(&p->w.stopping);
    r->state.folders = folders;
    r->state.fetched = fetched;
    if (complete)
        memcpy(r->state.done_head, head, SEAF_ID_LEN + 1);
    /* Asked again meanwhile (another head): it stays queued. */
    if (r->state.phase == DIR_PREFETCH_RUNNING)
        r->state.phase = complete ? DIR_PREFETCH_DONE : DIR_PREFETCH_FAILED;
    pthread_mutex_unlock(&p->w.lock);
}

static void *thread_main(void *arg)
{
    struct dir_prefetch *p = arg;
    pthread_mutex_lock(&p->w.lock);
    while (!atomic_load(&p->w.stopping)) {
        struct library_record *r = next_queued_locked(p);
        if (!r) {
            pthread_cond_wait(&p->w.wake, &p->w.lock);
            continue;
        }
        char repo_id[SEAF_REPO_ID_LEN + 1], head[SEAF_ID_LEN + 1], base[SEAF_ID_LEN + 1];
        memcpy(repo_id, r->repo_id, sizeof(repo_id));
        memcpy(head, r->wanted, sizeof(head));
        memcpy(base, r->state.done_head, sizeof(base));
        r->state.phase = DIR_PREFETCH_RUNNING;
        pthread_mutex_unlock(&p->w.lock);
        run(p, repo_id, head, base);
        pthread_mutex_lock(&p->w.lock);
    }
    pthread_mutex_unlock(&p->w.lock);
    return NULL;
}

void dir_prefetch_library(struct dir_prefetch *p, const char *repo_id, const char *head)
{
    if (!p || !seaf_repo_id_valid(repo_id, strlen(repo_id)) || !seaf_id_valid(head, strlen(head)))
        return;
    pthread_mutex_lock(&p->w.lock);
    struct library_record *r = find_locked(p, repo_id);
    if (!r) {
        struct library_record *more = realloc(p->records, (p->n_records + 1) * sizeof(*more));
        if (!more) {
            pthread_mutex_unlock(&p->w.lock);
            return;
        }
        p->records = more;
        r = &p->records[p->n_records++];
        memset(r, 0, sizeof(*r));
        memcpy(r->repo_id, repo_id, sizeof(r->repo_id));
    }
    bool done = r->state.phase == DIR_PREFETCH_DONE && strcmp(r->state.done_head, head) == 0;
    bool same = (r->state.phase == DIR_PREFETCH_QUEUED || r->state.phase == DIR_PREFETCH_RUNNING) &&
                strcmp(r->wanted, head) == 0;
    if (!done && !same) {
        memcpy(r->wanted, head, sizeof(r->wanted));
        r->order = p->next_order++;
        r->state.phase = DIR_PREFETCH_QUEUED;
        worker_wake_locked(&p->w, thread_main, p);
    }
    pthread_mutex_unlock(&p->w.lock);
}

void dir_prefetch_state(struct dir_prefetch *p, const char *repo_id, struct dir_prefetch_state *out)
{
    memset(out, 0, sizeof(*out));
    if (!p)
        return;
    pthread_mutex_lock(&p->w.lock);
    struct library_record *r = find_locked(p, repo_id);
    if (r)
        *out = r->state;
    pthread_mutex_unlock(&p->w.lock);
}

const char *dir_prefetch_phase_name(enum dir_prefetch_phase phase)
{
    switch (phase) {
    case DIR_PREFETCH_QUEUED:
        return "queued";
    case DIR_PREFETCH_RUNNING:
        return "running";
    case DIR_PREFETCH_DONE:
        return "done";
    case DIR_PREFETCH_FAILED:
        return "failed";
    default:
        return "none";
    }
}
