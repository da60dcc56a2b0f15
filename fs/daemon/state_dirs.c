/* state_dirs: default locations and creation of the per-account cache and state directories,
 * and the persistent device id sent to the server (login device and permission-check client
 * id), as the official clients keep one per installation. */
#include "state_dirs.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "seaf_client.h"
#include "seaf_ids.h"
#include "token_store.h"

/* The device id file in the state directory, kept by token_store (written atomically). */
#define DEVICE_ID_NAME "device-id"

int state_dirs_account_name(const char *user, const char *server_url, char *out, size_t size)
{
    char origin[512];
    if (!seaf_url_origin(server_url, origin, sizeof(origin)))
        return -1;
    const char *host = strstr(origin, "://");
    host = host ? host + 3 : origin;
    int n = snprintf(out, size, "%s@%s", user, host);
    if (n < 0 || (size_t)n >= size)
        return -1;
    for (char *p = out; *p; p++) {
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '@' || c == '+' || c == '-';
        if (!ok)
            *p = '_';
    }
    if (out[0] == '.')
        out[0] = '_';
    return 0;
}

const char *state_dirs_home(void)
{
    const char *home = getenv("HOME");
    if (home && home[0] == '/')
        return home;
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_dir && *pw->pw_dir ? pw->pw_dir : NULL;
}

int state_dirs_base_for(const char *kind, bool root, const char *xdg, const char *home, char *out,
                        size_t size)
{
    bool cache = strcmp(kind, "cache") == 0;
    int n;
    if (root)
        n = snprintf(out, size, "%s", cache ? "/var/cache/seafs" : "/var/lib/seafs");
    else if (xdg && xdg[0] == '/')
        n = snprintf(out, size, "%s/seafs", xdg);
    else if (home && home[0] == '/')
        n = snprintf(out, size, "%s/%s/seafs", home, cache ? ".cache" : ".local/state");
    else
        return -1;
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int state_dirs_default_base(const char *kind, char *out, size_t size)
{
    bool root = geteuid() == 0;
    const char *xdg = getenv(strcmp(kind, "cache") == 0 ? "XDG_CACHE_HOME" : "XDG_STATE_HOME");
    return state_dirs_base_for(kind, root, xdg, root ? NULL : state_dirs_home(), out, size);
}

int state_dirs_create(const char *path, unsigned mode)
{
    char buf[4096];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
        return -ENAMETOOLONG;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return -errno;
    return 0;
}

int state_dirs_device_id(const char *dir, char out[41])
{
    if (token_store_load(dir, DEVICE_ID_NAME, out) == SEAF_OK)
        return 0;
    unsigned char random[20];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, random, sizeof(random));
    close(fd);
    if (n != (ssize_t)sizeof(random))
        return -EIO;
    seaf_id_from_digest(random, out);
    seaf_err err = token_store_save(dir, DEVICE_ID_NAME, out);
    if (err == SEAF_ERR_NOSPACE)
        return -ENOSPC;
    return err == SEAF_OK ? 0 : -EIO;
}
