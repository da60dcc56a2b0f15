/* config_file: the per-mount configuration file of `seafs --config FILE` (read by the systemd
 * units in packaging/systemd/: ~/.config/seafs/<name>.conf, /etc/seafs/<name>.conf). One
 * `key = value` a line; blank lines and lines starting with '#' or ';' are skipped:
 *
 *   server      = https://cloud.example.com     (required)
 *   mountpoint  = ~/Seafile                     (required)
 *   user        = alice@example.com             (any -o option, one key each)
 *   credentials = ~/.config/seafs/work.credentials
 *   save_keys   = yes                           (a flag: yes/true/on, or no/false/off)
 *   options     = noatime,poll_interval=60      (a -o list as is; may repeat)
 *
 * A value starting with "~/" (or "~" alone) is taken relative to the home directory. Passwords
 * are refused: the password comes from a credentials file or the API token stored at the first
 * mount. The file turns into the command line `seafs SERVER MOUNTPOINT -o LIST`, checked by
 * options.c like any other. */
#ifndef SEAFS_FS_CONFIG_FILE_H
#define SEAFS_FS_CONFIG_FILE_H

#include <stddef.h>

struct config_file {
    char *server;     /* server = */
    char *mountpoint; /* mountpoint =, ~ expanded */
    char *options;    /* every other key as one -o list; "" when none */
};

/* Parses the text of a config file; home replaces a leading "~" (NULL: such values are an
 * error). 0, or -1 with "line N: reason" in err. Pure. Release c afterwards either way. */
int config_file_parse(const char *text, const char *home, struct config_file *c, char *err,
                      size_t err_size);
/* Reads and parses the file at path (at most 64 KiB; refused when others may write it). */
int config_file_read(const char *path, const char *home, struct config_file *c, char *err,
                     size_t err_size);
void config_file_release(struct config_file *c);

/* The command line with `--config FILE` (or --config=FILE) replaced by what FILE says:
 * argv[0] SERVER MOUNTPOINT [-o LIST] followed by the other arguments (flags and -o lists, which
 * come later and so win). Returns 1 with a new malloc'd argv in *out (free it with
 * config_file_free_argv), 0 when there is no --config (nothing allocated), -1 with the reason in
 * err (also for positional arguments next to --config). */
int config_file_expand_argv(int argc, char **argv, const char *home, int *out_argc,
                            char ***out_argv, char *err, size_t err_size);
void config_file_free_argv(int argc, char **argv);

#endif
