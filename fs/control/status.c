/* status: builds the JSON status report of a mount (see status.h for the fields). The library
 * fields are copied under libs_lock, which is released before the key store is asked whether
 * a library is unlocked and the journal and the uploader for its changes, so no other lock is
 * taken inside libs_lock. */
#include "status.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dir_prefetch.h"
#include "library_roots.h"
#include "log.h"
#include "overlay.h"
#include "unlock.h"
#include "uploader.h"

/* The relative path of a library's folder in the mount. */
static json_t *library_path(const struct library *lib)
{
    if (lib->category)
        return json_sprintf("%s/%s", lib->category, lib->folder);
    return json_string(lib->folder);
}

static json_t *library_entry(const struct library *lib, int64_t now)
{
    return json_pack("{s:o, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:I, s:I}", "path",
                     library_path(lib), "name", lib->name ? lib->name : "", "id", lib->id, "owner",
                     lib->owner ? lib->owner : "", "encrypted", lib->encrypted, "locked",
                     lib->encrypted, "read_only", lib->read_only, "head_commit",
                     lib->head_commit_id, "head_time", (json_int_t)lib->mtime, "head_age",
                     (json_int_t)(now - lib->mtime));
}

static int by_path(const void *a, const void *b)
{
    json_t *const *x = a, *const *y = b;
    return strcmp(json_string_value(json_object_get(*x, "path")),
                  json_string_value(json_object_get(*y, "path")));
}

/* list sorted by path (a new reference; list is released), NULL when out of memory. */
static json_t *sorted_by_path(json_t *list)
{
    size_t n = json_array_size(list);
    json_t **items = malloc((n ? n : 1) * sizeof(*items));
    json_t *sorted = items ? json_array() : NULL;
    for (size_t i = 0; sorted && i < n; i++)
        items[i] = json_array_get(list, i);
    if (sorted)
        qsort(items, n, sizeof(*items), by_path);
    for (size_t i = 0; sorted && i < n; i++) {
        if (json_array_append(sorted, items[i]) != 0) {
            json_decref(sorted);
            sorted = NULL;
        }
    }
    free(items);
    json_decref(list);
    return sorted;
}

/* text, or null when it is empty. */
static json_t *string_or_null(const char *text)
{
    return text[0] ? json_string(text) : json_null();
}

/* seconds, or null when 0 (never). */
static json_t *time_or_null(int64_t seconds)
{
    return seconds ? json_integer((json_int_t)seconds) : json_null();
}

/* The upload fields of library repo's entry (see status.h). */
static int add_upload_fields(struct seafs *fs, const char *repo, json_t *entry)
{
    struct overlay_pending pending = {0};
    if (fs->overlay && overlay_pending(fs->overlay, repo, &pending) != 0)
        log_msg(LOG_DEBUG, "status: cannot count the pending changes of %s", repo);
    struct upload_status up;
    uploader_status(fs->uploader, repo, &up);
    json_t *fields =
        json_pack("{s:{s:I, s:I}, s:{s:b, s:I, s:I, s:f}, s:o, s:o, s:o, s:o, s:o, s:o}", "pending",
                  "files", (json_int_t)pending.changes, "bytes", (json_int_t)pending.bytes,
                  "upload", "in_progress", up.uploading, "bytes_total", (json_int_t)up.round_bytes,
                  "bytes_sent", (json_int_t)up.round_sent, "rate_bytes_per_s", up.rate,
                  "last_commit", string_or_null(up.last_commit), "last_commit_time",
                  time_or_null(up.last_commit_time), "error", string_or_null(up.error),
                  "error_time", time_or_null(up.error[0] ? up.error_time : 0), "retry_at",
                  time_or_null(up.retry_at), "recovery_dir", string_or_null(up.recovery_dir));
    return fields ? json_object_update_new(entry, fields) : -1;
}

/* The folders_prefetch field of library repo's entry (see status.h). */
static json_t *prefetch_fields(struct seafs *fs, const char *repo)
{
    struct dir_prefetch_state st;
    dir_prefetch_state(fs->dir_prefetch, repo, &st);
    return json_pack("{s:s, s:s, s:I, s:I}", "state", dir_prefetch_phase_name(st.phase), "head",
                     st.done_head, "folders", (json_int_t)st.folders, "fetched",
                     (json_int_t)st.fetched);
}

/* The libraries sorted by path; locked and the upload fields filled in after libs_lock is
 * released. */
