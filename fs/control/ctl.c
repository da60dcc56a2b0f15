/* ctl: `seafs status|sync|unlock|lock`, the client of a mount's control socket (control.h).
 *
 * Finding a mount's socket never touches the mount itself first (a stopped daemon would hang
 * us): the mount point is canonicalised by its parent's realpath, its owner read from
 * /proc/self/mountinfo (FUSE's user_id=), and the socket looked up in the owner's socket
 * directories; only when that finds nothing is the whole path resolved (a symlink to a mount
 * point). Passwords come from a 0600 file, stdin or the terminal without echo (credentials.c),
 * never from argv, and are wiped after sending. A sync waits for its reply as long as the
 * daemon's wait may take (without --timeout: until it answers or the connection closes, which
 * is how a daemon that died is noticed). */
#include "ctl.h"
#include "seaf_clock.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "mountinfo.h"
#include "credentials.h"

#define STATUS_TIMEOUT_MS (5 * 1000)
/* An unlock may derive a key with argon2id (about a second) and fetch the head commit (up to
 * the mount's request timeout, 30 s by default). */
#define UNLOCK_TIMEOUT_MS (45 * 1000)
/* A sync's reply may come this long after the daemon's own timeout (its wait looks at the
 * clock once a second, and the report takes a moment). */
#define SYNC_GRACE_MS (15 * 1000)
#define REPLY_MAX     (8u << 20)
#define PASSWORD_MAX  1024

/* ---- arguments ------------------------------------------------------------------------- */

bool ctl_is_command(const char *arg)
{
    return arg && (strcmp(arg, "status") == 0 || strcmp(arg, "sync") == 0 ||
                   strcmp(arg, "unlock") == 0 || strcmp(arg, "lock") == 0);
}

void ctl_print_usage(FILE *out)
{
    fprintf(out, "       seafs status [MOUNTPOINT] [--json]\n"
                 "       seafs sync [MOUNTPOINT [LIBRARY]] [--timeout SECONDS] [--json]\n"
                 "       seafs unlock MOUNTPOINT LIBRARY [--password-file FILE | "
                 "--password-stdin]\n"
                 "       seafs lock MOUNTPOINT LIBRARY\n");
}

static int usage_error(char *err, size_t err_size, const char *what, const char *arg)
{
    snprintf(err, err_size, "%s%s%s", what, arg ? " " : "", arg ? arg : "");
    return -1;
}

/* The value of --timeout: whole seconds, at most CONTROL_TIMEOUT_MAX. 0 or -1. */
static int parse_timeout(const char *text, unsigned *out)
{
    unsigned long long value = 0;
    if (!text || !*text)
        return -1;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return -1;
        value = value * 10 + (unsigned)(*c - '0');
        if (value > CONTROL_TIMEOUT_MAX)
            return -1;
    }
    *out = (unsigned)value;
    return 0;
}

int ctl_parse_args(int argc, char **argv, struct ctl_args *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (argc < 2 || !ctl_is_command(argv[1]))
        return usage_error(err, err_size, "expected status, sync, unlock or lock", NULL);
    out->command = strcmp(argv[1], "status") == 0   ? CTL_STATUS
                   : strcmp(argv[1], "sync") == 0   ? CTL_SYNC
                   : strcmp(argv[1], "unlock") == 0 ? CTL_UNLOCK
                                                    : CTL_LOCK;
    const char *positional[2] = {NULL, NULL};
    int npositional = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            out->help = true;
        } else if (strcmp(arg, "--json") == 0 &&
                   (out->command == CTL_STATUS || out->command == CTL_SYNC)) {
            out->json = true;
        } else if (strncmp(arg, "--timeout", 9) == 0 && out->command == CTL_SYNC &&
                   (arg[9] == '\0' || arg[9] == '=')) {
            const char *value = arg[9] == '=' ? arg + 10 : i + 1 < argc ? argv[++i] : NULL;
            if (parse_timeout(value, &out->timeout_s) != 0) {
                char what[64];
                snprintf(what, sizeof(what), "--timeout needs whole seconds (0 to %u), not",
                         CONTROL_TIMEOUT_MAX);
                return usage_error(err, err_size, what, value ? value : "nothing");
            }
        } else if (strcmp(arg, "--password-stdin") == 0 && out->command == CTL_UNLOCK) {
            out->password_stdin = true;
        } else if (strncmp(arg, "--password-file", 15) == 0 && out->command == CTL_UNLOCK &&
                   (arg[15] == '\0' || arg[15] == '=')) {
            if (arg[15] == '=')
                out->password_file = arg + 16;
            else if (i + 1 < argc)
                out->password_file = argv[++i];
            if (!out->password_file || !*out->password_file)
                return usage_error(err, err_size, "--password-file needs a file name", NULL);
        } else if (strncmp(arg, "--password", 10) == 0 || strcmp(arg, "-p") == 0) {
            return usage_error(err, err_size,
                               "passwords are never taken on the command line: use "
                               "--password-file FILE, --password-stdin or the prompt",
                               NULL);
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return usage_error(err, err_size, "unknown argument", arg);
        } else if (npositional < 2) {
            positional[npositional++] = arg;
        } else {
            return usage_error(err, err_size, "unexpected argument", arg);
        }
    }
    if (out->help)
        return 0;
    if (out->password_file && out->password_stdin)
        return usage_error(err, err_size, "give --password-file or --password-stdin, not both",
                           NULL);
    out->mountpoint = positional[0];
    if (out->command == CTL_SYNC) {
        out->library = positional[1];
        return 0;
    }
    if (out->command == CTL_STATUS) {
        if (npositional > 1)
            return usage_error(err, err_size, "unexpected argument", positional[1]);
        return 0;
    }
    if (npositional < 2)
        return usage_error(err, err_size, argv[1], "needs MOUNTPOINT and LIBRARY");
    out->library = positional[1];
    return 0;
}

