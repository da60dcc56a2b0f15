/* options: the seafs command line (`seafs SERVER_URL MOUNTPOINT [-o opts] [-f] [-d]`, the form
 * mount.fuse3 and mount(8) use) turned into one structure. Our -o options are parsed and
 * checked here; the options mount(8) and systemd add are ignored; standard FUSE/mount options
 * are passed through to libfuse; anything else is refused with a message. No I/O. */
#ifndef SEAFS_FS_OPTIONS_H
#define SEAFS_FS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

enum seafs_layout {
    SEAFS_LAYOUT_FLAT,     /* every library directly under the mount point */
    SEAFS_LAYOUT_SEADRIVE, /* "My Libraries/", "Shared with me/", ... as SeaDrive shows them */
};

/* range_reads=: how small isolated reads of blocks not in the cache are served. */
enum seafs_range_reads {
    SEAFS_RANGE_AUTO,   /* a byte range when the link makes it pay (fs/read/range_read.h) */
    SEAFS_RANGE_OFF,    /* always the whole block, verified against its id */
    SEAFS_RANGE_ALWAYS, /* a byte range whatever the link (metered links, tests, benchmarks) */
};

struct seafs_options {
    char *server_url;                   /* first positional argument */
    char *mountpoint;                   /* second positional argument */
    char *user;                         /* user= account e-mail / login id */
    char *credentials_file;             /* credentials= file holding the password (mode 0600) */
    char *cache_dir;                    /* cache_dir=; NULL = default (see options_print_help) */
    char *state_dir;                    /* state_dir=; NULL = default */
    char *ca_file;                      /* ca_file= PEM bundle */
    uint64_t cache_size;                /* cache_size= bytes (suffixes K M G T) */
    uint64_t readahead;                 /* readahead= largest read-ahead window in bytes; 0 = off */
    enum seafs_range_reads range_reads; /* range_reads=auto|off|always */
    unsigned poll_interval;             /* poll_interval= seconds; 0 = never poll */
    unsigned connect_timeout;           /* connect_timeout= seconds */
    unsigned timeout;          /* timeout= seconds without progress before a request fails */
    unsigned connections;      /* connections= per host */
    unsigned upload_delay;     /* upload_delay= seconds of quiet before changes are uploaded */
    unsigned upload_max_delay; /* upload_max_delay= seconds a file open for writing may wait */
    bool fsync_server;         /* fsync=server: fsync waits for the server's commit */
    bool no_writeback_cache;   /* no_writeback_cache: the kernel sends every write at once */
    bool no_ignore;            /* no_ignore: upload temporary files too (see ignore.h) */
    uid_t uid;                 /* uid= owner shown for every file */
    gid_t gid;                 /* gid= */
    mode_t umask;              /* umask= (octal) */
    enum seafs_layout layout;  /* layout=flat|seadrive */
    bool insecure;             /* insecure: no TLS certificate checks */
    bool save_keys;            /* save_keys: keep unlocked library keys on disk (0600) */
    bool read_only;            /* ro */
    bool allow_other;          /* allow_other */
    bool foreground;           /* -f */
    bool debug;                /* -d / debug */
    bool single_thread;        /* -s */
    bool show_help;            /* -h / --help */
    bool show_version;         /* -V / --version */
    char *fuse_opts;           /* comma list of options handed to libfuse ("" when none) */
};

/* Fills o with the defaults (see options_print_help): uid/gid of the caller, umask 022, flat
 * layout, 10 GiB cache, 64 MiB read-ahead window, range_reads=auto, 30 s polling, 10 s connect / 30
 * s transfer timeouts, 8 connections per host, uploads after 1 s of quiet (60 s at most for files
 * kept open), fsync=local, the kernel's writeback cache on, temporary files kept local. Allocates
 * nothing. */
void options_init(struct seafs_options *o);
/* Parses argv into o (after options_init). Returns 0, or -1 with a one-line reason in err.
 * SERVER_URL and MOUNTPOINT are required unless --help or --version was given. */
int options_parse(struct seafs_options *o, int argc, char **argv, char *err, size_t err_size);
/* Frees the strings of o. */
void options_release(struct seafs_options *o);
/* Parses a size with an optional K/M/G/T suffix (powers of 1024). false on anything else. */
bool options_parse_size(const char *text, uint64_t *out);
/* The --help text. */
void options_print_help(FILE *out);

#endif
