/* libraries: from the server's library list to the folders of the mount. The folder names must
 * be unique within their parent and must not change from one mount to the next for the same
 * set of libraries, so they are computed from a sorted order, never from the order the server
 * happened to answer in. The list is also saved as a small JSON file (0600) for offline starts. */
#include "libraries.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seaf_fsobj.h"

static const char *const category_names[] = {
    [LIBRARY_MINE] = "My Libraries",
    [LIBRARY_SHARED] = "Shared with me",
    [LIBRARY_PUBLIC] = "Shared with all",
};

static void library_release(struct library *lib)
{
    free(lib->name);
    free(lib->owner);
    free(lib->folder);
    free(lib->category);
}

void library_list_release(struct library_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        library_release(&list->libs[i]);
    free(list->libs);
    list->libs = NULL;
    list->n = 0;
}

struct library *library_list_find(const struct library_list *list, const char *id)
{
    for (size_t i = 0; i < list->n; i++)
        if (strcmp(list->libs[i].id, id) == 0)
            return &list->libs[i];
    return NULL;
}

enum library_kind library_kind_of(const struct seahub_repo *repo)
{
    if (strcmp(repo->type, "repo") == 0)
        return LIBRARY_MINE;
    if (strcmp(repo->type, "srepo") == 0)
        return LIBRARY_SHARED;
    if (repo->owner && strcmp(repo->owner, "Organization") == 0)
        return LIBRARY_PUBLIC;
    return LIBRARY_GROUP;
}

/* Fills the saved fields of lib (the server's). 0 or -ENOMEM (lib then holds what it could
 * copy, freed with the list). */
static int library_init(struct library *lib, const char *id, const char *head, const char *name,
                        const char *owner, int64_t mtime, enum library_kind kind, bool read_only,
                        bool encrypted)
{
    snprintf(lib->id, sizeof(lib->id), "%s", id);
    snprintf(lib->head_commit_id, sizeof(lib->head_commit_id), "%s", head);
    lib->name = strdup(name);
    lib->owner = strdup(owner);
    lib->mtime = mtime;
    lib->kind = kind;
    lib->read_only = read_only;
    lib->encrypted = encrypted;
    return lib->name && lib->owner ? 0 : -ENOMEM;
}

static int assign_folders(struct library_list *list, enum seafs_layout layout);

int library_list_from_repos(const struct seahub_repo_list *repos, enum seafs_layout layout,
                            struct library_list *out)
{
    out->libs = calloc(repos->n_repos ? repos->n_repos : 1, sizeof(*out->libs));
    out->n = 0;
    if (!out->libs)
        return -ENOMEM;
    for (size_t i = 0; i < repos->n_repos; i++) {
        const struct seahub_repo *repo = &repos->repos[i];
        if (!repo->name || repo->version != 1)
            continue;
        enum library_kind kind = library_kind_of(repo);
        const char *owner =
            kind == LIBRARY_GROUP && repo->group_name ? repo->group_name : repo->owner;
        if (library_init(&out->libs[out->n++], repo->id, repo->head_commit_id, repo->name,
                         owner ? owner : "", repo->mtime, kind, repo->read_only,
                         repo->encrypted) != 0) {
            library_list_release(out);
            return -ENOMEM;
        }
    }
    return assign_folders(out, layout);
}

/* A name usable as a file name, else "<fallback>-<8 id chars>". */
static char *valid_name(const char *name, const char *fallback, const char *id)
{
    if (seaf_name_problem(name, strlen(name)) == NULL && strlen(name) < 200)
        return strdup(name);
    char buf[64];
    snprintf(buf, sizeof(buf), "%s-%.8s", fallback, id);
    return strdup(buf);
}

static int by_order(const void *a, const void *b)
{
    const struct library *x = *(const struct library *const *)a;
    const struct library *y = *(const struct library *const *)b;
    int c;
    if ((c = strcmp(x->category ? x->category : "", y->category ? y->category : "")) != 0)
        return c;
    if ((c = strcmp(x->folder, y->folder)) != 0)
        return c;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if ((c = strcmp(x->owner, y->owner)) != 0)
        return c;
    return strcmp(x->id, y->id);
}

static bool same_parent(const struct library *x, const struct library *y)
{
    return strcmp(x->category ? x->category : "", y->category ? y->category : "") == 0;
}

/* Whether another library in the same parent already uses name (checking sorted[0..n)). */
static bool folder_taken(struct library *const *sorted, size_t n, const struct library *self,
                         const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (sorted[i] != self && same_parent(sorted[i], self) &&
            strcmp(sorted[i]->folder, name) == 0)
            return true;
    return false;
}

static int replace_folder(struct library *lib, const char *base, const char *suffix_fmt,
                          const char *suffix_arg)
{
    size_t len = strlen(base) + strlen(suffix_fmt) + strlen(suffix_arg) + 1;
    char *name = malloc(len);
    if (!name)
        return -ENOMEM;
    int n = snprintf(name, len, "%s", base);
    snprintf(name + n, len - (size_t)n, suffix_fmt, suffix_arg);
    free(lib->folder);
    lib->folder = name;
    return 0;
}

static int set_category(struct library *lib)
{
    free(lib->category);
    lib->category = NULL;
    if (lib->kind != LIBRARY_GROUP) {
        lib->category = strdup(category_names[lib->kind]);
        return lib->category ? 0 : -ENOMEM;
    }
    char *group = valid_name(lib->owner, "group", lib->id);
    if (!group)
        return -ENOMEM;
    /* A group named like a fixed folder gets a visible suffix instead of merging with it. */
    for (size_t k = 0; k < sizeof(category_names) / sizeof(category_names[0]); k++) {
        if (strcmp(group, category_names[k]) == 0) {
            size_t len = strlen(group) + sizeof(" (group)");
            char *renamed = malloc(len);
            if (renamed)
                snprintf(renamed, len, "%s (group)", group);
            free(group);
            group = renamed;
            break;
        }
    }
    lib->category = group;
    return group ? 0 : -ENOMEM;
}

