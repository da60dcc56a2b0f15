/* inode: inode table with two hash indexes -- by number (what the kernel sends) and by
 * (parent, name) (what lookup and readdirplus resolve) -- chained in fixed bucket arrays that
 * grow by doubling. Numbers come from a counter and are never reused during a mount, so a stale
 * number from the kernel can never reach another file. A directory's absent names (negative
 * entries the kernel caches) hang off its inode in a short list. */
#include "inode.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A name a lookup found missing in a directory (see inode_table_note_absent). */
struct absent_name {
    struct absent_name *next;
    char name[]; /* NUL-terminated */
};

struct inode {
    uint64_t ino;
    uint64_t parent;
    char *name;
    uint64_t lookups;
    struct inode_info info;
    bool detached;              /* replaced by a newer version: reachable by number only */
    uint64_t unstaged;          /* the staged file inode_table_unstage took away last */
    uint64_t changed_at;        /* the table's clock when info last changed */
    struct absent_name *absent; /* names the kernel caches as missing in this directory */
    size_t n_absent;
    struct inode *next_by_ino;  /* bucket chain of the number index */
    struct inode *next_by_name; /* bucket chain of the (parent, name) index */
};

struct inode_table {
    pthread_mutex_t lock;
    uint64_t clock;         /* protected by lock; see inode_table_clock */
    struct inode **by_ino;  /* protected by lock */
    struct inode **by_name; /* protected by lock */
    size_t n_buckets;       /* protected by lock; a power of two */
    size_t count;           /* protected by lock */
    uint64_t next_ino;      /* protected by lock */
    uint64_t absent_epoch;  /* protected by lock; see inode_table_absent_epoch */
    size_t absent_total;    /* protected by lock; absent names of all inodes */
};

static uint64_t hash_ino(uint64_t ino)
{
    ino ^= ino >> 33;
    ino *= 0xff51afd7ed558ccdULL;
    ino ^= ino >> 33;
    return ino;
}

static uint64_t hash_name(uint64_t parent, const char *name)
{
    uint64_t h = 1469598103934665603ULL ^ hash_ino(parent);
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return h;
}

static struct inode *find_ino(struct inode_table *t, uint64_t ino)
{
    struct inode *node = t->by_ino[hash_ino(ino) & (t->n_buckets - 1)];
    while (node && node->ino != ino)
        node = node->next_by_ino;
    return node;
}

static struct inode *find_name(struct inode_table *t, uint64_t parent, const char *name)
{
    struct inode *node = t->by_name[hash_name(parent, name) & (t->n_buckets - 1)];
    while (node && (node->parent != parent || strcmp(node->name, name) != 0))
        node = node->next_by_name;
    return node;
}

static void link_node(struct inode_table *t, struct inode *node)
{
    size_t i = hash_ino(node->ino) & (t->n_buckets - 1);
    node->next_by_ino = t->by_ino[i];
    t->by_ino[i] = node;
    if (node->detached)
        return;
    size_t j = hash_name(node->parent, node->name) & (t->n_buckets - 1);
    node->next_by_name = t->by_name[j];
    t->by_name[j] = node;
}

static void unlink_name(struct inode_table *t, struct inode *node)
{
    struct inode **p = &t->by_name[hash_name(node->parent, node->name) & (t->n_buckets - 1)];
    while (*p != node)
        p = &(*p)->next_by_name;
    *p = node->next_by_name;
}

static void unlink_node(struct inode_table *t, struct inode *node)
{
    struct inode **p = &t->by_ino[hash_ino(node->ino) & (t->n_buckets - 1)];
    while (*p != node)
        p = &(*p)->next_by_ino;
    *p = node->next_by_ino;
    if (!node->detached)
        unlink_name(t, node);
}

/* Frees node's absent names (lock held). */
static void absent_free_locked(struct inode_table *t, struct inode *node)
{
    while (node->absent) {
        struct absent_name *next = node->absent->next;
        free(node->absent);
        node->absent = next;
    }
    t->absent_total -= node->n_absent;
    node->n_absent = 0;
}

/* name is no longer absent from directory parent: it has an inode now (lock held). */
static void absent_drop_locked(struct inode_table *t, uint64_t parent, const char *name)
{
    struct inode *dir = find_ino(t, parent);
    if (!dir)
        return;
    for (struct absent_name **p = &dir->absent; *p; p = &(*p)->next)
        if (strcmp((*p)->name, name) == 0) {
            struct absent_name *gone = *p;
            *p = gone->next;
            free(gone);
            dir->n_absent--;
            t->absent_total--;
            return;
        }
}

