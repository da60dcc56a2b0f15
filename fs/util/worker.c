/* worker: lazy start, wake-up and stop of one background thread. */
#include "worker.h"

void worker_init(struct worker *w)
{
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    atomic_init(&w->stopping, false);
    w->started = false;
}

void worker_wake_locked(struct worker *w, void *(*fn)(void *), void *arg)
{
    if (!w->started && pthread_create(&w->thread, NULL, fn, arg) == 0)
        w->started = true;
    pthread_cond_signal(&w->wake);
}

void worker_stop(struct worker *w)
{
    pthread_mutex_lock(&w->lock);
    atomic_store(&w->stopping, true);
    pthread_cond_signal(&w->wake);
    bool started = w->started;
    pthread_mutex_unlock(&w->lock);
    if (started)
        pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
}
