/* journal: the durable record of local changes not yet on the server (sqlite3, WAL) -- the rows
 * the write path's overlay is made of, the staged files whose data waits in the staging area,
 * and the upload in progress per library. Plain storage: what the rows mean is fs/write/'s
 * business (overlay.h explains it).
 *
 * Rows:
 *  - node: a directory the local view changes (an id; its owner entry names it in its parent).
 *    Each library's top folder has one root node.
 *  - entry (parent node, name): what a name holds locally -- deleted, a file (object id or staged
 *    file) or a directory (listing source, overlay node).
 *  - staged file: the content of a file being changed, kept in the staging area (staging.h).
 *  - upload: the commit being uploaded for a library, so an interrupted upload resumes.
 * Every change of an entry or staged file takes the next sequence number (seq): an upload
 * remembers the last number it included.
 *
 * Durability: each transaction is committed to the WAL before journal_commit returns (it survives
 * the process being killed); journal_sync makes everything committed so far survive a power cut
 * too. Not thread-safe: the caller serialises all calls (fs/write/ holds one lock around it).
 * Return convention: SEAF_OK or a seaf_err (SEAF_ERR_NOT_FOUND for a missing row, SEAF_ERR_IO
 * for sqlite errors, which are also logged into the journal's last-error text). */
#ifndef SEAFS_CACHE_JOURNAL_H
#define SEAFS_CACHE_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_error.h"
#include "seaf_ids.h"

/* Longest entry name (bytes, without the NUL); Seafile refuses 256 and more. */
#define JOURNAL_NAME_MAX 255

struct journal;

/* Opens (creating it and its schema when missing) the journal at path. SEAF_ERR_MALFORMED when
 * the file is not a journal of this version or fails sqlite's integrity check (the caller must
 * not delete it: it may hold the only copy of unsent changes), SEAF_ERR_IO, SEAF_ERR_NOMEM. */
seaf_err journal_open(const char *path, struct journal **out);
/* Closes the journal (checkpointing the WAL). NULL is a no-op. */
void journal_close(struct journal *j);
/* The last sqlite error message (for logs); "" when none. */
const char *journal_last_error(const struct journal *j);

/* Transactions: every change between begin and commit becomes durable at once or not at all.
 * Calls outside a transaction are committed one by one. No nesting. */
seaf_err journal_begin(struct journal *j);
seaf_err journal_commit(struct journal *j);
void journal_rollback(struct journal *j);
/* Makes every committed transaction survive a power cut (fsync of the WAL). */
seaf_err journal_sync(struct journal *j);
/* Ends the transaction journal_begin began, by what err says of its work: committed when
 * SEAF_OK (and synced when sync), else rolled back. Returns err, or the commit's or sync's. */
seaf_err journal_end(struct journal *j, seaf_err err, bool sync);
/* The sequence number the last change took (0 before any). */
uint64_t journal_seq(const struct journal *j);

/* ---- nodes -------------------------------------------------------------------------------- */

/* The root node of library repo; with create, made when missing. SEAF_ERR_NOT_FOUND otherwise. */
seaf_err journal_library_root(struct journal *j, const char *repo, bool create, uint64_t *node);
/* A new node of library repo. */
seaf_err journal_node_new(struct journal *j, const char *repo, uint64_t *node);
/* The library of node. SEAF_ERR_NOT_FOUND for an unknown node. */
seaf_err journal_node_repo(struct journal *j, uint64_t node, char repo[SEAF_REPO_ID_LEN + 1]);
/* Deletes node and its entries (not the nodes below it: the caller walks the subtree). A root
 * node is deleted with its library's record. */
seaf_err journal_node_delete(struct journal *j, uint64_t node);

/* ---- entries ------------------------------------------------------------------------------ */

enum journal_kind {
    JOURNAL_DELETED = 0, /* the name is gone */
    JOURNAL_FILE = 1,
    JOURNAL_DIR = 2,
};

struct journal_entry {
    uint64_t parent;                 /* node of the directory */
    char name[JOURNAL_NAME_MAX + 1]; /* one path component */
    enum journal_kind kind;          /* what the name holds locally */
    char base[SEAF_ID_LEN + 1];      /* object the name held when first changed; "" none */
    char obj[SEAF_ID_LEN + 1];       /* file: content object; dir: listing source */
    bool follow;                     /* dir: listing follows the server's directory here */
    uint64_t child;                  /* dir: its node, 0 when it has none */
    uint64_t staged;                 /* file: staged content, 0 when obj is the content */
    uint32_t mode;                   /* Seafile dirent mode */
    int64_t mtime;                   /* seconds */
    int64_t size;                    /* file bytes */
    uint64_t seq;                    /* sequence number of the last change */
};

