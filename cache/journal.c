/* journal: schema and statements of the sqlite3 journal of local changes (see journal.h).
 *
 * Tables: libraries(repo, root), nodes(id, repo), entries(parent, name, ...) keyed by (parent,
 * name) WITHOUT ROWID, staged(id, ...), uploads(repo, ...), notes(repo, key, value), meta(key,
 * value) holding the last sequence number. user_version holds the schema version. WAL with
 * synchronous=NORMAL: a committed transaction is in the WAL file (in the kernel's hands) before
 * the commit returns, so killing the process loses nothing committed; journal_sync adds the fsync
 * a power cut needs. Statements are prepared once and reused. */
#include "journal.h"
#include "sqlite_util.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA_VERSION 1

static const char schema_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta VALUES ('seq', 0);"
    "CREATE TABLE libraries (repo TEXT PRIMARY KEY, root INTEGER NOT NULL);"
    "CREATE TABLE nodes (id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL);"
    "CREATE TABLE entries (parent INTEGER NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL,"
    " base TEXT NOT NULL, obj TEXT NOT NULL, follow INTEGER NOT NULL, child INTEGER NOT NULL,"
    " staged INTEGER NOT NULL, mode INTEGER NOT NULL, mtime INTEGER NOT NULL,"
    " size INTEGER NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (parent, name)) WITHOUT ROWID;"
    "CREATE INDEX entries_child ON entries(child) WHERE child != 0;"
    "CREATE INDEX entries_staged ON entries(staged) WHERE staged != 0;"
    "CREATE TABLE staged (id INTEGER PRIMARY KEY AUTOINCREMENT, repo TEXT NOT NULL,"
    " base TEXT NOT NULL, prev TEXT NOT NULL, base_size INTEGER NOT NULL,"
    " base_limit INTEGER NOT NULL, size INTEGER NOT NULL, extents BLOB NOT NULL,"
    " seq INTEGER NOT NULL, crypt INTEGER NOT NULL);"
    "CREATE TABLE uploads (repo TEXT PRIMARY KEY, commit_id TEXT NOT NULL,"
    " parent_id TEXT NOT NULL, snapshot_seq INTEGER NOT NULL, started INTEGER NOT NULL);"
    "CREATE TABLE notes (repo TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,"
    " PRIMARY KEY (repo, key)) WITHOUT ROWID;";

