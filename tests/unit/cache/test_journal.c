/* Tests of the sqlite journal of local changes (cache/journal.[ch]): the schema made on a new path
 * and what opening refuses; everything committed kept across a reopen (libraries and root nodes,
 * nodes, entries, staged files with their extents, uploads, notes, the sequence counter);
 * transactions (commit, rollback, the counter reloaded after a rollback, errors reported);
 * entries (put/get/delete, the listing sorted by name, the lookups by child node and by staged
 * file among many rows, and that those use the partial indexes); staged files; node deletion;
 * journal_sync writing the database file; and a process ending without closing the journal (exit,
 * SIGKILL) keeping what it committed and nothing of the transaction it left open. */
#include <ctype.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cache_test_util.h"
#include "journal.h"

#define REPO_A       "0a1b2c3d-1111-4222-8333-444455556666"
#define REPO_B       "7f8e9d0c-aaaa-4bbb-8ccc-ddddeeeeffff"
#define REPO_UNKNOWN "99999999-9999-4999-8999-999999999999"

struct fixture {
    char *dir;
    char path[PATH_MAX];
    struct journal *j;
};

static struct fixture *fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->dir = test_make_dir("journal");
    snprintf(f->path, sizeof(f->path), "%s/journal.db", f->dir);
    assert_int_equal(journal_open(f->path, &f->j), SEAF_OK);
    assert_non_null(f->j);
    return f;
}

static void fixture_free(struct fixture *f)
{
    journal_close(f->j);
    test_remove_tree(f->dir);
    free(f->dir);
    free(f);
}

static void reopen(struct fixture *f)
{
    journal_close(f->j);
    f->j = NULL;
    assert_int_equal(journal_open(f->path, &f->j), SEAF_OK);
    assert_non_null(f->j);
}

/* A realistic object id derived from n. */
static void make_id(uint64_t n, char id[SEAF_ID_LEN + 1])
{
    test_sha1_id(&n, sizeof(n), id);
}

/* A file entry (parent, name) whose every field depends on n. */
static struct journal_entry file_entry(uint64_t parent, const char *name, uint64_t n)
{
    struct journal_entry e;
    memset(&e, 0, sizeof(e));
    e.parent = parent;
    snprintf(e.name, sizeof(e.name), "%s", name);
    e.kind = JOURNAL_FILE;
    make_id(n, e.base);
    make_id(n + 1000000, e.obj);
    e.follow = n % 2 == 1;
    e.mode = 0100644;
    e.mtime = 1700000000 + (int64_t)n;
    e.size = (int64_t)n * 4096 + 7;
    return e;
}

static void assert_entry_equal(const struct journal_entry *a, const struct journal_entry *b)
{
    assert_int_equal(a->parent, b->parent);
    assert_string_equal(a->name, b->name);
    assert_int_equal(a->kind, b->kind);
    assert_string_equal(a->base, b->base);
    assert_string_equal(a->obj, b->obj);
    assert_int_equal(a->follow, b->follow);
    assert_int_equal(a->child, b->child);
    assert_int_equal(a->staged, b->staged);
    assert_int_equal(a->mode, b->mode);
    assert_int_equal(a->mtime, b->mtime);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->seq, b->seq);
}

static void assert_entry_stored(struct journal *j, const struct journal_entry *want)
{
    struct journal_entry got;
    assert_int_equal(journal_entry_get(j, want->parent, want->name, &got), SEAF_OK);
    assert_entry_equal(&got, want);
}

static void assert_entry_missing(struct journal *j, uint64_t parent, const char *name)
{
    struct journal_entry got;
    assert_int_equal(journal_entry_get(j, parent, name, &got), SEAF_ERR_NOT_FOUND);
}

static void assert_staged_equal(const struct journal_staged *a, const struct journal_staged *b)
{
    assert_int_equal(a->id, b->id);
    assert_string_equal(a->repo, b->repo);
    assert_string_equal(a->base, b->base);
    assert_string_equal(a->prev, b->prev);
    assert_int_equal(a->base_size, b->base_size);
    assert_int_equal(a->base_limit, b->base_limit);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->n_extents, b->n_extents);
    for (size_t i = 0; i < 2 * a->n_extents; i++)
        assert_int_equal(a->extents[i], b->extents[i]);
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->encrypted, b->encrypted);
}

static void assert_staged_stored(struct journal *j, const struct journal_staged *want)
{
    struct journal_staged got;
    assert_int_equal(journal_staged_get(j, want->id, &got), SEAF_OK);
    assert_staged_equal(&got, want);
    if (want->n_extents == 0)
        assert_null(got.extents);
    free(got.extents);
}

static void assert_note(struct journal *j, const char *repo, const char *key, const char *want)
{
    char *value = NULL;
    if (want == NULL) {
        assert_int_equal(journal_note_get(j, repo, key, &value), SEAF_ERR_NOT_FOUND);
        return;
    }
    assert_int_equal(journal_note_get(j, repo, key, &value), SEAF_OK);
    assert_string_equal(value, want);
    free(value);
}

/* ---- collecting callbacks ---- */

#define MAX_LISTED 4096

struct listing {
    struct journal *j;
    int n;
    char (*names)[JOURNAL_NAME_MAX + 1];
    uint64_t parent; /* every entry must have this parent */
    int bad;         /* entries that did not match parent or their stored row */
    int stop_at;     /* return stop_value at the stop_at-th entry (0: never) */
    int stop_value;
    bool use_journal; /* look every entry up again from inside the callback */
};

static int collect_entry(void *ctx, const struct journal_entry *e)
{
    struct listing *l = ctx;
    if (l->n >= MAX_LISTED)
        return -1;
    snprintf(l->names[l->n], sizeof(l->names[l->n]), "%s", e->name);
    l->n++;
    if (e->parent != l->parent)
        l->bad++;
    if (l->use_journal) {
        struct journal_entry again;
        bool any = false;
        if (journal_entry_get(l->j, e->parent, e->name, &again) != SEAF_OK || again.seq != e->seq ||
            strcmp(again.obj, e->obj) != 0 ||
            journal_node_has_entries(l->j, e->parent, &any) != SEAF_OK || !any)
            l->bad++;
    }
    return l->stop_at && l->n == l->stop_at ? l->stop_value : 0;
}

static struct listing *listing_new(struct journal *j, uint64_t parent)
{
    struct listing *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    l->names = calloc(MAX_LISTED, sizeof(*l->names));
    assert_non_null(l->names);
    l->j = j;
    l->parent = parent;
    return l;
}

static void listing_free(struct listing *l)
{
    free(l->names);
    free(l);
}

/* Lists node's entries completely; returns the listing (listing_free it). */
static struct listing *list_node(struct journal *j, uint64_t node)
{
    struct listing *l = listing_new(j, node);
    int stopped = -1;
    assert_int_equal(journal_entries(j, node, collect_entry, l, &stopped), SEAF_OK);
    assert_int_equal(stopped, 0);
    assert_int_equal(l->bad, 0);
    return l;
}

struct id_list {
    uint64_t ids[MAX_LISTED];
    int n;
    int stop_at;
    struct journal *j; /* when set, every id is loaded from inside the callback */
    int bad;
};

static int collect_id(void *ctx, uint64_t id)
{
    struct id_list *l = ctx;
    if (l->n >= MAX_LISTED)
        return -1;
    l->ids[l->n++] = id;
    if (l->j) {
        struct journal_staged s;
        if (journal_staged_get(l->j, id, &s) != SEAF_OK || s.id != id)
            l->bad++;
        free(s.extents);
    }
    return l->stop_at && l->n == l->stop_at;
}

struct repo_list {
    char repos[8][SEAF_REPO_ID_LEN + 1];
    int n;
};

static int collect_repo(void *ctx, const char *repo)
{
    struct repo_list *l = ctx;
    if (l->n >= 8)
        return 1;
    snprintf(l->repos[l->n++], sizeof(l->repos[0]), "%s", repo);
    return 0;
}

