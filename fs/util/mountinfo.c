/* mountinfo: finding the mount at a path in /proc/self/mountinfo -- its device, file system type
 * and the uid that mounted it -- by reading the file only, never touching the mount itself (a
 * stopped FUSE daemon would hang a stat of it). Used by the control client (is a seafs mount
 * there, and whose?) and by the kernel read-ahead widening (which device?). */
#include "mountinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape_mountinfo(char *s)
{
    char *out = s;
    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

bool mountinfo_find(const char *mountinfo, const char *path, struct mount_entry *out)
{
    FILE *f = fopen(mountinfo, "re");
    if (!f)
        return false;
    char *line = NULL;
    size_t cap = 0;
    bool found = false;
    while (getline(&line, &cap, f) > 0) {
        char *save = NULL, *fields[16];
        int n = 0;
        for (char *t = strtok_r(line, " \n", &save); t && n < 16; t = strtok_r(NULL, " \n", &save))
            fields[n++] = t;
        int dash = 6;
        while (dash < n && strcmp(fields[dash], "-") != 0)
            dash++;
        if (n < 5 || dash + 1 >= n)
            continue;
        unescape_mountinfo(fields[4]);
        if (strcmp(fields[4], path) != 0)
            continue;
        /* The last one mounted there (the one a lookup of path reaches) wins. */
        found = true;
        snprintf(out->dev, sizeof(out->dev), "%s", fields[2]);
        snprintf(out->fstype, sizeof(out->fstype), "%s", fields[dash + 1]);
        const char *uid = dash + 3 < n ? strstr(fields[dash + 3], "user_id=") : NULL;
        out->owner = uid ? (uid_t)strtoul(uid + 8, NULL, 10) : getuid();
    }
    free(line);
    fclose(f);
    return found;
}
