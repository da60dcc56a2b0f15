/* seafs: the state of one mount shared by the fs/ modules (options, server client, cache,
 * libraries, inodes, read-ahead) and the lock rules around it. */
#ifndef SEAFS_FS_SEAFS_H
#define SEAFS_FS_SEAFS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "http_pool.h"
#include "inode.h"
#include "libraries.h"
#include "library_keys.h"
#include "options.h"
#include "readahead.h"
#include "seaf_client.h"
#include "tree.h"

struct fuse_session;
struct dir_prefetch;
struct library_roots;
struct overlay;
struct dirty_set;
struct uploader;
struct range_links;

/* Lock order: libs_lock, then the overlay lock, then the inode table's and the tree's internal
 * locks. No lock is held across network I/O or fuse_reply_*. */
struct seafs {
    const struct seafs_options *opts;
    struct http_pool *pool;
    struct seaf_client *client;
    struct cache *cache;
    struct tree *tree;
    struct dir_prefetch *dir_prefetch; /* the folders of opened libraries, in the background */
    struct library_roots *roots;       /* every library's root folder, found ahead of time */
    struct inode_table *inodes;
    struct prefetch_pool *prefetch;
    struct library_keys *keys;       /* unlocked encrypted libraries */
    struct range_links *range_links; /* download links of byte-range reads (read/range_links.h) */
    struct overlay *overlay;         /* local changes laid over the server's trees (write/) */
    struct dirty_set *dirty;         /* staged files: contents being changed */
    struct uploader *uploader;       /* sends local changes to the server */
    struct fuse_session *session;
    const char *mountpoint;          /* canonical mount point (set before mounting) */
    char device_id[41];              /* this installation's 40-hex device id (commit creator) */
    char device_name[256];           /* host name, recorded in commits */
    char recovery_dir[4096];         /* unsent files of libraries gone from the server */
    atomic_uint_fast64_t head_epoch; /* counts heads adopted after an upload (poll.c) */
    /* Counts local changes and uploads settling them: a listing read before one may name what
     * is gone or stands for other content now (node_listing_current). */
    atomic_uint_fast64_t names_epoch;
    int64_t mounted_at; /* when the mount went live (seconds since the epoch), for status */

    pthread_rwlock_t libs_lock;
    struct library_list libs;        /* protected by libs_lock */
    uint64_t next_generation;        /* protected by libs_lock */
    int64_t quota_total;             /* protected by libs_lock; bytes, <= 0 = unlimited */
    int64_t quota_used;              /* protected by libs_lock */
    int64_t quota_checked_at;        /* protected by libs_lock; monotonic s, 0 = never (quota.c) */
    atomic_bool quota_asking;        /* a statfs is asking Seahub for the quota (quota.c) */
    pthread_mutex_t quota_lock;      /* with quota_answered: waiting for the first answer */
    pthread_cond_t quota_answered;   /* quota_asking went false */
    char libraries_file[4096];       /* where the library list is saved for offline starts */
    atomic_bool online;              /* the last library-list request succeeded */
    atomic_bool no_accessible_repos; /* the file server lacks accessible-repos (poll.c) */
    atomic_bool readahead_widened;   /* kernel_readahead_widen done (first request) */
    pthread_mutex_t scan_lock;
    struct scan_detector scan; /* protected by scan_lock */

    atomic_uint_fast64_t lookups;        /* LOOKUP requests answered, for status */
    atomic_uint_fast64_t lookups_absent; /* of them, answered "no such name" */
};

#endif
