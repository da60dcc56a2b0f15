/* mountinfo: the mount at a path as /proc/self/mountinfo lists it (device, type, owner), read
 * from the file alone so that a hung FUSE daemon cannot block the caller. */
#ifndef SEAFS_FS_MOUNTINFO_H
#define SEAFS_FS_MOUNTINFO_H

#include <stdbool.h>
#include <sys/types.h>

/* Where the kernel lists the mounts this process sees. */
#define MOUNTINFO_SELF "/proc/self/mountinfo"

/* A mount as mountinfo describes it. */
struct mount_entry {
    char dev[32];    /* "major:minor" */
    char fstype[64]; /* "fuse.seafs" for a seafs mount */
    uid_t owner;     /* FUSE's user_id= super option (the mounting uid); getuid() without it */
};

/* The last mount at path (canonical, as mountinfo spells it after unescaping) in the file
 * mountinfo (MOUNTINFO_SELF but in tests). false when nothing is mounted there or the file
 * cannot be read. */
bool mountinfo_find(const char *mountinfo, const char *path, struct mount_entry *out);

#endif
