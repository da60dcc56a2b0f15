/* stale_mount: a seafs mount left behind by a daemon that died (killed or crashed: the kernel
 * answers ENOTCONN at its mount point) is taken away before seafs mounts there again, so that a
 * restart -- systemd's Restart=on-failure, or mounting again by hand -- finds the directory
 * usable. Only a fuse.seafs mount of the caller's own (any, for root) that no longer answers is
 * touched; a live one is left alone. */
#ifndef SEAFS_FS_STALE_MOUNT_H
#define SEAFS_FS_STALE_MOUNT_H

/* Detaches the dead seafs mount at mountpoint, if there is one (logged). 0 when there was none
 * or it is gone now, else -errno. */
int stale_mount_clear(const char *mountpoint);

#endif
