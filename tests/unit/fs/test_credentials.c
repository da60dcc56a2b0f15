/* Unit tests of fs/credentials: the permission rule for credentials files and their format. */
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

#include "credentials.h"
#include "temp_file.h"

static void test_permission_rule(void **state)
{
    (void)state;
    struct stat st;
    memset(&st, 0, sizeof(st));
    st.st_mode = S_IFREG | 0600;
    st.st_uid = 1000;
    assert_null(credentials_file_problem(&st, 1000));
    st.st_mode = S_IFREG | 0400;
    assert_null(credentials_file_problem(&st, 1000));
    st.st_mode = S_IFREG | 0640;
    assert_non_null(credentials_file_problem(&st, 1000));
    st.st_mode = S_IFREG | 0604;
    assert_non_null(credentials_file_problem(&st, 1000));
    st.st_mode = S_IFREG | 0600;
    assert_non_null(credentials_file_problem(&st, 1001)); /* someone else's file */
    st.st_uid = 0;
    assert_null(credentials_file_problem(&st, 1001)); /* root's file is fine */
    st.st_mode = S_IFDIR | 0700;
    assert_non_null(credentials_file_problem(&st, 0));
}

static void read_ok(const char *text, const char *want_user, const char *want_password)
{
    char *path = temp_file_write(text, 0600);
    char *user = NULL, *password = NULL, err[256];
    assert_int_equal(credentials_read_file(path, &user, &password, err, sizeof(err)), 0);
    if (want_user)
        assert_string_equal(user, want_user);
    else
        assert_null(user);
    assert_string_equal(password, want_password);
    credentials_free_secret(user);
    credentials_free_secret(password);
    unlink(path);
    free(path);
}

static void test_formats(void **state)
{
    (void)state;
    read_ok("s3cret\n", NULL, "s3cret");
    read_ok("with spaces and = sign\r\n", NULL, "with spaces and = sign");
    read_ok("userpass-looking-password\n", NULL, "userpass-looking-password");
    read_ok("user=alice@example.com\npassword=pw\n", "alice@example.com", "pw");
    read_ok("password=pw=x\n# comment\nusername=bob\n", "bob", "pw=x");
}

static void read_fails(const char *text, mode_t mode, const char *fragment)
{
    char *path = temp_file_write(text, mode);
    char *user = NULL, *password = NULL, err[256] = "";
    assert_int_equal(credentials_read_file(path, &user, &password, err, sizeof(err)), -1);
    assert_null(password);
    assert_null(user);
    if (!strstr(err, fragment))
        fail_msg("error '%s' does not mention '%s'", err, fragment);
    unlink(path);
    free(path);
}

static void test_refusals(void **state)
{
    (void)state;
    read_fails("pw\n", 0644, "group or others");
    read_fails("pw\n", 0660, "group or others");
    read_fails("", 0600, "no password");
    read_fails("user=alice\n", 0600, "no password");
    read_fails("user=alice\nfoo=bar\n", 0600, "not user=");
    char *user = NULL, *password = NULL, err[256];
    assert_int_equal(
        credentials_read_file("/nonexistent/seafs", &user, &password, err, sizeof(err)), -1);
}

/* Lines from a pipe: the newline and trailing CRs go, the rest of the input stays unread, an
 * empty line is no line, and a line longer than max - 1 bytes is cut there. */
static void test_read_line(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char input[] = "s3cret pw\r\n\nabcdefgh\nlast";
    assert_int_equal(write(fds[1], input, sizeof(input) - 1), (ssize_t)(sizeof(input) - 1));
    close(fds[1]);
    char *line = credentials_read_line(fds[0], 64);
    assert_non_null(line);
    assert_string_equal(line, "s3cret pw");
    credentials_free_secret(line);
    assert_null(credentials_read_line(fds[0], 64)); /* the empty line */
    line = credentials_read_line(fds[0], 5);
    assert_non_null(line);
    assert_string_equal(line, "abcd");
    credentials_free_secret(line);
    line = credentials_read_line(fds[0], 64);
    assert_non_null(line);
    assert_string_equal(line, "efgh");
    credentials_free_secret(line);
    line = credentials_read_line(fds[0], 64); /* no newline before the end */
    assert_non_null(line);
    assert_string_equal(line, "last");
    credentials_free_secret(line);
    assert_null(credentials_read_line(fds[0], 64)); /* end of input */
    assert_null(credentials_read_line(fds[0], 0));
    close(fds[0]);
    credentials_free_secret(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permission_rule), cmocka_unit_test(test_formats),
        cmocka_unit_test(test_refusals), cmocka_unit_test(test_read_line)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
