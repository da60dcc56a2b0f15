/* index_db: the sqlite3 index of cached objects (kind, id, size on disk, recency seq, pinned).
 *
 * The index lets the cache restart without opening every file and keeps the LRU order and pins
 * across restarts. It is advisory: files are the truth, and recovery reconciles the two. Only one
 * thread may use an index_db at a time (at run time: the index writer thread). */
#ifndef SEAFS_INDEX_DB_H
#define SEAFS_INDEX_DB_H

#include <stdbool.h>
#include <stdint.h>

#include "seaf_error.h"

struct index_db;

/* Opens (creating if needed) the index at path in WAL mode and checks it. SEAF_ERR_MALFORMED when
 * the file is not a usable index (corrupt, foreign, other schema version): the caller should
 * index_db_delete_files() and open again. SEAF_ERR_IO, SEAF_ERR_NOMEM. */
seaf_err index_db_open(const char *path, struct index_db **out);
/* Closes the database. NULL is allowed. */
void index_db_close(struct index_db *db);
/* Deletes the database file and its -wal and -shm companions. */
void index_db_delete_files(const char *path);

/* Called for each row by index_db_load; returning non-zero stops the load. */
typedef int (*index_db_row_fn)(int kind, const char *id, uint64_t size, uint64_t seq, bool pinned,
                               void *ctx);
/* Calls fn for every row. SEAF_ERR_MALFORMED if the table cannot be read. */
seaf_err index_db_load(struct index_db *db, index_db_row_fn fn, void *ctx);

/* Whether the last user of the index closed it cleanly (every change written, files and rows
 * in agreement). A missing flag reads as false. */
bool index_db_get_clean(struct index_db *db);
/* Records the clean flag (false at start-up, true after a complete shutdown). */
seaf_err index_db_set_clean(struct index_db *db, bool clean);

/* Transactions group puts and deletes (the writer thread commits a batch at a time). */
seaf_err index_db_begin(struct index_db *db);
seaf_err index_db_commit(struct index_db *db);
/* Inserts or replaces the row of (kind, id). */
seaf_err index_db_put(struct index_db *db, int kind, const char *id, uint64_t size, uint64_t seq,
                      bool pinned);
/* Deletes the row of (kind, id) if there is one. */
seaf_err index_db_delete(struct index_db *db, int kind, const char *id);

#endif
