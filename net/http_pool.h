/* http_pool: the one place seafs talks HTTP. A thread-safe pool of reused libcurl connections,
 * bounded per host, with timeouts, bounded retries with backoff, TLS verification and bodies
 * streamed to a caller sink while their SHA-1 is computed. Nothing above net/ uses libcurl. */
#ifndef SEAFS_HTTP_POOL_H
#define SEAFS_HTTP_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link_estimate.h"
#include "seaf_error.h"
#include "seaf_ids.h"

struct http_pool;

/* Levels of the optional log callback (syslog-like). */
enum http_log_level { HTTP_LOG_ERROR, HTTP_LOG_WARNING, HTTP_LOG_INFO, HTTP_LOG_DEBUG };

/* Log sink. Called from any thread; messages never contain credentials (see http_redact_line). */
typedef void (*http_log_fn)(void *ctx, enum http_log_level level, const char *message);

struct http_pool_options {
    unsigned max_connections_per_host; /* concurrent requests (and connections, see
                                          own_connection) per scheme://host:port; 0 = 4 */
    long connect_timeout_ms;           /* 0 = 10000 */
    long low_speed_time_s;             /* abort a transfer (as SEAF_ERR_TIMEOUT) when no byte has
                                          moved for this many seconds, or when it stays slower
                                          than low_speed_limit bytes/s that long; 0 = 60 */
    long low_speed_limit;              /* bytes per second; 0 = 1 */
    unsigned max_retries;              /* extra attempts of idempotent requests; see retry_set */
    bool retry_set;                    /* false: use 4 retries (max_retries ignored) */
    long retry_base_ms;                /* first backoff delay; 0 = 200 */
    long retry_max_delay_ms;       /* cap of one backoff delay (and of Retry-After); 0 = 10000 */
    long retry_budget_ms;          /* no retry starts later than this after the first
                                      attempt began; 0 = 60000 */
    const char *ca_file;           /* PEM bundle to trust instead of the system store */
    bool insecure_skip_tls_verify; /* disables certificate checks; logs a warning */
    const char *user_agent;        /* NULL = "seafs/<version>" */
    bool debug;                    /* log request/response headers (redacted) at DEBUG */
    bool disable_multiplex;        /* false: https requests share HTTP/2 connections (streams
                                      multiplexed, max_connections_per_host then bounds the
                                      requests in flight); true: one connection per request */
    bool http_on_io_thread;        /* plain http transfers too go through the I/O thread that
                                      runs the multiplexed ones (for tests of that path) */
    http_log_fn log;               /* NULL = silent */
    void *log_ctx;
};

/* Creates a pool. Returns NULL with *err set (SEAF_ERR_NOMEM, SEAF_ERR_INVALID_ARG). The options
 * are copied. Thread-safe after creation. */
struct http_pool *http_pool_new(const struct http_pool_options *options, seaf_err *err);
/* Closes every connection and frees the pool. No request may be running. NULL is a no-op. */
void http_pool_free(struct http_pool *pool);

/* Where a successful (2xx) response body goes, chunk by chunk, as it arrives. */
struct http_sink {
    /* Takes len bytes; a non-OK return aborts the transfer and is returned by the request. */
    seaf_err (*write)(void *ctx, const void *data, size_t len);
    /* Forgets what was written, before a retry delivers the body again from the start. NULL means
     * the sink cannot start over: the request is then not retried once body bytes arrived. */
    seaf_err (*reset)(void *ctx);
    void *ctx;
    /* true when the sink verifies the body's SHA-1 itself before using it (a cache fill checks
     * the id at commit): the pool then does not hash the body and body_id stays "". */
    bool checks_sha1;
};

enum http_method { HTTP_GET, HTTP_POST, HTTP_PUT };

/* Most response headers one request can capture by name (capture_headers). */
#define HTTP_MAX_CAPTURES 4

