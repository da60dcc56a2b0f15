/* readahead: the sequential detector (as sshfs's is_seq and mountpoint-s3's growing window; on
 * slow links a dense-run rule and a window sized by the link) and a small fixed thread pool that
 * runs block fetches ahead of the reader. The pool only starts fetches; sharing a download with a
 * reader that arrives meanwhile is the cache's single-flight fill, so a block is never downloaded
 * twice. */
#include "readahead.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

void readahead_init(struct readahead *ra, uint64_t max_window)
{
    memset(ra, 0, sizeof(*ra));
    ra->next_off = READAHEAD_NO_READ;
    ra->max_window = max_window;
}

uint64_t readahead_link_window(const struct link_figures *link)
{
    if (link->rtt_s <= 0 || link->bytes_per_s <= 0)
        return 0;
    double window = link->bytes_per_s * READAHEAD_TARGET_S;
    return window >= (double)UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)window;
}

bool readahead_link_is_slow(uint64_t link_window)
{
    return link_window > 0 && link_window < READAHEAD_SLOW_WINDOW;
}

/* Whether the read [off, read_end) continues the current run: on a fast link anywhere within
 * READAHEAD_SLACK of where the last read ended, on a slow one touching the run or at most
 * READAHEAD_SLOW_GAP away from it. */
static bool continues_run(const struct readahead *ra, uint64_t off, uint64_t read_end, bool slow)
{
    if (ra->next_off == READAHEAD_NO_READ)
        return false;
    if (!slow)
        return off + READAHEAD_SLACK >= ra->next_off && off <= ra->next_off + READAHEAD_SLACK;
    return off <= ra->next_off + READAHEAD_SLOW_GAP &&
           read_end + READAHEAD_SLOW_GAP >= ra->run_start;
}

/* Whether the run is sequential on a slow link: large and dense enough. */
static bool dense_run(const struct readahead *ra)
{
    uint64_t span = ra->next_off - ra->run_start;
    return ra->run_bytes >= READAHEAD_SLOW_RUN && ra->run_bytes >= span * READAHEAD_SLOW_DENSITY;
}

void readahead_on_read(struct readahead *ra, uint64_t off, size_t len, uint64_t file_size,
                       uint64_t link_window, uint64_t *start, uint64_t *end)
{
    uint64_t read_end = off + len;
    bool slow = readahead_link_is_slow(link_window);
    /* The first read of a file is not sequential yet, even at offset 0: a type sniff or a
     * header probe reads a few KiB and stops, and must not pull in the next block. */
    bool continues = continues_run(ra, off, read_end, slow);
    if (!continues) {
        ra->window = 0;
        ra->prefetched_to = 0;
        ra->next_off = read_end;
        ra->run_start = off;
        ra->run_bytes = len;
    } else {
        if (off < ra->run_start)
            ra->run_start = off;
        if (read_end > ra->next_off)
            ra->next_off = read_end;
        uint64_t span = ra->next_off - ra->run_start;
        ra->run_bytes = ra->run_bytes + len < span ? ra->run_bytes + len : span;
    }
    ra->sequential = continues && (!slow || dense_run(ra));
    if (!ra->sequential)
        ra->window = 0;
    else if (slow)
        ra->window = link_window; /* what the link moves in the target latency, no more */
    else if (ra->window == 0)
        ra->window = READAHEAD_INITIAL_WINDOW;
    else
        ra->window *= 2;
    if (ra->window > ra->max_window)
        ra->window = ra->max_window;
    *start = *end = 0;
    if (ra->window == 0 || read_end >= file_size)
        return;
    uint64_t from = read_end > ra->prefetched_to ? read_end : ra->prefetched_to;
    uint64_t to = read_end + ra->window;
    if (to > file_size)
        to = file_size;
    if (from < to) {
        *start = from;
        *end = to;
        ra->prefetched_to = to;
    }
}

uint64_t scan_max_file_size(const struct link_figures *link)
{
    if (!readahead_link_is_slow(readahead_link_window(link)))
        return SCAN_MAX_FILE_SIZE;
    double bdp = link->bytes_per_s * link->rtt_s;
    return bdp > SCAN_SLOW_MIN_FILE_SIZE ? (uint64_t)bdp : SCAN_SLOW_MIN_FILE_SIZE;
}

