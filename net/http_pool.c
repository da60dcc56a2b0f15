/* http_pool: thread-safe pooled HTTP over libcurl easy handles.
 *
 * Design. Every origin (scheme://host:port) runs at most max_connections_per_host requests at
 * once. A calling thread takes an idle handle of the URL's origin (or creates one while under
 * the bound, or waits on the origin's condition variable), performs its request on it with
 * curl_easy_perform and puts it back. An easy handle keeps its connection alive between requests
 * (MAXCONNECTS 1), so the number of open connections per host never exceeds the bound and does
 * not grow with the number of requests. DNS results and TLS sessions are shared between handles
 * through a CURLSH. HTTP/2 is negotiated by ALPN on TLS connections.
 *
 * HTTP/2 multiplexing. https requests (unless disable_multiplex) are not run by
 * curl_easy_perform but handed to the pool's http_multi: one CURLM driven by one I/O thread
 * started on the first such request, which multiplexes streams (CURLPIPE_MULTIPLEX), opens at
 * most max_connections_per_host connections per host, and makes new transfers wait for an
 * existing connection to tell whether it speaks h2 (PIPEWAIT) instead of opening their own. The
 * handle bound then limits transfers in flight, which may share one connection. The caller
 * blocks until its transfer is done; the I/O thread only receives (and reads the status and
 * error bodies), while the body of a 2xx answer is handed back to the caller, who hashes it and
 * feeds the sink on its own thread: the sink is never used by two threads at once, and the
 * hashing, compressing and writing of parallel downloads run in parallel. Everything around
 * that one step (retries, sinks, hashing, status mapping) is shared by both paths. Plain http
 * uses curl_easy_perform, and so do requests for a connection of their own (own_connection:
 * block downloads), whose handles then keep their connection like plain http's: receiving,
 * decrypting and checking a large body on its caller's thread, with no handoff, costs the least
 * CPU and runs parallel downloads truly in parallel. Their handles keep those connections
 * while the multiplexed requests keep theirs: to a host speaking HTTP/2 that is one connection
 * more than max_connections_per_host at most (to an https host without HTTP/2, up to twice as
 * many); requests in flight stay within the bound. Idle handles wait in two stacks (see struct
 * origin), so that a multiplexed request never takes a handle holding a warm connection of its
 * own (libcurl may close it), and a block download knows whether one is warm. On a far link (a
 * measured round trip of FAR_LINK_RTT_S or more) a block download that finds no such handle is
 * multiplexed instead of opening a connection whose TCP and TLS handshakes would cost 2-3 round
 * trips (a cold small read over HTTPS paid 5 round trips for 2 requests), one block at a time:
 * blocks downloaded beside it open their own connections, which stay warm for the next ones.
 *
 * A request is retried (idempotent requests only) on connection errors, timeouts, 5xx and 429,
 * after an exponential backoff with jitter or the server's Retry-After, while both the retry
 * count and the time budget allow. Only a 2xx body reaches the caller's sink, hashed with SHA-1
 * on the way (unless the sink checks the SHA-1 itself, so no block is hashed twice); the start
 * of an error body is kept for messages (all of it in request->error_body when asked). A
 * non-idempotent POST/PUT never goes over a reused connection, so that libcurl cannot send it
 * twice on its own. Header logging redacts
 * credentials; request bodies (which may hold a password) are never logged.
 *
 * Locking: pool->lock protects the origin list, every origin's handle stack and the counters.
 * It is never held during network I/O, nor together with http_multi's own lock. Lock order:
 * pool->lock, then libcurl's share locks. */
#include "http_pool.h"
#include "seaf_clock.h"

#include "http_multi.h"
#include "seaf_sha1.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define DEFAULT_MAX_CONNECTIONS    4
#define DEFAULT_CONNECT_TIMEOUT_MS 10000
#define DEFAULT_LOW_SPEED_TIME_S   60
#define DEFAULT_LOW_SPEED_LIMIT    1
#define DEFAULT_MAX_RETRIES        4
#define DEFAULT_RETRY_BASE_MS      200
#define DEFAULT_RETRY_MAX_DELAY_MS 10000
#define DEFAULT_RETRY_BUDGET_MS    60000
#define MAX_REDIRECTS              5
/* Bytes libcurl reads from the socket at once (its default, 16 KiB, is small for bodies of
 * several MiB). */
#define RECEIVE_BUFFER_SIZE (256L * 1024)

/* A block download (own_connection) goes over the multiplexed connection instead of opening a
 * connection of its own when the link's round trip is at least this long (and no other block
 * is being multiplexed): TCP's and TLS's handshakes would cost 2-3 round trips. */
#define FAR_LINK_RTT_S 0.005

