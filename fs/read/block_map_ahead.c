/* block_map_ahead: one thread per open that asks for the block map and keeps it in the cache
 * (file_keep_block_map), joined by the open before it needs the sizes. */
#include "block_map_ahead.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "file.h"
#include "fileserver_api.h"
#include "log.h"
#include "seaf_cdc.h"

bool block_map_ahead_pays(uint64_t file_size, const struct link_figures *link)
{
    /* Both official clients cut files into blocks of at least SEAF_CDC_MIN_SIZE (the chunker) or
     * 8 MiB (web uploads): a smaller file is one block and needs no block map. */
    return file_size > SEAF_CDC_MIN_SIZE && link->rtt_s >= BLOCK_MAP_AHEAD_MIN_RTT_S;
}

struct block_map_job {
    struct seafs *fs;
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char file_id[SEAF_ID_LEN + 1];
};

static void *block_map_run(void *arg)
{
    struct block_map_job *job = arg;
    int64_t *sizes = NULL;
    size_t n = 0;
    seaf_err err = fileserver_block_map(job->fs->client, job->repo_id, job->file_id, &sizes, &n);
    if (err == SEAF_OK && n > 1)
        file_keep_block_map(job->fs, job->file_id, sizes, n, false);
    else if (err != SEAF_OK) /* the open asks again and reports it */
        log_msg(LOG_DEBUG, "block map of %s asked for at open: %s", job->file_id,
                seaf_strerror(err));
    free(sizes);
    free(job);
    return NULL;
}

void block_map_ahead_start(struct block_map_ahead *ba, struct seafs *fs, const char *repo_id,
                           const char *file_id, uint64_t file_size)
{
    memset(ba, 0, sizeof(*ba));
    struct link_figures link;
    http_pool_link(fs->pool, &link);
    if (!block_map_ahead_pays(file_size, &link) ||
        cache_contains(fs->cache, CACHE_KIND_BLOCK_MAP, file_id))
        return;
    struct block_map_job *job = calloc(1, sizeof(*job));
    if (!job)
        return;
    job->fs = fs;
    snprintf(job->repo_id, sizeof(job->repo_id), "%s", repo_id);
    snprintf(job->file_id, sizeof(job->file_id), "%s", file_id);
    if (pthread_create(&ba->thread, NULL, block_map_run, job) == 0)
        ba->running = true;
    else
        free(job);
}

void block_map_ahead_wait(struct block_map_ahead *ba)
{
    if (ba->running)
        pthread_join(ba->thread, NULL);
    ba->running = false;
}
