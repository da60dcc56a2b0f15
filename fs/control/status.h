/* status: the status report of a running mount as JSON, for `seafs status`. Built from what
 * is in memory only (library list, key store, cache and HTTP counters, recent log messages,
 * the uploader's state) and the local journal of changes: it never makes a server request, so
 * it answers at once also when the server is unreachable.
 *
 * Fields (all present; sizes in bytes, times in seconds since the epoch, null where a value
 * is marked "or null"):
 *   version, pid, mountpoint, server, account, online (the last library-list request
 *   succeeded), mounted_at, now,
 *   libraries (sorted by path): [{
 *     path (relative to the mount point), name (on the server), id, owner, encrypted, locked
 *     (encrypted and not unlocked), read_only, head_commit, head_time (the library's last
 *     modification time as the server reported it), head_age (now - head_time),
 *     pending: {files (local changes not on the server yet, from the journal: files created,
 *       written, renamed or with new attributes, deletions, directories made or moved; a
 *       directory that only holds changes further down is not counted), bytes (content bytes
 *       of the changed files; only their changed blocks are sent)},
 *     upload: {in_progress (an upload round of the library is running), bytes_total (bytes of
 *       blocks this round sends, known once the server said which it lacks), bytes_sent,
 *       rate_bytes_per_s (of this round; 0 when none runs)},
 *     last_commit (the last commit this mount uploaded since it started, or null),
 *     last_commit_time (or null),
 *     error (why the last upload round failed, or null after a success), error_time (or null),
 *     retry_at (when the next attempt after that error starts, or null; `seafs sync` retries
 *       at once),
 *     recovery_dir (where files not yet uploaded of a library deleted on the server were
 *       saved, or null),
 *     folders_prefetch: {state ("none": the library was not opened yet, "queued", "running",
 *       "done", "failed"), head (whose folders were all fetched, or ""), folders (folder ids
 *       the server listed in the last run), fetched (of those, brought into the cache)}}]
 *   cache: {used_bytes, limit_bytes, pinned_bytes (objects kept until uploaded), staged_bytes
 *     (the staging area: contents of files being changed), entries, hits, misses, hit_ratio
 *     (hits / (hits + misses) of cache opens, null before the first), evictions}
 *   network: {requests, retries, bytes_received (bodies downloaded), transfers_in_progress}
 *   lookups: {requests (name lookups the kernel sent: the ones it could not answer from its
 *     caches), absent (of them, answered "no such name"), absent_cached (names the kernel
 *     caches as absent now, as far as the mount knows; see inode.h)}
 *   errors: [{time, level ("error" or "warning"), message}] the last ones, oldest first. */
#ifndef SEAFS_FS_STATUS_H
#define SEAFS_FS_STATUS_H

#include <jansson.h>

#include "seafs.h"

/* The report (a new reference) of fs mounted at mountpoint (canonical path), or NULL when out
 * of memory. Takes libs_lock for reading. */
json_t *status_build(struct seafs *fs, const char *mountpoint);
/* Its "libraries" array alone (a new reference), or NULL when out of memory. */
json_t *status_libraries(struct seafs *fs);

#endif
