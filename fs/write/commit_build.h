/* commit_build: the tree a library's local changes make on top of a server head -- the new
 * directory objects, the files whose blocks the server may lack, and the commit's description.
 *
 * The changes are read from the journal at one moment (a snapshot: every row of the library and
 * the last sequence number, under the overlay lock), then the tree is built without the lock
 * (the head's directory objects may have to be fetched). Staged files count with the content
 * they were last folded to (their `prev`); one never folded and new is left out.
 *
 * Conflicts are told here, per name, with the base each row remembers: a file changed locally
 * whose name now holds other content on the server (changed there since the local change
 * started) keeps the server's version under its name and goes up under a conflict name, as
 * Seafile's own merge names it (`name (SFConflict <email> <YYYY-MM-DD-HH-MM-SS>).ext`); a local
 * deletion of something changed on the server meanwhile is dropped (the change wins). The server
 * merges whatever moves between the snapshot and update-branch. */
#ifndef SEAFS_FS_COMMIT_BUILD_H
#define SEAFS_FS_COMMIT_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "journal.h"
#include "seaf_ids.h"

struct seafs;

/* One row as it was at the snapshot, and what the upload made of it. */
struct snap_row {
    struct journal_entry e;
    char content[SEAF_ID_LEN + 1]; /* file: the content object uploaded ("" when left out) */
    int64_t content_size;
    bool unfolded; /* file: written since its last fold (its time is newer than content) */
    char uploaded[SEAF_ID_LEN + 1]; /* what the commit holds at this name ("" if nothing) */
    bool ignored;                   /* a temporary-file name that stays local */
    bool conflict;                  /* went up under a conflict name */
};

struct snap_node {
    uint64_t node;
    struct snap_row *rows; /* sorted by name */
    size_t n;
};

struct snapshot {
    char repo[SEAF_REPO_ID_LEN + 1];
    uint64_t root_node;
    uint64_t seq;            /* the last sequence number included */
    struct snap_node *nodes; /* parents before children (the root first) */
    size_t n;
};

/* Takes the snapshot of library repo (empty when it has no changes). Takes the overlay lock. */
int snapshot_take(struct seafs *fs, const char *repo, struct snapshot *out);
void snapshot_release(struct snapshot *s);
/* The node's rows, or NULL. */
struct snap_node *snapshot_node(struct snapshot *s, uint64_t node);

/* An fs object to send. */
struct built_object {
    char id[SEAF_ID_LEN + 1];
    char *json; /* malloc'd */
    size_t len;
};

struct build_result {
    char root_id[SEAF_ID_LEN + 1];
    struct built_object *objects; /* new directory objects */
    size_t n_objects;
    char (*files)[SEAF_ID_LEN + 1]; /* file objects with new content (blocks to check) */
    size_t n_files;
    char *description; /* SeaDrive style, "Added \"a.txt\".\n..." */
    int64_t delta;     /* bytes the library grows by (for quota-check) */
    size_t changes;    /* names changed */
};

/* Builds the tree of snap on top of head_root (directory objects from the cache or the server):
 * fills out and each row's `uploaded`/`conflict`. user is the modifier recorded in new file
 * entries; now the time of changed directories. 0 or -errno (-EIO when an object cannot be had). */
int build_tree(struct seafs *fs, struct snapshot *snap, const char *head_root, const char *user,
               int64_t now, struct build_result *out);
void build_result_release(struct build_result *r);

/* Seafile's conflict-copy name of name for a change by who at mtime (C server style: the time
 * in local time, split at the last dot). */
void commit_conflict_name(const char *name, const char *who, int64_t mtime, char *out, size_t size);

#endif
