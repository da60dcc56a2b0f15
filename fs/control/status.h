/* status: the status report of a running mount as JSON, for `seafs status`. Built from what
 * is in memory only (library list, key store, cache and HTTP counters, recent log messages):
 * it never makes a server request, so it answers at once also when the server is unreachable.
 *
 * Fields (all present; sizes in bytes, times in seconds since the epoch):
 *   version, pid, mountpoint, server, account, online (the last library-list request
 *   succeeded), mounted_at, now,
 *   libraries (sorted by path): [{path (relative to the mount point), name (on the server), id,
 * owner, encrypted, locked (encrypted and not unlocked), read_only, head_commit, head_time (the
 *     library's last modification time as the server reported it), head_age (now - head_time)}]
 *   cache: {used_bytes, limit_bytes, entries, hits, misses, hit_ratio (hits / (hits + misses)
 *     of cache opens, null before the first), evictions}
 *   network: {requests, retries, bytes_received (bodies downloaded), transfers_in_progress}
 *   errors: [{time, level ("error" or "warning"), message}] the last ones, oldest first. */
#ifndef SEAFS_FS_STATUS_H
#define SEAFS_FS_STATUS_H

#include <jansson.h>

#include "seafs.h"

/* The report (a new reference) of fs mounted at mountpoint (canonical path), or NULL when out
 * of memory. Takes libs_lock for reading. */
json_t *status_build(struct seafs *fs, const char *mountpoint);

#endif
