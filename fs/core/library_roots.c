/* library_roots: finding each library's root folder, ahead of time for every library of the
 * list (see library_roots.h). Jobs live in one array in list order; `parallel` threads take the
 * queued ones in turn. An opener takes a queued job over (marks it done and does the work
 * itself, at once) or waits for a running one. */
#include "library_roots.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "seahub_api.h"

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char head[SEAF_ID_LEN + 1];
    enum job_state state;
    bool needed; /* its opener went through Seahub: the head commit must still come */
};

struct library_roots {
    struct cache *cache;
    struct tree *tree;
    struct seaf_client *client;
    unsigned parallel;
    pthread_mutex_t lock;
    pthread_cond_t wake;  /* a job was queued, or stop */
    pthread_cond_t ended; /* a job ended */
    struct job *jobs;     /* protected by lock */
    size_t n_jobs, cap;   /* protected by lock */
    size_t next;          /* protected by lock: no queued job before it */
    size_t warmed;        /* protected by lock */
    size_t failed;        /* protected by lock */
    bool stopping;        /* protected by lock */
    pthread_t *threads;
    unsigned n_threads; /* protected by lock */
};

struct library_roots *library_roots_new(struct cache *cache, struct tree *tree,
                                        struct seaf_client *client, unsigned parallel)
{
    struct library_roots *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->parallel = parallel ? parallel : 1;
    r->threads = calloc(r->parallel, sizeof(*r->threads));
    if (!r->threads) {
        free(r);
        return NULL;
    }
    r->cache = cache;
    r->tree = tree;
    r->client = client;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->wake, NULL);
    pthread_cond_init(&r->ended, NULL);
    return r;
}

/* The head commits of libraries opened through Seahub that the threads did not get to: fetched
 * now, before the mount ends (a start without the server needs them to find the roots). */
static void fetch_needed_commits(struct library_roots *r)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < r->n_jobs; i++) {
        if (!r->jobs[i].needed || r->jobs[i].state != JOB_QUEUED)
            continue;
        struct job job = r->jobs[i];
        r->jobs[i].state = JOB_DONE;
        pthread_mutex_unlock(&r->lock);
        char root[SEAF_ID_LEN + 1];
        tree_commit_root(r->tree, job.repo_id, job.head, root);
        pthread_mutex_lock(&r->lock);
    }
    pthread_mutex_unlock(&r->lock);
}

void library_roots_free(struct library_roots *r)
{
    if (!r)
        return;
    fetch_needed_commits(r);
    pthread_mutex_lock(&r->lock);
    r->stopping = true;
    pthread_cond_broadcast(&r->wake);
    unsigned n = r->n_threads;
    pthread_mutex_unlock(&r->lock);
    for (unsigned i = 0; i < n; i++)
        pthread_join(r->threads[i], NULL);
    pthread_cond_destroy(&r->ended);
    pthread_cond_destroy(&r->wake);
    pthread_mutex_destroy(&r->lock);
    free(r->jobs);
    free(r->threads);
    free(r);
}

/* The sync token, minted in a thread of its own beside the library info (kept by the client;
 * a failure shows again at the first file-server request). */
struct token_fetch {
    struct seaf_client *client;
    const char *repo_id;
    char token[SEAF_ID_LEN + 1];
};

static void *fetch_token(void *arg)
{
    struct token_fetch *t = arg;
    seaf_client_repo_token(t->client, t->repo_id, t->token);
    return NULL;
}

/* A library without a sync token: its info (naming the root of head) and a new token at the
 * same time. 0 with root set, or -1 when the info did not give the root of head (the caller
 * goes the usual way: the token, if minted, is kept). */
static int root_from_seahub(struct library_roots *r, const char *repo_id, const char *head,
                            char root[SEAF_ID_LEN + 1])
{
    struct token_fetch t = {.client = r->client, .repo_id = repo_id};
    pthread_t thread;
    bool minting = pthread_create(&thread, NULL, fetch_token, &t) == 0;
    char info_head[SEAF_ID_LEN + 1], info_root[SEAF_ID_LEN + 1];
    seaf_err err = seahub_repo_root(r->client, repo_id, info_head, info_root);
    if (minting)
        pthread_join(thread, NULL);
    if (err != SEAF_OK || strcmp(info_head, head) != 0) {
        log_msg(LOG_DEBUG, "library %s: info names no root of head %s (%s)", repo_id, head,
                err != SEAF_OK ? seaf_strerror(err) : "another head");
        return -1;
    }
    memcpy(root, info_root, SEAF_ID_LEN + 1);
    return 0;
}

/* The root folder id of repo_id at head, however the cache and the tokens at hand allow;
 * *from_seahub tells whether Seahub named it (the head commit is then not in the cache). */
