/* Unit tests of fs/inode: numbers by (parent, name), lookup counts, forget, growth, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inode.h"

static struct inode_info file_info(const char *repo, int64_t size)
{
    struct inode_info info;
    memset(&info, 0, sizeof(info));
    info.kind = INODE_FILE;
    snprintf(info.repo_id, sizeof(info.repo_id), "%s", repo);
    memset(info.obj_id, 'a', SEAF_ID_LEN);
    info.size = size;
    return info;
}

static void test_lookup_counts_and_forget(void **state)
{
    (void)state;
    struct inode_info root = {.kind = INODE_ROOT_DIR};
    struct inode_table *t = inode_table_new(&root);
    struct inode_info a = file_info("r1", 5);
    uint64_t ino = inode_table_ref(t, INODE_ROOT, "a", &a, inode_table_clock(t));
    assert_true(ino > INODE_ROOT);
    /* Same name again: same number, one more lookup; info is refreshed. */
    a.size = 7;
    assert_int_equal(inode_table_ref(t, INODE_ROOT, "a", &a, inode_table_clock(t)), ino);
    assert_int_equal(inode_table_lookups(t, ino), 2);
    struct inode_info got;
    uint64_t parent;
    char *name = NULL;
    assert_true(inode_table_get(t, ino, &got, &parent, &name));
    assert_int_equal(got.size, 7);
    assert_int_equal(parent, INODE_ROOT);
    assert_string_equal(name, "a");
    free(name);
    /* Same content elsewhere: a different inode (numbers are not object ids). */
    uint64_t other = inode_table_ref(t, INODE_ROOT, "b", &a, inode_table_clock(t));
    assert_int_not_equal(other, ino);
    assert_int_equal(inode_table_find(t, INODE_ROOT, "b"), other);
    inode_table_forget(t, ino, 1);
    assert_int_equal(inode_table_lookups(t, ino), 1);
    inode_table_forget(t, ino, 1);
    assert_false(inode_table_get(t, ino, &got, NULL, NULL));
    assert_int_equal(inode_table_find(t, INODE_ROOT, "a"), 0);
    /* A new lookup of the forgotten name gets a fresh number, never the old one. */
    uint64_t again = inode_table_ref(t, INODE_ROOT, "a", &a, inode_table_clock(t));
    assert_true(again != ino && again != other);
    /* The root is never freed; unknown numbers are ignored. */
    inode_table_forget(t, INODE_ROOT, 100);
    assert_true(inode_table_get(t, INODE_ROOT, &got, NULL, NULL));
    inode_table_forget(t, 999999, 1);
    assert_int_equal(inode_table_count(t, NULL), 3);
    inode_table_free(t);
}

static void test_new_version_gets_new_inode(void **state)
{
    (void)state;
    struct inode_info root = {.kind = INODE_ROOT_DIR};
    struct inode_table *t = inode_table_new(&root);
    struct inode_info v1 = file_info("r", 10);
    uint64_t old = inode_table_ref(t, INODE_ROOT, "f", &v1, inode_table_clock(t));
    struct inode_info v2 = v1;
    memset(v2.obj_id, 'b', SEAF_ID_LEN); /* the file changed on the server */
    v2.size = 20;
    uint64_t fresh = inode_table_ref(t, INODE_ROOT, "f", &v2, inode_table_clock(t));
    assert_int_not_equal(fresh, old);
    assert_int_equal(inode_table_find(t, INODE_ROOT, "f"), fresh);
    /* The old inode still answers by number (for open files), with its own version. */
    struct inode_info got;
    assert_true(inode_table_get(t, old, &got, NULL, NULL));
    assert_int_equal(got.size, 10);
    assert_int_equal(inode_table_lookups(t, fresh), 1);
    /* Forgetting the detached inode leaves the name's new inode alone. */
    inode_table_forget(t, old, 1);
    assert_false(inode_table_get(t, old, &got, NULL, NULL));
    assert_int_equal(inode_table_find(t, INODE_ROOT, "f"), fresh);
    /* Same content again: the same inode. Directories keep their inode across changes. */
    assert_int_equal(inode_table_ref(t, INODE_ROOT, "f", &v2, inode_table_clock(t)), fresh);
    struct inode_info dir = v1;
    dir.kind = INODE_DIR;
    uint64_t d1 = inode_table_ref(t, INODE_ROOT, "d", &dir, inode_table_clock(t));
    memset(dir.obj_id, 'c', SEAF_ID_LEN);
    assert_int_equal(inode_table_ref(t, INODE_ROOT, "d", &dir, inode_table_clock(t)), d1);
    /* Kind change (file replaced by a folder): new inode. */
    struct inode_info as_file = file_info("r", 1);
    assert_int_not_equal(inode_table_ref(t, INODE_ROOT, "d", &as_file, inode_table_clock(t)), d1);
    inode_table_free(t);
}

