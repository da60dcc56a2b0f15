/* control: the control socket of a running mount, which `seafs status|unlock|lock` talk to.
 *
 * Where: one unix socket per mount, named after the SHA-1 of the mount point's canonical path
 * ("<16 hex digits>.sock", unix socket paths are limited to 108 bytes), in the first usable of
 * $XDG_RUNTIME_DIR/seafs/ (the variable set, an absolute path to a directory owned by the user
 * and writable by nobody else), /run/user/<uid>/seafs/ (when /run/user/<uid> exists and belongs
 * to the user), /run/seafs/ (root only) and /tmp/seafs-<uid>/. The directory is made 0700 and
 * refused when it is owned by someone else or writable by group or others; the socket is 0600
 * and the daemon also checks each peer's uid (SO_PEERCRED): only the mounting user and root.
 * The client (ctl.c) likewise trusts only such directories of the mount's owner, sockets of
 * that uid and a peer running as that uid or root.
 *
 * Protocol: the client sends one JSON object on one line, the daemon answers with one JSON
 * object on one line and closes the connection.
 *   {"request": "status"}
 *   {"request": "unlock", "library": "NAME", "password": "..."}
 *   {"request": "lock", "library": "NAME"}
 *   {"request": "sync"[, "library": "NAME"][, "timeout": SECONDS]}  (no timeout or 0: none)
 * Replies: {"ok": true, "message": "...", "status": {...}} (status only for "status"; a sync
 * reply has "sync": {...} instead, also when it failed, see sync.h) or
 * {"ok": false, "error": CODE, "message": "..."} with CODE one of bad_request,
 * permission_denied, unknown_library, not_encrypted, wrong_password, unsupported_encryption,
 * unavailable, busy, failed, and for sync timeout, over_quota, upload_failed. Connections are
 * served one at a time on the server's own thread, except a sync, which waits for the uploads
 * on a thread of its own (at most CONTROL_WAITERS_MAX at once) so that the other requests are
 * still answered; a client that does not send its request or read its reply within
 * CONTROL_IO_TIMEOUT_MS is dropped. Passwords are never logged and are wiped from the request
 * buffers after use. */
#ifndef SEAFS_FS_CONTROL_H
#define SEAFS_FS_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define CONTROL_SOCKET_PATH_MAX 108 /* sizeof(sockaddr_un.sun_path) */
#define CONTROL_DIR_MAX         80  /* leaves room for "/<name>" */
#define CONTROL_NAME_SIZE       22  /* 16 hex digits + ".sock" + NUL */
#define CONTROL_DIRS_MAX        4
#define CONTROL_LINE_MAX        (256 * 1024) /* longest request or reply line */
#define CONTROL_IO_TIMEOUT_MS   5000         /* daemon side: to receive a request, send a reply */
#define CONTROL_WAITERS_MAX     16           /* sync requests waiting at once */
#define CONTROL_TIMEOUT_MAX     (7u * 86400) /* longest sync timeout (seconds) */

/* ---- where the sockets are ------------------------------------------------------------- */

/* Why a socket directory with this lstat may not be used by uid, or NULL when it may: not a
 * directory (or a symlink), owned by another user, or writable by group or others. Pure. */
const char *control_dir_problem(const struct stat *st, uid_t uid);
/* Whether dir may hold uid's sockets: a directory of uid (not a symlink) that nobody else can
 * write (anyone could create /tmp/seafs-<uid> first and wait there for a password). */
bool control_dir_trusted(const char *dir, uid_t uid);
/* The candidate socket directories of uid, best first (see the top of the file), each listed
 * once (XDG_RUNTIME_DIR usually is /run/user/<uid>); xdg is the value of $XDG_RUNTIME_DIR
 * (NULL when unset), used only when it is usable. Returns how many were written into dirs. */
size_t control_socket_dirs(uid_t uid, const char *xdg, char dirs[][CONTROL_DIR_MAX], size_t max);
/* The same with run_user in place of /run/user (for tests). */
size_t control_socket_dirs_under(const char *run_user, uid_t uid, const char *xdg,
                                 char dirs[][CONTROL_DIR_MAX], size_t max);
