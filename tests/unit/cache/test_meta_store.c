/* Tests of the metadata store: meta_db rows (round trip, checksums, pins, scan, persistence),
 * and the cache over it: batched puts, damaged rows dropped and reported as misses, eviction and
 * the size limit with metadata objects, an index rebuilt from the rows, the migration of a cache
 * of an earlier version (metadata as files), and kill -9 during batched writes. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "block_writer.h"
#include "cache.h"
#include "cache_test_util.h"
#include "index_db.h"
#include "meta_db.h"
#include "store.h"

#define OBJECTS 600

/* OBJECTS fs-object-like JSON texts (compressible, 100 B .. 6 KiB) and their SHA-1 ids. */
struct objects {
    char *data[OBJECTS];
    size_t len[OBJECTS];
    char id[OBJECTS][SEAF_ID_LEN + 1];
};

static struct objects *objects_new(uint64_t seed)
{
    struct objects *o = calloc(1, sizeof(*o));
    uint64_t rng = seed;
    for (int i = 0; i < OBJECTS; i++) {
        o->len[i] = 100 + test_rand(&rng) % 6000;
        o->data[i] = malloc(o->len[i]);
        test_fill_text(o->data[i], o->len[i], seed * 1000 + (uint64_t)i);
        test_sha1_id(o->data[i], o->len[i], o->id[i]);
    }
    return o;
}

static void objects_free(struct objects *o)
{
    for (int i = 0; i < OBJECTS; i++)
        free(o->data[i]);
    free(o);
}

/* cache_objects for objects [from, to). */
static struct cache_object *batch_of(const struct objects *o, int from, int to)
{
    struct cache_object *b = calloc((size_t)(to - from), sizeof(*b));
    for (int i = from; i < to; i++)
        b[i - from] = (struct cache_object){o->id[i], o->data[i], o->len[i]};
    return b;
}

static void options(struct cache_options *opts, const char *dir, uint64_t limit)
{
    cache_options_init(opts);
    opts->dir = dir;
    opts->size_limit = limit;
    opts->min_free_bytes = 0;
}

/* Whether object i is cached with the right bytes (a miss is false; wrong bytes fail). */
static bool has_object(struct cache *c, const struct objects *o, int i)
{
    char *data;
    size_t len;
    seaf_err err = cache_get_object(c, CACHE_KIND_FS, o->id[i], &data, &len);
    if (err == SEAF_ERR_NOT_FOUND)
        return false;
    assert_int_equal(err, SEAF_OK);
    assert_int_equal(len, o->len[i]);
    assert_memory_equal(data, o->data[i], len);
    assert_int_equal(data[len], '\0');
    free(data);
    return true;
}

static void path_in(const char *dir, const char *name, char out[PATH_MAX])
{
    snprintf(out, PATH_MAX, "%s/%s", dir, name);
}

