/* range_hold: the byte ranges of one open file on their way, and the kernel's read-ahead
 * requests held behind them.
 *
 * A reader going through a file makes the kernel ask for growing windows (128, 256, 512 KiB):
 * when the reader reaches the first page of a window still on its way, the kernel already asks
 * for the next one. Served at once, that next window shares the link with the one the reader
 * waits for (at 10 Mbit/s a 256 KiB range then takes 0.7 s instead of 0.36), and a probe that
 * stops inside the window (ffprobe reading a video's index and first packets, then closing the
 * file) leaves the next one to download for nothing while it opens the next file. So a range
 * that follows one still on its way (it starts inside or right at the end of it) waits until
 * that one has arrived, then a short grace (RANGE_HOLD_GRACE_*): if the reader closes the file
 * meanwhile (a FUSE flush of the handle), the request is dropped -- the kernel gets an error for
 * pages nobody waits for, and those pages are taken out of its cache (fuse_ops.c), so a later
 * reader asks for them again; a reader that needs them pays the grace and one round trip, once:
 * a handle whose reader did not close the file during a hold is reading on (`cat`, a player
 * before its run of reads turns to whole blocks), and its next windows go out as soon as the
 * kernel asks for them, as before. */
#ifndef SEAFS_FS_RANGE_HOLD_H
#define SEAFS_FS_RANGE_HOLD_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link_estimate.h"

/* Ranges of one open file tracked on their way (more at once are not held behind). */
#define RANGE_FLIGHTS 4
/* After the range it follows has arrived, a held request waits this long for the reader to
 * close the file: half a round trip, within these bounds (seconds). A probe closes the file
 * within a few milliseconds of its last read's answer (ffprobe does), more on a busy machine
 * (10 ms let a third of ffprobe's windows through on 2 loaded cores). A reader that reads on
 * pays it once per open file. */
#define RANGE_HOLD_GRACE_MIN_S 0.025
#define RANGE_HOLD_GRACE_MAX_S 0.1
/* A held request never waits longer than the range before it should take, twice, plus this
 * (a range stuck on the network does not hold the next one up for long). */
#define RANGE_HOLD_SLACK_S 1.0

struct range_flight {
    uint64_t start, end; /* file offsets; end == 0: the slot is free */
};

struct range_hold {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a range arrived, or the file was flushed */
    struct range_flight flights[RANGE_FLIGHTS];
    uint64_t flushes; /* FUSE flushes of the handle so far */
    bool reading_on;  /* a held request went ahead: no more holds */
};

/* What range_hold_wait decided. */
enum range_hold_outcome {
    RANGE_HOLD_GO,   /* fetch the range now */
    RANGE_HOLD_DROP, /* the reader closed the file while the request was held: drop it */
};

void range_hold_init(struct range_hold *rh);
void range_hold_release(struct range_hold *rh);

/* The index of a range among flights (n of them) that [start, end) follows: one that starts
 * before start and reaches it; -1 when none does (pure). */
int range_hold_predecessor(const struct range_flight *flights, size_t n, uint64_t start,
                           uint64_t end);
/* The grace after the range before has arrived, on that link (pure). */
double range_hold_grace_s(const struct link_figures *link);

/* Records [start, end) as on its way; the slot to pass to range_hold_done, or -1 when all are
 * taken (then it is not tracked). */
int range_hold_begin(struct range_hold *rh, uint64_t start, uint64_t end);
/* The range in slot arrived (or failed). slot -1 is a no-op. */
void range_hold_done(struct range_hold *rh, int slot);
/* Waits while the range in slot follows another still on its way (at most that one's predicted
 * time twice plus RANGE_HOLD_SLACK_S), then, if it did, the grace: RANGE_HOLD_DROP when the
 * handle was flushed during the wait. Once a held request went ahead, returns at once. */
enum range_hold_outcome range_hold_wait(struct range_hold *rh, int slot,
                                        const struct link_figures *link);
/* No holds from now on: for a handle opened with O_DIRECT, whose reads are not the kernel's
 * read-ahead but a reader waiting (an error would reach it). */
void range_hold_disable(struct range_hold *rh);
/* The reader closed a descriptor of the file (FUSE flush). */
void range_hold_flushed(struct range_hold *rh);

#endif
