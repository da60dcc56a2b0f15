/* meta_db: the sqlite3 table of metadata objects: schema and checks, lz4 + CRC-32C encoding of
 * rows, one write connection under a lock and a pool of read connections.
 *
 * Table objects(kind, id, pinned, stored_at, plain_len, crc, lz4, data) keyed by (kind, id);
 * user_version holds the schema version and application_id marks the file as ours, so an index
 * or a foreign database put in its place is refused (and then replaced) rather than misread. */
#include "meta_db.h"

#include <limits.h>
#include <lz4.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache_kind.h"
#include "crc32c.h"
#include "sqlite_util.h"

#define SCHEMA_VERSION 1
#define APPLICATION_ID 0x53464d44 /* "SFMD" */
#define READERS        4
/* Larger objects are refused (lz4's limit is near 2 GiB; no metadata object comes close). */
#define PLAIN_MAX (1u << 30)

struct reader {
    pthread_mutex_t lock;
    sqlite3 *db;
    sqlite3_stmt *get;
};

struct meta_db {
    pthread_mutex_t write_lock;
    sqlite3 *db; /* the write connection */
    sqlite3_stmt *put;
    sqlite3_stmt *del;
    sqlite3_stmt *pin;
    struct reader readers[READERS];
    atomic_uint next_reader;
};

static const char schema_sql[] =
    "CREATE TABLE objects (kind INTEGER NOT NULL, id TEXT NOT NULL, pinned INTEGER NOT NULL,"
    " stored_at INTEGER NOT NULL, plain_len INTEGER NOT NULL, crc INTEGER NOT NULL,"
    " lz4 INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (kind, id));";

static seaf_err sqlite_err(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_FULL:
        return SEAF_ERR_NOSPACE;
    case SQLITE_NOMEM:
        return SEAF_ERR_NOMEM;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return SEAF_ERR_MALFORMED;
    default:
        return SEAF_ERR_IO;
    }
}

/* The error of the last failed call on db: SEAF_ERR_MALFORMED only for a damaged file (the
 * caller sets such a file aside), anything else (a full disk, an I/O error, no memory) as it is,
 * so that a database holding pinned rows is never discarded for a passing failure. */
static seaf_err last_err(sqlite3 *db)
{
    int rc = sqlite3_errcode(db);
    return rc == SQLITE_OK ? SEAF_ERR_IO : sqlite_err(rc);
}

/* Checks an existing database or lays out a new one (auto-vacuum must come before any table). */
static seaf_err prepare_schema(sqlite3 *db)
{
    long long tables = sqlite_query_int(db, "SELECT count(*) FROM sqlite_master");
    if (tables < 0)
        return last_err(db);
    if (tables == 0) {
        char sql[sizeof(schema_sql) + 160];
        snprintf(sql, sizeof(sql),
                 "PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL; BEGIN; %s"
                 " PRAGMA application_id=%d; PRAGMA user_version=%d; COMMIT;",
                 schema_sql, APPLICATION_ID, SCHEMA_VERSION);
        int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? SEAF_OK : sqlite_err(rc);
    }
    int rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return sqlite_err(rc);
    if (!sqlite_quick_check_ok(db)) {
        int code = sqlite3_errcode(db) & 0xff;
        /* a check that ran and found damage, or could not read the file as a database */
        bool damaged = code == SQLITE_OK || code == SQLITE_ROW || code == SQLITE_DONE ||
                       code == SQLITE_CORRUPT || code == SQLITE_NOTADB;
        return damaged ? SEAF_ERR_MALFORMED : sqlite_err(code);
    }
    long long app = sqlite_query_int(db, "PRAGMA application_id");
    long long version = sqlite_query_int(db, "PRAGMA user_version");
    if (app < 0 || version < 0)
        return last_err(db);
    return app == APPLICATION_ID && version == SCHEMA_VERSION ? SEAF_OK : SEAF_ERR_MALFORMED;
}

/* Opens one connection with the common settings: the write connection syncs as asked and keeps
 * a larger page cache; the readers keep small ones (memory stays small however many rows). */
