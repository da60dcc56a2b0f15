/* store: where cached blocks live on disk, and the file operations that keep them whole.
 *
 * Layout under the cache directory: blocks/<id[0..1]>/<id> for finished blocks, tmp/ for files
 * being written, and pins/<kind>-<id>, empty files that record durably which blocks are pinned
 * (the index only mirrors them). Metadata objects are rows of meta.db (meta_db.h); caches of
 * earlier versions kept them as files too, under "commits", "fs" and "block-maps", which the
 * functions here still read for their migration (meta_migrate.h). A file only ever appears under
 * its final name by rename() of a complete temporary file, so a reader never sees a partial object
 * and a crash leaves at most stray files in tmp/. */
#ifndef SEAFS_STORE_H
#define SEAFS_STORE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "seaf_error.h"

struct store {
    char root[PATH_MAX - 64]; /* the cache directory; object paths are at most 64 bytes longer */
};

/* Creates the directory layout under root (root itself too, and the blocks directory) and fills
 * s. SEAF_ERR_INVALID_ARG if root is too long, SEAF_ERR_IO if it cannot be created. */
seaf_err store_init(struct store *s, const char *root);
/* Takes the directory's lock (flock on <root>/lock) so that only one cache uses it at a time;
 * sets *fd, which holds the lock until closed. SEAF_ERR_IO when another cache holds it. */
seaf_err store_lock(const struct store *s, int *fd);
/* Writes the final path of object (kind, id) to out (PATH_MAX bytes). */
void store_object_path(const struct store *s, int kind, const char *id, char out[PATH_MAX]);
/* Creates a new empty temporary file for (kind, id); sets *fd (read-write) and its path in
 * tmp_path (PATH_MAX bytes). */
seaf_err store_temp_create(const struct store *s, int kind, const char *id, int *fd,
                           char tmp_path[PATH_MAX]);
/* Renames the finished temporary file into the place of (kind, id), replacing any old file; with
 * sync, also fsyncs the directory so the new name survives a power cut. */
seaf_err store_publish(const struct store *s, const char *tmp_path, int kind, const char *id,
                       bool sync);
/* Opens (kind, id) read-only. SEAF_ERR_NOT_FOUND if there is no such file. */
seaf_err store_open_object(const struct store *s, int kind, const char *id, int *fd);
/* Removes the file of (kind, id); a missing file is not an error. */
seaf_err store_remove(const struct store *s, int kind, const char *id);
/* Makes everything written to the store so far durable (syncfs of its file system: one call
 * instead of an fsync per object and directory). */
seaf_err store_sync_all(const struct store *s);
/* Deletes every file in tmp/ (left over from interrupted writes). Returns how many. */
unsigned store_clear_temp(const struct store *s);

/* Creates the pin marker of (kind, id) (a hard link to object_path, the object's file, where the
 * file system has them; an empty file otherwise); durable against a power cut after
 * store_sync_all. An existing marker is kept. */
seaf_err store_pin_mark(const struct store *s, int kind, const char *id, const char *object_path);
/* The path of the pin marker of an object. */
void store_pin_path(const struct store *s, int kind, const char *id, char out[PATH_MAX]);
/* Removes the pin marker of (kind, id); a missing marker is not an error. */
seaf_err store_pin_clear(const struct store *s, int kind, const char *id);
/* Called for each pin marker by store_scan_pins. */
typedef void (*store_pin_fn)(int kind, const char *id, void *ctx);
/* Calls fn for every pin marker; markers with malformed names are deleted. */
seaf_err store_scan_pins(const struct store *s, store_pin_fn fn, void *ctx);

/* Called for each object file by store_scan; returning non-zero stops the scan. */
typedef int (*store_scan_fn)(int kind, const char *id, uint64_t file_size, time_t mtime, void *ctx);
/* Calls fn for every object file of kind in the store (none when the kind's directory does not
 * exist). Files whose names are not object ids are deleted (they can only be debris). */
seaf_err store_scan(const struct store *s, int kind, store_scan_fn fn, void *ctx);
/* Whether the directory of kind exists. */
bool store_kind_dir_exists(const struct store *s, int kind);
/* Removes the directory of kind with its fan-out directories, if they are empty. */
void store_remove_kind_dir(const struct store *s, int kind);

#endif
