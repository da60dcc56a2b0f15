/* Unit tests of fs/options: the seafs command line as mount(8), fstab and users write it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "options.h"

static int parse(struct seafs_options *o, char *err, int argc, char **argv)
{
    options_init(o);
    return options_parse(o, argc, argv, err, 256);
}

static void test_mount_helper_form(void **state)
{
    (void)state;
    char *argv[] = {
        "seafs",
        "https://cloud.example.com/seafile",
        "/mnt/x",
        "-o",
        "rw,user=alice@example.com,credentials=/etc/seafs/alice,_netdev,nofail,"
        "x-systemd.automount,x-gvfs-show,noauto,defaults,cache_size=2G,"
        "poll_interval=5,timeout=7,connect_timeout=3,connections=2,readahead=16M,range_reads=off,"
        "uid=1000,gid=100,umask=027,layout=seadrive,allow_other,insecure,nosuid,relatime,"
        "noatime",
        "-f"};
    struct seafs_options o;
    char err[256] = "";
    assert_int_equal(parse(&o, err, 6, argv), 0);
    assert_string_equal(o.server_url, "https://cloud.example.com/seafile");
    assert_string_equal(o.mountpoint, "/mnt/x");
    assert_string_equal(o.user, "alice@example.com");
    assert_string_equal(o.credentials_file, "/etc/seafs/alice");
    assert_int_equal(o.cache_size, 2ULL << 30);
    assert_int_equal(o.poll_interval, 5);
    assert_int_equal(o.timeout, 7);
    assert_int_equal(o.connect_timeout, 3);
    assert_int_equal(o.connections, 2);
    assert_int_equal(o.readahead, 16ULL << 20);
    assert_int_equal(o.range_reads, SEAFS_RANGE_OFF);
    assert_int_equal(o.uid, 1000);
    assert_int_equal(o.gid, 100);
    assert_int_equal(o.umask, 027);
    assert_int_equal(o.layout, SEAFS_LAYOUT_SEADRIVE);
    assert_true(o.allow_other);
    assert_true(o.insecure);
    assert_true(o.foreground);
    /* mount flags and allow_other go to FUSE; mount(8)/systemd additions do not */
    assert_string_equal(o.fuse_opts, "rw,allow_other,nosuid,noatime");
    options_release(&o);
}

static void test_defaults_and_flags(void **state)
{
    (void)state;
    char *argv[] = {"seafs", "-ouser=bob", "http://h:8000", "/m", "-d"};
    struct seafs_options o;
    char err[256];
    assert_int_equal(parse(&o, err, 5, argv), 0);
    assert_int_equal(o.poll_interval, 30);
    assert_int_equal(o.layout, SEAFS_LAYOUT_FLAT);
    assert_true(o.debug);
    assert_true(o.foreground);
    assert_false(o.insecure);
    assert_false(o.save_keys);
    assert_int_equal(o.connections, 8);
    assert_int_equal(o.readahead, 64ULL << 20);
    assert_int_equal(o.range_reads, SEAFS_RANGE_AUTO);
    assert_int_equal(o.cache_size, 10ULL << 30);
    assert_int_equal(o.connect_timeout, 10);
    assert_int_equal(o.timeout, 30);
    assert_string_equal(o.fuse_opts, "");
    options_release(&o);

    /* The -o flags of seafs's own, each setting only its field and none going to FUSE. */
    char *flag_argv[] = {"seafs", "http://h:8000", "/m", "-o", "user=bob,save_keys,debug"};
    assert_int_equal(parse(&o, err, 5, flag_argv), 0);
    assert_true(o.save_keys);
    assert_true(o.debug);
    assert_false(o.foreground);
    assert_false(o.insecure);
    assert_string_equal(o.fuse_opts, "");
    options_release(&o);
    flag_argv[4] = "user=bob,foreground";
    assert_int_equal(parse(&o, err, 5, flag_argv), 0);
    assert_true(o.foreground);
    assert_false(o.debug);
    assert_false(o.save_keys);
    options_release(&o);
}

/* Each option an fstab line for systemd adds (its fstab generator, mount.fuse3 and desktops
 * read them; _netdev and nofail reach seafs when mount(8) runs it directly): accepted alone and
 * all together, none of them changing a setting or reaching FUSE. */
