/* options: parsing of the seafs command line. mount(8) calls helpers as
 * `seafs SOURCE DIR -o opt,opt,...` and adds options of its own (_netdev, nofail, defaults,
 * x-systemd.*, ...); those are accepted and ignored. Standard mount flags and the FUSE options
 * libfuse understands are collected into fuse_opts for fuse_session_new; seafs's own options are
 * checked here, once, with a message naming the bad one. */
#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

#define DEFAULT_CACHE_SIZE      (10ULL << 30)
#define DEFAULT_READAHEAD       (64ULL << 20)
#define DEFAULT_POLL_INTERVAL   30
#define DEFAULT_CONNECT_TIMEOUT 10
#define DEFAULT_TIMEOUT         30
#define DEFAULT_CONNECTIONS     8
#define DEFAULT_UPLOAD_DELAY    1
#define DEFAULT_UPLOAD_MAX      60

void options_init(struct seafs_options *o)
{
    memset(o, 0, sizeof(*o));
    o->cache_size = DEFAULT_CACHE_SIZE;
    o->readahead = DEFAULT_READAHEAD;
    o->range_reads = SEAFS_RANGE_AUTO;
    o->poll_interval = DEFAULT_POLL_INTERVAL;
    o->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
    o->timeout = DEFAULT_TIMEOUT;
    o->connections = DEFAULT_CONNECTIONS;
    o->upload_delay = DEFAULT_UPLOAD_DELAY;
    o->upload_max_delay = DEFAULT_UPLOAD_MAX;
    o->uid = getuid();
    o->gid = getgid();
    o->umask = 022;
    o->layout = SEAFS_LAYOUT_FLAT;
}

void options_release(struct seafs_options *o)
{
    free(o->server_url);
    free(o->mountpoint);
    free(o->user);
    free(o->credentials_file);
    free(o->cache_dir);
    free(o->state_dir);
    free(o->ca_file);
    free(o->fuse_opts);
    memset(o, 0, sizeof(*o));
}

static int fail(char *err, size_t err_size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return -1;
}

bool options_parse_size(const char *text, uint64_t *out)
{
    if (!text || *text < '0' || *text > '9')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno)
        return false;
    unsigned shift = 0;
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        shift = 10;
        break;
    case 'm':
    case 'M':
        shift = 20;
        break;
    case 'g':
    case 'G':
        shift = 30;
        break;
    case 't':
    case 'T':
        shift = 40;
        break;
    default:
        return false;
    }
    if (*end && end[1] != '\0' && strcmp(end + 1, "iB") != 0 && strcmp(end + 1, "B") != 0)
        return false;
    if (shift && value > (UINT64_MAX >> shift))
        return false;
    *out = (uint64_t)value << shift;
    return true;
}

static bool parse_uint(const char *text, int base, unsigned long max, unsigned long *out)
{
    if (!text || !*text || *text == '-' || *text == '+')
        return false;
    errno = 0;
    char *end = NULL;
    unsigned long value = strtoul(text, &end, base);
    if (errno || *end || value > max)
        return false;
    *out = value;
    return true;
}

static int set_string(char **field, const char *value, const char *name, char *err, size_t err_size)
{
    if (!*value)
        return fail(err, err_size, "option %s needs a value", name);
    char *copy = strdup(value);
    if (!copy)
        return fail(err, err_size, "out of memory");
    free(*field);
    *field = copy;
    return 0;
}

static int append_fuse_opt(struct seafs_options *o, const char *opt, char *err, size_t err_size)
{
    size_t old = o->fuse_opts ? strlen(o->fuse_opts) : 0;
    char *grown = realloc(o->fuse_opts, old + strlen(opt) + 2);
    if (!grown)
        return fail(err, err_size, "out of memory");
    if (old)
        grown[old++] = ',';
    strcpy(grown + old, opt);
    o->fuse_opts = grown;
    return 0;
}

/* Options mount(8), mount.fuse3, systemd and desktop tools add; they mean nothing to seafs. */
static bool is_ignored(const char *opt)
{
    /* relatime & co. are the kernel's default or unknown to libfuse 3.14: accepted, ignored. */
    static const char *const exact[] = {"_netdev",     "nofail",        "noauto",   "auto",
                                        "defaults",    "user",          "users",    "nouser",
                                        "owner",       "group",         "relatime", "norelatime",
                                        "strictatime", "nostrictatime", NULL};
    for (size_t i = 0; exact[i]; i++)
        if (strcmp(opt, exact[i]) == 0)
            return true;
    /* x-*: options for user-space tools (systemd's fstab generator, GVfs), never the file
     * system's (mount(8)); mount.fuse3 hands them on all the same. */
    return strncmp(opt, "x-", 2) == 0 || strncmp(opt, "comment=", 8) == 0;
}

