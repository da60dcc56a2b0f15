/* kernel_readahead: asks the kernel to read ahead more than its FUSE default of 128 KiB on the
 * mount (sysfs bdi read_ahead_kb; needs root, silently skipped otherwise). */
#ifndef SEAFS_FS_KERNEL_READAHEAD_H
#define SEAFS_FS_KERNEL_READAHEAD_H

#include <stdint.h>

/* Sets the window of the mount at mountpoint (canonical: resolving it here could ask this very
 * daemon) to readahead bytes (128 KiB .. 1 MiB); nothing when readahead is 0. Call after the FUSE
 * INIT exchange (from any request handler). */
void kernel_readahead_widen(const char *mountpoint, uint64_t readahead);

#endif
