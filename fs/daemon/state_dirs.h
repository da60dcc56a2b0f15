/* state_dirs: where a mount keeps its files -- the cache directory and the state directory
 * (tokens, device id, last library list) -- chosen per account and server so that several
 * mounts never share one, created with private modes. Works without HOME (as under systemd). */
#ifndef SEAFS_FS_STATE_DIRS_H
#define SEAFS_FS_STATE_DIRS_H

#include <stdbool.h>
#include <stddef.h>

/* The per-account directory name for user on server_url: "<user>@<host[_port]>" with anything
 * but [A-Za-z0-9._@+-] replaced by '_'. 0 or -1 when it does not fit. */
int state_dirs_account_name(const char *user, const char *server_url, char *out, size_t size);
/* The home directory of the caller: HOME, else the password database's entry; NULL if none. */
const char *state_dirs_home(void);
/* The default base of kind ("cache" or "state") for the current user: /var/cache/seafs and
 * /var/lib/seafs for root, else $XDG_CACHE_HOME/seafs / $XDG_STATE_HOME/seafs, or
 * ~/.cache/seafs / ~/.local/state/seafs with the home directory from HOME or the password
 * database. 0 or -1. */
int state_dirs_default_base(const char *kind, char *out, size_t size);
/* The same from given values (pure): root or not, the XDG variable of kind (NULL when unset;
 * ignored unless absolute, as the XDG spec says) and the home directory (ignored unless
 * absolute). 0 or -1 (nothing usable, or too long). */
int state_dirs_base_for(const char *kind, bool root, const char *xdg, const char *home, char *out,
                        size_t size);
/* mkdir -p with mode for every missing component. 0 or -errno. */
int state_dirs_create(const char *path, unsigned mode);
/* Reads the installation's device id from dir/device-id, creating a random one (0600, written
 * atomically) if there is none or it is damaged or readable by others. 0 or -errno. */
int state_dirs_device_id(const char *dir, char out[41]);

#endif