static struct repo_list libraries(struct journal *j)
{
    struct repo_list l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(journal_libraries(j, collect_repo, &l), SEAF_OK);
    return l;
}

/* ---- direct sqlite access (a separate connection to the journal's file) ---- */

static sqlite3 *sql_open(const char *path, int flags)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, flags, NULL);
    if (rc != SQLITE_OK)
        fail_msg("sqlite3_open_v2(%s): %s", path, db ? sqlite3_errmsg(db) : "?");
    return db;
}

static long long sql_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void sql_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

static bool sql_has_object(sqlite3 *db, const char *type, const char *name)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM sqlite_master"
                                        " WHERE type = ?1 AND name = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_text(st, 1, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    bool found = sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    return found;
}

/* The details of sql's query plan, joined with "; ". Malloc'd. */
static char *query_plan(sqlite3 *db, const char *sql)
{
    char *explain = NULL;
    assert_true(asprintf(&explain, "EXPLAIN QUERY PLAN %s", sql) > 0);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, explain, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", explain, sqlite3_errmsg(db));
    free(explain);
    size_t cap = 1024, len = 0;
    char *plan = calloc(1, cap);
    assert_non_null(plan);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(st, 3);
        if (!detail)
            continue;
        size_t need = len + strlen(detail) + 3;
        if (need > cap) {
            cap = need * 2;
            plan = realloc(plan, cap);
            assert_non_null(plan);
        }
        len += (size_t)sprintf(plan + len, "%s%s", len ? "; " : "", detail);
    }
    assert_int_equal(rc, SQLITE_DONE);
    sqlite3_finalize(st);
    return plan;
}

/* The SQL text of statement `key` (e.g. "[ST_ENTRY_STAGED]") as written in cache/journal.c: the
 * string literals after "key =", joined as the compiler joins them. Malloc'd. */
static char *journal_c_statement(const char *key)
{
    FILE *fp = fopen(SEAFS_JOURNAL_C, "r");
    if (!fp)
        fail_msg("cannot read %s", SEAFS_JOURNAL_C);
    char *src = NULL;
    size_t src_len = 0;
    FILE *mem = open_memstream(&src, &src_len);
    assert_non_null(mem);
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
        fwrite(buf, 1, n, mem);
    fclose(fp);
    fclose(mem);
    char pattern[64];
    snprintf(pattern, sizeof(pattern), "%s =", key);
    const char *p = strstr(src, pattern);
    if (!p)
        fail_msg("%s not found in %s", pattern, SEAFS_JOURNAL_C);
    assert_null(strstr(p + 1, pattern));
    p += strlen(pattern);
    char *sql = calloc(1, strlen(p) + 1);
    assert_non_null(sql);
    size_t len = 0;
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '"')
            break;
        for (p++; *p && *p != '"'; p++) {
            assert_true(*p != '\\'); /* no escapes in the statements */
            sql[len++] = *p;
        }
        assert_int_equal(*p, '"');
        p++;
    }
    assert_true(*p == ',' || *p == '}');
    assert_true(len > 0);
    free(src);
    return sql;
}

/* ---- opening ---- */

static void test_open_new_creates_schema(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct stat st;
    assert_int_equal(stat(f->path, &st), 0);
    assert_int_equal(journal_seq(f->j), 0);
    assert_string_equal(journal_last_error(f->j), "");

    sqlite3 *db = sql_open(f->path, SQLITE_OPEN_READONLY);
    assert_int_equal(sql_int(db, "PRAGMA user_version"), 1);
    static const char *const tables[] = {"meta",   "libraries", "nodes", "entries",
                                         "staged", "uploads",   "notes"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        assert_true(sql_has_object(db, "table", tables[i]));
    assert_true(sql_has_object(db, "index", "entries_child"));
    assert_true(sql_has_object(db, "index", "entries_staged"));
    assert_int_equal(sql_int(db, "SELECT value FROM meta WHERE key = 'seq'"), 0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM entries"), 0);
    sqlite3_stmt *mode;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &mode, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(mode), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(mode, 0), "wal");
    sqlite3_finalize(mode);
    sqlite3_close(db);

    /* Nothing in it. */
    assert_int_equal(libraries(f->j).n, 0);
    uint64_t node = 0;
    assert_int_equal(journal_library_root(f->j, REPO_A, false, &node), SEAF_ERR_NOT_FOUND);
    struct id_list *ids = calloc(1, sizeof(*ids));
    assert_int_equal(journal_staged_ids(f->j, collect_id, ids), SEAF_OK);
    assert_int_equal(ids->n, 0);
    free(ids);

    /* An empty journal reopens as one. */
    reopen(f);
    assert_int_equal(journal_seq(f->j), 0);
    assert_int_equal(libraries(f->j).n, 0);
    fixture_free(f);
}

static void test_open_refuses_other_files(void **state)
{
    (void)state;
    char *dir = test_make_dir("journal-open");
    char path[PATH_MAX];
    struct journal *j = (struct journal *)&j; /* must be reset to NULL on failure */

    /* A directory that does not exist. */
    snprintf(path, sizeof(path), "%s/missing/journal.db", dir);
    assert_int_equal(journal_open(path, &j), SEAF_ERR_IO);
    assert_null(j);

    /* Another application's database: refused and left as it is. */
    snprintf(path, sizeof(path), "%s/other.db", dir);
    sqlite3 *db = sql_open(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    sql_exec(db, "CREATE TABLE foo (x INTEGER); INSERT INTO foo VALUES (42);");
    sqlite3_close(db);
    j = (struct journal *)&j;
    assert_int_equal(journal_open(path, &j), SEAF_ERR_MALFORMED);
    assert_null(j);
    db = sql_open(path, SQLITE_OPEN_READONLY);
    assert_int_equal(sql_int(db, "SELECT x FROM foo"), 42);
    assert_false(sql_has_object(db, "table", "entries"));
    sqlite3_close(db);

    /* A journal of another version, with its rows kept. */
    snprintf(path, sizeof(path), "%s/v2.db", dir);
    assert_int_equal(journal_open(path, &j), SEAF_OK);
    uint64_t root;
    assert_int_equal(journal_library_root(j, REPO_A, true, &root), SEAF_OK);
    journal_close(j);
    db = sql_open(path, SQLITE_OPEN_READWRITE);
    sql_exec(db, "PRAGMA user_version = 2");
    sqlite3_close(db);
    assert_int_equal(journal_open(path, &j), SEAF_ERR_MALFORMED);
    assert_null(j);
    db = sql_open(path, SQLITE_OPEN_READONLY);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM libraries"), 1);
    sqlite3_close(db);

    test_remove_tree(dir);
    free(dir);
}

/* Whether the file at path holds exactly len bytes equal to data. */
static bool file_is(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "rb");
    assert_non_null(fp);
    char *buf = malloc(len + 1);
    assert_non_null(buf);
    size_t n = fread(buf, 1, len + 1, fp);
    fclose(fp);
    bool same = n == len && memcmp(buf, data, len) == 0;
    free(buf);
    return same;
}

/* Damaged files and files that are not databases: SEAF_ERR_MALFORMED (not an I/O error), and the
 * file is left as it is (it may hold the only copy of unsent changes). */
static void test_open_refuses_damaged_files(void **state)
{
    (void)state;
    char *dir = test_make_dir("journal-damaged");
    char path[PATH_MAX];
    struct journal *j = NULL;

    /* Not a database at all. */
    snprintf(path, sizeof(path), "%s/text.db", dir);
    char text[8192];
    test_fill_text(text, sizeof(text), 7);
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(text, 1, sizeof(text), fp), sizeof(text));
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(journal_open(path, &j), SEAF_ERR_MALFORMED);
    assert_null(j);
    assert_true(file_is(path, text, sizeof(text)));

    /* A journal damaged in its header (the magic string), in page 1 (the schema's b-tree page
     * header, right after the 100-byte file header), in page 2. */
    const long damage[] = {0, 100, -1};
    for (size_t i = 0; i < sizeof(damage) / sizeof(damage[0]); i++) {
        snprintf(path, sizeof(path), "%s/damaged%zu.db", dir, i);
        assert_int_equal(journal_open(path, &j), SEAF_OK);
        uint64_t root;
        assert_int_equal(journal_library_root(j, REPO_A, true, &root), SEAF_OK);
        for (int k = 0; k < 200; k++) {
            char name[16];
            snprintf(name, sizeof(name), "e%d", k);
            struct journal_entry e = file_entry(root, name, (uint64_t)k);
            assert_int_equal(journal_entry_put(j, &e), SEAF_OK);
        }
        journal_close(j); /* checkpointed: everything is in the database file */
        j = NULL;
        long offset = damage[i];
        if (offset < 0) {
            sqlite3 *db = sql_open(path, SQLITE_OPEN_READONLY);
            offset = (long)sql_int(db, "PRAGMA page_size");
            sqlite3_close(db);
        }
        struct stat before, after;
        assert_int_equal(stat(path, &before), 0);
        test_flip_byte(path, offset);
        if (journal_open(path, &j) != SEAF_ERR_MALFORMED)
            fail_msg("damage at %ld not reported as SEAF_ERR_MALFORMED", offset);
        assert_null(j);
        assert_int_equal(stat(path, &after), 0);
        assert_int_equal(after.st_size, before.st_size);
        test_flip_byte(path, offset); /* undone: it is the journal it was */
        assert_int_equal(journal_open(path, &j), SEAF_OK);
        struct listing *l = list_node(j, root);
        assert_int_equal(l->n, 200);
        listing_free(l);
        journal_close(j);
        j = NULL;
    }
    test_remove_tree(dir);
    free(dir);
}

