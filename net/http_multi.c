/* http_multi: one CURLM driven by one I/O thread, with the body work on the callers' threads.
 *
 * A caller hands over a configured easy handle and blocks. The I/O thread adds it to the CURLM
 * (which multiplexes HTTP/2 streams: CURLPIPE_MULTIPLEX, at most max_host_connections per host),
 * runs the transfers and, for each chunk of a body, asks the caller's classify what it is: a
 * body for the caller is copied into the transfer's queue and the caller woken once enough has
 * gathered (or the transfer ended); the caller takes the whole queue (two buffers swap places)
 * and runs deliver on it on its own thread. So the costly work of many transfers (hashing,
 * compressing, writing to disk) runs on as many threads, in parallel, and the I/O thread only
 * moves bytes: with everything on it, it was the bottleneck of a fast link. A queue that holds
 * QUEUE_LIMIT bytes pauses its transfer (CURL_WRITEFUNC_PAUSE) until the caller empties it;
 * libcurl then delivers the refused chunk again.
 *
 * Locking: multi->lock protects the job list and every field of a job but `added`, which only
 * the I/O thread touches. libcurl calls are made without it when they may call back into
 * on_chunk (curl_easy_pause) or end a stream (curl_multi_remove_handle). A job lives on its
 * caller's stack and leaves the list only on the I/O thread (finish_job), so the I/O thread may
 * walk the list while dropping the lock around such calls. */
#include "http_multi.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Queued bytes of one transfer before it is paused. */
#define QUEUE_LIMIT (512u * 1024u)
/* Queued bytes that wake the caller (the end of the transfer does too): fewer, larger handoffs
 * than one per network read. */
#define HANDOFF_BYTES (128u * 1024u)
/* First allocation of a queue buffer. */
#define QUEUE_INITIAL (64u * 1024u)

struct multi_job {
    CURL *curl;
    const struct http_multi_body *body;
    struct http_multi *multi;
    CURLcode result;
    bool added; /* in the CURLM; only the I/O thread reads or writes it */
    bool done;
    bool paused;          /* the I/O thread paused the transfer: the queue is full */
    bool resume;          /* the caller emptied the queue of a paused transfer */
    bool abort;           /* the caller's deliver refused: the transfer is to end */
    unsigned char *queue; /* body bytes not taken by the caller yet */
    size_t queued;        /* bytes in queue */
    size_t queue_cap;     /* allocated */
    unsigned char *spare; /* the other buffer, given back by the caller */
    size_t spare_cap;     /* allocated */
    pthread_cond_t wake;  /* signalled for the caller: bytes queued, paused or done */
    struct multi_job *next;
};

struct http_multi {
    unsigned max_host_connections;
    pthread_mutex_t lock;
    CURLM *curlm; /* NULL until the I/O thread starts; then only that thread uses it */
    pthread_t thread;
    bool stop;              /* http_multi_free asks the I/O thread to end */
    struct multi_job *jobs; /* submitted and not yet done */
};

struct http_multi *http_multi_new(unsigned max_host_connections)
{
    struct http_multi *multi = calloc(1, sizeof(*multi));
    if (!multi)
        return NULL;
    multi->max_host_connections = max_host_connections;
    pthread_mutex_init(&multi->lock, NULL);
    return multi;
}

/* Marks job done with result and wakes its caller. Called with the lock held. */
static void finish_job(struct http_multi *multi, struct multi_job *job, CURLcode result)
{
    struct multi_job **link = &multi->jobs;

    while (*link != job)
        link = &(*link)->next;
    *link = job->next;
    job->result = result;
    job->done = true;
    pthread_cond_signal(&job->wake);
}

/* Appends a chunk of the body to the job's queue: len, or CURL_WRITEFUNC_PAUSE when the queue is
 * full, or 0 (abort) when out of memory. Called with the lock held. */
