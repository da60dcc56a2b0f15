/* fuse_access: whether this process may make the FUSE mount it is asked for, checked before
 * anything starts so that a refusal is one clear line instead of libfuse's or fusermount3's
 * message after the login. An ordinary user's mount goes through the setuid fusermount3, but
 * libfuse opens /dev/fuse first itself: the device must be readable and writable by the user
 * (mode 0666, set by the fuse3 package's udev rule on a desktop). And fusermount3 accepts
 * allow_other and allow_root only when /etc/fuse.conf has a line "user_allow_other". */
#ifndef SEAFS_FS_FUSE_ACCESS_H
#define SEAFS_FS_FUSE_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#define FUSE_DEVICE_PATH "/dev/fuse"
#define FUSE_CONF_PATH   "/etc/fuse.conf"

/* Whether the fuse.conf at path has the line user_allow_other, read as fusermount3 reads it
 * ('#' starts a comment, blanks around the word are ignored). 1 yes, 0 no (also when the file
 * does not exist), -errno when it cannot be read. */
int fuse_access_user_allow_other(const char *path);
/* The first of allow_other and allow_root in a comma-separated FUSE option list, or NULL. */
const char *fuse_access_sharing_option(const char *fuse_opts);
/* Whether this process mounts without fusermount3: real uid 0, or CAP_SYS_ADMIN effective. */
bool fuse_access_mounts_directly(void);
/* 0 when a mount with fuse_opts may go ahead; -1 with a one-line reason in err when the
 * process mounts through fusermount3 (mounts_directly false) and cannot open device for
 * reading and writing (naming the device and the fix), or fuse_opts asks for allow_other or
 * allow_root and conf_path does not have user_allow_other (naming conf_path). A conf_path that
 * cannot be read is left to fusermount3 to judge. */
int fuse_access_check(const char *fuse_opts, bool mounts_directly, const char *device,
                      const char *conf_path, char *err, size_t err_size);

#endif