/* ---- persistence ---- */

static void test_reopen_keeps_committed(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;

    uint64_t root_a = 0, root_b = 0, again = 0;
    assert_int_equal(journal_library_root(j, REPO_B, true, &root_b), SEAF_OK);
    assert_int_equal(journal_library_root(j, REPO_A, true, &root_a), SEAF_OK);
    assert_true(root_a != 0 && root_b != 0 && root_a != root_b);
    assert_int_equal(journal_library_root(j, REPO_A, true, &again), SEAF_OK);
    assert_int_equal(again, root_a);
    assert_int_equal(journal_library_root(j, REPO_A, false, &again), SEAF_OK);
    assert_int_equal(again, root_a);

    uint64_t n1 = 0, n2 = 0;
    assert_int_equal(journal_node_new(j, REPO_A, &n1), SEAF_OK);
    assert_int_equal(journal_node_new(j, REPO_B, &n2), SEAF_OK);
    assert_true(n1 != 0 && n2 != 0 && n1 != n2 && n1 != root_a && n1 != root_b);

    /* Staged files: one with extents whose values need all 64 bits, one with none. */
    static const uint64_t extents[] = {0,
                                       4096,
                                       0x0102030405060708ull,
                                       0x0102030405060708ull + 100,
                                       UINT64_MAX - 10,
                                       UINT64_MAX - 1};
    struct journal_staged s1;
    memset(&s1, 0, sizeof(s1));
    snprintf(s1.repo, sizeof(s1.repo), "%s", REPO_A);
    make_id(1, s1.base);
    make_id(2, s1.prev);
    s1.base_size = (1ull << 33) + 5;
    s1.base_limit = 1ull << 32;
    s1.size = (1ull << 34) + 1;
    s1.extents = (uint64_t *)extents;
    s1.n_extents = 3;
    s1.encrypted = true;
    assert_int_equal(journal_staged_new(j, &s1), SEAF_OK);
    assert_true(s1.id != 0);
    assert_int_equal(s1.seq, 1);
    struct journal_staged s2;
    memset(&s2, 0, sizeof(s2));
    snprintf(s2.repo, sizeof(s2.repo), "%s", REPO_B);
    snprintf(s2.base, sizeof(s2.base), "%s", SEAF_EMPTY_ID);
    s2.size = 12;
    assert_int_equal(journal_staged_new(j, &s2), SEAF_OK);
    assert_true(s2.id != 0 && s2.id != s1.id);
    assert_int_equal(s2.seq, 2);

    /* Entries of every kind. */
    struct journal_entry dir = file_entry(root_a, "docs", 10);
    dir.kind = JOURNAL_DIR;
    dir.follow = true;
    dir.child = n1;
    dir.mode = 040000;
    dir.size = 0;
    struct journal_entry file = file_entry(n1, "report.txt", 11);
    file.staged = s1.id;
    file.base[0] = '\0';
    file.mtime = -5;                   /* before the epoch */
    file.size = (int64_t)(1ull << 40); /* needs 64 bits */
    struct journal_entry gone = file_entry(root_b, "gone", 12);
    gone.kind = JOURNAL_DELETED;
    gone.obj[0] = '\0';
    struct journal_entry plain = file_entry(n2, "plain", 13);
    struct journal_entry *all[] = {&dir, &file, &gone, &plain};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(journal_entry_put(j, all[i]), SEAF_OK);
        assert_int_equal(all[i]->seq, 3 + i);
    }
    assert_int_equal(journal_seq(j), 6);

    struct journal_upload up;
    memset(&up, 0, sizeof(up));
    snprintf(up.repo, sizeof(up.repo), "%s", REPO_A);
    make_id(20, up.commit_id);
    make_id(21, up.parent_id);
    up.snapshot_seq = 6;
    up.started = 1700001234;
    assert_int_equal(journal_upload_put(j, &up), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "error", "quota exceeded"), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "count", "3"), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_B, "error", "it's \"quoted\" %s"), SEAF_OK);

    reopen(f);
    j = f->j;

    assert_int_equal(journal_seq(j), 6);
    struct repo_list libs = libraries(j);
    assert_int_equal(libs.n, 2);
    assert_string_equal(libs.repos[0], REPO_A); /* sorted */
    assert_string_equal(libs.repos[1], REPO_B);
    assert_int_equal(journal_library_root(j, REPO_A, false, &again), SEAF_OK);
    assert_int_equal(again, root_a);
    assert_int_equal(journal_library_root(j, REPO_B, false, &again), SEAF_OK);
    assert_int_equal(again, root_b);
    char repo[SEAF_REPO_ID_LEN + 1];
    assert_int_equal(journal_node_repo(j, root_a, repo), SEAF_OK);
    assert_string_equal(repo, REPO_A);
    assert_int_equal(journal_node_repo(j, n1, repo), SEAF_OK);
    assert_string_equal(repo, REPO_A);
    assert_int_equal(journal_node_repo(j, n2, repo), SEAF_OK);
    assert_string_equal(repo, REPO_B);
    assert_int_equal(journal_node_repo(j, n2 + 1000, repo), SEAF_ERR_NOT_FOUND);

    for (size_t i = 0; i < 4; i++)
        assert_entry_stored(j, all[i]);
    assert_staged_stored(j, &s1);
    assert_staged_stored(j, &s2);

    struct journal_upload got;
    assert_int_equal(journal_upload_get(j, REPO_A, &got), SEAF_OK);
    assert_string_equal(got.repo, REPO_A);
    assert_string_equal(got.commit_id, up.commit_id);
    assert_string_equal(got.parent_id, up.parent_id);
    assert_int_equal(got.snapshot_seq, 6);
    assert_int_equal(got.started, 1700001234);
    assert_int_equal(journal_upload_get(j, REPO_B, &got), SEAF_ERR_NOT_FOUND);
    assert_note(j, REPO_A, "error", "quota exceeded");
    assert_note(j, REPO_A, "count", "3");
    assert_note(j, REPO_B, "error", "it's \"quoted\" %s");
    assert_note(j, REPO_B, "count", NULL);

    /* The counter goes on from where it was. */
    struct journal_entry next = file_entry(root_b, "next", 14);
    assert_int_equal(journal_entry_put(j, &next), SEAF_OK);
    assert_int_equal(next.seq, 7);
    reopen(f);
    assert_int_equal(journal_seq(f->j), 7);
    assert_entry_stored(f->j, &next);
    fixture_free(f);
}

/* ---- transactions ---- */

