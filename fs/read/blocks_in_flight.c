/* blocks_in_flight: a fixed array of slots searched linearly under one mutex (a handful of
 * downloads run at a time); a slot is free when its id is empty. */
#include "blocks_in_flight.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "seaf_ids.h"

struct slot {
    char id[SEAF_ID_LEN + 1];
    struct timespec started; /* CLOCK_MONOTONIC */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot slots[BLOCKS_IN_FLIGHT_MAX]; /* protected by lock */

/* The slot holding id ("" finds a free one), or NULL; the lock is held. */
static struct slot *find_locked(const char *id)
{
    for (size_t i = 0; i < BLOCKS_IN_FLIGHT_MAX; i++)
        if (strcmp(slots[i].id, id) == 0)
            return &slots[i];
    return NULL;
}

void blocks_in_flight_begin(const char *block_id)
{
    if (strlen(block_id) != SEAF_ID_LEN)
        return;
    pthread_mutex_lock(&lock);
    struct slot *slot = find_locked(block_id);
    if (!slot)
        slot = find_locked("");
    if (slot) {
        memcpy(slot->id, block_id, SEAF_ID_LEN + 1);
        clock_gettime(CLOCK_MONOTONIC, &slot->started);
    }
    pthread_mutex_unlock(&lock);
}

void blocks_in_flight_end(const char *block_id)
{
    if (strlen(block_id) != SEAF_ID_LEN)
        return;
    pthread_mutex_lock(&lock);
    struct slot *slot = find_locked(block_id);
    if (slot)
        slot->id[0] = '\0';
    pthread_mutex_unlock(&lock);
}

bool blocks_in_flight_find(const char *block_id, double *elapsed_s)
{
    if (strlen(block_id) != SEAF_ID_LEN)
        return false;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    pthread_mutex_lock(&lock);
    struct slot *slot = find_locked(block_id);
    if (slot)
        *elapsed_s = (double)(now.tv_sec - slot->started.tv_sec) +
                     (double)(now.tv_nsec - slot->started.tv_nsec) / 1e9;
    pthread_mutex_unlock(&lock);
    return slot != NULL;
}