static seaf_err connect(const char *path, bool writer, bool sync_writes, sqlite3 **out)
{
    int flags = writer ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    int rc = sqlite3_open_v2(path, out, flags | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK)
        return rc == SQLITE_CANTOPEN ? SEAF_ERR_IO : sqlite_err(rc);
    sqlite3_busy_timeout(*out, 10000);
    char sql[160];
    snprintf(sql, sizeof(sql),
             "PRAGMA synchronous=%s; PRAGMA journal_size_limit=8388608; PRAGMA cache_size=%d;",
             sync_writes ? "FULL" : "NORMAL", writer ? -2048 : -512);
    rc = sqlite3_exec(*out, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? SEAF_OK : sqlite_err(rc);
}

static seaf_err prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
    int rc = sqlite3_prepare_v2(db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? SEAF_OK : sqlite_err(rc);
}

seaf_err meta_db_open(const char *path, bool sync_writes, struct meta_db **out)
{
    *out = NULL;
    struct meta_db *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return SEAF_ERR_NOMEM;
    pthread_mutex_init(&m->write_lock, NULL);
    for (int i = 0; i < READERS; i++)
        pthread_mutex_init(&m->readers[i].lock, NULL);
    seaf_err err = connect(path, true, sync_writes, &m->db);
    if (err == SEAF_OK)
        err = prepare_schema(m->db);
    if (err == SEAF_OK)
        err = prepare(m->db,
                      "INSERT OR REPLACE INTO objects(kind, id, pinned, stored_at, plain_len, crc,"
                      " lz4, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                      &m->put);
    if (err == SEAF_OK)
        err = prepare(m->db, "DELETE FROM objects WHERE kind = ? AND id = ?", &m->del);
    if (err == SEAF_OK)
        err = prepare(m->db, "UPDATE objects SET pinned = ? WHERE kind = ? AND id = ?", &m->pin);
    for (int i = 0; i < READERS && err == SEAF_OK; i++) {
        struct reader *r = &m->readers[i];
        err = connect(path, false, false, &r->db);
        if (err == SEAF_OK)
            err = prepare(r->db,
                          "SELECT plain_len, crc, lz4, data FROM objects WHERE kind = ? AND id = ?",
                          &r->get);
    }
    if (err != SEAF_OK) {
        meta_db_close(m);
        return err;
    }
    *out = m;
    return SEAF_OK;
}

void meta_db_close(struct meta_db *m)
{
    if (m == NULL)
        return;
    for (int i = 0; i < READERS; i++) {
        sqlite3_finalize(m->readers[i].get);
        sqlite3_close(m->readers[i].db);
        pthread_mutex_destroy(&m->readers[i].lock);
    }
    sqlite3_finalize(m->put);
    sqlite3_finalize(m->del);
    sqlite3_finalize(m->pin);
    sqlite3_close(m->db);
    pthread_mutex_destroy(&m->write_lock);
    free(m);
}

uint64_t meta_db_size_bound(size_t len)
{
    return (uint64_t)len + len / 255 + 16 + META_DB_ROW_OVERHEAD;
}

/* Runs a bound write statement to completion and resets it. */
static int step_reset(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

/* Ends the write transaction: COMMIT when rc is SQLITE_DONE, else ROLLBACK; the seaf_err. */
static seaf_err end_transaction(sqlite3 *db, int rc)
{
    if (rc == SQLITE_DONE) {
        rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        if (rc == SQLITE_OK)
            return SEAF_OK;
    }
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return sqlite_err(rc);
}

/* Writes one row with the write lock held and a transaction open; the sqlite result code. */
static int put_one(struct meta_db *m, struct meta_db_object *o, unsigned char *packed, int64_t now)
{
    int packed_len =
        LZ4_compress_default(o->data, (char *)packed, (int)o->len, LZ4_compressBound((int)o->len));
    bool lz4 = packed_len > 0 && (size_t)packed_len < o->len;
    const void *stored = lz4 ? packed : o->data;
    size_t stored_len = lz4 ? (size_t)packed_len : o->len;
    sqlite3_bind_int(m->put, 1, o->kind);
    sqlite3_bind_text(m->put, 2, o->id, SEAF_ID_LEN, SQLITE_STATIC);
    sqlite3_bind_int(m->put, 3, o->pinned ? 1 : 0);
    sqlite3_bind_int64(m->put, 4, now);
    sqlite3_bind_int64(m->put, 5, (sqlite3_int64)o->len);
    sqlite3_bind_int64(m->put, 6, crc32c_update(0, o->data, o->len));
    sqlite3_bind_int(m->put, 7, lz4 ? 1 : 0);
    sqlite3_bind_blob64(m->put, 8, stored_len ? stored : "", stored_len, SQLITE_STATIC);
    o->stored_size = stored_len + META_DB_ROW_OVERHEAD;
    return step_reset(m->put);
}

seaf_err meta_db_put(struct meta_db *m, struct meta_db_object *objs, size_t n)
{
    size_t largest = 0;
    for (size_t i = 0; i < n; i++) {
        if (!cache_kind_is_meta(objs[i].kind) || objs[i].id == NULL ||
            !seaf_id_valid(objs[i].id, strlen(objs[i].id)) || objs[i].len > PLAIN_MAX)
            return SEAF_ERR_INVALID_ARG;
        if (objs[i].len > largest)
            largest = objs[i].len;
    }
    unsigned char *packed = malloc((size_t)LZ4_compressBound((int)largest) + 1);
    if (packed == NULL)
        return SEAF_ERR_NOMEM;
    int64_t now = (int64_t)time(NULL);
    pthread_mutex_lock(&m->write_lock);
    int rc = sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    seaf_err err = rc == SQLITE_OK ? SEAF_OK : sqlite_err(rc);
    if (err == SEAF_OK) {
        rc = SQLITE_DONE;
        for (size_t i = 0; i < n && rc == SQLITE_DONE; i++)
            rc = put_one(m, &objs[i], packed, now);
        err = end_transaction(m->db, rc);
    }
    pthread_mutex_unlock(&m->write_lock);
    free(packed);
    for (size_t i = 0; i < n && err != SEAF_OK; i++)
        objs[i].stored_size = 0; /* rolled back: nothing stored */
    return err;
}

/* Decodes a row's stored bytes into a new buffer, checking length and checksum. */
static seaf_err decode_row(sqlite3_stmt *st, char **data, size_t *len)
{
    sqlite3_int64 plain_len = sqlite3_column_int64(st, 0);
    uint32_t crc = (uint32_t)sqlite3_column_int64(st, 1);
    bool lz4 = sqlite3_column_int(st, 2) != 0;
    const void *stored = sqlite3_column_blob(st, 3);
    int stored_len = sqlite3_column_bytes(st, 3);
    if (plain_len < 0 || plain_len > PLAIN_MAX || (stored == NULL && stored_len > 0))
        return SEAF_ERR_ID_MISMATCH;
    char *plain = malloc((size_t)plain_len + 1);
    if (plain == NULL)
        return SEAF_ERR_NOMEM;
    int got = stored_len;
    if (lz4)
        got = LZ4_decompress_safe(stored, plain, stored_len, (int)plain_len);
    else if (stored_len == plain_len && stored_len > 0)
        memcpy(plain, stored, (size_t)stored_len);
    if (got != plain_len || crc32c_update(0, plain, (size_t)plain_len) != crc) {
        free(plain);
        return SEAF_ERR_ID_MISMATCH;
    }
    plain[plain_len] = '\0';
    *data = plain;
    *len = (size_t)plain_len;
    return SEAF_OK;
}

seaf_err meta_db_get(struct meta_db *m, int kind, const char *id, char **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    struct reader *r = &m->readers[atomic_fetch_add(&m->next_reader, 1) % READERS];
    pthread_mutex_lock(&r->lock);
    sqlite3_bind_int(r->get, 1, kind);
    sqlite3_bind_text(r->get, 2, id, SEAF_ID_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(r->get);
    seaf_err err = SEAF_ERR_NOT_FOUND;
    if (rc == SQLITE_ROW)
        err = decode_row(r->get, data, len);
    else if (rc != SQLITE_DONE)
        err = sqlite_err(rc) == SEAF_ERR_MALFORMED ? SEAF_ERR_ID_MISMATCH : sqlite_err(rc);
    sqlite3_reset(r->get);
    sqlite3_clear_bindings(r->get);
    pthread_mutex_unlock(&r->lock);
    return err;
}

seaf_err meta_db_delete(struct meta_db *m, const struct meta_db_key *keys, size_t n)
{
    if (n == 0)
        return SEAF_OK;
    pthread_mutex_lock(&m->write_lock);
    int rc = sqlite3_exec(m->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    seaf_err err = rc == SQLITE_OK ? SEAF_OK : sqlite_err(rc);
    if (err == SEAF_OK) {
        rc = SQLITE_DONE;
        for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
            sqlite3_bind_int(m->del, 1, keys[i].kind);
            sqlite3_bind_text(m->del, 2, keys[i].id, SEAF_ID_LEN, SQLITE_STATIC);
            rc = step_reset(m->del);
        }
        err = end_transaction(m->db, rc);
    }
    /* The freed pages go back to the file system, so the file stays near what is accounted. */
    if (err == SEAF_OK)
        sqlite3_exec(m->db, "PRAGMA incremental_vacuum", NULL, NULL, NULL);
    pthread_mutex_unlock(&m->write_lock);
    return err;
}

seaf_err meta_db_set_pinned(struct meta_db *m, int kind, const char *id, bool pinned)
{
    pthread_mutex_lock(&m->write_lock);
    sqlite3_bind_int(m->pin, 1, pinned ? 1 : 0);
    sqlite3_bind_int(m->pin, 2, kind);
    sqlite3_bind_text(m->pin, 3, id, SEAF_ID_LEN, SQLITE_STATIC);
    int rc = step_reset(m->pin);
    int changed = sqlite3_changes(m->db);
    pthread_mutex_unlock(&m->write_lock);
    if (rc != SQLITE_DONE)
        return sqlite_err(rc);
    return changed > 0 ? SEAF_OK : SEAF_ERR_NOT_FOUND;
}

seaf_err meta_db_scan(struct meta_db *m, meta_db_row_fn fn, void *ctx)
{
    sqlite3_stmt *st;
    pthread_mutex_lock(&m->write_lock);
    if (sqlite3_prepare_v2(m->db, "SELECT kind, id, pinned, stored_at, length(data) FROM objects",
                           -1, &st, NULL) != SQLITE_OK) {
        pthread_mutex_unlock(&m->write_lock);
        return SEAF_ERR_MALFORMED;
    }
    bool bad_rows = false;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int kind = sqlite3_column_int(st, 0);
        const char *id = (const char *)sqlite3_column_text(st, 1);
        if (id == NULL || !cache_kind_is_meta(kind) || !seaf_id_valid(id, strlen(id))) {
            bad_rows = true;
            continue;
        }
        if (fn(kind, id, (uint64_t)sqlite3_column_int64(st, 4) + META_DB_ROW_OVERHEAD,
               sqlite3_column_int(st, 2) != 0, sqlite3_column_int64(st, 3), ctx) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE && bad_rows) {
        /* the kinds kept are cache_kind_is_meta's: spelled out from it, never by hand */
        char kinds[64] = "", sql[256];
        size_t len = 0;
        for (int kind = CACHE_KIND_FIRST; kind <= CACHE_KIND_LAST; kind++)
            if (cache_kind_is_meta(kind))
                len += (size_t)snprintf(kinds + len, sizeof(kinds) - len, "%s%d", len ? "," : "",
                                        kind);
        snprintf(sql, sizeof(sql),
                 "DELETE FROM objects WHERE kind NOT IN (%s) OR length(id) != 40 OR"
                 " id GLOB '*[^0-9a-f]*'",
                 kinds);
        sqlite3_exec(m->db, sql, NULL, NULL, NULL);
    }
    pthread_mutex_unlock(&m->write_lock);
    return rc == SQLITE_DONE ? SEAF_OK : SEAF_ERR_MALFORMED;
}
