/* mount_ready: decides when the mount is live -- once the mount point, listed from a thread of
 * its own while the FUSE session loop runs, shows the root directory served by seafs. Only then
 * are the waiting parent (background start) and systemd (READY=1) told, so that whoever comes
 * next finds the libraries at once. When the listing fails the session is ended (SIGTERM to the
 * thread running the loop, whose fuse signal handlers stop it) so that the start fails. */
#ifndef SEAFS_FS_MOUNT_READY_H
#define SEAFS_FS_MOUNT_READY_H

struct mount_ready;

/* Starts listing mountpoint (canonical path, copied). On success ready(ctx) is called from the
 * listing thread. The calling thread must be the one that runs the session loop, with fuse's
 * signal handlers installed until mount_ready_finish. NULL when the thread cannot start. */
struct mount_ready *mount_ready_start(const char *mountpoint, void (*ready)(void *ctx), void *ctx);

/* The session loop has returned: a failed listing sends no signal any more. */
void mount_ready_session_over(struct mount_ready *w);

/* Waits for the listing thread and frees w. -errno when a failed listing ended the session, else
 * 0 (the mount answered, or the session ended before it did). If the loop may have ended before
 * the mount answered, call it after fuse_session_destroy: that is when a listing left
 * unanswered fails. */
int mount_ready_finish(struct mount_ready *w);

#endif
