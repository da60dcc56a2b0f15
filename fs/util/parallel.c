/* parallel: a shared counter hands out iterations; helper threads are made per call (uploads
 * are long next to a thread start) and joined before it returns. */
#include "parallel.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct loop {
    size_t n;
    atomic_size_t next;
    atomic_int failed;
    int (*fn)(void *ctx, size_t i);
    void *ctx;
};

static void *run(void *arg)
{
    struct loop *l = arg;
    for (;;) {
        if (atomic_load(&l->failed))
            break;
        size_t i = atomic_fetch_add(&l->next, 1);
        if (i >= l->n)
            break;
        int rc = l->fn(l->ctx, i);
        if (rc) {
            int expected = 0;
            atomic_compare_exchange_strong(&l->failed, &expected, rc);
        }
    }
    return NULL;
}

int parallel_for(size_t n, unsigned threads, int (*fn)(void *ctx, size_t i), void *ctx)
{
    struct loop l = {.n = n, .fn = fn, .ctx = ctx};
    atomic_init(&l.next, 0);
    atomic_init(&l.failed, 0);
    if (threads > n)
        threads = (unsigned)n;
    pthread_t helpers[64];
    unsigned started = 0;
    for (unsigned t = 1; t < threads && t < 64; t++)
        if (pthread_create(&helpers[started], NULL, run, &l) == 0)
            started++;
    run(&l);
    for (unsigned t = 0; t < started; t++)
        pthread_join(helpers[t], NULL);
    return atomic_load(&l.failed);
}
