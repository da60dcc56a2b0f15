/* Unit tests of fs/control (no FUSE): where the sockets live (directory candidates and checks,
 * socket names, canonical mount paths), the request protocol with fake handlers, the line I/O
 * and the serving thread (peer served, silent and slow clients dropped, stale socket replaced,
 * live socket kept, socket removed at stop, syncs waiting on threads of their own while other
 * requests are answered). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "mountinfo.h"
#include "log.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static char *temp_dir(void)
{
    char *dir = strdup("/tmp/sfctl-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_tree(char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* What the fake handlers saw and answer. */
struct fake {
    int status_calls;
    char library[64];
    char password[64];
    int result;
    /* sync: what it was asked, and a gate it waits at while closed (under lock) */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool gate_closed;
    int sync_calls, syncs_waiting;
    unsigned timeout_s;
    bool all_libraries;
};

static json_t *fake_status(void *ctx)
{
    struct fake *f = ctx;
    f->status_calls++;
    return json_pack("{s:s, s:i}", "mountpoint", "/mnt/x", "calls", f->status_calls);
}

static int fake_unlock(void *ctx, const char *library, const char *password, char *msg,
                       size_t msg_size)
{
    struct fake *f = ctx;
    snprintf(f->library, sizeof(f->library), "%s", library);
    snprintf(f->password, sizeof(f->password), "%s", password);
    snprintf(msg, msg_size, f->result ? "refused %s" : "unlocked %s", library);
    return f->result;
}

static int fake_lock(void *ctx, const char *library, char *msg, size_t msg_size)
{
    struct fake *f = ctx;
    snprintf(f->library, sizeof(f->library), "%s", library);
    snprintf(msg, msg_size, f->result ? "cannot lock %s" : "locked %s", library);
    return f->result;
}

static int fake_sync(void *ctx, const char *library, unsigned timeout_s, char *msg, size_t msg_size,
                     json_t **details)
{
    struct fake *f = ctx;
    pthread_mutex_lock(&f->lock);
    f->sync_calls++;
    f->all_libraries = library == NULL;
    snprintf(f->library, sizeof(f->library), "%s", library ? library : "");
    f->timeout_s = timeout_s;
    f->syncs_waiting++;
    pthread_cond_broadcast(&f->changed);
    while (f->gate_closed)
        pthread_cond_wait(&f->changed, &f->lock);
    f->syncs_waiting--;
    pthread_cond_broadcast(&f->changed);
    int result = f->result;
    pthread_mutex_unlock(&f->lock);
    snprintf(msg, msg_size, result ? "stuck" : "all changes are on the server");
    *details = json_pack("{s:s, s:[]}", "mountpoint", "/mnt/x", "libraries");
    return result;
}

static struct control_handlers handlers_of(struct fake *f)
{
    struct control_handlers h = {.ctx = f,
                                 .status = fake_status,
                                 .unlock = fake_unlock,
                                 .lock = fake_lock,
                                 .sync = fake_sync};
    return h;
}

static void fake_init(struct fake *f)
{
    memset(f, 0, sizeof(*f));
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->changed, NULL);
}

static void fake_destroy(struct fake *f)
{
    pthread_cond_destroy(&f->changed);
    pthread_mutex_destroy(&f->lock);
}

static void fake_open_gate(struct fake *f)
{
    pthread_mutex_lock(&f->lock);
    f->gate_closed = false;
    pthread_cond_broadcast(&f->changed);
    pthread_mutex_unlock(&f->lock);
}

/* Waits until n syncs wait at the gate. */
static void fake_wait_syncs(struct fake *f, int n)
{
    pthread_mutex_lock(&f->lock);
    while (f->syncs_waiting != n)
        pthread_cond_wait(&f->changed, &f->lock);
    pthread_mutex_unlock(&f->lock);
}

/* The parsed reply to line. */
static json_t *ask(struct fake *f, const char *line)
{
    struct control_handlers h = handlers_of(f);
    char *text = control_handle_line(&h, line);
    assert_non_null(text);
    assert_null(strchr(text, '\n')); /* one line */
    json_error_t error;
    json_t *reply = json_loads(text, 0, &error);
    free(text);
    assert_true(json_is_object(reply));
    return reply;
}

static void assert_error(json_t *reply, const char *code)
{
    assert_true(json_is_false(json_object_get(reply, "ok")));
    assert_string_equal(json_string_value(json_object_get(reply, "error")), code);
    assert_true(json_string_length(json_object_get(reply, "message")) > 0);
    json_decref(reply);
}

/* out = a + suffix, which must fit into PATH_MAX. */
static void join(char *out, const char *a, const char *suffix)
{
    int n = snprintf(out, PATH_MAX, "%s%s", a, suffix);
    assert_true(n > 0 && n < PATH_MAX);
}

