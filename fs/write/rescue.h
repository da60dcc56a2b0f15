/* rescue: saving the unsent changes of a library that is gone from the server into a recovery
 * folder (see rescue.c). */
#ifndef SEAFS_FS_RESCUE_H
#define SEAFS_FS_RESCUE_H

#include <stddef.h>

struct seafs;

/* Copies every changed file of library repo (shown as folder) into a new folder under
 * fs->recovery_dir, with a RECOVERY.txt giving why (e.g. "was deleted on the server"), then drops
 * the library's changes from the journal. 0 with the folder in dir_out, or -errno (then nothing
 * is dropped). May block on the network only for nothing: reads come from the cache. */
int rescue_library(struct seafs *fs, const char *repo, const char *folder, const char *why,
                   char *dir_out, size_t dir_size);

#endif
