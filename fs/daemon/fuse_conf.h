/* fuse_conf: refuses allow_other and allow_root for an ordinary user before anything starts when
 * /etc/fuse.conf does not permit them. Such a user's mount is made by the setuid fusermount3,
 * which accepts these options only when fuse.conf has a line "user_allow_other"; without it
 * the mount would fail only after the login, with fusermount3's message and seafs's own. */
#ifndef SEAFS_FS_FUSE_CONF_H
#define SEAFS_FS_FUSE_CONF_H

#include <stdbool.h>
#include <stddef.h>

#define FUSE_CONF_PATH "/etc/fuse.conf"

/* Whether the fuse.conf at path has the line user_allow_other, read as fusermount3 reads it
 * ('#' starts a comment, blanks around the word are ignored). 1 yes, 0 no (also when the file
 * does not exist), -errno when it cannot be read. */
int fuse_conf_user_allow_other(const char *path);
/* The first of allow_other and allow_root in a comma-separated FUSE option list, or NULL. */
const char *fuse_conf_sharing_option(const char *fuse_opts);
/* Whether this process mounts without fusermount3: real uid 0, or CAP_SYS_ADMIN effective. */
bool fuse_conf_can_mount_directly(void);
/* 0 when a mount with fuse_opts may go ahead; -1 with a one-line reason naming conf_path in err
 * when fuse_opts asks for allow_other or allow_root, the process mounts through fusermount3
 * (can_mount_directly false) and conf_path does not have user_allow_other. A conf_path that
 * cannot be read is left to fusermount3 to judge (0). */
int fuse_conf_check(const char *fuse_opts, bool can_mount_directly, const char *conf_path,
                    char *err, size_t err_size);

#endif