/* ---- finding the socket ---------------------------------------------------------------- */

/* Whether path is a seafs mount point (the last one mounted there); *owner gets the mounting
 * uid from FUSE's user_id= super option. */
static bool seafs_mount_owner(const char *path, uid_t *owner)
{
    struct mount_entry mount;
    if (!mountinfo_find(MOUNTINFO_SELF, path, &mount))
        return false;
    *owner = mount.owner;
    return strcmp(mount.fstype, "fuse.seafs") == 0;
}

enum lookup { LOOKUP_FOUND, LOOKUP_NONE, LOOKUP_DENIED };

/* Looks for the socket of the mount at canonical among uid's socket directories. */
static enum lookup lookup_socket(const char *canonical, uid_t uid, char *path, size_t size)
{
    char name[CONTROL_NAME_SIZE], dirs[CONTROL_DIRS_MAX][CONTROL_DIR_MAX];
    if (control_socket_name(canonical, name) != 0)
        return LOOKUP_NONE;
    const char *xdg = uid == getuid() ? getenv("XDG_RUNTIME_DIR") : NULL;
    size_t n = control_socket_dirs(uid, xdg, dirs, CONTROL_DIRS_MAX);
    enum lookup result = LOOKUP_NONE;
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(path, size, "%s/%s", dirs[i], name);
        struct stat st;
        if (len < 0 || (size_t)len >= size || !control_dir_trusted(dirs[i], uid))
            continue;
        if (lstat(path, &st) != 0) {
            if (errno == EACCES)
                result = LOOKUP_DENIED;
            continue;
        }
        if (S_ISSOCK(st.st_mode) && st.st_uid == uid)
            return LOOKUP_FOUND;
    }
    return result;
}

/* The socket of the mount at mountpoint and the uid that serves it. 0, or -1 after printing
 * why. */
static int find_socket(const char *mountpoint, char *path, size_t size, uid_t *server_uid)
{
    char canonical[PATH_MAX];
    uid_t owner = getuid();
    bool resolve_all = false;
    for (;;) {
        int rc = control_mount_path(mountpoint, resolve_all, canonical, sizeof(canonical));
        if (rc) {
            fprintf(stderr, "seafs: no seafs mount at %s: %s\n", mountpoint, strerror(-rc));
            return -1;
        }
        bool is_seafs = seafs_mount_owner(canonical, &owner);
        bool foreign = is_seafs && owner != getuid() && getuid() != 0;
        *server_uid = is_seafs ? owner : getuid();
        enum lookup found = lookup_socket(canonical, *server_uid, path, size);
        if (found == LOOKUP_FOUND)
            return 0;
        if (found == LOOKUP_DENIED || foreign) {
            fprintf(stderr,
                    "seafs: permission denied: the seafs mount at %s belongs to uid %u; only "
                    "that user and root may control it\n",
                    canonical, (unsigned)owner);
            return -1;
        }
        if (is_seafs) {
            fprintf(stderr,
                    "seafs: the seafs mount at %s has no control socket (its daemon is gone, "
                    "or it was started by another version)\n",
                    canonical);
            return -1;
        }
        if (resolve_all) {
            fprintf(stderr, "seafs: no seafs mount at %s\n", mountpoint);
            return -1;
        }
        resolve_all = true;
    }
}

