/* link_estimate: a windowed minimum of the round-trip samples (as TCP BBR's min_rtt: the server's
 * own processing time only ever adds to a sample) and an exponentially weighted average of the
 * bandwidth samples (recent transfers count most, one odd transfer does not swing it). */
#include "link_estimate.h"

#include <string.h>

/* Weight of a new bandwidth sample in the average. */
#define BANDWIDTH_WEIGHT 0.3
/* A body received faster than this is counted at this rate (timer resolution). */
#define MAX_BYTES_PER_S 10e9

void link_estimate_init(struct link_estimate *e)
{
    memset(e, 0, sizeof(*e));
    pthread_mutex_init(&e->lock, NULL);
}

void link_estimate_destroy(struct link_estimate *e)
{
    pthread_mutex_destroy(&e->lock);
}

void link_estimate_add(struct link_estimate *e, double wait_s, uint64_t body_bytes, double body_s)
{
    double rate = 0;
    if (body_bytes >= LINK_MIN_BANDWIDTH_SAMPLE)
        rate = body_s > body_bytes / MAX_BYTES_PER_S ? body_bytes / body_s : MAX_BYTES_PER_S;
    pthread_mutex_lock(&e->lock);
    if (wait_s >= 0)
        e->rtt_s[e->rtt_count++ % LINK_RTT_WINDOW] = wait_s;
    if (rate > 0) {
        e->bytes_per_s = e->bandwidth_count++ == 0
                             ? rate
                             : BANDWIDTH_WEIGHT * rate + (1 - BANDWIDTH_WEIGHT) * e->bytes_per_s;
    }
    pthread_mutex_unlock(&e->lock);
}

void link_estimate_get(struct link_estimate *e, struct link_figures *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&e->lock);
    unsigned n = e->rtt_count < LINK_RTT_WINDOW ? e->rtt_count : LINK_RTT_WINDOW;
    for (unsigned i = 0; i < n; i++)
        if (i == 0 || e->rtt_s[i] < out->rtt_s)
            out->rtt_s = e->rtt_s[i];
    out->bandwidth_measured = e->bandwidth_count > 0;
    out->bytes_per_s = e->bytes_per_s;
    pthread_mutex_unlock(&e->lock);
    if (!out->bandwidth_measured && out->rtt_s > 0)
        out->bytes_per_s = LINK_GUESS_BYTES_PER_RTT / out->rtt_s;
}

double link_predict_s(const struct link_figures *f, unsigned round_trips, uint64_t bytes)
{
    double transfer = f->bytes_per_s > 0 ? bytes / f->bytes_per_s : 0;
    return round_trips * f->rtt_s + transfer;
}