enum stmt {
    ST_SEQ_SAVE,
    ST_LIB_GET,
    ST_LIB_PUT,
    ST_LIB_ALL,
    ST_NODE_NEW,
    ST_NODE_REPO,
    ST_NODE_DEL,
    ST_NODE_DEL_ENTRIES,
    ST_NODE_DEL_LIB,
    ST_NODE_ANY,
    ST_ENTRY_GET,
    ST_ENTRY_PUT,
    ST_ENTRY_DEL,
    ST_ENTRY_CHILD,
    ST_ENTRY_STAGED,
    ST_ENTRY_LIST,
    ST_STAGED_NEW,
    ST_STAGED_PUT,
    ST_STAGED_GET,
    ST_STAGED_DEL,
    ST_STAGED_IDS,
    ST_UPLOAD_PUT,
    ST_UPLOAD_GET,
    ST_UPLOAD_DEL,
    ST_NOTE_PUT,
    ST_NOTE_DEL,
    ST_NOTE_GET,
    ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
    [ST_SEQ_SAVE] = "UPDATE meta SET value = ? WHERE key = 'seq'",
    [ST_LIB_GET] = "SELECT root FROM libraries WHERE repo = ?",
    [ST_LIB_PUT] = "INSERT INTO libraries(repo, root) VALUES (?, ?)",
    [ST_LIB_ALL] = "SELECT repo FROM libraries ORDER BY repo",
    [ST_NODE_NEW] = "INSERT INTO nodes(repo) VALUES (?)",
    [ST_NODE_REPO] = "SELECT repo FROM nodes WHERE id = ?",
    [ST_NODE_DEL] = "DELETE FROM nodes WHERE id = ?",
    [ST_NODE_DEL_ENTRIES] = "DELETE FROM entries WHERE parent = ?",
    [ST_NODE_DEL_LIB] = "DELETE FROM libraries WHERE root = ?",
    [ST_NODE_ANY] = "SELECT 1 FROM entries WHERE parent = ? LIMIT 1",
    [ST_ENTRY_GET] = "SELECT parent, name, kind, base, obj, follow, child, staged, mode, mtime,"
                     " size, seq FROM entries WHERE parent = ? AND name = ?",
    [ST_ENTRY_PUT] = "INSERT OR REPLACE INTO entries(parent, name, kind, base, obj, follow,"
                     " child, staged, mode, mtime, size, seq)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_ENTRY_DEL] = "DELETE FROM entries WHERE parent = ? AND name = ?",
    /* "!= 0" lets sqlite use the partial indexes (a bound value could be 0, for all it knows) */
    [ST_ENTRY_CHILD] = "SELECT parent, name, kind, base, obj, follow, child, staged, mode, mtime,"
                       " size, seq FROM entries WHERE child = ?1 AND child != 0",
    [ST_ENTRY_STAGED] = "SELECT parent, name, kind, base, obj, follow, child, staged, mode, mtime,"
                        " size, seq FROM entries WHERE staged = ?1 AND staged != 0",
    [ST_ENTRY_LIST] = "SELECT parent, name, kind, base, obj, follow, child, staged, mode, mtime,"
                      " size, seq FROM entries WHERE parent = ? ORDER BY name",
    [ST_STAGED_NEW] = "INSERT INTO staged(repo, base, prev, base_size, base_limit, size,"
                      " extents, seq, crypt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [ST_STAGED_PUT] = "UPDATE staged SET repo = ?, base = ?, prev = ?, base_size = ?,"
                      " base_limit = ?, size = ?, extents = ?, seq = ?, crypt = ? WHERE id = ?",
    [ST_STAGED_GET] = "SELECT repo, base, prev, base_size, base_limit, size, extents, seq,"
                      " crypt FROM staged WHERE id = ?",
    [ST_STAGED_DEL] = "DELETE FROM staged WHERE id = ?",
    [ST_STAGED_IDS] = "SELECT id FROM staged ORDER BY id",
    [ST_UPLOAD_PUT] = "INSERT OR REPLACE INTO uploads(repo, commit_id, parent_id, snapshot_seq,"
                      " started) VALUES (?, ?, ?, ?, ?)",
    [ST_UPLOAD_GET] = "SELECT commit_id, parent_id, snapshot_seq, started FROM uploads"
                      " WHERE repo = ?",
    [ST_UPLOAD_DEL] = "DELETE FROM uploads WHERE repo = ?",
    [ST_NOTE_PUT] = "INSERT OR REPLACE INTO notes(repo, key, value) VALUES (?, ?, ?)",
    [ST_NOTE_DEL] = "DELETE FROM notes WHERE repo = ? AND key = ?",
    [ST_NOTE_GET] = "SELECT value FROM notes WHERE repo = ? AND key = ?",
};

struct journal {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    uint64_t seq;    /* last sequence number handed out */
    bool in_tx;      /* between journal_begin and commit/rollback */
    char error[256]; /* last sqlite error */
};

static seaf_err fail(struct journal *j, const char *what)
{
    snprintf(j->error, sizeof(j->error), "%s: %s", what, sqlite3_errmsg(j->db));
    int code = sqlite3_errcode(j->db);
    if (code == SQLITE_FULL)
        return SEAF_ERR_NOSPACE;
    return code == SQLITE_NOMEM ? SEAF_ERR_NOMEM : SEAF_ERR_IO;
}

const char *journal_last_error(const struct journal *j)
{
    return j->error;
}

