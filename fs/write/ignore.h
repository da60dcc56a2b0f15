/* ignore: names that stay local -- the temporary files Seafile's own clients never upload
 * (protocol doc §8): `*~`, `*.sbak`, `#*#`, `Thumbs.db`, `.DS_Store`, `._*`, `.fuse_hidden*`,
 * and office lock/temporary files `~$*`, `*.tmp`, `.~lock*#`, `.~*`. Such files work normally in
 * the mount; they are just never sent (unless the mount was made with -o no_ignore). */
#ifndef SEAFS_FS_IGNORE_H
#define SEAFS_FS_IGNORE_H

#include <stdbool.h>

/* Whether a file or directory called name is never uploaded. */
bool ignore_name(const char *name);

#endif
