/* dirty_int: the inside of a staged file, shared by dirty.c (reads, writes, persistence) and
 * fold.c (turning the content into blocks). Not for use elsewhere. */
#ifndef SEAFS_FS_DIRTY_INT_H
#define SEAFS_FS_DIRTY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "dirty.h"
#include "file.h"
#include "staging_crypt.h"

/* Sorted, disjoint, non-adjacent byte ranges [start, end). */
struct extents {
    uint64_t *v; /* 2 * n offsets */
    size_t n, cap;
};

struct dirty_file {
    uint64_t id;
    char repo[SEAF_REPO_ID_LEN + 1];
    bool encrypted;         /* staging data in encrypted sectors (staging_crypt.h) */
    struct staging_key key; /* when encrypted */
    /* Lock order: data_lock, then meta_lock; the set's lock, then meta_lock. */
    pthread_rwlock_t data_lock; /* shared by reads and writes, exclusive for truncate and fold */
    pthread_mutex_t meta_lock;
    /* Protected by meta_lock: */
    char base[SEAF_ID_LEN + 1]; /* file object the content is layered on */
    uint64_t base_size;
    uint64_t base_limit; /* bytes of base still in the content */
    char prev[SEAF_ID_LEN + 1];
    uint64_t size;
    int64_t mtime;
    struct extents ext;
    uint64_t ext_bytes;            /* sum of the extents' lengths (staging area use) */
    int fd;                        /* staging file; -1 before the first write */
    bool damaged;                  /* the staging file is missing: its extents read as EIO */
    bool changed;                  /* not persisted since the last change */
    uint64_t change_marks;         /* counts settings of `changed` (dirty_mark_changed_locked) */
    uint64_t version;              /* counts changes */
    int64_t changed_since;         /* monotonic ms of the first change not folded; 0 = none */
    struct open_file *base_reader; /* opened on the first read of base bytes */
    /* Protected by the set's lock: */
    unsigned refs;
    int writers;
    bool discarded; /* delete everything when the last reference goes */
    bool settled;   /* discarded because an upload put its content on the server */
    struct dirty_file *next;
};

/* Notes that d differs from what the journal holds (meta_lock held): dirty_persist clears
 * `changed` only when no such mark came after its copy of d. */
static inline void dirty_mark_changed_locked(struct dirty_file *d)
{
    d->changed = true;
    d->change_marks++;
}

/* dirty_read with data_lock already held (shared or exclusive) by the caller; readahead: whether
 * reads of the base may queue read-ahead (see file_read_exact). */
ssize_t dirty_read_locked(struct dirty_set *set, struct dirty_file *d, char *buf, size_t size,
                          uint64_t off, bool readahead);
/* Reads [off, off + len) of the base into buf (the caller holds data_lock). */
int dirty_read_base(struct dirty_set *set, struct dirty_file *d, char *buf, size_t len,
                    uint64_t off, bool readahead);

#endif
