/* range_read: the rule, the per-file ranges, and one range fetch -- a download link from the
 * cache or from Seahub (checked to be made for the version read), then the ranged GET (checked
 * by net/web_range.c); a link the file server refuses is replaced once. */
#include "range_read.h"
#include "seaf_clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "blocks_in_flight.h"
#include "cache.h"
#include "inode.h"
#include "log.h"
#include "range_links.h"
#include "seahub_api.h"
#include "web_range.h"

/* The least time a range must save over the block on this link (RANGE_MIN_GAIN_*). */
static double min_gain_s(const struct link_figures *link)
{
    double rtts = RANGE_MIN_GAIN_RTTS * link->rtt_s;
    return rtts > RANGE_MIN_GAIN_S ? rtts : RANGE_MIN_GAIN_S;
}

bool range_pays(const struct range_case *c)
{
    if (c->mode == SEAFS_RANGE_OFF || c->sequential || c->read_len > RANGE_MAX_READ ||
        c->range_len >= c->block_size)
        return false;
    if (c->mode == SEAFS_RANGE_ALWAYS)
        return true;
    if (c->link.rtt_s <= 0 || c->link.bytes_per_s <= 0)
        return false; /* nothing measured yet */
    double block_s = link_predict_s(&c->link, 1, c->block_size);
    double range_s = link_predict_s(&c->link, c->link_at_hand ? 1 : 2, c->range_len);
    double block_left_s = block_s - c->block_under_way_s;
    if (c->block_under_way && block_left_s <= range_s && block_left_s > -block_s)
        return false; /* the block arrives first: wait for it */
    return block_s - range_s >= min_gain_s(&c->link) && c->spent_on_block_s + range_s <= block_s;
}

/* Blocks are at most about this large (Seafile's chunkers; web uploads are cut at 8 MiB). */
#define TYPICAL_BLOCK (8u << 20)
/* A small read at open's time: what `head`, a type sniff or an EXIF reader makes the kernel ask. */
#define TYPICAL_SMALL_READ (16u * 1024)

bool range_link_ahead_pays(enum seafs_range_reads mode, uint64_t file_size,
                           const struct link_figures *link)
{
    struct range_case c = {.mode = mode,
                           .read_len = TYPICAL_SMALL_READ,
                           .block_size = file_size < TYPICAL_BLOCK ? file_size : TYPICAL_BLOCK,
                           .range_len = TYPICAL_SMALL_READ,
                           .link_at_hand = true,
                           .link = *link};
    return mode == SEAFS_RANGE_AUTO && range_pays(&c);
}

void range_state_init(struct range_state *rs, const char *lib_path)
{
    memset(rs, 0, sizeof(*rs));
    pthread_mutex_init(&rs->lock, NULL);
    pthread_mutex_init(&rs->ahead_lock, NULL);
    atomic_init(&rs->holds_ranges, false);
    atomic_init(&rs->ahead_running, false);
    rs->lib_path = lib_path ? strdup(lib_path) : NULL;
    range_hold_init(&rs->hold);
}

void range_state_flushed(struct range_state *rs)
{
    range_hold_flushed(&rs->hold);
}

/* Waits for the link asked for ahead, if any. */
static void join_ahead(struct range_state *rs)
{
    if (!atomic_load(&rs->ahead_running))
        return;
    pthread_mutex_lock(&rs->ahead_lock);
    if (atomic_load(&rs->ahead_running)) {
        pthread_join(rs->ahead, NULL);
        atomic_store(&rs->ahead_running, false);
    }
    pthread_mutex_unlock(&rs->ahead_lock);
}

void range_state_release(struct range_state *rs)
{
    join_ahead(rs);
    for (size_t i = 0; i < RANGE_SLOTS; i++)
        free(rs->slots[i].data);
    free(rs->lib_path);
    range_hold_release(&rs->hold);
    pthread_mutex_destroy(&rs->ahead_lock);
    pthread_mutex_destroy(&rs->lock);
}

/* Frees a link, wiping it first (it is a credential). */
static void link_free(char *url)
{
    if (url) {
        OPENSSL_cleanse(url, strlen(url));
        free(url);
    }
}

/* Copies [pos, stop) from a kept range holding all of it; false when none does. The lock is
 * held. */
