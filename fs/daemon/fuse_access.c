/* fuse_access: the checks that an ordinary user can open /dev/fuse and may use allow_other /
 * allow_root, done before the login so that a refusal is one clear line (see fuse_access.h).
 * fuse.conf is parsed the way fusermount3 (libfuse util/fusermount.c) does. */
#include "fuse_access.h"

#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* line without its '#' comment and surrounding blanks (in place). */
static char *strip_line(char *line)
{
    char *hash = strchr(line, '#');
    if (hash)
        *hash = '\0';
    size_t len = strlen(line);
    while (len > 0 && isspace((unsigned char)line[len - 1]))
        line[--len] = '\0';
    while (isspace((unsigned char)*line))
        line++;
    return line;
}

int fuse_access_user_allow_other(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 0 : -errno;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f))
        found = strcmp(strip_line(line), "user_allow_other") == 0;
    int failed = ferror(f);
    fclose(f);
    return found ? 1 : failed ? -EIO : 0;
}

const char *fuse_access_sharing_option(const char *fuse_opts)
{
    static const char *const sharing[] = {"allow_other", "allow_root"};
    for (const char *opt = fuse_opts; opt && *opt;) {
        size_t len = strcspn(opt, ",");
        for (size_t i = 0; i < sizeof(sharing) / sizeof(sharing[0]); i++)
            if (len == strlen(sharing[i]) && strncmp(opt, sharing[i], len) == 0)
                return sharing[i];
        opt += len + (opt[len] == ',');
    }
    return NULL;
}

bool fuse_access_mounts_directly(void)
{
    if (getuid() == 0)
        return true;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0)
        return false;
    return (data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN)) != 0;
}

int fuse_access_check(const char *fuse_opts, bool mounts_directly, const char *device,
                      const char *conf_path, char *err, size_t err_size)
{
    if (mounts_directly)
        return 0;
    if (access(device, R_OK | W_OK) != 0) {
        int e = errno;
        if (e == ENOENT)
            snprintf(err, err_size,
                     "%s does not exist: the fuse kernel module is not loaded "
                     "(root: modprobe fuse)",
                     device);
        else
            snprintf(err, err_size,
                     "cannot open %s: %s; ordinary users need it at mode 0666 (the fuse3 "
                     "package's udev rule sets that; without udev, root runs chmod 0666 %s)",
                     device, strerror(e), device);
        return -1;
    }
    const char *option = fuse_access_sharing_option(fuse_opts);
    if (!option || fuse_access_user_allow_other(conf_path) != 0)
        return 0;
    snprintf(err, err_size,
             "%s needs the line user_allow_other in %s, which only root can add (or mount "
             "without %s)",
             option, conf_path, option);
    return -1;
}
