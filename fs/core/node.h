/* node: the metadata side of the filesystem core -- what an inode or a name stands for now
 * (resolving again after the library's head moved), its attributes, and directory listings of
 * the mount point, SeaDrive category folders, libraries and folders. Knows nothing of FUSE
 * replies. Functions return 0 or -errno and may block on the network (uncached metadata). */
#ifndef SEAFS_FS_NODE_H
#define SEAFS_FS_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "seafs.h"

/* Resolves name in directory parent, adds a lookup to its inode and gives its number and
 * attributes. -ENOENT, -ENOTDIR, ...; *absent (when not NULL) tells whether -ENOENT means that
 * the directory's entries were read and the name is not among them (the kernel may cache
 * that), rather than that parent itself is gone. */
int node_lookup(struct seafs *fs, uint64_t parent, const char *name, uint64_t *ino, struct stat *st,
                bool *absent);
/* What ino stands for now (resolved again if its library changed). -ENOENT if it vanished. */
int node_resolve(struct seafs *fs, uint64_t ino, struct inode_info *info);
/* The attributes of ino. */
int node_getattr(struct seafs *fs, uint64_t ino, struct stat *st);
/* Attributes for info (ino used as st_ino). Cannot fail. */
void node_stat(struct seafs *fs, uint64_t ino, const struct inode_info *info, struct stat *st);
/* Whether library repo_id is encrypted (client-side). */
bool node_library_encrypted(struct seafs *fs, const char *repo_id);
/* Whether library repo_id takes changes: not mounted ro, not a read-only share, and, when
 * encrypted, unlocked. */
bool node_library_writable(struct seafs *fs, const char *repo_id);
/* The errno a write-class operation on ino gets: 0 when it may be changed, EACCES inside a
 * read-only or locked library, EROFS for a read-only mount and the top levels (the mount point,
 * category folders). */
int node_write_errno(struct seafs *fs, uint64_t ino);

/* A snapshot of one directory's entries (what an open directory handle reads from). */
struct node_listing;
int node_list(struct seafs *fs, uint64_t ino, struct node_listing **out);
size_t node_listing_count(const struct node_listing *listing);
/* The inode table's clock when the listing was read (see inode_table_ref). */
uint64_t node_listing_clock(const struct node_listing *listing);
/* Whether nothing changed the listed names since the listing was read: no local change, no
 * upload settling rows, no new head of its library. A listing that is not current may name
 * what is gone, or stand for older content, so its entries are not given as looked up. */
bool node_listing_current(struct seafs *fs, const struct node_listing *listing);
/* Reads the listing of directory ino again into listing (which stays valid on error). */
int node_listing_refresh(struct seafs *fs, uint64_t ino, struct node_listing *listing);
/* Entry i (< count): its name (valid as long as the listing) and what it stands for. */
void node_listing_entry(const struct node_listing *listing, size_t i, const char **name,
                        struct inode_info *info);
void node_listing_free(struct seafs *fs, struct node_listing *listing);

/* The path of ino below the mount point ("Library/dir/file") into out; "?" parts for inodes
 * the kernel already forgot. For log messages. Cannot fail. */
void node_path(struct seafs *fs, uint64_t ino, char *out, size_t size);

/* The directory object a LIBRARY or DIR inode stands for now (tree_obj_unref it), with the
 * repo id and generation in *info. */
int node_dir_object(struct seafs *fs, uint64_t ino, struct inode_info *info, struct tree_obj **out);

/* The current root directory id and generation of library repo_id. */
int node_library_root(struct seafs *fs, const char *repo_id, char root[SEAF_ID_LEN + 1],
                      uint64_t *generation);

#endif