static size_t enqueue_locked(struct multi_job *job, const char *data, size_t len)
{
    if (job->queued + len > job->queue_cap) {
        if (job->queued > 0 && job->queued + len > QUEUE_LIMIT) {
            job->paused = true;
            pthread_cond_signal(&job->wake);
            return CURL_WRITEFUNC_PAUSE;
        }
        size_t cap = job->queue_cap ? job->queue_cap : QUEUE_INITIAL;
        while (cap < job->queued + len)
            cap *= 2;
        unsigned char *grown = realloc(job->queue, cap);
        if (!grown)
            return 0;
        job->queue = grown;
        job->queue_cap = cap;
    }
    memcpy(job->queue + job->queued, data, len);
    job->queued += len;
    if (job->queued >= HANDOFF_BYTES)
        pthread_cond_signal(&job->wake);
    return len;
}

/* libcurl's write callback on the I/O thread. */
static size_t on_chunk(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct multi_job *job = ctx;
    size_t len = size * nmemb;
    enum http_multi_chunk what = job->body->classify(job->body->ctx, data, len);

    if (what == HTTP_MULTI_HANDLED)
        return len;
    if (what == HTTP_MULTI_ABORT || len == 0)
        return 0;
    pthread_mutex_lock(&job->multi->lock);
    size_t taken = job->abort ? 0 : enqueue_locked(job, data, len);
    pthread_mutex_unlock(&job->multi->lock);
    return taken;
}

/* Adds the jobs submitted since the last turn to the CURLM. Called with the lock held. */
static void add_new_jobs_locked(struct http_multi *multi)
{
    for (struct multi_job *job = multi->jobs, *next; job; job = next) {
        next = job->next;
        if (job->added)
            continue;
        job->added = true;
        if (curl_multi_add_handle(multi->curlm, job->curl) != CURLM_OK)
            finish_job(multi, job, CURLE_OUT_OF_MEMORY);
    }
}

/* Resumes the transfers whose callers emptied their queues, and ends those whose callers
 * refused their bytes. Called with the lock held; drops it around the libcurl calls. */
static void serve_callers_locked(struct http_multi *multi)
{
    for (struct multi_job *job = multi->jobs, *next; job; job = next) {
        next = job->next;
        if (!job->added)
            continue;
        if (job->abort) {
            pthread_mutex_unlock(&multi->lock);
            curl_multi_remove_handle(multi->curlm, job->curl);
            pthread_mutex_lock(&multi->lock);
            next = job->next;
            finish_job(multi, job, CURLE_WRITE_ERROR);
        } else if (job->resume) {
            job->resume = false;
            pthread_mutex_unlock(&multi->lock);
            curl_easy_pause(job->curl, CURLPAUSE_CONT); /* may call on_chunk at once */
            pthread_mutex_lock(&multi->lock);
            next = job->next;
        }
    }
}

/* Hands every finished transfer back to its caller. */
static void collect_done_jobs(struct http_multi *multi)
{
    CURLMsg *msg;
    int queued;

    while ((msg = curl_multi_info_read(multi->curlm, &queued)) != NULL) {
        struct multi_job *job = NULL;
        CURL *curl = msg->easy_handle;
        CURLcode result = msg->data.result;

        if (msg->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(curl, CURLINFO_PRIVATE, (char **)&job);
        curl_multi_remove_handle(multi->curlm, curl);
        pthread_mutex_lock(&multi->lock);
        finish_job(multi, job, result);
        pthread_mutex_unlock(&multi->lock);
    }
}

/* Fails every job still submitted (the multiplexer is being freed). */
static void abandon_jobs(struct http_multi *multi)
{
    pthread_mutex_lock(&multi->lock);
    while (multi->jobs) {
        struct multi_job *job = multi->jobs;

        if (job->added) {
            pthread_mutex_unlock(&multi->lock);
            curl_multi_remove_handle(multi->curlm, job->curl);
            pthread_mutex_lock(&multi->lock);
        }
        finish_job(multi, job, CURLE_ABORTED_BY_CALLBACK);
    }
    pthread_mutex_unlock(&multi->lock);
}

static void *io_thread_main(void *arg)
{
    struct http_multi *multi = arg;

    for (;;) {
        int running;

        pthread_mutex_lock(&multi->lock);
        if (multi->stop) {
            pthread_mutex_unlock(&multi->lock);
            break;
        }
        add_new_jobs_locked(multi);
        serve_callers_locked(multi);
        pthread_mutex_unlock(&multi->lock);
        curl_multi_perform(multi->curlm, &running);
        collect_done_jobs(multi);
        curl_multi_poll(multi->curlm, NULL, 0, 1000, NULL);
    }
    abandon_jobs(multi);
    return NULL;
}

/* Creates the CURLM and its I/O thread unless they exist. Called with the lock held. */
static bool start_io_thread_locked(struct http_multi *multi)
{
    if (multi->curlm)
        return true;
    multi->curlm = curl_multi_init();
    if (!multi->curlm)
        return false;
    curl_multi_setopt(multi->curlm, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi->curlm, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)multi->max_host_connections);
    if (pthread_create(&multi->thread, NULL, io_thread_main, multi) != 0) {
        curl_multi_cleanup(multi->curlm);
        multi->curlm = NULL;
        return false;
    }
    return true;
}

