/* seafs entry point: command line, password, start-up (login, library list or the saved one
 * when offline, cache), mount, the control socket, and the background daemon. `seafs status`,
 * `unlock` and `lock` are handed to the control client (ctl.c) before anything else.
 *
 * Background mode forks before anything starts a thread; the parent waits on a pipe until the
 * child reports that the mount is live (exit 0) or why it failed (exit 1, the child having
 * printed the reason on the inherited stderr). So `mount`, fstab and systemd see the real
 * outcome. The mount is live once it answers: its root directory lists (mount_ready.c); that is
 * also when systemd hears READY=1 (service_notify.c, Type=notify units run seafs with -f).
 * `--config FILE` reads server, mount point and options from a file (config_file.c).
 * SIGTERM/SIGINT/SIGHUP and fusermount3 -u end the session loop (systemd hears STOPPING=1);
 * everything is then torn down in reverse order. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <lz4.h>
#include <openssl/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "config_file.h"
#include "control.h"
#include "credentials.h"
#include "ctl.h"
#include "dir_prefetch.h"
#include "dirty.h"
#include "file.h"
#include "fuse_access.h"
#include "fuse_ops.h"
#include "handle.h"
#include "library_roots.h"
#include "log.h"
#include "mount_ready.h"
#include "overlay.h"
#include "poll.h"
#include "range_links.h"
#include "seafs.h"
#include "service_notify.h"
#include "stale_mount.h"
#include "state_dirs.h"
#include "status.h"
#include "sync.h"
#include "uploader.h"
#include "unlock.h"

#define TREE_MEMORY_LIMIT (32u << 20)
#define PREFETCH_QUEUE    256
/* Requests in flight for one bulk fetch of fs objects (at most, and fewer than the connections,
 * so that a lone fetch leaves one for lookups; the folder prefetch, a sibling fetch and the
 * children fetched ahead may each run one at once, and lookups then queue behind them). */
#define BULK_PARALLEL 3
/* Libraries whose root folders are warmed at once after the list arrived (library_roots.h): two
 * connections, the others free for the first listing. */
#define WARM_PARALLEL 2

static void print_versions(void)
{
    printf("seafs %s\n", SEAFS_VERSION);
    printf("  libfuse %s, %s, %s, lz4 %s, sqlite %s, jansson %s, zlib %s\n", fuse_pkgversion(),
           curl_version(), OpenSSL_version(OPENSSL_VERSION), LZ4_versionString(),
           sqlite3_libversion(), JANSSON_VERSION, zlibVersion());
}

/* Paths of one mount, derived from the options. */
struct mount_paths {
    char cache_dir[4096];
    char state_dir[4096];
    char token_dir[4096];
    char keys_dir[4096]; /* saved library keys (-o save_keys) */
};

/* a + "/" + b into out; -1 when it does not fit. */
static int path_join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s/%s", a, b);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* The directory of kind ("cache" or "state"): given, else the default base plus account. 0 or
 * -1 (logged when there is no default base). */
static int pick_dir(const char *given, const char *kind, const char *account, char *out,
                    size_t size)
{
    char base[3600];
    if (given) {
        snprintf(out, size, "%s", given);
        return 0;
    }
    if (state_dirs_default_base(kind, base, sizeof(base)) != 0) {
        log_msg(LOG_ERR, "no home directory: give cache_dir= and state_dir=");
        return -1;
    }
    return path_join(out, size, base, account);
}

