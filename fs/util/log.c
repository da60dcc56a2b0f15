/* log: message sink of the seafs daemon. In the foreground every message goes to stderr with a
 * level prefix; after the daemon detached from the terminal (log_use_syslog) it goes to syslog,
 * which the journal picks up under systemd. When stderr is the journal's stream (a service run
 * in the foreground: JOURNAL_STREAM names stderr's device and inode, see sd-daemon(3)) each line
 * starts with "<N>", the syslog level, so the journal records it (journalctl -p filters). The debug
 * switch (-d) is checked before the message is formatted, so disabled debug calls cost one atomic
 * load. Errors and warnings also go into a small ring (the last LOG_RECENT_MAX, with their time)
 * that `seafs status` shows. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static atomic_bool debug_enabled;
static atomic_bool to_syslog;
static atomic_bool to_journal; /* stderr is the journal's stream */

static pthread_mutex_t recent_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_entry recent[LOG_RECENT_MAX]; /* ring, protected by recent_lock */
static size_t recent_next;                      /* slot of the next entry */
static size_t recent_count;

static void remember(int level, const char *text)
{
    pthread_mutex_lock(&recent_lock);
    struct log_entry *e = &recent[recent_next];
    e->time = (int64_t)time(NULL);
    e->level = level;
    size_t len = strnlen(text, sizeof(e->message) - 1); /* longer messages are cut */
    memcpy(e->message, text, len);
    e->message[len] = '\0';
    recent_next = (recent_next + 1) % LOG_RECENT_MAX;
    if (recent_count < LOG_RECENT_MAX)
        recent_count++;
    pthread_mutex_unlock(&recent_lock);
}

size_t log_recent(struct log_entry *out, size_t max)
{
    pthread_mutex_lock(&recent_lock);
    size_t n = recent_count < max ? recent_count : max;
    /* The newest n, oldest first. */
    size_t first = (recent_next + LOG_RECENT_MAX - n) % LOG_RECENT_MAX;
    for (size_t i = 0; i < n; i++)
        out[i] = recent[(first + i) % LOG_RECENT_MAX];
    pthread_mutex_unlock(&recent_lock);
    return n;
}

/* Whether stderr is the stream JOURNAL_STREAM ("<device>:<inode>") names. */
static bool stderr_is_journal(void)
{
    const char *stream = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;
    if (!stream || sscanf(stream, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) != 0)
        return false;
    return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(bool debug)
{
    atomic_store(&debug_enabled, debug);
    atomic_store(&to_journal, stderr_is_journal());
}

void log_use_syslog(void)
{
    openlog("seafs", LOG_PID, LOG_DAEMON);
    atomic_store(&to_syslog, true);
}

/* Whether messages of level are written (debug ones only with -d). */
static bool log_enabled(int level)
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
    if (level <= LOG_WARNING)
        remember(level, text);
    if (atomic_load(&to_syslog))
        syslog(level, "%s", text);
    else if (atomic_load(&to_journal)) /* the journal names the program itself */
        fprintf(stderr, "<%d>%s: %s\n", level, level_name(level), text);
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