static bool copy_kept_locked(struct range_state *rs, uint64_t pos, uint64_t stop, char *dst)
{
    for (size_t i = 0; i < RANGE_SLOTS; i++) {
        struct range_slot *slot = &rs->slots[i];
        if (slot->len && slot->start <= pos && stop <= slot->start + slot->len) {
            memcpy(dst, slot->data + (pos - slot->start), (size_t)(stop - pos));
            slot->used = ++rs->clock;
            return true;
        }
    }
    return false;
}

/* Keeps data (len bytes at start; taken over) in the least recently used slot. The lock is
 * held. */
static void keep_locked(struct range_state *rs, uint64_t start, size_t len, char *data)
{
    struct range_slot *slot = &rs->slots[0];
    for (size_t i = 1; i < RANGE_SLOTS; i++)
        if (rs->slots[i].used < slot->used)
            slot = &rs->slots[i];
    free(slot->data);
    *slot = (struct range_slot){.start = start, .len = len, .data = data, .used = ++rs->clock};
    atomic_store(&rs->holds_ranges, true);
}

/* A new download link for the version a reads, checked to be made for it, cached. */
static seaf_err new_link(struct seafs *fs, const char *lib_path, const struct range_read_args *a,
                         char **url)
{
    char oid[SEAF_ID_LEN + 1];
    seaf_err err = seahub_file_link(fs->client, a->repo_id, lib_path, true, url, oid);
    if (err == SEAF_OK && oid[0] && strcmp(oid, a->file_id) != 0) {
        link_free(*url); /* the path holds another version now */
        *url = NULL;
        err = SEAF_ERR_ID_MISMATCH;
    }
    if (err == SEAF_OK)
        range_links_put(fs->range_links, a->repo_id, a->file_id, *url, seaf_monotonic_s());
    return err;
}

/* Whether err is the network's, not the server's answer. */
static bool transport_error(seaf_err err)
{
    return err == SEAF_ERR_NETWORK || err == SEAF_ERR_TIMEOUT || err == SEAF_ERR_TLS;
}

/* A download link asked for ahead, in a thread of its own. */
struct link_ahead {
    struct seafs *fs;
    char *lib_path;
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char file_id[SEAF_ID_LEN + 1];
};

static void *link_ahead_run(void *arg)
{
    struct link_ahead *job = arg;
    struct range_read_args a = {
        .log_path = job->lib_path, .repo_id = job->repo_id, .file_id = job->file_id};
    char *url = NULL;
    seaf_err err = new_link(job->fs, job->lib_path, &a, &url);
    link_free(url);
    bool transport = transport_error(err);
    if (err != SEAF_OK && !transport) /* another version, a refusal: whole blocks for a while */
        range_links_refuse(job->fs->range_links, job->repo_id, job->file_id, seaf_monotonic_s());
    if (err != SEAF_OK)
        log_msg(LOG_DEBUG, "download link of '%s' asked for at open: %s", job->lib_path,
                seaf_strerror(err));
    free(job->lib_path);
    free(job);
    return NULL;
}

void range_link_ahead(struct seafs *fs, struct range_state *rs, const char *repo_id,
                      const char *file_id, uint64_t file_size)
{
    if (!rs->lib_path || !fs->range_links || atomic_load(&rs->ahead_running) ||
        range_links_paused(fs->range_links, seaf_monotonic_s()))
        return;
    struct link_figures link;
    http_pool_link(fs->pool, &link);
    if (!range_link_ahead_pays(fs->opts->range_reads, file_size, &link))
        return;
    char *url = NULL;
    enum range_link_state known =
        range_links_get(fs->range_links, repo_id, file_id, seaf_monotonic_s(), &url);
    link_free(url);
    if (known != RANGE_LINK_NONE)
        return;
    struct link_ahead *job = calloc(1, sizeof(*job));
    if (!job || !(job->lib_path = strdup(rs->lib_path))) {
        free(job);
        return;
    }
    job->fs = fs;
    snprintf(job->repo_id, sizeof(job->repo_id), "%s", repo_id);
    snprintf(job->file_id, sizeof(job->file_id), "%s", file_id);
    pthread_mutex_lock(&rs->ahead_lock);
    if (pthread_create(&rs->ahead, NULL, link_ahead_run, job) == 0) {
        atomic_store(&rs->ahead_running, true);
    } else {
        free(job->lib_path);
        free(job);
    }
    pthread_mutex_unlock(&rs->ahead_lock);
}

