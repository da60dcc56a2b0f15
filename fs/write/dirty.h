/* dirty: staged files -- the content of files being changed locally, before it is folded into
 * blocks for upload.
 *
 * A staged file's content is layered: the bytes written locally (extents, kept in a sparse
 * staging file of the cache directory at their own offsets), then the first base_limit bytes of
 * its base (the server version it started from, read through the normal read path: only the
 * blocks a read touches are fetched), then zeros up to its size. Writing never needs the network
 * and never downloads the file; truncating only moves base_limit and size.
 *
 * The journal holds each staged file's extents, size and base; the data reaches it by
 * dirty_persist (at close, fsync and before an upload), so what was closed or fsynced survives a
 * crash of the daemon. In memory a staged file exists while something uses it (handles, the
 * uploader), found by id in the set. Thread-safe: reads and writes of one file run in parallel;
 * truncate and fold exclude them. Functions return 0 / byte counts or -errno. */
#ifndef SEAFS_FS_DIRTY_H
#define SEAFS_FS_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "seaf_ids.h"

struct seafs;
struct dirty_set;
struct dirty_file;

/* The staged files of the mount fs (its cache, overlay and read path). */
int dirty_set_new(struct seafs *fs, struct dirty_set **out);
/* Frees the set; every file must have been put back (dirty_put). NULL is a no-op. */
void dirty_set_free(struct dirty_set *set);

/* A new staged file of library repo whose content starts as the first keep bytes of base (file
 * object id, base_size bytes; SEAF_EMPTY_ID and 0 for none); prev is what the uploader sends for
 * it until it is folded ("" for nothing). For an encrypted library (encrypted) its staging data
 * is encrypted with a key from the library's (-EACCES when it is locked). Stored in the journal:
 * the overlay lock must be held (the caller makes the entry pointing to it in the same
 * transaction). One reference for the caller. */
int dirty_create_locked(struct dirty_set *set, const char *repo, bool encrypted, const char *base,
                        uint64_t base_size, uint64_t keep, const char *prev, int64_t mtime,
                        struct dirty_file **out);
/* Staged file id, loaded from the journal when it is not in memory; one reference for the
 * caller. -ENOENT when the journal has no such file, -EACCES when it belongs to a locked
 * encrypted library. Takes the overlay lock. */
int dirty_get(struct dirty_set *set, uint64_t id, struct dirty_file **out);
/* Drops a reference; with the last one, unsaved changes are persisted and the memory freed.
 * Takes the overlay lock when persisting. NULL is a no-op. */
void dirty_put(struct dirty_set *set, struct dirty_file *d);

uint64_t dirty_id(const struct dirty_file *d);
/* The library the staged file belongs to. */
const char *dirty_repo(const struct dirty_file *d);
/* Size and mtime (seconds) of the content now. */
void dirty_attr(struct dirty_file *d, uint64_t *size, int64_t *mtime);
/* Live attributes of staged file id when it is in memory; false otherwise (the journal's entry
 * then has them). Callable with the overlay lock held. */
bool dirty_attr_of(struct dirty_set *set, uint64_t id, uint64_t *size, int64_t *mtime);
void dirty_set_mtime(struct dirty_file *d, int64_t mtime);

/* Reads up to size bytes at off: the count (short only at the end) or -errno (-EIO when a base
 * block cannot be had). May block on the network (base blocks not cached). */
ssize_t dirty_read(struct dirty_set *set, struct dirty_file *d, char *buf, size_t size,
                   uint64_t off);
/* Writes size bytes at off (growing the file; a gap reads as zeros): the count or -errno
 * (-ENOSPC when the disk is full, -EFBIG past the largest Seafile file). Never blocks on the
 * network. */
ssize_t dirty_write(struct dirty_set *set, struct dirty_file *d, const char *buf, size_t size,
                    uint64_t off);
/* Sets the size: shrinking drops the bytes past it, growing adds zeros. */
int dirty_truncate(struct dirty_set *set, struct dirty_file *d, uint64_t size);

/* When (monotonic ms) the content started to differ from its last fold; 0 when it does not. */
int64_t dirty_changed_since(struct dirty_file *d);
/* Counts a writer: a handle open for writing, or a change by path in progress (setattr). The
 * uploader leaves files with writers alone until they are closed or fsynced, or were written for
 * longer than upload_max_delay, and never settles them (dirty_settle_locked). -ESTALE when an
 * upload settled the file before the writer came: its content is the server's now, and the
 * caller stages the file afresh (the inode no longer names this staged file). */
int dirty_writer_begin(struct dirty_set *set, struct dirty_file *d);
void dirty_writer_end(struct dirty_file *d);
/* Whether staged file id has a handle open for writing. */
bool dirty_is_open_for_writing(struct dirty_set *set, uint64_t id);

/* Saves the extents, size and mtime to the journal (and the size and mtime into the entry naming
 * it); with sync, the staging data is fdatasynced first and the journal synced after, so the
 * content survives a power cut. Takes the overlay lock. */
int dirty_persist(struct dirty_set *set, struct dirty_file *d, bool sync);

/* Empties d's staging file when nothing in it is needed any more: no extents, and the journal
 * says so durably (the caller synced it after persisting the fold). */
void dirty_drop_staging(struct dirty_set *set, struct dirty_file *d);
/* Deletes staged file id (journal row and staging data) -- when no entry names it any more. If it
 * is in memory, the deletion happens when its last reference goes. Overlay lock held. */
int dirty_discard_locked(struct dirty_set *set, uint64_t id);
/* Once an upload put staged file id's content (file object content, as the journal has it) on
 * the server: its inodes hold content from now on, and it is deleted as dirty_discard_locked
 * does -- unless a writer holds it or it has changes the journal does not have yet: false then,
 * and nothing is done (the change would be lost with it). A settled file is not handed out again
 * (dirty_get: -ENOENT). Overlay lock held. */
bool dirty_settle_locked(struct dirty_set *set, uint64_t id, const char *content);

#endif