/* Doubles the bucket arrays when the table is fuller than one node per bucket. */
static void maybe_grow(struct inode_table *t)
{
    if (t->count < t->n_buckets)
        return;
    size_t old_n = t->n_buckets;
    struct inode **old = t->by_ino;
    struct inode **by_ino = calloc(old_n * 2, sizeof(*by_ino));
    struct inode **by_name = calloc(old_n * 2, sizeof(*by_name));
    if (!by_ino || !by_name) {
        free(by_ino);
        free(by_name);
        return; /* still correct, only slower */
    }
    free(t->by_name);
    t->by_ino = by_ino;
    t->by_name = by_name;
    t->n_buckets = old_n * 2;
    for (size_t i = 0; i < old_n; i++) {
        struct inode *node = old[i];
        while (node) {
            struct inode *next = node->next_by_ino;
            link_node(t, node);
            node = next;
        }
    }
    free(old);
}

struct inode_table *inode_table_new(const struct inode_info *root)
{
    struct inode_table *t = calloc(1, sizeof(*t));
    struct inode *node = calloc(1, sizeof(*node));
    if (!t || !node)
        goto fail;
    t->n_buckets = 1024;
    t->by_ino = calloc(t->n_buckets, sizeof(*t->by_ino));
    t->by_name = calloc(t->n_buckets, sizeof(*t->by_name));
    node->name = strdup("");
    if (!t->by_ino || !t->by_name || !node->name)
        goto fail;
    pthread_mutex_init(&t->lock, NULL);
    node->ino = INODE_ROOT;
    node->parent = 0;
    node->lookups = 1;
    node->info = *root;
    link_node(t, node);
    t->count = 1;
    t->next_ino = INODE_ROOT + 1;
    return t;
fail:
    if (node)
        free(node->name);
    free(node);
    if (t) {
        free(t->by_ino);
        free(t->by_name);
    }
    free(t);
    return NULL;
}

void inode_table_free(struct inode_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_buckets; i++) {
        struct inode *node = t->by_ino[i];
        while (node) {
            struct inode *next = node->next_by_ino;
            absent_free_locked(t, node);
            free(node->name);
            free(node);
            node = next;
        }
    }
    free(t->by_ino);
    free(t->by_name);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Takes node's name out of the name index; it stays reachable by number. Lock held. */
static void detach_locked(struct inode_table *t, struct inode *node)
{
    if (node->detached)
        return;
    unlink_name(t, node);
    node->detached = true;
}

/* Whether info describes other file content than old (a new version or another kind). */
/* Sets node's info (lock held), advancing the clock. */
static void set_info_locked(struct inode_table *t, struct inode *node,
                            const struct inode_info *info)
{
    node->info = *info;
    node->changed_at = ++t->clock;
}

uint64_t inode_table_clock(struct inode_table *t)
{
    pthread_mutex_lock(&t->lock);
    uint64_t clock = t->clock;
    pthread_mutex_unlock(&t->lock);
    return clock;
}

/* info read before an upload settled the staged file of node (a lookup or resolve running
 * meanwhile) is made what node holds now: the settled staged file never comes back. */
static void not_back_to_staged(const struct inode *node, struct inode_info *info)
{
    if (info->kind == INODE_FILE && info->staged && info->staged == node->unstaged &&
        !node->info.staged) {
        info->staged = 0;
        memcpy(info->obj_id, node->info.obj_id, sizeof(info->obj_id));
    }
}

static bool is_other_version(const struct inode_info *old, const struct inode_info *info)
{
    if (old->kind != info->kind)
        return true;
    if (info->kind != INODE_FILE)
        return false;
    if (old->staged || info->staged) /* a file being changed locally is one version */
        return old->staged != info->staged;
    return strcmp(old->obj_id, info->obj_id) != 0;
}

