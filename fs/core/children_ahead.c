/* children_ahead: a ring of pending jobs (library, up to one pack-fs batch of folder ids) and
 * the thread that fetches them with bulk_fetch_fs; the job in flight is visible to lookups,
 * which wait for it rather than ask for one of its folders again. */
#include "children_ahead.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bulk_fetch.h"
#include "fileserver_api.h"
#include "worker.h"

#define QUEUE_JOBS 16

struct job {
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char ids[FILESERVER_PACK_FS_BATCH][SEAF_ID_LEN + 1];
    size_t n;
};

struct children_ahead {
    struct cache *cache;
    struct seaf_client *client;
    struct worker w;
    struct job jobs[QUEUE_JOBS]; /* ring; protected by w.lock */
    size_t head;                 /* next job to run; protected by w.lock */
    size_t count;                /* protected by w.lock */
    const struct job *running;   /* the job in flight, or NULL; protected by w.lock */
    uint64_t finished;           /* jobs done so far; protected by w.lock */
    pthread_cond_t job_done;     /* finished grew */
};

struct children_ahead *children_ahead_new(struct cache *cache, struct seaf_client *client)
{
    struct children_ahead *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    a->cache = cache;
    a->client = client;
    worker_init(&a->w);
    pthread_cond_init(&a->job_done, NULL);
    return a;
}

void children_ahead_free(struct children_ahead *a)
{
    if (!a)
        return;
    worker_stop(&a->w);
    pthread_cond_destroy(&a->job_done);
    free(a);
}

static void *thread_main(void *arg)
{
    struct children_ahead *a = arg;
    struct job *job = malloc(sizeof(*job));
    pthread_mutex_lock(&a->w.lock);
    while (job && !atomic_load(&a->w.stopping)) {
        if (a->count == 0) {
            pthread_cond_wait(&a->w.wake, &a->w.lock);
            continue;
        }
        *job = a->jobs[a->head];
        a->head = (a->head + 1) % QUEUE_JOBS;
        a->count--;
        /* Fetched meanwhile (by a lookup or the bulk fetch) need not come again. */
        size_t kept = 0;
        for (size_t i = 0; i < job->n; i++)
            if (!cache_contains(a->cache, CACHE_KIND_FS, job->ids[i]))
                memmove(job->ids[kept++], job->ids[i], SEAF_ID_LEN + 1);
        job->n = kept;
        a->running = job;
        pthread_mutex_unlock(&a->w.lock);
        bulk_fetch_fs(a->cache, a->client, job->repo_id, (const char(*)[SEAF_ID_LEN + 1]) job->ids,
                      job->n, 1, &a->w.stopping, NULL);
        pthread_mutex_lock(&a->w.lock);
        a->running = NULL;
        a->finished++;
        pthread_cond_broadcast(&a->job_done);
    }
    pthread_mutex_unlock(&a->w.lock);
    free(job);
    return NULL;
}

void children_ahead_queue(struct children_ahead *a, const char *repo_id, const struct seaf_dir *dir)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->w.lock);
    if (a->count == QUEUE_JOBS) {
        pthread_mutex_unlock(&a->w.lock);
        return;
    }
    struct job *job = &a->jobs[(a->head + a->count) % QUEUE_JOBS];
    job->n = 0;
    for (size_t i = 0; i < dir->n_entries && job->n < FILESERVER_PACK_FS_BATCH; i++) {
        const struct seaf_dirent *d = &dir->entries[i];
        if (d->mode == SEAF_MODE_DIR && strcmp(d->id, SEAF_EMPTY_ID) != 0 &&
            !cache_contains(a->cache, CACHE_KIND_FS, d->id))
            memcpy(job->ids[job->n++], d->id, SEAF_ID_LEN + 1);
    }
    if (job->n > 0) {
        snprintf(job->repo_id, sizeof(job->repo_id), "%s", repo_id);
        a->count++;
        worker_wake_locked(&a->w, thread_main, a);
    }
    pthread_mutex_unlock(&a->w.lock);
}

static bool job_has(const struct job *job, const char *id)
{
    for (size_t i = 0; i < job->n; i++)
        if (strcmp(job->ids[i], id) == 0)
            return true;
    return false;
}

bool children_ahead_wait(struct children_ahead *a, const char *id)
{
    if (!a)
        return false;
    pthread_mutex_lock(&a->w.lock);
    bool in_flight = a->running && job_has(a->running, id);
    uint64_t seen = a->finished;
    while (in_flight && a->finished == seen)
        pthread_cond_wait(&a->job_done, &a->w.lock);
    pthread_mutex_unlock(&a->w.lock);
    return in_flight;
}
