/* tree: a library's directory tree, loaded lazily one directory at a time. Commit and fs
 * objects come from the cache's metadata store when there (so a cached tree costs no request
 * and works offline) and otherwise from the server: a folder alone (the folders of a library
 * are fetched in bulk in the background, dir_prefetch.h), a file together with the missing
 * files of its folder in batched pack-fs requests, so reading a tree costs a few requests per
 * folder rather than one per file. Parsed objects are shared and kept in a bounded in-memory
 * set. Thread-safe. Functions return 0 or -errno. */
#ifndef SEAFS_FS_TREE_H
#define SEAFS_FS_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cache.h"
#include "seaf_client.h"
#include "seaf_commit.h"
#include "seaf_fsobj.h"

struct tree;
struct tree_obj;

/* A tree store over cache and client (both outlive it); keeps up to mem_limit bytes (about) of
 * parsed objects nobody uses, and has up to `parallel` requests in flight when it fetches many
 * objects. NULL on ENOMEM. */
struct tree *tree_new(struct cache *cache, struct seaf_client *client, size_t mem_limit,
                      unsigned parallel);
void tree_free(struct tree *tree);

/* The parsed commit commit_id of repo_id (from the cache, else the server; then cached); free
 * with seaf_commit_free. May block on the network. */
int tree_commit_get(struct tree *tree, const char *repo_id, const char *commit_id,
                    struct seaf_commit **out);
/* The root directory id of commit_id of repo_id (commit from the cache, else the server; then
 * cached). May block on the network. */
int tree_commit_root(struct tree *tree, const char *repo_id, const char *commit_id,
                     char root_out[SEAF_ID_LEN + 1]);
/* The parsed fs object id of repo_id, which must be of type (SEAF_EMPTY_ID gives an empty
 * directory). -EIO when it is of another type or damaged. Release with tree_obj_unref. May
 * block on the network. */
int tree_get(struct tree *tree, const char *repo_id, const char *id, enum seaf_fsobj_type type,
             struct tree_obj **out);
/* Brings folder id into the cache (and memory) unless the cache has it, like tree_get, but a
 * fetch from the server does not fetch its sub-folders next (warming many libraries' roots:
 * library_roots.h). */
int tree_warm_dir(struct tree *tree, const char *repo_id, const char *id);
/* Queues the uncached sub-folders of folder id, when it is in memory or the cache (never
 * fetched here), for a fetch in the background (a library opened whose root came warmed: its
 * sub-folders are asked for next). */
void tree_children_ahead(struct tree *tree, const char *repo_id, const char *id);
/* The object inside (valid until tree_obj_unref). */
const struct seaf_fsobj *tree_obj_fsobj(const struct tree_obj *obj);
void tree_obj_unref(struct tree *tree, struct tree_obj *obj);

/* The block offsets (n_blocks + 1 entries) remembered for a file object, or NULL. Valid until
 * tree_obj_unref. Thread-safe. */
const uint64_t *tree_obj_offsets(const struct tree_obj *obj);
/* Remembers offsets (taking ownership of the malloc'd array) unless some are remembered
 * already (then offsets is freed). Thread-safe. */
void tree_obj_set_offsets(struct tree_obj *obj, uint64_t *offsets);

#endif
