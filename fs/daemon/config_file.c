/* config_file: parsing `key = value` lines into server, mount point and one -o list, and the
 * argv rewriting of --config. Option names and values are not checked here beyond what would
 * break the -o list (a comma in a value): options.c checks them, with the same messages as on
 * the command line. */
#include "config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (64 * 1024)

static const char OUT_OF_MEMORY[] = "out of memory";

void config_file_release(struct config_file *c)
{
    free(c->server);
    free(c->mountpoint);
    free(c->options);
    memset(c, 0, sizeof(*c));
}

/* s without leading and trailing blanks, in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static bool is_one_of(const char *s, const char *const *words)
{
    for (size_t i = 0; words[i]; i++)
        if (strcasecmp(s, words[i]) == 0)
            return true;
    return false;
}

/* value with a leading "~" or "~/" replaced by home into *out (malloc'd). NULL or the
 * problem. */
static const char *expand_home(const char *value, const char *home, char **out)
{
    *out = NULL;
    if (value[0] != '~' || (value[1] != '/' && value[1] != '\0'))
        *out = strdup(value);
    else if (!home)
        return "no home directory for ~";
    else if (asprintf(out, "%s%s", home, value + 1) < 0)
        *out = NULL;
    return *out ? NULL : OUT_OF_MEMORY;
}

/* Appends item to the -o list. NULL or the problem. */
static const char *append_option(struct config_file *c, const char *item)
{
    size_t old = strlen(c->options);
    char *grown = realloc(c->options, old + strlen(item) + 2);
    if (!grown)
        return OUT_OF_MEMORY;
    if (old && *item)
        grown[old++] = ',';
    strcpy(grown + old, item);
    c->options = grown;
    return NULL;
}

/* A key other than server and mountpoint: one item of the -o list. NULL or the problem. */
static const char *add_option_key(struct config_file *c, const char *key, const char *value,
                                  const char *home)
{
    static const char *const yes[] = {"yes", "true", "on", NULL};
    static const char *const no[] = {"no", "false", "off", NULL};
    if (strcmp(key, "options") == 0)
        return append_option(c, value);
    if (is_one_of(value, yes))
        return append_option(c, key);
    if (is_one_of(value, no))
        return NULL;
    char *expanded, *item = NULL;
    const char *problem = expand_home(value, home, &expanded);
    if (problem)
        return problem;
    if (strchr(expanded, ','))
        problem = "a value cannot hold a comma";
    else if (asprintf(&item, "%s=%s", key, expanded) < 0)
        item = NULL, problem = OUT_OF_MEMORY; /* item is undefined after a failed asprintf */
    else
        problem = append_option(c, item);
    free(item);
    free(expanded);
    return problem;
}

/* One non-blank, non-comment line (modified in place). NULL or the problem, with *key the key it
 * concerns (NULL when there is none). */
static const char *parse_line(struct config_file *c, char *text, const char *home,
                              const char **key_out)
{
    *key_out = NULL;
    char *eq = strchr(text, '=');
    if (!eq)
        return "expected key = value";
    *eq = '\0';
    char *key = trim(text), *value = trim(eq + 1);
    *key_out = key;
    if (!*key || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(key))
        return "not a key (lower case letters, digits and _)";
    if (!*value)
        return "no value";
    if (strcmp(key, "password") == 0)
        return "no passwords in a config file: use credentials = FILE (mode 0600) or mount "
               "once on a terminal to store an API token";
    bool is_server = strcmp(key, "server") == 0;
    if (!is_server && strcmp(key, "mountpoint") != 0)
        return add_option_key(c, key, value, home);
    char **field = is_server ? &c->server : &c->mountpoint;
    if (*field)
        return "given twice";
    if (!is_server)
        return expand_home(value, home, field);
    return (*field = strdup(value)) ? NULL : OUT_OF_MEMORY;
}

int config_file_parse(const char *text, const char *home, struct config_file *c, char *err,
                      size_t err_size)
{
    memset(c, 0, sizeof(*c));
    char *copy = strdup(text);
    c->options = strdup("");
    const char *problem = copy && c->options ? NULL : OUT_OF_MEMORY;
    const char *key = NULL;
    unsigned line = 0;
    for (char *next = copy, *end; !problem && next; next = end ? end + 1 : NULL) {
        end = strchr(next, '\n');
        if (end)
            *end = '\0';
        line++;
        char *content = trim(next);
        if (*content && *content != '#' && *content != ';')
            problem = parse_line(c, content, home, &key);
    }
    if (problem)
        snprintf(err, err_size, "line %u: %s%s%s", line, key ? key : "", key ? ": " : "", problem);
    else if (!c->server || !c->mountpoint)
        snprintf(err, err_size, "no %s", c->server ? "mountpoint = DIR" : "server = URL");
    free(copy);
    return problem || !c->server || !c->mountpoint ? -1 : 0;
}