/* Gives lib a suffixed folder name that no other library of its parent uses. */
static int resolve_clash(struct library *const *sorted, size_t n, struct library *lib,
                         const char *base)
{
    int rc = replace_folder(lib, base, " (%s)", lib->owner);
    if (rc == 0 && (folder_taken(sorted, n, lib, lib->folder) ||
                    seaf_name_problem(lib->folder, strlen(lib->folder)))) {
        char prefix[9];
        snprintf(prefix, sizeof(prefix), "%.8s", lib->id);
        rc = replace_folder(lib, base, " (%s)", prefix);
        if (rc == 0 && folder_taken(sorted, n, lib, lib->folder))
            rc = replace_folder(lib, base, " (%s)", lib->id);
    }
    return rc;
}

/* Sets folder (and category) of every library: names that cannot be file names become
 * "library-<id prefix>"; equal names in one parent keep the name for the first in the order
 * (kind, owner, id) and get " (owner)" appended for the others, or " (<8 id chars>)" when that
 * still clashes. Deterministic for any input order. 0 or -ENOMEM. */
static int assign_folders(struct library_list *list, enum seafs_layout layout)
{
    if (list->n == 0)
        return 0;
    struct library **sorted = calloc(list->n, sizeof(*sorted));
    char **bases = calloc(list->n, sizeof(*bases));
    int rc = sorted && bases ? 0 : -ENOMEM;
    for (size_t i = 0; i < list->n && rc == 0; i++) {
        struct library *lib = &list->libs[i];
        sorted[i] = lib;
        free(lib->folder);
        free(lib->category);
        lib->category = NULL;
        lib->folder = valid_name(lib->name, "library", lib->id);
        if (!lib->folder)
            rc = -ENOMEM;
        else if (layout == SEAFS_LAYOUT_SEADRIVE)
            rc = set_category(lib);
    }
    if (rc)
        goto out;
    qsort(sorted, list->n, sizeof(*sorted), by_order);
    for (size_t i = 0; i < list->n && rc == 0; i++)
        if (!(bases[i] = strdup(sorted[i]->folder)))
            rc = -ENOMEM;
    /* The first of each run of equal names in one parent keeps it; the others get a suffix. */
    for (size_t i = 1; i < list->n && rc == 0; i++)
        if (same_parent(sorted[i - 1], sorted[i]) && strcmp(bases[i - 1], bases[i]) == 0)
            rc = resolve_clash(sorted, list->n, sorted[i], bases[i]);
out:
    for (size_t i = 0; bases && i < list->n; i++)
        free(bases[i]);
    free(bases);
    free(sorted);
    return rc;
}

char *library_list_text(const struct library_list *list)
{
    json_t *array = json_array();
    if (!array)
        return NULL;
    for (size_t i = 0; i < list->n; i++) {
        const struct library *lib = &list->libs[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:i, s:b, s:b}", "id", lib->id, "head",
                              lib->head_commit_id, "name", lib->name, "owner", lib->owner, "mtime",
                              (json_int_t)lib->mtime, "kind", (int)lib->kind, "read_only",
                              lib->read_only, "encrypted", lib->encrypted);
        if (!o || json_array_append_new(array, o) != 0) {
            json_decref(array);
            return NULL;
        }
    }
    char *text = json_dumps(array, JSON_COMPACT);
    json_decref(array);
    return text;
}

int library_list_write(const char *text, const char *path)
{
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = 0;
    size_t len = strlen(text);
    if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0)
        rc = -EIO;
    close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc;
}

int library_list_save(const struct library_list *list, const char *path)
{
    char *text = library_list_text(list);
    if (!text)
        return -ENOMEM;
    int rc = library_list_write(text, path);
    free(text);
    return rc;
}

int library_list_load(const char *path, enum seafs_layout layout, struct library_list *out)
{
    out->libs = NULL;
    out->n = 0;
    json_error_t error;
    json_t *array = json_load_file(path, 0, &error);
    if (!array)
        return access(path, F_OK) == 0 ? -EINVAL : -ENOENT;
    int rc = 0;
    if (!json_is_array(array)) {
        rc = -EINVAL;
        goto out;
    }
    size_t n = json_array_size(array);
    out->libs = calloc(n ? n : 1, sizeof(*out->libs));
    if (!out->libs) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const char *id, *head, *name, *owner;
        json_int_t mtime;
        int kind, read_only, encrypted;
        if (json_unpack(json_array_get(array, i), "{s:s, s:s, s:s, s:s, s:I, s:i, s:b, s:b}", "id",
                        &id, "head", &head, "name", &name, "owner", &owner, "mtime", &mtime, "kind",
                        &kind, "read_only", &read_only, "encrypted", &encrypted) != 0 ||
            !seaf_repo_id_valid(id, strlen(id)) || !seaf_id_valid(head, strlen(head)) ||
            kind < LIBRARY_MINE || kind > LIBRARY_GROUP) {
            rc = -EINVAL;
            goto out;
        }
        rc = library_init(&out->libs[out->n++], id, head, name, owner, mtime,
                          (enum library_kind)kind, read_only, encrypted);
        if (rc)
            goto out;
    }
    rc = assign_folders(out, layout);
out:
    json_decref(array);
    if (rc)
        library_list_release(out);
    return rc;
}