/* The pooled easy handles of one origin, idle in two stacks: the ones that keep a connection of
 * their own, and the others. A block download asks for the first kind (and knows whether one is
 * warm: see choose_handle_locked); a multiplexed request never takes one (libcurl's
 * curl_multi_add_handle frees the private connection cache curl_easy_perform made for a handle,
 * in the versions whose source was read; 7.88's kept the connection in the unit test). All
 * fields are protected by pool->lock. */
struct origin {
    char *name;      /* "scheme://host:port" */
    CURL **idle_own; /* idle handles whose last transfer ran on the calling thread:
                        each keeps its connection */
    unsigned idle_own_count;
    CURL **idle_shared; /* idle handles whose last transfer was multiplexed: they hold
                           no connection (the CURLM does) */
    unsigned idle_shared_count;
    unsigned in_use;             /* requests holding a handle (at most max_connections_per_host) */
    unsigned blocks_multiplexed; /* own_connection requests running multiplexed now */
    pthread_cond_t freed;        /* signalled when a handle goes back to idle */
    struct origin *next;
};

struct http_pool {
    struct http_pool_options options; /* defaults filled in; strings point to the copies below */
    char *user_agent;
    char *ca_file;
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST]; /* one per kind of shared data */
    pthread_mutex_t lock;
    struct origin *origins;       /* protected by lock */
    struct http_pool_stats stats; /* protected by lock, except bytes_received: */
    _Atomic uint64_t bytes_received;
    _Atomic uint64_t random_state;
    struct link_estimate link; /* fed by every answered GET */
    struct http_multi *multi;  /* the multiplexed transfers (see the top of the file) */
};

/* What one attempt of a request collects while libcurl runs it. */
struct transfer {
    struct http_pool *pool;
    const struct http_request *request;
    CURL *curl;
    bool multiplexed;       /* runs through pool->multi (chosen with the handle) */
    bool block_multiplexed; /* an own_connection request sent multiplexed (counted in the origin) */
    struct seaf_sha1 *sha1; /* NULL when the sink checks the SHA-1 itself */
    struct http_response *response;
    size_t error_len;      /* bytes of error_text used */
    long retry_after_s;    /* Retry-After of the last response, -1 if none */
    seaf_err sink_err;     /* the sink's failure, which aborted the transfer */
    bool delivered;        /* the sink received bytes during this attempt */
    bool status_known;     /* status read on the first body chunk */
    bool stalled;          /* aborted for making no progress */
    long no_progress_ms;   /* the bound on a silence */
    long last_progress_ms; /* when bytes last moved (either direction) */
    curl_off_t last_down;  /* byte counts seen at that time */
    curl_off_t last_up;
};

static pthread_once_t curl_global_once = PTHREAD_ONCE_INIT;
static CURLcode curl_global_result;

static void curl_global_setup(void)
{
    curl_global_result = curl_global_init(CURL_GLOBAL_ALL);
}

static void pool_log(struct http_pool *pool, enum http_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void pool_log(struct http_pool *pool, enum http_log_level level, const char *fmt, ...)
{
    char message[512];
    va_list args;

    if (!pool->options.log)
        return;
    va_start(args, fmt);
    vsnprintf(message, sizeof(message), fmt, args);
    va_end(args);
    pool->options.log(pool->options.log_ctx, level, message);
}

/* ---- small pure helpers ------------------------------------------------------------------ */

long http_backoff_delay_ms(unsigned attempt, long base_ms, long max_delay_ms, uint64_t random)
{
    long delay = base_ms;

    for (unsigned i = 1; i < attempt && delay < max_delay_ms; i++)
        delay *= 2;
    if (delay > max_delay_ms)
        delay = max_delay_ms;
    if (delay <= 1)
        return delay;
    return delay / 2 + (long)(random % (uint64_t)(delay - delay / 2 + 1));
}

long http_parse_retry_after_s(const char *value)
{
    long seconds = 0;
    const char *p = value;

    while (*p == ' ' || *p == '\t')
        p++;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        if (seconds > 86400)
            return 86400;
        seconds = seconds * 10 + (*p - '0');
    }
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0' ? seconds : -1;
}

static const char *const secret_headers[] = {
    "authorization", "seafile-repo-token", "x-seafile-otp",       "x-seafile-s2fa",
    "cookie",        "set-cookie",         "proxy-authorization",
};

/* Whether c may be part of a header name. */
static bool header_name_char(char c)
{
    return isalnum((unsigned char)c) || c == '-' || c == '_';
}

void http_redact_line(const char *line, size_t len, char *out, size_t out_size)
{
    const char *colon = memchr(line, ':', len);
    /* The name before the colon: the whole start of a header line, or the last word of a
     * libcurl message quoting a header (HTTP/2: "h2h3 [authorization: Token ...]"). */
    const char *name = colon;
    while (name && name > line && header_name_char(name[-1]))
        name--;
    size_t name_len = colon ? (size_t)(colon - name) : 0;

    if (out_size == 0)
        return;
    for (size_t i = 0; colon && i < sizeof(secret_headers) / sizeof(secret_headers[0]); i++) {
        if (strlen(secret_headers[i]) == name_len &&
            strncasecmp(name, secret_headers[i], name_len) == 0) {
            snprintf(out, out_size, "%.*s: <redacted>%s", (int)(colon - line), line,
                     name > line && name[-1] == '[' ? "]" : "");
            return;
        }
    }
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    snprintf(out, out_size, "%.*s", (int)(len < out_size ? len : out_size - 1), line);
}

