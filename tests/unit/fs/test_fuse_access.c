/* Unit tests of fs/fuse_access: reading user_allow_other from a fuse.conf as fusermount3 does,
 * finding allow_other / allow_root in a FUSE option list, and the one-line refusals (a missing
 * device, sharing without user_allow_other). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuse_access.h"

/* Stands for /dev/fuse: any file the test can read and write. */
#define DEVICE "/dev/null"

/* A fuse.conf holding text, in a fresh temporary directory; the caller removes both. */
static void write_conf(char *dir, char *path, size_t size, const char *text)
{
    assert_non_null(mkdtemp(dir));
    snprintf(path, size, "%s/fuse.conf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void remove_conf(const char *dir, const char *path)
{
    unlink(path);
    rmdir(dir);
}

static int allows(const char *text)
{
    char dir[] = "/tmp/seafs-fuseaccess-XXXXXX", path[256];
    write_conf(dir, path, sizeof(path), text);
    int rc = fuse_access_user_allow_other(path);
    remove_conf(dir, path);
    return rc;
}

static void test_user_allow_other_parsing(void **state)
{
    (void)state;
    /* Debian's default file: every line commented out. */
    assert_int_equal(allows("# user_allow_other - Using the allow_other mount option works\n"
                            "#user_allow_other\n\n#mount_max = 1000\n"),
                     0);
    assert_int_equal(allows("user_allow_other\n"), 1);
    assert_int_equal(allows("mount_max = 1000\n  user_allow_other \t# let users share\n"), 1);
    assert_int_equal(allows("user_allow_other"), 1); /* no final newline */
    assert_int_equal(allows("user_allow_other=1\n"), 0);
    assert_int_equal(allows("user_allow_others\nallow_other\n"), 0);
    assert_int_equal(allows(""), 0);
    assert_int_equal(fuse_access_user_allow_other("/nonexistent/fuse.conf"), 0);
    /* A directory cannot be read as the file: an error, not "no". */
    char dir[] = "/tmp/seafs-fuseaccess-XXXXXX";
    assert_non_null(mkdtemp(dir));
    assert_true(fuse_access_user_allow_other(dir) < 0);
    rmdir(dir);
}

static void test_sharing_option(void **state)
{
    (void)state;
    assert_null(fuse_access_sharing_option(NULL));
    assert_null(fuse_access_sharing_option(""));
    assert_null(fuse_access_sharing_option("ro,default_permissions,fsname=allow_other"));
    assert_null(fuse_access_sharing_option("allow_others,xallow_root"));
    assert_string_equal(fuse_access_sharing_option("allow_other"), "allow_other");
    assert_string_equal(fuse_access_sharing_option("ro,allow_root"), "allow_root");
    assert_string_equal(fuse_access_sharing_option("ro,allow_other,noatime"), "allow_other");
}

static void test_check(void **state)
{
    (void)state;
    char dir[] = "/tmp/seafs-fuseaccess-XXXXXX", path[256], err[512] = "";
    write_conf(dir, path, sizeof(path), "#user_allow_other\n");
    /* An ordinary user asking for allow_other: one line naming the file and the fix. */
    assert_int_equal(fuse_access_check("ro,allow_other", false, DEVICE, path, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "allow_other needs the line user_allow_other in "));
    assert_non_null(strstr(err, path));
    assert_null(strchr(err, '\n'));
    assert_int_equal(fuse_access_check("allow_root", false, DEVICE, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "allow_root needs"));
    /* Root (or CAP_SYS_ADMIN) mounts directly; other options need nothing. */
    assert_int_equal(fuse_access_check("allow_other", true, DEVICE, path, err, sizeof(err)), 0);
    assert_int_equal(fuse_access_check("ro,noatime", false, DEVICE, path, err, sizeof(err)), 0);
    assert_int_equal(fuse_access_check(NULL, false, DEVICE, path, err, sizeof(err)), 0);
    remove_conf(dir, path);
    /* Permitted by the file. */
    char dir2[] = "/tmp/seafs-fuseaccess-XXXXXX", path2[256];
    write_conf(dir2, path2, sizeof(path2), "user_allow_other\n");
    assert_int_equal(fuse_access_check("allow_other", false, DEVICE, path2, err, sizeof(err)), 0);
    remove_conf(dir2, path2);
    /* Missing file: fusermount3 would refuse too. */
    assert_int_equal(
        fuse_access_check("allow_other", false, DEVICE, "/nonexistent/fuse.conf", err, sizeof(err)),
        -1);
}

static void test_missing_device(void **state)
{
    (void)state;
    char err[512] = "";
    assert_int_equal(fuse_access_check("ro", false, "/nonexistent/fuse", "/nonexistent/fuse.conf",
                                       err, sizeof(err)),
                     -1);
    assert_string_equal(err, "/nonexistent/fuse does not exist: the fuse kernel module is not "
                             "loaded (root: modprobe fuse)");
    /* Root (or CAP_SYS_ADMIN) is left to libfuse. */
    assert_int_equal(fuse_access_check("allow_other", true, "/nonexistent/fuse",
                                       "/nonexistent/fuse.conf", err, sizeof(err)),
                     0);
}

static void test_root_mounts_directly(void **state)
{
    (void)state;
    if (getuid() == 0)
        assert_true(fuse_access_mounts_directly());
    else
        skip();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_allow_other_parsing), cmocka_unit_test(test_sharing_option),
        cmocka_unit_test(test_check), cmocka_unit_test(test_missing_device),
        cmocka_unit_test(test_root_mounts_directly)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