/* The entry (parent, name). SEAF_ERR_NOT_FOUND when the name is not changed locally. */
seaf_err journal_entry_get(struct journal *j, uint64_t parent, const char *name,
                           struct journal_entry *out);
/* Writes e (insert or replace) with the next sequence number, stored into e->seq. */
seaf_err journal_entry_put(struct journal *j, struct journal_entry *e);
/* Deletes the entry (parent, name); a missing one is not an error. */
seaf_err journal_entry_delete(struct journal *j, uint64_t parent, const char *name);
/* The entry whose child node is node (the directory's name in its parent). */
seaf_err journal_entry_of_child(struct journal *j, uint64_t node, struct journal_entry *out);
/* The entry whose content is staged file id (SEAF_ERR_NOT_FOUND when none: deleted while open). */
seaf_err journal_entry_of_staged(struct journal *j, uint64_t staged, struct journal_entry *out);
/* Calls fn for every entry of node in ascending byte order of name; a non-zero return stops the
 * walk and is handed back through *stopped (may be NULL). */
typedef int (*journal_entry_fn)(void *ctx, const struct journal_entry *e);
seaf_err journal_entries(struct journal *j, uint64_t node, journal_entry_fn fn, void *ctx,
                         int *stopped);
/* Whether node has any entry. */
seaf_err journal_node_has_entries(struct journal *j, uint64_t node, bool *any);

/* ---- staged files ------------------------------------------------------------------------- */

struct journal_staged {
    uint64_t id;
    char repo[SEAF_REPO_ID_LEN + 1];
    char base[SEAF_ID_LEN + 1]; /* file object the content is layered on (SEAF_EMPTY_ID: none) */
    char prev[SEAF_ID_LEN + 1]; /* content to upload while this one is not folded; "" none */
    uint64_t base_size;         /* bytes of base */
    uint64_t base_limit;        /* bytes of base still part of the content (<= base_size) */
    uint64_t size;              /* content bytes */
    uint64_t *extents;          /* 2 * n_extents offsets: sorted disjoint [start, end) written */
    size_t n_extents;           /*   locally (malloc'd by journal_staged_get; free() it) */
    uint64_t seq;
    bool encrypted; /* its staging data is encrypted (an encrypted library's) */
};

/* Stores a new staged file (s->id assigned). */
seaf_err journal_staged_new(struct journal *j, struct journal_staged *s);
/* Replaces the stored state of s->id (s->seq assigned). */
seaf_err journal_staged_put(struct journal *j, struct journal_staged *s);
/* Loads staged file id (out->extents malloc'd). SEAF_ERR_NOT_FOUND. */
seaf_err journal_staged_get(struct journal *j, uint64_t id, struct journal_staged *out);
seaf_err journal_staged_delete(struct journal *j, uint64_t id);
/* Calls fn with the id of every staged file (for start-up checks); stops on non-zero. */
typedef int (*journal_id_fn)(void *ctx, uint64_t id);
seaf_err journal_staged_ids(struct journal *j, journal_id_fn fn, void *ctx);

/* ---- per-library state -------------------------------------------------------------------- */

/* Calls fn with every library that has a root node (local changes, possibly all uploaded). */
typedef int (*journal_repo_fn)(void *ctx, const char *repo);
seaf_err journal_libraries(struct journal *j, journal_repo_fn fn, void *ctx);

/* The upload in progress of a library: the commit built and the last sequence number in it. */
struct journal_upload {
    char repo[SEAF_REPO_ID_LEN + 1];
    char commit_id[SEAF_ID_LEN + 1];
    char parent_id[SEAF_ID_LEN + 1];
    uint64_t snapshot_seq;
    int64_t started; /* seconds since the epoch */
};
seaf_err journal_upload_put(struct journal *j, const struct journal_upload *u);
seaf_err journal_upload_get(struct journal *j, const char *repo, struct journal_upload *out);
seaf_err journal_upload_delete(struct journal *j, const char *repo);

/* A small named value per library (errors, counters); "" deletes. */
seaf_err journal_note_put(struct journal *j, const char *repo, const char *key, const char *value);
/* *value malloc'd; SEAF_ERR_NOT_FOUND. */
seaf_err journal_note_get(struct journal *j, const char *repo, const char *key, char **value);

#endif
