/* trash: the folders desktop trash implementations make at the top of a file system (the XDG
 * trash spec's $topdir/.Trash-$uid, made by GIO's g_file_trash, KDE and trash-cli with mkdir).
 * seafs refuses to make them (EPERM): GIO then reports "trash not supported" and file managers
 * offer to delete at once, and a deleted file stays recoverable from the library's history on
 * the server, instead of a trash folder being uploaded into the library. The mount point is the
 * top GIO finds (one device for all libraries), and it refuses every new folder already; this
 * covers a library or folder bind-mounted elsewhere, whose top is then inside a library. Such
 * folders that exist already (on the server) are shown and work as any other. */
#ifndef SEAFS_FS_TRASH_H
#define SEAFS_FS_TRASH_H

#include <stdbool.h>

/* Whether a new folder called name is refused: ".Trash-" and a decimal user id. */
bool trash_folder_name(const char *name);

#endif
