/* log: the one place seafs prints messages. stderr while in the foreground (or before the
 * daemon detaches), syslog/journal once in the background; debug messages only with -d. Callers
 * never pass tokens or passwords. Levels are syslog's (LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG). The last errors and warnings are also kept in memory for `seafs status`.
 * Thread-safe. */
#ifndef SEAFS_FS_LOG_H
#define SEAFS_FS_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <syslog.h>

#include "http_pool.h"

/* Sets the debug switch (LOG_DEBUG messages shown or not). Starts on stderr, with the journal's
 * "<level>" prefixes when stderr is connected to the journal (JOURNAL_STREAM). */
void log_init(bool debug);
/* From now on messages go to syslog (ident "seafs", facility daemon). */
void log_use_syslog(void);
/* Writes one message (no trailing newline needed). */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An http_log_fn for net/'s pool (ctx unused): forwards errors and warnings
 * (retries) as such and net/'s per-request information as debug messages. */
void log_http(void *ctx, enum http_log_level level, const char *message);

/* How many of the last errors and warnings are kept. */
#define LOG_RECENT_MAX 16

struct log_entry {
    int64_t time; /* seconds since the epoch */
    int level;    /* LOG_ERR or LOG_WARNING */
    char message[256];
};

/* Copies up to max of the last errors and warnings, oldest first; returns how many. */
size_t log_recent(struct log_entry *out, size_t max);

#endif