/* ---- where the sockets are --------------------------------------------------------------- */

static void test_dir_problem(void **state)
{
    (void)state;
    struct stat st = {.st_mode = S_IFDIR | 0700, .st_uid = 1000};
    assert_null(control_dir_problem(&st, 1000));
    st.st_mode = S_IFDIR | 0755; /* readable by others: fine (made 0700 when prepared) */
    assert_null(control_dir_problem(&st, 1000));
    assert_non_null(control_dir_problem(&st, 1001)); /* someone else's */
    st.st_mode = S_IFDIR | 0770;
    assert_non_null(control_dir_problem(&st, 1000));
    st.st_mode = S_IFDIR | 01777; /* like /tmp */
    assert_non_null(control_dir_problem(&st, 1000));
    st.st_mode = S_IFLNK | 0777;
    assert_non_null(control_dir_problem(&st, 1000));
    st.st_mode = S_IFREG | 0600;
    assert_non_null(control_dir_problem(&st, 1000));
}

static void test_socket_dirs(void **state)
{
    (void)state;
    char dirs[CONTROL_DIRS_MAX][CONTROL_DIR_MAX], expected[CONTROL_DIR_MAX + 16];
    uid_t uid = getuid();
    char *xdg = temp_dir(); /* mkdtemp: 0700, ours */
    size_t n = control_socket_dirs(uid, xdg, dirs, CONTROL_DIRS_MAX);
    assert_true(n >= 2);
    snprintf(expected, sizeof(expected), "%s/seafs", xdg);
    assert_string_equal(dirs[0], expected);
    snprintf(expected, sizeof(expected), "/tmp/seafs-%u", (unsigned)uid);
    assert_string_equal(dirs[n - 1], expected); /* the last resort */
    bool has_run_seafs = false;
    for (size_t i = 0; i < n; i++)
        has_run_seafs |= strcmp(dirs[i], "/run/seafs") == 0;
    assert_int_equal(has_run_seafs, uid == 0);

    /* Unusable $XDG_RUNTIME_DIR values are skipped. */
    size_t without = control_socket_dirs(uid, NULL, dirs, CONTROL_DIRS_MAX);
    assert_int_equal(without, n - 1);
    assert_int_equal(control_socket_dirs(uid, "relative/dir", dirs, CONTROL_DIRS_MAX), without);
    assert_int_equal(control_socket_dirs(uid, "/nonexistent-xdg", dirs, CONTROL_DIRS_MAX), without);
    assert_int_equal(chmod(xdg, 0777), 0);
    assert_int_equal(control_socket_dirs(uid, xdg, dirs, CONTROL_DIRS_MAX), without);
    assert_int_equal(chmod(xdg, 0700), 0);
    assert_int_equal(control_socket_dirs(uid + 1, xdg, dirs, CONTROL_DIRS_MAX) <= without, 1);
    /* Too long for a socket path: skipped rather than cut. */
    char deep[CONTROL_DIR_MAX + 40];
    snprintf(deep, sizeof(deep), "%s/%s", xdg,
             "a-very-long-directory-name-that-does-not-fit-into-a-socket-path-at-all");
    assert_int_equal(mkdir(deep, 0700), 0);
    assert_int_equal(control_socket_dirs(uid, deep, dirs, CONTROL_DIRS_MAX), without);
    /* max bounds the count. */
    assert_int_equal(control_socket_dirs(uid, xdg, dirs, 1), 1);
    remove_tree(xdg);
}

/* The mountinfo lookup the client and the read-ahead widening share, on a written file: octal
 * escapes undone, the last mount at a path wins, user_id= gives the owner. */
static void test_find_mount(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char path[256];
    snprintf(path, sizeof(path), "%s/mountinfo", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
          "40 22 0:41 / /mnt/my\\040drive rw,nosuid - tmpfs tmpfs rw\n"
          "41 40 0:52 / /mnt/my\\040drive rw,nosuid,nodev shared:7 - fuse.seafs "
          "https://h rw,user_id=1234,group_id=100\n"
          "42 22 0:53 / /mnt/other rw - fuse.sshfs host: rw\n"
          "broken line\n",
          f);
    fclose(f);
    struct mount_entry mount;
    assert_true(mountinfo_find(path, "/mnt/my drive", &mount));
    assert_string_equal(mount.dev, "0:52");
    assert_string_equal(mount.fstype, "fuse.seafs");
    assert_int_equal(mount.owner, 1234);
    assert_true(mountinfo_find(path, "/mnt/other", &mount));
    assert_string_equal(mount.fstype, "fuse.sshfs");
    assert_int_equal(mount.owner, getuid()); /* no user_id= */
    assert_true(mountinfo_find(path, "/", &mount));
    assert_string_equal(mount.dev, "8:1");
    assert_false(mountinfo_find(path, "/mnt/my\\040drive", &mount)); /* escaped form */
    assert_false(mountinfo_find(path, "/mnt", &mount));
    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_false(mountinfo_find(path, "/", &mount));
    remove_tree(dir);
}