static seaf_err prepare_schema(struct journal *j)
{
    if (sqlite3_exec(j->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", NULL, NULL,
                     NULL) != SQLITE_OK) {
        /* The first read: a file that is not a database, or damaged in its header or schema
         * page, fails here. */
        seaf_err err = fail(j, "journal mode");
        int code = sqlite3_errcode(j->db);
        return code == SQLITE_NOTADB || code == SQLITE_CORRUPT ? SEAF_ERR_MALFORMED : err;
    }
    if (!sqlite_quick_check_ok(j->db))
        return SEAF_ERR_MALFORMED;
    long long version = sqlite_query_int(j->db, "PRAGMA user_version");
    long long tables = sqlite_query_int(j->db, "SELECT count(*) FROM sqlite_master");
    if (version < 0 || tables < 0)
        return SEAF_ERR_MALFORMED;
    if (version == 0 && tables == 0) {
        char sql[sizeof(schema_sql) + 96];
        snprintf(sql, sizeof(sql), "BEGIN; %s PRAGMA user_version=%d; COMMIT;", schema_sql,
                 SCHEMA_VERSION);
        if (sqlite3_exec(j->db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return fail(j, "schema");
        return SEAF_OK;
    }
    return version == SCHEMA_VERSION ? SEAF_OK : SEAF_ERR_MALFORMED;
}

seaf_err journal_open(const char *path, struct journal **out)
{
    *out = NULL;
    struct journal *j = calloc(1, sizeof(*j));
    if (!j)
        return SEAF_ERR_NOMEM;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path, &j->db, flags, NULL);
    seaf_err err = SEAF_OK;
    if (rc != SQLITE_OK)
        err = rc == SQLITE_NOMEM      ? SEAF_ERR_NOMEM
              : rc == SQLITE_CANTOPEN ? SEAF_ERR_IO
                                      : SEAF_ERR_MALFORMED;
    if (err == SEAF_OK) {
        sqlite3_busy_timeout(j->db, 5000);
        err = prepare_schema(j);
    }
    for (int i = 0; err == SEAF_OK && i < ST_COUNT; i++)
        if (sqlite3_prepare_v3(j->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &j->st[i],
                               NULL) != SQLITE_OK)
            err = SEAF_ERR_MALFORMED;
    if (err == SEAF_OK) {
        long long seq = sqlite_query_int(j->db, "SELECT value FROM meta WHERE key = 'seq'");
        if (seq < 0)
            err = SEAF_ERR_MALFORMED;
        j->seq = seq < 0 ? 0 : (uint64_t)seq;
    }
    if (err != SEAF_OK) {
        journal_close(j);
        return err;
    }
    *out = j;
    return SEAF_OK;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(j->st[i]);
    if (j->db) {
        sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(j->db);
    }
    free(j);
}

seaf_err journal_begin(struct journal *j)
{
    if (sqlite3_exec(j->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fail(j, "begin");
    j->in_tx = true;
    return SEAF_OK;
}

seaf_err journal_commit(struct journal *j)
{
    j->in_tx = false;
    if (sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        seaf_err err = fail(j, "commit");
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
        return err;
    }
    return SEAF_OK;
}

void journal_rollback(struct journal *j)
{
    j->in_tx = false;
    sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
    /* The sequence counter is reloaded: numbers handed out in the rolled back transaction
     * may be handed out again, as nothing durable carries them. */
    long long seq = sqlite_query_int(j->db, "SELECT value FROM meta WHERE key = 'seq'");
    if (seq >= 0)
        j->seq = (uint64_t)seq;
}

seaf_err journal_end(struct journal *j, seaf_err err, bool sync)
{
    if (err != SEAF_OK) {
        journal_rollback(j);
        return err;
    }
    err = journal_commit(j);
    return err == SEAF_OK && sync ? journal_sync(j) : err;
}

seaf_err journal_sync(struct journal *j)
{
    /* A FULL checkpoint writes the WAL into the database and fsyncs both. */
    int rc = sqlite3_wal_checkpoint_v2(j->db, NULL, SQLITE_CHECKPOINT_FULL, NULL, NULL);
    return rc == SQLITE_OK ? SEAF_OK : fail(j, "checkpoint");
}

uint64_t journal_seq(const struct journal *j)
{
    return j->seq;
}

/* ---- statement helpers ---- */

static sqlite3_stmt *stmt(struct journal *j, enum stmt which)
{
    sqlite3_stmt *st = j->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
}

static void bind_u64(sqlite3_stmt *st, int i, uint64_t v)
{
    sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

/* Steps a statement that returns no row. */
static seaf_err run(struct journal *j, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    seaf_err err = rc == SQLITE_DONE ? SEAF_OK : fail(j, what);
    sqlite3_reset(st);
    return err;
}

static void copy_column(sqlite3_stmt *st, int col, char *out, size_t size)
{
    const unsigned char *text = sqlite3_column_text(st, col);
    snprintf(out, size, "%s", text ? (const char *)text : "");
}

/* Takes the next sequence number and saves it (in the caller's transaction, if any). */
static seaf_err next_seq(struct journal *j, uint64_t *seq)
{
    sqlite3_stmt *st = stmt(j, ST_SEQ_SAVE);
    bind_u64(st, 1, j->seq + 1);
    seaf_err err = run(j, st, "sequence");
    if (err == SEAF_OK)
        *seq = ++j->seq;
    return err;
}

/* ---- nodes ---- */

seaf_err journal_library_root(struct journal *j, const char *repo, bool create, uint64_t *node)
{
    sqlite3_stmt *st = stmt(j, ST_LIB_GET);
    bind_text(st, 1, repo);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *node = (uint64_t)sqlite3_column_int64(st, 0);
        sqlite3_reset(st);
        return SEAF_OK;
    }
    sqlite3_reset(st);
    if (rc != SQLITE_DONE)
        return fail(j, "library root");
    if (!create)
        return SEAF_ERR_NOT_FOUND;
    seaf_err err = journal_node_new(j, repo, node);
    if (err != SEAF_OK)
        return err;
    st = stmt(j, ST_LIB_PUT);
    bind_text(st, 1, repo);
    bind_u64(st, 2, *node);
    return run(j, st, "library root");
}

seaf_err journal_node_new(struct journal *j, const char *repo, uint64_t *node)
{
    sqlite3_stmt *st = stmt(j, ST_NODE_NEW);
    bind_text(st, 1, repo);
    seaf_err err = run(j, st, "new node");
    if (err == SEAF_OK)
        *node = (uint64_t)sqlite3_last_insert_rowid(j->db);
    return err;
}

seaf_err journal_node_repo(struct journal *j, uint64_t node, char repo[SEAF_REPO_ID_LEN + 1])
{
    sqlite3_stmt *st = stmt(j, ST_NODE_REPO);
    bind_u64(st, 1, node);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        copy_column(st, 0, repo, SEAF_REPO_ID_LEN + 1);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return SEAF_OK;
    return rc == SQLITE_DONE ? SEAF_ERR_NOT_FOUND : fail(j, "node");
}

seaf_err journal_node_delete(struct journal *j, uint64_t node)
{
    static const enum stmt steps[] = {ST_NODE_DEL_ENTRIES, ST_NODE_DEL_LIB, ST_NODE_DEL};
    seaf_err err = SEAF_OK;
    for (size_t i = 0; err == SEAF_OK && i < sizeof(steps) / sizeof(steps[0]); i++) {
        sqlite3_stmt *st = stmt(j, steps[i]);
        bind_u64(st, 1, node);
        err = run(j, st, "delete node");
    }
    return err;
}

seaf_err journal_node_has_entries(struct journal *j, uint64_t node, bool *any)
{
    sqlite3_stmt *st = stmt(j, ST_NODE_ANY);
    bind_u64(st, 1, node);
    int rc = sqlite3_step(st);
    *any = rc == SQLITE_ROW;
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SEAF_OK : fail(j, "node entries");
}

/* ---- entries ---- */

static void read_entry(sqlite3_stmt *st, struct journal_entry *e)
{
    memset(e, 0, sizeof(*e));
    e->parent = (uint64_t)sqlite3_column_int64(st, 0);
    copy_column(st, 1, e->name, sizeof(e->name));
    e->kind = (enum journal_kind)sqlite3_column_int(st, 2);
    copy_column(st, 3, e->base, sizeof(e->base));
    copy_column(st, 4, e->obj, sizeof(e->obj));
    e->follow = sqlite3_column_int(st, 5) != 0;
    e->child = (uint64_t)sqlite3_column_int64(st, 6);
    e->staged = (uint64_t)sqlite3_column_int64(st, 7);
    e->mode = (uint32_t)sqlite3_column_int64(st, 8);
    e->mtime = sqlite3_column_int64(st, 9);
    e->size = sqlite3_column_int64(st, 10);
    e->seq = (uint64_t)sqlite3_column_int64(st, 11);
}

/* Runs a statement expected to give at most one entry. */
static seaf_err one_entry(struct journal *j, sqlite3_stmt *st, struct journal_entry *out)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        read_entry(st, out);
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return SEAF_OK;
    return rc == SQLITE_DONE ? SEAF_ERR_NOT_FOUND : fail(j, "entry");
}

seaf_err journal_entry_get(struct journal *j, uint64_t parent, const char *name,
                           struct journal_entry *out)
{
    sqlite3_stmt *st = stmt(j, ST_ENTRY_GET);
    bind_u64(st, 1, parent);
    bind_text(st, 2, name);
    return one_entry(j, st, out);
}

seaf_err journal_entry_of_child(struct journal *j, uint64_t node, struct journal_entry *out)
{
    sqlite3_stmt *st = stmt(j, ST_ENTRY_CHILD);
    bind_u64(st, 1, node);
    return one_entry(j, st, out);
}

seaf_err journal_entry_of_staged(struct journal *j, uint64_t staged, struct journal_entry *out)
{
    sqlite3_stmt *st = stmt(j, ST_ENTRY_STAGED);
    bind_u64(st, 1, staged);
    return one_entry(j, st, out);
}

seaf_err journal_entry_put(struct journal *j, struct journal_entry *e)
{
    uint64_t seq;
    seaf_err err = next_seq(j, &seq);
    if (err != SEAF_OK)
        return err;
    sqlite3_stmt *st = stmt(j, ST_ENTRY_PUT);
    bind_u64(st, 1, e->parent);
    bind_text(st, 2, e->name);
    sqlite3_bind_int(st, 3, (int)e->kind);
    bind_text(st, 4, e->base);
    bind_text(st, 5, e->obj);
    sqlite3_bind_int(st, 6, e->follow ? 1 : 0);
    bind_u64(st, 7, e->child);
    bind_u64(st, 8, e->staged);
    sqlite3_bind_int64(st, 9, e->mode);
    sqlite3_bind_int64(st, 10, e->mtime);
    sqlite3_bind_int64(st, 11, e->size);
    bind_u64(st, 12, seq);
    err = run(j, st, "put entry");
    if (err == SEAF_OK)
        e->seq = seq;
    return err;
}

seaf_err journal_entry_delete(struct journal *j, uint64_t parent, const char *name)
{
    sqlite3_stmt *st = stmt(j, ST_ENTRY_DEL);
    bind_u64(st, 1, parent);
    bind_text(st, 2, name);
    return run(j, st, "delete entry");
}

seaf_err journal_entries(struct journal *j, uint64_t node, journal_entry_fn fn, void *ctx,
                         int *stopped)
{
    /* The rows are copied out first: fn may use the journal (the statement is shared). */
    struct journal_entry *rows = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = stmt(j, ST_ENTRY_LIST);
    bind_u64(st, 1, node);
    int rc;
    seaf_err err = SEAF_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown = cap ? cap * 2 : 16;
            struct journal_entry *more = realloc(rows, grown * sizeof(*more));
            if (!more) {
                err = SEAF_ERR_NOMEM;
                break;
            }
            rows = more;
            cap = grown;
        }
        read_entry(st, &rows[n++]);
    }
    if (err == SEAF_OK && rc != SQLITE_DONE)
        err = fail(j, "list entries");
    sqlite3_reset(st);
    if (stopped)
        *stopped = 0;
    for (size_t i = 0; err == SEAF_OK && i < n; i++) {
        int r = fn(ctx, &rows[i]);
        if (r) {
            if (stopped)
                *stopped = r;
            break;
        }
    }
    free(rows);
    return err;
}

