/* poll: keeps the mount current. Every poll_interval seconds it asks for the library list (which
 * carries every head commit), gives changed libraries a new generation,
 * saves the list for offline starts, and tells the kernel to drop what it cached for what
 * changed (entries, attributes, data). Also used once at start-up. */
#ifndef SEAFS_FS_POLL_H
#define SEAFS_FS_POLL_H

#include <stdbool.h>

#include "seafs.h"

/* One round: library list from the server into fs (the quota is not polled: quota.c),
 * invalidating kernel caches when fs->session is set. 0, or -errno when the server could not be
 * asked (fs unchanged; the SEAF error is in *err when err is not NULL). */
int poll_refresh(struct seafs *fs, seaf_err *err);

/* Tells the kernel to drop what it cached of library repo_id -- entries (negative ones too),
 * attributes, file data -- (after a remote change, or when the library is locked). No-op
 * before the mount. */
void poll_invalidate_library(struct seafs *fs, const char *repo_id);

/* Makes head the library's head after an upload (the commit seafs made, or the server's merge
 * of it): a new generation, so every inode of the library is resolved again; with invalidate
 * (the server merged: other changes came in) the kernel's caches of the library are dropped
 * too. A poll that was under way keeps this head (see head_epoch). */
void poll_adopt_head(struct seafs *fs, const char *repo_id, const char *head, bool invalidate);
/* Whether head is the head the mount shows library repo_id at. */
bool poll_head_shown(struct seafs *fs, const char *repo_id, const char *head);

struct poller;
/* Starts the polling thread: it polls every poll_interval seconds. NULL when poll_interval is 0
 * or the thread cannot be started. */
struct poller *poll_start(struct seafs *fs);
/* Stops and joins it. NULL is a no-op. */
void poll_stop(struct poller *poller);

#endif