/* ---- one exchange ---------------------------------------------------------------------- */

enum exchange_result { EXCHANGE_OK, EXCHANGE_STALE, EXCHANGE_FAILED };

/* Whether the process at the other end of fd runs as server_uid or root; else err says so. */
static bool trusted_peer(int fd, const char *path, uid_t server_uid, char *err, size_t err_size)
{
    struct ucred peer;
    socklen_t len = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &len) != 0) {
        snprintf(err, err_size, "cannot identify the process at %s: %s", path, strerror(errno));
        return false;
    }
    if (control_peer_allowed(peer.uid, server_uid))
        return true;
    snprintf(err, err_size, "the process at %s runs as uid %u, not %u: not talking to it", path,
             (unsigned)peer.uid, (unsigned)server_uid);
    return false;
}

/* Sends request (one line, newline added here) to the socket at path, served by a process of
 * server_uid (or root), and parses the reply into *reply. On failure the reason is in err. */
static enum exchange_result exchange(const char *path, uid_t server_uid, const char *request,
                                     int timeout_ms, json_t **reply, char *err, size_t err_size)
{
    *reply = NULL;
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        snprintf(err, err_size, "socket path %s is too long", path);
        return EXCHANGE_FAILED;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return EXCHANGE_FAILED;
    }
    enum exchange_result result = EXCHANGE_FAILED;
    char *line = NULL;
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        if (errno == ECONNREFUSED) {
            snprintf(err, err_size, "the daemon is not running (stale control socket %s)", path);
            result = EXCHANGE_STALE;
        } else if (errno == EACCES || errno == EPERM) {
            snprintf(err, err_size, "permission denied on %s", path);
        } else if (errno == EAGAIN) {
            snprintf(err, err_size, "the daemon is not responding (its queue at %s is full)", path);
        } else {
            snprintf(err, err_size, "cannot connect to %s: %s", path, strerror(errno));
        }
        goto out;
    }
    if (!trusted_peer(fd, path, server_uid, err, err_size))
        goto out;
    size_t len = strlen(request);
    line = malloc(len > REPLY_MAX ? len + 2 : REPLY_MAX);
    if (!line) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    memcpy(line, request, len);
    line[len] = '\n';
    int rc = control_write_all(fd, line, len + 1, timeout_ms);
    explicit_bzero(line, len + 1);
    long got = rc ? rc : control_read_line(fd, line, REPLY_MAX, timeout_ms);
    if (got == -ETIMEDOUT) {
        snprintf(err, err_size, "the daemon is not responding (no reply within %d s)",
                 timeout_ms / 1000);
    } else if (got == -ECONNRESET || got == -EPIPE) {
        snprintf(err, err_size, "the daemon closed the connection without a reply");
    } else if (got < 0) {
        snprintf(err, err_size, "talking to the daemon: %s", strerror((int)-got));
    } else {
        json_error_t error;
        *reply = json_loads(line, 0, &error);
        if (json_is_object(*reply)) {
            result = EXCHANGE_OK;
        } else {
            json_decref(*reply);
            *reply = NULL;
            snprintf(err, err_size, "the daemon sent a malformed reply");
        }
    }
out:
    free(line);
    close(fd);
    return result;
}

/* The reply's status, or NULL after printing why there is none. */
static json_t *reply_status(json_t *reply, const char *what)
{
    json_t *status = json_object_get(reply, "status");
    if (json_is_true(json_object_get(reply, "ok")) && json_is_object(status))
        return status;
    fprintf(stderr, "seafs: %s: %s\n", what,
            json_string_value(json_object_get(reply, "message"))
                ? json_string_value(json_object_get(reply, "message"))
                : "no status in the reply");
    return NULL;
}

/* ---- status ---------------------------------------------------------------------------- */