/* ---- staged files ---- */

static seaf_err bind_staged(sqlite3_stmt *st, const struct journal_staged *s, uint64_t seq)
{
    bind_text(st, 1, s->repo);
    bind_text(st, 2, s->base);
    bind_text(st, 3, s->prev);
    bind_u64(st, 4, s->base_size);
    bind_u64(st, 5, s->base_limit);
    bind_u64(st, 6, s->size);
    size_t bytes = s->n_extents * 2 * sizeof(uint64_t);
    unsigned char *blob = malloc(bytes ? bytes : 1);
    if (!blob)
        return SEAF_ERR_NOMEM;
    for (size_t i = 0; i < s->n_extents * 2; i++)
        for (int b = 0; b < 8; b++)
            blob[i * 8 + (size_t)b] = (unsigned char)(s->extents[i] >> (8 * b));
    sqlite3_bind_blob(st, 7, blob, (int)bytes, free);
    bind_u64(st, 8, seq);
    sqlite3_bind_int(st, 9, s->encrypted ? 1 : 0);
    return SEAF_OK;
}

seaf_err journal_staged_new(struct journal *j, struct journal_staged *s)
{
    uint64_t seq;
    seaf_err err = next_seq(j, &seq);
    sqlite3_stmt *st = stmt(j, ST_STAGED_NEW);
    if (err == SEAF_OK)
        err = bind_staged(st, s, seq);
    if (err == SEAF_OK)
        err = run(j, st, "new staged file");
    if (err == SEAF_OK) {
        s->id = (uint64_t)sqlite3_last_insert_rowid(j->db);
        s->seq = seq;
    }
    return err;
}