static uint64_t pool_random(struct http_pool *pool)
{
    /* splitmix64 over an atomic counter: cheap, thread-safe, good enough for jitter. */
    uint64_t z = atomic_fetch_add(&pool->random_state, 0x9E3779B97F4A7C15ull);

    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ---- buffer sink ------------------------------------------------------------------------- */

void http_buffer_init(struct http_buffer *buffer, size_t limit)
{
    buffer->data = NULL;
    buffer->len = 0;
    buffer->limit = limit;
}

void http_buffer_release(struct http_buffer *buffer)
{
    free(buffer->data);
    http_buffer_init(buffer, buffer->limit);
}

static seaf_err buffer_write(void *ctx, const void *data, size_t len)
{
    struct http_buffer *buffer = ctx;
    char *grown;

    if (len > buffer->limit - buffer->len)
        return SEAF_ERR_PROTOCOL;
    grown = realloc(buffer->data, buffer->len + len + 1);
    if (!grown)
        return SEAF_ERR_NOMEM;
    memcpy(grown + buffer->len, data, len);
    buffer->data = grown;
    buffer->len += len;
    buffer->data[buffer->len] = '\0';
    return SEAF_OK;
}

static seaf_err buffer_reset(void *ctx)
{
    struct http_buffer *buffer = ctx;

    buffer->len = 0;
    if (buffer->data)
        buffer->data[0] = '\0';
    return SEAF_OK;
}

struct http_sink http_buffer_sink(struct http_buffer *buffer)
{
    return (struct http_sink){.write = buffer_write, .reset = buffer_reset, .ctx = buffer};
}

/* ---- pool lifecycle ---------------------------------------------------------------------- */

static void share_lock(CURL *handle, curl_lock_data data, curl_lock_access access, void *ctx)
{
    struct http_pool *pool = ctx;

    (void)handle;
    (void)access;
    pthread_mutex_lock(&pool->share_locks[data]);
}

static void share_unlock(CURL *handle, curl_lock_data data, void *ctx)
{
    struct http_pool *pool = ctx;

    (void)handle;
    pthread_mutex_unlock(&pool->share_locks[data]);
}

static void fill_defaults(struct http_pool_options *o)
{
    if (o->max_connections_per_host == 0)
        o->max_connections_per_host = DEFAULT_MAX_CONNECTIONS;
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = DEFAULT_CONNECT_TIMEOUT_MS;
    if (o->low_speed_time_s <= 0)
        o->low_speed_time_s = DEFAULT_LOW_SPEED_TIME_S;
    if (o->low_speed_limit <= 0)
        o->low_speed_limit = DEFAULT_LOW_SPEED_LIMIT;
    if (!o->retry_set)
        o->max_retries = DEFAULT_MAX_RETRIES;
    if (o->retry_base_ms <= 0)
        o->retry_base_ms = DEFAULT_RETRY_BASE_MS;
    if (o->retry_max_delay_ms <= 0)
        o->retry_max_delay_ms = DEFAULT_RETRY_MAX_DELAY_MS;
    if (o->retry_budget_ms <= 0)
        o->retry_budget_ms = DEFAULT_RETRY_BUDGET_MS;
}

struct http_pool *http_pool_new(const struct http_pool_options *options, seaf_err *err)
{
    struct http_pool *pool;

    pthread_once(&curl_global_once, curl_global_setup);
    if (curl_global_result != CURLE_OK) {
        *err = SEAF_ERR_NOMEM;
        return NULL;
    }
    pool = calloc(1, sizeof(*pool));
    if (!pool) {
        *err = SEAF_ERR_NOMEM;
        return NULL;
    }
    if (options)
        pool->options = *options;
    fill_defaults(&pool->options);
    pool->user_agent =
        strdup(pool->options.user_agent ? pool->options.user_agent : "seafs/" SEAFS_VERSION);
    pool->ca_file = pool->options.ca_file ? strdup(pool->options.ca_file) : NULL;
    pool->options.user_agent = pool->user_agent;
    pool->options.ca_file = pool->ca_file;
    pool->share = curl_share_init();
    atomic_init(&pool->random_state, (uint64_t)seaf_monotonic_ms() ^ (uint64_t)(uintptr_t)pool);
    pthread_mutex_init(&pool->lock, NULL);
    link_estimate_init(&pool->link);
    pool->multi = http_multi_new(pool->options.max_connections_per_host);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&pool->share_locks[i], NULL);
    if (!pool->user_agent || (options && options->ca_file && !pool->ca_file) || !pool->share ||
        !pool->multi) {
        http_pool_free(pool);
        *err = SEAF_ERR_NOMEM;
        return NULL;
    }
    curl_share_setopt(pool->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(pool->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(pool->share, CURLSHOPT_USERDATA, pool);
    curl_share_setopt(pool->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(pool->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    if (pool->options.insecure_skip_tls_verify)
        pool_log(pool, HTTP_LOG_WARNING,
                 "TLS certificate verification is DISABLED: the server's identity is not checked");
    *err = SEAF_OK;
    return pool;
}

void http_pool_free(struct http_pool *pool)
{
    struct origin *origin;

    if (!pool)
        return;
    http_multi_free(pool->multi);
    while ((origin = pool->origins) != NULL) {
        pool->origins = origin->next;
        for (unsigned i = 0; i < origin->idle_own_count; i++)
            curl_easy_cleanup(origin->idle_own[i]);
        for (unsigned i = 0; i < origin->idle_shared_count; i++)
            curl_easy_cleanup(origin->idle_shared[i]);
        pthread_cond_destroy(&origin->freed);
        free(origin->idle_own);
        free(origin->idle_shared);
        free(origin->name);
        free(origin);
    }
    if (pool->share)
        curl_share_cleanup(pool->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&pool->share_locks[i]);
    pthread_mutex_destroy(&pool->lock);
    link_estimate_destroy(&pool->link);
    free(pool->user_agent);
    free(pool->ca_file);
    free(pool);
}

void http_pool_get_stats(struct http_pool *pool, struct http_pool_stats *stats)
{
    pthread_mutex_lock(&pool->lock);
    *stats = pool->stats;
    pthread_mutex_unlock(&pool->lock);
    stats->bytes_received = atomic_load(&pool->bytes_received);
}

void http_pool_link(struct http_pool *pool, struct link_figures *out)
{
    link_estimate_get(&pool->link, out);
}

/* ---- handle acquisition ------------------------------------------------------------------ */

/* Writes "scheme://host:port" of url into a new string; NULL if url is not an http(s) URL. */
static char *origin_of(const char *url)
{
    CURLU *u = curl_url();
    char *scheme = NULL;
    char *host = NULL;
    char *port = NULL;
    char *name = NULL;

    if (!u)
        return NULL;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK &&
        (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0)) {
        size_t size = strlen(scheme) + strlen(host) + strlen(port) + 5;

        name = malloc(size);
        if (name)
            snprintf(name, size, "%s://%s:%s", scheme, host, port);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return name;
}

/* The request's URL as logs may show it: only its origin when it carries a secret. */
static const char *loggable_url(const struct http_request *request, char *out, size_t size)
{
    if (!request->url_has_secret)
        return request->url;
    char *origin = origin_of(request->url);
    snprintf(out, size, "%s/<redacted>", origin ? origin : "");
    free(origin);
    return out;
}

static struct origin *find_or_add_origin(struct http_pool *pool, char *name)
{
    struct origin *origin;

    for (origin = pool->origins; origin; origin = origin->next) {
        if (strcmp(origin->name, name) == 0) {
            free(name);
            return origin;
        }
    }
    origin = calloc(1, sizeof(*origin));
    if (origin) {
        /* Each stack holds at most that many: a handle joins idle_own only from a request that
         * found it empty (so all own handles were in use), idle_shared likewise. */
        origin->idle_own = calloc(pool->options.max_connections_per_host, sizeof(CURL *));
        origin->idle_shared = calloc(pool->options.max_connections_per_host, sizeof(CURL *));
    }
    if (!origin || !origin->idle_own || !origin->idle_shared) {
        if (origin) {
            free(origin->idle_own);
            free(origin->idle_shared);
            free(origin);
        }
        free(name);
        return NULL;
    }
    origin->name = name;
    pthread_cond_init(&origin->freed, NULL);
    origin->next = pool->origins;
    pool->origins = origin;
    return origin;
}

/* The pool's record of url's origin (created on first use; it lives as long as the pool). */
static seaf_err origin_for_url(struct http_pool *pool, const char *url, struct origin **out)
{
    char *name = origin_of(url);

    if (!name)
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&pool->lock);
    *out = find_or_add_origin(pool, name);
    pthread_mutex_unlock(&pool->lock);
    return *out ? SEAF_OK : SEAF_ERR_NOMEM;
}

/* Whether the pool runs the transfers of url through its multiplexer (https, unless
 * multiplexing is off). */
static bool multiplexes(const struct http_pool *pool, const char *url)
{
    bool https = strncasecmp(url, "https://", 8) == 0;
    return (https && !pool->options.disable_multiplex) || pool->options.http_on_io_thread;
}

/* Chooses how t's request runs (t->multiplexed, t->block_multiplexed) and pops the idle handle
 * for it (NULL: create one). A request for its own connection takes a handle that keeps one
 * when there is such; else, on a far link, it is multiplexed (one block at a time: the others
 * open connections, which then stay warm for the next blocks) instead of paying the handshakes.
 * Called with pool->lock held. */
static CURL *choose_handle_locked(struct origin *origin, struct transfer *t, bool far)
{
    const struct http_request *r = t->request;
    t->multiplexed = multiplexes(t->pool, r->url) && !r->own_connection;
    t->block_multiplexed = false;
    if (multiplexes(t->pool, r->url) && r->own_connection && origin->idle_own_count == 0 && far &&
        origin->blocks_multiplexed == 0) {
        t->multiplexed = true;
        t->block_multiplexed = true;
        origin->blocks_multiplexed++;
    }
    if (t->multiplexed)
        return origin->idle_shared_count > 0 ? origin->idle_shared[--origin->idle_shared_count]
                                             : NULL;
    if (origin->idle_own_count > 0)
        return origin->idle_own[--origin->idle_own_count];
    return origin->idle_shared_count > 0 ? origin->idle_shared[--origin->idle_shared_count] : NULL;
}

/* Takes a handle of origin for t (t->curl), waiting while max_connections_per_host requests
 * hold one, and chooses how the request runs. */
static seaf_err acquire_handle(struct http_pool *pool, struct origin *origin, struct transfer *t)
{
    struct link_figures link;
    link_estimate_get(&pool->link, &link);
    bool far = link.rtt_s >= FAR_LINK_RTT_S;

    pthread_mutex_lock(&pool->lock);
    while (origin->in_use >= pool->options.max_connections_per_host)
        pthread_cond_wait(&origin->freed, &pool->lock);
    origin->in_use++;
    t->curl = choose_handle_locked(origin, t, far);
    pthread_mutex_unlock(&pool->lock);
    if (!t->curl && !(t->curl = curl_easy_init())) {
        pthread_mutex_lock(&pool->lock);
        origin->in_use--;
        if (t->block_multiplexed)
            origin->blocks_multiplexed--;
        pthread_cond_signal(&origin->freed);
        pthread_mutex_unlock(&pool->lock);
        return SEAF_ERR_NOMEM;
    }
    return SEAF_OK;
}

/* Puts t's handle back with the idle handles of its kind. */
static void release_handle(struct http_pool *pool, struct origin *origin, struct transfer *t)
{
    pthread_mutex_lock(&pool->lock);
    if (t->multiplexed)
        origin->idle_shared[origin->idle_shared_count++] = t->curl;
    else
        origin->idle_own[origin->idle_own_count++] = t->curl;
    if (t->block_multiplexed)
        origin->blocks_multiplexed--;
    origin->in_use--;
    t->curl = NULL;
    pthread_cond_signal(&origin->freed);
    pthread_mutex_unlock(&pool->lock);
}

/* ---- libcurl callbacks ------------------------------------------------------------------- */

static bool is_success(long status)
{
    return status >= 200 && status < 300;
}

/* Reads the status with the first chunk of a response and keeps what a non-2xx body says (its
 * start for messages, all of it in request->error_body when asked). False when the chunk is part
 * of a 2xx body, for the sink; else *keep_going is false when the transfer is to end. */
static bool take_error_body(struct transfer *t, const char *data, size_t len, bool *keep_going)
{
    *keep_going = true;
    if (!t->status_known) {
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->response->status);
        t->status_known = true;
    }
    if (is_success(t->response->status))
        return false;
    size_t room = sizeof(t->response->error_text) - 1 - t->error_len;
    size_t n = len < room ? len : room;
    struct http_buffer *whole = t->request->error_body;

    memcpy(t->response->error_text + t->error_len, data, n);
    t->error_len += n;
    t->response->error_text[t->error_len] = '\0';
    if (whole) {
        n = len < whole->limit - whole->len ? len : whole->limit - whole->len;
        t->sink_err = buffer_write(whole, data, n);
        *keep_going = t->sink_err == SEAF_OK;
    }
    return true;
}

/* Hands len bytes of a 2xx body to the sink, hashing them on the way unless the sink checks
 * the SHA-1 itself. False (with t->sink_err) when the sink refused them. */
static bool deliver_body(void *ctx, const void *data, size_t len)
{
    struct transfer *t = ctx;
    const struct http_sink *sink = t->request->sink;

    if (t->sha1)
        seaf_sha1_update(t->sha1, data, len);
    t->response->body_len += len;
    atomic_fetch_add(&t->pool->bytes_received, len);
    t->delivered = true;
    if (sink && sink->write) {
        t->sink_err = sink->write(sink->ctx, data, len);
        if (t->sink_err != SEAF_OK)
            return false;
    }
    return true;
}

/* libcurl's write callback of a transfer run on this thread. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
    struct transfer *t = ctx;
    size_t len = size * nmemb;
    bool keep_going;

    if (take_error_body(t, data, len, &keep_going))
        return keep_going ? len : 0;
    if (len == 0)
        return 0;
    return deliver_body(t, data, len) ? len : 0; /* anything but len aborts the transfer */
}

/* What the I/O thread does with a chunk of a multiplexed transfer (see http_multi.h). */
static enum http_multi_chunk classify_chunk(void *ctx, const char *data, size_t len)
{
    struct transfer *t = ctx;
    bool keep_going;

    if (!take_error_body(t, data, len, &keep_going))
        return HTTP_MULTI_QUEUE;
    return keep_going ? HTTP_MULTI_HANDLED : HTTP_MULTI_ABORT;
}

/* Copies a header value (after "Name:") without surrounding blanks and CRLF. */
static void copy_header_value(const char *value, size_t len, char *out, size_t out_size)
{
    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)value[len - 1]))
        len--;
    if (len >= out_size)
        len = out_size - 1;
    memcpy(out, value, len);
    out[len] = '\0';
}