void scan_on_open(struct scan_detector *sd, uint64_t dir, size_t index, size_t n_entries,
                  size_t *from, size_t *to)
{
    bool next_in_scan = dir == sd->dir && index > sd->last_index && index <= sd->last_index + 2;
    if (next_in_scan) {
        sd->run++;
    } else {
        sd->run = 0;
        sd->prefetched_to = 0;
    }
    sd->dir = dir;
    sd->last_index = index;
    *from = *to = 0;
    if (sd->run == 0)
        return; /* one open is not a scan yet */
    size_t window = sd->run >= 5 ? SCAN_MAX_WINDOW : (size_t)4 << sd->run;
    if (window > SCAN_MAX_WINDOW)
        window = SCAN_MAX_WINDOW;
    size_t start = index + 1 > sd->prefetched_to ? index + 1 : sd->prefetched_to;
    size_t end = index + 1 + window < n_entries ? index + 1 + window : n_entries;
    if (start < end) {
        *from = start;
        *to = end;
        sd->prefetched_to = end;
    }
}

struct prefetch_job {
    enum prefetch_kind kind;
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char id[SEAF_ID_LEN + 1];
};

struct prefetch_pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct prefetch_job *queue; /* ring buffer, protected by lock */
    size_t queue_max;
    size_t head;   /* protected by lock */
    size_t length; /* protected by lock */
    bool stopping; /* protected by lock */
    prefetch_fn fn;
    void *ctx;
    pthread_t *threads;
    unsigned n_threads;
};

static void *worker(void *arg)
{
    struct prefetch_pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stopping && pool->length == 0)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stopping)
            break;
        struct prefetch_job job = pool->queue[pool->head];
        pool->head = (pool->head + 1) % pool->queue_max;
        pool->length--;
        pthread_mutex_unlock(&pool->lock);
        pool->fn(pool->ctx, job.kind, job.repo_id, job.id);
        pthread_mutex_lock(&pool->lock);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

struct prefetch_pool *prefetch_pool_new(unsigned n_threads, size_t queue_max, prefetch_fn fn,
                                        void *ctx)
{
    struct prefetch_pool *pool = calloc(1, sizeof(*pool));
    if (!pool || n_threads == 0 || queue_max == 0)
        goto fail;
    pool->queue = calloc(queue_max, sizeof(*pool->queue));
    pool->threads = calloc(n_threads, sizeof(*pool->threads));
    if (!pool->queue || !pool->threads)
        goto fail;
    pool->queue_max = queue_max;
    pool->fn = fn;
    pool->ctx = ctx;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    for (; pool->n_threads < n_threads; pool->n_threads++) {
        if (pthread_create(&pool->threads[pool->n_threads], NULL, worker, pool) != 0)
            break;
    }
    if (pool->n_threads == 0) {
        prefetch_pool_free(pool);
        return NULL;
    }
    return pool;
fail:
    if (pool) {
        free(pool->queue);
        free(pool->threads);
    }
    free(pool);
    return NULL;
}

/* Queues a job at the queue's end, or at its front when first (see prefetch_pool_submit). */
static bool submit(struct prefetch_pool *pool, enum prefetch_kind kind, const char *repo_id,
                   const char *id, bool first)
{
    bool queued = false;
    pthread_mutex_lock(&pool->lock);
    if (pool->stopping || pool->length == pool->queue_max)
        goto out;
    for (size_t i = 0; i < pool->length; i++) {
        const struct prefetch_job *job = &pool->queue[(pool->head + i) % pool->queue_max];
        if (job->kind == kind && strcmp(job->id, id) == 0)
            goto out;
    }
    if (first)
        pool->head = (pool->head + pool->queue_max - 1) % pool->queue_max;
    size_t slot = first ? pool->head : (pool->head + pool->length) % pool->queue_max;
    struct prefetch_job *job = &pool->queue[slot];
    job->kind = kind;
    snprintf(job->repo_id, sizeof(job->repo_id), "%s", repo_id);
    snprintf(job->id, sizeof(job->id), "%s", id);
    pool->length++;
    queued = true;
    pthread_cond_signal(&pool->wake);
out:
    pthread_mutex_unlock(&pool->lock);
    return queued;
}

bool prefetch_pool_submit(struct prefetch_pool *pool, enum prefetch_kind kind, const char *repo_id,
                          const char *id)
{
    return submit(pool, kind, repo_id, id, false);
}

bool prefetch_pool_submit_first(struct prefetch_pool *pool, enum prefetch_kind kind,
                                const char *repo_id, const char *id)
{
    return submit(pool, kind, repo_id, id, true);
}

void prefetch_pool_free(struct prefetch_pool *pool)
{
    if (!pool)
        return;
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pool->length = 0;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (unsigned i = 0; i < pool->n_threads; i++)
        pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->queue);
    free(pool->threads);
    free(pool);
}