seaf_err journal_staged_put(struct journal *j, struct journal_staged *s)
{
    uint64_t seq;
    seaf_err err = next_seq(j, &seq);
    sqlite3_stmt *st = stmt(j, ST_STAGED_PUT);
    if (err == SEAF_OK)
        err = bind_staged(st, s, seq);
    if (err == SEAF_OK) {
        bind_u64(st, 10, s->id);
        err = run(j, st, "put staged file");
    }
    if (err == SEAF_OK)
        s->seq = seq;
    return err;
}

seaf_err journal_staged_get(struct journal *j, uint64_t id, struct journal_staged *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = stmt(j, ST_STAGED_GET);
    bind_u64(st, 1, id);
    int rc = sqlite3_step(st);
    seaf_err err = SEAF_OK;
    if (rc == SQLITE_ROW) {
        out->id = id;
        copy_column(st, 0, out->repo, sizeof(out->repo));
        copy_column(st, 1, out->base, sizeof(out->base));
        copy_column(st, 2, out->prev, sizeof(out->prev));
        out->base_size = (uint64_t)sqlite3_column_int64(st, 3);
        out->base_limit = (uint64_t)sqlite3_column_int64(st, 4);
        out->size = (uint64_t)sqlite3_column_int64(st, 5);
        const unsigned char *blob = sqlite3_column_blob(st, 6);
        size_t bytes = (size_t)sqlite3_column_bytes(st, 6);
        out->seq = (uint64_t)sqlite3_column_int64(st, 7);
        out->encrypted = sqlite3_column_int(st, 8) != 0;
        out->n_extents = bytes / (2 * sizeof(uint64_t));
        if (bytes % (2 * sizeof(uint64_t)) != 0) {
            err = SEAF_ERR_MALFORMED;
        } else if (out->n_extents > 0) {
            out->extents = malloc(out->n_extents * 2 * sizeof(uint64_t));
            if (!out->extents)
                err = SEAF_ERR_NOMEM;
            for (size_t i = 0; out->extents && i < out->n_extents * 2; i++) {
                uint64_t v = 0;
                for (int b = 7; b >= 0; b--)
                    v = (v << 8) | blob[i * 8 + (size_t)b];
                out->extents[i] = v;
            }
        }
    } else {
        err = rc == SQLITE_DONE ? SEAF_ERR_NOT_FOUND : fail(j, "staged file");
    }
    sqlite3_reset(st);
    if (err != SEAF_OK) {
        free(out->extents);
        out->extents = NULL;
        out->n_extents = 0;
    }
    return err;
}

