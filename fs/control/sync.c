/* sync: `seafs sync` on the daemon side (see sync.h). Runs on a waiter thread of the control
 * server; the library reports before and after the wait come from status.c, so a sync says
 * exactly what `seafs status` would. */
#include "sync.h"
#include "seaf_clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "status.h"
#include "unlock.h"
#include "uploader.h"

static double now_s(void)
{
    return (double)seaf_monotonic_ns() / 1e9;
}

/* Whether a status entry of a library has changes waiting or being uploaded. */
static bool waiting(json_t *lib)
{
    return json_integer_value(json_object_get(json_object_get(lib, "pending"), "files")) > 0 ||
           json_is_true(json_object_get(json_object_get(lib, "upload"), "in_progress"));
}

static json_t *entry_with_id(json_t *libraries, const char *id)
{
    size_t i;
    json_t *lib;
    json_array_foreach(libraries, i, lib)
    {
        if (strcmp(json_string_value(json_object_get(lib, "id")), id) == 0)
            return lib;
    }
    return NULL;
}

/* The entries of after (of library repo, or all) that the sync is about; see sync.h. */
static json_t *reported(json_t *before, json_t *after, const char *repo, bool failed)
{
    json_t *list = json_array();
    size_t i;
    json_t *lib;
    json_array_foreach(after, i, lib)
    {
        const char *id = json_string_value(json_object_get(lib, "id"));
        if (!list || (repo && strcmp(id, repo) != 0))
            continue;
        json_t *old = entry_with_id(before, id);
        bool was_waiting = old && waiting(old);
        if (!was_waiting &&
            !(failed && (waiting(lib) || !json_is_null(json_object_get(lib, "error")))))
            continue;
        json_t *synced = was_waiting ? json_deep_copy(json_object_get(old, "pending"))
                                     : json_pack("{s:i, s:i}", "files", 0, "bytes", 0);
        if (json_object_set_new(lib, "synced", synced) != 0 || json_array_append(list, lib) != 0) {
            json_decref(list);
            list = NULL;
        }
    }
    return list;
}

/* msg for a failure: why, with the library id it starts with replaced by the library's path. */
static void failure_message(json_t *after, const char *why, char *msg, size_t msg_size)
{
    size_t i;
    json_t *lib;
    json_array_foreach(after, i, lib)
    {
        const char *id = json_string_value(json_object_get(lib, "id"));
        size_t len = strlen(id);
        if (strncmp(why, id, len) == 0 && why[len] == ':') {
            snprintf(msg, msg_size, "%s%s", json_string_value(json_object_get(lib, "path")),
                     why + len);
            return;
        }
    }
    snprintf(msg, msg_size, "%s", why);
}

int sync_wait(struct seafs *fs, const char *mountpoint, const char *library, unsigned timeout_s,
              char *msg, size_t msg_size, json_t **details)
{
    *details = NULL;
    struct named_library named;
    if (library) {
        int rc = library_find(fs, library, &named, msg, msg_size);
        if (rc)
            return rc;
    }
    const char *repo = library ? named.id : NULL;
    json_t *before = status_libraries(fs);
    double started = now_s();
    char why[512] = "";
    int rc = -EIO;
    if (fs->uploader)
        rc = uploader_wait(fs->uploader, repo, timeout_s, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "uploads are not running on this mount");
    double waited = now_s() - started;
    json_t *after = status_libraries(fs);
    json_t *list = reported(before, after, repo, rc != 0);
    if (rc == 0)
        snprintf(msg, msg_size, "%s",
                 json_array_size(list) ? "all changes are on the server" : "nothing to upload");
    else if (rc == -ETIMEDOUT)
        snprintf(msg, msg_size, "timed out after %u s: changes still waiting for the server",
                 timeout_s);
    else
        failure_message(after, why, msg, msg_size);
    *details = json_pack("{s:s, s:I, s:f, s:I, s:o}", "mountpoint", mountpoint, "now",
                         (json_int_t)time(NULL), "waited_s", waited, "timeout_s",
                         (json_int_t)timeout_s, "libraries", list);
    json_decref(before);
    json_decref(after);
    return rc;
}