static void test_rows_round_trip_and_persist(void **state)
{
    (void)state;
    char *dir = test_make_dir("meta");
    char path[PATH_MAX];
    path_in(dir, "meta.db", path);
    struct meta_db *db;
    assert_int_equal(meta_db_open(path, false, &db), SEAF_OK);
    unsigned char random[5000];
    test_fill_random(random, sizeof(random), 7);
    const char *text = "{\"dirents\": [], \"type\": 3, \"version\": 1}";
    const char *ids[3] = {"1111111111111111111111111111111111111111",
                          "2222222222222222222222222222222222222222",
                          "3333333333333333333333333333333333333333"};
    struct meta_db_object objs[3] = {
        {.kind = CACHE_KIND_FS, .id = ids[0], .data = text, .len = strlen(text)},
        {.kind = CACHE_KIND_COMMIT,
         .id = ids[1],
         .data = random,
         .len = sizeof(random),
         .pinned = true},
        {.kind = CACHE_KIND_BLOCK_MAP, .id = ids[2], .data = "", .len = 0},
    };
    assert_int_equal(meta_db_put(db, objs, 3), SEAF_OK);
    /* Incompressible bytes are stored raw: no bigger than they are, plus the row. */
    assert_true(objs[1].stored_size <= sizeof(random) + META_DB_ROW_OVERHEAD);
    assert_true(objs[1].stored_size <= meta_db_size_bound(sizeof(random)));
    /* Blocks are not metadata. */
    struct meta_db_object block = {.kind = CACHE_KIND_BLOCK, .id = ids[0], .data = "x", .len = 1};
    assert_int_equal(meta_db_put(db, &block, 1), SEAF_ERR_INVALID_ARG);
    for (int round = 0; round < 2; round++) {
        char *data;
        size_t len;
        assert_int_equal(meta_db_get(db, CACHE_KIND_FS, ids[0], &data, &len), SEAF_OK);
        assert_int_equal(len, strlen(text));
        assert_string_equal(data, text);
        free(data);
        assert_int_equal(meta_db_get(db, CACHE_KIND_COMMIT, ids[1], &data, &len), SEAF_OK);
        assert_int_equal(len, sizeof(random));
        assert_memory_equal(data, random, len);
        free(data);
        assert_int_equal(meta_db_get(db, CACHE_KIND_BLOCK_MAP, ids[2], &data, &len), SEAF_OK);
        assert_int_equal(len, 0);
        free(data);
        /* Same id, other kind: another object. */
        assert_int_equal(meta_db_get(db, CACHE_KIND_COMMIT, ids[0], &data, &len),
                         SEAF_ERR_NOT_FOUND);
        meta_db_close(db);
        assert_int_equal(meta_db_open(path, false, &db), SEAF_OK);
    }
    assert_int_equal(meta_db_set_pinned(db, CACHE_KIND_FS, ids[0], true), SEAF_OK);
    assert_int_equal(meta_db_set_pinned(db, CACHE_KIND_COMMIT, ids[1], false), SEAF_OK);
    assert_int_equal(meta_db_set_pinned(db, CACHE_KIND_FS, ids[2], true), SEAF_ERR_NOT_FOUND);
    struct meta_db_key gone = {.kind = CACHE_KIND_BLOCK_MAP};
    memcpy(gone.id, ids[2], sizeof(gone.id));
    assert_int_equal(meta_db_delete(db, &gone, 1), SEAF_OK);
    assert_int_equal(meta_db_delete(db, &gone, 1), SEAF_OK); /* a missing row is fine */
    meta_db_close(db);
    assert_int_equal(meta_db_open(path, false, &db), SEAF_OK);
    char *data;
    size_t len;
    assert_int_equal(meta_db_get(db, CACHE_KIND_BLOCK_MAP, ids[2], &data, &len),
                     SEAF_ERR_NOT_FOUND);
    meta_db_close(db);
    /* A file that is not a metadata database is refused, not misread. */
    index_db_delete_files(path);
    FILE *junk = fopen(path, "w");
    fputs("not a database at all, just text that is long enough to look like a header", junk);
    fclose(junk);
    assert_int_equal(meta_db_open(path, false, &db), SEAF_ERR_MALFORMED);
    test_remove_tree(dir);
    free(dir);
}

struct scan_result {
    int rows;
    int pinned;
};

static int count_row(int kind, const char *id, uint64_t size, bool pinned, int64_t at, void *ctx)
{
    struct scan_result *r = ctx;
    (void)id;
    (void)at;
    assert_int_equal(kind, CACHE_KIND_FS);
    assert_true(size > META_DB_ROW_OVERHEAD);
    r->rows++;
    r->pinned += pinned;
    return 0;
}

