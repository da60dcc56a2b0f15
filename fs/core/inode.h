/* inode: the table of inodes the kernel knows, keyed by (parent inode, name) -- never by Seafile
 * object ids, which are shared by identical content and change on every edit. Each inode keeps
 * the kernel's lookup count (one per fuse_reply_entry / readdirplus entry) and is freed when
 * forget brings it to zero. It also caches what the name resolved to (object id, mode, size,
 * mtime) together with the library generation it was resolved at, so a change of the library's
 * head makes the next access resolve it again. A directory's inode also keeps the names the
 * kernel was told are absent from it (see "absent names" below). Thread-safe (one mutex). */
#ifndef SEAFS_FS_INODE_H
#define SEAFS_FS_INODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_ids.h"

#define INODE_ROOT 1 /* FUSE_ROOT_ID */

enum inode_kind {
    INODE_ROOT_DIR, /* the mount point */
    INODE_CATEGORY, /* a SeaDrive-layout folder grouping libraries */
    INODE_LIBRARY,  /* a library's top folder */
    INODE_DIR,      /* a folder inside a library */
    INODE_FILE,     /* a file inside a library */
};

/* What an inode stands for, as copied in and out of the table. */
struct inode_info {
    enum inode_kind kind;
    char repo_id[SEAF_REPO_ID_LEN + 1]; /* library, dir, file; "" otherwise */
    char obj_id[SEAF_ID_LEN + 1];       /* file object id (SEAF_EMPTY_ID when empty); dirs: the
                                           directory object listed (local changes on top) */
    uint32_t mode;                      /* Seafile dirent mode (files: exec bit) */
    int64_t size;                       /* file bytes */
    int64_t mtime;                      /* Unix seconds */
    uint64_t generation;                /* library generation obj_id was resolved at */
    uint64_t node;   /* LIBRARY / DIR: the local changes' node (overlay.h), 0 when none */
    uint64_t staged; /* FILE: staged content being changed locally (dirty.h), 0 when none */
};

struct inode_table;

/* A new table holding only the root (lookup count 1, never freed). NULL on ENOMEM. */
struct inode_table *inode_table_new(const struct inode_info *root);
void inode_table_free(struct inode_table *table);

/* The table's clock: it advances with every change of an inode's info. A caller that reads
 * what a name stands for notes the clock first, so that the table can tell whether an inode
 * changed after that read began (then the inode's info is the newer one). */
uint64_t inode_table_clock(struct inode_table *table);
/* Finds or creates the inode of name in parent, stores *info in it and adds one lookup. Returns
 * its number, or 0 on ENOMEM. When the name's inode stands for other content (a file with
 * another object id, or another kind), that inode is detached -- still known by number until
 * forgotten, so open files keep their version -- and a new inode is made for the name. since:
 * the clock before *info was read; an inode changed after that keeps its info, which is copied
 * to *info (a lookup racing with a write or an upload never undoes it). */
uint64_t inode_table_ref(struct inode_table *table, uint64_t parent, const char *name,
                         struct inode_info *info, uint64_t since);
/* The number of name in parent, or 0 when the kernel does not know it. */
uint64_t inode_table_find(struct inode_table *table, uint64_t parent, const char *name);
/* Drops n lookups; the inode is freed at zero (the root never is). Unknown numbers are ignored. */
void inode_table_forget(struct inode_table *table, uint64_t ino, uint64_t n);
/* Copies the info of ino (and, when not NULL, its parent and a malloc'd copy of its name).
 * false if unknown (or ENOMEM for the name). */
bool inode_table_get(struct inode_table *table, uint64_t ino, struct inode_info *info,
                     uint64_t *parent, char **name);
/* Moves ino to name in new_parent (a rename): an inode that had that name is detached first
 * (reachable by number only). false if ino is unknown or ENOMEM. */
bool inode_table_move(struct inode_table *table, uint64_t ino, uint64_t new_parent,
                      const char *new_name);
/* Detaches the inode of name in parent (an unlink): it stays reachable by number for open files,
 * and lookups of the name make a new one. Nothing happens when the kernel does not know it. */
void inode_table_detach(struct inode_table *table, uint64_t parent, const char *name);
/* Replaces the info of ino (after resolving it again). false if unknown. A staged file that
 * inode_table_unstage took away is never put back by a copy read before. */
bool inode_table_update(struct inode_table *table, uint64_t ino, const struct inode_info *info);
/* The same for info read after the clock showed since: when the inode changed after that, it
 * keeps its info, which is copied to *info. */
bool inode_table_update_since(struct inode_table *table, uint64_t ino, struct inode_info *info,
                              uint64_t since);
/* Every file inode whose content was staged file `staged` now holds object obj_id instead (its
 * changes reached the server): the same version, so it keeps its number and page cache. */
void inode_table_unstage(struct inode_table *table, uint64_t staged, const char *obj_id);
/* Lookup count of ino (0 if unknown). For tests and statistics. */
uint64_t inode_table_lookups(struct inode_table *table, uint64_t ino);
/* Number of inodes in the table, root included; *absent (when not NULL): the number of absent
 * names remembered (see below). */
size_t inode_table_count(struct inode_table *table, size_t *absent);

/* One inode to invalidate in the kernel: the inode itself and its entry (parent, name); ino 0
 * for a negative entry. */
struct inode_ref {
    uint64_t ino;
    uint64_t parent;
    char *name; /* malloc'd */
};
/* Collects every inode of library repo_id (repo_id NULL: every inode below the root, i.e.
 * all of them except the root) into a malloc'd array; free with inode_refs_free. */
size_t inode_table_collect(struct inode_table *table, const char *repo_id, struct inode_ref **out);
void inode_refs_free(struct inode_ref *refs, size_t n);

/* ---- absent names ----
 * A lookup of a name missing from a directory is answered with a negative entry the kernel
 * caches (fuse_ops.c), so that file managers probing .hidden, .directory, autorun.inf, ... in
 * every folder cost one request per name. The table remembers each such name under its
 * directory's inode, so that a change that may bring names in takes them back from the kernel
 * (inode_table_collect_absent, poll.c). They go with the directory's inode when the kernel
 * forgets it (its negative entries went first), and a name that gets an inode
 * (inode_table_ref, inode_table_move) is absent no more. */
#define INODE_ABSENT_PER_DIR 256   /* names remembered per directory, */
#define INODE_ABSENT_MAX     65536 /* and in all; beyond, absences are answered uncached */

/* The absent-names epoch, read by a lookup before it reads anything. */
uint64_t inode_table_absent_epoch(struct inode_table *table);
/* Remembers that a lookup that began at epoch found name absent from directory parent. true
 * when the kernel may cache that: no inode_table_advance_absent or _collect_absent ran since
 * epoch (what the lookup read may predate a change), parent is known and the limits leave
 * room. */
bool inode_table_note_absent(struct inode_table *table, uint64_t parent, const char *name,
                             uint64_t epoch);
/* Advances the epoch (a change that the kernel's caches need not hear of: lookups racing with
 * it answer uncached). */
void inode_table_advance_absent(struct inode_table *table);
/* Advances the epoch and takes out the absent names of the directories of library repo_id (""
 * for the mount point and category folders, NULL for all) as refs of their entries (ino 0),
 * for the kernel's invalidation; free with inode_refs_free. */
size_t inode_table_collect_absent(struct inode_table *table, const char *repo_id,
                                  struct inode_ref **out);

#endif