static json_t *libraries(struct seafs *fs, int64_t now)
{
    json_t *list = json_array();
    if (!list)
        return NULL;
    pthread_rwlock_rdlock(&fs->libs_lock);
    for (size_t i = 0; i < fs->libs.n; i++) {
        if (json_array_append_new(list, library_entry(&fs->libs.libs[i], now)) != 0) {
            pthread_rwlock_unlock(&fs->libs_lock);
            json_decref(list);
            return NULL;
        }
    }
    pthread_rwlock_unlock(&fs->libs_lock);
    size_t i;
    json_t *entry;
    json_array_foreach(list, i, entry)
    {
        const char *id = json_string_value(json_object_get(entry, "id"));
        if (json_is_true(json_object_get(entry, "encrypted")))
            json_object_set_new(entry, "locked", json_boolean(!library_is_unlocked(fs, id)));
        if (add_upload_fields(fs, id, entry) != 0 ||
            json_object_set_new(entry, "folders_prefetch", prefetch_fields(fs, id)) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return sorted_by_path(list);
}

json_t *status_libraries(struct seafs *fs)
{
    return libraries(fs, (int64_t)time(NULL));
}

static json_t *cache_report(struct seafs *fs)
{
    struct cache_stats st;
    cache_get_stats(fs->cache, &st);
    uint64_t opens = st.hits + st.misses;
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I}", "used_bytes",
                     (json_int_t)st.used_bytes, "limit_bytes", (json_int_t)fs->opts->cache_size,
                     "pinned_bytes", (json_int_t)st.pinned_bytes, "staged_bytes",
                     (json_int_t)st.staged_bytes, "entries", (json_int_t)st.entries, "hits",
                     (json_int_t)st.hits, "misses", (json_int_t)st.misses, "hit_ratio",
                     opens ? json_real((double)st.hits / (double)opens) : json_null(), "evictions",
                     (json_int_t)st.evictions);
}

static json_t *network_report(struct seafs *fs)
{
    struct http_pool_stats st;
    http_pool_get_stats(fs->pool, &st);
    return json_pack("{s:I, s:I, s:I, s:I}", "requests", (json_int_t)st.requests, "retries",
                     (json_int_t)st.retries, "bytes_received", (json_int_t)st.bytes_received,
                     "transfers_in_progress", (json_int_t)st.in_progress);
}

static json_t *lookups_report(struct seafs *fs)
{
    size_t absent;
    inode_table_count(fs->inodes, &absent);
    return json_pack("{s:I, s:I, s:I}", "requests", (json_int_t)atomic_load(&fs->lookups), "absent",
                     (json_int_t)atomic_load(&fs->lookups_absent), "absent_cached",
                     (json_int_t)absent);
}

/* The warming of the libraries' root folders after the list (library_roots.h). */
static json_t *roots_report(struct seafs *fs)
{
    size_t warmed = 0, failed = 0;
    if (fs->roots)
        library_roots_counts(fs->roots, &warmed, &failed);
    return json_pack("{s:I, s:I}", "warmed", (json_int_t)warmed, "failed", (json_int_t)failed);
}

static json_t *recent_errors(void)
{
    struct log_entry entries[LOG_RECENT_MAX];
    size_t n = log_recent(entries, LOG_RECENT_MAX);
    json_t *list = json_array();
    for (size_t i = 0; list && i < n; i++) {
        json_t *e = json_pack("{s:I, s:s, s:s}", "time", (json_int_t)entries[i].time, "level",
                              entries[i].level == LOG_ERR ? "error" : "warning", "message",
                              entries[i].message);
        if (json_array_append_new(list, e) != 0) {
            json_decref(list);
            return NULL;
        }
    }
    return list;
}

json_t *status_build(struct seafs *fs, const char *mountpoint)
{
    int64_t now = (int64_t)time(NULL);
    const struct seafs_options *o = fs->opts;
    /* "o" steals the reference and fails the whole pack when a part is NULL. */
    return json_pack("{s:s, s:I, s:s, s:s, s:s, s:b, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:o}",
                     "version", SEAFS_VERSION, "pid", (json_int_t)getpid(), "mountpoint",
                     mountpoint, "server", o->server_url, "account", o->user, "online",
                     atomic_load(&fs->online), "mounted_at", (json_int_t)fs->mounted_at, "now",
                     (json_int_t)now, "libraries", libraries(fs, now), "cache", cache_report(fs),
                     "network", network_report(fs), "lookups", lookups_report(fs), "library_roots",
                     roots_report(fs), "errors", recent_errors());
}
