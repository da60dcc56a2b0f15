/* ctl: the client side of the control socket -- the subcommands `seafs status [MOUNTPOINT]
 * [--json]`, `seafs sync [MOUNTPOINT [LIBRARY]] [--timeout SECONDS] [--json]`, `seafs unlock
 * MOUNTPOINT LIBRARY [--password-file FILE | --password-stdin]` and `seafs lock MOUNTPOINT
 * LIBRARY`. Finds the mount's socket (control.h), sends one request and prints the answer.
 * Exit codes: 0 done, 1 failed (no such mount, daemon not responding or gone, unknown library,
 * wrong password, changes not uploaded in time or refused by the server, ...), 2 usage. */
#ifndef SEAFS_FS_CTL_H
#define SEAFS_FS_CTL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CTL_EXIT_OK      0
#define CTL_EXIT_FAILURE 1
#define CTL_EXIT_USAGE   2

enum ctl_command { CTL_STATUS, CTL_UNLOCK, CTL_LOCK, CTL_SYNC };

struct ctl_args {
    enum ctl_command command;
    const char *mountpoint;    /* NULL: status or sync of every mount of the user */
    const char *library;       /* unlock, lock; sync (NULL: every library) */
    const char *password_file; /* unlock --password-file */
    bool password_stdin;       /* unlock --password-stdin */
    unsigned timeout_s;        /* sync --timeout (0: none) */
    bool json;                 /* status, sync --json */
    bool help;                 /* -h / --help */
};

/* Whether argv[1] names a subcommand (then main hands the command line to ctl_main). */
bool ctl_is_command(const char *arg);
/* Parses argv (argv[1] the subcommand). 0, or -1 with the reason in err. Pure. */
int ctl_parse_args(int argc, char **argv, struct ctl_args *out, char *err, size_t err_size);
/* The usage lines of the subcommands. */
void ctl_print_usage(FILE *out);
/* Prints the human-readable form of one mount's status report (control protocol reply). */
void ctl_print_status(FILE *out, json_t *status);
/* The upload state of a library entry of a status report in a few words ("3 changes (1.2 MiB)
 * waiting -- error: ..., retry in 40 s"); "" when it has nothing waiting and no error. now:
 * the report's time. */
void ctl_format_upload(char *out, size_t size, json_t *library, long long now);
/* Prints the human-readable form of a sync reply of the mount at mountpoint: one line on out
 * when it succeeded; else the reason and the libraries still waiting on err. Returns the exit
 * code. */
int ctl_print_sync(FILE *out, FILE *err, json_t *reply, const char *mountpoint);
/* Runs the subcommand; returns the exit code. */
int ctl_main(int argc, char **argv);

#endif
