/* control: the daemon side of the control socket (where it lives, the request protocol, the
 * serving thread) and the line I/O the client shares. See control.h for the rules.
 *
 * The server thread waits in poll() on the listening socket and a wake-up pipe; each accepted
 * connection is non-blocking and gets CONTROL_IO_TIMEOUT_MS in all to deliver its request line
 * and take its reply, so a silent or slow client delays others by at most that. The handler
 * itself (an unlock computing argon2id, or fetching a head commit) runs on this thread too:
 * requests are served strictly one after the other -- except a sync, which may wait for hours:
 * its connection goes to a waiter thread of its own, which answers and closes it when the wait
 * ends. Finished waiters are joined by the server thread, the rest by control_server_stop. */
#include "control.h"
#include "seaf_clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "seaf_sha1.h"

#define LISTEN_BACKLOG 8
#define MESSAGE_MAX    512

/* ---- where the sockets are ------------------------------------------------------------- */

const char *control_dir_problem(const struct stat *st, uid_t uid)
{
    if (!S_ISDIR(st->st_mode))
        return "is not a directory";
    if (st->st_uid != uid)
        return "is owned by another user";
    if (st->st_mode & (S_IWGRP | S_IWOTH))
        return "is writable by group or others";
    return NULL;
}

/* dirs[n] = fmt..., when it fits and is not already listed; returns the new count. */
static size_t add_dir(char dirs[][CONTROL_DIR_MAX], size_t n, size_t max, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static size_t add_dir(char dirs[][CONTROL_DIR_MAX], size_t n, size_t max, const char *fmt, ...)
{
    if (n >= max)
        return n;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(dirs[n], CONTROL_DIR_MAX, fmt, ap);
    va_end(ap);
    if (len <= 0 || len >= CONTROL_DIR_MAX)
        return n;
    for (size_t i = 0; i < n; i++)
        if (strcmp(dirs[i], dirs[n]) == 0)
            return n;
    return n + 1;
}

bool control_dir_trusted(const char *dir, uid_t uid)
{
    struct stat st;
    return lstat(dir, &st) == 0 && control_dir_problem(&st, uid) == NULL;
}

size_t control_socket_dirs_under(const char *run_user, uid_t uid, const char *xdg,
                                 char dirs[][CONTROL_DIR_MAX], size_t max)
{
    size_t n = 0;
    if (xdg && xdg[0] == '/' && control_dir_trusted(xdg, uid))
        n = add_dir(dirs, n, max, "%s/seafs", xdg);
    char user_dir[PATH_MAX];
    int len = snprintf(user_dir, sizeof(user_dir), "%s/%u", run_user, (unsigned)uid);
    if (len > 0 && (size_t)len < sizeof(user_dir) && control_dir_trusted(user_dir, uid))
        n = add_dir(dirs, n, max, "%s/seafs", user_dir);
    if (uid == 0)
        n = add_dir(dirs, n, max, "/run/seafs");
    return add_dir(dirs, n, max, "/tmp/seafs-%u", (unsigned)uid);
}

size_t control_socket_dirs(uid_t uid, const char *xdg, char dirs[][CONTROL_DIR_MAX], size_t max)
{
    return control_socket_dirs_under("/run/user", uid, xdg, dirs, max);
}

int control_prepare_dir(const char *dir, uid_t uid, char *err, size_t err_size)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        int e = errno;
        snprintf(err, err_size, "cannot create %s: %s", dir, strerror(e));
        return -e;
    }
    struct stat st;
    if (lstat(dir, &st) != 0) {
        int e = errno;
        snprintf(err, err_size, "cannot stat %s: %s", dir, strerror(e));
        return -e;
    }
    const char *problem = control_dir_problem(&st, uid);
    if (problem) {
        snprintf(err, err_size, "%s %s", dir, problem);
        return -EPERM;
    }
    if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) != 0) {
        int e = errno;
        snprintf(err, err_size, "cannot chmod 700 %s: %s", dir, strerror(e));
        return -e;
    }
    return 0;
}