seaf_err journal_staged_delete(struct journal *j, uint64_t id)
{
    sqlite3_stmt *st = stmt(j, ST_STAGED_DEL);
    bind_u64(st, 1, id);
    return run(j, st, "delete staged file");
}

/* Collects the integer (or text) first column of a statement's rows, then calls back. */
seaf_err journal_staged_ids(struct journal *j, journal_id_fn fn, void *ctx)
{
    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = stmt(j, ST_STAGED_IDS);
    int rc;
    seaf_err err = SEAF_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown = cap ? cap * 2 : 64;
            uint64_t *more = realloc(ids, grown * sizeof(*more));
            if (!more) {
                err = SEAF_ERR_NOMEM;
                break;
            }
            ids = more;
            cap = grown;
        }
        ids[n++] = (uint64_t)sqlite3_column_int64(st, 0);
    }
    if (err == SEAF_OK && rc != SQLITE_DONE)
        err = fail(j, "staged ids");
    sqlite3_reset(st);
    for (size_t i = 0; err == SEAF_OK && i < n; i++)
        if (fn(ctx, ids[i]))
            break;
    free(ids);
    return err;
}

/* ---- per-library state ---- */

seaf_err journal_libraries(struct journal *j, journal_repo_fn fn, void *ctx)
{
    char(*repos)[SEAF_REPO_ID_LEN + 1] = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = stmt(j, ST_LIB_ALL);
    int rc;
    seaf_err err = SEAF_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t grown = cap ? cap * 2 : 8;
            void *more = realloc(repos, grown * sizeof(*repos));
            if (!more) {
                err = SEAF_ERR_NOMEM;
                break;
            }
            repos = more;
            cap = grown;
        }
        copy_column(st, 0, repos[n++], sizeof(*repos));
    }
    if (err == SEAF_OK && rc != SQLITE_DONE)
        err = fail(j, "libraries");
    sqlite3_reset(st);
    for (size_t i = 0; err == SEAF_OK && i < n; i++)
        if (fn(ctx, repos[i]))
            break;
    free(repos);
    return err;
}