/* Creates dir (0700) when missing and checks it (control_dir_problem), tightening a directory
 * of uid's to 0700. 0, or -errno with the reason in err. */
int control_prepare_dir(const char *dir, uid_t uid, char *err, size_t err_size);
/* The socket file name of the mount at canonical_path: "<16 hex of SHA-1>.sock". 0 or -1. */
int control_socket_name(const char *canonical_path, char out[CONTROL_NAME_SIZE]);
/* The canonical path of a mount point without touching the mount itself: realpath of its
 * parent plus its last component (so a hung FUSE daemon cannot block it). With resolve_all,
 * realpath of the whole path (follows a symlink to the mount point; may block on a hung
 * mount). 0 or -errno. */
int control_mount_path(const char *mountpoint, bool resolve_all, char *out, size_t size);

/* ---- the protocol ---------------------------------------------------------------------- */

/* What a request does; the daemon supplies real ones, the tests fakes. */
struct control_handlers {
    void *ctx;
    /* The status report (a new reference), NULL when out of memory. */
    json_t *(*status)(void *ctx);
    /* 0 with a confirmation, or -errno with the reason, in msg (see fs/unlock.h). */
    int (*unlock)(void *ctx, const char *library, const char *password, char *msg, size_t msg_size);
    int (*lock)(void *ctx, const char *library, char *msg, size_t msg_size);
    /* Waits until the changes of library (NULL: of every library) made before the call are on
     * the server, at most timeout_s seconds (0: no limit). 0 or -errno with a one-line summary
     * in msg; *details (a new reference or NULL) becomes the reply's "sync" object. Runs on a
     * thread of its own, while the other requests are served. */
    int (*sync)(void *ctx, const char *library, unsigned timeout_s, char *msg, size_t msg_size,
                json_t **details);
};

/* The error CODE of a reply for a handler's -errno. */
const char *control_error_code(int neg_errno);
/* The same for a sync's -errno (the upload's errors: -ETIMEDOUT, -EDQUOT, -EACCES, ...). */
const char *control_sync_error_code(int neg_errno);
/* Whether request line asks for something that waits (a sync): served on its own thread. */
bool control_request_waits(const char *line);
/* Handles one request line (without its newline) and returns the reply (malloc'd, no
 * newline; NULL only when out of memory). A password in the request is wiped from the parsed
 * request; the caller wipes line. Never logs the password. */
char *control_handle_line(const struct control_handlers *handlers, const char *line);
/* value (a reference the call takes; NULL when building it failed) as one compact line of
 * text, malloc'd; NULL when value is NULL or out of memory. */
char *control_json_line(json_t *value);
/* Whether a peer of this uid may talk to the daemon of owner: the same uid or root. */
bool control_peer_allowed(uid_t peer, uid_t owner);

/* ---- line I/O, shared by the daemon and the client ------------------------------------- */

/* Reads up to a newline (not stored) into buf (NUL-terminated) within timeout_ms in all (< 0:
 * no limit, until the peer closes); bytes after the newline are dropped (one line per
 * connection each way). Returns the length, or -ETIMEDOUT, -EMSGSIZE (longer than size - 1),
 * -ECONNRESET (closed before a newline), -errno. */
long control_read_line(int fd, char *buf, size_t size, int timeout_ms);
/* Writes len bytes within timeout_ms in all (< 0: no limit). 0, -ETIMEDOUT or -errno. */
int control_write_all(int fd, const char *data, size_t len, int timeout_ms);

/* ---- the daemon's server --------------------------------------------------------------- */

struct control_server;

/* Listens at dir/<name of canonical_mount> (dir prepared by the caller) and serves requests
 * on a thread until control_server_stop. A stale socket of a dead daemon is replaced; a live
 * one (another process serving the same mount point) is an error. handlers is copied. NULL
 * with the reason in err. */
struct control_server *control_server_start(const char *dir, const char *canonical_mount,
                                            const struct control_handlers *handlers, char *err,
                                            size_t err_size);
/* The socket's path. */
const char *control_server_path(const struct control_server *server);
/* Stops serving, removes the socket (when it is still ours) and frees. Waits for the syncs in
 * progress: stop what they wait for first (uploader_halt). NULL is a no-op. */
void control_server_stop(struct control_server *server);

#endif
