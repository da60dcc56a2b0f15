/* uploader: sends each library's local changes to the server in the background, with Seafile's
 * sync protocol, as one commit per round (see uploader.c for the round).
 *
 * A library is due after upload_delay seconds without a new change (notified by the write path),
 * at once when someone waits for it (seafs sync, fsync with -o fsync=server), and again after a
 * failure with a growing delay. Files open for writing wait for their close or fsync, unless
 * they have been written for upload_max_delay seconds. One thread uploads one library at a time;
 * blocks go up in parallel through the connection pool. Nothing is dropped on an error: the
 * changes stay in the journal and the error is reported in the library's status. */
#ifndef SEAFS_FS_UPLOADER_H
#define SEAFS_FS_UPLOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_ids.h"

struct seafs;
struct uploader;

/* Starts the upload thread; libraries with changes in the journal (an earlier run's) are due at
 * once. NULL on failure (logged). */
struct uploader *uploader_start(struct seafs *fs);
/* Stops the thread after the round in progress (an interrupted round is finished by the next
 * start: nothing is lost either way). NULL is a no-op. */
void uploader_stop(struct uploader *u);
/* The first half of uploader_stop: the thread ends (after the round in progress) and every
 * uploader_wait returns (-ESHUTDOWN when changes remain), but u stays valid -- status and waits
 * answer at once -- until uploader_stop, so callers of uploader_wait can be joined first. */
void uploader_halt(struct uploader *u);

/* A change was made in library repo. Cheap; callable from any thread, with locks held. */
void uploader_notify(struct uploader *u, const char *repo);

/* Waits until every change made in repo (NULL: every library) before the call is committed on
 * the server. 0; -ETIMEDOUT after timeout_s seconds (0: no limit); -EIO, -EDQUOT, -EACCES, ...
 * when a library's upload failed since the call (the reason in why); -ESHUTDOWN when the
 * uploader stops first. A library waiting out the back-off after an error is tried at once. */
int uploader_wait(struct uploader *u, const char *repo, unsigned timeout_s, char *why,
                  size_t why_size);

/* What `seafs status` shows of one library's uploads. */
struct upload_status {
    bool pending;         /* changes not on the server yet */
    bool uploading;       /* a round is running */
    uint64_t round_bytes; /* bytes of blocks the running round sends */
    uint64_t round_sent;  /* ... sent so far */
    double rate;          /* bytes per second of the running round */
    char last_commit[SEAF_ID_LEN + 1];
    int64_t last_commit_time; /* seconds since the epoch; 0 = none this run */
    char error[256];          /* why the last round failed ("" after a success) */
    int64_t error_time;
    int64_t retry_at;       /* seconds since the epoch of the next attempt after an error */
    char recovery_dir[512]; /* where unsent files of a deleted library were saved ("" none) */
};
void uploader_status(struct uploader *u, const char *repo, struct upload_status *out);

/* Whether uploads are under way or due without an error -- so that waiting for them frees
 * space in a full cache (pinned and staged data become evictable once on the server). */
bool uploader_can_free_space(struct uploader *u);
/* Whether the server refused library repo's last upload for its owner's quota (443): writes
 * that grow files then fail with EDQUOT until an upload goes in again. */
bool uploader_over_quota(struct uploader *u, const char *repo);
/* Whether library repo has a round running now (for user.seafs.status). */
bool uploader_is_uploading(struct uploader *u, const char *repo);

#endif
