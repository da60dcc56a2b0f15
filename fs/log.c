/* log: message sink of the seafs daemon. In the foreground every message goes to stderr with a
 * level prefix; after the daemon detached from the terminal (log_use_syslog) it goes to syslog,
 * which the journal picks up under systemd. The debug switch (-d) is checked before the message
 * is formatted, so disabled debug calls cost one atomic load. */
#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>

static atomic_bool debug_enabled;
static atomic_bool to_syslog;

void log_init(bool debug)
{
    atomic_store(&debug_enabled, debug);
}

void log_use_syslog(void)
{
    openlog("seafs", LOG_PID, LOG_DAEMON);
    atomic_store(&to_syslog, true);
}

bool log_enabled(int level)
{
    return level != LOG_DEBUG || atomic_load(&debug_enabled);
}

static const char *level_name(int level)
{
    switch (level) {
    case LOG_ERR:
        return "error";
    case LOG_WARNING:
        return "warning";
    case LOG_INFO:
        return "info";
    default:
        return "debug";
    }
}

void log_msg(int level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char text[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (atomic_load(&to_syslog))
        syslog(level, "%s", text);
    else
        fprintf(stderr, "seafs: %s: %s\n", level_name(level), text);
}

void log_http(void *ctx, enum http_log_level level, const char *message)
{
    (void)ctx;
    static const int levels[] = {
        [HTTP_LOG_ERROR] = LOG_ERR,
        [HTTP_LOG_WARNING] = LOG_WARNING,
        [HTTP_LOG_INFO] = LOG_DEBUG, /* per-request outcomes: only with -d */
        [HTTP_LOG_DEBUG] = LOG_DEBUG,
    };
    int syslog_level = (unsigned)level <= HTTP_LOG_DEBUG ? levels[level] : LOG_DEBUG;
    log_msg(syslog_level, "net: %s", message);
}