static int resolve(struct library_roots *r, const char *repo_id, const char *head,
                   char root[SEAF_ID_LEN + 1], bool *from_seahub)
{
    *from_seahub = !cache_contains(r->cache, CACHE_KIND_COMMIT, head) &&
                   !seaf_client_knows_repo_token(r->client, repo_id) &&
                   root_from_seahub(r, repo_id, head, root) == 0;
    return *from_seahub ? 0 : tree_commit_root(r->tree, repo_id, head, root);
}

/* One library warmed: its sync token, head commit and root folder, one after the other on one
 * connection (Seahub hears only download-info, once per library and device; the opener of a
 * library goes faster, resolve()). */
static int warm(struct library_roots *r, const char *repo_id, const char *head)
{
    char root[SEAF_ID_LEN + 1];
    int rc = tree_commit_root(r->tree, repo_id, head, root);
    if (rc == 0)
        rc = tree_warm_dir(r->tree, repo_id, root);
    return rc;
}

static void *thread_main(void *arg)
{
    struct library_roots *r = arg;
    pthread_mutex_lock(&r->lock);
    while (!r->stopping) {
        while (r->next < r->n_jobs && r->jobs[r->next].state != JOB_QUEUED)
            r->next++;
        if (r->next == r->n_jobs) {
            pthread_cond_wait(&r->wake, &r->lock);
            continue;
        }
        size_t i = r->next++;
        struct job job = r->jobs[i];
        r->jobs[i].state = JOB_RUNNING;
        pthread_mutex_unlock(&r->lock);
        int rc = warm(r, job.repo_id, job.head);
        if (rc)
            log_msg(LOG_DEBUG, "library %s: warming its root failed: %s", job.repo_id,
                    strerror(-rc));
        pthread_mutex_lock(&r->lock);
        r->jobs[i].state = JOB_DONE; /* the array may have moved: by index */
        if (rc)
            r->failed++;
        else
            r->warmed++;
        pthread_cond_broadcast(&r->ended);
    }
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* The job of repo_id at head, or NULL (lock held). */
static struct job *find_job_locked(struct library_roots *r, const char *repo_id, const char *head)
{
    for (size_t i = 0; i < r->n_jobs; i++)
        if (strcmp(r->jobs[i].repo_id, repo_id) == 0 && strcmp(r->jobs[i].head, head) == 0)
            return &r->jobs[i];
    return NULL;
}

void library_roots_warm(struct library_roots *r, const struct library_list *libs)
{
    pthread_mutex_lock(&r->lock);
    for (size_t i = 0; i < libs->n && !r->stopping; i++) {
        const struct library *lib = &libs->libs[i];
        if (find_job_locked(r, lib->id, lib->head_commit_id))
            continue;
        if (r->n_jobs == r->cap) {
            size_t cap = r->cap ? r->cap * 2 : 32;
            struct job *jobs = realloc(r->jobs, cap * sizeof(*jobs));
            if (!jobs)
                break;
            r->jobs = jobs;
            r->cap = cap;
        }
        struct job *job = &r->jobs[r->n_jobs++];
        memcpy(job->repo_id, lib->id, sizeof(job->repo_id));
        memcpy(job->head, lib->head_commit_id, sizeof(job->head));
        job->state = JOB_QUEUED;
        job->needed = false;
    }
    while (r->n_threads < r->parallel && !r->stopping &&
           pthread_create(&r->threads[r->n_threads], NULL, thread_main, r) == 0)
        r->n_threads++;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->lock);
}

/* Queues the job of a library its opener took over again, so that its head commit still comes
 * into the cache in the background (a start without the server needs it to find the root). */
static void requeue(struct library_roots *r, const char *repo_id, const char *head)
{
    pthread_mutex_lock(&r->lock);
    struct job *job = find_job_locked(r, repo_id, head);
    if (job && job->state == JOB_DONE && !r->stopping) {
        job->state = JOB_QUEUED;
        job->needed = true;
        size_t i = (size_t)(job - r->jobs);
        if (i < r->next)
            r->next = i;
        pthread_cond_broadcast(&r->wake);
    }
    pthread_mutex_unlock(&r->lock);
}

int library_roots_find(struct library_roots *r, const char *repo_id, const char *head,
                       char root[SEAF_ID_LEN + 1])
{
    pthread_mutex_lock(&r->lock);
    struct job *job = find_job_locked(r, repo_id, head);
    if (job && job->state == JOB_QUEUED)
        job->state = JOB_DONE; /* taken over: done here, now */
    while ((job = find_job_locked(r, repo_id, head)) && job->state == JOB_RUNNING)
        pthread_cond_wait(&r->ended, &r->lock);
    pthread_mutex_unlock(&r->lock);
    bool from_seahub = false;
    int rc = resolve(r, repo_id, head, root, &from_seahub);
    if (rc == 0 && from_seahub)
        requeue(r, repo_id, head);
    return rc;
}

void library_roots_counts(struct library_roots *r, size_t *warmed, size_t *failed)
{
    pthread_mutex_lock(&r->lock);
    *warmed = r->warmed;
    *failed = r->failed;
    pthread_mutex_unlock(&r->lock);
}