static int choose_paths(const struct seafs_options *o, struct mount_paths *p)
{
    char account[512];
    if (state_dirs_account_name(o->user, o->server_url, account, sizeof(account)) != 0) {
        log_msg(LOG_ERR, "user name or server URL too long");
        return -1;
    }
    if (pick_dir(o->cache_dir, "cache", account, p->cache_dir, sizeof(p->cache_dir)) != 0 ||
        pick_dir(o->state_dir, "state", account, p->state_dir, sizeof(p->state_dir)) != 0)
        return -1;
    if (path_join(p->token_dir, sizeof(p->token_dir), p->state_dir, "tokens") != 0 ||
        path_join(p->keys_dir, sizeof(p->keys_dir), p->state_dir, "keys") != 0) {
        log_msg(LOG_ERR, "state_dir path too long");
        return -1;
    }
    int rc = state_dirs_create(p->state_dir, 0700);
    if (rc == 0)
        rc = state_dirs_create(p->cache_dir, 0700);
    if (rc) {
        log_msg(LOG_ERR, "cannot create %s or %s: %s", p->state_dir, p->cache_dir, strerror(-rc));
        return -1;
    }
    return 0;
}

/* The password, from the credentials file, SEAFS_PASSWORD or the terminal (in that order). */
static char *find_password(struct seafs_options *o)
{
    if (o->credentials_file) {
        char *user = NULL, *password = NULL, err[256];
        if (credentials_read_file(o->credentials_file, &user, &password, err, sizeof(err)) != 0) {
            log_msg(LOG_ERR, "credentials file %s %s", o->credentials_file, err);
            return NULL;
        }
        if (user && strcmp(user, o->user) != 0)
            log_msg(LOG_WARNING, "credentials file names user %s; mounting as %s", user, o->user);
        credentials_free_secret(user);
        return password;
    }
    const char *env = getenv("SEAFS_PASSWORD");
    if (env && *env)
        return strdup(env);
    char *typed = credentials_prompt(o->user);
    if (!typed)
        log_msg(LOG_ERR,
                "no API token stored for %s and no password: use credentials=FILE, "
                "SEAFS_PASSWORD or run seafs on a terminal once",
                o->user);
    return typed;
}

/* Background mode: forks; the parent waits for the child's verdict and exits with it. Returns
 * (in the child) the write end of the pipe, or -1 in the foreground. */
static int daemonize_early(bool foreground)
{
    if (foreground)
        return -1;
    int fds[2];
    if (pipe(fds) != 0) {
        perror("seafs: pipe");
        exit(1);
    }
    pid_t pid = fork();
    if (pid < 0) {
        perror("seafs: fork");
        exit(1);
    }
    if (pid > 0) {
        close(fds[1]);
        unsigned char status = 1;
        ssize_t n;
        do
            n = read(fds[0], &status, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 ? status : 1);
    }
    close(fds[0]);
    setsid();
    return fds[1];
}

/* Tells the waiting parent the outcome and, on success, leaves the terminal. */
static void report_to_parent(int *fd, int status)
{
    if (*fd < 0)
        return;
    unsigned char byte = (unsigned char)status;
    ssize_t ignored = write(*fd, &byte, 1);
    (void)ignored;
    close(*fd);
    *fd = -1;
    if (status == 0) {
        log_use_syslog();
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
            close(null);
        }
        if (chdir("/") != 0)
            log_msg(LOG_WARNING, "chdir /: %s", strerror(errno));
    }
}

/* Logs in with password when given. 0, or -1 after logging why. */
static int login(struct seafs *fs, const char *password, bool *offline_ok)
{
    *offline_ok = false;
    if (!password)
        return 0;
    bool otp_required = false;
    service_notify_status("Logging in to %s as %s", fs->opts->server_url, fs->opts->user);
    seaf_err err = seaf_client_login(fs->client, password, NULL, &otp_required);
    if (err == SEAF_OK)
        return 0;
    if (otp_required)
        log_msg(LOG_ERR, "the account needs a two-factor code, which seafs cannot ask for yet");
    else
        log_msg(LOG_ERR, "login as %s failed: %s", fs->opts->user, seaf_strerror(err));
    *offline_ok = err == SEAF_ERR_NETWORK || err == SEAF_ERR_TIMEOUT || err == SEAF_ERR_SERVER;
    return -1;
}

