/* handle: what an open file of the mount holds -- the server version it opened (read/file.h)
 * or, for a file being changed locally, its staged file (write/dirty.h) -- and the read, write,
 * flush, fsync and release of open files dispatched to the one it holds. A handle opened on a
 * server version switches to the staged file as soon as the file is changed through another
 * handle, so every descriptor reads what was written. Functions return 0 / counts or -errno. */
#ifndef SEAFS_FS_HANDLE_H
#define SEAFS_FS_HANDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "seafs.h"

struct open_handle;
struct dirty_file;

/* Opens ino with open(2) flags. May block on the network (a version's file object). */
int handle_open(struct seafs *fs, uint64_t ino, int flags, struct open_handle **out);
/* Creates name in parent and opens it for writing: *ino (one lookup added) and attributes. */
int handle_create(struct seafs *fs, uint64_t parent, const char *name, mode_t mode, uint64_t *ino,
                  struct stat *st, struct open_handle **out);
ssize_t handle_read(struct seafs *fs, struct open_handle *h, char *buf, size_t size, uint64_t off);
ssize_t handle_write(struct seafs *fs, struct open_handle *h, const char *buf, size_t size,
                     uint64_t off);
/* At close(): what was written is saved in the journal (survives the daemon being killed). */
int handle_flush(struct seafs *fs, struct open_handle *h);
/* fsync: also survives a power cut. */
int handle_fsync(struct seafs *fs, struct open_handle *h);
/* The staged file the handle writes to (NULL for a read-only handle on a server version). */
struct dirty_file *handle_dirty(struct open_handle *h);
/* Whether the handle was opened for writing. */
bool handle_is_writer(const struct open_handle *h);
/* Closes the handle. NULL is a no-op. */
void handle_release(struct seafs *fs, struct open_handle *h);
/* Attaches staged file d of inode ino to the handles reading ino (each takes a reference): from
 * now on they read it, and an unlinked file's staged content lives as long as they are open.
 * Called whenever a file is staged for a change. */
void handle_attach_readers(struct seafs *fs, uint64_t ino, struct dirty_file *d);
/* After the FUSE session ended: keeps in the cache what the handles still open learned while
 * reading (plaintext lengths of encrypted files, file_keep_learned) -- the kernel may drop the
 * release of a file closed just before the unmount. The handles stay open. */
void handle_keep_learned(void);

#endif