/* Runs an SQL statement on the database at path (as a disk fault or a foreign writer would). */
static void sql(const char *path, const char *statement)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, statement, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_batched_puts_checks_and_scan(void **state)
{
    (void)state;
    struct objects *o = objects_new(1);
    char *dir = test_make_dir("meta");
    struct cache_options opts;
    options(&opts, dir, 64u << 20);
    struct cache *c;
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    struct cache_object *b = batch_of(o, 0, 200);
    /* One object whose bytes do not hash to its id: refused, the others stored. */
    b[17].data = o->data[18];
    b[17].len = o->len[18];
    assert_int_equal(cache_put_objects(c, CACHE_KIND_FS, b, 200), SEAF_ERR_ID_MISMATCH);
    assert_int_equal(cache_put_objects(c, CACHE_KIND_BLOCK, b, 1), SEAF_ERR_INVALID_ARG);
    for (int i = 0; i < 200; i++)
        assert_int_equal(has_object(c, o, i), i != 17);
    /* Again, overlapping: the cached ones are left alone, the new ones added. */
    free(b);
    b = batch_of(o, 100, 300);
    assert_int_equal(cache_put_objects(c, CACHE_KIND_FS, b, 200), SEAF_OK);
    struct cache_stats st;
    cache_get_stats(c, &st);
    assert_int_equal(st.entries, 299);
    assert_int_equal(cache_put_pinned(c, CACHE_KIND_FS, o->id[0], o->data[0], o->len[0]), SEAF_OK);
    cache_free(c);
    /* No file per object: the rows are the store. */
    char path[PATH_MAX];
    path_in(dir, "fs", path);
    assert_int_equal(access(path, F_OK), -1);
    path_in(dir, "meta.db", path);
    struct meta_db *db;
    assert_int_equal(meta_db_open(path, false, &db), SEAF_OK);
    struct scan_result r = {0};
    assert_int_equal(meta_db_scan(db, count_row, &r), SEAF_OK);
    assert_int_equal(r.rows, 299);
    assert_int_equal(r.pinned, 1);
    meta_db_close(db);
    /* A row with a malformed key (a foreign writer) is deleted by the scan. */
    sql(path, "INSERT INTO objects VALUES (3, 'nonsense', 0, 0, 1, 0, 0, x'00')");
    assert_int_equal(meta_db_open(path, false, &db), SEAF_OK);
    r = (struct scan_result){0};
    assert_int_equal(meta_db_scan(db, count_row, &r), SEAF_OK);
    assert_int_equal(r.rows, 299);
    meta_db_close(db);

    /* The index is lost: rebuilt from the rows, pins included. */
    path_in(dir, "index.db", path);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    cache_get_stats(c, &st);
    assert_true(st.index_rebuilt);
    assert_int_equal(st.entries, 299);
    assert_int_equal(st.pinned, 1);
    for (int i = 0; i < 300; i++)
        assert_int_equal(has_object(c, o, i), i != 17);
    cache_free(c);
    free(b);
    objects_free(o);
    test_remove_tree(dir);
    free(dir);
}

static void test_damaged_row_is_dropped_and_refilled(void **state)
{
    (void)state;
    struct objects *o = objects_new(2);
    char *dir = test_make_dir("meta");
    struct cache_options opts;
    options(&opts, dir, 64u << 20);
    struct cache *c;
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    struct cache_object *b = batch_of(o, 0, 10);
    assert_int_equal(cache_put_objects(c, CACHE_KIND_FS, b, 10), SEAF_OK);
    cache_free(c);
    char path[PATH_MAX];
    path_in(dir, "meta.db", path);
    /* Damage: one byte of a row's data, and another row's length. */
    char statement[512];
    snprintf(statement, sizeof(statement),
             "UPDATE objects SET data = substr(data, 1, 20) || x'5a' || substr(data, 22)"
             " WHERE id = '%s'",
             o->id[3]);
    sql(path, statement);
    snprintf(statement, sizeof(statement),
             "UPDATE objects SET plain_len = plain_len + 1 WHERE id = '%s'", o->id[4]);
    sql(path, statement);
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    char *data;
    size_t len;
    for (int i = 3; i <= 4; i++) {
        assert_int_equal(cache_get_object(c, CACHE_KIND_FS, o->id[i], &data, &len),
                         SEAF_ERR_NOT_FOUND);
        assert_false(cache_contains(c, CACHE_KIND_FS, o->id[i]));
    }
    struct cache_stats st;
    cache_get_stats(c, &st);
    assert_int_equal(st.corrupt_drops, 2);
    /* The others are intact; the dropped ones can be stored again. */
    for (int i = 0; i < 10; i++)
        assert_int_equal(has_object(c, o, i), i != 3 && i != 4);
    assert_int_equal(cache_put_objects(c, CACHE_KIND_FS, b, 10), SEAF_OK);
    for (int i = 0; i < 10; i++)
        assert_true(has_object(c, o, i));
    cache_free(c);
    free(b);
    objects_free(o);
    test_remove_tree(dir);
    free(dir);
}