static bool header_is(const char *line, size_t len, const char *name)
{
    size_t name_len = strlen(name);

    return len > name_len && line[name_len] == ':' && strncasecmp(line, name, name_len) == 0;
}

/* Forgets the headers captured so far (a new response starts). */
static void forget_captures(struct http_response *response)
{
    response->has_captured = false;
    response->captured[0] = '\0';
    memset(response->captures, 0, sizeof(response->captures));
    memset(response->has_capture, 0, sizeof(response->has_capture));
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ctx)
{
    struct transfer *t = ctx;
    size_t len = size * nmemb;
    const char *capture = t->request->capture_header;
    char value[64];

    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A new response (after a redirect or 1xx): forget what the previous one said. */
        t->retry_after_s = -1;
        forget_captures(t->response);
    } else if (header_is(line, len, "Retry-After")) {
        copy_header_value(line + 12, len - 12, value, sizeof(value));
        t->retry_after_s = http_parse_retry_after_s(value);
    } else if (capture && header_is(line, len, capture)) {
        size_t skip = strlen(capture) + 1;

        copy_header_value(line + skip, len - skip, t->response->captured,
                          sizeof(t->response->captured));
        t->response->has_captured = true;
    }
    for (unsigned i = 0;
         t->request->capture_headers && i < HTTP_MAX_CAPTURES && t->request->capture_headers[i];
         i++) {
        const char *name = t->request->capture_headers[i];
        if (header_is(line, len, name)) {
            size_t skip = strlen(name) + 1;
            copy_header_value(line + skip, len - skip, t->response->captures[i],
                              sizeof(t->response->captures[i]));
            t->response->has_capture[i] = true;
        }
    }
    return len;
}