/* Gets the library list from the server, else the saved one (offline start). */
static int load_libraries(struct seafs *fs)
{
    seaf_err err = SEAF_OK;
    atomic_store(&fs->online, true);
    service_notify_status("Fetching the library list from %s", fs->opts->server_url);
    if (seaf_client_has_api_token(fs->client) && poll_refresh(fs, &err) == 0)
        return 0;
    if (err == SEAF_ERR_AUTH) {
        seaf_client_forget_api_token(fs->client);
        log_msg(LOG_ERR, "the server refused the stored API token; mount again with a password");
        return -1;
    }
    int rc = library_list_load(fs->libraries_file, fs->opts->layout, &fs->libs);
    if (rc) {
        log_msg(LOG_ERR, "cannot reach %s (%s) and no saved library list in %s",
                fs->opts->server_url, seaf_strerror(err), fs->libraries_file);
        return -1;
    }
    for (size_t i = 0; i < fs->libs.n; i++)
        fs->libs.libs[i].generation = ++fs->next_generation;
    atomic_store(&fs->online, false);
    log_msg(LOG_WARNING, "server unreachable: starting offline with %zu cached libraries",
            fs->libs.n);
    return 0;
}

/* What the control socket's requests act on. */
struct control_target {
    struct seafs *fs;
    char mountpoint[PATH_MAX]; /* canonical */
};

static json_t *control_status(void *ctx)
{
    struct control_target *t = ctx;
    return status_build(t->fs, t->mountpoint);
}

static int control_unlock(void *ctx, const char *library, const char *password, char *msg,
                          size_t msg_size)
{
    struct control_target *t = ctx;
    return library_unlock(t->fs, library, password, msg, msg_size);
}

static int control_lock(void *ctx, const char *library, char *msg, size_t msg_size)
{
    struct control_target *t = ctx;
    return library_lock(t->fs, library, msg, msg_size);
}

static int control_sync(void *ctx, const char *library, unsigned timeout_s, char *msg,
                        size_t msg_size, json_t **details)
{
    struct control_target *t = ctx;
    return sync_wait(t->fs, t->mountpoint, library, timeout_s, msg, msg_size, details);
}

/* The control socket in the first usable socket directory, or NULL (the mount works without
 * it; status/unlock/lock/sync then cannot reach it). */
static struct control_server *start_control(struct control_target *target)
{
    struct control_handlers handlers = {.ctx = target,
                                        .status = control_status,
                                        .unlock = control_unlock,
                                        .lock = control_lock,
                                        .sync = control_sync};
    char dirs[CONTROL_DIRS_MAX][CONTROL_DIR_MAX], err[512];
    size_t n = control_socket_dirs(getuid(), getenv("XDG_RUNTIME_DIR"), dirs, CONTROL_DIRS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (control_prepare_dir(dirs[i], getuid(), err, sizeof(err)) != 0) {
            log_msg(LOG_WARNING, "control socket: %s", err);
            continue;
        }
        struct control_server *server =
            control_server_start(dirs[i], target->mountpoint, &handlers, err, sizeof(err));
        if (server) {
            log_msg(LOG_DEBUG, "control socket %s", control_server_path(server));
            return server;
        }
        log_msg(LOG_WARNING, "control socket: %s", err);
    }
    log_msg(LOG_WARNING, "no control socket: seafs status, sync, unlock and lock cannot reach %s",
            target->mountpoint);
    return NULL;
}

/* Who hears that the mount answers (mount_ready's callback, from its thread). */
struct ready_report {
    int *parent_fd;
    const char *mountpoint;
    size_t libraries;
    bool offline;
};

static void report_ready(void *ctx)
{
    struct ready_report *r = ctx;
    report_to_parent(r->parent_fd, 0);
    if (r->offline)
        service_notify_ready("Serving %zu saved libraries on %s (server unreachable)", r->libraries,
                             r->mountpoint);
    else
        service_notify_ready("Serving %zu libraries on %s", r->libraries, r->mountpoint);
}

