/* Unit tests of fs/libraries: folder names for the account's libraries (clashes, invalid names,
 * SeaDrive layout, independence of the server's order) and the saved list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

#include "libraries.h"

struct spec {
    const char *type, *id, *name, *owner;
};

static void make_repos(const struct spec *specs, size_t n, struct seahub_repo_list *out)
{
    out->repos = calloc(n, sizeof(*out->repos));
    out->n_repos = n;
    for (size_t i = 0; i < n; i++) {
        struct seahub_repo *r = &out->repos[i];
        snprintf(r->type, sizeof(r->type), "%s", specs[i].type);
        snprintf(r->id, sizeof(r->id), "%s", specs[i].id);
        memset(r->head_commit_id, 'a', SEAF_ID_LEN);
        r->name = specs[i].name ? strdup(specs[i].name) : NULL;
        r->owner = strdup(specs[i].owner);
        r->version = 1;
        r->permission = strdup("rw");
    }
}

#define ID(c) c "0000000-0000-0000-0000-000000000000"

static const struct spec clash[] = {
    {"srepo", ID("b"), "Docs", "bob@example.com"},
    {"repo", ID("a"), "Docs", "me@example.com"},
    {"grepo", ID("c"), "Docs", "Organization"},
    {"srepo", ID("d"), "Docs", "bob@example.com"},
    {"repo", ID("e"), "Docs (bob@example.com)", "me@example.com"},
    {"repo", ID("f"), NULL, "me@example.com"}, /* corrupted: left out */
    {"repo", ID("9"), "..", "me@example.com"},
};
#define N_CLASH (sizeof(clash) / sizeof(clash[0]))

static const char *folder_of(const struct library_list *l, const char *id)
{
    const struct library *lib = library_list_find(l, id);
    assert_non_null(lib);
    return lib->folder;
}

static void test_clashes_resolved_deterministically(void **state)
{
    (void)state;
    struct seahub_repo_list repos;
    make_repos(clash, N_CLASH, &repos);
    struct library_list first;
    assert_int_equal(library_list_from_repos(&repos, SEAFS_LAYOUT_FLAT, &first), 0);
    /* b and d are both bob's "Docs" and b also clashes with e's real name: b sorts first. */
    const char *b = folder_of(&first, ID("b"));
    const char *d = folder_of(&first, ID("d"));
    const char *e = folder_of(&first, ID("e"));
    assert_string_equal(e, "Docs (bob@example.com)");
    assert_string_equal(b, "Docs (b0000000)");
    assert_string_equal(d, "Docs (d0000000)");
    assert_string_equal(folder_of(&first, ID("a")), "Docs");
    assert_string_equal(folder_of(&first, ID("c")), "Docs (Organization)");
    assert_string_equal(folder_of(&first, ID("9")), "library-90000000");
    for (size_t i = 0; i < first.n; i++)
        for (size_t j = i + 1; j < first.n; j++)
            if (strcmp(first.libs[i].folder, first.libs[j].folder) == 0)
                fail_msg("folder '%s' twice", first.libs[i].folder);

    /* The same libraries in reverse order give the same folders. */
    struct seahub_repo_list reversed = repos;
    reversed.repos = calloc(N_CLASH, sizeof(*reversed.repos));
    for (size_t i = 0; i < N_CLASH; i++)
        reversed.repos[i] = repos.repos[N_CLASH - 1 - i];
    struct library_list second;
    assert_int_equal(library_list_from_repos(&reversed, SEAFS_LAYOUT_FLAT, &second), 0);
    for (size_t i = 0; i < first.n; i++)
        assert_string_equal(first.libs[i].folder, folder_of(&second, first.libs[i].id));
    free(reversed.repos);
    library_list_release(&first);
    library_list_release(&second);
    seahub_repo_list_release(&repos);
}

