/* bulk_fetch: batches of FILESERVER_PACK_FS_BATCH ids handed to a few threads (parallel_for);
 * each answer's objects (verified by net/) are collected and stored in one call. */
#include "bulk_fetch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fileserver_api.h"
#include "log.h"
#include "parallel.h"

struct job {
    struct cache *cache;
    struct seaf_client *client;
    const char *repo_id;
    const char (*ids)[SEAF_ID_LEN + 1];
    size_t n;
    const atomic_bool *stop;
    atomic_size_t fetched;
    pthread_mutex_t lock;
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

/* Batch number i: one pack-fs call, its objects stored in one go. Always 0: a failed batch does
 * not stop the others (its error is kept). */
static int fetch_batch(void *ctx, size_t i)
{
    struct job *job = ctx;
    if (job->stop && atomic_load(job->stop))
        return 0;
    size_t start = i * FILESERVER_PACK_FS_BATCH;
    size_t count =
        job->n - start < FILESERVER_PACK_FS_BATCH ? job->n - start : FILESERVER_PACK_FS_BATCH;
    const char *ids[FILESERVER_PACK_FS_BATCH];
    for (size_t k = 0; k < count; k++)
        ids[k] = job->ids[start + k];
    struct batch *b = calloc(1, sizeof(*b));
    seaf_err err =
        b ? fileserver_pack_fs(job->client, job->repo_id, ids, count, collect, b) : SEAF_ERR_NOMEM;
    if (b) {
        /* What came before an error is stored all the same. */
        seaf_err put = cache_put_objects(job->cache, CACHE_KIND_FS, b->objs, b->n);
        if (put != SEAF_OK)
            log_msg(LOG_WARNING, "could not cache fs objects: %s", seaf_strerror(put));
        for (size_t k = 0; k < b->n; k++)
            free((void *)b->objs[k].data);
        atomic_fetch_add(&job->fetched, b->n);
        free(b);
    }
    if (err != SEAF_OK) {
        pthread_mutex_lock(&job->lock);
        if (job->first_err == SEAF_OK)
            job->first_err = err;
        pthread_mutex_unlock(&job->lock);
    }
    return 0;
}

seaf_err bulk_fetch_fs(struct cache *cache, struct seaf_client *client, const char *repo_id,
                       const char (*ids)[SEAF_ID_LEN + 1], size_t n, unsigned parallel,
                       const atomic_bool *stop, size_t *fetched)
{
    struct job job = {
        .cache = cache, .client = client, .repo_id = repo_id, .ids = ids, .n = n, .stop = stop};
    atomic_init(&job.fetched, 0);
    pthread_mutex_init(&job.lock, NULL);
    size_t batches = (n + FILESERVER_PACK_FS_BATCH - 1) / FILESERVER_PACK_FS_BATCH;
    parallel_for(batches, parallel ? parallel : 1, fetch_batch, &job);
    pthread_mutex_destroy(&job.lock);
    if (fetched)
        *fetched = atomic_load(&job.fetched);
    return job.first_err;
}