int config_file_read(const char *path, const char *home, struct config_file *c, char *err,
                     size_t err_size)
{
    memset(c, 0, sizeof(*c));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_size, "cannot open: %s", strerror(errno));
        return -1;
    }
    struct stat st;
    char *text = NULL;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        snprintf(err, err_size, "cannot stat: %s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "is not a regular file");
    } else if (st.st_mode & (S_IWGRP | S_IWOTH) || (st.st_uid != geteuid() && st.st_uid != 0)) {
        snprintf(err, err_size, "may be changed by other users (chmod go-w it, owner you or root)");
    } else if (st.st_size > CONFIG_FILE_MAX) {
        snprintf(err, err_size, "is larger than %d bytes", CONFIG_FILE_MAX);
    } else if (!(text = calloc(1, (size_t)st.st_size + 1))) {
        snprintf(err, err_size, "%s", OUT_OF_MEMORY);
    } else {
        size_t have = 0;
        ssize_t n = 1;
        while (have < (size_t)st.st_size && (n = read(fd, text + have, st.st_size - have)) > 0)
            have += (size_t)n;
        if (n < 0)
            snprintf(err, err_size, "cannot read: %s", strerror(errno));
        else
            rc = config_file_parse(text, home, c, err, err_size);
    }
    free(text);
    close(fd);
    return rc;
}

void config_file_free_argv(int argc, char **argv)
{
    for (int i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
}

/* The file named by --config FILE / --config=FILE, its index in argv and how many arguments
 * it takes (1 or 2); NULL when absent. -1 in *taken when FILE is missing. */
static const char *find_config(int argc, char **argv, int *at, int *taken)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0) {
            i++;
        } else if (strcmp(argv[i], "--config") == 0) {
            *at = i;
            *taken = i + 1 < argc ? 2 : -1;
            return i + 1 < argc ? argv[i + 1] : "";
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            *at = i;
            *taken = 1;
            return argv[i] + 9;
        }
    }
    return NULL;
}

/* Appends a copy of arg to argv (room for it is there). */
static int push(char **argv, int *argc, const char *arg)
{
    if (!(argv[*argc] = strdup(arg)))
        return -1;
    (*argc)++;
    return 0;
}

int config_file_expand_argv(int argc, char **argv, const char *home, int *out_argc,
                            char ***out_argv, char *err, size_t err_size)
{
    int at = 0, taken = 0;
    const char *path = find_config(argc, argv, &at, &taken);
    if (!path)
        return 0;
    if (taken < 0 || !*path) {
        snprintf(err, err_size, "--config needs a file");
        return -1;
    }
    for (int i = 1; i < argc; i++) {
        if (i == at) {
            i += taken - 1;
        } else if (strcmp(argv[i], "-o") == 0) {
            i++;
        } else if (argv[i][0] != '-') {
            snprintf(err, err_size,
                     "'%s': with --config, the server and mount point come from the file", argv[i]);
            return -1;
        }
    }
    struct config_file c;
    char why[400];
    if (config_file_read(path, home, &c, why, sizeof(why)) != 0) {
        config_file_release(&c);
        snprintf(err, err_size, "config file %s: %s", path, why);
        return -1;
    }
    char **out = calloc((size_t)argc + 4, sizeof(*out));
    int n = 0, rc = out ? 0 : -1;
    if (rc == 0)
        rc = push(out, &n, argv[0]) || push(out, &n, c.server) || push(out, &n, c.mountpoint);
    if (rc == 0 && *c.options)
        rc = push(out, &n, "-o") || push(out, &n, c.options);
    for (int i = 1; rc == 0 && i < argc; i++) {
        if (i == at)
            i += taken - 1;
        else
            rc = push(out, &n, argv[i]);
    }
    config_file_release(&c);
    if (rc != 0) {
        config_file_free_argv(n, out);
        snprintf(err, err_size, "%s", OUT_OF_MEMORY);
        return -1;
    }
    *out_argc = n;
    *out_argv = out;
    return 1;
}
