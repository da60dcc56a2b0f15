/* overlay: the local changes of every library, laid over the server's trees -- what the mount
 * shows is the newest server head with these on top, until they are uploaded.
 *
 * The changes are rows of the journal (cache/journal.h), kept per directory:
 *  - a directory with local changes has a node; the library's top folder has a root node;
 *  - an entry (node, name) says what the name holds locally: deleted, a file (content object id,
 *    or a staged file whose data is being changed), or a directory (its node when it has one).
 *  - a directory entry's listing source: `follow` -- the server's directory at that place in
 *    the newest head (so remote changes show through; `obj`, the directory as it was when first
 *    changed, stands in when the server has none) -- or a fixed directory object (`obj`) for a
 *    directory made or moved here locally. The source of a child that follows is looked up in its
 *    parent's source, so moving a directory fixes its own source and nothing below it.
 * A directory's listing is its source's entries with the node's entries applied. Entries remember
 * what the name held when first changed (`base`), for telling a conflict at upload time.
 *
 * Thread-safety: one mutex (overlay_lock) serialises every use of the journal; the functions here
 * take it themselves unless they say "lock held". Lock order: the overlay lock before the inode
 * table's; never held across network I/O. Functions return 0 or -errno. */
#ifndef SEAFS_FS_OVERLAY_H
#define SEAFS_FS_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "inode.h"
#include "journal.h"
#include "tree.h"

struct overlay;

/* Opens the journal at path. -EIO (with a log message) when it cannot be opened or is damaged:
 * the caller must not go on (unsent changes may be in it). */
int overlay_open(const char *path, struct overlay **out);
void overlay_close(struct overlay *ov);

void overlay_lock(struct overlay *ov);
void overlay_unlock(struct overlay *ov);
/* The journal; only while the lock is held. */
struct journal *overlay_journal(struct overlay *ov);

/* The root node of library repo (0 when it has no local changes). */
uint64_t overlay_library_node(struct overlay *ov, const char *repo);

/* Size and mtime the journal's entry naming staged file id holds (saved there by dirty_persist);
 * false when no entry names it (deleted). For a staged file not in memory (dirty_attr_of). */
bool overlay_staged_attr(struct overlay *ov, uint64_t id, uint64_t *size, int64_t *mtime);

/* The inode_info of the server's directory entry d in library repo at generation. */
void overlay_dirent_info(const struct seaf_dirent *d, const char *repo, uint64_t generation,
                         struct inode_info *info);
/* What entry e (a row of a directory whose listing source is parent_source) stands for, as an
 * inode_info of library repo at generation. The source of a following directory is looked up in
 * parent_source (tree, may block on the network); pass NULL to skip that (then obj is used). */
void overlay_entry_info(struct tree *tree, const char *repo, uint64_t generation,
                        const char *parent_source, const struct journal_entry *e,
                        struct inode_info *out);

/* Resolves name in directory dir (a LIBRARY or DIR inode_info: repo, listing source obj_id,
 * node): the local entry when there is one, else the server's. -ENOENT only when dir holds no
 * such name (a listing source that cannot be had is -EIO, never an absence); ov may be NULL
 * when dir has no node. May block on the network (the listing source). */
int overlay_lookup(struct overlay *ov, struct tree *tree, const struct inode_info *dir,
                   const char *name, struct inode_info *out);

/* A directory listing as the mount shows it. */
struct overlay_listing {
    size_t n;
    char **names;             /* malloc'd */
    struct inode_info *infos; /* n entries */
};
/* Lists dir (see overlay_lookup) into *out (overlay_listing_release it). */
int overlay_list(struct overlay *ov, struct tree *tree, const struct inode_info *dir,
                 struct overlay_listing *out);
void overlay_listing_release(struct overlay_listing *l);

/* What library repo has locally that the server does not have yet (for seafs status). */
struct overlay_pending {
    uint64_t changes; /* entries that change something: files created, written, renamed or
                         with new attributes, deletions, directories made, moved or touched;
                         not the directories that only lead to changes below them, nor a file
                         whose staged content is exactly what the server has (uploaded while
                         still open for writing) */
    uint64_t bytes;   /* content bytes of the changed files with staged content */
};
/* Counts the journal's rows of repo (a walk of its nodes, the lock taken per node). 0, -EIO. */
int overlay_pending(struct overlay *ov, const char *repo, struct overlay_pending *out);
/* Whether entry e is such a change (lock held); *bytes gets its staged content's size. */
bool overlay_entry_pending(struct overlay *ov, const struct journal_entry *e, uint64_t *bytes);

#endif
