/* kernel_readahead: widening the kernel's read-ahead window of the mount (see below). */
#include "kernel_readahead.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mountinfo.h"
#include "log.h"

/* The kernel reads ahead only 128 KiB on FUSE mounts; a larger window (set through the mount's
 * backing-device entry in sysfs, writable by root) halves the number of read requests of a
 * sequential reader. Best effort: nothing happens without permission. The device number is
 * taken from /proc/self/mountinfo -- a stat() of the mount point would wait for this very
 * daemon. It must run after the kernel processed the INIT reply, which caps the window. */
void kernel_readahead_widen(const char *mountpoint, uint64_t readahead)
{
    struct mount_entry mount;
    if (readahead == 0 || !mountinfo_find(MOUNTINFO_SELF, mountpoint, &mount))
        return;
    char path[128];
    snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", mount.dev);
    FILE *ra = fopen(path, "we");
    if (!ra)
        return;
    uint64_t kib = readahead / 1024 < 1024 ? readahead / 1024 : 1024;
    fprintf(ra, "%llu\n", (unsigned long long)(kib < 128 ? 128 : kib));
    if (fclose(ra) == 0)
        log_msg(LOG_DEBUG, "kernel read-ahead on %s set to %llu KiB", mountpoint,
                (unsigned long long)kib);
}