static void test_eviction_and_limit_with_rows(void **state)
{
    (void)state;
    struct objects *o = objects_new(3);
    char *dir = test_make_dir("meta");
    struct cache_options opts;
    options(&opts, dir, 256u * 1024);
    opts.high_water_pct = 90;
    opts.low_water_pct = 60;
    struct cache *c;
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    assert_int_equal(cache_put_pinned(c, CACHE_KIND_FS, o->id[0], o->data[0], o->len[0]), SEAF_OK);
    for (int from = 1; from < OBJECTS; from += 50) {
        int to = from + 50 < OBJECTS ? from + 50 : OBJECTS;
        struct cache_object *b = batch_of(o, from, to);
        assert_int_equal(cache_put_objects(c, CACHE_KIND_FS, b, (size_t)(to - from)), SEAF_OK);
        free(b);
        struct cache_stats st;
        cache_get_stats(c, &st);
        assert_true(st.used_bytes <= opts.size_limit);
    }
    cache_sync(c);
    struct cache_stats st;
    cache_get_stats(c, &st);
    assert_true(st.evictions > 0);
    /* Least recently used went first; the newest and the pinned one stayed. */
    assert_true(has_object(c, o, 0));
    assert_true(has_object(c, o, OBJECTS - 1));
    assert_false(has_object(c, o, 1));
    cache_free(c);
    /* The database gives freed pages back: its file stays near the limit. */
    char path[PATH_MAX];
    path_in(dir, "meta.db", path);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true((uint64_t)sb.st_size < 2 * opts.size_limit + (64u << 10));
    /* A lower limit is enforced on the rows at the next start. */
    opts.size_limit = 64u * 1024;
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    cache_get_stats(c, &st);
    assert_true(st.used_bytes <= opts.size_limit);
    assert_true(has_object(c, o, 0));
    cache_free(c);
    objects_free(o);
    test_remove_tree(dir);
    free(dir);
}

/* Writes object i as a file of an earlier cache version (a block file under fs/), pinned when
 * asked (the marker file). */
static void write_old_file(const char *dir, const struct objects *o, int i, bool pinned)
{
    struct store s;
    snprintf(s.root, sizeof(s.root), "%s", dir);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/fs", dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/fs/%.2s", dir, o->id[i]);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/fs/%.2s/%s", dir, o->id[i], o->id[i]);
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    assert_true(fd >= 0);
    struct block_writer *w;
    assert_int_equal(block_writer_new(fd, CACHE_KIND_FS, o->id[i], 4096, &w), SEAF_OK);
    assert_int_equal(block_writer_append(w, o->data[i], o->len[i]), SEAF_OK);
    char sha1[SEAF_ID_LEN + 1];
    uint64_t size;
    assert_int_equal(block_writer_finish(w, false, sha1, &size), SEAF_OK);
    block_writer_free(w);
    close(fd);
    if (pinned)
        assert_int_equal(store_pin_mark(&s, CACHE_KIND_FS, o->id[i], path), SEAF_OK);
}