static void test_commit_and_rollback(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;
    uint64_t root;
    assert_int_equal(journal_library_root(j, REPO_A, true, &root), SEAF_OK);

    /* Outside a transaction: committed at once. */
    struct journal_entry e1 = file_entry(root, "one", 1);
    assert_int_equal(journal_entry_put(j, &e1), SEAF_OK);
    assert_int_equal(e1.seq, 1);

    /* A committed transaction. */
    assert_int_equal(journal_begin(j), SEAF_OK);
    struct journal_entry e2 = file_entry(root, "two", 2);
    struct journal_entry e3 = file_entry(root, "three", 3);
    assert_int_equal(journal_entry_put(j, &e2), SEAF_OK);
    assert_int_equal(journal_entry_put(j, &e3), SEAF_OK);
    struct journal_staged s;
    memset(&s, 0, sizeof(s));
    snprintf(s.repo, sizeof(s.repo), "%s", REPO_A);
    snprintf(s.base, sizeof(s.base), "%s", SEAF_EMPTY_ID);
    s.size = 5;
    assert_int_equal(journal_staged_new(j, &s), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "k", "v"), SEAF_OK);
    struct journal_upload up;
    memset(&up, 0, sizeof(up));
    snprintf(up.repo, sizeof(up.repo), "%s", REPO_A);
    make_id(7, up.commit_id);
    make_id(8, up.parent_id);
    up.snapshot_seq = 3;
    assert_int_equal(journal_upload_put(j, &up), SEAF_OK);
    assert_int_equal(journal_commit(j), SEAF_OK);
    assert_int_equal(journal_seq(j), 4);

    /* A rolled back one: changes of every kind, all visible until the rollback. */
    assert_int_equal(journal_begin(j), SEAF_OK);
    struct journal_entry e4 = file_entry(root, "four", 4);
    assert_int_equal(journal_entry_put(j, &e4), SEAF_OK);
    assert_int_equal(e4.seq, 5);
    struct journal_entry e1b = file_entry(root, "one", 100);
    assert_int_equal(journal_entry_put(j, &e1b), SEAF_OK);
    assert_int_equal(journal_entry_delete(j, root, "two"), SEAF_OK);
    struct journal_staged s_new = s;
    assert_int_equal(journal_staged_new(j, &s_new), SEAF_OK);
    struct journal_staged s_changed = s;
    s_changed.size = 999;
    assert_int_equal(journal_staged_put(j, &s_changed), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "k", ""), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "k2", "v2"), SEAF_OK);
    assert_int_equal(journal_upload_delete(j, REPO_A), SEAF_OK);
    uint64_t root_b, node;
    assert_int_equal(journal_library_root(j, REPO_B, true, &root_b), SEAF_OK);
    assert_int_equal(journal_node_new(j, REPO_A, &node), SEAF_OK);
    assert_int_equal(journal_seq(j), 8);
    assert_entry_stored(j, &e4);
    assert_entry_missing(j, root, "two");
    journal_rollback(j);

    /* The sequence counter is reloaded: the numbers handed out are handed out again. */
    assert_int_equal(journal_seq(j), 4);
    for (int round = 0; round < 2; round++) {
        assert_entry_stored(j, &e1);
        assert_entry_stored(j, &e2);
        assert_entry_stored(j, &e3);
        assert_entry_missing(j, root, "four");
        assert_staged_stored(j, &s);
        struct journal_staged none;
        assert_int_equal(journal_staged_get(j, s_new.id, &none), SEAF_ERR_NOT_FOUND);
        assert_note(j, REPO_A, "k", "v");
        assert_note(j, REPO_A, "k2", NULL);
        struct journal_upload got;
        assert_int_equal(journal_upload_get(j, REPO_A, &got), SEAF_OK);
        assert_string_equal(got.commit_id, up.commit_id);
        assert_int_equal(journal_library_root(j, REPO_B, false, &root_b), SEAF_ERR_NOT_FOUND);
        char repo[SEAF_REPO_ID_LEN + 1];
        assert_int_equal(journal_node_repo(j, node, repo), SEAF_ERR_NOT_FOUND);
        struct repo_list libs = libraries(j);
        assert_int_equal(libs.n, 1);
        assert_int_equal(journal_seq(j), 4);
        reopen(f);
        j = f->j;
    }
    struct journal_entry e5 = file_entry(root, "five", 5);
    assert_int_equal(journal_entry_put(j, &e5), SEAF_OK);
    assert_int_equal(e5.seq, 5);
    reopen(f);
    assert_int_equal(journal_seq(f->j), 5);
    assert_entry_stored(f->j, &e5);
    fixture_free(f);
}

static void test_transaction_errors(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;
    uint64_t root;
    assert_int_equal(journal_library_root(j, REPO_A, true, &root), SEAF_OK);

    /* A commit without a transaction is an error, and it is reported. */
    assert_string_equal(journal_last_error(j), "");
    assert_int_equal(journal_commit(j), SEAF_ERR_IO);
    assert_non_null(strstr(journal_last_error(j), "commit"));

    /* No nesting: a second begin is refused and leaves the open transaction as it is. */
    assert_int_equal(journal_begin(j), SEAF_OK);
    struct journal_entry e = file_entry(root, "x", 1);
    assert_int_equal(journal_entry_put(j, &e), SEAF_OK);
    assert_int_equal(journal_begin(j), SEAF_ERR_IO);
    assert_non_null(strstr(journal_last_error(j), "begin"));
    assert_int_equal(journal_commit(j), SEAF_OK);
    reopen(f);
    assert_entry_stored(f->j, &e);
    fixture_free(f);
}

/* ---- entries ---- */

static void test_entry_put_get_delete(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;
    uint64_t root, other;
    assert_int_equal(journal_library_root(j, REPO_A, true, &root), SEAF_OK);
    assert_int_equal(journal_node_new(j, REPO_A, &other), SEAF_OK);

    bool any = true;
    assert_int_equal(journal_node_has_entries(j, root, &any), SEAF_OK);
    assert_false(any);
    assert_entry_missing(j, root, "a");

    struct journal_entry a = file_entry(root, "a", 1);
    assert_int_equal(journal_entry_put(j, &a), SEAF_OK);
    assert_int_equal(a.seq, 1);
    assert_entry_stored(j, &a);
    assert_int_equal(journal_node_has_entries(j, root, &any), SEAF_OK);
    assert_true(any);
    /* The same name in another node is another entry. */
    assert_entry_missing(j, other, "a");
    assert_int_equal(journal_node_has_entries(j, other, &any), SEAF_OK);
    assert_false(any);
    /* Names are exact: no case folding, no prefix match. */
    assert_entry_missing(j, root, "A");
    assert_entry_missing(j, root, "a ");

    /* Replacing takes a new sequence number and keeps one row. */
    struct journal_entry a2 = file_entry(root, "a", 2);
    a2.kind = JOURNAL_DELETED;
    assert_int_equal(journal_entry_put(j, &a2), SEAF_OK);
    assert_int_equal(a2.seq, 2);
    assert_entry_stored(j, &a2);
    struct listing *l = list_node(j, root);
    assert_int_equal(l->n, 1);
    listing_free(l);

    /* A name as long as allowed, and bytes sqlite or a format string could mind. */
    struct journal_entry longest = file_entry(root, "", 3);
    memset(longest.name, 'n', JOURNAL_NAME_MAX);
    longest.name[JOURNAL_NAME_MAX] = '\0';
    struct journal_entry odd = file_entry(root, "it's a \"name\" %s%n; DROP TABLE x;--", 4);
    struct journal_entry utf8 = file_entry(root, "caf\xc3\xa9 \xe2\x82\xac", 5);
    assert_int_equal(journal_entry_put(j, &longest), SEAF_OK);
    assert_int_equal(journal_entry_put(j, &odd), SEAF_OK);
    assert_int_equal(journal_entry_put(j, &utf8), SEAF_OK);
    reopen(f);
    j = f->j;
    assert_entry_stored(j, &a2);
    assert_entry_stored(j, &longest);
    assert_int_equal(strlen(longest.name), JOURNAL_NAME_MAX);
    assert_entry_stored(j, &odd);
    assert_entry_stored(j, &utf8);

    /* Deleting: the row goes, the others stay; a missing one is no error. */
    assert_int_equal(journal_entry_delete(j, root, "a"), SEAF_OK);
    assert_entry_missing(j, root, "a");
    assert_int_equal(journal_entry_delete(j, root, "a"), SEAF_OK);
    assert_int_equal(journal_entry_delete(j, other, "never"), SEAF_OK);
    assert_entry_stored(j, &longest);
    assert_int_equal(journal_entry_delete(j, root, longest.name), SEAF_OK);
    assert_int_equal(journal_entry_delete(j, root, odd.name), SEAF_OK);
    assert_int_equal(journal_node_has_entries(j, root, &any), SEAF_OK);
    assert_true(any);
    assert_int_equal(journal_entry_delete(j, root, utf8.name), SEAF_OK);
    assert_int_equal(journal_node_has_entries(j, root, &any), SEAF_OK);
    assert_false(any);
    /* Deleting takes no sequence number. */
    assert_int_equal(journal_seq(j), 5);
    reopen(f);
    assert_entry_missing(f->j, root, "a");
    assert_int_equal(journal_node_has_entries(f->j, root, &any), SEAF_OK);
    assert_false(any);
    fixture_free(f);
}

