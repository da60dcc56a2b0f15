/* log: the one place seafs prints messages. stderr while in the foreground (or before the
 * daemon detaches), syslog/journal once in the background; debug messages only with -d. Callers
 * never pass tokens or passwords. Levels are syslog's (LOG_ERR, LOG_WARNING, LOG_INFO,
 * LOG_DEBUG). Thread-safe. */
#ifndef SEAFS_FS_LOG_H
#define SEAFS_FS_LOG_H

#include <stdbool.h>
#include <syslog.h>

#include "http_pool.h"

/* Sets the debug switch (LOG_DEBUG messages shown or not). Starts on stderr. */
void log_init(bool debug);
/* From now on messages go to syslog (ident "seafs", facility daemon). */
void log_use_syslog(void);
/* Whether messages of level would be written (check before building costly arguments). */
bool log_enabled(int level);
/* Writes one message (no trailing newline needed). */
void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An http_log_fn for net/'s pool (ctx unused): forwards errors and warnings
 * (retries) as such and net/'s per-request information as debug messages. */
void log_http(void *ctx, enum http_log_level level, const char *message);

#endif