/* A lookup or resolve that read what a name stands for before the inode changed (a write
 * staged it, an upload settled it) neither splits the inode nor undoes the change. */
static void test_stale_reads_do_not_undo_changes(void **state)
{
    (void)state;
    struct inode_info root = {.kind = INODE_ROOT_DIR};
    struct inode_table *t = inode_table_new(&root);
    struct inode_info v1 = file_info("r", 10);
    uint64_t ino = inode_table_ref(t, INODE_ROOT, "f", &v1, inode_table_clock(t));
    uint64_t before = inode_table_clock(t); /* a lookup starts reading here */
    struct inode_info staged = v1;
    staged.staged = 7; /* meanwhile a writer stages the file */
    assert_true(inode_table_update(t, ino, &staged));
    struct inode_info stale = v1; /* what the lookup read: the server's version */
    assert_int_equal(inode_table_ref(t, INODE_ROOT, "f", &stale, before), ino);
    assert_int_equal(stale.staged, 7); /* it is told what the inode holds */
    struct inode_info got;
    assert_true(inode_table_get(t, ino, &got, NULL, NULL));
    assert_int_equal(got.staged, 7);
    /* A resolve that began before the upload settled staged file 7 keeps the settled state. */
    before = inode_table_clock(t);
    inode_table_unstage(t, 7, "0123456789012345678901234567890123456789");
    struct inode_info old_copy = staged;
    assert_true(inode_table_update_since(t, ino, &old_copy, before));
    assert_int_equal(old_copy.staged, 0);
    assert_true(inode_table_get(t, ino, &got, NULL, NULL));
    assert_int_equal(got.staged, 0);
    assert_string_equal(got.obj_id, "0123456789012345678901234567890123456789");
    /* Nor does a plain update with the copy read before the settling. */
    assert_true(inode_table_update(t, ino, &staged));
    assert_true(inode_table_get(t, ino, &got, NULL, NULL));
    assert_int_equal(got.staged, 0);
    /* A read that began after the change applies as usual: a new server version splits. */
    struct inode_info v2 = got;
    memset(v2.obj_id, 'e', SEAF_ID_LEN);
    assert_int_not_equal(inode_table_ref(t, INODE_ROOT, "f", &v2, inode_table_clock(t)), ino);
    inode_table_free(t);
}

static void test_growth_and_collect(void **state)
{
    (void)state;
    struct inode_info root = {.kind = INODE_ROOT_DIR};
    struct inode_table *t = inode_table_new(&root);
    enum { N = 5000 };
    static uint64_t inos[N];
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "f%d", i);
        struct inode_info info = file_info(i % 2 ? "odd" : "even", i);
        inos[i] = inode_table_ref(t, i < 10 ? INODE_ROOT : inos[i % 10], name, &info,
                                  inode_table_clock(t));
        assert_true(inos[i] != 0);
    }
    assert_int_equal(inode_table_count(t, NULL), N + 1);
    for (int i = 0; i < N; i++) {
        struct inode_info got;
        assert_true(inode_table_get(t, inos[i], &got, NULL, NULL));
        assert_int_equal(got.size, i);
    }
    struct inode_ref *refs;
    size_t n = inode_table_collect(t, "odd", &refs);
    assert_int_equal(n, N / 2);
    for (size_t i = 0; i < n; i++) {
        struct inode_info got;
        assert_true(inode_table_get(t, refs[i].ino, &got, NULL, NULL));
        assert_string_equal(got.repo_id, "odd");
        assert_int_equal(inode_table_find(t, refs[i].parent, refs[i].name), refs[i].ino);
    }
    inode_refs_free(refs, n);
    n = inode_table_collect(t, NULL, &refs);
    assert_int_equal(n, N); /* everything but the root */
    inode_refs_free(refs, n);
    inode_table_free(t);
}

static struct inode_info dir_info(const char *repo)
{
    struct inode_info info;
    memset(&info, 0, sizeof(info));
    info.kind = INODE_DIR;
    snprintf(info.repo_id, sizeof(info.repo_id), "%s", repo);
    return info;
}

static size_t absent_count(struct inode_table *t)
{
    size_t absent;
    inode_table_count(t, &absent);
    return absent;
}

/* Absent names: remembered under their directory, refused across an epoch change, dropped when
 * the name gets an inode or the directory is forgotten, taken out by library. */