/* Aborts a transfer during which no byte moved for no_progress_ms: libcurl's own low-speed
 * check averages over several seconds, so alone it would overshoot the configured bound. */
static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct transfer *t = ctx;
    long now = seaf_monotonic_ms();

    (void)dltotal;
    (void)ultotal;
    if (dlnow != t->last_down || ulnow != t->last_up) {
        t->last_down = dlnow;
        t->last_up = ulnow;
        t->last_progress_ms = now;
        return 0;
    }
    if (now - t->last_progress_ms > t->no_progress_ms) {
        t->stalled = true;
        return 1;
    }
    return 0;
}

/* The request line of a URL that carries a secret, shown without its target. */
static bool is_request_line(const char *line, size_t len)
{
    static const char *const methods[] = {"GET ", "POST ", "PUT "};
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
        if (len > strlen(methods[i]) && strncmp(line, methods[i], strlen(methods[i])) == 0)
            return true;
    return false;
}

static int on_debug(CURL *curl, curl_infotype type, char *data, size_t size, void *ctx)
{
    struct transfer *t = ctx;
    struct http_pool *pool = t->pool;
    bool secret_url = t->request->url_has_secret;
    const char *prefix = type == CURLINFO_HEADER_OUT  ? "> "
                         : type == CURLINFO_HEADER_IN ? "< "
                                                      : "* ";
    char line[512];

    (void)curl;
    if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
        return 0; /* bodies are never logged: they may hold a password */
    if (secret_url && type == CURLINFO_TEXT)
        return 0; /* libcurl's own messages may quote the URL */
    while (size > 0) {
        const char *end = memchr(data, '\n', size);
        size_t len = end ? (size_t)(end - data) + 1 : size;

        if (secret_url && type == CURLINFO_HEADER_OUT && is_request_line(data, len))
            snprintf(line, sizeof(line), "%.*s<redacted>",
                     (int)((const char *)memchr(data, ' ', len) - data + 1), data);
        else
            http_redact_line(data, len, line, sizeof(line));
        if (line[0])
            pool_log(pool, HTTP_LOG_DEBUG, "%s%s", prefix, line);
        data += len;
        size -= len;
    }
    return 0;
}

