/* kernel_readahead: widening the kernel's read-ahead window of the mount (see below). */
#include "kernel_readahead.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The kernel reads ahead only 128 KiB on FUSE mounts; a larger window (set through the mount's
 * backing-device entry in sysfs, writable by root) halves the number of read requests of a
 * sequential reader. Best effort: nothing happens without permission. The device number is
 * taken from /proc/self/mountinfo -- a stat() of the mount point would wait for this very
 * daemon. It must run after the kernel processed the INIT reply, which caps the window. */
void kernel_readahead_widen(const char *mountpoint, uint64_t readahead)
{
    char real[4096];
    if (readahead == 0 || !realpath(mountpoint, real))
        return;
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return;
    char line[8192], dev[64] = "";
    while (fgets(line, sizeof(line), f)) {
        char mount_dev[64], mount_point[4096];
        if (sscanf(line, "%*s %*s %63s %*s %4095s", mount_dev, mount_point) != 2)
            continue;
        /* mountinfo escapes space, tab, newline and backslash as \ooo */
        char unescaped[4096];
        size_t n = 0;
        for (const char *p = mount_point; *p && n + 1 < sizeof(unescaped); p++) {
            if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
                unescaped[n++] = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
                p += 3;
            } else {
                unescaped[n++] = *p;
            }
        }
        unescaped[n] = '\0';
        if (strcmp(unescaped, real) == 0)
            snprintf(dev, sizeof(dev), "%s", mount_dev); /* the last (topmost) one wins */
    }
    fclose(f);
    if (!dev[0])
        return;
    char path[128];
    snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
    FILE *ra = fopen(path, "we");
    if (!ra)
        return;
    uint64_t kib = readahead / 1024 < 1024 ? readahead / 1024 : 1024;
    fprintf(ra, "%llu\n", (unsigned long long)(kib < 128 ? 128 : kib));
    if (fclose(ra) == 0)
        log_msg(LOG_DEBUG, "kernel read-ahead on %s set to %llu KiB", mountpoint,
                (unsigned long long)kib);
}
