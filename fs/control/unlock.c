/* unlock: `seafs unlock` / `seafs lock` on the daemon side. The library is found by folder
 * name, server name or id in the library list; its encryption parameters come from its head
 * commit (cached, else fetched); seaf_crypt checks the password and derives the block key,
 * which goes to the mount's key store. Locking also drops the kernel's cached pages of the
 * library. Nothing here logs the password. */
#include "unlock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "poll.h"
#include "seaf_crypt.h"

int library_find(struct seafs *fs, const char *name, struct named_library *out, char *msg,
                 size_t msg_size)
{
    pthread_rwlock_rdlock(&fs->libs_lock);
    const struct library *found = NULL;
    for (int pass = 0; pass < 3 && !found; pass++)
        for (size_t i = 0; i < fs->libs.n && !found; i++) {
            const struct library *lib = &fs->libs.libs[i];
            const char *candidate = pass == 0 ? lib->folder : pass == 1 ? lib->name : lib->id;
            if (candidate && strcmp(candidate, name) == 0)
                found = lib;
        }
    if (found) {
        memcpy(out->id, found->id, sizeof(out->id));
        memcpy(out->head, found->head_commit_id, sizeof(out->head));
        snprintf(out->folder, sizeof(out->folder), "%s", found->folder);
        out->encrypted = found->encrypted;
    }
    pthread_rwlock_unlock(&fs->libs_lock);
    if (!found) {
        snprintf(msg, msg_size, "no library '%s' on this mount", name);
        return -ENOENT;
    }
    return 0;
}

/* The encrypted library name. */
static int find_library(struct seafs *fs, const char *name, struct named_library *out, char *msg,
                        size_t msg_size)
{
    int rc = library_find(fs, name, out, msg, msg_size);
    if (rc == 0 && !out->encrypted) {
        snprintf(msg, msg_size, "library '%s' is not encrypted", out->folder);
        return -EINVAL;
    }
    return rc;
}

int library_unlock(struct seafs *fs, const char *library, const char *password, char *msg,
                   size_t msg_size)
{
    struct named_library lib;
    int rc = find_library(fs, library, &lib, msg, msg_size);
    if (rc)
        return rc;
    struct seaf_commit *head = NULL;
    rc = tree_commit_get(fs->tree, lib.id, lib.head, &head);
    if (rc) {
        snprintf(msg, msg_size, "cannot read the head commit of '%s' (%s)", lib.folder,
                 strerror(-rc));
        return rc;
    }
    struct seaf_crypt_params params;
    struct seaf_crypt_key key;
    char why[200] = "";
    seaf_err err = seaf_crypt_params_from_commit(head, &params);
    if (err == SEAF_OK)
        err = seaf_crypt_unlock(&params, password, &key, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "its head commit says it is not encrypted");
    seaf_commit_free(head);
    switch (err) {
    case SEAF_OK:
        rc = library_keys_put(fs->keys, lib.id, &key);
        seaf_crypt_key_wipe(&key);
        if (rc == 0)
            snprintf(msg, msg_size, "library '%s' unlocked", lib.folder);
        else
            snprintf(msg, msg_size, "library '%s' unlocked, but its key could not be saved",
                     lib.folder);
        log_msg(LOG_INFO, "library '%s' (%s) unlocked", lib.folder, lib.id);
        return 0;
    case SEAF_ERR_AUTH:
        snprintf(msg, msg_size, "wrong password for library '%s'", lib.folder);
        log_msg(LOG_WARNING, "library '%s': wrong password", lib.folder);
        return -EACCES;
    case SEAF_ERR_UNSUPPORTED:
        snprintf(msg, msg_size, "library '%s': %s", lib.folder, why);
        return -ENOTSUP;
    default:
        snprintf(msg, msg_size, "library '%s': bad encryption parameters: %s", lib.folder, why);
        log_msg(LOG_ERR, "library '%s' (%s): %s", lib.folder, lib.id, why);
        return -EIO;
    }
}

int library_lock(struct seafs *fs, const char *library, char *msg, size_t msg_size)
{
    struct named_library lib;
    int rc = find_library(fs, library, &lib, msg, msg_size);
    if (rc)
        return rc;
    bool was = library_keys_forget(fs->keys, lib.id);
    snprintf(msg, msg_size, was ? "library '%s' locked" : "library '%s' was not unlocked",
             lib.folder);
    if (was) {
        poll_invalidate_library(fs, lib.id); /* no plaintext left in the page cache */
        log_msg(LOG_INFO, "library '%s' (%s) locked", lib.folder, lib.id);
    }
    return 0;
}

bool library_is_unlocked(struct seafs *fs, const char *repo_id)
{
    struct seaf_crypt_key key;
    bool unlocked = library_keys_get(fs->keys, repo_id, &key);
    seaf_crypt_key_wipe(&key);
    return unlocked;
}