/* Options handed unchanged to libfuse (mount flags and FUSE mount options it understands). */
static bool is_passed_to_fuse(const char *opt)
{
    static const char *const exact[] = {"allow_root", "auto_unmount", "default_permissions",
                                        "noatime",    "atime",        "sync",
                                        "dirsync",    "rw",           "async",
                                        "suid",       "nosuid",       "dev",
                                        "nodev",      "exec",         "noexec",
                                        NULL};
    static const char *const prefixed[] = {"fsname=", "subtype=", "max_read=", NULL};
    for (size_t i = 0; exact[i]; i++)
        if (strcmp(opt, exact[i]) == 0)
            return true;
    for (size_t i = 0; prefixed[i]; i++)
        if (strncmp(opt, prefixed[i], strlen(prefixed[i])) == 0)
            return true;
    return false;
}

static int parse_seconds(const char *name, const char *value, unsigned *out, char *err,
                         size_t err_size)
{
    unsigned long v;
    if (!parse_uint(value, 10, 86400, &v))
        return fail(err, err_size, "option %s=%s: expected seconds (0..86400)", name, value);
    *out = (unsigned)v;
    return 0;
}

/* One option of a -o list. */
static int parse_one(struct seafs_options *o, const char *opt, char *err, size_t err_size)
{
    const char *eq = strchr(opt, '=');
    size_t name_len = eq ? (size_t)(eq - opt) : strlen(opt);
    const char *value = eq ? eq + 1 : NULL;
    char name[64];
    if (name_len >= sizeof(name))
        return fail(err, err_size, "unknown option '%s'", opt);
    memcpy(name, opt, name_len);
    name[name_len] = '\0';
    unsigned long v;

    if (!*opt || is_ignored(opt))
        return 0;
    if (is_passed_to_fuse(opt))
        return append_fuse_opt(o, opt, err, err_size);
    if (value == NULL) {
        if (strcmp(name, "ro") == 0) {
            o->read_only = true;
            return append_fuse_opt(o, "ro", err, err_size);
        }
        if (strcmp(name, "allow_other") == 0) {
            o->allow_other = true;
            return append_fuse_opt(o, "allow_other", err, err_size);
        }
        /* Flags of seafs's own, not passed to libfuse. */
        const struct {
            const char *name;
            bool *field;
        } flags[] = {{"insecure", &o->insecure},
                     {"debug", &o->debug},
                     {"save_keys", &o->save_keys},
                     {"foreground", &o->foreground},
                     {"no_writeback_cache", &o->no_writeback_cache},
                     {"no_ignore", &o->no_ignore}};
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
            if (strcmp(name, flags[i].name) == 0) {
                *flags[i].field = true;
                return 0;
            }
        }
        return fail(err, err_size, "unknown option '%s' (see seafs --help)", opt);
    }
    if (strcmp(name, "user") == 0 || strcmp(name, "username") == 0)
        return set_string(&o->user, value, name, err, err_size);
    if (strcmp(name, "credentials") == 0)
        return set_string(&o->credentials_file, value, name, err, err_size);
    if (strcmp(name, "cache_dir") == 0)
        return set_string(&o->cache_dir, value, name, err, err_size);
    if (strcmp(name, "state_dir") == 0)
        return set_string(&o->state_dir, value, name, err, err_size);
    if (strcmp(name, "ca_file") == 0)
        return set_string(&o->ca_file, value, name, err, err_size);
    if (strcmp(name, "cache_size") == 0) {
        if (!options_parse_size(value, &o->cache_size) || o->cache_size < (1ULL << 20))
            return fail(err, err_size, "option cache_size=%s: expected a size of at least 1M",
                        value);
        return 0;
    }
    if (strcmp(name, "readahead") == 0) {
        if (!options_parse_size(value, &o->readahead) || o->readahead > (1ULL << 30))
            return fail(err, err_size, "option readahead=%s: expected a size up to 1G", value);
        return 0;
    }
    if (strcmp(name, "range_reads") == 0) {
        static const char *const modes[] = {[SEAFS_RANGE_AUTO] = "auto",
                                            [SEAFS_RANGE_OFF] = "off",
                                            [SEAFS_RANGE_ALWAYS] = "always"};
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
            if (strcmp(value, modes[i]) == 0) {
                o->range_reads = (enum seafs_range_reads)i;
                return 0;
            }
        }
        return fail(err, err_size, "option range_reads=%s: expected auto, off or always", value);
    }
    if (strcmp(name, "poll_interval") == 0)
        return parse_seconds(name, value, &o->poll_interval, err, err_size);
    if (strcmp(name, "upload_delay") == 0)
        return parse_seconds(name, value, &o->upload_delay, err, err_size);
    if (strcmp(name, "upload_max_delay") == 0) {
        if (parse_seconds(name, value, &o->upload_max_delay, err, err_size) != 0 ||
            o->upload_max_delay == 0)
            return fail(err, err_size, "option %s=%s: expected 1..86400 seconds", name, value);
        return 0;
    }
    if (strcmp(name, "fsync") == 0) {
        if (strcmp(value, "local") != 0 && strcmp(value, "server") != 0)
            return fail(err, err_size, "option fsync=%s: expected local or server", value);
        o->fsync_server = value[0] == 's';
        return 0;
    }
    if (strcmp(name, "connect_timeout") == 0 || strcmp(name, "timeout") == 0) {
        unsigned *field = name[0] == 'c' ? &o->connect_timeout : &o->timeout;
        if (parse_seconds(name, value, field, err, err_size) != 0 || *field == 0)
            return fail(err, err_size, "option %s=%s: expected 1..86400 seconds", name, value);
        return 0;
    }
    if (strcmp(name, "connections") == 0) {
        if (!parse_uint(value, 10, 64, &v) || v == 0)
            return fail(err, err_size, "option connections=%s: expected 1..64", value);
        o->connections = (unsigned)v;
        return 0;
    }
    if (strcmp(name, "uid") == 0 || strcmp(name, "gid") == 0) {
        if (!parse_uint(value, 10, 0xfffffffeUL, &v))
            return fail(err, err_size, "option %s=%s: expected a number", name, value);
        if (name[0] == 'u')
            o->uid = (uid_t)v;
        else
            o->gid = (gid_t)v;
        return 0;
    }
    if (strcmp(name, "umask") == 0) {
        if (!parse_uint(value, 8, 0777, &v))
            return fail(err, err_size, "option umask=%s: expected octal 0..777", value);
        o->umask = (mode_t)v;
        return 0;
    }
    if (strcmp(name, "layout") == 0) {
        if (strcmp(value, "flat") == 0)
            o->layout = SEAFS_LAYOUT_FLAT;
        else if (strcmp(value, "seadrive") == 0)
            o->layout = SEAFS_LAYOUT_SEADRIVE;
        else
            return fail(err, err_size, "option layout=%s: expected flat or seadrive", value);
        return 0;
    }
    if (strcmp(name, "password") == 0)
        return fail(err, err_size,
                    "passwords are never taken on the command line: use credentials=FILE, "
                    "SEAFS_PASSWORD or the prompt");
    return fail(err, err_size, "unknown option '%s' (see seafs --help)", name);
}

