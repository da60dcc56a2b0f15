/* seaf_clock: the monotonic clock every layer measures delays, deadlines and ages with (never the
 * wall clock, which jumps). */
#ifndef SEAFS_SEAF_CLOCK_H
#define SEAFS_SEAF_CLOCK_H

#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC. */
int64_t seaf_monotonic_ns(void);
/* Milliseconds on CLOCK_MONOTONIC. */
int64_t seaf_monotonic_ms(void);
/* Whole seconds on CLOCK_MONOTONIC. */
int64_t seaf_monotonic_s(void);

#endif
