/* rescue: when a library with unsent changes is gone from the server -- deleted (444), or no
 * longer accessible and no longer listed for the account -- its changes cannot be uploaded any
 * more, and the mount stops showing it. Rather than keeping them where nobody can see them, every
 * file the journal holds for it is copied out into a recovery folder (with its directories and
 * mtime), a RECOVERY.txt says what is there and what could not be read, and the library's rows
 * and staged data are dropped. `seafs status` names the folder. Content a changed file still
 * shares with its old server version is read from the cache; what the cache no longer holds is
 * listed as missing (zeros in its place), never silently lost. */
#include "rescue.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commit_build.h"
#include "dirty.h"
#include "file.h"
#include "log.h"
#include "overlay.h"
#include "seafs.h"

#define COPY_CHUNK (1u << 20)

struct rescue {
    struct seafs *fs;
    struct snapshot snap;
    FILE *report;
    size_t saved, failed;
    char *buf;
};

/* Copies size bytes read through read_fn into path; 0, or -errno when the file cannot be
 * written. Unreadable ranges become zeros and are reported. */
typedef ssize_t (*read_fn)(void *ctx, char *buf, size_t size, uint64_t off);

static int copy_out(struct rescue *r, const char *path, const char *shown, uint64_t size,
                    int64_t mtime, read_fn fn, void *ctx)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    uint64_t bad_from = 0, bad = 0;
    int rc = 0;
    for (uint64_t off = 0; off < size && rc == 0;) {
        size_t want = size - off < COPY_CHUNK ? (size_t)(size - off) : COPY_CHUNK;
        ssize_t n = fn(ctx, r->buf, want, off);
        if (n != (ssize_t)want) {
            if (!bad)
                bad_from = off;
            bad += want;
            memset(r->buf, 0, want);
        }
        if (pwrite(fd, r->buf, want, (off_t)off) != (ssize_t)want)
            rc = -errno;
        off += want;
    }
    if (rc == 0 && fsync(fd) != 0)
        rc = -errno;
    close(fd);
    struct timespec times[2] = {{.tv_sec = mtime}, {.tv_sec = mtime}};
    utimensat(AT_FDCWD, path, times, 0);
    if (rc == 0 && bad) {
        fprintf(r->report,
                "INCOMPLETE %s: %llu bytes from offset %llu could not be read (the "
                "server copy is gone and the cache did not hold them): zeros there\n",
                shown, (unsigned long long)bad, (unsigned long long)bad_from);
        r->failed++;
    } else if (rc == 0) {
        fprintf(r->report, "saved      %s (%llu bytes)\n", shown, (unsigned long long)size);
        r->saved++;
    }
    return rc;
}

struct staged_ctx {
    struct seafs *fs;
    struct dirty_file *d;
};

static ssize_t read_staged(void *ctx, char *buf, size_t size, uint64_t off)
{
    struct staged_ctx *c = ctx;
    return dirty_read(c->fs->dirty, c->d, buf, size, off);
}

struct version_ctx {
    struct seafs *fs;
    struct open_file *h;
};

static ssize_t read_version(void *ctx, char *buf, size_t size, uint64_t off)
{
    struct version_ctx *c = ctx;
    return file_read(c->fs, c->h, buf, size, off);
}

/* Saves one file row at path. */
static void save_file(struct rescue *r, const struct snap_row *row, const char *path,
                      const char *shown)
{
    int rc;
    if (row->e.staged) {
        struct staged_ctx c = {.fs = r->fs};
        rc = dirty_get(r->fs->dirty, row->e.staged, &c.d);
        if (rc == 0) {
            uint64_t size;
            int64_t mtime;
            dirty_attr(c.d, &size, &mtime);
            rc = copy_out(r, path, shown, size, mtime, read_staged, &c);
            dirty_put(r->fs->dirty, c.d);
        }
    } else {
        struct version_ctx c = {.fs = r->fs};
        rc = file_open_version(r->fs, r->snap.repo, row->e.obj, (uint64_t)row->e.size, shown, &c.h);
        if (rc == 0)
            rc = copy_out(r, path, shown, (uint64_t)row->e.size, row->e.mtime, read_version, &c);
        file_close(c.h);
    }
    if (rc) {
        fprintf(r->report, "MISSING    %s: %s\n", shown, strerror(-rc));
        r->failed++;
    }
}