static void test_socket_dirs_xdg_is_run_user(void **state)
{
    (void)state;
    char dirs[CONTROL_DIRS_MAX][CONTROL_DIR_MAX], user_dir[CONTROL_DIR_MAX];
    char expected[CONTROL_DIR_MAX + 16];
    uid_t uid = getuid();
    char *run_user = temp_dir(); /* stands for /run/user */
    snprintf(user_dir, sizeof(user_dir), "%s/%u", run_user, (unsigned)uid);
    assert_int_equal(mkdir(user_dir, 0700), 0);
    size_t without_xdg = control_socket_dirs_under(run_user, uid, NULL, dirs, CONTROL_DIRS_MAX);
    snprintf(expected, sizeof(expected), "%s/seafs", user_dir);
    assert_string_equal(dirs[0], expected); /* /run/user/<uid> is used without the variable */
    /* XDG_RUNTIME_DIR=/run/user/<uid> (the usual case): the directory is listed once. */
    size_t n = control_socket_dirs_under(run_user, uid, user_dir, dirs, CONTROL_DIRS_MAX);
    assert_int_equal(n, without_xdg);
    assert_string_equal(dirs[0], expected);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            assert_string_not_equal(dirs[i], dirs[j]);
    snprintf(expected, sizeof(expected), "/tmp/seafs-%u", (unsigned)uid);
    assert_string_equal(dirs[n - 1], expected);
    /* Someone else's /run/user/<uid> is not used. */
    assert_int_equal(chmod(user_dir, 0777), 0);
    assert_int_equal(control_socket_dirs_under(run_user, uid, NULL, dirs, CONTROL_DIRS_MAX),
                     without_xdg - 1);
    assert_false(control_dir_trusted(user_dir, uid));
    assert_int_equal(chmod(user_dir, 0700), 0);
    assert_true(control_dir_trusted(user_dir, uid));
    assert_false(control_dir_trusted(user_dir, uid + 1));
    remove_tree(run_user);
}

