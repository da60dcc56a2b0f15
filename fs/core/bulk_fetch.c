/* bulk_fetch: worker threads taking batches of FILESERVER_PACK_FS_BATCH ids from a shared
 * counter; each answer's objects (verified by net/) are collected and stored in one call. */
#include "bulk_fetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fileserver_api.h"
#include "log.h"

#define MAX_PARALLEL 8

struct job {
    struct cache *cache;
    struct seaf_client *client;
    const char *repo_id;
    const char (*ids)[SEAF_ID_LEN + 1];
    size_t n;
    const atomic_bool *stop;
    pthread_mutex_t lock;
    size_t next;        /* first id of the next batch; protected by lock */
    size_t fetched;     /* protected by lock */
    seaf_err first_err; /* protected by lock */
};

/* The objects of one pack-fs call, copied for one cache_put_objects. */
struct batch {
    struct cache_object objs[FILESERVER_PACK_FS_BATCH];
    char ids[FILESERVER_PACK_FS_BATCH][SEAF_ID_LEN + 1];
    size_t n;
};

static seaf_err collect(void *ctx, const char *id, const void *stored, size_t stored_len,
                        const char *json, size_t json_len, struct seaf_fsobj **obj)
{
    struct batch *b = ctx;
    (void)stored;
    (void)stored_len;
    (void)obj;
    if (b->n == FILESERVER_PACK_FS_BATCH)
        return SEAF_ERR_PROTOCOL; /* net/ gives each requested object once */
    char *copy = malloc(json_len + 1);
    if (!copy)
        return SEAF_ERR_NOMEM;
    memcpy(copy, json, json_len);
    memcpy(b->ids[b->n], id, SEAF_ID_LEN + 1);
    b->objs[b->n] = (struct cache_object){.id = b->ids[b->n], .data = copy, .len = json_len};
    b->n++;
    return SEAF_OK;
}

static void fail(struct job *job, seaf_err err)
{
    pthread_mutex_lock(&job->lock);
    if (job->first_err == SEAF_OK)
        job->first_err = err;
    pthread_mutex_unlock(&job->lock);
}

static void *worker_main(void *arg)
{
    struct job *job = arg;
    struct batch *b = calloc(1, sizeof(*b));
    if (!b) {
        fail(job, SEAF_ERR_NOMEM);
        return NULL;
    }
    const char *ids[FILESERVER_PACK_FS_BATCH];
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t start = job->next;
        job->next += FILESERVER_PACK_FS_BATCH;
        pthread_mutex_unlock(&job->lock);
        if (start >= job->n || (job->stop && atomic_load(job->stop)))
            break;
        size_t count =
            job->n - start < FILESERVER_PACK_FS_BATCH ? job->n - start : FILESERVER_PACK_FS_BATCH;
        for (size_t i = 0; i < count; i++)
            ids[i] = job->ids[start + i];
        b->n = 0;
        seaf_err err = fileserver_pack_fs(job->client, job->repo_id, ids, count, collect, b);
        /* What came before an error is stored all the same. */
        seaf_err put = cache_put_objects(job->cache, CACHE_KIND_FS, b->objs, b->n);
        if (put != SEAF_OK)
            log_msg(LOG_WARNING, "could not cache fs objects: %s", seaf_strerror(put));
        for (size_t i = 0; i < b->n; i++)
            free((void *)b->objs[i].data);
        pthread_mutex_lock(&job->lock);
        job->fetched += b->n;
        pthread_mutex_unlock(&job->lock);
        if (err != SEAF_OK)
            fail(job, err);
    }
    free(b);
    return NULL;
}

seaf_err bulk_fetch_fs(struct cache *cache, struct seaf_client *client, const char *repo_id,
                       const char (*ids)[SEAF_ID_LEN + 1], size_t n, unsigned parallel,
                       const atomic_bool *stop, size_t *fetched)
{
    struct job job = {
        .cache = cache, .client = client, .repo_id = repo_id, .ids = ids, .n = n, .stop = stop};
    pthread_mutex_init(&job.lock, NULL);
    size_t batches = (n + FILESERVER_PACK_FS_BATCH - 1) / FILESERVER_PACK_FS_BATCH;
    size_t workers = parallel < 1 ? 1 : parallel > MAX_PARALLEL ? MAX_PARALLEL : parallel;
    if (workers > batches)
        workers = batches;
    pthread_t threads[MAX_PARALLEL];
    size_t started = 0;
    for (size_t i = 1; i < workers; i++) {
        if (pthread_create(&threads[started], NULL, worker_main, &job) != 0)
            break;
        started++;
    }
    if (n > 0)
        worker_main(&job); /* the calling thread works too */
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    pthread_mutex_destroy(&job.lock);
    if (fetched)
        *fetched = job.fetched;
    return job.first_err;
}