static void format_size(char *out, size_t size, double bytes)
{
    static const char *units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    unsigned u = 0;
    while (bytes >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, size, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

static void format_age(char *out, size_t size, json_int_t seconds)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds < 120)
        snprintf(out, size, "%llds", (long long)seconds);
    else if (seconds < 2 * 3600)
        snprintf(out, size, "%lldm", (long long)seconds / 60);
    else if (seconds < 2 * 86400)
        snprintf(out, size, "%lldh", (long long)seconds / 3600);
    else
        snprintf(out, size, "%lldd", (long long)seconds / 86400);
}

static json_int_t field_int(json_t *object, const char *key)
{
    return json_integer_value(json_object_get(object, key));
}

static const char *field_str(json_t *object, const char *key)
{
    const char *s = json_string_value(json_object_get(object, key));
    return s ? s : "";
}

/* Appends printf-style text to out (size bytes, NUL-terminated), cutting what does not fit. */
static void append(char *out, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *out, size_t size, const char *fmt, ...)
{
    size_t len = strlen(out);
    if (len + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + len, size - len, fmt, ap);
    va_end(ap);
}

/* "3 changes (1.2 MiB)", "1 change", ... into out. */
static void format_changes(char *out, size_t size, json_int_t files, json_int_t bytes)
{
    snprintf(out, size, "%lld change%s", (long long)files, files == 1 ? "" : "s");
    if (bytes > 0) {
        char amount[32];
        format_size(amount, sizeof(amount), (double)bytes);
        append(out, size, " (%s)", amount);
    }
}

void ctl_format_upload(char *out, size_t size, json_t *library, long long now)
{
    out[0] = '\0';
    json_t *pending = json_object_get(library, "pending");
    json_t *upload = json_object_get(library, "upload");
    json_int_t files = field_int(pending, "files");
    bool uploading = json_is_true(json_object_get(upload, "in_progress"));
    if (files > 0) {
        format_changes(out, size, files, field_int(pending, "bytes"));
        append(out, size, uploading ? " uploading" : " waiting");
    } else if (uploading) {
        append(out, size, "uploading");
    }
    json_int_t total = field_int(upload, "bytes_total");
    if (uploading && total > 0) {
        char sent[32], all[32], rate[32];
        format_size(sent, sizeof(sent), (double)field_int(upload, "bytes_sent"));
        format_size(all, sizeof(all), (double)total);
        format_size(rate, sizeof(rate),
                    json_number_value(json_object_get(upload, "rate_bytes_per_s")));
        append(out, size, ", %s of %s sent (%s/s)", sent, all, rate);
    }
    const char *error = json_string_value(json_object_get(library, "error"));
    if (error) {
        append(out, size, "%serror: %s", out[0] ? " -- " : "", error);
        json_t *retry = json_object_get(library, "retry_at");
        if (json_is_integer(retry) && json_integer_value(retry) > now)
            append(out, size, ", retry in %lld s", (long long)(json_integer_value(retry) - now));
        else if (json_is_integer(retry))
            append(out, size, ", retrying");
    }
    const char *recovery = json_string_value(json_object_get(library, "recovery_dir"));
    if (recovery)
        append(out, size, "%sunsent files saved in %s", out[0] ? " -- " : "", recovery);
}

static void print_libraries(FILE *out, json_t *libraries, const char *mountpoint, long long now)
{
    fprintf(out, "  libraries: %zu\n", json_array_size(libraries));
    if (json_array_size(libraries) == 0)
        return;
    int width = 6;
    size_t i;
    json_t *lib;
    json_array_foreach(libraries, i, lib)
    {
        int len = (int)strlen(field_str(lib, "path"));
        width = len > width ? len : width;
    }
    width = width > 40 ? 40 : width;
    fprintf(out, "    %-*s  %-8s  %-6s  %-12s  %s\n", width, "FOLDER", "STATE", "ACCESS",
            "HEAD COMMIT", "CHANGED   ID");
    unsigned locked = 0;
    json_array_foreach(libraries, i, lib)
    {
        char age[32];
        format_age(age, sizeof(age), field_int(lib, "head_age"));
        const char *state = !json_is_true(json_object_get(lib, "encrypted")) ? "plain"
                            : json_is_true(json_object_get(lib, "locked"))   ? "locked"
                                                                             : "unlocked";
        locked += strcmp(state, "locked") == 0;
        strcat(age, " ago");
        fprintf(out, "    %-*s  %-8s  %-6s  %-12.12s  %-8s  %s\n", width, field_str(lib, "path"),
                state, json_is_true(json_object_get(lib, "read_only")) ? "ro" : "rw",
                field_str(lib, "head_commit"), age, field_str(lib, "id"));
        char upload[1024];
        ctl_format_upload(upload, sizeof(upload), lib, now);
        if (upload[0])
            fprintf(out, "      %s\n", upload);
    }
    if (locked)
        fprintf(out,
                "    locked: encrypted, files refuse reads (EACCES) until `seafs unlock %s "
                "LIBRARY`\n",
                mountpoint);
}