static void test_prepare_dir(void **state)
{
    (void)state;
    char *base = temp_dir();
    char dir[256], err[256];
    struct stat st;
    uid_t uid = getuid();
    snprintf(dir, sizeof(dir), "%s/seafs", base);
    assert_int_equal(control_prepare_dir(dir, uid, err, sizeof(err)), 0);
    assert_int_equal(lstat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(control_prepare_dir(dir, uid, err, sizeof(err)), 0); /* exists: fine */
    assert_int_equal(chmod(dir, 0755), 0);                                /* tightened */
    assert_int_equal(control_prepare_dir(dir, uid, err, sizeof(err)), 0);
    assert_int_equal(lstat(dir, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0700);
    assert_int_equal(chmod(dir, 0777), 0); /* someone may have planted a socket: refused */
    assert_int_equal(control_prepare_dir(dir, uid, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "writable by group or others"));
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(control_prepare_dir(dir, uid + 1, err, sizeof(err)), -EPERM);
    assert_non_null(strstr(err, "owned by another user"));
    /* A symlink to a good directory is refused (lstat). */
    char link[300];
    snprintf(link, sizeof(link), "%s/link", base);
    assert_int_equal(symlink(dir, link), 0);
    assert_int_equal(control_prepare_dir(link, uid, err, sizeof(err)), -EPERM);
    /* A missing parent cannot be made. */
    snprintf(dir, sizeof(dir), "%s/missing/seafs", base);
    assert_int_equal(control_prepare_dir(dir, uid, err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "cannot create"));
    remove_tree(base);
}

static void test_socket_name(void **state)
{
    (void)state;
    char a[CONTROL_NAME_SIZE], b[CONTROL_NAME_SIZE];
    assert_int_equal(control_socket_name("/mnt/seafs", a), 0);
    assert_string_equal(a, "cc335b4c7c3b3b47.sock"); /* SHA-1("/mnt/seafs") prefix */
    assert_int_equal(control_socket_name("/mnt/seafs2", b), 0);
    assert_string_not_equal(a, b);
    assert_int_equal(strlen(a), CONTROL_NAME_SIZE - 1);
}

static void test_mount_path(void **state)
{
    (void)state;
    char *base = temp_dir();
    char dir[PATH_MAX], arg[PATH_MAX], out[PATH_MAX], target[PATH_MAX], resolved_base[PATH_MAX];
    assert_non_null(realpath(base, resolved_base));
    join(dir, base, "/sub");
    assert_int_equal(mkdir(dir, 0700), 0);
    join(target, dir, "/mnt");
    assert_int_equal(mkdir(target, 0700), 0);
    /* The parent is resolved ("..", trailing slashes), the last component kept. */
    join(arg, base, "/sub/../sub/mnt//");
    assert_int_equal(control_mount_path(arg, false, out, sizeof(out)), 0);
    join(dir, resolved_base, "/sub/mnt");
    assert_string_equal(out, dir);
    /* A symlink as last component stays itself unless everything is resolved. */
    join(arg, base, "/link");
    assert_int_equal(symlink(target, arg), 0);
    assert_int_equal(control_mount_path(arg, false, out, sizeof(out)), 0);
    join(dir, resolved_base, "/link");
    assert_string_equal(out, dir);
    assert_int_equal(control_mount_path(arg, true, out, sizeof(out)), 0);
    join(dir, resolved_base, "/sub/mnt");
    assert_string_equal(out, dir);
    /* The last component need not exist (a mount point that went away); its parent must. */
    join(arg, base, "/gone");
    assert_int_equal(control_mount_path(arg, false, out, sizeof(out)), 0);
    assert_int_equal(control_mount_path(arg, true, out, sizeof(out)), -ENOENT);
    join(arg, base, "/missing/mnt");
    assert_int_equal(control_mount_path(arg, false, out, sizeof(out)), -ENOENT);
    /* Relative paths and "." / "..". */
    char cwd[PATH_MAX];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(target), 0);
    assert_int_equal(control_mount_path(".", false, out, sizeof(out)), 0);
    assert_string_equal(out, dir);
    assert_int_equal(control_mount_path("..", false, out, sizeof(out)), 0);
    join(dir, resolved_base, "/sub");
    assert_string_equal(out, dir);
    assert_int_equal(chdir(resolved_base), 0);
    assert_int_equal(control_mount_path("sub", false, out, sizeof(out)), 0);
    assert_string_equal(out, dir);
    assert_int_equal(control_mount_path("/", false, out, sizeof(out)), 0);
    assert_string_equal(out, "/");
    assert_int_equal(control_mount_path("", false, out, sizeof(out)), -ENOENT);
    assert_int_equal(control_mount_path(dir, false, out, 4), -ENAMETOOLONG);
    assert_int_equal(chdir(cwd), 0);
    remove_tree(base);
}

/* ---- the protocol ------------------------------------------------------------------------ */

static void test_status_request(void **state)
{
    (void)state;
    struct fake f = {0};
    json_t *reply = ask(&f, "{\"request\": \"status\"}");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_t *status = json_object_get(reply, "status");
    assert_string_equal(json_string_value(json_object_get(status, "mountpoint")), "/mnt/x");
    assert_int_equal(f.status_calls, 1);
    json_decref(reply);
}

static void test_unlock_request(void **state)
{
    (void)state;
    struct fake f = {0};
    json_t *reply =
        ask(&f, "{\"request\":\"unlock\",\"library\":\"Secret\",\"password\":\"s3\\\"cret\"}");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(json_string_value(json_object_get(reply, "message")), "unlocked Secret");
    assert_string_equal(f.library, "Secret");
    assert_string_equal(f.password, "s3\"cret"); /* JSON escapes undone */
    json_decref(reply);

    /* The handler's -errno picks the error code, its message is passed on. */
    f.result = -EACCES;
    reply = ask(&f, "{\"request\":\"unlock\",\"library\":\"Secret\",\"password\":\"bad\"}");
    assert_string_equal(json_string_value(json_object_get(reply, "message")), "refused Secret");
    assert_error(reply, "wrong_password");
    f.result = -ENOENT;
    assert_error(ask(&f, "{\"request\":\"unlock\",\"library\":\"X\",\"password\":\"p\"}"),
                 "unknown_library");
    f.result = -EINVAL;
    assert_error(ask(&f, "{\"request\":\"unlock\",\"library\":\"X\",\"password\":\"p\"}"),
                 "not_encrypted");

    /* Missing or empty arguments never reach the handler. */
    memset(f.library, 0, sizeof(f.library));
    assert_error(ask(&f, "{\"request\":\"unlock\",\"password\":\"p\"}"), "bad_request");
    assert_error(ask(&f, "{\"request\":\"unlock\",\"library\":\"\",\"password\":\"p\"}"),
                 "bad_request");
    assert_error(ask(&f, "{\"request\":\"unlock\",\"library\":\"S\"}"), "bad_request");
    assert_error(ask(&f, "{\"request\":\"unlock\",\"library\":\"S\",\"password\":\"\"}"),
                 "bad_request");
    assert_error(ask(&f, "{\"request\":\"unlock\",\"library\":\"S\",\"password\":7}"),
                 "bad_request");
    assert_string_equal(f.library, "");
}

static void test_lock_request(void **state)
{
    (void)state;
    struct fake f = {0};
    json_t *reply = ask(&f, "{\"request\":\"lock\",\"library\":\"Secret\"}");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(json_string_value(json_object_get(reply, "message")), "locked Secret");
    json_decref(reply);
    f.result = -EINVAL;
    reply = ask(&f, "{\"request\":\"lock\",\"library\":\"Docs\"}");
    assert_string_equal(json_string_value(json_object_get(reply, "message")), "cannot lock Docs");
    assert_error(reply, "not_encrypted");
    assert_error(ask(&f, "{\"request\":\"lock\",\"library\":[]}"), "bad_request");
}

static void test_sync_request(void **state)
{
    (void)state;
    struct fake f;
    fake_init(&f);
    json_t *reply = ask(&f, "{\"request\":\"sync\"}");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(json_string_value(json_object_get(reply, "message")),
                        "all changes are on the server");
    json_t *details = json_object_get(reply, "sync");
    assert_string_equal(json_string_value(json_object_get(details, "mountpoint")), "/mnt/x");
    assert_true(f.all_libraries);
    assert_int_equal(f.timeout_s, 0);
    json_decref(reply);
    reply = ask(&f, "{\"request\":\"sync\",\"library\":\"Docs\",\"timeout\":30}");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_false(f.all_libraries);
    assert_string_equal(f.library, "Docs");
    assert_int_equal(f.timeout_s, 30);
    json_decref(reply);
    reply = ask(&f, "{\"request\":\"sync\",\"library\":null,\"timeout\":null}");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_true(f.all_libraries);
    json_decref(reply);

    /* A failure keeps the details; the error code says what kind. */
    static const struct {
        int rc;
        const char *code;
    } failures[] = {{-ETIMEDOUT, "timeout"},        {-EDQUOT, "over_quota"},
                    {-EACCES, "permission_denied"}, {-ENOENT, "unknown_library"},
                    {-ESHUTDOWN, "unavailable"},    {-EIO, "upload_failed"},
                    {-ENOSPC, "upload_failed"}};
    for (size_t i = 0; i < sizeof(failures) / sizeof(failures[0]); i++) {
        f.result = failures[i].rc;
        reply = ask(&f, "{\"request\":\"sync\"}");
        assert_true(json_is_object(json_object_get(reply, "sync")));
        assert_string_equal(json_string_value(json_object_get(reply, "message")), "stuck");
        assert_error(reply, failures[i].code);
    }

    /* Bad arguments never reach the handler. */
    int calls = f.sync_calls;
    static const char *const bad[] = {
        "{\"request\":\"sync\",\"timeout\":\"3\"}", "{\"request\":\"sync\",\"timeout\":-1}",
        "{\"request\":\"sync\",\"timeout\":1.5}",   "{\"request\":\"sync\",\"timeout\":604801}",
        "{\"request\":\"sync\",\"library\":\"\"}",  "{\"request\":\"sync\",\"library\":7}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_error(ask(&f, bad[i]), "bad_request");
    assert_int_equal(f.sync_calls, calls);

    /* Which requests wait on a thread of their own. */
    assert_true(control_request_waits("{\"request\":\"sync\",\"timeout\":3}"));
    assert_false(control_request_waits("{\"request\":\"status\"}"));
    assert_false(control_request_waits("{\"request\":\"sync\""));
    assert_false(control_request_waits("\"sync\""));

    /* A daemon without uploads refuses. */
    struct control_handlers h = handlers_of(&f);
    h.sync = NULL;
    char *text = control_handle_line(&h, "{\"request\":\"sync\"}");
    assert_non_null(strstr(text, "\"failed\""));
    free(text);
    fake_destroy(&f);
}

static void test_bad_requests(void **state)
{
    (void)state;
    struct fake f = {0};
    assert_error(ask(&f, ""), "bad_request");
    assert_error(ask(&f, "not json"), "bad_request");
    assert_error(ask(&f, "[\"status\"]"), "bad_request");
    assert_error(ask(&f, "{}"), "bad_request");
    assert_error(ask(&f, "{\"request\": 1}"), "bad_request");
    assert_error(ask(&f, "{\"request\": \"format\"}"), "bad_request");
    assert_error(ask(&f, "{\"request\":\"status\",\"request\":\"lock\"}"), "bad_request");
    assert_int_equal(f.status_calls, 0);
}

static void test_error_codes_and_peers(void **state)
{
    (void)state;
    assert_string_equal(control_error_code(-ENOENT), "unknown_library");
    assert_string_equal(control_error_code(-EINVAL), "not_encrypted");
    assert_string_equal(control_error_code(-EACCES), "wrong_password");
    assert_string_equal(control_error_code(-ENOTSUP), "unsupported_encryption");
    assert_string_equal(control_error_code(-EHOSTDOWN), "unavailable");
    assert_string_equal(control_error_code(-EIO), "unavailable");
    assert_string_equal(control_error_code(-ENOMEM), "failed");
    char *line = control_json_line(json_pack("{s:s, s:i}", "request", "lock", "n", 2));
    assert_non_null(line);
    assert_string_equal(line, "{\"request\":\"lock\",\"n\":2}"); /* one compact line */
    free(line);
    assert_null(control_json_line(NULL)); /* a failed json_pack */
    assert_true(control_peer_allowed(1000, 1000));
    assert_true(control_peer_allowed(0, 1000));
    assert_false(control_peer_allowed(1001, 1000));
    assert_false(control_peer_allowed(65534, 0));
}

/* ---- line I/O ---------------------------------------------------------------------------- */

static void test_line_io(void **state)
{
    (void)state;
    int sv[2];
    char buf[16];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(control_write_all(sv[0], "hello\nrest", 10, 1000), 0);
    assert_int_equal(control_read_line(sv[1], buf, sizeof(buf), 1000), 5);
    assert_string_equal(buf, "hello");
    /* No newline yet: times out. */
    assert_int_equal(control_read_line(sv[1], buf, sizeof(buf), 100), -ETIMEDOUT);
    close(sv[0]);
    close(sv[1]);
    /* Longer than the buffer. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(control_write_all(sv[0], "0123456789abcdefghij\n", 21, 1000), 0);
    assert_int_equal(control_read_line(sv[1], buf, sizeof(buf), 1000), -EMSGSIZE);
    close(sv[0]);
    close(sv[1]);
    /* Closed before a newline. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(control_write_all(sv[0], "partial", 7, 1000), 0);
    close(sv[0]);
    assert_int_equal(control_read_line(sv[1], buf, sizeof(buf), 1000), -ECONNRESET);
    /* Writing to a closed peer fails instead of raising SIGPIPE. */
    assert_int_equal(control_write_all(sv[1], "x", 1, 1000), -EPIPE);
    close(sv[1]);
    /* A peer that never reads: the writer gives up at the deadline. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    static char chunk[1 << 20];
    assert_int_equal(control_write_all(sv[0], chunk, sizeof(chunk), 200), -ETIMEDOUT);
    close(sv[0]);
    close(sv[1]);
    /* Without a timeout: a line, then the peer closing, end the wait. */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(control_write_all(sv[0], "late\n", 5, -1), 0);
    assert_int_equal(control_read_line(sv[1], buf, sizeof(buf), -1), 4);
    close(sv[0]);
    assert_int_equal(control_read_line(sv[1], buf, sizeof(buf), -1), -ECONNRESET);
    close(sv[1]);
}

/* ---- the server -------------------------------------------------------------------------- */

static int connect_to(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Sends line to the server at path and returns the parsed reply. */
static json_t *request(const char *path, const char *line)
{
    int fd = connect_to(path);
    assert_true(fd >= 0);
    assert_int_equal(control_write_all(fd, line, strlen(line), 2000), 0);
    char buf[4096];
    assert_true(control_read_line(fd, buf, sizeof(buf), 10000) > 0);
    close(fd);
    json_error_t error;
    json_t *reply = json_loads(buf, 0, &error);
    assert_true(json_is_object(reply));
    return reply;
}

/* A server for "/mnt/seafs" in dir answering with the fake f. */
static struct control_server *start_server(const char *dir, struct fake *f)
{
    struct control_handlers h = handlers_of(f);
    char err[256];
    struct control_server *server = control_server_start(dir, "/mnt/seafs", &h, err, sizeof(err));
    assert_non_null(server);
    return server;
}

static void test_server(void **state)
{
    (void)state;
    char *dir = temp_dir();
    struct fake f = {0};
    struct control_server *server = start_server(dir, &f);
    char expected[256];
    snprintf(expected, sizeof(expected), "%s/cc335b4c7c3b3b47.sock", dir);
    assert_string_equal(control_server_path(server), expected);
    struct stat st;
    assert_int_equal(lstat(expected, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 0777, 0600);

    json_t *reply = request(expected, "{\"request\":\"status\"}\n");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
    reply = request(expected, "{\"request\":\"unlock\",\"library\":\"L\",\"password\":\"pw\"}\n");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    assert_string_equal(f.password, "pw");
    json_decref(reply);

    /* A silent client is dropped after the I/O timeout; the next one is then served. */
    int silent = connect_to(expected);
    assert_true(silent >= 0);
    reply = request(expected, "{\"request\":\"status\"}\n");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
    char buf[64];
    assert_int_equal(control_read_line(silent, buf, sizeof(buf), 2000), -ECONNRESET);
    close(silent);

    /* A request longer than the limit is refused, not buffered without end. */
    int fd = connect_to(expected);
    char *huge = malloc(CONTROL_LINE_MAX + 16);
    memset(huge, 'x', CONTROL_LINE_MAX + 16);
    control_write_all(fd, huge, CONTROL_LINE_MAX + 16, 5000);
    free(huge);
    char *line = malloc(4096);
    assert_true(control_read_line(fd, line, 4096, 5000) > 0);
    assert_non_null(strstr(line, "too long"));
    free(line);
    close(fd);

    /* A second server for the same mount point is refused while the first lives. */
    struct control_handlers h = handlers_of(&f);
    char err[256];
    assert_null(control_server_start(dir, "/mnt/seafs", &h, err, sizeof(err)));
    assert_non_null(strstr(err, "another seafs process"));

    control_server_stop(server);
    assert_int_equal(lstat(expected, &st), -1); /* removed */
    assert_int_equal(connect_to(expected), -ENOENT);
    assert_int_equal(f.status_calls, 2);
    remove_tree(dir);
}

/* A client connected at path that has sent line and not read the reply yet. */
static int send_request(const char *path, const char *line)
{
    int fd = connect_to(path);
    assert_true(fd >= 0);
    assert_int_equal(control_write_all(fd, line, strlen(line), 2000), 0);
    return fd;
}

static json_t *read_reply(int fd)
{
    char buf[4096];
    assert_true(control_read_line(fd, buf, sizeof(buf), 10000) > 0);
    close(fd);
    json_error_t error;
    json_t *reply = json_loads(buf, 0, &error);
    assert_true(json_is_object(reply));
    return reply;
}

static void *open_gate_later(void *arg)
{
    usleep(200 * 1000);
    fake_open_gate(arg);
    return NULL;
}

static void test_syncs_wait_on_their_own_threads(void **state)
{
    (void)state;
    char *dir = temp_dir();
    struct fake f;
    fake_init(&f);
    f.gate_closed = true;
    struct control_server *server = start_server(dir, &f);
    const char *path = control_server_path(server);

    /* Syncs wait; status, unlock and more syncs are still answered meanwhile. */
    int first = send_request(path, "{\"request\":\"sync\",\"library\":\"Docs\"}\n");
    fake_wait_syncs(&f, 1);
    json_t *reply = request(path, "{\"request\":\"status\"}\n");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
    int waiting[CONTROL_WAITERS_MAX];
    waiting[0] = first;
    for (int i = 1; i < CONTROL_WAITERS_MAX; i++)
        waiting[i] = send_request(path, "{\"request\":\"sync\"}\n");
    fake_wait_syncs(&f, CONTROL_WAITERS_MAX);
    /* One more than the limit is turned away at once. */
    reply = request(path, "{\"request\":\"sync\"}\n");
    assert_error(reply, "busy");
    reply = request(path, "{\"request\":\"lock\",\"library\":\"L\"}\n");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);

    fake_open_gate(&f);
    for (int i = 0; i < CONTROL_WAITERS_MAX; i++) {
        reply = read_reply(waiting[i]);
        assert_true(json_is_true(json_object_get(reply, "ok")));
        assert_true(json_is_object(json_object_get(reply, "sync")));
        json_decref(reply);
    }
    /* The finished waiters were let go: the full number may wait again. */
    pthread_mutex_lock(&f.lock);
    f.gate_closed = true;
    pthread_mutex_unlock(&f.lock);
    for (int i = 0; i < CONTROL_WAITERS_MAX; i++)
        waiting[i] = send_request(path, "{\"request\":\"sync\"}\n");
    fake_wait_syncs(&f, CONTROL_WAITERS_MAX);

    /* Stopping waits for the syncs in progress (here: until the gate opens), which answer. */
    pthread_t opener;
    assert_int_equal(pthread_create(&opener, NULL, open_gate_later, &f), 0);
    control_server_stop(server);
    pthread_join(opener, NULL);
    assert_int_equal(f.syncs_waiting, 0);
    for (int i = 0; i < CONTROL_WAITERS_MAX; i++) {
        reply = read_reply(waiting[i]);
        assert_true(json_is_true(json_object_get(reply, "ok")));
        json_decref(reply);
    }
    assert_int_equal(f.sync_calls, 2 * CONTROL_WAITERS_MAX);
    fake_destroy(&f);
    remove_tree(dir);
}

static void test_stale_socket_replaced(void **state)
{
    (void)state;
    char *dir = temp_dir();
    char path[64], err[256];
    snprintf(path, sizeof(path), "%s/cc335b4c7c3b3b47.sock", dir);
    /* What a killed daemon leaves: a socket file nobody listens on. */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    close(fd);
    assert_int_equal(connect_to(path), -ECONNREFUSED);
    struct fake f = {0};
    struct control_server *server = start_server(dir, &f);
    json_t *reply = request(path, "{\"request\":\"status\"}\n");
    assert_true(json_is_true(json_object_get(reply, "ok")));
    json_decref(reply);
    control_server_stop(server);

    /* Something else in the way is left alone. */
    fd = open(path, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    close(fd);
    struct control_handlers h = handlers_of(&f);
    assert_null(control_server_start(dir, "/mnt/seafs", &h, err, sizeof(err)));
    assert_non_null(strstr(err, "not a socket"));
    remove_tree(dir);
}

/* The last errors and warnings that status reports: a bounded ring, oldest first, info and
 * debug messages left out, long messages cut. */
static void test_recent_errors(void **state)
{
    (void)state;
    struct log_entry entries[LOG_RECENT_MAX + 4];
    size_t before = log_recent(entries, LOG_RECENT_MAX); /* earlier tests' warnings */
    log_msg(LOG_INFO, "not kept");
    log_msg(LOG_ERR, "first error");
    log_msg(LOG_DEBUG, "not kept either");
    size_t n = log_recent(entries, LOG_RECENT_MAX);
    assert_int_equal(n, before < LOG_RECENT_MAX ? before + 1 : LOG_RECENT_MAX);
    assert_string_equal(entries[n - 1].message, "first error");
    assert_int_equal(entries[n - 1].level, LOG_ERR);
    assert_true(entries[n - 1].time > 1700000000);
    for (int i = 0; i < LOG_RECENT_MAX + 3; i++)
        log_msg(LOG_WARNING, "warning %d", i);
    assert_int_equal(log_recent(entries, LOG_RECENT_MAX + 4), LOG_RECENT_MAX);
    char expected[32];
    snprintf(expected, sizeof(expected), "warning %d", 3); /* the oldest kept */
    assert_string_equal(entries[0].message, expected);
    snprintf(expected, sizeof(expected), "warning %d", LOG_RECENT_MAX + 2);
    assert_string_equal(entries[LOG_RECENT_MAX - 1].message, expected);
    assert_int_equal(entries[0].level, LOG_WARNING);
    /* Fewer asked for: the newest ones. */
    assert_int_equal(log_recent(entries, 2), 2);
    snprintf(expected, sizeof(expected), "warning %d", LOG_RECENT_MAX + 1);
    assert_string_equal(entries[0].message, expected);
    char long_message[600];
    memset(long_message, 'x', sizeof(long_message) - 1);
    long_message[sizeof(long_message) - 1] = '\0';
    log_msg(LOG_ERR, "%s", long_message);
    assert_int_equal(log_recent(entries, 1), 1);
    assert_int_equal(strlen(entries[0].message), sizeof(entries[0].message) - 1);
}

/* The daemon's own check of the peer (SO_PEERCRED), behind the socket's 0600: with the socket
 * opened up for the test, a client of another uid reaches the server and is refused. */
static void test_other_uid_refused_by_the_server(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* needs root to become another user */
    char *dir = temp_dir();
    struct fake f = {0};
    struct control_server *server = start_server(dir, &f);
    const char *path = control_server_path(server);
    assert_int_equal(chmod(dir, 0711), 0);
    assert_int_equal(chmod(path, 0666), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Only async-signal-safe calls here: the parent has threads. */
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        int fd = connect_to(path);
        static const char line[] = "{\"request\":\"status\"}\n";
        if (fd < 0)
            _exit(4);
        /* May fail with EPIPE: the server answers and closes without reading. */
        (void)control_write_all(fd, line, sizeof(line) - 1, 5000);
        static char reply[512];
        if (control_read_line(fd, reply, sizeof(reply), 10000) <= 0)
            _exit(5);
        _exit(strstr(reply, "\"permission_denied\"") && strstr(reply, "uid 0") ? 0 : 6);
    }
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(f.status_calls, 0); /* the request never reached a handler */
    control_server_stop(server);
    remove_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dir_problem),
        cmocka_unit_test(test_socket_dirs),
        cmocka_unit_test(test_socket_dirs_xdg_is_run_user),
        cmocka_unit_test(test_find_mount),
        cmocka_unit_test(test_prepare_dir),
        cmocka_unit_test(test_socket_name),
        cmocka_unit_test(test_mount_path),
        cmocka_unit_test(test_status_request),
        cmocka_unit_test(test_unlock_request),
        cmocka_unit_test(test_lock_request),
        cmocka_unit_test(test_sync_request),
        cmocka_unit_test(test_bad_requests),
        cmocka_unit_test(test_error_codes_and_peers),
        cmocka_unit_test(test_line_io),
        cmocka_unit_test(test_server),
        cmocka_unit_test(test_syncs_wait_on_their_own_threads),
        cmocka_unit_test(test_stale_socket_replaced),
        cmocka_unit_test(test_other_uid_refused_by_the_server),
        cmocka_unit_test(test_recent_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