/* A comma-separated -o list. */
static int parse_list(struct seafs_options *o, const char *list, char *err, size_t err_size)
{
    char *copy = strdup(list);
    if (!copy)
        return fail(err, err_size, "out of memory");
    int rc = 0;
    char *save = NULL;
    for (char *opt = strtok_r(copy, ",", &save); opt && rc == 0; opt = strtok_r(NULL, ",", &save))
        rc = parse_one(o, opt, err, err_size);
    free(copy);
    return rc;
}

int options_parse(struct seafs_options *o, int argc, char **argv, char *err, size_t err_size)
{
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            o->show_help = true;
        } else if (strcmp(arg, "-V") == 0 || strcmp(arg, "--version") == 0) {
            o->show_version = true;
        } else if (strcmp(arg, "-f") == 0) {
            o->foreground = true;
        } else if (strcmp(arg, "-d") == 0) {
            o->debug = true;
            o->foreground = true;
        } else if (strcmp(arg, "-s") == 0) {
            o->single_thread = true;
        } else if (strcmp(arg, "-o") == 0) {
            if (i + 1 >= argc)
                return fail(err, err_size, "-o needs an option list");
            if (parse_list(o, argv[++i], err, err_size) != 0)
                return -1;
        } else if (strncmp(arg, "-o", 2) == 0) {
            if (parse_list(o, arg + 2, err, err_size) != 0)
                return -1;
        } else if (arg[0] == '-' && arg[1] != '\0') {
            return fail(err, err_size, "unknown argument '%s' (see seafs --help)", arg);
        } else if (positional == 0) {
            if (set_string(&o->server_url, arg, "SERVER_URL", err, err_size) != 0)
                return -1;
            positional++;
        } else if (positional == 1) {
            if (set_string(&o->mountpoint, arg, "MOUNTPOINT", err, err_size) != 0)
                return -1;
            positional++;
        } else {
            return fail(err, err_size, "unexpected argument '%s'", arg);
        }
    }
    if (o->show_help || o->show_version)
        return 0;
    if (positional < 2)
        return fail(err, err_size, "usage: seafs SERVER_URL MOUNTPOINT [-o options] [-f] [-d]");
    if (strncmp(o->server_url, "http://", 7) != 0 && strncmp(o->server_url, "https://", 8) != 0)
        return fail(err, err_size, "SERVER_URL must start with http:// or https:// (got '%s')",
                    o->server_url);
    if (!o->user)
        return fail(err, err_size, "option user=ACCOUNT is required (the Seafile login e-mail)");
    if (!o->fuse_opts && !(o->fuse_opts = strdup("")))
        return fail(err, err_size, "out of memory");
    return 0;
}

