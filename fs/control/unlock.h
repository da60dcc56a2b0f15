/* unlock: unlocking and locking an encrypted library of a running mount by name (what
 * `seafs unlock` / `seafs lock` ask for through the control socket), and finding a library by
 * name for the control requests. The password is checked locally against the library's head
 * commit (magic or pwd_hash, protocol doc §5.4): no server round trip when that commit is
 * cached. */
#ifndef SEAFS_FS_UNLOCK_H
#define SEAFS_FS_UNLOCK_H

#include <stdbool.h>
#include <stddef.h>

#include "seafs.h"

/* What a request names: id, folder and head commit of a library. */
struct named_library {
    char id[SEAF_REPO_ID_LEN + 1];
    char head[SEAF_ID_LEN + 1];
    char folder[256];
    bool encrypted;
};
/* Finds library name: folder names first (what the user sees), then server names, then ids.
 * 0, or -ENOENT with the reason in msg. */
int library_find(struct seafs *fs, const char *name, struct named_library *out, char *msg,
                 size_t msg_size);

/* library: the folder name shown in the mount, the name on the server, or the repo id.
 * 0 and a confirmation in msg, or -errno with the reason in msg: -ENOENT unknown library,
 * -EINVAL not encrypted, -EACCES wrong password, -ENOTSUP an encryption seafs cannot read,
 * -EIO / -EHOSTDOWN when the head commit cannot be had. */
int library_unlock(struct seafs *fs, const char *library, const char *password, char *msg,
                   size_t msg_size);
/* Forgets the key (open files of the library then get EACCES too). 0, -ENOENT, -EINVAL. */
int library_lock(struct seafs *fs, const char *library, char *msg, size_t msg_size);
/* Whether the encrypted library repo_id is unlocked. */
bool library_is_unlocked(struct seafs *fs, const char *repo_id);

#endif
