/* changes: the write-class filesystem operations -- create, mkdir, unlink, rmdir, rename, setattr
 * and opening a file for writing -- as changes to the overlay (overlay.h) and staged files
 * (dirty.h), recorded in the journal in one transaction each, and reflected in the inode table at
 * once. Nothing here touches the network except resolving names the kernel has not looked up
 * yet. Inodes and names are as FUSE gives them. Functions return 0 or -errno:
 *  -EROFS  the mount is read-only (-o ro) or the place is the mount point / a category folder
 *  -EACCES a read-only library, or a locked encrypted one
 *  -EXDEV  a rename between libraries
 *  -ENAMETOOLONG / -EINVAL  a name Seafile cannot store (256 bytes or more / not UTF-8, "/")
 *  -EEXIST, -ENOENT, -ENOTDIR, -EISDIR, -ENOTEMPTY as POSIX says. */
#ifndef SEAFS_FS_CHANGES_H
#define SEAFS_FS_CHANGES_H

#include <stdint.h>
#include <sys/stat.h>

#include "dirty.h"
#include "seafs.h"

/* 0 when ino (a file or directory inside a library) may be changed, else -EROFS / -EACCES. */
int changes_writable(struct seafs *fs, uint64_t ino);

/* Creates file name in parent, empty, and opens it: *ino (one lookup added), its attributes,
 * and the staged file (a reference for the handle, counted as a writer). */
int changes_create(struct seafs *fs, uint64_t parent, const char *name, mode_t mode, uint64_t *ino,
                   struct stat *st, struct dirty_file **out);
/* Makes directory name in parent: *ino (one lookup added) and its attributes. */
int changes_mkdir(struct seafs *fs, uint64_t parent, const char *name, uint64_t *ino,
                  struct stat *st);
int changes_unlink(struct seafs *fs, uint64_t parent, const char *name);
int changes_rmdir(struct seafs *fs, uint64_t parent, const char *name);
/* flags: 0 or RENAME_NOREPLACE (RENAME_EXCHANGE and others: -EINVAL). */
int changes_rename(struct seafs *fs, uint64_t parent, const char *name, uint64_t new_parent,
                   const char *new_name, unsigned flags);

/* Opens file ino for writing (with truncate: emptied first): the staged file holding its
 * content from now on, made from the current version when it has none (no data is copied or
 * downloaded). A reference for the caller, counted as a writer. */
int changes_open_for_writing(struct seafs *fs, uint64_t ino, bool truncate,
                             struct dirty_file **out);

/* setattr: size (truncate), mtime, the owner-execute bit of files (Seafile's only permission
 * bit); owner, group, other mode bits and atime are accepted and not kept. open is the staged
 * file of the handle the call came through, or NULL. *st receives the new attributes. */
int changes_setattr(struct seafs *fs, uint64_t ino, const struct stat *attr, int to_set,
                    struct dirty_file *open, struct stat *st);

#endif