void options_print_help(FILE *out)
{
    fprintf(out, "usage: seafs SERVER_URL MOUNTPOINT -o user=ACCOUNT[,options] [-f] [-d] [-s]\n"
                 "       seafs --config FILE [-o options] [-f] [-d] [-s]   (see seafs(8))\n"
                 "       seafs --version | --help\n");
    ctl_print_usage(out);
    fprintf(
        out,
        "\n"
        "status, sync, unlock and lock talk to a running mount: its state (--json for scripts),\n"
        "waiting until changes are on the server, and unlocking an encrypted library (password\n"
        "from the terminal, a 0600 file or stdin).\n"
        "\n"
        "Mounts every Seafile library of ACCOUNT on SERVER_URL (e.g. https://cloud.example.com)\n"
        "as a folder under MOUNTPOINT. Writes are kept in a local journal first (close and\n"
        "fsync return once they survive a crash) and uploaded in the background, one commit\n"
        "per library after a quiet moment. Returns once the mount is live; then runs in\n"
        "the background (logging to syslog) unless -f. Also usable as\n"
        "  mount -t fuse.seafs https://server /mnt -o user=alice@example.com,credentials=FILE\n"
        "and in /etc/fstab with the same fields.\n"
        "\n"
        "Password (needed only when no API token is stored yet), first found of:\n"
        "  credentials=FILE   file (mode 0600 or stricter, owned by you or root) holding the\n"
        "                     password on its first line, or lines user=... / password=...\n"
        "  SEAFS_PASSWORD     environment variable\n"
        "  a prompt on the terminal (foreground only). Never on the command line.\n"
        "The API token is then kept in STATE_DIR (0600) so remounts need no password.\n"
        "\n"
        "Options (-o, comma separated):\n"
        "  user=ACCOUNT          Seafile login (required)\n"
        "  credentials=FILE      see above\n"
        "  cache_dir=DIR         block and metadata cache; default /var/cache/seafs/<account>\n"
        "                        for root, else $XDG_CACHE_HOME/seafs/<account> or\n"
        "                        ~/.cache/seafs/<account> (home from the password database if\n"
        "                        HOME is unset)\n"
        "  state_dir=DIR         tokens and the last library list (offline starts); default\n"
        "                        /var/lib/seafs/<account> for root, else $XDG_STATE_HOME/seafs/\n"
        "                        <account> or ~/.local/state/seafs/<account>\n"
        "  cache_size=SIZE       cache limit, suffix K/M/G/T (default 10G)\n"
        "  poll_interval=SECS    library list / head commit polling (default 30; 0 = off)\n"
        "  connect_timeout=SECS  TCP/TLS connect timeout (default 10)\n"
        "  timeout=SECS          a request fails after this long without progress, retries\n"
        "                        included; an uncached read fails with EIO by then (default 30)\n"
        "  connections=N         parallel connections per host (default 8)\n"
        "  readahead=SIZE        largest sequential read-ahead window (default 64M); small\n"
        "                        files of a folder read one after the other (tar, cp -r) are\n"
        "                        fetched ahead too; 0 turns all read-ahead off\n"
        "  range_reads=auto|off|always\n"
        "                        a small read of a block not in the cache, not part of a\n"
        "                        sequential read, in an unencrypted library: auto (default)\n"
        "                        fetches just a byte range around it when the measured link\n"
        "                        makes that at least 0.5 s faster than the whole block; off\n"
        "                        always fetches the whole block, so that every byte served is\n"
        "                        checked against its block id (ranges are checked only to be\n"
        "                        of the right file version); always uses a range whatever\n"
        "                        the link (e.g. a metered one)\n"
        "  uid=N, gid=N          owner shown for all files (default: the mounting user)\n"
        "  umask=OCTAL           permission bits removed (default 022)\n"
        "  allow_other           let other users access the mount (an ordinary user needs\n"
        "                        user_allow_other in /etc/fuse.conf)\n"
        "  layout=flat|seadrive  flat: libraries directly under MOUNTPOINT (default);\n"
        "                        seadrive: My Libraries/, Shared with me/, Shared with all/,\n"
        "                        and one folder per group\n"
        "  ca_file=FILE          trust this PEM bundle instead of the system store\n"
        "  insecure              do not verify TLS certificates (explicit opt-in)\n"
        "  save_keys             keep the keys of libraries unlocked with `seafs unlock` in\n"
        "                        STATE_DIR/keys/ (mode 0600) so later mounts start unlocked;\n"
        "                        anyone who can read that file (root, a backup) can decrypt\n"
        "                        the library without its password. Default: memory only\n"
        "  upload_delay=SECS     quiet time after the last change before a library's changes\n"
        "                        go up as one commit (default 1)\n"
        "  upload_max_delay=SECS a file kept open and written is uploaded at least this often\n"
        "                        (default 60)\n"
        "  fsync=local|server    fsync returns once the data is safe on this machine (local,\n"
        "                        default) or once it is committed on the server (EIO after\n"
        "                        timeout=)\n"
        "  no_writeback_cache    every write goes to the daemon at once (default: the kernel's\n"
        "                        writeback cache gathers them)\n"
        "  no_ignore             upload temporary files too (default: *~, *.sbak, #*#,\n"
        "                        Thumbs.db, .DS_Store, ._*, .fuse_hidden*, ~$*, *.tmp,\n"
        "                        .~lock*#, .~* stay local)\n"
        "  ro                    read-only mount\n"
        "  debug                 same as -d\n"
        "Passed to FUSE: allow_root, auto_unmount, default_permissions, fsname=, subtype=,\n"
        "  max_read=, rw, async, sync, dirsync, [no]suid, [no]dev, [no]exec, atime,\n"
        "  noatime.\n"
        "Ignored (added by mount(8), systemd, desktops): _netdev, nofail, auto, noauto,\n"
        "  defaults, user, users, nouser, owner, group, [no]relatime, [no]strictatime,\n"
        "  x-* (x-systemd.*, x-gvfs-*, ...), comment=*.\n"
        "Anything else is an error.\n"
        "\n"
        "Flags: -f foreground, -d debug log (implies -f), -s single-threaded.\n"
        "\n"
        "Layout: libraries whose names clash get \" (owner)\" appended, or \" (<first 8\n"
        "characters of the library id>)\" if that clashes too; the order is deterministic.\n"
        "Writable libraries show the owner write bit (rw- for files, rwx for folders);\n"
        "read-only libraries, locked encrypted ones and the top folder show none, and\n"
        "writes there fail (EACCES; EROFS in the top folder). The kernel checks access\n"
        "against the modes shown (uid=, gid=, umask=), so other users get EACCES for\n"
        "writes before they reach seafs.\n"
        "Encrypted libraries are listed; their files refuse reads with EACCES until\n"
        "  `seafs unlock MOUNTPOINT LIBRARY` is given the password (checked locally).\n"
        "  Blocks are cached as downloaded (ciphertext): the cache holds no plaintext.\n"
        "Extended attributes: user.seafs.cached (1 when every block is cached, else 0),\n"
        "  user.seafs.library_id, user.seafs.file_id (files; dirs: user.seafs.dir_id),\n"
        "  user.seafs.status; no ACLs or security labels (ENOTSUP).\n"
        "Unmount with fusermount3 -u MOUNTPOINT, umount, or SIGTERM to the daemon.\n");
}