static void test_entries_sorted_by_name(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;
    uint64_t root, other;
    assert_int_equal(journal_library_root(j, REPO_A, true, &root), SEAF_OK);
    assert_int_equal(journal_node_new(j, REPO_A, &other), SEAF_OK);

    char longest[JOURNAL_NAME_MAX + 1];
    memset(longest, 'z', JOURNAL_NAME_MAX);
    longest[JOURNAL_NAME_MAX] = '\0';
    /* Ascending byte order (not a locale's order, not numeric, case-sensitive). */
    const char *sorted[] = {"10",    "9", "B",     "Zeta", "_x",       "a",           "a b",
                            "a.txt", "b", longest, "~",    "\xc3\xa4", "\xe2\x82\xac"};
    const int n = (int)(sizeof(sorted) / sizeof(sorted[0]));
    for (int i = 1; i < n; i++)
        assert_true(strcmp(sorted[i - 1], sorted[i]) < 0);
    for (int i = 0; i < n; i++) { /* a scrambled order: 5 is prime to 13 */
        int k = (i * 5) % n;
        struct journal_entry e = file_entry(root, sorted[k], (uint64_t)k);
        assert_int_equal(journal_entry_put(j, &e), SEAF_OK);
        struct journal_entry o = file_entry(other, sorted[k], (uint64_t)k + 100);
        if (k % 2)
            assert_int_equal(journal_entry_put(j, &o), SEAF_OK);
    }

    for (int round = 0; round < 2; round++) {
        struct listing *l = list_node(j, root);
        assert_int_equal(l->n, n);
        for (int i = 0; i < n; i++)
            assert_string_equal(l->names[i], sorted[i]);
        listing_free(l);
        l = list_node(j, other);
        assert_int_equal(l->n, n / 2);
        for (int i = 0; i < n / 2; i++)
            assert_string_equal(l->names[i], sorted[2 * i + 1]);
        listing_free(l);
        reopen(f);
        j = f->j;
    }

    /* A non-zero return stops the walk and comes back through *stopped. */
    struct listing *l = listing_new(j, root);
    l->stop_at = 4;
    l->stop_value = -7;
    int stopped = 0;
    assert_int_equal(journal_entries(j, root, collect_entry, l, &stopped), SEAF_OK);
    assert_int_equal(stopped, -7);
    assert_int_equal(l->n, 4);
    assert_string_equal(l->names[3], sorted[3]);
    listing_free(l);
    l = listing_new(j, root);
    l->stop_at = 2;
    l->stop_value = 1;
    assert_int_equal(journal_entries(j, root, collect_entry, l, NULL), SEAF_OK);
    assert_int_equal(l->n, 2);
    listing_free(l);

    /* The callback may use the journal. */
    l = listing_new(j, root);
    l->use_journal = true;
    stopped = -1;
    assert_int_equal(journal_entries(j, root, collect_entry, l, &stopped), SEAF_OK);
    assert_int_equal(stopped, 0);
    assert_int_equal(l->n, n);
    assert_int_equal(l->bad, 0);
    listing_free(l);

    /* A node without entries, and an unknown node: an empty walk. */
    uint64_t empty;
    assert_int_equal(journal_node_new(j, REPO_A, &empty), SEAF_OK);
    l = list_node(j, empty);
    assert_int_equal(l->n, 0);
    listing_free(l);
    l = list_node(j, empty + 12345);
    assert_int_equal(l->n, 0);
    listing_free(l);
    fixture_free(f);
}

#define MANY 2000

/* What entry i of the many holds: a staged file (i % 4 == 0), a directory with a node (1), a file
 * with its object (2) or nothing (3); alternately under two parents. */
static struct journal_entry many_entry(const uint64_t parent[2], const uint64_t *child, int i)
{
    char name[32];
    snprintf(name, sizeof(name), "f%04d", i);
    struct journal_entry e = file_entry(parent[i % 2], name, (uint64_t)i);
    switch (i % 4) {
    case 0:
        e.staged = 5000 + (uint64_t)i;
        break;
    case 1:
        e.kind = JOURNAL_DIR;
        e.child = child[i];
        e.mode = 040000;
        break;
    case 2:
        break;
    default:
        e.kind = JOURNAL_DELETED;
        break;
    }
    return e;
}

