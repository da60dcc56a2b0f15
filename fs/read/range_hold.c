/* range_hold: ranges of an open file on their way and requests held behind them (see the
 * header): a mutex, a condition variable on the monotonic clock, a few slots. */
#include "range_hold.h"

#include <string.h>
#include <time.h>

void range_hold_init(struct range_hold *rh)
{
    memset(rh, 0, sizeof(*rh));
    pthread_mutex_init(&rh->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&rh->changed, &attr);
    pthread_condattr_destroy(&attr);
}

void range_hold_release(struct range_hold *rh)
{
    pthread_cond_destroy(&rh->changed);
    pthread_mutex_destroy(&rh->lock);
}

int range_hold_predecessor(const struct range_flight *flights, size_t n, uint64_t start,
                           uint64_t end)
{
    for (size_t i = 0; i < n; i++) {
        const struct range_flight *f = &flights[i];
        if (f->end && f->start < start && f->end >= start && f->end < end)
            return (int)i;
    }
    return -1;
}

double range_hold_grace_s(const struct link_figures *link)
{
    double grace = link->rtt_s / 2;
    if (grace < RANGE_HOLD_GRACE_MIN_S)
        return RANGE_HOLD_GRACE_MIN_S;
    return grace > RANGE_HOLD_GRACE_MAX_S ? RANGE_HOLD_GRACE_MAX_S : grace;
}

int range_hold_begin(struct range_hold *rh, uint64_t start, uint64_t end)
{
    int slot = -1;
    pthread_mutex_lock(&rh->lock);
    for (int i = 0; i < RANGE_FLIGHTS && slot < 0; i++) {
        if (!rh->flights[i].end) {
            rh->flights[i] = (struct range_flight){.start = start, .end = end};
            slot = i;
        }
    }
    pthread_mutex_unlock(&rh->lock);
    return slot;
}

void range_hold_done(struct range_hold *rh, int slot)
{
    if (slot < 0)
        return;
    pthread_mutex_lock(&rh->lock);
    rh->flights[slot] = (struct range_flight){0};
    pthread_cond_broadcast(&rh->changed);
    pthread_mutex_unlock(&rh->lock);
}

/* now + seconds on the monotonic clock. */
static struct timespec after_s(double seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long ns = t.tv_nsec + (long long)(seconds * 1e9);
    t.tv_sec += (time_t)(ns / 1000000000LL);
    t.tv_nsec = (long)(ns % 1000000000LL);
    return t;
}

/* The index of the range slot follows, or -1. The lock is held. */
static int predecessor_locked(const struct range_hold *rh, int slot)
{
    const struct range_flight *me = &rh->flights[slot];
    return range_hold_predecessor(rh->flights, RANGE_FLIGHTS, me->start, me->end);
}

enum range_hold_outcome range_hold_wait(struct range_hold *rh, int slot,
                                        const struct link_figures *link)
{
    if (slot < 0)
        return RANGE_HOLD_GO;
    pthread_mutex_lock(&rh->lock);
    int before = rh->reading_on ? -1 : predecessor_locked(rh, slot);
    uint64_t flushes = rh->flushes;
    if (before >= 0) {
        const struct range_flight *f = &rh->flights[before];
        struct timespec limit =
            after_s(2 * link_predict_s(link, 1, f->end - f->start) + RANGE_HOLD_SLACK_S);
        while (predecessor_locked(rh, slot) >= 0 && rh->flushes == flushes &&
               pthread_cond_timedwait(&rh->changed, &rh->lock, &limit) == 0) {
        }
        struct timespec grace = after_s(range_hold_grace_s(link));
        while (rh->flushes == flushes &&
               pthread_cond_timedwait(&rh->changed, &rh->lock, &grace) == 0) {
        }
    }
    bool dropped = rh->flushes != flushes;
    if (before >= 0 && !dropped)
        rh->reading_on = true;
    pthread_mutex_unlock(&rh->lock);
    return dropped ? RANGE_HOLD_DROP : RANGE_HOLD_GO;
}

void range_hold_disable(struct range_hold *rh)
{
    pthread_mutex_lock(&rh->lock);
    rh->reading_on = true;
    pthread_mutex_unlock(&rh->lock);
}

void range_hold_flushed(struct range_hold *rh)
{
    pthread_mutex_lock(&rh->lock);
    rh->flushes++;
    pthread_cond_broadcast(&rh->changed);
    pthread_mutex_unlock(&rh->lock);
}