static void test_systemd_fstab_options_are_ignored(void **state)
{
    (void)state;
    const char *const added[] = {"_netdev",
                                 "nofail",
                                 "x-systemd.automount",
                                 "x-systemd.mount-timeout=30",
                                 "x-systemd.idle-timeout=10min",
                                 "x-systemd.requires=network-online.target",
                                 "x-gvfs-show",
                                 "x-gvfs-name=Seafile",
                                 "x-mount.mkdir",
                                 NULL};
    char list[512] = "user=bob";
    for (size_t i = 0; added[i]; i++) {
        char one[128];
        snprintf(one, sizeof(one), "user=bob,%s", added[i]);
        char *argv[] = {"seafs", "https://h", "/m", "-o", one};
        struct seafs_options o, plain;
        char err[256] = "";
        if (parse(&o, err, 5, argv) != 0)
            fail_msg("%s refused: %s", added[i], err);
        char *plain_argv[] = {"seafs", "https://h", "/m", "-o", "user=bob"};
        assert_int_equal(parse(&plain, err, 5, plain_argv), 0);
        assert_string_equal(o.fuse_opts, "");
        assert_int_equal(o.timeout, plain.timeout);
        assert_int_equal(o.readahead, plain.readahead);
        assert_false(o.foreground);
        options_release(&o);
        options_release(&plain);
        strcat(list, ",");
        strcat(list, added[i]);
    }
    char *argv[] = {"seafs", "https://h", "/m", "-o", list};
    struct seafs_options o;
    char err[256] = "";
    assert_int_equal(parse(&o, err, 5, argv), 0);
    assert_string_equal(o.user, "bob");
    assert_string_equal(o.fuse_opts, "");
    options_release(&o);
    /* Only the x- prefix is ignored: a look-alike is still an error. */
    char *bad[] = {"seafs", "https://h", "/m", "-o", "user=bob,xsystemd.automount"};
    assert_int_equal(parse(&o, err, 5, bad), -1);
    assert_non_null(strstr(err, "xsystemd.automount"));
    options_release(&o);
}

static void expect_error(const char *opts, const char *fragment)
{
    char *argv[] = {"seafs", "https://h", "/m", "-o", (char *)opts};
    struct seafs_options o;
    char err[256] = "";
    assert_int_equal(parse(&o, err, 5, argv), -1);
    if (!strstr(err, fragment))
        fail_msg("error '%s' does not mention '%s'", err, fragment);
    options_release(&o);
}

static void test_rejects_bad_options(void **state)
{
    (void)state;
    expect_error("user=a,frobnicate", "unknown option 'frobnicate'");
    expect_error("user=a,colour=red", "unknown option 'colour'");
    expect_error("user=a,password=secret", "never taken on the command line");
    expect_error("user=a,cache_size=lots", "cache_size");
    expect_error("user=a,cache_size=10", "cache_size");
    expect_error("user=a,connections=0", "connections");
    expect_error("user=a,umask=999", "umask");
    expect_error("user=a,layout=tree", "layout");
    expect_error("user=a,range_reads=on", "range_reads=on: expected auto, off or always");
    expect_error("user=a,timeout=0", "timeout");
    expect_error("user=a,uid=-1", "uid");
    expect_error("user=", "needs a value");
    expect_error("cache_dir=/x", "user=");
}

static void test_rejects_bad_command_lines(void **state)
{
    (void)state;
    struct seafs_options o;
    char err[256];
    char *missing[] = {"seafs", "https://h"};
    assert_int_equal(parse(&o, err, 2, missing), -1);
    assert_non_null(strstr(err, "usage"));
    options_release(&o);
    char *scheme[] = {"seafs", "ftp://h", "/m", "-o", "user=a"};
    assert_int_equal(parse(&o, err, 5, scheme), -1);
    assert_non_null(strstr(err, "http://"));
    options_release(&o);
    char *flag[] = {"seafs", "https://h", "/m", "--bogus"};
    assert_int_equal(parse(&o, err, 4, flag), -1);
    options_release(&o);
    char *dangling[] = {"seafs", "https://h", "/m", "-o"};
    assert_int_equal(parse(&o, err, 4, dangling), -1);
    options_release(&o);
    char *help[] = {"seafs", "--help"};
    assert_int_equal(parse(&o, err, 2, help), 0);
    assert_true(o.show_help);
    options_release(&o);
}

static void test_sizes(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(options_parse_size("512", &v));
    assert_int_equal(v, 512);
    assert_true(options_parse_size("3K", &v));
    assert_int_equal(v, 3072);
    assert_true(options_parse_size("1GiB", &v));
    assert_int_equal(v, 1ULL << 30);
    assert_true(options_parse_size("2t", &v));
    assert_int_equal(v, 2ULL << 40);
    assert_false(options_parse_size("", &v));
    assert_false(options_parse_size("-1", &v));
    assert_false(options_parse_size("5X", &v));
    assert_false(options_parse_size("5Kb2", &v));
    assert_false(options_parse_size("99999999999999999999", &v));
    assert_false(options_parse_size("20000000T", &v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_mount_helper_form),
                                       cmocka_unit_test(test_defaults_and_flags),
                                       cmocka_unit_test(test_systemd_fstab_options_are_ignored),
                                       cmocka_unit_test(test_rejects_bad_options),
                                       cmocka_unit_test(test_rejects_bad_command_lines),
                                       cmocka_unit_test(test_sizes)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
