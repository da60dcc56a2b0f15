/* index_writer: a queue of index commands and the thread that applies them in batches.
 *
 * The queue is a growable array under `lock`. The thread takes the whole array (swapping in its
 * own empty one), releases the lock, and applies the commands in one BEGIN..COMMIT, so posting a
 * command costs a lock and a copy of ~64 bytes however slow sqlite is. To make batches real, the
 * thread is woken only when the queue becomes non-empty, and then lets commands gather for up to
 * BATCH_DELAY_MS (less if BATCH_MAX are queued, a flush is asked for, or the writer stops): a
 * burst of hits costs one transaction, not one thread wake-up and one transaction per hit.
 * `applied` counts commands committed, which is what flush() waits for. */
#include "index_writer.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "index_db.h"
#include "seaf_ids.h"

#define BATCH_DELAY_MS 20
#define BATCH_MAX      4096

enum command_op { OP_PUT, OP_DELETE };

struct command {
    enum command_op op;
    int kind;
    char id[SEAF_ID_LEN + 1];
    bool pinned;
    uint64_t size;
    uint64_t seq;
};

struct command_batch {
    struct command *items;
    size_t count;
    size_t cap;
};

struct index_writer {
    struct index_db *db;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* signalled when commands arrive or stop is asked */
    pthread_cond_t done;        /* signalled after each batch */
    struct command_batch queue; /* protected by lock */
    uint64_t queued;            /* commands ever queued; protected by lock */
    uint64_t applied;           /* commands ever taken and processed; protected by lock */
    uint64_t errors;            /* protected by lock */
    unsigned flushers;          /* threads waiting in flush(); protected by lock */
    bool stopping;              /* protected by lock */
};

static void post(struct index_writer *w, const struct command *cmd)
{
    pthread_mutex_lock(&w->lock);
    struct command_batch *q = &w->queue;
    if (q->count == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        struct command *items = realloc(q->items, cap * sizeof(*items));
        if (items == NULL) {
            w->errors++;
            pthread_mutex_unlock(&w->lock);
            return;
        }
        q->items = items;
        q->cap = cap;
    }
    q->items[q->count++] = *cmd;
    w->queued++;
    if (q->count == 1 || q->count == BATCH_MAX)
        pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
}

void index_writer_put(struct index_writer *w, int kind, const char *id, uint64_t size, uint64_t seq,
                      bool pinned)
{
    struct command cmd = {.op = OP_PUT, .kind = kind, .size = size, .seq = seq, .pinned = pinned};
    memcpy(cmd.id, id, SEAF_ID_LEN + 1);
    post(w, &cmd);
}

void index_writer_delete(struct index_writer *w, int kind, const char *id)
{
    struct command cmd = {.op = OP_DELETE, .kind = kind};
    memcpy(cmd.id, id, SEAF_ID_LEN + 1);
    post(w, &cmd);
}

/* Applies one batch in a transaction; returns how many commands failed. */
static uint64_t apply(struct index_db *db, const struct command_batch *b)
{
    if (index_db_begin(db) != SEAF_OK)
        return b->count;
    uint64_t failed = 0;
    for (size_t i = 0; i < b->count; i++) {
        const struct command *c = &b->items[i];
        seaf_err err = c->op == OP_PUT
                           ? index_db_put(db, c->kind, c->id, c->size, c->seq, c->pinned)
                           : index_db_delete(db, c->kind, c->id);
        if (err != SEAF_OK)
            failed++;
    }
    return index_db_commit(db) == SEAF_OK ? failed : b->count;
}

/* True when the queued commands should be applied now rather than gather longer. */
static bool batch_due(const struct index_writer *w)
{
    return w->stopping || w->flushers > 0 || w->queue.count >= BATCH_MAX;
}

/* Waits (lock held) until the first command of a batch has waited BATCH_DELAY_MS, or sooner if
 * the batch is due. */
static void gather(struct index_writer *w)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += BATCH_DELAY_MS * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    while (!batch_due(w))
        if (pthread_cond_timedwait(&w->wake, &w->lock, &deadline) != 0)
            break;
}

static void *writer_main(void *arg)
{
    struct index_writer *w = arg;
    struct command_batch mine = {0};
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (w->queue.count == 0 && !w->stopping)
            pthread_cond_wait(&w->wake, &w->lock);
        if (w->queue.count == 0 && w->stopping)
            break;
        gather(w);
        struct command_batch taken = w->queue;
        w->queue = mine;
        pthread_mutex_unlock(&w->lock);

        uint64_t failed = apply(w->db, &taken);

        pthread_mutex_lock(&w->lock);
        w->applied += taken.count;
        w->errors += failed;
        taken.count = 0;
        mine = taken;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    free(mine.items);
    return NULL;
}

seaf_err index_writer_start(struct index_db *db, struct index_writer **out)
{
    *out = NULL;
    struct index_writer *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return SEAF_ERR_NOMEM;
    w->db = db;
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    pthread_cond_init(&w->done, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        pthread_cond_destroy(&w->done);
        free(w);
        return SEAF_ERR_NOMEM;
    }
    *out = w;
    return SEAF_OK;
}

void index_writer_flush(struct index_writer *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t target = w->queued;
    w->flushers++;
    pthread_cond_signal(&w->wake);
    while (w->applied < target)
        pthread_cond_wait(&w->done, &w->lock);
    w->flushers--;
    pthread_mutex_unlock(&w->lock);
}

uint64_t index_writer_errors(struct index_writer *w)
{
    pthread_mutex_lock(&w->lock);
    uint64_t v = w->errors;
    pthread_mutex_unlock(&w->lock);
    return v;
}

uint64_t index_writer_stop(struct index_writer *w)
{
    if (w == NULL)
        return 0;
    pthread_mutex_lock(&w->lock);
    w->stopping = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    uint64_t errors = w->errors;
    free(w->queue.items);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->done);
    free(w);
    return errors;
}
