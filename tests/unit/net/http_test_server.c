/* http_test_server: a tiny threaded HTTP/1.1 server on 127.0.0.1 for unit tests of net/.
 * One thread accepts connections; each connection gets a thread that reads requests (headers and
 * a Content-Length body), asks the test's handler for the reply and sends it, with the faults the
 * reply asks for (cut short, stall, delay, close). Stopping shuts every socket down and joins. */
#include "http_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64
#define MAX_RECORDED    256

struct connection {
    struct test_server *server;
    int fd;
    pthread_t thread;
};

struct test_server {
    test_handler handler;
    void *ctx;
    int listen_fd;
    char url[64];
    pthread_t accept_thread;
    pthread_mutex_t lock; /* protects everything below, and serialises handler calls */
    bool stopping;
    struct connection *connections[MAX_CONNECTIONS];
    unsigned connection_count;
    unsigned request_count;
    struct test_request recorded[MAX_RECORDED];
};

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

static bool send_all(int fd, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

/* Sleeps ms in small steps, returning early when the server stops. */
static void stall(struct test_server *server, unsigned ms)
{
    for (unsigned waited = 0; waited < ms; waited += 20) {
        bool stopping;

        pthread_mutex_lock(&server->lock);
        stopping = server->stopping;
        pthread_mutex_unlock(&server->lock);
        if (stopping)
            return;
        sleep_ms(20);
    }
}

/* Reads one request into req. Returns false on EOF or a malformed request. */
static bool read_request(int fd, char *buf, size_t cap, size_t *have, struct test_request *req)
{
    char *end;
    size_t header_len;
    size_t content_length = 0;
    const char *cl;

    for (;;) {
        buf[*have] = '\0';
        end = strstr(buf, "\r\n\r\n");
        if (end)
            break;
        if (*have + 1 >= cap)
            return false;
        ssize_t n = recv(fd, buf + *have, cap - 1 - *have, 0);
        if (n <= 0)
            return false;
        *have += (size_t)n;
        if (buf[0] < 'A' || buf[0] > 'Z')
            return false; /* not HTTP (a TLS handshake, say) */
    }
    header_len = (size_t)(end - buf) + 4;
    memset(req, 0, sizeof(*req));
    if (sscanf(buf, "%7s %1023s", req->method, req->target) != 2)
        return false;
    const char *line_end = strstr(buf, "\r\n");
    snprintf(req->headers, sizeof(req->headers), "%.*s", (int)(end + 2 - (line_end + 2)),
             line_end + 2);
    for (cl = req->headers; cl && *cl; cl = strstr(cl, "\r\n") ? strstr(cl, "\r\n") + 2 : NULL) {
        if (strncasecmp(cl, "Content-Length:", 15) == 0)
            content_length = strtoul(cl + 15, NULL, 10);
    }
    req->body = malloc(content_length + 1);
    if (!req->body)
        return false;
    size_t from_buf = *have - header_len < content_length ? *have - header_len : content_length;
    memcpy(req->body, buf + header_len, from_buf);
    size_t got = from_buf;
    while (got < content_length) {
        ssize_t n = recv(fd, req->body + got, content_length - got, 0);
        if (n <= 0) {
            free(req->body);
            req->body = NULL;
            return false;
        }
        got += (size_t)n;
    }
    req->body[content_length] = '\0';
    req->body_len = content_length;
    memmove(buf, buf + header_len + from_buf, *have - header_len - from_buf);
    *have -= header_len + from_buf;
    return true;
}

static void *connection_main(void *arg)
{
    struct connection *conn = arg;
    struct test_server *server = conn->server;
    static const size_t cap = 65536;
    char *buf = malloc(cap);
    size_t have = 0;
    struct test_request req;

    while (buf && read_request(conn->fd, buf, cap, &have, &req)) {
        struct test_reply reply = {0};
        bool ok;

        pthread_mutex_lock(&server->lock);
        req.index = server->request_count;
        if (server->request_count < MAX_RECORDED) {
            server->recorded[server->request_count] = req;
            /* Bodies may be binary (recv-fs): copied whole, NUL-terminated. */
            server->recorded[server->request_count].body = malloc(req.body_len + 1);
            if (server->recorded[server->request_count].body)
                memcpy(server->recorded[server->request_count].body, req.body, req.body_len + 1);
        }
        server->request_count++;
        server->handler(server->ctx, &req, &reply);
        pthread_mutex_unlock(&server->lock);
        free(req.body);
        if (reply.delay_ms)
            stall(server, reply.delay_ms);
        if (reply.send_only > 0 && reply.send_only < reply.raw_len) {
            send_all(conn->fd, reply.raw, reply.send_only);
            stall(server, reply.stall_ms);
            free(reply.raw);
            break;
        }
        ok = send_all(conn->fd, reply.raw, reply.raw_len);
        free(reply.raw);
        if (!ok || reply.close_connection)
            break;
    }
    if (buf && have > 0 && (buf[0] < 'A' || buf[0] > 'Z'))
        send_all(conn->fd, "HTTP/1.1 400 Bad Request\r\n\r\n", 28);
    free(buf);
    shutdown(conn->fd, SHUT_RDWR);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct test_server *server = arg;

    for (;;) {
        struct pollfd pfd = {.fd = server->listen_fd, .events = POLLIN};
        bool stopping;

        poll(&pfd, 1, 50);
        pthread_mutex_lock(&server->lock);
        stopping = server->stopping;
        pthread_mutex_unlock(&server->lock);
        if (stopping)
            return NULL;
        if (!(pfd.revents & POLLIN))
            continue;
        int fd = accept(server->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        struct connection *conn = calloc(1, sizeof(*conn));
        pthread_mutex_lock(&server->lock);
        if (!conn || server->connection_count == MAX_CONNECTIONS) {
            pthread_mutex_unlock(&server->lock);
            free(conn);
            close(fd);
            continue;
        }
        conn->server = server;
        conn->fd = fd;
        server->connections[server->connection_count++] = conn;
        pthread_create(&conn->thread, NULL, connection_main, conn);
        pthread_mutex_unlock(&server->lock);
    }
}

struct test_server *test_server_start(test_handler handler, void *ctx)
{
    struct test_server *server = calloc(1, sizeof(*server));
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(addr);

    if (!server)
        return NULL;
    server->handler = handler;
    server->ctx = ctx;
    pthread_mutex_init(&server->lock, NULL);
    server->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    if (server->listen_fd < 0 || bind(server->listen_fd, (struct sockaddr *)&addr, len) != 0 ||
        listen(server->listen_fd, 64) != 0 ||
        getsockname(server->listen_fd, (struct sockaddr *)&addr, &len) != 0) {
        if (server->listen_fd >= 0)
            close(server->listen_fd);
        free(server);
        return NULL;
    }
    snprintf(server->url, sizeof(server->url), "http://127.0.0.1:%u", ntohs(addr.sin_port));
    pthread_create(&server->accept_thread, NULL, accept_main, server);
    return server;
}

void test_server_stop(struct test_server *server)
{
    unsigned count;

    if (!server)
        return;
    pthread_mutex_lock(&server->lock);
    server->stopping = true;
    pthread_mutex_unlock(&server->lock);
    pthread_join(server->accept_thread, NULL);
    pthread_mutex_lock(&server->lock);
    count = server->connection_count;
    for (unsigned i = 0; i < count; i++)
        shutdown(server->connections[i]->fd, SHUT_RDWR);
    pthread_mutex_unlock(&server->lock);
    for (unsigned i = 0; i < count; i++) {
        pthread_join(server->connections[i]->thread, NULL);
        close(server->connections[i]->fd);
        free(server->connections[i]);
    }
    for (unsigned i = 0; i < server->request_count && i < MAX_RECORDED; i++)
        free(server->recorded[i].body);
    close(server->listen_fd);
    pthread_mutex_destroy(&server->lock);
    free(server);
}

const char *test_server_url(const struct test_server *server)
{
    return server->url;
}

/* A counter of the server read under its lock. */
static unsigned read_counter(struct test_server *server, const unsigned *counter)
{
    unsigned n;

    pthread_mutex_lock(&server->lock);
    n = *counter;
    pthread_mutex_unlock(&server->lock);
    return n;
}

unsigned test_server_connections(struct test_server *server)
{
    return read_counter(server, &server->connection_count);
}

unsigned test_server_request_count(struct test_server *server)
{
    return read_counter(server, &server->request_count);
}

bool test_server_request(struct test_server *server, unsigned index, struct test_request *out)
{
    bool found;

    pthread_mutex_lock(&server->lock);
    found = index < server->request_count && index < MAX_RECORDED;
    if (found)
        *out = server->recorded[index];
    pthread_mutex_unlock(&server->lock);
    return found;
}

void test_reply_set(struct test_reply *reply, int status, const char *extra_headers,
                    const void *body, size_t body_len)
{
    char head[2048];
    int head_len = snprintf(head, sizeof(head), "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n%s\r\n",
                            status, body_len, extra_headers ? extra_headers : "");

    reply->raw = malloc((size_t)head_len + body_len);
    memcpy(reply->raw, head, (size_t)head_len);
    if (body_len)
        memcpy(reply->raw + head_len, body, body_len);
    reply->raw_len = (size_t)head_len + body_len;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data;
    long size;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    data = malloc((size_t)size + 1);
    *len = fread(data, 1, (size_t)size, f);
    data[*len] = '\0';
    fclose(f);
    return data;
}

char *test_read_body(const char *path, size_t *len)
{
    size_t raw_len;
    char *raw = test_read_file(path, &raw_len);
    char *body = raw ? strstr(raw, "\r\n\r\n") : NULL;

    if (!body) {
        free(raw);
        return NULL;
    }
    body += 4;
    *len = raw_len - (size_t)(body - raw);
    memmove(raw, body, *len + 1);
    return raw;
}

bool test_reply_from_file(struct test_reply *reply, const char *path)
{
    reply->raw = test_read_file(path, &reply->raw_len);
    return reply->raw != NULL;
}
