/* credentials: where the account password comes from -- a credentials file that only its owner
 * can read, the SEAFS_PASSWORD environment variable, or a prompt on the terminal. Never argv.
 * The password is only needed when no API token is stored. */
#ifndef SEAFS_FS_CREDENTIALS_H
#define SEAFS_FS_CREDENTIALS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* Why a credentials file with this stat may not be trusted by a process running as euid, or
 * NULL when it may: not a regular file, readable or writable by group/others, or owned by
 * someone other than euid and root. Pure. */
const char *credentials_file_problem(const struct stat *st, uid_t euid);

/* Reads the password (and a user name when the file names one) from path. Format: either the
 * password alone on the first line, or lines "user=..." / "username=..." and "password=...".
 * Returns 0, or -1 with a reason in err. *password and *user (NULL when absent) are malloc'd. */
int credentials_read_file(const char *path, char **user, char **password, char *err,
                          size_t err_size);

/* Asks for the password of user on the controlling terminal without echo. NULL when there is no
 * terminal or nothing was typed. malloc'd. */
char *credentials_prompt(const char *user);

/* One line read from fd a byte at a time (nothing past its newline is consumed), at most
 * max - 1 bytes, without the newline and trailing carriage returns. NULL when it is empty (or
 * out of memory). malloc'd: free it with credentials_free_secret. */
char *credentials_read_line(int fd, size_t max);

/* Overwrites a malloc'd block (all of it, not only up to a NUL) and frees it. NULL is a no-op.
 * Also jansson's free, so that passwords and tokens it parsed or printed do not linger in freed
 * memory: installed once at start-up, before any thread, with
 * json_set_alloc_funcs(malloc, credentials_free_secret). */
void credentials_free_secret(void *secret);

#endif