static void test_seadrive_layout(void **state)
{
    (void)state;
    static const struct spec specs[] = {
        {"repo", ID("a"), "Docs", "me@example.com"},
        {"srepo", ID("b"), "Docs", "bob@example.com"},
        {"grepo", ID("c"), "Docs", "Organization"},
        {"grepo", ID("d"), "Team", "My Libraries"}, /* a group named like a fixed folder */
    };
    struct seahub_repo_list repos;
    make_repos(specs, 4, &repos);
    repos.repos[3].group_name = strdup("My Libraries");
    struct library_list l;
    assert_int_equal(library_list_from_repos(&repos, SEAFS_LAYOUT_SEADRIVE, &l), 0);
    /* Different parents: no clash, no suffix. */
    assert_string_equal(folder_of(&l, ID("a")), "Docs");
    assert_string_equal(folder_of(&l, ID("b")), "Docs");
    assert_string_equal(folder_of(&l, ID("c")), "Docs");
    assert_string_equal(library_list_find(&l, ID("a"))->category, "My Libraries");
    assert_string_equal(library_list_find(&l, ID("b"))->category, "Shared with me");
    assert_string_equal(library_list_find(&l, ID("c"))->category, "Shared with all");
    assert_string_equal(library_list_find(&l, ID("d"))->category, "My Libraries (group)");
    library_list_release(&l);
    seahub_repo_list_release(&repos);
}

static void test_save_and_load(void **state)
{
    (void)state;
    struct seahub_repo_list repos;
    make_repos(clash, N_CLASH, &repos);
    repos.repos[0].read_only = true;
    repos.repos[1].encrypted = true;
    repos.repos[1].mtime = 1700000000;
    struct library_list saved, loaded;
    assert_int_equal(library_list_from_repos(&repos, SEAFS_LAYOUT_FLAT, &saved), 0);
    char path[] = "/tmp/seafs-libs-XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    assert_int_equal(library_list_save(&saved, path), 0);
    assert_int_equal(library_list_load(path, SEAFS_LAYOUT_FLAT, &loaded), 0);
    assert_int_equal(loaded.n, saved.n);
    for (size_t i = 0; i < saved.n; i++) {
        const struct library *a = &saved.libs[i];
        const struct library *b = library_list_find(&loaded, a->id);
        assert_non_null(b);
        assert_string_equal(a->folder, b->folder);
        assert_string_equal(a->head_commit_id, b->head_commit_id);
        assert_int_equal(a->read_only, b->read_only);
        assert_int_equal(a->encrypted, b->encrypted);
        assert_int_equal(a->mtime, b->mtime);
        assert_int_equal(a->kind, b->kind);
    }
    /* The two halves: the text of the loaded list is the text of the saved one, and a write
     * that cannot happen says why. */
    char *text = library_list_text(&saved);
    char *reloaded = library_list_text(&loaded);
    assert_non_null(text);
    assert_non_null(reloaded);
    assert_string_equal(text, reloaded);
    assert_int_equal(library_list_write(text, "/nonexistent-seafs-dir/libraries.json"), -ENOENT);
    assert_int_equal(library_list_write(text, path), 0);
    free(reloaded);
    free(text);
    library_list_release(&loaded);
    assert_int_equal(library_list_load(path, SEAFS_LAYOUT_FLAT, &loaded), 0);
    assert_int_equal(loaded.n, saved.n);
    FILE *f = fopen(path, "w");
    fputs("[{\"id\": \"not-a-uuid\"}]", f);
    fclose(f);
    struct library_list bad;
    assert_int_equal(library_list_load(path, SEAFS_LAYOUT_FLAT, &bad), -EINVAL);
    unlink(path);
    assert_int_equal(library_list_load(path, SEAFS_LAYOUT_FLAT, &bad), -ENOENT);
    library_list_release(&saved);
    library_list_release(&loaded);
    seahub_repo_list_release(&repos);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_clashes_resolved_deterministically),
                                       cmocka_unit_test(test_seadrive_layout),
                                       cmocka_unit_test(test_save_and_load)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