static int run_session(struct seafs *fs, int *parent_fd)
{
    const struct seafs_options *o = fs->opts;
    char fsname[600];
    snprintf(fsname, sizeof(fsname), "-ofsname=%s,subtype=seafs", o->server_url);
    const char *argv[8];
    int argc = 0;
    argv[argc++] = "seafs";
    if (!strchr(o->server_url, ','))
        argv[argc++] = fsname;
    /* The kernel checks access against the modes shown (uid=, gid=, umask=). */
    argv[argc++] = "-odefault_permissions";
    if (o->fuse_opts && *o->fuse_opts) {
        argv[argc++] = "-o";
        argv[argc++] = o->fuse_opts;
    }
    if (o->debug)
        argv[argc++] = "-d";
    struct fuse_args args = FUSE_ARGS_INIT(argc, (char **)argv);
    struct fuse_session *se = fuse_session_new(&args, &seafs_fuse_ops, sizeof(seafs_fuse_ops), fs);
    fuse_opt_free_args(&args);
    if (!se) {
        log_msg(LOG_ERR, "cannot create the FUSE session (bad FUSE option?)");
        return -1;
    }
    int rc = -1;
    struct mount_ready *ready = NULL;
    struct control_target control = {.fs = fs};
    stale_mount_clear(o->mountpoint);
    int path_rc =
        control_mount_path(o->mountpoint, true, control.mountpoint, sizeof(control.mountpoint));
    if (path_rc) {
        log_msg(LOG_ERR, "mount point %s: %s", o->mountpoint, strerror(-path_rc));
        goto out_destroy;
    }
    fs->mountpoint = control.mountpoint;
    if (fuse_set_signal_handlers(se) != 0)
        goto out_destroy;
    service_notify_status("Mounting on %s", control.mountpoint);
    if (fuse_session_mount(se, o->mountpoint) != 0) {
        log_msg(LOG_ERR, "cannot mount on %s", o->mountpoint);
        goto out_signals;
    }
    fs->session = se;
    fs->mounted_at = (int64_t)time(NULL);
    log_msg(LOG_INFO, "mounted %s for %s on %s (%zu libraries)", o->server_url, o->user,
            o->mountpoint, fs->libs.n);
    struct control_server *control_server = start_control(&control);
    struct poller *poller = poll_start(fs);
    fs->uploader = uploader_start(fs);
    struct ready_report report = {.parent_fd = parent_fd,
                                  .mountpoint = control.mountpoint,
                                  .libraries = fs->libs.n,
                                  .offline = !atomic_load(&fs->online)};
    ready = mount_ready_start(control.mountpoint, report_ready, &report);
    int loop_rc = -1;
    if (!ready) {
        log_msg(LOG_ERR, "cannot start a thread to see the mount answer");
    } else {
        struct fuse_loop_config config = {.clone_fd = 0, .max_idle_threads = 16};
        loop_rc = o->single_thread ? fuse_session_loop(se) : fuse_session_loop_mt(se, &config);
        mount_ready_session_over(ready);
    }
    service_notify_stopping("Unmounting %s", control.mountpoint);
    /* The upload in progress is finished (or left to the next start, which resumes it); the
     * syncs waiting for it return before the uploader goes. */
    uploader_halt(fs->uploader);
    poll_stop(poller);
    control_server_stop(control_server);
    uploader_stop(fs->uploader);
    fs->uploader = NULL;
    fs->session = NULL;
    handle_keep_learned();
    fuse_session_unmount(se);
    log_msg(LOG_INFO, "unmounted %s", o->mountpoint);
    log_msg(LOG_DEBUG, "FUSE session loop returned %d", loop_rc);
    /* The loop ends when the file system is unmounted or a signal stops it (its code then is
     * not 0): either way the mount ended normally, and seafs exits with 0. */
    rc = ready ? 0 : -1;
out_signals:
    fuse_remove_signal_handlers(se);
out_destroy:
    fuse_session_destroy(se);
    /* After destroy: a listing the loop left unanswered has failed by now. */
    if (ready && mount_ready_finish(ready) != 0)
        rc = -1;
    return rc;
}