int control_socket_name(const char *canonical_path, char out[CONTROL_NAME_SIZE])
{
    char id[SEAF_ID_LEN + 1];
    if (seaf_sha1_id(canonical_path, strlen(canonical_path), id) != SEAF_OK)
        return -1;
    snprintf(out, CONTROL_NAME_SIZE, "%.16s.sock", id);
    return 0;
}

int control_mount_path(const char *mountpoint, bool resolve_all, char *out, size_t size)
{
    char resolved[PATH_MAX];
    if (resolve_all) {
        if (!realpath(mountpoint, resolved))
            return -errno;
    } else {
        /* Split off the last component (trailing slashes ignored). */
        char copy[PATH_MAX];
        size_t len = strlen(mountpoint);
        if (len == 0 || len >= sizeof(copy))
            return len ? -ENAMETOOLONG : -ENOENT;
        memcpy(copy, mountpoint, len + 1);
        while (len > 1 && copy[len - 1] == '/')
            copy[--len] = '\0';
        char *slash = strrchr(copy, '/');
        const char *last = slash ? slash + 1 : copy;
        if (!*last || strcmp(last, ".") == 0 || strcmp(last, "..") == 0)
            return control_mount_path(mountpoint, true, out, size);
        const char *parent = !slash ? "." : slash == copy ? "/" : copy;
        if (slash && slash != copy)
            *slash = '\0';
        char parent_path[PATH_MAX];
        if (!realpath(parent, parent_path))
            return -errno;
        int n = snprintf(resolved, sizeof(resolved), "%s/%s",
                         strcmp(parent_path, "/") == 0 ? "" : parent_path, last);
        if (n < 0 || (size_t)n >= sizeof(resolved))
            return -ENAMETOOLONG;
    }
    if (strlen(resolved) >= size)
        return -ENAMETOOLONG;
    strcpy(out, resolved);
    return 0;
}

/* ---- the protocol ---------------------------------------------------------------------- */

const char *control_error_code(int neg_errno)
{
    switch (-neg_errno) {
    case ENOENT:
        return "unknown_library";
    case EINVAL:
        return "not_encrypted";
    case EACCES:
        return "wrong_password";
    case ENOTSUP:
        return "unsupported_encryption";
    case EIO:
    case EHOSTDOWN:
    case ETIMEDOUT:
        return "unavailable";
    default:
        return "failed";
    }
}

const char *control_sync_error_code(int neg_errno)
{
    switch (-neg_errno) {
    case ENOENT:
        return "unknown_library";
    case ETIMEDOUT:
        return "timeout";
    case EDQUOT:
        return "over_quota";
    case EACCES:
        return "permission_denied";
    case ESHUTDOWN:
        return "unavailable";
    default:
        return "upload_failed";
    }
}

bool control_peer_allowed(uid_t peer, uid_t owner)
{
    return peer == owner || peer == 0;
}

char *control_json_line(json_t *value)
{
    char *text = value ? json_dumps(value, JSON_COMPACT) : NULL;
    json_decref(value);
    return text;
}