uint64_t inode_table_ref(struct inode_table *t, uint64_t parent, const char *name,
                         struct inode_info *info, uint64_t since)
{
    uint64_t ino = 0;
    pthread_mutex_lock(&t->lock);
    absent_drop_locked(t, parent, name);
    struct inode *node = find_name(t, parent, name);
    if (node && node->changed_at > since) { /* changed after info was read: it knows better */
        *info = node->info;
        node->lookups++;
        ino = node->ino;
        goto out;
    }
    struct inode_info fresh = *info;
    if (node)
        not_back_to_staged(node, &fresh);
    if (node && is_other_version(&node->info, &fresh)) {
        /* The name now holds other content: the kernel gets a new inode for it (and so a
         * fresh page cache) while open files of the old one keep their inode and bytes. */
        detach_locked(t, node);
        node = NULL;
    }
    if (!node) {
        node = calloc(1, sizeof(*node));
        if (!node || !(node->name = strdup(name))) {
            free(node);
            goto out;
        }
        node->ino = t->next_ino++;
        node->parent = parent;
        link_node(t, node);
        t->count++;
        maybe_grow(t);
    }
    if (memcmp(&node->info, &fresh, sizeof(fresh)) != 0)
        set_info_locked(t, node, &fresh);
    *info = fresh;
    node->lookups++;
    ino = node->ino;
out:
    pthread_mutex_unlock(&t->lock);
    return ino;
}

uint64_t inode_table_find(struct inode_table *t, uint64_t parent, const char *name)
{
    pthread_mutex_lock(&t->lock);
    struct inode *node = find_name(t, parent, name);
    uint64_t ino = node ? node->ino : 0;
    pthread_mutex_unlock(&t->lock);
    return ino;
}

void inode_table_forget(struct inode_table *t, uint64_t ino, uint64_t n)
{
    pthread_mutex_lock(&t->lock);
    struct inode *node = find_ino(t, ino);
    if (node && ino != INODE_ROOT) {
        node->lookups = n >= node->lookups ? 0 : node->lookups - n;
        if (node->lookups == 0) { /* the kernel's entries below it, negative ones too, are gone */
            unlink_node(t, node);
            absent_free_locked(t, node);
            t->count--;
            free(node->name);
            free(node);
        }
    }
    pthread_mutex_unlock(&t->lock);
}

bool inode_table_get(struct inode_table *t, uint64_t ino, struct inode_info *info, uint64_t *parent,
                     char **name)
{
    bool found = false;
    pthread_mutex_lock(&t->lock);
    struct inode *node = find_ino(t, ino);
    if (node) {
        found = true;
        if (info)
            *info = node->info;
        if (parent)
            *parent = node->parent;
        if (name && !(*name = strdup(node->name)))
            found = false;
    }
    pthread_mutex_unlock(&t->lock);
    return found;
}

bool inode_table_move(struct inode_table *t, uint64_t ino, uint64_t new_parent,
                      const char *new_name)
{
    char *name = strdup(new_name);
    if (!name)
        return false;
    pthread_mutex_lock(&t->lock);
    struct inode *node = find_ino(t, ino);
    struct inode *there = find_name(t, new_parent, new_name);
    if (node)
        absent_drop_locked(t, new_parent, new_name);
    if (node && there != node) {
        if (there)
            detach_locked(t, there);
        detach_locked(t, node);
        free(node->name);
        node->name = name;
        name = NULL;
        node->parent = new_parent;
        node->detached = false;
        size_t j = hash_name(node->parent, node->name) & (t->n_buckets - 1);
        node->next_by_name = t->by_name[j];
        t->by_name[j] = node;
    }
    pthread_mutex_unlock(&t->lock);
    free(name);
    return node != NULL;
}

void inode_table_detach(struct inode_table *t, uint64_t parent, const char *name)
{
    pthread_mutex_lock(&t->lock);
    struct inode *node = find_name(t, parent, name);
    if (node)
        detach_locked(t, node);
    pthread_mutex_unlock(&t->lock);
}

bool inode_table_update(struct inode_table *t, uint64_t ino, const struct inode_info *info)
{
    pthread_mutex_lock(&t->lock);
    struct inode *node = find_ino(t, ino);
    if (node) {
        struct inode_info next = *info;
        not_back_to_staged(node, &next);
        set_info_locked(t, node, &next);
    }
    pthread_mutex_unlock(&t->lock);
    return node != NULL;
}

bool inode_table_update_since(struct inode_table *t, uint64_t ino, struct inode_info *info,
                              uint64_t since)
{
    pthread_mutex_lock(&t->lock);
    struct inode *node = find_ino(t, ino);
    if (node && node->changed_at > since) {
        *info = node->info;
    } else if (node) {
        not_back_to_staged(node, info);
        if (memcmp(&node->info, info, sizeof(*info)) != 0)
            set_info_locked(t, node, info);
    }
    pthread_mutex_unlock(&t->lock);
    return node != NULL;
}

