/* meta_db: where the cache keeps its metadata objects (commits, fs objects, block maps): rows of
 * one sqlite3 database (<cache>/meta.db) instead of a file each, so that the thousands of small
 * objects of a library cost a transaction per batch rather than a create, write and rename per
 * object. Blocks stay files (store.h).
 *
 * A row holds the object's bytes lz4-compressed (or raw when that is not smaller), their plain
 * length and a CRC-32C of the plain bytes, which every read checks: a damaged row is reported,
 * never served. The pinned flag (data that exists nowhere else) lives in the row, so a pin is as
 * durable as the object. WAL with synchronous=NORMAL: a crash of the process (kill -9 included)
 * loses no committed transaction and never leaves a partial one; a power cut may lose the last
 * transactions unless the file system was synced (cache_flush), never the database's integrity.
 * Deleted rows give their pages back to the file (incremental auto-vacuum).
 *
 * Thread-safe: writes share one connection under a lock; reads use a small pool of their own
 * connections, so they never wait for a write transaction. */
#ifndef SEAFS_META_DB_H
#define SEAFS_META_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"
#include "seaf_ids.h"

struct meta_db;

/* Bytes a row is accounted on disk beyond its stored data (key, columns, b-tree cell). */
#define META_DB_ROW_OVERHEAD 96

/* One object to store. */
struct meta_db_object {
    int kind;
    const char *id;
    const void *data;
    size_t len;
    bool pinned;
    uint64_t stored_size; /* out: the bytes it is accounted on disk (0 when not stored) */
};

/* One object to delete. */
struct meta_db_key {
    int kind;
    char id[SEAF_ID_LEN + 1];
};

/* Opens (creating if needed) the database at path; with sync_writes every transaction is synced
 * to disk before it returns (sqlite's synchronous=FULL). SEAF_ERR_MALFORMED when the file is not a
 * usable metadata database (corrupt, foreign, other schema version): the caller should delete it
 * (index_db_delete_files) and open again. SEAF_ERR_IO, SEAF_ERR_NOMEM. */
seaf_err meta_db_open(const char *path, bool sync_writes, struct meta_db **out);
/* Closes every connection. NULL is allowed. */
void meta_db_close(struct meta_db *db);

/* The bytes an object of len plain bytes would be accounted after compression -- an upper bound
 * of what meta_db_put reports, to reserve room before the write. */
uint64_t meta_db_size_bound(size_t len);
/* Stores n objects (replacing rows of the same key) in one transaction: all or none.
 * SEAF_ERR_NOSPACE when the disk is full, SEAF_ERR_IO, SEAF_ERR_NOMEM. */
seaf_err meta_db_put(struct meta_db *db, struct meta_db_object *objs, size_t n);
/* Reads and checks an object: *data (malloc'd, NUL-terminated, *len excludes the NUL).
 * SEAF_ERR_NOT_FOUND; SEAF_ERR_ID_MISMATCH when the row is damaged (it fails its length or
 * checksum, or does not decode); SEAF_ERR_IO, SEAF_ERR_NOMEM. */
seaf_err meta_db_get(struct meta_db *db, int kind, const char *id, char **data, size_t *len);
/* Deletes the rows of n keys (missing ones are not an error) in one transaction. */
seaf_err meta_db_delete(struct meta_db *db, const struct meta_db_key *keys, size_t n);
/* Sets the pinned flag of a row, durably against a crash of the process. SEAF_ERR_NOT_FOUND
 * when there is no such row. */
seaf_err meta_db_set_pinned(struct meta_db *db, int kind, const char *id, bool pinned);

/* Called for each row by meta_db_scan; returning non-zero stops the scan. stored_at is the
 * time (seconds) the row was written. */
typedef int (*meta_db_row_fn)(int kind, const char *id, uint64_t stored_size, bool pinned,
                              int64_t stored_at, void *ctx);
/* Calls fn for every row (without reading the data). SEAF_ERR_MALFORMED if the table cannot be
 * read. Rows with a malformed key or a kind that is not metadata are deleted. */
seaf_err meta_db_scan(struct meta_db *db, meta_db_row_fn fn, void *ctx);

#endif