/* {"ok": false, "error": code, "message": message} as text. */
static char *error_reply(const char *code, const char *message)
{
    return control_json_line(
        json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message", message));
}

/* The reply for a handler's result. */
static char *result_reply(int rc, const char *message)
{
    if (rc != 0)
        return error_reply(control_error_code(rc), message);
    return control_json_line(json_pack("{s:b, s:s}", "ok", 1, "message", message));
}

/* The library argument of a request, or NULL (then *reply is set). */
static const char *library_argument(json_t *request, char **reply)
{
    const char *library = json_string_value(json_object_get(request, "library"));
    if (library && *library)
        return library;
    *reply = error_reply("bad_request", "the request names no library");
    return NULL;
}

static char *handle_status(const struct control_handlers *h)
{
    json_t *status = h->status(h->ctx);
    if (!status)
        return error_reply("failed", "out of memory");
    return control_json_line(
        json_pack("{s:b, s:s, s:o}", "ok", 1, "message", "", "status", status));
}

static char *handle_unlock(const struct control_handlers *h, json_t *request)
{
    char *reply = NULL;
    const char *library = library_argument(request, &reply);
    if (!library)
        return reply;
    json_t *password = json_object_get(request, "password");
    if (!json_is_string(password) || json_string_length(password) == 0)
        return error_reply("bad_request", "the request holds no password");
    char message[MESSAGE_MAX] = "";
    int rc = h->unlock(h->ctx, library, json_string_value(password), message, sizeof(message));
    /* jansson keeps the string's bytes; wipe them before they are freed. */
    explicit_bzero((char *)json_string_value(password), json_string_length(password));
    log_msg(LOG_INFO, "control: unlock %s: %s", library, rc == 0 ? "done" : message);
    return result_reply(rc, message);
}

static char *handle_lock(const struct control_handlers *h, json_t *request)
{
    char *reply = NULL;
    const char *library = library_argument(request, &reply);
    if (!library)
        return reply;
    char message[MESSAGE_MAX] = "";
    int rc = h->lock(h->ctx, library, message, sizeof(message));
    log_msg(LOG_INFO, "control: lock %s: %s", library, rc == 0 ? "done" : message);
    return result_reply(rc, message);
}

/* The timeout argument of a sync: 0 when absent; -1 (then *reply is set) when it is not a
 * whole number of seconds from 0 to CONTROL_TIMEOUT_MAX. */
static long long timeout_argument(json_t *request, char **reply)
{
    json_t *timeout = json_object_get(request, "timeout");
    if (!timeout || json_is_null(timeout))
        return 0;
    if (json_is_integer(timeout) && json_integer_value(timeout) >= 0 &&
        json_integer_value(timeout) <= CONTROL_TIMEOUT_MAX)
        return json_integer_value(timeout);
    *reply = error_reply("bad_request", "timeout: expected whole seconds");
    return -1;
}

static char *handle_sync(const struct control_handlers *h, json_t *request)
{
    char *reply = NULL;
    json_t *name = json_object_get(request, "library");
    const char *library = json_string_value(name);
    if (name && !json_is_null(name) && (!library || !*library))
        return error_reply("bad_request", "library: expected a library name");
    long long timeout = timeout_argument(request, &reply);
    if (timeout < 0)
        return reply;
    if (!h->sync)
        return error_reply("failed", "this mount does not upload");
    char message[MESSAGE_MAX] = "";
    json_t *details = NULL;
    int rc = h->sync(h->ctx, library, (unsigned)timeout, message, sizeof(message), &details);
    log_msg(LOG_INFO, "control: sync %s: %s", library ? library : "(all)",
            rc == 0 ? "done" : message);
    json_t *out = rc == 0 ? json_pack("{s:b, s:s}", "ok", 1, "message", message)
                          : json_pack("{s:b, s:s, s:s}", "ok", 0, "error",
                                      control_sync_error_code(rc), "message", message);
    if (out && details)
        json_object_set(out, "sync", details);
    json_decref(details);
    return control_json_line(out);
}

bool control_request_waits(const char *line)
{
    json_error_t error;
    json_t *request = json_loads(line, 0, &error);
    const char *kind = json_string_value(json_object_get(request, "request"));
    bool waits = kind && strcmp(kind, "sync") == 0;
    json_decref(request);
    return waits;
}

char *control_handle_line(const struct control_handlers *handlers, const char *line)
{
    json_error_t error;
    json_t *request = json_loads(line, JSON_REJECT_DUPLICATES, &error);
    if (!json_is_object(request)) {
        json_decref(request);
        return error_reply("bad_request", "the request is not a JSON object");
    }
    const char *kind = json_string_value(json_object_get(request, "request"));
    char *reply;
    if (!kind)
        reply = error_reply("bad_request", "the request has no \"request\" field");
    else if (strcmp(kind, "status") == 0)
        reply = handle_status(handlers);
    else if (strcmp(kind, "unlock") == 0)
        reply = handle_unlock(handlers, request);
    else if (strcmp(kind, "lock") == 0)
        reply = handle_lock(handlers, request);
    else if (strcmp(kind, "sync") == 0)
        reply = handle_sync(handlers, request);
    else
        reply =
            error_reply("bad_request", "unknown request (expected status, unlock, lock or sync)");
    json_decref(request);
    return reply;
}

/* ---- line I/O -------------------------------------------------------------------------- */

/* The deadline of a timeout (< 0: none). */
static long deadline_of(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : seaf_monotonic_ms() + timeout_ms;
}

/* Waits until fd is ready for events or the deadline (< 0: none) passes. 0, -ETIMEDOUT or
 * -errno. */
static int wait_ready(int fd, short events, long deadline)
{
    for (;;) {
        long left = deadline < 0 ? -1 : deadline - seaf_monotonic_ms();
        if (deadline >= 0 && left <= 0)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return -errno;
    }
}

long control_read_line(int fd, char *buf, size_t size, int timeout_ms)
{
    long deadline = deadline_of(timeout_ms);
    size_t len = 0;
    for (;;) {
        if (len + 1 >= size)
            return -EMSGSIZE;
        ssize_t n = recv(fd, buf + len, size - 1 - len, MSG_DONTWAIT);
        if (n > 0) {
            char *newline = memchr(buf + len, '\n', (size_t)n);
            len += (size_t)n;
            if (newline) {
                *newline = '\0';
                return (long)(newline - buf);
            }
            continue;
        }
        if (n == 0)
            return -ECONNRESET;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        int rc = wait_ready(fd, POLLIN, deadline);
        if (rc)
            return rc;
    }
}

int control_write_all(int fd, const char *data, size_t len, int timeout_ms)
{
    long deadline = deadline_of(timeout_ms);
    while (len) {
        ssize_t n = send(fd, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            data += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        int rc = wait_ready(fd, POLLOUT, deadline);
        if (rc)
            return rc;
    }
    return 0;
}

/* ---- the server ------------------------------------------------------------------------ */

/* A connection whose request waits (a sync), served on a thread of its own. */
struct waiter {
    struct control_server *server;
    int fd;
    char *line; /* the request */
    pthread_t thread;
    bool done; /* protected by the server's lock: the thread may be joined */
    struct waiter *next;
};

struct control_server {
    struct control_handlers handlers;
    char path[CONTROL_SOCKET_PATH_MAX];
    int listen_fd;
    int wake[2]; /* control_server_stop writes to wake[1] */
    dev_t dev;   /* of the socket file we bound, to remove only our own */
    ino_t ino;
    uid_t owner;
    char *line; /* request buffer, CONTROL_LINE_MAX */
    pthread_t thread;
    pthread_mutex_t lock;
    struct waiter *waiters; /* protected by lock */
    size_t n_waiters;       /* protected by lock */
};

/* Sends reply + newline to a connected client. */
static void send_reply(int fd, char *reply)
{
    if (!reply)
        reply = strdup("{\"ok\":false,\"error\":\"failed\",\"message\":\"out of memory\"}");
    if (!reply)
        return;
    size_t len = strlen(reply);
    char *line = realloc(reply, len + 2);
    if (line) {
        line[len] = '\n';
        line[len + 1] = '\0';
        int rc = control_write_all(fd, line, len + 1, CONTROL_IO_TIMEOUT_MS);
        if (rc)
            log_msg(LOG_DEBUG, "control: reply not delivered: %s", strerror(-rc));
        reply = line;
    }
    free(reply);
}

static void *wait_and_reply(void *arg)
{
    struct waiter *w = arg;
    char *reply = control_handle_line(&w->server->handlers, w->line);
    /* Done before the client sees the answer, so that its next sync finds the slot free
     * (joining waits for the thread to end). */
    pthread_mutex_lock(&w->server->lock);
    w->done = true;
    pthread_mutex_unlock(&w->server->lock);
    send_reply(w->fd, reply);
    close(w->fd);
    w->fd = -1;
    return NULL;
}

/* Joins and frees the waiters that are done (all of them with every, which waits for them). */
static void join_waiters(struct control_server *s, bool every)
{
    pthread_mutex_lock(&s->lock);
    struct waiter **link = &s->waiters;
    while (*link) {
        struct waiter *w = *link;
        if (!w->done && !every) {
            link = &w->next;
            continue;
        }
        *link = w->next;
        s->n_waiters--;
        pthread_mutex_unlock(&s->lock);
        pthread_join(w->thread, NULL);
        free(w->line);
        free(w);
        pthread_mutex_lock(&s->lock);
        link = &s->waiters; /* the list may have changed meanwhile */
    }
    pthread_mutex_unlock(&s->lock);
}

/* Hands connection fd with request line (len bytes) to a waiter thread. false when it cannot
 * (then the connection is answered here and stays the caller's to close). */
static bool start_waiter(struct control_server *s, int fd, size_t len)
{
    join_waiters(s, false);
    pthread_mutex_lock(&s->lock);
    bool full = s->n_waiters >= CONTROL_WAITERS_MAX;
    pthread_mutex_unlock(&s->lock);
    if (full) {
        send_reply(fd, error_reply("busy", "too many syncs are waiting on this mount"));
        return false;
    }
    struct waiter *w = calloc(1, sizeof(*w));
    if (w)
        w->line = malloc(len + 1);
    if (!w || !w->line) {
        free(w);
        send_reply(fd, error_reply("failed", "out of memory"));
        return false;
    }
    memcpy(w->line, s->line, len + 1);
    w->server = s;
    w->fd = fd;
    pthread_mutex_lock(&s->lock);
    int rc = pthread_create(&w->thread, NULL, wait_and_reply, w);
    if (rc == 0) {
        w->next = s->waiters;
        s->waiters = w;
        s->n_waiters++;
    }
    pthread_mutex_unlock(&s->lock);
    if (rc != 0) {
        free(w->line);
        free(w);
        send_reply(fd, error_reply("failed", "cannot start a thread for the sync"));
        return false;
    }
    return true;
}

/* Serves one accepted connection; true when it went to a waiter (which closes it). */
static bool serve_connection(struct control_server *s, int fd)
{
    struct ucred peer;
    socklen_t peer_len = sizeof(peer);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0 ||
        !control_peer_allowed(peer.uid, s->owner)) {
        char message[128];
        snprintf(message, sizeof(message), "only uid %u and root may control this mount",
                 (unsigned)s->owner);
        log_msg(LOG_WARNING, "control: refused a connection of uid %d",
                peer_len == sizeof(peer) ? (int)peer.uid : -1);
        send_reply(fd, error_reply("permission_denied", message));
        return false;
    }
    bool handed_over = false;
    long len = control_read_line(fd, s->line, CONTROL_LINE_MAX, CONTROL_IO_TIMEOUT_MS);
    if (len == -EMSGSIZE) {
        send_reply(fd, error_reply("bad_request", "the request is too long"));
    } else if (len >= 0 && control_request_waits(s->line)) {
        handed_over = start_waiter(s, fd, (size_t)len);
    } else if (len >= 0) {
        send_reply(fd, control_handle_line(&s->handlers, s->line));
    } else {
        log_msg(LOG_DEBUG, "control: no request received: %s", strerror((int)-len));
    }
    explicit_bzero(s->line, CONTROL_LINE_MAX);
    return handed_over;
}

static void *serve(void *arg)
{
    struct control_server *s = arg;
    for (;;) {
        struct pollfd p[2] = {{.fd = s->listen_fd, .events = POLLIN},
                              {.fd = s->wake[0], .events = POLLIN}};
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            log_msg(LOG_ERR, "control: poll: %s", strerror(errno));
            return NULL;
        }
        if (p[1].revents)
            return NULL;
        if (!(p[0].revents & POLLIN))
            continue;
        int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            continue; /* EAGAIN (the client went away), EMFILE, ...: try again at the next */
        if (!serve_connection(s, fd))
            close(fd);
        join_waiters(s, false);
    }
}

