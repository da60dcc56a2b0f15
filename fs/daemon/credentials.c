/* credentials: reading the account password without ever putting it on the command line. A
 * credentials file is refused unless only its owner (the caller or root) can read it, like ssh
 * does for private keys; the check looks at the open descriptor (fstat) so the file cannot be
 * swapped between check and read. The terminal prompt reads /dev/tty with echo off. */
#include "credentials.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MAX_CREDENTIALS_FILE 4096
#define PASSWORD_LINE_MAX    1024

const char *credentials_file_problem(const struct stat *st, uid_t euid)
{
    if (!S_ISREG(st->st_mode))
        return "is not a regular file";
    if (st->st_mode & (S_IRWXG | S_IRWXO))
        return "is accessible by group or others (chmod 600 it)";
    if (st->st_uid != euid && st->st_uid != 0)
        return "is owned by another user";
    return NULL;
}

static void strip_line_end(char *s)
{
    size_t n = strlen(s);
    while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
        s[--n] = '\0';
}

static int set_field(char **field, const char *value, char *err, size_t err_size)
{
    credentials_free_secret(*field);
    *field = strdup(value);
    if (!*field) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    return 0;
}

/* Parses the file's text into user/password. */
static int parse_text(char *text, char **user, char **password, char *err, size_t err_size)
{
    char *save = NULL;
    bool keyed = strncmp(text, "user=", 5) == 0 || strncmp(text, "username=", 9) == 0 ||
                 strncmp(text, "password=", 9) == 0;
    if (!keyed) {
        char *line = strtok_r(text, "\n", &save);
        if (!line || !*line) {
            snprintf(err, err_size, "holds no password");
            return -1;
        }
        strip_line_end(line);
        return set_field(password, line, err, err_size);
    }
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        strip_line_end(line);
        if (!*line || *line == '#')
            continue;
        int rc = 0;
        if (strncmp(line, "user=", 5) == 0)
            rc = set_field(user, line + 5, err, err_size);
        else if (strncmp(line, "username=", 9) == 0)
            rc = set_field(user, line + 9, err, err_size);
        else if (strncmp(line, "password=", 9) == 0)
            rc = set_field(password, line + 9, err, err_size);
        else {
            snprintf(err, err_size, "has a line that is not user=, username= or password=");
            rc = -1;
        }
        if (rc)
            return rc;
    }
    if (!*password || !**password) {
        snprintf(err, err_size, "holds no password= line");
        return -1;
    }
    return 0;
}

int credentials_read_file(const char *path, char **user, char **password, char *err,
                          size_t err_size)
{
    *user = NULL;
    *password = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    char *text = NULL;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "cannot stat: %s", strerror(errno));
        goto out;
    }
    const char *problem = credentials_file_problem(&st, geteuid());
    if (problem) {
        snprintf(err, err_size, "%s", problem);
        goto out;
    }
    text = calloc(1, MAX_CREDENTIALS_FILE + 1);
    if (!text) {
        snprintf(err, err_size, "out of memory");
        goto out;
    }
    ssize_t n = read(fd, text, MAX_CREDENTIALS_FILE);
    if (n < 0) {
        snprintf(err, err_size, "cannot read: %s", strerror(errno));
        goto out;
    }
    rc = parse_text(text, user, password, err, err_size);
out:
    if (rc) {
        credentials_free_secret(*user);
        credentials_free_secret(*password);
        *user = NULL;
        *password = NULL;
    }
    if (text) {
        explicit_bzero(text, MAX_CREDENTIALS_FILE);
        free(text);
    }
    close(fd);
    return rc;
}

char *credentials_prompt(const char *user)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    struct termios saved;
    bool restore = tcgetattr(fd, &saved) == 0;
    if (restore) {
        struct termios quiet = saved;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    dprintf(fd, "Seafile password for %s: ", user);
    char *password = credentials_read_line(fd, PASSWORD_LINE_MAX);
    if (restore)
        tcsetattr(fd, TCSAFLUSH, &saved);
    dprintf(fd, "\n");
    close(fd);
    return password;
}

char *credentials_read_line(int fd, size_t max)
{
    char *line = max ? malloc(max) : NULL;
    if (!line)
        return NULL;
    size_t len = 0;
    char c;
    while (len + 1 < max && read(fd, &c, 1) == 1 && c != '\n')
        line[len++] = c;
    while (len && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    if (len == 0) {
        credentials_free_secret(line);
        return NULL;
    }
    return line;
}

void credentials_free_secret(void *secret)
{
    if (!secret)
        return;
    explicit_bzero(secret, malloc_usable_size(secret));
    free(secret);
}