seaf_err journal_upload_put(struct journal *j, const struct journal_upload *u)
{
    sqlite3_stmt *st = stmt(j, ST_UPLOAD_PUT);
    bind_text(st, 1, u->repo);
    bind_text(st, 2, u->commit_id);
    bind_text(st, 3, u->parent_id);
    bind_u64(st, 4, u->snapshot_seq);
    sqlite3_bind_int64(st, 5, u->started);
    return run(j, st, "put upload");
}

seaf_err journal_upload_get(struct journal *j, const char *repo, struct journal_upload *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = stmt(j, ST_UPLOAD_GET);
    bind_text(st, 1, repo);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(out->repo, sizeof(out->repo), "%s", repo);
        copy_column(st, 0, out->commit_id, sizeof(out->commit_id));
        copy_column(st, 1, out->parent_id, sizeof(out->parent_id));
        out->snapshot_seq = (uint64_t)sqlite3_column_int64(st, 2);
        out->started = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    if (rc == SQLITE_ROW)
        return SEAF_OK;
    return rc == SQLITE_DONE ? SEAF_ERR_NOT_FOUND : fail(j, "upload");
}

seaf_err journal_upload_delete(struct journal *j, const char *repo)
{
    sqlite3_stmt *st = stmt(j, ST_UPLOAD_DEL);
    bind_text(st, 1, repo);
    return run(j, st, "delete upload");
}

seaf_err journal_note_put(struct journal *j, const char *repo, const char *key, const char *value)
{
    sqlite3_stmt *st = stmt(j, value[0] ? ST_NOTE_PUT : ST_NOTE_DEL);
    bind_text(st, 1, repo);
    bind_text(st, 2, key);
    if (value[0])
        bind_text(st, 3, value);
    return run(j, st, "note");
}

seaf_err journal_note_get(struct journal *j, const char *repo, const char *key, char **value)
{
    sqlite3_stmt *st = stmt(j, ST_NOTE_GET);
    bind_text(st, 1, repo);
    bind_text(st, 2, key);
    int rc = sqlite3_step(st);
    seaf_err err = SEAF_OK;
    if (rc == SQLITE_ROW) {
        const unsigned char *text = sqlite3_column_text(st, 0);
        *value = strdup(text ? (const char *)text : "");
        if (!*value)
            err = SEAF_ERR_NOMEM;
    } else {
        err = rc == SQLITE_DONE ? SEAF_ERR_NOT_FOUND : fail(j, "note");
    }
    sqlite3_reset(st);
    return err;
}