/* Finds the file server (protocol-version) while the login and the library list are under way,
 * so that opening the first library does not wait for it. */
static void *probe_fileserver(void *arg)
{
    char url[4096];
    seaf_client_fileserver_url(arg, url, sizeof(url)); /* remembered by the client */
    return NULL;
}

/* The cache, the trees and the journal of local changes: opened while the library list is on
 * its way. 0 or -1 (logged). */
static int open_local_state(struct seafs_options *o, struct seafs *fs, struct mount_paths *paths)
{
    struct cache_options co;
    cache_options_init(&co);
    co.dir = paths->cache_dir;
    co.size_limit = o->cache_size;
    if (co.min_free_bytes > o->cache_size)
        co.min_free_bytes = 0;
    seaf_err err = cache_new(&co, &fs->cache);
    if (err != SEAF_OK) {
        log_msg(LOG_ERR, "cannot open the cache in %s: %s (is it used by another mount?)",
                paths->cache_dir, seaf_strerror(err));
        return -1;
    }
    struct inode_info root = {.kind = INODE_ROOT_DIR, .mode = SEAF_MODE_DIR, .mtime = time(NULL)};
    unsigned bulk = o->connections > BULK_PARALLEL ? BULK_PARALLEL
                    : o->connections > 1           ? o->connections - 1
                                                   : 1;
    fs->tree = tree_new(fs->cache, fs->client, TREE_MEMORY_LIMIT, bulk);
    fs->dir_prefetch = dir_prefetch_new(fs->cache, fs->client, bulk);
    fs->roots = fs->tree ? library_roots_new(fs->cache, fs->tree, fs->client, WARM_PARALLEL) : NULL;
    fs->inodes = inode_table_new(&root);
    fs->keys = library_keys_new(o->save_keys ? paths->keys_dir : NULL);
    if (!fs->tree || !fs->dir_prefetch || !fs->roots || !fs->inodes || !fs->keys)
        return -1;
    char journal[4200];
    if (path_join(journal, sizeof(journal), paths->cache_dir, "journal.db") != 0 ||
        overlay_open(journal, &fs->overlay) != 0 || dirty_set_new(fs, &fs->dirty) != 0)
        return -1;
    return 0;
}

/* The library list, fetched while the local state opens (load_libraries in a thread). */
struct list_fetch {
    struct seafs *fs;
    int rc;
};

static void *fetch_list(void *arg)
{
    struct list_fetch *f = arg;
    f->rc = load_libraries(f->fs);
    return NULL;
}

static int run_mount(struct seafs_options *o, struct seafs *fs, struct mount_paths *paths,
                     char *password, int *parent_fd)
{
    bool offline_ok;
    int rc = login(fs, password, &offline_ok);
    credentials_free_secret(password);
    if (rc && !offline_ok)
        return -1;
    struct list_fetch list = {.fs = fs, .rc = -1};
    pthread_t lister;
    bool listing = pthread_create(&lister, NULL, fetch_list, &list) == 0;
    rc = open_local_state(o, fs, paths);
    if (listing)
        pthread_join(lister, NULL);
    else if (rc == 0)
        list.rc = load_libraries(fs);
    if (rc || list.rc)
        return -1;
    /* The first listing of any library finds its root folder ready, or on its way. */
    if (atomic_load(&fs->online)) {
        pthread_rwlock_rdlock(&fs->libs_lock);
        library_roots_warm(fs->roots, &fs->libs);
        pthread_rwlock_unlock(&fs->libs_lock);
    }
    if (o->readahead)
        fs->prefetch = prefetch_pool_new(o->connections, PREFETCH_QUEUE, file_prefetch, fs);
    if (o->range_reads != SEAFS_RANGE_OFF && !(fs->range_links = range_links_new()))
        return -1;
    return run_session(fs, parent_fd);
}

