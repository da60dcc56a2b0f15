/* Unit tests of net/token_store: round trip, private modes, atomic replacement (no temporary
 * files left), refusal of files others can read, of bad names and of non-token contents. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "token_store.h"

#define TOKEN_A "c7c9bdccbe007033b1d232dd8fcae2e4a6bdec79"
#define TOKEN_B "e84466d9528185dbaa8b383ec92880e71802c0df"

static int make_dir(void **state)
{
    char *dir = strdup("/tmp/seafs-token-test-XXXXXX");

    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

static int remove_dir(void **state)
{
    char command[128];

    snprintf(command, sizeof(command), "rm -rf '%s'", (char *)*state);
    assert_int_equal(system(command), 0);
    free(*state);
    return 0;
}

static size_t count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    size_t n = 0;

    while ((e = readdir(d)) != NULL)
        n += e->d_name[0] != '.' || (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."));
    closedir(d);
    return n;
}

static void test_round_trip_and_modes(void **state)
{
    char sub[256];
    char path[300];
    char token[SEAF_ID_LEN + 1];
    struct stat st;

    snprintf(sub, sizeof(sub), "%s/tokens", (char *)*state);
    assert_int_equal(token_store_load(sub, "api-x", token), SEAF_ERR_NOT_FOUND);
    assert_int_equal(token_store_save(sub, "api-x", TOKEN_A), SEAF_OK);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/api-x", sub);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(token_store_load(sub, "api-x", token), SEAF_OK);
    assert_string_equal(token, TOKEN_A);
    /* Replacing leaves exactly one file behind (no temporary file). */
    assert_int_equal(token_store_save(sub, "api-x", TOKEN_B), SEAF_OK);
    assert_int_equal(token_store_load(sub, "api-x", token), SEAF_OK);
    assert_string_equal(token, TOKEN_B);
    assert_int_equal(count_entries(sub), 1);
    assert_int_equal(token_store_remove(sub, "api-x"), SEAF_OK);
    assert_int_equal(token_store_remove(sub, "api-x"), SEAF_OK);
    assert_int_equal(token_store_load(sub, "api-x", token), SEAF_ERR_NOT_FOUND);
}

static void test_readable_by_others_is_ignored(void **state)
{
    char path[300];
    char token[SEAF_ID_LEN + 1];

    assert_int_equal(token_store_save(*state, "t", TOKEN_A), SEAF_OK);
    snprintf(path, sizeof(path), "%s/t", (char *)*state);
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(token_store_load(*state, "t", token), SEAF_ERR_NOT_FOUND);
}

static void test_bad_input(void **state)
{
    char path[300];
    char token[SEAF_ID_LEN + 1];
    FILE *f;

    assert_int_equal(token_store_save(*state, "../escape", TOKEN_A), SEAF_ERR_INVALID_ARG);
    assert_int_equal(token_store_save(*state, ".hidden", TOKEN_A), SEAF_ERR_INVALID_ARG);
    assert_int_equal(token_store_save(*state, "", TOKEN_A), SEAF_ERR_INVALID_ARG);
    assert_int_equal(token_store_save(*state, "ok", "not-a-token"), SEAF_ERR_INVALID_ARG);
    assert_int_equal(token_store_save(*state, "ok", NULL), SEAF_ERR_INVALID_ARG);
    assert_int_equal(token_store_load(*state, "a/b", token), SEAF_ERR_INVALID_ARG);
    /* A file with something other than one token is not a token. */
    snprintf(path, sizeof(path), "%s/garbage", (char *)*state);
    f = fopen(path, "w");
    fputs(TOKEN_A "extra\n", f);
    fclose(f);
    assert_int_equal(chmod(path, 0600), 0);
    assert_int_equal(token_store_load(*state, "garbage", token), SEAF_ERR_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip_and_modes, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_readable_by_others_is_ignored, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(test_bad_input, make_dir, remove_dir),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
