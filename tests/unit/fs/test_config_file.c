/* Unit tests of fs/config_file: the per-mount config file of `seafs --config FILE` (format,
 * ~ expansion, refused passwords and unsafe files) and the command line it turns into, which
 * options.c then parses like any other. */
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

#include "config_file.h"
#include "options.h"
#include "temp_file.h"

static void test_full_file(void **state)
{
    (void)state;
    const char *text = "# work account\n"
                       "\n"
                       "server = https://cloud.example.com/seafile\n"
                       "  mountpoint=~/Seafile  \r\n"
                       "; another comment\n"
                       "user = alice@example.com\n"
                       "credentials = ~/.config/seafs/work.credentials\n"
                       "cache_size\t=\t20G\n"
                       "save_keys = yes\n"
                       "allow_other = On\n"
                       "insecure = no\n"
                       "options = noatime,poll_interval=60\n"
                       "ca_file = /etc/ssl/x.pem\n";
    struct config_file c;
    char err[256] = "";
    if (config_file_parse(text, "/home/alice", &c, err, sizeof(err)) != 0)
        fail_msg("%s", err);
    assert_string_equal(c.server, "https://cloud.example.com/seafile");
    assert_string_equal(c.mountpoint, "/home/alice/Seafile");
    assert_string_equal(c.options, "user=alice@example.com,"
                                   "credentials=/home/alice/.config/seafs/work.credentials,"
                                   "cache_size=20G,save_keys,allow_other,noatime,poll_interval=60,"
                                   "ca_file=/etc/ssl/x.pem");
    config_file_release(&c);

    /* The smallest file: no options at all; a bare ~ is the home directory. */
    assert_int_equal(config_file_parse("server=http://h\nmountpoint=~", "/root", &c, err, 256), 0);
    assert_string_equal(c.mountpoint, "/root");
    assert_string_equal(c.options, "");
    config_file_release(&c);
    /* ~user and ~ inside a value are left alone. */
    assert_int_equal(config_file_parse("server=http://h\nmountpoint=~bob/x\nstate_dir=/a/~/b\n",
                                       "/h", &c, err, 256),
                     0);
    assert_string_equal(c.mountpoint, "~bob/x");
    assert_string_equal(c.options, "state_dir=/a/~/b");
    config_file_release(&c);
}

static void expect_parse_error(const char *text, const char *home, const char *fragment)
{
    struct config_file c;
    char err[256] = "";
    assert_int_equal(config_file_parse(text, home, &c, err, sizeof(err)), -1);
    if (!strstr(err, fragment))
        fail_msg("error for %s: '%s' lacks '%s'", text, err, fragment);
    config_file_release(&c);
}

static void test_errors(void **state)
{
    (void)state;
    /* A line added to a good file, and what the error says about it. */
    static const struct {
        const char *line, *error;
    } bad_lines[] = {
        {"password = hunter2", "line 3: password: no passwords"},
        {"server = http://other", "line 3: server: given twice"},
        {"user alice", "line 3: expected key = value"},
        {"user =", "line 3: user: no value"},
        {"Cache-Size = 1G", "line 3: Cache-Size: not a key"},
        {"cache_dir = /a,b", "line 3: cache_dir: a value cannot hold a comma"},
    };
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "server = http://h\nmountpoint = /m\n%s\n", bad_lines[i].line);
        expect_parse_error(text, "/h", bad_lines[i].error);
    }
    expect_parse_error("mountpoint = /m\n", "/h", "no server");
    expect_parse_error("server = http://h\n", "/h", "no mountpoint");
    expect_parse_error("server = http://h\nmountpoint = ~/S\n", NULL,
                       "line 2: mountpoint: no home directory");
}

static void test_read_refuses_files_others_may_change(void **state)
{
    (void)state;
    char *path = temp_file_write("server = http://h\nmountpoint = /m\n", 0644);
    struct config_file c;
    char err[256] = "";
    assert_int_equal(config_file_read(path, "/h", &c, err, sizeof(err)), 0);
    assert_string_equal(c.server, "http://h");
    config_file_release(&c);
    assert_int_equal(chmod(path, 0666), 0);
    assert_int_equal(config_file_read(path, "/h", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "other users"));
    config_file_release(&c);
    assert_int_equal(chmod(path, 0664), 0); /* the group may write it: refused too */
    assert_int_equal(config_file_read(path, "/h", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "other users"));
    config_file_release(&c);
    unlink(path);
    assert_int_equal(config_file_read(path, "/h", &c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    config_file_release(&c);
    free(path);
}

/* The expanded command line parsed by options.c: file first, command line after (and winning). */
static void test_expand_argv(void **state)
{
    (void)state;
    char *path = temp_file_write("server = https://cloud.example.com\n"
                                 "mountpoint = ~/Seafile\n"
                                 "user = alice@example.com\n"
                                 "poll_interval = 60\n"
                                 "x_unused = no\n",
                                 0600);
    char config_arg[64];
    snprintf(config_arg, sizeof(config_arg), "--config=%s", path);
    char *argv[] = {"seafs", "-f", "--config", path, "-o", "poll_interval=5,noatime"};
    int argc = 0;
    char **out = NULL;
    char err[256] = "";
    if (config_file_expand_argv(6, argv, "/home/alice", &argc, &out, err, sizeof(err)) != 1)
        fail_msg("%s", err);
    const char *want[] = {"seafs",
                          "https://cloud.example.com",
                          "/home/alice/Seafile",
                          "-o",
                          "user=alice@example.com,poll_interval=60",
                          "-f",
                          "-o",
                          "poll_interval=5,noatime"};
    assert_int_equal(argc, 8);
    for (int i = 0; i < argc; i++)
        assert_string_equal(out[i], want[i]);
    struct seafs_options o;
    options_init(&o);
    assert_int_equal(options_parse(&o, argc, out, err, sizeof(err)), 0);
    assert_string_equal(o.user, "alice@example.com");
    assert_int_equal(o.poll_interval, 5);
    assert_true(o.foreground);
    options_release(&o);
    config_file_free_argv(argc, out);

    char *equals_form[] = {"seafs", config_arg};
    assert_int_equal(config_file_expand_argv(2, equals_form, "/h", &argc, &out, err, 256), 1);
    assert_int_equal(argc, 5);
    assert_string_equal(out[2], "/h/Seafile");
    config_file_free_argv(argc, out);

    /* No --config: nothing to do; "--config" as an -o value is no --config either. */
    char *plain[] = {"seafs", "http://h", "/m", "-o", "--config"};
    out = NULL;
    assert_int_equal(config_file_expand_argv(5, plain, "/h", &argc, &out, err, 256), 0);
    assert_null(out);

    char *positional[] = {"seafs", "--config", path, "/mnt"};
    assert_int_equal(config_file_expand_argv(4, positional, "/h", &argc, &out, err, 256), -1);
    assert_non_null(strstr(err, "'/mnt'"));
    char *missing[] = {"seafs", "-f", "--config"};
    assert_int_equal(config_file_expand_argv(3, missing, "/h", &argc, &out, err, 256), -1);
    assert_non_null(strstr(err, "--config needs a file"));
    unlink(path);
    assert_int_equal(config_file_expand_argv(2, equals_form, "/h", &argc, &out, err, 256), -1);
    assert_non_null(strstr(err, path));
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_file),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_read_refuses_files_others_may_change),
        cmocka_unit_test(test_expand_argv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
