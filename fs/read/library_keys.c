/* library_keys: a small list of (repo id, block key) under a mutex. Entries are allocated one
 * by one and mlock()ed when the system allows so keys are not swapped out; every copy handed
 * out or dropped is wiped. Saved keys use net/'s token store (0600 files in a 0700 directory,
 * written atomically, ignored when others can read them), as seaf_crypt_key_format's text. */
#include "library_keys.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "log.h"
#include "seaf_ids.h"
#include "token_store.h"

struct key_entry {
    struct key_entry *next;
    char repo_id[SEAF_REPO_ID_LEN + 1];
    struct seaf_crypt_key key;
};

struct library_keys {
    pthread_mutex_t lock;
    struct key_entry *head; /* protected by lock */
    char *save_dir;         /* NULL: memory only */
};

static void entry_free(struct key_entry *e)
{
    seaf_crypt_key_wipe(&e->key);
    munlock(e, sizeof(*e));
    free(e);
}

/* The entry of repo_id; caller holds lock. */
static struct key_entry **find(struct library_keys *keys, const char *repo_id)
{
    struct key_entry **p = &keys->head;
    while (*p && strcmp((*p)->repo_id, repo_id) != 0)
        p = &(*p)->next;
    return p;
}

static int remember(struct library_keys *keys, const char *repo_id,
                    const struct seaf_crypt_key *key)
{
    struct key_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    mlock(e, sizeof(*e)); /* best effort: RLIMIT_MEMLOCK may forbid it */
    snprintf(e->repo_id, sizeof(e->repo_id), "%s", repo_id);
    e->key = *key;
    pthread_mutex_lock(&keys->lock);
    struct key_entry **slot = find(keys, repo_id);
    if (*slot) {
        e->next = (*slot)->next;
        entry_free(*slot);
    }
    *slot = e;
    pthread_mutex_unlock(&keys->lock);
    return 0;
}

static void load_saved(struct library_keys *keys)
{
    DIR *dir = opendir(keys->save_dir);
    if (!dir)
        return;
    for (struct dirent *d; (d = readdir(dir));) {
        if (!seaf_repo_id_valid(d->d_name, strlen(d->d_name)))
            continue;
        char value[TOKEN_STORE_VALUE_MAX + 1];
        struct seaf_crypt_key k;
        if (token_store_load_value(keys->save_dir, d->d_name, value) != SEAF_OK ||
            !seaf_crypt_key_parse(value, &k)) {
            log_msg(LOG_WARNING, "ignoring saved key %s/%s (damaged, or readable by others)",
                    keys->save_dir, d->d_name);
        } else if (remember(keys, d->d_name, &k) == 0) {
            log_msg(LOG_INFO, "library %s unlocked with its saved key", d->d_name);
        }
        explicit_bzero(value, sizeof(value));
        seaf_crypt_key_wipe(&k);
    }
    closedir(dir);
}

struct library_keys *library_keys_new(const char *save_dir)
{
    struct library_keys *keys = calloc(1, sizeof(*keys));
    if (!keys)
        return NULL;
    pthread_mutex_init(&keys->lock, NULL);
    if (save_dir) {
        keys->save_dir = strdup(save_dir);
        if (!keys->save_dir) {
            library_keys_free(keys);
            return NULL;
        }
        load_saved(keys);
    }
    return keys;
}

void library_keys_free(struct library_keys *keys)
{
    if (!keys)
        return;
    while (keys->head) {
        struct key_entry *next = keys->head->next;
        entry_free(keys->head);
        keys->head = next;
    }
    pthread_mutex_destroy(&keys->lock);
    free(keys->save_dir);
    free(keys);
}

int library_keys_put(struct library_keys *keys, const char *repo_id,
                     const struct seaf_crypt_key *key)
{
    int rc = remember(keys, repo_id, key);
    if (rc || !keys->save_dir)
        return rc;
    char value[SEAF_CRYPT_KEY_TEXT];
    seaf_crypt_key_format(key, value);
    seaf_err err = token_store_save_value(keys->save_dir, repo_id, value);
    explicit_bzero(value, sizeof(value));
    if (err != SEAF_OK) {
        log_msg(LOG_WARNING, "cannot save the key of library %s in %s: %s", repo_id, keys->save_dir,
                seaf_strerror(err));
        return -EIO;
    }
    return 0;
}

bool library_keys_forget(struct library_keys *keys, const char *repo_id)
{
    pthread_mutex_lock(&keys->lock);
    struct key_entry **slot = find(keys, repo_id);
    struct key_entry *e = *slot;
    if (e)
        *slot = e->next;
    pthread_mutex_unlock(&keys->lock);
    if (e)
        entry_free(e);
    if (keys->save_dir)
        token_store_remove(keys->save_dir, repo_id);
    return e != NULL;
}

bool library_keys_get(struct library_keys *keys, const char *repo_id, struct seaf_crypt_key *out)
{
    pthread_mutex_lock(&keys->lock);
    struct key_entry *e = *find(keys, repo_id);
    if (e)
        *out = e->key;
    pthread_mutex_unlock(&keys->lock);
    return e != NULL;
}
