/* sync: `seafs sync` on the daemon side -- waits until the changes that a library (or every
 * library) had when the request came are committed on the server (uploader_wait: a library
 * waiting out the back-off after an error is tried at once), then says what was done or what
 * is stuck.
 *
 * The reply's "sync" object: {mountpoint, now (seconds since the epoch), waited_s (seconds the
 *   wait took), timeout_s (0: none),
 *   libraries: [status entries (status.h: path, name, id, pending, upload, last_commit, error,
 *   retry_at, ...) as they are after the wait, of the libraries that had changes waiting when
 *   the request came and, after a failure, of those with changes still waiting or an error;
 *   each with "synced": {files, bytes}, the pending counts when the request came]}. */
#ifndef SEAFS_FS_SYNC_H
#define SEAFS_FS_SYNC_H

#include <jansson.h>
#include <stddef.h>

#include "seafs.h"

/* Syncs fs mounted at mountpoint (canonical path, for the report). library: NULL for every library,
 * else a folder name, server name or id (unlock.h). 0, or -errno with the reason in msg: -ENOENT
 * unknown library, -ETIMEDOUT after timeout_s seconds (0: no limit), -EDQUOT, -EACCES, -EIO, ... an
 * upload failed since the call, -ESHUTDOWN the mount is stopping. *details: the "sync" object (a
 * new reference, NULL when the library is unknown or out of memory). */
int sync_wait(struct seafs *fs, const char *mountpoint, const char *library, unsigned timeout_s,
              char *msg, size_t msg_size, json_t **details);

#endif