/* Fetches len bytes at start into data through url (a cached link, or NULL), replacing a link
 * the file server refuses once. */
static seaf_err fetch_range(struct seafs *fs, const char *lib_path, const struct range_read_args *a,
                            char *url, uint64_t start, size_t len, char *data)
{
    struct web_range want = {
        .file_id = a->file_id, .file_size = a->file_size, .start = start, .len = len};
    seaf_err err = SEAF_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!url && (err = new_link(fs, lib_path, a, &url)) != SEAF_OK)
            break;
        err = web_range_get(fs->client, url, &want, data);
        link_free(url);
        url = NULL;
        if (err != SEAF_ERR_PERMISSION && err != SEAF_ERR_NOT_FOUND)
            break;
        range_links_drop(fs->range_links, a->repo_id, a->file_id);
    }
    link_free(url);
    bool transport = transport_error(err);
    range_links_note(fs->range_links, !transport, seaf_monotonic_s());
    if (err == SEAF_ERR_UNSUPPORTED) { /* so will every other file be: a proxy strips Range */
        log_msg(LOG_INFO, "the file server ignores Range (a proxy?): no byte ranges for %d min",
                RANGE_REFUSED_TTL_S / 60);
        range_links_pause(fs->range_links, seaf_monotonic_s());
    }
    if (err != SEAF_OK) /* whatever went wrong: whole blocks for this version for a while */
        range_links_refuse(fs->range_links, a->repo_id, a->file_id, seaf_monotonic_s());
    return err;
}

static enum range_outcome fetch_or_not(struct seafs *fs, struct range_state *rs,
                                       const struct range_read_args *a, uint64_t start,
                                       uint64_t end, int flight, char *dst);

enum range_outcome range_read(struct seafs *fs, struct range_state *rs,
                              const struct range_read_args *a, char *dst)
{
    if (!rs->lib_path || !fs->range_links || fs->opts->range_reads == SEAFS_RANGE_OFF)
        return RANGE_NOT_SERVED;
    /* The hot path: a sequential or large read takes the block (range_pays) -- unless kept
     * ranges hold it, which only a handle that took ranges has. No lock, no cache lookup. */
    bool block_anyway = a->sequential || a->read_len > RANGE_MAX_READ;
    if (block_anyway && !atomic_load(&rs->holds_ranges))
        return RANGE_NOT_SERVED;
    pthread_mutex_lock(&rs->lock);
    bool kept = copy_kept_locked(rs, a->pos, a->stop, dst);
    bool disabled = rs->disabled;
    pthread_mutex_unlock(&rs->lock);
    if (kept)
        return RANGE_SERVED;
    if (block_anyway || disabled)
        return RANGE_NOT_SERVED;
    uint64_t block_end = a->block_start + a->block_size;
    uint64_t start = a->pos - a->pos % RANGE_UNIT;
    uint64_t end = a->stop + (RANGE_UNIT - a->stop % RANGE_UNIT) % RANGE_UNIT;
    start = start > a->block_start ? start : a->block_start;
    end = end < block_end ? end : block_end;
    /* On its way from now on (before the lookups below), so that a request for the window after
     * this one, which the kernel sends right behind it, finds it and waits (range_hold.h). */
    int flight = range_hold_begin(&rs->hold, start, end);
    enum range_outcome outcome = fetch_or_not(fs, rs, a, start, end, flight, dst);
    range_hold_done(&rs->hold, flight);
    return outcome;
}

