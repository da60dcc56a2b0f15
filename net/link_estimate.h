/* link_estimate: what the link to the server is like -- its round-trip time and its bandwidth --
 * measured from the transfers the HTTP pool makes anyway (no probe traffic), and the time a
 * transfer of n bytes is predicted to take on it. Used to decide whether a small read is better
 * served by a byte range than by its whole block (fs/read/range_read.h). Thread-safe. */
#ifndef SEAFS_LINK_ESTIMATE_H
#define SEAFS_LINK_ESTIMATE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Round-trip samples kept; the estimate is their minimum (a server that is slow to answer one
 * request does not make the link look far). */
#define LINK_RTT_WINDOW 16
/* Bodies at least this large give a bandwidth sample (smaller ones are all latency). */
#define LINK_MIN_BANDWIDTH_SAMPLE (64u * 1024)
/* Until a bandwidth sample exists, the link is assumed to move this much per round trip (a few
 * TCP windows): a far link counts as slow, a near one as fast. */
#define LINK_GUESS_BYTES_PER_RTT (256u * 1024)

struct link_estimate {
    pthread_mutex_t lock;
    double rtt_s[LINK_RTT_WINDOW]; /* the last samples (ring), seconds */
    unsigned rtt_count;            /* samples taken (the ring holds the last LINK_RTT_WINDOW) */
    double bytes_per_s;            /* moving average of the bandwidth samples; 0 = none yet */
    unsigned bandwidth_count;
};

/* What the estimate says now. */
struct link_figures {
    double rtt_s;       /* 0 when unknown */
    double bytes_per_s; /* measured, or the guess from the round trip; 0 when both unknown */
    bool bandwidth_measured;
};

void link_estimate_init(struct link_estimate *e);
void link_estimate_destroy(struct link_estimate *e);
/* Records one answered request: wait_s from the end of sending it to the first byte of the
 * answer (a round trip plus the server's time), and its body of body_bytes, received over
 * body_s seconds after that first byte. */
void link_estimate_add(struct link_estimate *e, double wait_s, uint64_t body_bytes, double body_s);
void link_estimate_get(struct link_estimate *e, struct link_figures *out);

/* Seconds a request for bytes bytes is predicted to take: round_trips round trips, then the
 * bytes at the link's bandwidth. A link with no figures at all yet predicts 0 (unknown). */
double link_predict_s(const struct link_figures *f, unsigned round_trips, uint64_t bytes);

#endif