/* Removes a socket left at path by a dead daemon. 0, or -1 with the reason in err when a live
 * daemon answers there or something other than a socket is in the way. */
static int remove_stale_socket(const char *path, char *err, size_t err_size)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, err_size, "%s exists and is not a socket", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    int live = connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    close(fd);
    if (live) {
        snprintf(err, err_size, "another seafs process serves this mount point at %s", path);
        return -1;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, err_size, "cannot remove the stale socket %s: %s", path, strerror(errno));
        return -1;
    }
    log_msg(LOG_INFO, "control: replaced the stale socket %s", path);
    return 0;
}

/* Binds and listens at s->path (mode 0600). 0 or -1 with the reason in err. */
static int listen_at(struct control_server *s, char *err, size_t err_size)
{
    s->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->listen_fd < 0) {
        snprintf(err, err_size, "socket: %s", strerror(errno));
        return -1;
    }
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", s->path);
    mode_t old_umask = umask(077);
    int rc = bind(s->listen_fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old_umask);
    struct stat st;
    if (rc != 0 || chmod(s->path, 0600) != 0 || lstat(s->path, &st) != 0 ||
        listen(s->listen_fd, LISTEN_BACKLOG) != 0) {
        snprintf(err, err_size, "cannot listen at %s: %s", s->path, strerror(errno));
        return -1;
    }
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    return 0;
}