/* Performs the configured transfer once: multiplexed when acquire_handle chose so, else on
 * this thread. */
static CURLcode perform_once(struct http_pool *pool, struct transfer *t)
{
    if (t->multiplexed) {
        struct http_multi_body body = {
            .classify = classify_chunk, .deliver = deliver_body, .ctx = t};
        return http_multi_perform(pool->multi, t->curl, &body);
    }
    return curl_easy_perform(t->curl);
}

/* ---- one attempt ------------------------------------------------------------------------- */

static struct curl_slist *build_headers(const struct http_request *request)
{
    struct curl_slist *list = NULL;
    struct curl_slist *grown;
    char content_type[256];

    for (const char *const *h = request->headers; h && *h; h++) {
        grown = curl_slist_append(list, *h);
        if (!grown)
            goto fail;
        list = grown;
    }
    grown = curl_slist_append(list, "Expect:");
    if (!grown)
        goto fail;
    list = grown;
    if (request->method != HTTP_GET) {
        snprintf(content_type, sizeof(content_type), "Content-Type:%s%s",
                 request->content_type ? " " : "",
                 request->content_type ? request->content_type : "");
        grown = curl_slist_append(list, content_type);
        if (!grown)
            goto fail;
        list = grown;
    }
    return list;
fail:
    curl_slist_free_all(list);
    return NULL;
}

