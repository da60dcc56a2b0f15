/* http_test_server: a tiny threaded HTTP/1.1 server on 127.0.0.1 for unit tests of net/. A test
 * handler decides each reply (raw bytes, optionally cut short, stalled or delayed); the server
 * records every request and counts accepted connections. */
#ifndef SEAFS_HTTP_TEST_SERVER_H
#define SEAFS_HTTP_TEST_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct test_server;

/* One received request. */
struct test_request {
    char method[8];
    char target[1024];  /* path and query */
    char headers[4096]; /* the raw header block (without the request line) */
    char *body;         /* Content-Length bytes, NUL-terminated; owned by the server */
    size_t body_len;
    unsigned index; /* 0 for the first request the server received */
};

/* How to answer one request. */
struct test_reply {
    char *raw; /* complete response bytes; freed by the server (malloc'd) */
    size_t raw_len;
    size_t send_only;      /* > 0: send only this many bytes, then stall/close */
    unsigned stall_ms;     /* with send_only: keep the connection silent this long first */
    unsigned delay_ms;     /* wait before answering */
    bool close_connection; /* close after answering */
};

typedef void (*test_handler)(void *ctx, const struct test_request *request,
                             struct test_reply *reply);

/* Starts a server calling handler for every request (serialised: one call at a time). */
struct test_server *test_server_start(test_handler handler, void *ctx);
/* Stops the server, closes every connection and joins its threads. */
void test_server_stop(struct test_server *server);
/* "http://127.0.0.1:<port>" */
const char *test_server_url(const struct test_server *server);
unsigned test_server_connections(struct test_server *server);
/* How many requests the server has received (read under its lock, so safe from any thread). */
unsigned test_server_request_count(struct test_server *server);
/* Copies the recorded request number index into out (its body stays owned by the server, valid
 * until test_server_stop); false if there is none. */
bool test_server_request(struct test_server *server, unsigned index, struct test_request *out);

/* Fills reply with status, extra header lines ("Name: value\r\n"...; may be NULL) and body. */
void test_reply_set(struct test_reply *reply, int status, const char *extra_headers,
                    const void *body, size_t body_len);
/* The contents of a file plus a NUL (not counted in *len), malloc'd; NULL if unreadable. */
char *test_read_file(const char *path, size_t *len);
/* The body of a captured request or response file (what follows the header block), malloc'd
 * with a NUL (not counted in *len); NULL if unreadable or without a header block. */
char *test_read_body(const char *path, size_t *len);
/* Fills reply with the bytes of a captured response file (status line, headers, body). */
bool test_reply_from_file(struct test_reply *reply, const char *path);

#endif
