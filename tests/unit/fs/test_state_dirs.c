/* Unit tests of fs/state_dirs: per-account directory names, defaults without HOME, creation and
 * the persistent device id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seaf_ids.h"
#include "state_dirs.h"

static void test_account_name(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(state_dirs_account_name("alice@example.com", "https://cloud.example.com/sea",
                                             out, sizeof(out)),
                     0);
    assert_string_equal(out, "alice@example.com@cloud.example.com");
    assert_int_equal(
        state_dirs_account_name("../evil/x", "http://127.0.0.1:8000", out, sizeof(out)), 0);
    assert_null(strchr(out, '/'));
    assert_true(out[0] != '.');
    assert_string_equal(out, "_._evil_x@127.0.0.1_8000");
    assert_int_equal(state_dirs_account_name("a", "ftp://x", out, sizeof(out)), -1);
    assert_int_equal(state_dirs_account_name("alice", "https://h", out, 7), -1);
}

static void test_default_base_without_home(void **state)
{
    (void)state;
    char out[4096];
    char *saved_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    unsetenv("HOME");
    unsetenv("XDG_CACHE_HOME");
    unsetenv("XDG_STATE_HOME");
    assert_int_equal(state_dirs_default_base("cache", out, sizeof(out)), 0);
    if (geteuid() == 0)
        assert_string_equal(out, "/var/cache/seafs");
    else
        assert_non_null(strstr(out, "/.cache/seafs"));
    assert_int_equal(state_dirs_default_base("state", out, sizeof(out)), 0);
    if (geteuid() == 0)
        assert_string_equal(out, "/var/lib/seafs");
    else
        assert_non_null(strstr(out, "/.local/state/seafs"));
    if (saved_home) {
        setenv("HOME", saved_home, 1);
        free(saved_home);
    }
}

static void test_base_for_an_ordinary_user(void **state)
{
    (void)state;
    char out[4096];
    /* XDG variables first, when absolute. */
    assert_int_equal(state_dirs_base_for("cache", false, "/home/a/.xc", "/home/a", out, 4096), 0);
    assert_string_equal(out, "/home/a/.xc/seafs");
    assert_int_equal(state_dirs_base_for("state", false, "/home/a/.xs", "/home/a", out, 4096), 0);
    assert_string_equal(out, "/home/a/.xs/seafs");
    /* Unset, empty or relative: the home directory's defaults. */
    assert_int_equal(state_dirs_base_for("cache", false, NULL, "/home/a", out, sizeof(out)), 0);
    assert_string_equal(out, "/home/a/.cache/seafs");
    assert_int_equal(state_dirs_base_for("state", false, "", "/home/a", out, sizeof(out)), 0);
    assert_string_equal(out, "/home/a/.local/state/seafs");
    assert_int_equal(state_dirs_base_for("state", false, "rel", "/home/a", out, sizeof(out)), 0);
    assert_string_equal(out, "/home/a/.local/state/seafs");
    /* No usable home: no default. */
    assert_int_equal(state_dirs_base_for("cache", false, NULL, NULL, out, sizeof(out)), -1);
    assert_int_equal(state_dirs_base_for("cache", false, NULL, "home", out, sizeof(out)), -1);
    /* Root: /var whatever the variables say; too long: -1. */
    assert_int_equal(state_dirs_base_for("cache", true, "/x", "/root", out, sizeof(out)), 0);
    assert_string_equal(out, "/var/cache/seafs");
    assert_int_equal(state_dirs_base_for("state", true, NULL, NULL, out, sizeof(out)), 0);
    assert_string_equal(out, "/var/lib/seafs");
    assert_int_equal(state_dirs_base_for("cache", false, "/home/a/.xc", NULL, out, 12), -1);
}

static void test_create_and_device_id(void **state)
{
    (void)state;
    char base[] = "/tmp/seafs-dirs-XXXXXX";
    assert_non_null(mkdtemp(base));
    char deep[512];
    snprintf(deep, sizeof(deep), "%s/a/b/c", base);
    assert_int_equal(state_dirs_create(deep, 0700), 0);
    assert_int_equal(state_dirs_create(deep, 0700), 0); /* exists: fine */
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    char first[41], second[41];
    assert_int_equal(state_dirs_device_id(deep, first), 0);
    assert_true(seaf_id_valid(first, strlen(first)));
    assert_int_equal(state_dirs_device_id(deep, second), 0);
    assert_string_equal(first, second); /* stable across mounts */
    char path[600];
    snprintf(path, sizeof(path), "%s/device-id", deep);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    /* A damaged id file is replaced by a new valid id. */
    FILE *f = fopen(path, "w");
    fputs("garbage", f);
    fclose(f);
    assert_int_equal(state_dirs_device_id(deep, second), 0);
    assert_true(seaf_id_valid(second, strlen(second)));
    char saved[64] = "";
    f = fopen(path, "r");
    assert_non_null(f);
    assert_non_null(fgets(saved, sizeof(saved), f));
    fclose(f);
    saved[strcspn(saved, "\n")] = '\0';
    assert_string_equal(saved, second); /* the replacement is what later mounts read */
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(state_dirs_device_id(deep, first), 0);
    assert_string_equal(first, second);
    unlink(path);
    snprintf(path, sizeof(path), "rm -rf '%s'", base);
    assert_int_equal(system(path), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_account_name),
                                       cmocka_unit_test(test_default_base_without_home),
                                       cmocka_unit_test(test_base_for_an_ordinary_user),
                                       cmocka_unit_test(test_create_and_device_id)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
