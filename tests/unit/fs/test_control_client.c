/* Unit tests of fs/ctl (the `seafs status|unlock|lock` client) without a daemon: argument
 * parsing (passwords never from argv, usage errors) and the human-readable status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Parses a NULL-terminated argument list; returns ctl_parse_args's result. */
static int parse(struct ctl_args *a, char *err, const char *first, ...)
{
    char *argv[16] = {"seafs", (char *)first};
    int argc = 2;
    va_list ap;
    va_start(ap, first);
    const char *arg;
    while ((arg = va_arg(ap, const char *)) && argc < 15)
        argv[argc++] = (char *)arg;
    va_end(ap);
    return ctl_parse_args(argc, argv, a, err, 256);
}

static void test_is_command(void **state)
{
    (void)state;
    assert_true(ctl_is_command("status"));
    assert_true(ctl_is_command("unlock"));
    assert_true(ctl_is_command("lock"));
    assert_false(ctl_is_command("https://server"));
    assert_false(ctl_is_command("--help"));
    assert_false(ctl_is_command(NULL));
}

static void test_parse_status(void **state)
{
    (void)state;
    struct ctl_args a;
    char err[256];
    assert_int_equal(parse(&a, err, "status", NULL), 0);
    assert_int_equal(a.command, CTL_STATUS);
    assert_null(a.mountpoint);
    assert_false(a.json);
    assert_int_equal(parse(&a, err, "status", "/mnt", "--json", NULL), 0);
    assert_string_equal(a.mountpoint, "/mnt");
    assert_true(a.json);
    assert_int_equal(parse(&a, err, "status", "--json", "/mnt", NULL), 0);
    assert_string_equal(a.mountpoint, "/mnt");
    assert_int_equal(parse(&a, err, "status", "/a", "/b", NULL), -1);
    assert_non_null(strstr(err, "unexpected argument /b"));
    assert_int_equal(parse(&a, err, "status", "--verbose", NULL), -1);
    assert_non_null(strstr(err, "unknown argument --verbose"));
    /* Options of other subcommands are not accepted. */
    assert_int_equal(parse(&a, err, "status", "--password-stdin", NULL), -1);
    assert_int_equal(parse(&a, err, "status", "-h", NULL), 0);
    assert_true(a.help);
}

static void test_parse_unlock(void **state)
{
    (void)state;
    struct ctl_args a;
    char err[256];
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "Secret", NULL), 0);
    assert_int_equal(a.command, CTL_UNLOCK);
    assert_string_equal(a.mountpoint, "/mnt");
    assert_string_equal(a.library, "Secret");
    assert_null(a.password_file);
    assert_false(a.password_stdin);
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "Secret", "--password-file", "pw", NULL), 0);
    assert_string_equal(a.password_file, "pw");
    assert_int_equal(parse(&a, err, "unlock", "--password-file=/x/pw", "/mnt", "S", NULL), 0);
    assert_string_equal(a.password_file, "/x/pw");
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "S", "--password-stdin", NULL), 0);
    assert_true(a.password_stdin);
    /* Never a password on the command line. */
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "S", "--password", "s3cret", NULL), -1);
    assert_non_null(strstr(err, "never taken on the command line"));
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "S", "--password=s3cret", NULL), -1);
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "S", "-p", "s3cret", NULL), -1);
    /* Usage errors. */
    assert_int_equal(parse(&a, err, "unlock", "/mnt", NULL), -1);
    assert_non_null(strstr(err, "needs MOUNTPOINT and LIBRARY"));
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "S", "extra", NULL), -1);
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "S", "--password-file", NULL), -1);
    assert_int_equal(
        parse(&a, err, "unlock", "/mnt", "S", "--password-file", "f", "--password-stdin", NULL),
        -1);
    assert_int_equal(parse(&a, err, "unlock", "/mnt", "S", "--json", NULL), -1);
}

static void test_parse_lock(void **state)
{
    (void)state;
    struct ctl_args a;
    char err[256];
    assert_int_equal(parse(&a, err, "lock", "/mnt", "Secret", NULL), 0);
    assert_int_equal(a.command, CTL_LOCK);
    assert_string_equal(a.library, "Secret");
    assert_int_equal(parse(&a, err, "lock", "/mnt", NULL), -1);
    assert_int_equal(parse(&a, err, "lock", "/mnt", "S", "--password-stdin", NULL), -1);
    char *argv[] = {"seafs", "mount"};
    assert_int_equal(ctl_parse_args(2, argv, &a, err, sizeof(err)), -1);
}