/* Saves the rows of node into dir (shown: the path inside the library, for the report). */
static void save_node(struct rescue *r, uint64_t node, const char *dir, const char *shown)
{
    struct snap_node *n = snapshot_node(&r->snap, node);
    for (size_t i = 0; n && i < n->n; i++) {
        const struct snap_row *row = &n->rows[i];
        char path[4096], inside[4096];
        if (row->e.kind == JOURNAL_DELETED ||
            snprintf(path, sizeof(path), "%s/%s", dir, row->e.name) >= (int)sizeof(path) ||
            snprintf(inside, sizeof(inside), "%s%s%s", shown, shown[0] ? "/" : "", row->e.name) >=
                (int)sizeof(inside))
            continue;
        if (row->e.kind == JOURNAL_DIR) {
            if (mkdir(path, 0700) != 0 && errno != EEXIST) {
                fprintf(r->report, "MISSING    %s/: %s\n", inside, strerror(errno));
                r->failed++;
                continue;
            }
            if (row->e.child)
                save_node(r, row->e.child, path, inside);
        } else {
            save_file(r, row, path, inside);
        }
    }
}

/* Drops every row, node and staged file of the library (lock taken here). */
static int drop_library(struct rescue *r)
{
    struct journal *j = overlay_journal(r->fs->overlay);
    overlay_lock(r->fs->overlay);
    seaf_err err = journal_begin(j);
    for (size_t k = r->snap.n; err == SEAF_OK && k-- > 0;) {
        struct snap_node *n = &r->snap.nodes[k];
        for (size_t i = 0; i < n->n; i++)
            if (n->rows[i].e.staged)
                dirty_discard_locked(r->fs->dirty, n->rows[i].e.staged);
        err = journal_node_delete(j, n->node);
    }
    if (err == SEAF_OK)
        err = journal_upload_delete(j, r->snap.repo);
    err = journal_end(j, err, true);
    overlay_unlock(r->fs->overlay);
    return err == SEAF_OK ? 0 : -EIO;
}

int rescue_library(struct seafs *fs, const char *repo, const char *folder, const char *why,
                   char *dir_out, size_t dir_size)
{
    dir_out[0] = '\0';
    struct rescue r = {.fs = fs};
    int rc = snapshot_take(fs, repo, &r.snap);
    if (rc)
        return rc;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    char name[300];
    snprintf(name, sizeof(name), "%s", folder && folder[0] ? folder : repo);
    for (char *p = name; *p; p++)
        if (*p == '/')
            *p = '_';
    char dir[4096];
    if (mkdir(fs->recovery_dir, 0700) != 0 && errno != EEXIST)
        rc = -errno;
    if (!rc &&
        snprintf(dir, sizeof(dir), "%s/%s-%s", fs->recovery_dir, name, stamp) >= (int)sizeof(dir))
        rc = -ENAMETOOLONG;
    if (!rc && mkdir(dir, 0700) != 0)
        rc = -errno;
    char report_path[4200];
    snprintf(report_path, sizeof(report_path), "%s/RECOVERY.txt", dir);
    if (!rc && !(r.report = fopen(report_path, "we")))
        rc = -errno;
    if (!rc && !(r.buf = malloc(COPY_CHUNK)))
        rc = -ENOMEM;
    if (rc) {
        log_msg(LOG_ERR,
                "library %s is gone from the server and its unsent changes cannot be "
                "saved to %s: %s; they stay in the journal",
                repo, fs->recovery_dir, strerror(-rc));
    } else {
        fprintf(r.report,
                "seafs recovery of library '%s' (%s), %s\n%s.\nThese are the changes that had not "
                "reached the server yet.\n\n",
                name, repo, stamp, why);
        if (r.snap.root_node)
            save_node(&r, r.snap.root_node, dir, "");
        fprintf(r.report, "\n%zu files saved, %zu with problems.\n", r.saved, r.failed);
        if (fflush(r.report) != 0 || fsync(fileno(r.report)) != 0)
            rc = -EIO;
    }
    if (r.report)
        fclose(r.report);
    free(r.buf);
    /* The journal lets go only once everything could be written out. */
    if (!rc)
        rc = drop_library(&r);
    if (!rc) {
        snprintf(dir_out, dir_size, "%s", dir);
        log_msg(LOG_WARNING, "library '%s' %s: its %zu unsent files were saved in %s", name, why,
                r.saved + r.failed, dir);
    }
    snapshot_release(&r.snap);
    return rc;
}