static void test_entry_of_child_and_staged(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;
    uint64_t parent[2];
    assert_int_equal(journal_library_root(j, REPO_A, true, &parent[0]), SEAF_OK);
    assert_int_equal(journal_node_new(j, REPO_A, &parent[1]), SEAF_OK);

    /* Nothing to find in an empty journal. */
    struct journal_entry got;
    assert_int_equal(journal_entry_of_child(j, 0, &got), SEAF_ERR_NOT_FOUND);
    assert_int_equal(journal_entry_of_staged(j, 0, &got), SEAF_ERR_NOT_FOUND);
    assert_int_equal(journal_entry_of_child(j, parent[1], &got), SEAF_ERR_NOT_FOUND);
    assert_int_equal(journal_entry_of_staged(j, 1, &got), SEAF_ERR_NOT_FOUND);

    uint64_t *child = calloc(MANY, sizeof(*child));
    struct journal_entry *want = calloc(MANY, sizeof(*want));
    assert_non_null(child);
    assert_non_null(want);
    assert_int_equal(journal_begin(j), SEAF_OK);
    for (int i = 0; i < MANY; i++) {
        if (i % 4 == 1)
            assert_int_equal(journal_node_new(j, REPO_A, &child[i]), SEAF_OK);
        want[i] = many_entry(parent, child, i);
        assert_int_equal(journal_entry_put(j, &want[i]), SEAF_OK);
        assert_int_equal(want[i].seq, (uint64_t)i + 1);
    }
    assert_int_equal(journal_commit(j), SEAF_OK);

    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < MANY; i++) {
            if (want[i].staged) {
                assert_int_equal(journal_entry_of_staged(j, want[i].staged, &got), SEAF_OK);
                assert_entry_equal(&got, &want[i]);
            }
            if (want[i].child) {
                assert_int_equal(journal_entry_of_child(j, want[i].child, &got), SEAF_OK);
                assert_entry_equal(&got, &want[i]);
            }
        }
        /* 0 means "none", though most rows hold it; unknown ids are not found. */
        assert_int_equal(journal_entry_of_staged(j, 0, &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_child(j, 0, &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_staged(j, 5001, &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_staged(j, 4999, &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_staged(j, 5000 + MANY, &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_staged(j, UINT64_MAX, &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_child(j, parent[0], &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_child(j, parent[1], &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_child(j, child[MANY - 3] + 1, &got), SEAF_ERR_NOT_FOUND);
        assert_int_equal(journal_entry_of_child(j, UINT64_MAX, &got), SEAF_ERR_NOT_FOUND);
        struct listing *l = list_node(j, parent[1]);
        assert_int_equal(l->n, MANY / 2);
        for (int i = 0; i < MANY / 2; i++)
            assert_string_equal(l->names[i], want[2 * i + 1].name);
        listing_free(l);
        reopen(f);
        j = f->j;
    }

    /* The staged file of a deleted entry is no one's; a changed one is found by its new id. */
    assert_int_equal(journal_entry_delete(j, want[8].parent, want[8].name), SEAF_OK);
    assert_int_equal(journal_entry_of_staged(j, want[8].staged, &got), SEAF_ERR_NOT_FOUND);
    uint64_t old = want[12].staged;
    want[12].staged = 777777;
    assert_int_equal(journal_entry_put(j, &want[12]), SEAF_OK);
    assert_int_equal(journal_entry_of_staged(j, old, &got), SEAF_ERR_NOT_FOUND);
    assert_int_equal(journal_entry_of_staged(j, 777777, &got), SEAF_OK);
    assert_entry_equal(&got, &want[12]);
    /* Likewise a directory whose entry now says "deleted" (child 0). */
    old = want[13].child;
    want[13].kind = JOURNAL_DELETED;
    want[13].child = 0;
    assert_int_equal(journal_entry_put(j, &want[13]), SEAF_OK);
    assert_int_equal(journal_entry_of_child(j, old, &got), SEAF_ERR_NOT_FOUND);
    assert_int_equal(journal_entry_of_child(j, want[17].child, &got), SEAF_OK);
    assert_entry_equal(&got, &want[17]);

    free(child);
    free(want);
    fixture_free(f);
}

/* The lookups by child node and by staged file must not scan every entry: they use the partial
 * indexes, which sqlite only does because the statements say "!= 0". The statements are read
 * from journal.c and planned on a separate read-only connection to the journal. */
static void test_lookups_use_partial_indexes(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    uint64_t root;
    assert_int_equal(journal_library_root(f->j, REPO_A, true, &root), SEAF_OK);
    for (int i = 0; i < 50; i++) {
        char name[16];
        snprintf(name, sizeof(name), "e%d", i);
        struct journal_entry e = file_entry(root, name, (uint64_t)i);
        e.staged = i % 2 ? (uint64_t)i : 0;
        assert_int_equal(journal_entry_put(f->j, &e), SEAF_OK);
    }
    sqlite3 *db = sql_open(f->path, SQLITE_OPEN_READONLY);

    static const struct {
        const char *key, *column, *index;
    } lookups[] = {
        {"[ST_ENTRY_STAGED]", "staged", "INDEX entries_staged"},
        {"[ST_ENTRY_CHILD]", "child", "INDEX entries_child"},
    };
    for (size_t i = 0; i < sizeof(lookups) / sizeof(lookups[0]); i++) {
        char *sql = journal_c_statement(lookups[i].key);
        char where[64];
        snprintf(where, sizeof(where), "FROM entries WHERE %s = ?1 AND %s != 0", lookups[i].column,
                 lookups[i].column);
        assert_non_null(strstr(sql, where));
        char *plan = query_plan(db, sql);
        if (!strstr(plan, lookups[i].index) || strstr(plan, "SCAN"))
            fail_msg("%s does not use %s: %s", sql, lookups[i].index, plan);
        free(plan);
        /* Without the "!= 0" the index is not usable: the check above can tell. */
        *strstr(sql, " AND ") = '\0';
        plan = query_plan(db, sql);
        assert_null(strstr(plan, lookups[i].index));
        free(plan);
        free(sql);
    }
    sqlite3_close(db);
    fixture_free(f);
}

/* ---- staged files ---- */

#define STAGED_N 300

static void test_staged_files(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;
    struct journal_staged none;
    none.extents = (uint64_t *)&none; /* must come back reset */
    none.n_extents = 5;
    assert_int_equal(journal_staged_get(j, 1, &none), SEAF_ERR_NOT_FOUND);
    assert_null(none.extents);
    assert_int_equal(none.n_extents, 0);

    static struct journal_staged s[STAGED_N];
    uint64_t ext[STAGED_N][8];
    for (int i = 0; i < STAGED_N; i++) {
        memset(&s[i], 0, sizeof(s[i]));
        snprintf(s[i].repo, sizeof(s[i].repo), "%s", i % 3 ? REPO_A : REPO_B);
        make_id((uint64_t)i, s[i].base);
        if (i % 5 == 0)
            make_id((uint64_t)i + 7777, s[i].prev);
        s[i].base_size = (uint64_t)i * 1000;
        s[i].base_limit = (uint64_t)i * 500;
        s[i].size = (uint64_t)i * 3000 + 1;
        s[i].n_extents = (size_t)(i % 4);
        for (int k = 0; k < 8; k++)
            ext[i][k] = (uint64_t)i * 100000 + (uint64_t)k * 10;
        s[i].extents = s[i].n_extents ? ext[i] : NULL;
        s[i].encrypted = i % 2 == 0;
        assert_int_equal(journal_staged_new(j, &s[i]), SEAF_OK);
        assert_int_equal(s[i].seq, (uint64_t)i + 1);
        if (i > 0)
            assert_true(s[i].id > s[i - 1].id);
        else
            assert_true(s[i].id > 0);
    }
    for (int i = 0; i < STAGED_N; i++)
        assert_staged_stored(j, &s[i]);

    /* put replaces everything (extents grow, shrink, vanish) and takes a new number. */
    uint64_t more[20];
    for (int k = 0; k < 20; k++)
        more[k] = (uint64_t)k * 4096 + (uint64_t)(k % 2);
    s[1].n_extents = 10;
    s[1].extents = more;
    s[1].size = 1u << 20;
    s[1].encrypted = !s[1].encrypted;
    snprintf(s[1].prev, sizeof(s[1].prev), "%s", s[2].base);
    s[3].n_extents = 1;
    s[2].n_extents = 0;
    s[2].extents = NULL;
    s[2].base_limit = 0;
    for (int i = 1; i <= 3; i++) {
        assert_int_equal(journal_staged_put(j, &s[i]), SEAF_OK);
        assert_int_equal(s[i].seq, STAGED_N + (uint64_t)i);
    }
    /* Deleting: every third; the others stay; a missing one is no error. */
    for (int i = 0; i < STAGED_N; i += 3)
        assert_int_equal(journal_staged_delete(j, s[i].id), SEAF_OK);
    assert_int_equal(journal_staged_delete(j, s[0].id), SEAF_OK);
    assert_int_equal(journal_staged_delete(j, s[STAGED_N - 1].id + 100), SEAF_OK);

    struct id_list *ids = calloc(1, sizeof(*ids));
    assert_non_null(ids);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < STAGED_N; i++) {
            if (i % 3 == 0)
                assert_int_equal(journal_staged_get(j, s[i].id, &none), SEAF_ERR_NOT_FOUND);
            else
                assert_staged_stored(j, &s[i]);
        }
        /* journal_staged_ids visits every id, once, and nothing else. */
        memset(ids, 0, sizeof(*ids));
        ids->j = j;
        assert_int_equal(journal_staged_ids(j, collect_id, ids), SEAF_OK);
        assert_int_equal(ids->bad, 0);
        assert_int_equal(ids->n, STAGED_N - (STAGED_N + 2) / 3);
        int k = 0;
        for (int i = 0; i < STAGED_N; i++)
            if (i % 3 != 0)
                assert_int_equal(ids->ids[k++], s[i].id);
        assert_int_equal(journal_seq(j), STAGED_N + 3);
        reopen(f);
        j = f->j;
    }
    /* A non-zero return stops the walk. */
    memset(ids, 0, sizeof(*ids));
    ids->stop_at = 5;
    assert_int_equal(journal_staged_ids(j, collect_id, ids), SEAF_OK);
    assert_int_equal(ids->n, 5);
    free(ids);
    fixture_free(f);
}

/* ---- nodes, libraries, uploads, notes ---- */

static void test_node_delete(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;
    uint64_t root, n1, n2, rb;
    assert_int_equal(journal_library_root(j, REPO_A, true, &root), SEAF_OK);
    assert_int_equal(journal_library_root(j, REPO_B, true, &rb), SEAF_OK);
    assert_int_equal(journal_node_new(j, REPO_A, &n1), SEAF_OK);
    assert_int_equal(journal_node_new(j, REPO_A, &n2), SEAF_OK);
    struct journal_entry d1 = file_entry(root, "d1", 1); /* root/d1 -> n1, n1/d2 -> n2 */
    d1.kind = JOURNAL_DIR;
    d1.child = n1;
    struct journal_entry d2 = file_entry(n1, "d2", 2);
    d2.kind = JOURNAL_DIR;
    d2.child = n2;
    assert_int_equal(journal_entry_put(j, &d1), SEAF_OK);
    assert_int_equal(journal_entry_put(j, &d2), SEAF_OK);
    struct journal_entry in1[3], in2;
    for (int i = 0; i < 3; i++) {
        char name[8];
        snprintf(name, sizeof(name), "x%d", i);
        in1[i] = file_entry(n1, name, 10 + (uint64_t)i);
        assert_int_equal(journal_entry_put(j, &in1[i]), SEAF_OK);
    }
    in2 = file_entry(n2, "x0", 20); /* same name as in n1 */
    assert_int_equal(journal_entry_put(j, &in2), SEAF_OK);

    assert_int_equal(journal_node_delete(j, n1), SEAF_OK);
    for (int round = 0; round < 2; round++) {
        /* n1 and its entries are gone... */
        char repo[SEAF_REPO_ID_LEN + 1];
        assert_int_equal(journal_node_repo(j, n1, repo), SEAF_ERR_NOT_FOUND);
        bool any = true;
        assert_int_equal(journal_node_has_entries(j, n1, &any), SEAF_OK);
        assert_false(any);
        assert_entry_missing(j, n1, "d2");
        for (int i = 0; i < 3; i++)
            assert_entry_missing(j, n1, in1[i].name);
        struct listing *l = list_node(j, n1);
        assert_int_equal(l->n, 0);
        listing_free(l);
        /* ...not the node below it, its entries, or the entry naming n1 in its parent. */
        assert_int_equal(journal_node_repo(j, n2, repo), SEAF_OK);
        assert_string_equal(repo, REPO_A);
        assert_entry_stored(j, &in2);
        assert_entry_stored(j, &d1);
        uint64_t node;
        assert_int_equal(journal_library_root(j, REPO_A, false, &node), SEAF_OK);
        assert_int_equal(node, root);
        reopen(f);
        j = f->j;
    }

    /* A root node goes with its library's record. */
    assert_int_equal(journal_node_delete(j, root), SEAF_OK);
    uint64_t node = 0;
    assert_int_equal(journal_library_root(j, REPO_A, false, &node), SEAF_ERR_NOT_FOUND);
    assert_entry_missing(j, root, "d1");
    struct repo_list libs = libraries(j);
    assert_int_equal(libs.n, 1);
    assert_string_equal(libs.repos[0], REPO_B);
    reopen(f);
    j = f->j;
    assert_int_equal(journal_library_root(j, REPO_A, false, &node), SEAF_ERR_NOT_FOUND);
    assert_int_equal(journal_library_root(j, REPO_B, false, &node), SEAF_OK);
    assert_int_equal(node, rb);
    /* Made again, it is a new node. */
    assert_int_equal(journal_library_root(j, REPO_A, true, &node), SEAF_OK);
    assert_true(node != root && node != n1 && node != n2 && node != rb);
    assert_int_equal(journal_node_delete(j, node + 1000), SEAF_OK); /* unknown: no error */
    fixture_free(f);
}

static void test_unknown_library(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    uint64_t node = 0, root;
    assert_int_equal(journal_library_root(f->j, REPO_A, true, &root), SEAF_OK);
    assert_int_equal(journal_library_root(f->j, REPO_UNKNOWN, false, &node), SEAF_ERR_NOT_FOUND);
    assert_int_equal(journal_library_root(f->j, REPO_UNKNOWN, false, &node), SEAF_ERR_NOT_FOUND);
    /* Looking did not make it. */
    reopen(f);
    assert_int_equal(journal_library_root(f->j, REPO_UNKNOWN, false, &node), SEAF_ERR_NOT_FOUND);
    struct repo_list libs = libraries(f->j);
    assert_int_equal(libs.n, 1);
    assert_string_equal(libs.repos[0], REPO_A);
    fixture_free(f);
}

static void test_uploads_and_notes(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    struct journal *j = f->j;
    struct journal_upload u, got;
    assert_int_equal(journal_upload_get(j, REPO_A, &got), SEAF_ERR_NOT_FOUND);
    memset(&u, 0, sizeof(u));
    snprintf(u.repo, sizeof(u.repo), "%s", REPO_A);
    make_id(1, u.commit_id);
    make_id(2, u.parent_id);
    u.snapshot_seq = (1ull << 40) + 3;
    u.started = -1;
    assert_int_equal(journal_upload_put(j, &u), SEAF_OK);
    /* Replaced by the next one of the library; other libraries apart. */
    make_id(3, u.commit_id);
    u.started = 1700000000;
    assert_int_equal(journal_upload_put(j, &u), SEAF_OK);
    struct journal_upload ub = u;
    snprintf(ub.repo, sizeof(ub.repo), "%s", REPO_B);
    make_id(4, ub.commit_id);
    assert_int_equal(journal_upload_put(j, &ub), SEAF_OK);

    assert_int_equal(journal_note_put(j, REPO_A, "error", "first"), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "error", "second"), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_B, "error", "b"), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "other", "o"), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "never", ""), SEAF_OK); /* deletes nothing */
    /* Neither takes a sequence number. */
    assert_int_equal(journal_seq(j), 0);

    reopen(f);
    j = f->j;
    assert_int_equal(journal_upload_get(j, REPO_A, &got), SEAF_OK);
    assert_string_equal(got.repo, REPO_A);
    assert_string_equal(got.commit_id, u.commit_id);
    assert_string_equal(got.parent_id, u.parent_id);
    assert_int_equal(got.snapshot_seq, u.snapshot_seq);
    assert_int_equal(got.started, 1700000000);
    assert_int_equal(journal_upload_get(j, REPO_B, &got), SEAF_OK);
    assert_string_equal(got.commit_id, ub.commit_id);
    assert_note(j, REPO_A, "error", "second");
    assert_note(j, REPO_B, "error", "b");
    assert_note(j, REPO_A, "other", "o");
    assert_note(j, REPO_A, "never", NULL);
    assert_note(j, REPO_UNKNOWN, "error", NULL);

    assert_int_equal(journal_upload_delete(j, REPO_A), SEAF_OK);
    assert_int_equal(journal_upload_delete(j, REPO_A), SEAF_OK);
    assert_int_equal(journal_note_put(j, REPO_A, "error", ""), SEAF_OK);
    reopen(f);
    j = f->j;
    assert_int_equal(journal_upload_get(j, REPO_A, &got), SEAF_ERR_NOT_FOUND);
    assert_int_equal(journal_upload_get(j, REPO_B, &got), SEAF_OK);
    assert_note(j, REPO_A, "error", NULL);
    assert_note(j, REPO_B, "error", "b");
    assert_note(j, REPO_A, "other", "o");
    fixture_free(f);
}

