/* seaf_clock: CLOCK_MONOTONIC in the units callers count in. */
#include "seaf_clock.h"

#include <time.h>

int64_t seaf_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t seaf_monotonic_ms(void)
{
    return seaf_monotonic_ns() / 1000000;
}

int64_t seaf_monotonic_s(void)
{
    return seaf_monotonic_ns() / 1000000000;
}