static void test_absent_names(void **state)
{
    (void)state;
    struct inode_info root = {.kind = INODE_ROOT_DIR};
    struct inode_table *t = inode_table_new(&root);
    struct inode_info d1 = dir_info("r1"), d2 = dir_info("r2");
    uint64_t dir1 = inode_table_ref(t, INODE_ROOT, "one", &d1, inode_table_clock(t));
    uint64_t dir2 = inode_table_ref(t, INODE_ROOT, "two", &d2, inode_table_clock(t));
    uint64_t epoch = inode_table_absent_epoch(t);
    assert_true(inode_table_note_absent(t, dir1, ".hidden", epoch));
    assert_true(inode_table_note_absent(t, dir1, ".hidden", epoch)); /* once */
    assert_true(inode_table_note_absent(t, dir1, "x", epoch));
    assert_true(inode_table_note_absent(t, dir2, ".hidden", epoch));
    assert_true(inode_table_note_absent(t, INODE_ROOT, "Later", epoch));
    assert_false(inode_table_note_absent(t, 999999, "y", epoch)); /* unknown directory */
    assert_int_equal(absent_count(t), 4);
    /* A lookup that read before a change may not let the kernel cache its answer. */
    inode_table_advance_absent(t);
    assert_false(inode_table_note_absent(t, dir1, "late", epoch));
    epoch = inode_table_absent_epoch(t);
    /* A name that gets an inode is absent no more (lookup, create, rename onto it). */
    struct inode_info f = file_info("r1", 1);
    uint64_t x = inode_table_ref(t, dir1, "x", &f, inode_table_clock(t));
    assert_int_equal(absent_count(t), 3);
    assert_true(inode_table_note_absent(t, dir1, "y", epoch));
    assert_true(inode_table_move(t, x, dir1, "y"));
    assert_int_equal(absent_count(t), 3);
    /* Taken out by library: r1's directories only, as refs of negative entries. */
    struct inode_ref *refs;
    size_t n = inode_table_collect_absent(t, "r1", &refs);
    assert_int_equal(n, 1);
    assert_int_equal(refs[0].ino, 0);
    assert_int_equal(refs[0].parent, dir1);
    assert_string_equal(refs[0].name, ".hidden");
    inode_refs_free(refs, n);
    assert_false(inode_table_note_absent(t, dir2, "z", epoch)); /* the collect was a change */
    epoch = inode_table_absent_epoch(t);
    assert_int_equal(absent_count(t), 2);
    /* A directory the kernel forgets takes its absent names along. */
    inode_table_forget(t, dir2, 1);
    assert_int_equal(absent_count(t), 1);
    /* The limit per directory: beyond it, absences are not cached. */
    char name[32];
    for (int i = 0; i < INODE_ABSENT_PER_DIR; i++) {
        snprintf(name, sizeof(name), "n%d", i);
        assert_int_equal(inode_table_note_absent(t, dir1, name, epoch), i < INODE_ABSENT_PER_DIR);
    }
    assert_false(inode_table_note_absent(t, dir1, "one too many", epoch));
    n = inode_table_collect_absent(t, NULL, &refs); /* all: the root's "Later" too */
    assert_int_equal(n, INODE_ABSENT_PER_DIR + 1);
    inode_refs_free(refs, n);
    assert_int_equal(absent_count(t), 0);
    inode_table_free(t);
}

struct worker_arg {
    struct inode_table *t;
    int id;
};

static void *lookup_forget_loop(void *p)
{
    struct worker_arg *w = p;
    char name[16];
    struct inode_info info = file_info("r", 1);
    for (int i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "n%d", i % 50);
        uint64_t ino = inode_table_ref(w->t, INODE_ROOT, name, &info, inode_table_clock(w->t));
        inode_table_forget(w->t, ino, 1);
    }
    return NULL;
}

static void test_concurrent_lookups(void **state)
{
    (void)state;
    struct inode_info root = {.kind = INODE_ROOT_DIR};
    struct inode_table *t = inode_table_new(&root);
    pthread_t threads[4];
    struct worker_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct worker_arg){t, i};
        pthread_create(&threads[i], NULL, lookup_forget_loop, &args[i]);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    /* Every lookup was forgotten: only the root is left. */
    assert_int_equal(inode_table_count(t, NULL), 1);
    inode_table_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_lookup_counts_and_forget),
                                       cmocka_unit_test(test_new_version_gets_new_inode),
                                       cmocka_unit_test(test_stale_reads_do_not_undo_changes),
                                       cmocka_unit_test(test_growth_and_collect),
                                       cmocka_unit_test(test_absent_names),
                                       cmocka_unit_test(test_concurrent_lookups)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