/* ---- durability ---- */

static void copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb");
    FILE *out = fopen(to, "wb");
    assert_non_null(in);
    assert_non_null(out);
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        assert_int_equal(fwrite(buf, 1, n, out), n);
    assert_int_equal(ferror(in), 0);
    fclose(in);
    assert_int_equal(fclose(out), 0);
}

/* Whether the journal at path (opened alone, as a copy without its WAL) has entry (root, name). */
static bool copy_has_entry(const char *path, const char *name)
{
    struct journal *j;
    assert_int_equal(journal_open(path, &j), SEAF_OK);
    uint64_t root = 0;
    struct journal_entry e;
    bool found = journal_library_root(j, REPO_A, false, &root) == SEAF_OK &&
                 journal_entry_get(j, root, name, &e) == SEAF_OK;
    journal_close(j);
    return found;
}

static void test_sync_writes_database_file(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    uint64_t root;
    assert_int_equal(journal_library_root(f->j, REPO_A, true, &root), SEAF_OK);
    struct journal_entry e = file_entry(root, "synced", 1);
    assert_int_equal(journal_entry_put(f->j, &e), SEAF_OK);
    char copy[PATH_MAX + 16];
    /* Committed but only in the WAL: a copy of the database file alone lacks it... */
    snprintf(copy, sizeof(copy), "%s.before", f->path);
    copy_file(f->path, copy);
    assert_false(copy_has_entry(copy, "synced"));
    /* ...until journal_sync has written it there. */
    assert_int_equal(journal_sync(f->j), SEAF_OK);
    snprintf(copy, sizeof(copy), "%s.after", f->path);
    copy_file(f->path, copy);
    assert_true(copy_has_entry(copy, "synced"));
    /* The journal goes on working after the checkpoint. */
    struct journal_entry e2 = file_entry(root, "later", 2);
    assert_int_equal(journal_entry_put(f->j, &e2), SEAF_OK);
    reopen(f);
    assert_entry_stored(f->j, &e);
    assert_entry_stored(f->j, &e2);
    fixture_free(f);
}