void http_multi_free(struct http_multi *multi)
{
    bool started;

    if (!multi)
        return;
    pthread_mutex_lock(&multi->lock);
    multi->stop = true;
    started = multi->curlm != NULL;
    pthread_mutex_unlock(&multi->lock);
    if (started) {
        curl_multi_wakeup(multi->curlm);
        pthread_join(multi->thread, NULL);
        curl_multi_cleanup(multi->curlm);
    }
    pthread_mutex_destroy(&multi->lock);
    free(multi);
}

/* Takes the queued bytes of job (*data, *len; the buffer's capacity in *cap): the spare buffer
 * becomes the queue, and the caller gives the taken one back as the spare once it delivered its
 * bytes. Asks the I/O thread to resume a paused transfer. Called with the lock held. */
static void take_queue_locked(struct http_multi *multi, struct multi_job *job, unsigned char **data,
                              size_t *len, size_t *cap)
{
    *data = job->queue;
    *len = job->queued;
    *cap = job->queue_cap;
    job->queue = job->spare;
    job->queue_cap = job->spare_cap;
    job->queued = 0;
    job->spare = NULL;
    job->spare_cap = 0;
    if (job->paused) {
        job->paused = false;
        job->resume = true;
        curl_multi_wakeup(multi->curlm);
    }
}

CURLcode http_multi_perform(struct http_multi *multi, CURL *curl,
                            const struct http_multi_body *body)
{
    struct multi_job job = {.curl = curl, .body = body, .multi = multi};
    bool refused = false;

    pthread_cond_init(&job.wake, NULL);
    curl_easy_setopt(curl, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(curl, CURLOPT_PRIVATE, (char *)&job);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_chunk);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &job);
    pthread_mutex_lock(&multi->lock);
    if (multi->stop || !start_io_thread_locked(multi)) {
        pthread_mutex_unlock(&multi->lock);
        pthread_cond_destroy(&job.wake);
        return CURLE_OUT_OF_MEMORY;
    }
    job.next = multi->jobs;
    multi->jobs = &job;
    curl_multi_wakeup(multi->curlm);
    for (;;) {
        while (!job.done && !job.paused && job.queued < HANDOFF_BYTES)
            pthread_cond_wait(&job.wake, &multi->lock);
        if (job.queued == 0) {
            if (job.done)
                break;
            continue;
        }
        unsigned char *data;
        size_t len, cap;
        take_queue_locked(multi, &job, &data, &len, &cap);
        pthread_mutex_unlock(&multi->lock);
        if (!refused && !body->deliver(body->ctx, data, len))
            refused = true;
        pthread_mutex_lock(&multi->lock);
        job.spare = data;
        job.spare_cap = cap;
        if (refused && !job.done && !job.abort) {
            job.abort = true;
            curl_multi_wakeup(multi->curlm);
        }
    }
    pthread_mutex_unlock(&multi->lock);
    free(job.queue);
    free(job.spare);
    pthread_cond_destroy(&job.wake);
    return refused ? CURLE_WRITE_ERROR : job.result;
}