/* The uploads line: what waits in all libraries together. */
static void print_uploads(FILE *out, json_t *libraries)
{
    json_int_t files = 0, bytes = 0;
    unsigned waiting = 0, uploading = 0, failing = 0;
    size_t i;
    json_t *lib;
    json_array_foreach(libraries, i, lib)
    {
        json_t *pending = json_object_get(lib, "pending");
        files += field_int(pending, "files");
        bytes += field_int(pending, "bytes");
        waiting += field_int(pending, "files") > 0;
        uploading += json_is_true(json_object_get(json_object_get(lib, "upload"), "in_progress"));
        failing += json_is_string(json_object_get(lib, "error"));
    }
    char line[256] = "";
    if (files > 0) {
        format_changes(line, sizeof(line), files, bytes);
        append(line, sizeof(line), " waiting in %u librar%s", waiting, waiting == 1 ? "y" : "ies");
    } else {
        append(line, sizeof(line), "nothing waiting");
    }
    if (uploading)
        append(line, sizeof(line), ", %u uploading", uploading);
    if (failing)
        append(line, sizeof(line), ", %u with errors", failing);
    fprintf(out, "  uploads:   %s\n", line);
}

void ctl_print_status(FILE *out, json_t *status)
{
    char age[32], used[32], limit[32], fetched[32];
    format_age(age, sizeof(age), field_int(status, "now") - field_int(status, "mounted_at"));
    fprintf(out, "%s: seafs %s, pid %lld, mounted %s ago\n", field_str(status, "mountpoint"),
            field_str(status, "version"), (long long)field_int(status, "pid"), age);
    fprintf(out, "  server:    %s (%s)\n", field_str(status, "server"),
            json_is_true(json_object_get(status, "online")) ? "online" : "offline");
    fprintf(out, "  account:   %s\n", field_str(status, "account"));
    json_t *cache = json_object_get(status, "cache");
    format_size(used, sizeof(used), (double)field_int(cache, "used_bytes"));
    format_size(limit, sizeof(limit), (double)field_int(cache, "limit_bytes"));
    json_t *ratio = json_object_get(cache, "hit_ratio");
    fprintf(out, "  cache:     %s of %s", used, limit);
    if (field_int(cache, "pinned_bytes") > 0 || field_int(cache, "staged_bytes") > 0) {
        char pinned[32], staged[32];
        format_size(pinned, sizeof(pinned), (double)field_int(cache, "pinned_bytes"));
        format_size(staged, sizeof(staged), (double)field_int(cache, "staged_bytes"));
        fprintf(out, " (%s pinned, %s staged)", pinned, staged);
    }
    fprintf(out, ", %lld objects, ", (long long)field_int(cache, "entries"));
    if (json_is_number(ratio))
        fprintf(out, "hit ratio %.0f%% (%lld of %lld lookups)\n", json_number_value(ratio) * 100,
                (long long)field_int(cache, "hits"),
                (long long)(field_int(cache, "hits") + field_int(cache, "misses")));
    else
        fprintf(out, "hit ratio -\n");
    json_t *net = json_object_get(status, "network");
    format_size(fetched, sizeof(fetched), (double)field_int(net, "bytes_received"));
    fprintf(out, "  network:   %s fetched in %lld requests (%lld retries), %lld in progress\n",
            fetched, (long long)field_int(net, "requests"), (long long)field_int(net, "retries"),
            (long long)field_int(net, "transfers_in_progress"));
    print_uploads(out, json_object_get(status, "libraries"));
    print_libraries(out, json_object_get(status, "libraries"), field_str(status, "mountpoint"),
                    (long long)field_int(status, "now"));
    json_t *errors = json_object_get(status, "errors");
    if (json_array_size(errors) == 0) {
        fprintf(out, "  last errors: none\n");
        return;
    }
    fprintf(out, "  last errors:\n");
    size_t i;
    json_t *e;
    json_array_foreach(errors, i, e)
    {
        char when[32];
        time_t t = (time_t)field_int(e, "time");
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
        fprintf(out, "    %s %s: %s\n", when, field_str(e, "level"), field_str(e, "message"));
    }
}