struct http_request {
    enum http_method method;
    const char *url;
    const char *const *headers; /* NULL-terminated "Name: value" lines, or NULL; may hold secrets */
    const void *body;           /* POST/PUT body (sent with Content-Length), may be NULL */
    size_t body_len;
    const char *content_type;   /* for POST/PUT; NULL sends no Content-Type */
    bool idempotent;            /* may be retried on connection errors, 5xx and 429; a
                                   non-idempotent POST/PUT is sent on a new connection, since
                                   libcurl silently resends a request whose reused keep-alive
                                   connection died before any answer byte */
    long low_speed_time_s;      /* 0 = pool default; > 0 overrides (long server computations) */
    const char *capture_header; /* name of one response header to copy into the response */
    const char *const *capture_headers; /* NULL-terminated names (at most HTTP_MAX_CAPTURES) of
                                           headers to copy into response->captures, or NULL */
    bool url_has_secret;                /* the URL carries a credential (a web access token in
                                           its path): logs show only its origin */
    bool own_connection;                /* a large body (a block): the transfer runs on the
                                           calling thread over a connection of its own (kept
                                           warm for the next), so that parallel downloads
                                           receive, decrypt and check in parallel without
                                           handoffs; multiplexed only on a far link when no
                                           warm one is idle and no other block is multiplexed
                                           (handshakes would cost more) */
    const struct http_sink *sink;       /* receives a 2xx body; NULL discards it (still hashed) */
    struct http_buffer *error_body;     /* non-NULL: also receives a non-2xx body whole, up to its
                                           limit (the rest is dropped); emptied at every attempt */
};

struct http_response {
    long status;                   /* final HTTP status */
    uint64_t body_len;             /* 2xx body bytes delivered to the sink */
    char body_id[SEAF_ID_LEN + 1]; /* SHA-1 of those bytes as 40 hex digits ("" unless 2xx,
                                      or when the sink checks_sha1) */
    char error_text[256];          /* start of a non-2xx body (NUL-terminated, may be empty) */
    char captured[256];            /* value of capture_header when present */
    bool has_captured;
    char captures[HTTP_MAX_CAPTURES][160]; /* values of capture_headers[i] ("" when absent) */
    bool has_capture[HTTP_MAX_CAPTURES];
    unsigned attempts; /* how many times the request was sent */
};

/* Performs one request, blocking the calling thread; waits for a free connection slot of the
 * host first. Returns SEAF_OK whenever an HTTP response was received (any status: the caller
 * interprets it; 5xx/429 only after the retries ran out), SEAF_ERR_NETWORK / SEAF_ERR_TIMEOUT /
 * SEAF_ERR_TLS when none was, the sink's error when the sink failed, SEAF_ERR_INVALID_ARG for a
 * bad URL. Retries idempotent requests on connection errors, timeouts, 5xx and 429 (honouring
 * Retry-After) with exponential backoff and jitter; never on other 4xx. Thread-safe. */
seaf_err http_pool_perform(struct http_pool *pool, const struct http_request *request,
                           struct http_response *response);

struct http_pool_stats {
    uint64_t requests;           /* http_pool_perform calls */
    uint64_t attempts;           /* requests sent, retries included */
    uint64_t retries;            /* attempts - first attempts */
    uint64_t connections_opened; /* new TCP connections libcurl had to open */
    uint64_t bytes_received;     /* 2xx body bytes received (retried attempts included) */
    uint64_t in_progress;        /* http_pool_perform calls running now */
};

/* A consistent snapshot of the pool's counters. Thread-safe. */
void http_pool_get_stats(struct http_pool *pool, struct http_pool_stats *stats);

/* What the pool's transfers tell about the link to the server (every answered GET is a sample:
 * its wait for the first byte, and its body when large enough). Thread-safe. */
void http_pool_link(struct http_pool *pool, struct link_figures *out);

/* A growing in-memory body with a size limit: the sink for small JSON responses. */
struct http_buffer {
    char *data; /* NUL-terminated after every write (not counted in len) */
    size_t len;
    size_t limit; /* more bytes than this fail with SEAF_ERR_PROTOCOL */
};

/* Initialises an empty buffer accepting up to limit bytes. Cannot fail. */
void http_buffer_init(struct http_buffer *buffer, size_t limit);
/* Frees the contents; the buffer can be initialised again. */
void http_buffer_release(struct http_buffer *buffer);
/* A sink writing into buffer (restartable). */
struct http_sink http_buffer_sink(struct http_buffer *buffer);

/* Copies one header line into out (size out_size, always NUL-terminated) with the value of
 * credential-bearing headers (Authorization, Seafile-Repo-Token, X-Seafile-OTP, X-Seafile-S2FA,
 * Cookie, Set-Cookie) replaced by "<redacted>". */
void http_redact_line(const char *line, size_t len, char *out, size_t out_size);

/* The delay before retry number attempt (1 = first retry): base * 2^(attempt-1) capped at
 * max_delay, then a uniformly random part of it in [delay/2, delay] (jitter). random is any
 * 64-bit random value. Exposed for tests. */
long http_backoff_delay_ms(unsigned attempt, long base_ms, long max_delay_ms, uint64_t random);

/* Parses a Retry-After value given in seconds ("120"); returns -1 for anything else (HTTP dates
 * are not honoured and fall back to the backoff delay). */
long http_parse_retry_after_s(const char *value);

#endif