#define CHILD_COMMITTED 100
#define CHILD_PENDING   20000 /* more than sqlite's page cache: spilled into the WAL uncommitted */

/* In a child process: commits CHILD_COMMITTED entries named "<prefix>c%05d" and a staged file in
 * one transaction, then a note outside any; then begins a transaction of CHILD_PENDING entries
 * "<prefix>p%05d", a staged file and a change of the note, and ends without committing or
 * closing: _exit, or SIGKILL. Exit status 0 means all went as planned up to the end. */
static void child_run(const char *path, char prefix, bool sigkill)
{
    struct journal *j;
    uint64_t root;
    if (journal_open(path, &j) != SEAF_OK)
        _exit(10);
    if (journal_begin(j) != SEAF_OK || journal_library_root(j, REPO_A, true, &root) != SEAF_OK)
        _exit(11);
    char name[32];
    for (int i = 0; i < CHILD_COMMITTED; i++) {
        snprintf(name, sizeof(name), "%cc%05d", prefix, i);
        struct journal_entry e = file_entry(root, name, (uint64_t)i);
        if (journal_entry_put(j, &e) != SEAF_OK)
            _exit(12);
    }
    uint64_t ext[2] = {(uint64_t)prefix, (uint64_t)prefix + 4096};
    struct journal_staged s;
    memset(&s, 0, sizeof(s));
    snprintf(s.repo, sizeof(s.repo), "%s", REPO_A);
    snprintf(s.base, sizeof(s.base), "%s", SEAF_EMPTY_ID);
    s.size = 4096;
    s.extents = ext;
    s.n_extents = 1;
    if (journal_staged_new(j, &s) != SEAF_OK)
        _exit(13);
    if (journal_commit(j) != SEAF_OK)
        _exit(14);
    char value[2] = {prefix, '\0'};
    if (journal_note_put(j, REPO_A, "last", value) != SEAF_OK)
        _exit(15);

    if (journal_begin(j) != SEAF_OK)
        _exit(16);
    for (int i = 0; i < CHILD_PENDING; i++) {
        snprintf(name, sizeof(name), "%cp%05d", prefix, i);
        struct journal_entry e = file_entry(root, name, (uint64_t)i);
        if (journal_entry_put(j, &e) != SEAF_OK)
            _exit(17);
    }
    if (journal_staged_new(j, &s) != SEAF_OK ||
        journal_note_put(j, REPO_A, "last", "uncommitted") != SEAF_OK)
        _exit(18);
    if (sigkill)
        raise(SIGKILL);
    _exit(0);
}

/* Checks what `rounds` children (prefixes 'a', 'b', ...) left: their committed rows, nothing of
 * their open transactions. */
static void check_children(struct journal *j, int rounds)
{
    uint64_t root;
    assert_int_equal(journal_library_root(j, REPO_A, false, &root), SEAF_OK);
    assert_int_equal(journal_seq(j), (uint64_t)rounds * (CHILD_COMMITTED + 1));
    struct listing *l = list_node(j, root);
    assert_int_equal(l->n, rounds * CHILD_COMMITTED);
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < CHILD_COMMITTED; i++) {
            char name[32];
            snprintf(name, sizeof(name), "%cc%05d", 'a' + r, i);
            assert_string_equal(l->names[r * CHILD_COMMITTED + i], name);
        }
    listing_free(l);
    char name[32];
    snprintf(name, sizeof(name), "%cc%05d", 'a' + rounds - 1, CHILD_COMMITTED - 1);
    struct journal_entry want = file_entry(root, name, CHILD_COMMITTED - 1);
    want.seq = (uint64_t)rounds * (CHILD_COMMITTED + 1) - 1;
    assert_entry_stored(j, &want);
    snprintf(name, sizeof(name), "%cp%05d", 'a' + rounds - 1, 0);
    assert_entry_missing(j, root, name);

    struct id_list *ids = calloc(1, sizeof(*ids));
    assert_non_null(ids);
    ids->j = j;
    assert_int_equal(journal_staged_ids(j, collect_id, ids), SEAF_OK);
    assert_int_equal(ids->n, rounds);
    assert_int_equal(ids->bad, 0);
    struct journal_staged s;
    assert_int_equal(journal_staged_get(j, ids->ids[rounds - 1], &s), SEAF_OK);
    assert_int_equal(s.n_extents, 1);
    assert_int_equal(s.extents[0], (uint64_t)('a' + rounds - 1));
    assert_int_equal(s.seq, (uint64_t)rounds * (CHILD_COMMITTED + 1));
    free(s.extents);
    free(ids);
    char value[2] = {(char)('a' + rounds - 1), '\0'};
    assert_note(j, REPO_A, "last", value);
}

static void test_process_ends_without_closing(void **state)
{
    (void)state;
    struct fixture *f = fixture_new();
    journal_close(f->j); /* not open across fork */
    f->j = NULL;
    char wal[PATH_MAX + 8];
    snprintf(wal, sizeof(wal), "%s-wal", f->path);

    for (int round = 0; round < 2; round++) {
        bool sigkill = round == 1;
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            child_run(f->path, (char)('a' + round), sigkill);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (sigkill) {
            assert_true(WIFSIGNALED(status));
            assert_int_equal(WTERMSIG(status), SIGKILL);
        } else {
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        /* The journal was not closed: its WAL (not checkpointed into the file) holds the rows. */
        struct stat st;
        assert_int_equal(stat(wal, &st), 0);
        assert_true(st.st_size > 0);

        assert_int_equal(journal_open(f->path, &f->j), SEAF_OK);
        check_children(f->j, round + 1);
        reopen(f);
        check_children(f->j, round + 1);
        journal_close(f->j);
        f->j = NULL;
    }
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_new_creates_schema),
        cmocka_unit_test(test_open_refuses_other_files),
        cmocka_unit_test(test_open_refuses_damaged_files),
        cmocka_unit_test(test_reopen_keeps_committed),
        cmocka_unit_test(test_commit_and_rollback),
        cmocka_unit_test(test_transaction_errors),
        cmocka_unit_test(test_entry_put_get_delete),
        cmocka_unit_test(test_entries_sorted_by_name),
        cmocka_unit_test(test_entry_of_child_and_staged),
        cmocka_unit_test(test_lookups_use_partial_indexes),
        cmocka_unit_test(test_staged_files),
        cmocka_unit_test(test_node_delete),
        cmocka_unit_test(test_unknown_library),
        cmocka_unit_test(test_uploads_and_notes),
        cmocka_unit_test(test_sync_writes_database_file),
        cmocka_unit_test(test_process_ends_without_closing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
