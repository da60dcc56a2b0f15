/* range_links: a small fixed table searched linearly (a handful of files are read by ranges at
 * a time), each slot a version with its link or its refusal and an expiry. */
#include "range_links.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "seaf_ids.h"

struct link_slot {
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char file_id[SEAF_ID_LEN + 1];
    char *url;         /* NULL: refused (or an empty slot when file_id is "") */
    int64_t expires_s; /* the slot is worthless from then on */
    uint64_t used;     /* for least-recently-used replacement */
};

struct range_links {
    pthread_mutex_t lock;
    struct link_slot slots[RANGE_LINKS_MAX];
    uint64_t clock;
    unsigned transport_failures; /* in a row */
    int64_t paused_until_s;
};

struct range_links *range_links_new(void)
{
    struct range_links *links = calloc(1, sizeof(*links));
    if (links)
        pthread_mutex_init(&links->lock, NULL);
    return links;
}

/* Empties a slot; a link is a credential, so its bytes are wiped. */
static void slot_clear(struct link_slot *slot)
{
    if (slot->url) {
        OPENSSL_cleanse(slot->url, strlen(slot->url));
        free(slot->url);
    }
    memset(slot, 0, sizeof(*slot));
}

void range_links_free(struct range_links *links)
{
    if (!links)
        return;
    for (size_t i = 0; i < RANGE_LINKS_MAX; i++)
        slot_clear(&links->slots[i]);
    pthread_mutex_destroy(&links->lock);
    free(links);
}

/* The slot of the version, or NULL; the lock is held. */
static struct link_slot *find_locked(struct range_links *links, const char *repo_id,
                                     const char *file_id)
{
    for (size_t i = 0; i < RANGE_LINKS_MAX; i++) {
        struct link_slot *slot = &links->slots[i];
        if (strcmp(slot->file_id, file_id) == 0 && strcmp(slot->repo_id, repo_id) == 0)
            return slot;
    }
    return NULL;
}

/* The version's slot, else an empty or the least recently used one, cleared and keyed; the lock
 * is held. */
static struct link_slot *claim_locked(struct range_links *links, const char *repo_id,
                                      const char *file_id)
{
    struct link_slot *slot = find_locked(links, repo_id, file_id);
    if (!slot) {
        slot = &links->slots[0];
        for (size_t i = 1; i < RANGE_LINKS_MAX && slot->file_id[0]; i++)
            if (!links->slots[i].file_id[0] || links->slots[i].used < slot->used)
                slot = &links->slots[i];
    }
    slot_clear(slot);
    memcpy(slot->repo_id, repo_id, sizeof(slot->repo_id) - 1);
    memcpy(slot->file_id, file_id, sizeof(slot->file_id) - 1);
    slot->used = ++links->clock;
    return slot;
}

enum range_link_state range_links_get(struct range_links *links, const char *repo_id,
                                      const char *file_id, int64_t now_s, char **url)
{
    enum range_link_state state = RANGE_LINK_NONE;
    *url = NULL;
    pthread_mutex_lock(&links->lock);
    struct link_slot *slot = find_locked(links, repo_id, file_id);
    if (slot && now_s >= slot->expires_s) {
        slot_clear(slot);
    } else if (slot) {
        slot->used = ++links->clock;
        *url = slot->url ? strdup(slot->url) : NULL;
        state = !slot->url ? RANGE_LINK_REFUSED : *url ? RANGE_LINK_CACHED : RANGE_LINK_NONE;
    }
    pthread_mutex_unlock(&links->lock);
    return state;
}

void range_links_put(struct range_links *links, const char *repo_id, const char *file_id,
                     const char *url, int64_t now_s)
{
    char *copy = strdup(url);
    if (!copy)
        return;
    pthread_mutex_lock(&links->lock);
    struct link_slot *slot = claim_locked(links, repo_id, file_id);
    slot->url = copy;
    slot->expires_s = now_s + RANGE_LINK_TTL_S;
    pthread_mutex_unlock(&links->lock);
}

void range_links_refuse(struct range_links *links, const char *repo_id, const char *file_id,
                        int64_t now_s)
{
    pthread_mutex_lock(&links->lock);
    claim_locked(links, repo_id, file_id)->expires_s = now_s + RANGE_REFUSED_TTL_S;
    pthread_mutex_unlock(&links->lock);
}

void range_links_drop(struct range_links *links, const char *repo_id, const char *file_id)
{
    pthread_mutex_lock(&links->lock);
    struct link_slot *slot = find_locked(links, repo_id, file_id);
    if (slot)
        slot_clear(slot);
    pthread_mutex_unlock(&links->lock);
}

void range_links_note(struct range_links *links, bool answered, int64_t now_s)
{
    pthread_mutex_lock(&links->lock);
    links->transport_failures = answered ? 0 : links->transport_failures + 1;
    bool pause = links->transport_failures >= RANGE_TRANSPORT_FAILURES_MAX;
    if (pause)
        links->transport_failures = 0;
    pthread_mutex_unlock(&links->lock);
    if (pause)
        range_links_pause(links, now_s);
}

void range_links_pause(struct range_links *links, int64_t now_s)
{
    pthread_mutex_lock(&links->lock);
    links->paused_until_s = now_s + RANGE_REFUSED_TTL_S;
    pthread_mutex_unlock(&links->lock);
}

bool range_links_paused(struct range_links *links, int64_t now_s)
{
    pthread_mutex_lock(&links->lock);
    bool paused = now_s < links->paused_until_s;
    pthread_mutex_unlock(&links->lock);
    return paused;
}
