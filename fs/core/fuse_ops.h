/* fuse_ops: the libfuse low-level operations of seafs -- the only code that replies to the
 * kernel. Each op decodes its arguments, calls the core (node.c, file.c) and replies once. */
#ifndef SEAFS_FS_FUSE_OPS_H
#define SEAFS_FS_FUSE_OPS_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

/* The operation table (userdata of the session is the struct seafs). */
extern const struct fuse_lowlevel_ops seafs_fuse_ops;

#endif
