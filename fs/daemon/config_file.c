/* config_file: parsing `key = value` lines into server, mount point and one -o list, and the
 * argv rewriting of --config. Option names and values are not checked here beyond what would
 * break the -o list (a comma in a value): options.c checks them, with the same messages as on
 * the command line. */
#include "config_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_FILE_MAX (64 * 1024)

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

/* value with a leading "~" or "~/" replaced by home; malloc'd, or NULL with err set. */
static char *expand_home(const char *value, const char *home, unsigned line, char *err,
                         size_t err_size)
{
    char *out = NULL;
    if (value[0] == '~' && (value[1] == '/' || value[1] == '\0')) {
        if (!home) {
            fail(err, err_size, "line %u: no home directory for '%s'", line, value);
            return NULL;
        }
        if (asprintf(&out, "%s%s", home, value + 1) < 0)
            out = NULL;
    } else {
        out = strdup(value);
    }
    if (!out)
        fail(err, err_size, "out of memory");
    return out;
}

/* Appends item to the -o list. */
static int append_option(struct config_file *c, const char *item, char *err, size_t err_size)
{
    size_t old = strlen(c->options);
    char *grown = realloc(c->options, old + strlen(item) + 2);
    if (!grown)
        return fail(err, err_size, "out of memory");
    if (old && *item)
        grown[old++] = ',';
    strcpy(grown + old, item);
    c->options = grown;
    return 0;
}

/* A key other than server and mountpoint: one item of the -o list. */
static int add_option_key(struct config_file *c, const char *key, const char *value,
                          const char *home, unsigned line, char *err, size_t err_size)
{
    static const char *const yes[] = {"yes", "true", "on", NULL};
    static const char *const no[] = {"no", "false", "off", NULL};
    if (strcmp(key, "options") == 0)
        return append_option(c, value, err, err_size);
    if (is_one_of(value, yes))
        return append_option(c, key, err, err_size);
    if (is_one_of(value, no))
        return 0;
    char *expanded = expand_home(value, home, line, err, err_size);
    if (!expanded)
        return -1;
    int rc;
    char *item = NULL;
    if (strchr(expanded, ','))
        rc = fail(err, err_size, "line %u: a value cannot hold a comma", line);
    else if (asprintf(&item, "%s=%s", key, expanded) < 0)
        rc = fail(err, err_size, "out of memory");
    else
        rc = append_option(c, item, err, err_size);
    free(item);
    free(expanded);
    return rc;
}

/* One non-blank, non-comment line (modified in place). */
static int parse_line(struct config_file *c, char *text, const char *home, unsigned line, char *err,
                      size_t err_size)
{
    char *eq = strchr(text, '=');
    if (!eq)
        return fail(err, err_size, "line %u: expected key = value", line);
    *eq = '\0';
    char *key = trim(text), *value = trim(eq + 1);
    if (!*key || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(key))
        return fail(err, err_size, "line %u: '%s' is not a key (lower case, digits, _)", line, key);
    if (!*value)
        return fail(err, err_size, "line %u: %s has no value", line, key);
    if (strcmp(key, "password") == 0)
        return fail(err, err_size,
                    "line %u: no passwords in a config file: use credentials = FILE (mode "
                    "0600) or mount once on a terminal to store an API token",
                    line);
    bool is_server = strcmp(key, "server") == 0;
    if (!is_server && strcmp(key, "mountpoint") != 0)
        return add_option_key(c, key, value, home, line, err, err_size);
    char **field = is_server ? &c->server : &c->mountpoint;
    if (*field)
        return fail(err, err_size, "line %u: %s is given twice", line, key);
    if (!is_server)
        return (*field = expand_home(value, home, line, err, err_size)) ? 0 : -1;
    return (*field = strdup(value)) ? 0 : fail(err, err_size, "out of memory");
}

int config_file_parse(const char *text, const char *home, struct config_file *c, char *err,
                      size_t err_size)
{
    memset(c, 0, sizeof(*c));
    char *copy = strdup(text);
    c->options = strdup("");
    if (!copy || !c->options) {
        free(copy);
        return fail(err, err_size, "out of memory");
    }
    int rc = 0;
    unsigned line = 0;
    for (char *next = copy, *end; rc == 0 && next; next = end ? end + 1 : NULL) {
        end = strchr(next, '\n');
        if (end)
            *end = '\0';
        line++;
        char *content = trim(next);
        if (*content && *content != '#' && *content != ';')
            rc = parse_line(c, content, home, line, err, err_size);
    }
    free(copy);
    if (rc == 0 && !c->server)
        rc = fail(err, err_size, "no server = URL");
    if (rc == 0 && !c->mountpoint)
        rc = fail(err, err_size, "no mountpoint = DIR");
    return rc;
}

int config_file_read(const char *path, const char *home, struct config_file *c, char *err,
                     size_t err_size)
{
    memset(c, 0, sizeof(*c));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(err, err_size, "cannot open: %s", strerror(errno));
    struct stat st;
    char *text = NULL;
    int rc = -1;
    if (fstat(fd, &st) != 0) {
        fail(err, err_size, "cannot stat: %s", strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        fail(err, err_size, "is not a regular file");
    } else if (st.st_mode & S_IWOTH || (st.st_uid != geteuid() && st.st_uid != 0)) {
        fail(err, err_size, "may be changed by other users (chmod o-w it, owner you or root)");
    } else if (st.st_size > CONFIG_FILE_MAX) {
        fail(err, err_size, "is larger than %d bytes", CONFIG_FILE_MAX);
    } else if (!(text = calloc(1, (size_t)st.st_size + 1))) {
        fail(err, err_size, "out of memory");
    } else {
        size_t have = 0;
        ssize_t n = 1;
        while (have < (size_t)st.st_size && (n = read(fd, text + have, st.st_size - have)) > 0)
            have += (size_t)n;
        if (n < 0)
            fail(err, err_size, "cannot read: %s", strerror(errno));
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
    if (taken < 0 || !*path)
        return fail(err, err_size, "--config needs a file");
    for (int i = 1; i < argc; i++) {
        if (i == at) {
            i += taken - 1;
        } else if (strcmp(argv[i], "-o") == 0) {
            i++;
        } else if (argv[i][0] != '-') {
            return fail(err, err_size,
                        "'%s': with --config, the server and mount point come from the file",
                        argv[i]);
        }
    }
    struct config_file c;
    char why[400];
    if (config_file_read(path, home, &c, why, sizeof(why)) != 0) {
        config_file_release(&c);
        return fail(err, err_size, "config file %s: %s", path, why);
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
        return fail(err, err_size, "out of memory");
    }
    *out_argc = n;
    *out_argv = out;
    return 1;
}
