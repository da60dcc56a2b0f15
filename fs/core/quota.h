/* quota: the account's quota as statfs shows it. Seahub (/api2/account/info/, a Django request)
 * is asked only when statfs needs the figures and the last answer is older than QUOTA_TTL_S --
 * never by the idle poll, so an idle mount costs the server nothing for it. While one statfs
 * asks, others (and any statfs while offline or after a failed answer) get the last known
 * figures; before the first answer, they wait for it. */
#ifndef SEAFS_FS_QUOTA_H
#define SEAFS_FS_QUOTA_H

#include <stdbool.h>
#include <stdint.h>

#include "seafs.h"

#define QUOTA_TTL_S 60

/* The quota in bytes (*total <= 0: unlimited) and the bytes used. may_ask: the figures may be
 * asked for (false for the daemon's own statfs, which checks that the mount answers before it
 * tells anyone it is ready: that must not wait for Seahub). May block on the network (at most
 * once per QUOTA_TTL_S). */
void quota_get(struct seafs *fs, bool may_ask, int64_t *total, int64_t *used);

#endif