/* Prints one mount's status (JSON or human); the socket path joins the JSON form. */
static void print_status(json_t *status, const char *socket_path, bool json, bool first)
{
    json_object_set_new(status, "socket", json_string(socket_path));
    if (json) {
        json_dumpf(status, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
    } else {
        if (!first)
            fputc('\n', stdout);
        ctl_print_status(stdout, status);
    }
}

static int status_of(const char *mountpoint, bool json)
{
    char path[CONTROL_SOCKET_PATH_MAX + 32], err[512];
    uid_t server_uid;
    if (find_socket(mountpoint, path, sizeof(path), &server_uid) != 0)
        return CTL_EXIT_FAILURE;
    json_t *reply;
    if (exchange(path, server_uid, "{\"request\":\"status\"}", STATUS_TIMEOUT_MS, &reply, err,
                 sizeof(err)) != EXCHANGE_OK) {
        fprintf(stderr, "seafs: %s: %s\n", mountpoint, err);
        return CTL_EXIT_FAILURE;
    }
    json_t *status = reply_status(reply, mountpoint);
    if (status)
        print_status(status, path, json, true);
    json_decref(reply);
    return status ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

/* Calls fn with the path of every socket in this user's socket directories; returns how many
 * of the calls returned true (live mounts). */
static unsigned each_socket(bool (*fn)(void *ctx, const char *path), void *ctx)
{
    char dirs[CONTROL_DIRS_MAX][CONTROL_DIR_MAX];
    size_t ndirs = control_socket_dirs(getuid(), getenv("XDG_RUNTIME_DIR"), dirs, CONTROL_DIRS_MAX);
    unsigned live = 0;
    for (size_t d = 0; d < ndirs; d++) {
        if (!control_dir_trusted(dirs[d], getuid()))
            continue;
        DIR *dir = opendir(dirs[d]);
        if (!dir)
            continue;
        struct dirent *e;
        while ((e = readdir(dir))) {
            size_t len = strlen(e->d_name);
            if (len < 6 || strcmp(e->d_name + len - 5, ".sock") != 0)
                continue;
            char path[CONTROL_SOCKET_PATH_MAX + 300];
            snprintf(path, sizeof(path), "%s/%s", dirs[d], e->d_name);
            live += fn(ctx, path);
        }
        closedir(dir);
    }
    if (live == 0)
        fprintf(stderr, "seafs: no seafs mounts of uid %u are running\n", (unsigned)getuid());
    return live;
}

struct all_status {
    bool json;
    json_t *all; /* --json: the reports */
    unsigned shown;
};

static bool status_of_socket(void *ctx, const char *path)
{
    struct all_status *a = ctx;
    char err[512];
    json_t *reply;
    if (exchange(path, getuid(), "{\"request\":\"status\"}", STATUS_TIMEOUT_MS, &reply, err,
                 sizeof(err)) != EXCHANGE_OK) {
        fprintf(stderr, "seafs: skipped: %s\n", err);
        return false;
    }
    json_t *status = reply_status(reply, path);
    if (status && a->json) {
        json_object_set_new(status, "socket", json_string(path));
        json_array_append(a->all, status);
    } else if (status) {
        print_status(status, path, false, a->shown++ == 0);
    }
    json_decref(reply);
    return status != NULL;
}

/* The status of every live mount with a socket in this user's directories. */
static int status_of_all(bool json)
{
    struct all_status a = {.json = json, .all = json_array()};
    if (!a.all)
        return CTL_EXIT_FAILURE;
    unsigned live = each_socket(status_of_socket, &a);
    if (json) {
        json_dumpf(a.all, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
    }
    json_decref(a.all);
    return live ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

/* ---- sync ------------------------------------------------------------------------------ */

int ctl_print_sync(FILE *out, FILE *err, json_t *reply, const char *mountpoint)
{
    json_t *sync = json_object_get(reply, "sync");
    const char *where = json_string_value(json_object_get(sync, "mountpoint"));
    where = where ? where : mountpoint;
    json_t *libraries = json_object_get(sync, "libraries");
    size_t i;
    json_t *lib;
    if (!json_is_true(json_object_get(reply, "ok"))) {
        const char *message = field_str(reply, "message");
        fprintf(err, "seafs: sync %s: %s\n", where, *message ? message : field_str(reply, "error"));
        json_array_foreach(libraries, i, lib)
        {
            char state[1024];
            ctl_format_upload(state, sizeof(state), lib, (long long)field_int(sync, "now"));
            if (state[0])
                fprintf(err, "  %s: %s\n", field_str(lib, "path"), state);
        }
        return CTL_EXIT_FAILURE;
    }
    if (json_array_size(libraries) == 0) {
        fprintf(out, "%s: nothing to upload\n", where);
        return CTL_EXIT_OK;
    }
    json_int_t files = 0, bytes = 0;
    char commits[1024] = "";
    json_array_foreach(libraries, i, lib)
    {
        json_t *synced = json_object_get(lib, "synced");
        files += field_int(synced, "files");
        bytes += field_int(synced, "bytes");
        const char *commit = json_string_value(json_object_get(lib, "last_commit"));
        append(commits, sizeof(commits), "%s%s (%s%.8s)", i ? ", " : "", field_str(lib, "path"),
               commit ? "commit " : "no new commit", commit ? commit : "");
    }
    char changes[128];
    format_changes(changes, sizeof(changes), files, bytes);
    json_t *waited = json_object_get(sync, "waited_s");
    fprintf(out, "%s: %s on the server: %s, in %.1f s\n", where, changes, commits,
            json_is_number(waited) ? json_number_value(waited) : 0.0);
    return CTL_EXIT_OK;
}

/* The request line of a sync (malloc'd), NULL when out of memory. */
static char *sync_request(const char *library, unsigned timeout_s)
{
    json_t *request = json_pack("{s:s, s:I}", "request", "sync", "timeout", (json_int_t)timeout_s);
    if (request && library)
        json_object_set_new(request, "library", json_string(library));
    return control_json_line(request);
}

struct sync_run {
    const struct ctl_args *args;
    long long deadline_ms; /* every mount syncs within the one --timeout (0: none) */
    json_t *all;           /* --json of every mount: the replies */
    int code;              /* CTL_EXIT_FAILURE when one failed */
};

/* Syncs the mount served at path (by server_uid) and prints the result; label names it until
 * the reply does. false when the daemon could not be asked. */
static bool sync_socket(struct sync_run *run, const char *label, const char *path, uid_t server_uid)
{
    unsigned timeout_s = run->args->timeout_s;
    if (run->deadline_ms) { /* what is left of it, at least a second */
        long long left = run->deadline_ms - seaf_monotonic_ms();
        timeout_s = left > 1000 ? (unsigned)((left + 999) / 1000) : 1;
    }
    char *request = sync_request(run->args->library, timeout_s);
    json_t *reply = NULL;
    char err[512] = "out of memory";
    enum exchange_result result =
        request ? exchange(path, server_uid, request,
                           timeout_s ? (int)timeout_s * 1000 + SYNC_GRACE_MS : -1, &reply, err,
                           sizeof(err))
                : EXCHANGE_FAILED;
    free(request);
    if (result != EXCHANGE_OK) {
        fprintf(stderr, "seafs: sync %s: %s\n", label, err);
        run->code = CTL_EXIT_FAILURE;
        return false;
    }
    int code = json_is_true(json_object_get(reply, "ok")) ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
    if (run->args->json) {
        json_object_set_new(reply, "socket", json_string(path));
        if (run->all) {
            json_array_append(run->all, reply);
        } else {
            json_dumpf(reply, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
            fputc('\n', stdout);
        }
    } else {
        code = ctl_print_sync(stdout, stderr, reply, label);
    }
    if (code != CTL_EXIT_OK)
        run->code = code;
    json_decref(reply);
    return true;
}

static bool sync_of_socket(void *ctx, const char *path)
{
    return sync_socket(ctx, path, path, getuid());
}

static int sync_main(const struct ctl_args *a)
{
    struct sync_run run = {.args = a, .code = CTL_EXIT_OK};
    if (a->timeout_s)
        run.deadline_ms = seaf_monotonic_ms() + (long long)a->timeout_s * 1000;
    if (a->mountpoint) {
        char path[CONTROL_SOCKET_PATH_MAX + 32];
        uid_t server_uid;
        if (find_socket(a->mountpoint, path, sizeof(path), &server_uid) != 0)
            return CTL_EXIT_FAILURE;
        sync_socket(&run, a->mountpoint, path, server_uid);
        return run.code;
    }
    if (a->library) /* not reached: a library comes after a mount point */
        return CTL_EXIT_USAGE;
    run.all = a->json ? json_array() : NULL;
    unsigned live = each_socket(sync_of_socket, &run);
    if (run.all) {
        json_dumpf(run.all, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        fputc('\n', stdout);
        json_decref(run.all);
    }
    return live ? run.code : CTL_EXIT_FAILURE;
}

/* ---- unlock and lock ------------------------------------------------------------------- */

/* The password of the library: from the file, stdin or the terminal. NULL after printing
 * why there is none. */
static char *read_password(const struct ctl_args *a)
{
    if (a->password_file) {
        char *user = NULL, *password = NULL, err[256];
        if (credentials_read_file(a->password_file, &user, &password, err, sizeof(err)) != 0) {
            fprintf(stderr, "seafs: password file %s %s\n", a->password_file, err);
            return NULL;
        }
        credentials_free_secret(user);
        return password;
    }
    if (a->password_stdin || !isatty(STDIN_FILENO)) {
        char *password = credentials_read_line(STDIN_FILENO, PASSWORD_MAX);
        if (!password)
            fprintf(stderr, "seafs: no password on stdin\n");
        return password;
    }
    char label[PATH_MAX];
    snprintf(label, sizeof(label), "library %s", a->library);
    char *password = credentials_prompt(label);
    if (!password)
        fprintf(stderr, "seafs: no password typed (or no terminal: use --password-file FILE "
                        "or --password-stdin)\n");
    return password;
}

/* The request line of an unlock (malloc'd; the caller wipes and frees it). */
static char *unlock_request(const char *library, const char *password)
{
    json_t *pw = json_string(password);
    char *text = control_json_line(
        json_pack("{s:s, s:s, s:O}", "request", "unlock", "library", library, "password", pw));
    if (pw)
        explicit_bzero((char *)json_string_value(pw), json_string_length(pw));
    json_decref(pw);
    return text;
}

static int lock_or_unlock(const struct ctl_args *a)
{
    char path[CONTROL_SOCKET_PATH_MAX + 32], err[512];
    uid_t server_uid;
    if (find_socket(a->mountpoint, path, sizeof(path), &server_uid) != 0)
        return CTL_EXIT_FAILURE;
    char *request;
    if (a->command == CTL_UNLOCK) {
        char *password = read_password(a);
        if (!password)
            return CTL_EXIT_FAILURE;
        request = unlock_request(a->library, password);
        credentials_free_secret(password);
    } else {
        request =
            control_json_line(json_pack("{s:s, s:s}", "request", "lock", "library", a->library));
    }
    if (!request) {
        fprintf(stderr, "seafs: out of memory\n");
        return CTL_EXIT_FAILURE;
    }
    json_t *reply;
    enum exchange_result result = exchange(
        path, server_uid, request, a->command == CTL_UNLOCK ? UNLOCK_TIMEOUT_MS : STATUS_TIMEOUT_MS,
        &reply, err, sizeof(err));
    credentials_free_secret(request);
    const char *verb = a->command == CTL_UNLOCK ? "unlock" : "lock";
    if (result != EXCHANGE_OK) {
        fprintf(stderr, "seafs: %s %s: %s: %s\n", verb, a->library, a->mountpoint, err);
        return CTL_EXIT_FAILURE;
    }
    bool ok = json_is_true(json_object_get(reply, "ok"));
    const char *message = field_str(reply, "message");
    if (ok)
        printf("%s\n", *message ? message : "done");
    else
        fprintf(stderr, "seafs: %s %s: %s\n", verb, a->library,
                *message ? message : field_str(reply, "error"));
    json_decref(reply);
    return ok ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

int ctl_main(int argc, char **argv)
{
    struct ctl_args a;
    char err[512];
    if (ctl_parse_args(argc, argv, &a, err, sizeof(err)) != 0) {
        fprintf(stderr, "seafs: %s\nusage:\n", err);
        ctl_print_usage(stderr);
        return CTL_EXIT_USAGE;
    }
    if (a.help) {
        printf("usage:\n");
        ctl_print_usage(stdout);
        return CTL_EXIT_OK;
    }
    if (a.command == CTL_STATUS)
        return a.mountpoint ? status_of(a.mountpoint, a.json) : status_of_all(a.json);
    if (a.command == CTL_SYNC)
        return sync_main(&a);
    return lock_or_unlock(&a);
}