static void configure(struct http_pool *pool, struct transfer *t, struct curl_slist *headers)
{
    const struct http_request *r = t->request;
    CURL *c = t->curl;
    long low_speed_time =
        r->low_speed_time_s > 0 ? r->low_speed_time_s : pool->options.low_speed_time_s;

    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, r->url);
    curl_easy_setopt(c, CURLOPT_SHARE, pool->share);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)MAX_REDIRECTS);
    curl_easy_setopt(c, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
    curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, RECEIVE_BUFFER_SIZE);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(c, CURLOPT_USERAGENT, pool->user_agent);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, pool->options.connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, pool->options.low_speed_limit);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, low_speed_time);
    if (pool->ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, pool->ca_file);
    if (pool->options.insecure_skip_tls_verify) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    t->no_progress_ms = low_speed_time * 1000;
    t->last_progress_ms = seaf_monotonic_ms();
    t->last_down = 0;
    t->last_up = 0;
    if (pool->options.debug && pool->options.log) {
        curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, on_debug);
        curl_easy_setopt(c, CURLOPT_DEBUGDATA, t);
        curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    }
    if (r->method == HTTP_GET) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        return;
    }
    /* A reused connection found dead before any answer byte makes libcurl resend the request
     * on a new one; for a request that must not run twice there is no reused connection. */
    if (!r->idempotent)
        curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body ? (const char *)r->body : "");
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(r->body ? r->body_len : 0));
    if (r->method == HTTP_PUT)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
}

static seaf_err curl_to_err(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK:
        return SEAF_OK;
    case CURLE_OUT_OF_MEMORY:
        return SEAF_ERR_NOMEM;
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return SEAF_ERR_INVALID_ARG;
    case CURLE_OPERATION_TIMEDOUT:
        return SEAF_ERR_TIMEOUT;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
        return SEAF_ERR_TLS;
    case CURLE_TOO_MANY_REDIRECTS:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
        return SEAF_ERR_PROTOCOL;
    default:
        return SEAF_ERR_NETWORK;
    }
}

/* True for transport failures worth another attempt (the request may not have been served). */
static bool curl_error_retryable(CURLcode rc)
{
    seaf_err err = curl_to_err(rc);

    return err == SEAF_ERR_NETWORK || err == SEAF_ERR_TIMEOUT;
}

static bool status_retryable(long status)
{
    return status == 429 || status == 408 || (status >= 500 && status <= 599);
}

/* Feeds the link estimate with the timing of an answered GET (a request with a body to send
 * would count the upload as waiting). */
static void sample_link(struct http_pool *pool, struct transfer *t)
{
    curl_off_t sent = 0, first_byte = 0, total = 0;
    curl_easy_getinfo(t->curl, CURLINFO_PRETRANSFER_TIME_T, &sent);
    curl_easy_getinfo(t->curl, CURLINFO_STARTTRANSFER_TIME_T, &first_byte);
    curl_easy_getinfo(t->curl, CURLINFO_TOTAL_TIME_T, &total);
    if (first_byte < sent || total < first_byte)
        return;
    link_estimate_add(&pool->link, (double)(first_byte - sent) / 1e6, t->response->body_len,
                      (double)(total - first_byte) / 1e6);
}

