/* range_links: the download links byte-range reads use (net/seahub_api.h seahub_file_link, made
 * reusable), kept in memory per file version -- library id and file id -- until they expire, so
 * that only the first range of a file asks Seahub for one. A version whose link cannot be had
 * or serves something else (the file changed on the server, the path is gone, the server
 * refuses) is remembered as refused for a while: its reads take whole blocks without asking
 * again. Links are credentials: they are never logged nor written to disk. Thread-safe. */
#ifndef SEAFS_FS_RANGE_LINKS_H
#define SEAFS_FS_RANGE_LINKS_H

#include <stdbool.h>
#include <stdint.h>

/* How long a link is used (the server's tokens last an hour by default; a link refused earlier
 * is replaced once, see range_read.c). */
#define RANGE_LINK_TTL_S (30 * 60)
/* How long a refused version takes whole blocks before a link is asked for again. */
#define RANGE_REFUSED_TTL_S (10 * 60)
/* Versions remembered (least recently used forgotten first). */
#define RANGE_LINKS_MAX 128
/* This many range requests in a row failing in transport (the link's host unreachable: a
 * server whose configured FILE_SERVER_ROOT is wrong) pause all ranges for RANGE_REFUSED_TTL_S. */
#define RANGE_TRANSPORT_FAILURES_MAX 3

struct range_links;

/* NULL on ENOMEM. */
struct range_links *range_links_new(void);
/* NULL is a no-op. */
void range_links_free(struct range_links *links);

enum range_link_state {
    RANGE_LINK_NONE,    /* nothing known: ask for one */
    RANGE_LINK_CACHED,  /* *url holds a copy (free() it) */
    RANGE_LINK_REFUSED, /* no link for this version for now: read whole blocks */
};
/* What is known of file_id's link in repo_id at now_s (seconds of any steady clock). */
enum range_link_state range_links_get(struct range_links *links, const char *repo_id,
                                      const char *file_id, int64_t now_s, char **url);
/* Keeps url as the link of file_id (until now_s + RANGE_LINK_TTL_S). */
void range_links_put(struct range_links *links, const char *repo_id, const char *file_id,
                     const char *url, int64_t now_s);
/* Remembers file_id as refused (until now_s + RANGE_REFUSED_TTL_S). */
void range_links_refuse(struct range_links *links, const char *repo_id, const char *file_id,
                        int64_t now_s);
/* Forgets file_id's link (the server no longer accepts it). */
void range_links_drop(struct range_links *links, const char *repo_id, const char *file_id);

/* Records how a range request ended: answered (whatever the answer), or failed in transport. */
void range_links_note(struct range_links *links, bool answered, int64_t now_s);
/* Pauses all ranges for RANGE_REFUSED_TTL_S (the server, or a proxy before it, ignores Range). */
void range_links_pause(struct range_links *links, int64_t now_s);
/* Whether ranges are paused (too many transport failures in a row, or range_links_pause). */
bool range_links_paused(struct range_links *links, int64_t now_s);

#endif