struct control_server *control_server_start(const char *dir, const char *canonical_mount,
                                            const struct control_handlers *handlers, char *err,
                                            size_t err_size)
{
    char name[CONTROL_NAME_SIZE];
    struct control_server *s = calloc(1, sizeof(*s));
    if (s)
        pthread_mutex_init(&s->lock, NULL);
    if (!s || !(s->line = malloc(CONTROL_LINE_MAX))) {
        snprintf(err, err_size, "out of memory");
        goto fail_free;
    }
    s->handlers = *handlers;
    s->owner = geteuid();
    s->listen_fd = s->wake[0] = s->wake[1] = -1;
    int n = snprintf(s->path, sizeof(s->path), "%s/", dir);
    if (n < 0 || (size_t)n >= sizeof(s->path) - CONTROL_NAME_SIZE ||
        control_socket_name(canonical_mount, name) != 0) {
        snprintf(err, err_size, "socket directory %s: path too long", dir);
        goto fail_free;
    }
    strcat(s->path, name);
    if (remove_stale_socket(s->path, err, err_size) != 0 || listen_at(s, err, err_size) != 0)
        goto fail_close;
    if (pipe2(s->wake, O_CLOEXEC) != 0) {
        snprintf(err, err_size, "pipe: %s", strerror(errno));
        goto fail_unlink;
    }
    int rc = pthread_create(&s->thread, NULL, serve, s);
    if (rc != 0) {
        snprintf(err, err_size, "cannot start the control thread: %s", strerror(rc));
        goto fail_unlink;
    }
    return s;
fail_unlink:
    unlink(s->path);
fail_close:
    if (s->listen_fd >= 0)
        close(s->listen_fd);
    if (s->wake[0] >= 0) {
        close(s->wake[0]);
        close(s->wake[1]);
    }
fail_free:
    if (s) {
        free(s->line);
        pthread_mutex_destroy(&s->lock);
    }
    free(s);
    return NULL;
}

const char *control_server_path(const struct control_server *server)
{
    return server->path;
}

void control_server_stop(struct control_server *s)
{
    if (!s)
        return;
    char byte = 0;
    ssize_t ignored = write(s->wake[1], &byte, 1);
    (void)ignored;
    pthread_join(s->thread, NULL);
    join_waiters(s, true);
    struct stat st;
    if (lstat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
        unlink(s->path);
    close(s->listen_fd);
    close(s->wake[0]);
    close(s->wake[1]);
    free(s->line);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
