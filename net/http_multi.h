/* http_multi: runs libcurl transfers on one I/O thread (a CURLM multiplexing HTTP/2 streams)
 * while the body bytes are handled on the threads that asked for them. Part of net/'s HTTP pool
 * (http_pool.c); nothing else uses it. */
#ifndef SEAFS_HTTP_MULTI_H
#define SEAFS_HTTP_MULTI_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

struct http_multi;

/* Creates the multiplexer; its CURLM and I/O thread start with the first transfer. At most
 * max_host_connections connections are opened per host. NULL when out of memory. */
struct http_multi *http_multi_new(unsigned max_host_connections);
/* Stops the I/O thread (transfers still running end with CURLE_ABORTED_BY_CALLBACK) and frees
 * the multiplexer. NULL is a no-op. */
void http_multi_free(struct http_multi *multi);

/* What the I/O thread does with a chunk of a transfer's response body. */
enum http_multi_chunk {
    HTTP_MULTI_QUEUE,   /* hand it to the calling thread's deliver */
    HTTP_MULTI_HANDLED, /* the I/O thread dealt with it (an error body, say) */
    HTTP_MULTI_ABORT,   /* end the transfer */
};

/* How the body of one transfer is taken apart. */
struct http_multi_body {
    /* Called on the I/O thread for each chunk as it arrives (cheap work only). */
    enum http_multi_chunk (*classify)(void *ctx, const char *data, size_t len);
    /* Called on the thread running http_multi_perform with the queued bytes, in order, before
     * http_multi_perform returns; false ends the transfer (later bytes are dropped). */
    bool (*deliver)(void *ctx, const void *data, size_t len);
    void *ctx;
};

/* Runs the configured easy handle curl on the I/O thread and blocks until it is over, running
 * body->deliver on this thread meanwhile (the handle's write callback is set here). A transfer
 * whose queued bytes are not taken fast enough is paused, so memory stays bounded. Returns the
 * transfer's result (CURLE_WRITE_ERROR after a deliver or classify refused; CURLE_OUT_OF_MEMORY
 * when the I/O thread cannot start or the multiplexer is being freed). Thread-safe. */
CURLcode http_multi_perform(struct http_multi *multi, CURL *curl,
                            const struct http_multi_body *body);

#endif
