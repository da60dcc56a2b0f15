/* index_db: schema, checks and prepared statements of the sqlite3 object index.
 *
 * Table objects(kind, id, size, seq, pinned), keyed by (kind, id) and WITHOUT ROWID so a row is
 * one b-tree entry; table meta holds the clean-shutdown flag. user_version holds the schema
 * version; anything else in that slot means the file is not ours. WAL with synchronous=NORMAL: a
 * crash of the process loses nothing that was committed, a power cut may lose the last batches,
 * which recovery repairs from the files. */
#include "index_db.h"

#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seaf_ids.h"
#include "sqlite_util.h"

#define SCHEMA_VERSION 1

struct index_db {
    sqlite3 *db;
    sqlite3_stmt *put;
    sqlite3_stmt *del;
};

static const char schema_sql[] = "CREATE TABLE IF NOT EXISTS objects ("
                                 " kind INTEGER NOT NULL, id TEXT NOT NULL, size INTEGER NOT NULL,"
                                 " seq INTEGER NOT NULL, pinned INTEGER NOT NULL DEFAULT 0,"
                                 " PRIMARY KEY (kind, id)) WITHOUT ROWID;"
                                 "CREATE TABLE IF NOT EXISTS meta ("
                                 " key TEXT PRIMARY KEY, value INTEGER NOT NULL);";

/* Sets the pragmas, checks integrity and version, creates the schema in a new file. */
static seaf_err prepare_schema(sqlite3 *db)
{
    if (sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL, NULL) !=
        SQLITE_OK)
        return SEAF_ERR_MALFORMED;
    if (!sqlite_quick_check_ok(db))
        return SEAF_ERR_MALFORMED;
    long long version = sqlite_query_int(db, "PRAGMA user_version");
    long long tables = sqlite_query_int(db, "SELECT count(*) FROM sqlite_master");
    if (version < 0 || tables < 0)
        return SEAF_ERR_MALFORMED;
    if (version == 0 && tables == 0) {
        char sql[sizeof(schema_sql) + 64];
        snprintf(sql, sizeof(sql), "%s PRAGMA user_version=%d;", schema_sql, SCHEMA_VERSION);
        return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? SEAF_OK : SEAF_ERR_IO;
    }
    return version == SCHEMA_VERSION ? SEAF_OK : SEAF_ERR_MALFORMED;
}

seaf_err index_db_open(const char *path, struct index_db **out)
{
    *out = NULL;
    struct index_db *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return SEAF_ERR_NOMEM;
    seaf_err err = SEAF_OK;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &x->db, flags, NULL);
    if (rc == SQLITE_NOMEM)
        err = SEAF_ERR_NOMEM;
    else if (rc != SQLITE_OK)
        err = rc == SQLITE_CANTOPEN ? SEAF_ERR_IO : SEAF_ERR_MALFORMED;
    if (err == SEAF_OK) {
        sqlite3_busy_timeout(x->db, 5000);
        err = prepare_schema(x->db);
    }
    if (err == SEAF_OK &&
        (sqlite3_prepare_v2(x->db,
                            "INSERT OR REPLACE INTO objects(kind, id, size, seq, pinned)"
                            " VALUES (?, ?, ?, ?, ?)",
                            -1, &x->put, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(x->db, "DELETE FROM objects WHERE kind = ? AND id = ?", -1, &x->del,
                            NULL) != SQLITE_OK))
        err = SEAF_ERR_MALFORMED;
    if (err != SEAF_OK) {
        index_db_close(x);
        return err;
    }
    *out = x;
    return SEAF_OK;
}

void index_db_close(struct index_db *db)
{
    if (db == NULL)
        return;
    sqlite3_finalize(db->put);
    sqlite3_finalize(db->del);
    sqlite3_close(db->db);
    free(db);
}

void index_db_delete_files(const char *path)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s%s", path, suffixes[i]);
        unlink(p);
    }
}

seaf_err index_db_load(struct index_db *db, index_db_row_fn fn, void *ctx)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, "SELECT kind, id, size, seq, pinned FROM objects", -1, &st,
                           NULL) != SQLITE_OK)
        return SEAF_ERR_MALFORMED;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 1);
        long long size = sqlite3_column_int64(st, 2);
        long long seq = sqlite3_column_int64(st, 3);
        if (id == NULL || !seaf_id_valid(id, strlen(id)) || size < 0 || seq < 0)
            continue; /* a damaged row: the file scan will re-add the object */
        if (fn(sqlite3_column_int(st, 0), id, (uint64_t)size, (uint64_t)seq,
               sqlite3_column_int(st, 4) != 0, ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? SEAF_OK : SEAF_ERR_MALFORMED;
}

bool index_db_get_clean(struct index_db *db)
{
    return sqlite_query_int(db->db, "SELECT value FROM meta WHERE key = 'clean'") == 1;
}

seaf_err index_db_set_clean(struct index_db *db, bool clean)
{
    const char *sql = clean ? "INSERT OR REPLACE INTO meta(key, value) VALUES ('clean', 1)"
                            : "INSERT OR REPLACE INTO meta(key, value) VALUES ('clean', 0)";
    return sqlite3_exec(db->db, sql, NULL, NULL, NULL) == SQLITE_OK ? SEAF_OK : SEAF_ERR_IO;
}

seaf_err index_db_begin(struct index_db *db)
{
    return sqlite3_exec(db->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? SEAF_OK : SEAF_ERR_IO;
}

seaf_err index_db_commit(struct index_db *db)
{
    if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return SEAF_OK;
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return SEAF_ERR_IO;
}

/* Runs a bound statement to completion and resets it. */
static seaf_err run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc == SQLITE_DONE ? SEAF_OK : SEAF_ERR_IO;
}

seaf_err index_db_put(struct index_db *db, int kind, const char *id, uint64_t size, uint64_t seq,
                      bool pinned)
{
    sqlite3_bind_int(db->put, 1, kind);
    sqlite3_bind_text(db->put, 2, id, SEAF_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(db->put, 3, (sqlite3_int64)size);
    sqlite3_bind_int64(db->put, 4, (sqlite3_int64)seq);
    sqlite3_bind_int(db->put, 5, pinned ? 1 : 0);
    return run(db->put);
}

seaf_err index_db_delete(struct index_db *db, int kind, const char *id)
{
    sqlite3_bind_int(db->del, 1, kind);
    sqlite3_bind_text(db->del, 2, id, SEAF_ID_LEN, SQLITE_STATIC);
    return run(db->del);
}