/* Runs one attempt. Returns the transport-level result; response->status holds the status. */
static seaf_err run_attempt(struct http_pool *pool, struct transfer *t, bool *retryable)
{
    struct curl_slist *headers = build_headers(t->request);
    struct http_response *response = t->response;
    CURLcode rc;
    long connects = 0;

    *retryable = false;
    if (!headers)
        return SEAF_ERR_NOMEM;
    response->status = 0;
    response->body_len = 0;
    response->error_text[0] = '\0';
    forget_captures(response);
    t->error_len = 0;
    if (t->request->error_body)
        buffer_reset(t->request->error_body);
    t->retry_after_s = -1;
    t->sink_err = SEAF_OK;
    t->delivered = false;
    t->status_known = false;
    t->stalled = false;
    response->body_id[0] = '\0';
    configure(pool, t, headers);
    rc = perform_once(pool, t);
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &response->status);
    curl_easy_getinfo(t->curl, CURLINFO_NUM_CONNECTS, &connects);
    if (rc == CURLE_OK && response->status > 0 && t->request->method == HTTP_GET)
        sample_link(pool, t);
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    pthread_mutex_lock(&pool->lock);
    pool->stats.attempts++;
    pool->stats.connections_opened += (uint64_t)connects;
    pthread_mutex_unlock(&pool->lock);
    if (t->sink_err != SEAF_OK)
        return t->sink_err;
    if (rc == CURLE_ABORTED_BY_CALLBACK && t->stalled)
        rc = CURLE_OPERATION_TIMEDOUT;
    if (rc != CURLE_OK) {
        char url[512];
        *retryable = curl_error_retryable(rc);
        pool_log(pool, HTTP_LOG_INFO, "request to %s failed: %s",
                 loggable_url(t->request, url, sizeof(url)), curl_easy_strerror(rc));
        return curl_to_err(rc);
    }
    *retryable = status_retryable(response->status);
    return SEAF_OK;
}

seaf_err http_pool_perform(struct http_pool *pool, const struct http_request *request,
                           struct http_response *response)
{
    struct transfer t = {.pool = pool, .request = request, .response = response};
    struct origin *origin = NULL;
    unsigned attempt;
    seaf_err err;
    long started;

    memset(response, 0, sizeof(*response));
    if (!request || !request->url || request->method > HTTP_PUT)
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&pool->lock);
    pool->stats.requests++;
    pool->stats.in_progress++;
    pthread_mutex_unlock(&pool->lock);
    err = origin_for_url(pool, request->url, &origin);
    if (err == SEAF_OK && !(request->sink && request->sink->checks_sha1))
        err = seaf_sha1_new(&t.sha1);
    if (err != SEAF_OK)
        goto out_done;
    err = acquire_handle(pool, origin, &t);
    if (err != SEAF_OK)
        goto out_free_sha1;
    started = seaf_monotonic_ms();
    for (attempt = 1;; attempt++) {
        bool retryable;
        long delay;
        char reason[64];

        response->attempts = attempt;
        err = run_attempt(pool, &t, &retryable);
        if (!retryable || !request->idempotent || attempt > pool->options.max_retries)
            break;
        if (t.delivered && !(request->sink && request->sink->reset))
            break;
        delay = t.retry_after_s >= 0
                    ? t.retry_after_s * 1000
                    : http_backoff_delay_ms(attempt, pool->options.retry_base_ms,
                                            pool->options.retry_max_delay_ms, pool_random(pool));
        if (delay > pool->options.retry_max_delay_ms)
            delay = pool->options.retry_max_delay_ms;
        if (seaf_monotonic_ms() + delay - started > pool->options.retry_budget_ms)
            break;
        if (t.delivered) {
            seaf_err reset_err = request->sink->reset(request->sink->ctx);

            if (reset_err == SEAF_OK && t.sha1)
                reset_err = seaf_sha1_reset(t.sha1); /* hash the next body from its start */
            if (reset_err != SEAF_OK) {
                err = reset_err;
                break;
            }
        }
        if (err != SEAF_OK)
            snprintf(reason, sizeof(reason), "%s", seaf_strerror(err));
        else
            snprintf(reason, sizeof(reason), "HTTP %ld", response->status);
        char url[512];
        pool_log(pool, HTTP_LOG_WARNING, "retrying %s in %ld ms after %s (attempt %u)",
                 loggable_url(request, url, sizeof(url)), delay, reason, attempt + 1);
        pthread_mutex_lock(&pool->lock);
        pool->stats.retries++;
        pthread_mutex_unlock(&pool->lock);
        /* Other requests may use the connection slot while this one waits. */
        release_handle(pool, origin, &t);
        sleep_ms(delay);
        err = acquire_handle(pool, origin, &t);
        if (err != SEAF_OK)
            goto out_free_sha1;
    }
    if (err == SEAF_OK && is_success(response->status) && t.sha1)
        seaf_sha1_final(t.sha1, response->body_id);
    release_handle(pool, origin, &t);
out_free_sha1:
    seaf_sha1_free(t.sha1);
out_done:
    pthread_mutex_lock(&pool->lock);
    pool->stats.in_progress--;
    pthread_mutex_unlock(&pool->lock);
    return err;
}
