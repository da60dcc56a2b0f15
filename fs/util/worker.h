/* worker: one background thread that is started on first use and woken through a condition
 * variable, for the fetchers that work behind the lookups (dir_prefetch, children_ahead). The
 * owner keeps its queue under w->lock and has the thread loop until w->stopping. */
#ifndef SEAFS_FS_WORKER_H
#define SEAFS_FS_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct worker {
    pthread_mutex_t lock; /* the owner's queue too */
    pthread_cond_t wake;  /* work arrived, or stop */
    atomic_bool stopping;
    bool started; /* protected by lock */
    pthread_t thread;
};

void worker_init(struct worker *w);
/* Wakes the thread, starting it as fn(arg) first if it is not running. Called with w->lock
 * held. */
void worker_wake_locked(struct worker *w, void *(*fn)(void *), void *arg);
/* Asks the thread to stop, waits for it, and releases w. */
void worker_stop(struct worker *w);

#endif
