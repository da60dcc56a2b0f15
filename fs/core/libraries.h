/* libraries: the account's libraries as the mount shows them -- one top-level folder each
 * (flat layout) or grouped as SeaDrive does ("My Libraries", "Shared with me", "Shared with
 * all", one folder per group). Folder names are unique: clashes are resolved deterministically
 * and visibly (" (owner)", then " (<id prefix>)"). The list is saved so that a mount can start
 * offline from the last one seen. */
#ifndef SEAFS_FS_LIBRARIES_H
#define SEAFS_FS_LIBRARIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "seaf_ids.h"
#include "seahub_api.h"

enum library_kind {
    LIBRARY_MINE,   /* "repo": owned by the account */
    LIBRARY_SHARED, /* "srepo": shared with the account */
    LIBRARY_PUBLIC, /* "grepo" owned by "Organization": shared with everybody */
    LIBRARY_GROUP,  /* other "grepo": a group's library */
};

struct library {
    char id[SEAF_REPO_ID_LEN + 1];
    char head_commit_id[SEAF_ID_LEN + 1];
    char *name;     /* name on the server */
    char *owner;    /* owner e-mail, or group name / "Organization" */
    char *folder;   /* visible folder name, unique within its parent */
    char *category; /* SeaDrive layout: parent folder name; NULL in the flat layout */
    int64_t mtime;
    enum library_kind kind;
    bool read_only;
    bool encrypted;
    /* Run time only (not saved): */
    char root_id[SEAF_ID_LEN + 1]; /* root dir of head_commit_id; "" until resolved */
    uint64_t generation;           /* changes whenever head_commit_id does */
    uint64_t adopted_epoch;        /* head_epoch when an upload last set the head (0: never) */
};

struct library_list {
    struct library *libs;
    size_t n;
};

/* Builds the list from the server's answer (libraries without a name -- corrupted -- and of
 * repo versions other than 1 are left out), then assigns folders for layout: names that cannot
 * be file names become "library-<id prefix>"; equal names in one parent keep the name for the
 * first in the order (kind, owner, id) and get " (owner)" appended for the others, or
 * " (<8 id chars>)" when that still clashes. Deterministic for any input order. 0 or -ENOMEM. */
int library_list_from_repos(const struct seahub_repo_list *repos, enum seafs_layout layout,
                            struct library_list *out);
/* The kind of a library entry of the server's list (from its type and owner). */
enum library_kind library_kind_of(const struct seahub_repo *repo);
/* The library with this id, or NULL. */
struct library *library_list_find(const struct library_list *list, const char *id);
/* Saves to path (JSON, mode 0600, atomically). 0 or -errno. */
int library_list_save(const struct library_list *list, const char *path);
/* The two halves of library_list_save, so that a list shared under a lock is turned into text
 * under it and written (with fsync) after: the JSON text (malloc'd; NULL when out of memory),
 * and writing that text to path. Only the server's fields are saved (not root ids or
 * generations). */
char *library_list_text(const struct library_list *list);
int library_list_write(const char *text, const char *path);
/* Loads a list saved by library_list_save and assigns folders. 0 or -errno (-ENOENT, -EINVAL
 * for a damaged file). */
int library_list_load(const char *path, enum seafs_layout layout, struct library_list *out);
/* Frees the contents. */
void library_list_release(struct library_list *list);

#endif