static const char *SAMPLE =
    "{\"version\":\"1.2\",\"pid\":42,\"mountpoint\":\"/mnt/sea\",\"server\":\"https://s\","
    "\"account\":\"a@b.c\",\"online\":false,\"mounted_at\":1000,\"now\":4600,"
    "\"libraries\":[{\"path\":\"Docs\",\"name\":\"Docs\",\"id\":\"c4910f68-4419-472d-8790-"
    "7d453cca13f4\",\"encrypted\":false,\"locked\":false,\"read_only\":true,\"head_commit\":"
    "\"549115324a52afbcae8894c85814f1b3723b07c5\",\"head_time\":1000,\"head_age\":200000},"
    "{\"path\":\"My Libraries/Secret\",\"name\":\"Secret\",\"id\":\"c8d1\",\"encrypted\":true,"
    "\"locked\":true,\"read_only\":false,\"head_commit\":\"6f7470e14131c4b5a0c6\","
    "\"head_time\":1,\"head_age\":30},"
    "{\"path\":\"Secret4\",\"name\":\"Secret4\",\"id\":\"a853\",\"encrypted\":true,"
    "\"locked\":false,\"read_only\":false,\"head_commit\":\"3d99b97450981ad406fb\","
    "\"head_time\":1,\"head_age\":7200}],"
    "\"cache\":{\"used_bytes\":1572864,\"limit_bytes\":10737418240,\"entries\":7,\"hits\":3,"
    "\"misses\":1,\"hit_ratio\":0.75,\"evictions\":0},"
    "\"network\":{\"requests\":12,\"retries\":1,\"bytes_received\":2048,"
    "\"transfers_in_progress\":2},"
    "\"errors\":[{\"time\":1000,\"level\":\"warning\",\"message\":\"server unreachable\"}]}";

static char *render(const char *text)
{
    json_error_t error;
    json_t *status = json_loads(text, 0, &error);
    assert_non_null(status);
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    ctl_print_status(f, status);
    fclose(f);
    json_decref(status);
    return out;
}

static void test_print_status(void **state)
{
    (void)state;
    char *out = render(SAMPLE);
    assert_non_null(strstr(out, "/mnt/sea: seafs 1.2, pid 42, mounted 60m ago"));
    assert_non_null(strstr(out, "server:    https://s (offline)"));
    assert_non_null(strstr(out, "account:   a@b.c"));
    assert_non_null(strstr(out, "1.5 MiB of 10.0 GiB, 7 objects, hit ratio 75% (3 of 4 lookups)"));
    assert_non_null(strstr(out, "2.0 KiB fetched in 12 requests (1 retries), 2 in progress"));
    assert_non_null(strstr(out, "libraries: 3"));
    /* One row per library: folder, state, access, head commit prefix, age. */
    assert_non_null(
        strstr(out, "Docs                 plain     ro      549115324a52  2d ago    c4910f68-"));
    assert_non_null(
        strstr(out, "My Libraries/Secret  locked    rw      6f7470e14131  30s ago   c8d1\n"));
    assert_non_null(strstr(out, "Secret4              unlocked  rw      3d99b9745098  2h ago"));
    assert_non_null(strstr(out, "locked: encrypted, files refuse reads (EACCES) until `seafs "
                                "unlock /mnt/sea LIBRARY`"));
    assert_non_null(strstr(out, "warning: server unreachable"));
    free(out);

    /* Nothing opened yet, no errors. */
    out = render("{\"mountpoint\":\"/m\",\"online\":true,\"libraries\":[],\"cache\":{\"hits\":0,"
                 "\"misses\":0,\"hit_ratio\":null},\"network\":{},\"errors\":[]}");
    assert_non_null(strstr(out, "(online)"));
    assert_non_null(strstr(out, "hit ratio -"));
    assert_non_null(strstr(out, "libraries: 0"));
    assert_non_null(strstr(out, "last errors: none"));
    assert_null(strstr(out, "locked:"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_command),   cmocka_unit_test(test_parse_status),
        cmocka_unit_test(test_parse_unlock), cmocka_unit_test(test_parse_lock),
        cmocka_unit_test(test_print_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
