/* stale_mount: finds the mount in /proc/self/mountinfo first (reading the file never blocks),
 * then asks the mount point itself: only a mount whose FUSE connection is gone answers ENOTCONN.
 * statfs, not stat: the kernel answers stat from the attributes it still caches for a while
 * after the daemon died, while every statfs is a request.
 * root detaches it with umount2(MNT_DETACH); other users through fusermount3 -u -z, which lets
 * them unmount only their own FUSE mounts. */
#include "stale_mount.h"

#include <errno.h>
#include <limits.h>
#include <spawn.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "mountinfo.h"

extern char **environ;

/* fusermount3 -u -z path. 0 or -errno. */
static int fusermount_detach(const char *path)
{
    char *argv[] = {"fusermount3", "-u", "-z", "--", (char *)path, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "fusermount3", NULL, NULL, argv, environ);
    if (rc != 0)
        return -rc;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EPERM;
}

int stale_mount_clear(const char *mountpoint)
{
    char path[PATH_MAX];
    struct mount_entry entry;
    struct statfs st;
    if (control_mount_path(mountpoint, false, path, sizeof(path)) != 0 ||
        !mountinfo_find(MOUNTINFO_SELF, path, &entry) || strcmp(entry.fstype, "fuse.seafs") != 0 ||
        (getuid() != 0 && entry.owner != getuid()))
        return 0;
    if (statfs(path, &st) == 0 || errno != ENOTCONN)
        return 0; /* alive (or not ours to judge) */
    log_msg(LOG_WARNING, "%s is the mount of a seafs that died: unmounting it first", path);
    int rc =
        geteuid() == 0 ? (umount2(path, MNT_DETACH) == 0 ? 0 : -errno) : fusermount_detach(path);
    if (rc != 0)
        log_msg(LOG_ERR, "cannot unmount the dead mount on %s: %s", path, strerror(-rc));
    return rc;
}