/* The rest of range_read for the range [start, end), tracked in slot flight. */
static enum range_outcome fetch_or_not(struct seafs *fs, struct range_state *rs,
                                       const struct range_read_args *a, uint64_t start,
                                       uint64_t end, int flight, char *dst)
{
    if (cache_contains(fs->cache, CACHE_KIND_BLOCK, a->block_id) ||
        range_links_paused(fs->range_links, seaf_monotonic_s()))
        return RANGE_NOT_SERVED;
    pthread_mutex_lock(&rs->lock);
    double spent = rs->ranged_block == a->block_index + 1 ? rs->ranged_s : 0;
    pthread_mutex_unlock(&rs->lock);
    char *url = NULL;
    enum range_link_state link =
        range_links_get(fs->range_links, a->repo_id, a->file_id, seaf_monotonic_s(), &url);
    bool ahead = link == RANGE_LINK_NONE && atomic_load(&rs->ahead_running);
    struct range_case c = {.mode = fs->opts->range_reads,
                           .read_len = a->read_len,
                           .sequential = a->sequential,
                           .spent_on_block_s = spent,
                           .block_size = a->block_size,
                           .range_len = end - start,
                           .link_at_hand = link == RANGE_LINK_CACHED || ahead};
    c.block_under_way = blocks_in_flight_find(a->block_id, &c.block_under_way_s);
    http_pool_link(fs->pool, &c.link);
    char *data = NULL;
    bool pays = link != RANGE_LINK_REFUSED && range_pays(&c);
    struct range_case not_under_way = c;
    not_under_way.block_under_way = false;
    if (!pays && c.block_under_way && link != RANGE_LINK_REFUSED && range_pays(&not_under_way))
        log_msg(LOG_DEBUG, "read of '%s' at %llu: block %s on its way for %.2f s, waited for",
                a->log_path, (unsigned long long)a->pos, a->block_id, c.block_under_way_s);
    if (pays && ahead) { /* the link asked for at open is on its way: wait for it */
        join_ahead(rs);
        link = range_links_get(fs->range_links, a->repo_id, a->file_id, seaf_monotonic_s(), &url);
        pays = link != RANGE_LINK_REFUSED;
    }
    if (pays && range_hold_wait(&rs->hold, flight, &c.link) == RANGE_HOLD_DROP) {
        link_free(url);
        log_msg(LOG_DEBUG, "read of '%s' at %llu: read-ahead dropped, the file was closed",
                a->log_path, (unsigned long long)a->pos);
        return RANGE_DROPPED;
    }
    if (!pays || !(data = malloc((size_t)(end - start)))) {
        link_free(url);
        return RANGE_NOT_SERVED;
    }
    struct timespec began, ended;
    clock_gettime(CLOCK_MONOTONIC, &began);
    seaf_err err = fetch_range(fs, rs->lib_path, a, url, start, (size_t)(end - start), data);
    clock_gettime(CLOCK_MONOTONIC, &ended);
    double took = (double)(ended.tv_sec - began.tv_sec) + (ended.tv_nsec - began.tv_nsec) / 1e9;
    pthread_mutex_lock(&rs->lock);
    if (err == SEAF_OK) {
        memcpy(dst, data + (a->pos - start), (size_t)(a->stop - a->pos));
        keep_locked(rs, start, (size_t)(end - start), data);
        rs->ranged_s = rs->ranged_block == a->block_index + 1 ? rs->ranged_s + took : took;
        rs->ranged_block = a->block_index + 1;
    } else {
        rs->disabled = true;
    }
    pthread_mutex_unlock(&rs->lock);
    if (err != SEAF_OK) {
        free(data);
        log_msg(LOG_INFO, "read of '%s': no byte range (%s); whole blocks from now on", a->log_path,
                err == SEAF_ERR_ID_MISMATCH ? "the server holds another version of the file"
                                            : seaf_strerror(err));
        return RANGE_NOT_SERVED;
    }
    log_msg(LOG_DEBUG,
            "read of '%s' at %llu: %llu bytes by a byte range in %.3f s, block %s not fetched "
            "(link: round trip %.3f s, %.0f bytes/s%s)",
            a->log_path, (unsigned long long)a->pos, (unsigned long long)(end - start), took,
            a->block_id, c.link.rtt_s, c.link.bytes_per_s,
            c.link.bandwidth_measured ? "" : " guessed");
    return RANGE_SERVED;
}

char *range_library_path(struct seafs *fs, uint64_t ino)
{
    char path[4096] = "";
    size_t len = 0;
    for (int depth = 0; depth < 256; depth++) {
        struct inode_info info;
        uint64_t parent = 0;
        char *name = NULL;
        if (!inode_table_get(fs->inodes, ino, &info, &parent, &name))
            return NULL;
        bool library = info.kind == INODE_LIBRARY;
        bool inside = (info.kind == INODE_FILE || info.kind == INODE_DIR) && name;
        size_t n = name ? strlen(name) : 0;
        bool fits = len + n + 2 <= sizeof(path);
        if (inside && fits) {
            memmove(path + n + 1, path, len + 1);
            path[0] = '/';
            memcpy(path + 1, name, n);
            len += n + 1;
        }
        free(name);
        if (library)
            return len ? strdup(path) : NULL;
        if (!inside || !fits)
            return NULL;
        ino = parent;
    }
    return NULL;
}