static void test_old_cache_is_migrated(void **state)
{
    (void)state;
    struct objects *o = objects_new(4);
    char *dir = test_make_dir("meta");
    struct cache_options opts;
    options(&opts, dir, 64u << 20);
    struct cache *c;
    /* A cache of the earlier version: an index and metadata files, one pinned, one damaged. */
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    cache_free(c);
    char path[PATH_MAX];
    path_in(dir, "meta.db", path);
    index_db_delete_files(path);
    for (int i = 0; i < 300; i++)
        write_old_file(dir, o, i, i == 5);
    char damaged[PATH_MAX];
    snprintf(damaged, sizeof(damaged), "%s/fs/%.2s/%s", dir, o->id[9], o->id[9]);
    test_flip_byte(damaged, 3);
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    struct cache_stats st;
    cache_get_stats(c, &st);
    assert_int_equal(st.entries, 299);
    assert_int_equal(st.pinned, 1);
    /* The damaged one is dropped at the latest when read (its frame checksum fails). */
    for (int i = 0; i < 300; i++)
        assert_int_equal(has_object(c, o, i), i != 9);
    cache_free(c);
    /* The old files and directories are gone; a restart keeps everything. */
    path_in(dir, "fs", path);
    assert_int_equal(access(path, F_OK), -1);
    snprintf(path, sizeof(path), "%s/pins/%d-%s", dir, CACHE_KIND_FS, o->id[5]);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    cache_get_stats(c, &st);
    assert_int_equal(st.pinned, 1);
    assert_true(has_object(c, o, 5));
    assert_int_equal(cache_pin(c, CACHE_KIND_FS, o->id[5], false), SEAF_OK);
    cache_free(c);
    assert_int_equal(cache_new(&opts, &c), SEAF_OK);
    cache_get_stats(c, &st);
    assert_int_equal(st.pinned, 0);
    cache_free(c);
    objects_free(o);
    test_remove_tree(dir);
    free(dir);
}

/* The child of the crash test: batched puts, single puts, pins and removals, forever. */
static void crash_child(const char *dir, const struct objects *o, uint64_t seed)
{
    struct cache_options opts;
    options(&opts, dir, 1u << 20); /* evictions all the time */
    struct cache *c;
    if (cache_new(&opts, &c) != SEAF_OK)
        _exit(1);
    uint64_t rng = seed;
    for (;;) {
        int from = (int)(test_rand(&rng) % (OBJECTS - 60));
        struct cache_object *b = batch_of(o, from, from + 60);
        if (cache_put_objects(c, CACHE_KIND_FS, b, 60) != SEAF_OK)
            _exit(1);
        free(b);
        int i = (int)(test_rand(&rng) % OBJECTS);
        if (cache_put_object(c, CACHE_KIND_FS, o->id[i], o->data[i], o->len[i]) != SEAF_OK)
            _exit(1);
        cache_pin(c, CACHE_KIND_FS, o->id[i], test_rand(&rng) % 2 == 0);
        if (test_rand(&rng) % 3 == 0)
            cache_remove(c, CACHE_KIND_FS, o->id[test_rand(&rng) % OBJECTS]);
    }
}

static void test_kill_during_batched_writes(void **state)
{
    (void)state;
    struct objects *o = objects_new(5);
    char *dir = test_make_dir("meta");
    int total_found = 0;
    for (int round = 0; round < 8; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0)
            crash_child(dir, o, (uint64_t)round + 1);
        struct timespec pause = {0, (long)(30 + round * 37 % 150) * 1000 * 1000};
        nanosleep(&pause, NULL);
        kill(pid, SIGKILL);
        int status;
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status)); /* it never failed on its own */
        struct cache_options opts;
        options(&opts, dir, 1u << 20);
        struct cache *c;
        assert_int_equal(cache_new(&opts, &c), SEAF_OK);
        struct cache_stats st;
        cache_get_stats(c, &st);
        assert_false(st.index_rebuilt && round > 0 && st.entries == 0);
        int found = 0;
        for (int i = 0; i < OBJECTS; i++)
            found += has_object(c, o, i); /* every byte served is right */
        cache_get_stats(c, &st);
        assert_int_equal(st.corrupt_drops, 0);
        assert_int_equal(found, (int)st.entries);
        total_found += found;
        cache_free(c);
    }
    assert_true(total_found > 0); /* the child got some work done before its kills */
    objects_free(o);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_round_trip_and_persist),
        cmocka_unit_test(test_batched_puts_checks_and_scan),
        cmocka_unit_test(test_damaged_row_is_dropped_and_refilled),
        cmocka_unit_test(test_eviction_and_limit_with_rows),
        cmocka_unit_test(test_old_cache_is_migrated),
        cmocka_unit_test(test_kill_during_batched_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