void inode_table_unstage(struct inode_table *t, uint64_t staged, const char *obj_id)
{
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n_buckets; i++)
        for (struct inode *node = t->by_ino[i]; node; node = node->next_by_ino)
            if (node->info.kind == INODE_FILE && node->info.staged == staged) {
                node->unstaged = staged;
                node->info.staged = 0;
                snprintf(node->info.obj_id, sizeof(node->info.obj_id), "%s", obj_id);
                node->changed_at = ++t->clock;
            }
    pthread_mutex_unlock(&t->lock);
}

uint64_t inode_table_lookups(struct inode_table *t, uint64_t ino)
{
    pthread_mutex_lock(&t->lock);
    struct inode *node = find_ino(t, ino);
    uint64_t n = node ? node->lookups : 0;
    pthread_mutex_unlock(&t->lock);
    return n;
}

size_t inode_table_count(struct inode_table *t, size_t *absent)
{
    pthread_mutex_lock(&t->lock);
    size_t n = t->count;
    if (absent)
        *absent = t->absent_total;
    pthread_mutex_unlock(&t->lock);
    return n;
}

size_t inode_table_collect(struct inode_table *t, const char *repo_id, struct inode_ref **out)
{
    *out = NULL;
    pthread_mutex_lock(&t->lock);
    struct inode_ref *refs = calloc(t->count, sizeof(*refs));
    size_t n = 0;
    for (size_t i = 0; refs && i < t->n_buckets; i++) {
        for (struct inode *node = t->by_ino[i]; node; node = node->next_by_ino) {
            if (node->ino == INODE_ROOT)
                continue;
            if (repo_id && strcmp(node->info.repo_id, repo_id) != 0)
                continue;
            refs[n].name = strdup(node->name);
            if (!refs[n].name)
                continue;
            refs[n].ino = node->ino;
            refs[n].parent = node->parent;
            n++;
        }
    }
    pthread_mutex_unlock(&t->lock);
    *out = refs;
    return n;
}

void inode_refs_free(struct inode_ref *refs, size_t n)
{
    for (size_t i = 0; refs && i < n; i++)
        free(refs[i].name);
    free(refs);
}

uint64_t inode_table_absent_epoch(struct inode_table *t)
{
    pthread_mutex_lock(&t->lock);
    uint64_t epoch = t->absent_epoch;
    pthread_mutex_unlock(&t->lock);
    return epoch;
}

bool inode_table_note_absent(struct inode_table *t, uint64_t parent, const char *name,
                             uint64_t epoch)
{
    bool cached = false;
    size_t len = strlen(name);
    pthread_mutex_lock(&t->lock);
    struct inode *dir = find_ino(t, parent);
    if (epoch != t->absent_epoch || !dir)
        goto out;
    for (struct absent_name *a = dir->absent; a; a = a->next)
        if (strcmp(a->name, name) == 0) {
            cached = true;
            goto out;
        }
    if (dir->n_absent >= INODE_ABSENT_PER_DIR || t->absent_total >= INODE_ABSENT_MAX)
        goto out;
    struct absent_name *a = malloc(sizeof(*a) + len + 1);
    if (!a)
        goto out;
    memcpy(a->name, name, len + 1);
    a->next = dir->absent;
    dir->absent = a;
    dir->n_absent++;
    t->absent_total++;
    cached = true;
out:
    pthread_mutex_unlock(&t->lock);
    return cached;
}

void inode_table_advance_absent(struct inode_table *t)
{
    pthread_mutex_lock(&t->lock);
    t->absent_epoch++;
    pthread_mutex_unlock(&t->lock);
}

size_t inode_table_collect_absent(struct inode_table *t, const char *repo_id,
                                  struct inode_ref **out)
{
    pthread_mutex_lock(&t->lock);
    t->absent_epoch++;
    struct inode_ref *refs = calloc(t->absent_total ? t->absent_total : 1, sizeof(*refs));
    size_t n = 0;
    for (size_t i = 0; refs && i < t->n_buckets; i++) {
        for (struct inode *node = t->by_ino[i]; node; node = node->next_by_ino) {
            if (repo_id && strcmp(node->info.repo_id, repo_id) != 0)
                continue;
            struct absent_name **p = &node->absent;
            while (*p) { /* one kept when its copy cannot be made (ENOMEM): taken next time */
                struct absent_name *a = *p;
                if (!(refs[n].name = strdup(a->name))) {
                    p = &a->next;
                    continue;
                }
                refs[n++].parent = node->ino;
                *p = a->next;
                free(a);
                node->n_absent--;
                t->absent_total--;
            }
        }
    }
    pthread_mutex_unlock(&t->lock);
    *out = refs;
    return n;
}