/* Requests a file's open makes at once on a far link: its file object, its block map and its
 * download link (fs/read/block_map_ahead.h, range_read.h). */
#define OPEN_PARALLEL 3
/* Probes run at once over plain HTTP/1.1: each asks on a connection of its own (none is known
 * yet), so that the connections the warming of the libraries' roots and the first listing or
 * the first open of a file use are open by the time the list arrives instead of costing a round
 * trip each then (with 4, an open while two libraries were being warmed opened a connection:
 * `head -c 4096` of a cold file took 3 round trips at 150 ms instead of 2). At most the
 * connections option. One over https: HTTP/2 carries everything over one connection. */
#define PLAIN_HTTP_PROBES (WARM_PARALLEL + OPEN_PARALLEL)

static int run(struct seafs_options *o, struct seafs *fs, struct mount_paths *paths, char *password,
               int *parent_fd)
{
    pthread_t probes[PLAIN_HTTP_PROBES];
    unsigned plain = o->connections < PLAIN_HTTP_PROBES ? o->connections : PLAIN_HTTP_PROBES;
    unsigned wanted = strncmp(o->server_url, "http://", 7) == 0 ? plain : 1;
    unsigned started = 0;
    while (started < wanted &&
           pthread_create(&probes[started], NULL, probe_fileserver, fs->client) == 0)
        started++;
    int rc = run_mount(o, fs, paths, password, parent_fd);
    for (unsigned i = 0; i < started; i++)
        pthread_join(probes[i], NULL);
    return rc;
}

static void teardown(struct seafs *fs)
{
    prefetch_pool_free(fs->prefetch);
    library_roots_free(fs->roots);
    dir_prefetch_free(fs->dir_prefetch);
    range_links_free(fs->range_links);
    dirty_set_free(fs->dirty);
    overlay_close(fs->overlay);
    tree_free(fs->tree);
    inode_table_free(fs->inodes);
    library_keys_free(fs->keys);
    cache_free(fs->cache);
    library_list_release(&fs->libs);
    seaf_client_free(fs->client);
    http_pool_free(fs->pool);
    pthread_rwlock_destroy(&fs->libs_lock);
    pthread_mutex_destroy(&fs->scan_lock);
    pthread_mutex_destroy(&fs->quota_lock);
    pthread_cond_destroy(&fs->quota_answered);
}

static int setup_client(struct seafs_options *o, struct seafs *fs, struct mount_paths *paths)
{
    struct http_pool_options po = {
        .max_connections_per_host = o->connections,
        .connect_timeout_ms = (long)o->connect_timeout * 1000,
        /* Half the timeout per attempt, retries starting within the other half: a request
         * that cannot be served fails after about `timeout` seconds in all. */
        .low_speed_time_s = o->timeout > 1 ? o->timeout / 2 : 1,
        .retry_budget_ms = (long)o->timeout * 500,
        .ca_file = o->ca_file,
        .insecure_skip_tls_verify = o->insecure,
        .debug = o->debug,
        .log = log_http,
    };
    seaf_err err;
    fs->pool = http_pool_new(&po, &err);
    if (!fs->pool) {
        log_msg(LOG_ERR, "cannot set up HTTP: %s", seaf_strerror(err));
        return -1;
    }
    char *device_id = fs->device_id;
    int rc = state_dirs_device_id(paths->state_dir, device_id);
    if (rc) {
        log_msg(LOG_ERR, "cannot keep a device id in %s: %s", paths->state_dir, strerror(-rc));
        return -1;
    }
    char *host = fs->device_name;
    if (gethostname(host, sizeof(fs->device_name)) != 0)
        snprintf(host, sizeof(fs->device_name), "seafs");
    host[sizeof(fs->device_name) - 1] = '\0';
    struct seaf_client_options co = {
        .server_url = o->server_url,
        .username = o->user,
        .device_id = device_id,
        .device_name = host,
        .token_dir = paths->token_dir,
    };
    err = seaf_client_new(&co, fs->pool, &fs->client);
    if (err != SEAF_OK) {
        log_msg(LOG_ERR, "bad server URL %s: %s", o->server_url, seaf_strerror(err));
        return -1;
    }
    if (path_join(fs->libraries_file, sizeof(fs->libraries_file), paths->state_dir,
                  "libraries.json") != 0 ||
        path_join(fs->recovery_dir, sizeof(fs->recovery_dir), paths->state_dir, "recovered") != 0) {
        log_msg(LOG_ERR, "state_dir path too long");
        return -1;
    }
    return 0;
}

