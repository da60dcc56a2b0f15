/* fuse_conf: the check that an ordinary user's allow_other / allow_root mount is permitted by
 * /etc/fuse.conf, done before the login so that the refusal is one clear line (see
 * fuse_conf.h). The file is parsed the way fusermount3 (libfuse util/fusermount.c) does. */
#include "fuse_conf.h"

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

int fuse_conf_user_allow_other(const char *path)
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

const char *fuse_conf_sharing_option(const char *fuse_opts)
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

bool fuse_conf_can_mount_directly(void)
{
    if (getuid() == 0)
        return true;
    struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
    if (syscall(SYS_capget, &header, data) != 0)
        return false;
    return (data[CAP_TO_INDEX(CAP_SYS_ADMIN)].effective & CAP_TO_MASK(CAP_SYS_ADMIN)) != 0;
}

int fuse_conf_check(const char *fuse_opts, bool can_mount_directly, const char *conf_path,
                    char *err, size_t err_size)
{
    const char *option = fuse_conf_sharing_option(fuse_opts);
    if (!option || can_mount_directly || fuse_conf_user_allow_other(conf_path) != 0)
        return 0;
    snprintf(err, err_size,
             "%s needs the line user_allow_other in %s, which only root can add (or mount "
             "without %s)",
             option, conf_path, option);
    return -1;
}
