/* file: open files. Opening resolves the file's object once -- its block list and the offset of
 * every block -- and the handle keeps it, so a file open for reading keeps reading the version
 * it was opened at even when the library changes meanwhile. Reads fetch only the blocks they
 * touch and queue read-ahead when reading is sequential. */
#ifndef SEAFS_FS_FILE_H
#define SEAFS_FS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "seafs.h"

struct open_file;

/* Opens ino for reading (flags as in open(2)): 0 and *out, or -errno: -EISDIR, -EROFS/-EACCES
 * for write access, -EACCES for encrypted libraries, -EIO when the file's object or block map
 * cannot be had. May block on the network. */
int file_open(struct seafs *fs, uint64_t ino, int flags, struct open_file **out);
/* Opens one version of a file -- object file_id (SEAF_EMPTY_ID for an empty file) of size bytes
 * in library repo_id -- for reading, as file_open does for an inode. path is for log messages.
 * -EACCES for a locked encrypted library, -EIO, -ENOMEM. May block on the network. */
int file_open_version(struct seafs *fs, const char *repo_id, const char *file_id, uint64_t size,
                      const char *path, struct open_file **out);
/* Reads up to size bytes at off into buf: the byte count (short only at the end of the file) or
 * -errno. Thread-safe on one handle. -ECANCELED: a request of the kernel's read-ahead held behind
 * the range before it was dropped, the reader having closed the file meanwhile (range_hold.h);
 * the caller answers it with an error and takes those pages out of the kernel's cache. */
ssize_t file_read(struct seafs *fs, struct open_file *h, char *buf, size_t size, uint64_t off);
/* A descriptor of the file was closed (FUSE flush). NULL is a no-op. */
void file_flushed(struct open_file *h);
/* file_read without read-ahead, for a reader that knows all it will need (the upload's fold
 * reads exactly the blocks it re-chunks). */
ssize_t file_read_exact(struct seafs *fs, struct open_file *h, char *buf, size_t size,
                        uint64_t off);
/* Closes the handle. NULL is a no-op. */
void file_close(struct open_file *h);
/* Keeps what reads through h learned and the cache lacks (the plaintext lengths of an encrypted
 * file's blocks) in the cache now; file_close and, in batches, reads do it too. NULL: no-op. */
void file_keep_learned(struct open_file *h);

/* The blocks of the version h holds (none for an empty file): their ids, and their plaintext
 * offsets (n + 1 of them, malloc'd) -- for an encrypted file this learns every block's length,
 * which may download blocks. */
size_t file_block_count(const struct open_file *h);
const char *file_block_id(const struct open_file *h, size_t i);
int file_block_offsets(struct seafs *fs, struct open_file *h, uint64_t **out);

/* Keeps the stored sizes of file object file_id's n blocks in the cache, so that opening it needs
 * no block-map request (also offline). pinned: for a file object made here and not uploaded yet,
 * whose block map only this cache has (the server answers 404 until the upload). 0 or -errno. */
int file_keep_block_map(struct seafs *fs, const char *file_id, const int64_t *sizes, size_t n,
                        bool pinned);

/* Whether every block of the file info stands for is in the cache (no network needed for the
 * answer except fetching the file object when it is not cached). */
int file_is_cached(struct seafs *fs, const struct inode_info *info, bool *cached);

/* Runs one read-ahead job (a prefetch_fn; ctx is the struct seafs). */
void file_prefetch(void *ctx, enum prefetch_kind kind, const char *repo_id, const char *id);

#endif