/* A mount point named by a config file is made when missing (its parent must exist), as
 * systemd does for mount units. */
static void make_mountpoint(const char *path)
{
    if (mkdir(path, 0700) == 0)
        log_msg(LOG_INFO, "made the mount point %s", path);
    else if (errno != EEXIST)
        log_msg(LOG_WARNING, "cannot make the mount point %s: %s", path, strerror(errno));
}

int main(int argc, char **argv)
{
    json_set_alloc_funcs(malloc, credentials_free_secret); /* no secrets left in freed JSON */
    if (argc > 1 && ctl_is_command(argv[1]))
        return ctl_main(argc, argv);
    log_init(false);
    char err[512];
    char **config_argv = NULL;
    int config_argc = 0;
    int expanded = config_file_expand_argv(argc, argv, state_dirs_home(), &config_argc,
                                           &config_argv, err, sizeof(err));
    if (expanded < 0) {
        log_msg(LOG_ERR, "%s", err);
        return 1;
    }
    struct seafs_options o;
    options_init(&o);
    int parsed = expanded ? options_parse(&o, config_argc, config_argv, err, sizeof(err))
                          : options_parse(&o, argc, argv, err, sizeof(err));
    config_file_free_argv(config_argc, config_argv);
    if (parsed != 0) {
        log_msg(LOG_ERR, "%s", err);
        options_release(&o);
        return 1;
    }
    if (o.show_help || o.show_version) {
        if (o.show_version)
            print_versions();
        else
            options_print_help(stdout);
        options_release(&o);
        return 0;
    }
    if (fuse_access_check(o.fuse_opts, fuse_access_mounts_directly(), FUSE_DEVICE_PATH,
                          FUSE_CONF_PATH, err, sizeof(err)) != 0) {
        log_msg(LOG_ERR, "%s", err);
        options_release(&o);
        return 1;
    }
    if (expanded)
        make_mountpoint(o.mountpoint);
    log_init(o.debug);
    umask(077);
    struct seafs fs;
    memset(&fs, 0, sizeof(fs));
    fs.opts = &o;
    pthread_rwlock_init(&fs.libs_lock, NULL);
    pthread_mutex_init(&fs.scan_lock, NULL);
    pthread_mutex_init(&fs.quota_lock, NULL);
    pthread_cond_init(&fs.quota_answered, NULL);
    struct mount_paths paths;
    int rc = 1;
    int parent_fd = -1;
    if (choose_paths(&o, &paths) != 0 || setup_client(&o, &fs, &paths) != 0)
        goto out;
    char *password = NULL;
    if (seaf_client_load_api_token(fs.client) != SEAF_OK && !(password = find_password(&o)))
        goto out;
    parent_fd = daemonize_early(o.foreground);
    rc = run(&o, &fs, &paths, password, &parent_fd) == 0 ? 0 : 1;
out:
    report_to_parent(&parent_fd, rc);
    teardown(&fs);
    options_release(&o);
    return rc;
}
