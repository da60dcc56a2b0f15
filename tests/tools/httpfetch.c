/* seafs-httpfetch: fetches URLs in parallel through one http_pool and prints, per URL, the
 * status, length and SHA-1 of the body and the result ("ok" or the error), then how many
 * connections the pool opened. Used by tests/integration/test_net_http2.py to check HTTP/2
 * multiplexing. */
#include "http_pool.h"

#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

struct fetch_job {
    struct http_pool *pool;
    char **urls;
    size_t count;
    atomic_size_t next;
    seaf_err *errors;
    struct http_response *responses;
    bool own_connection; /* every request asks for a connection of its own */
};

static void *fetch_worker(void *arg)
{
    struct fetch_job *job = arg;

    for (;;) {
        size_t i = atomic_fetch_add(&job->next, 1);

        if (i >= job->count)
            return NULL;
        struct http_request request = {.method = HTTP_GET,
                                       .url = job->urls[i],
                                       .idempotent = true,
                                       .own_connection = job->own_connection};

        job->errors[i] = http_pool_perform(job->pool, &request, &job->responses[i]);
    }
}

int main(int argc, char **argv)
{
    static const struct option long_options[] = {
        {"ca-file", required_argument, NULL, 'A'},
        {"connections", required_argument, NULL, 'c'},
        {"threads", required_argument, NULL, 'j'},
        {"low-speed-time", required_argument, NULL, 'l'},
        {"no-multiplex", no_argument, NULL, 'M'},
        {"own-connection", no_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    struct http_pool_options options = {.max_retries = 0, .retry_set = true};
    unsigned threads = 1;
    bool own_connection = false;
    struct fetch_job job = {0};
    struct http_pool_stats stats;
    pthread_t *workers;
    seaf_err err;
    int opt;

    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case 'A':
            options.ca_file = optarg;
            break;
        case 'c':
            options.max_connections_per_host = (unsigned)atoi(optarg);
            break;
        case 'j':
            threads = (unsigned)atoi(optarg);
            break;
        case 'l':
            options.low_speed_time_s = atol(optarg);
            break;
        case 'M':
            options.disable_multiplex = true;
            break;
        case 'o':
            own_connection = true;
            break;
        default:
            return 2;
        }
    }
    if (optind >= argc || threads == 0) {
        fprintf(stderr, "usage: seafs-httpfetch [--ca-file PEM] [--connections N] [--threads T] "
                        "[--low-speed-time S] [--no-multiplex] [--own-connection] URL...\n");
        return 2;
    }
    job.pool = http_pool_new(&options, &err);
    if (!job.pool) {
        fprintf(stderr, "seafs-httpfetch: %s\n", seaf_strerror(err));
        return 1;
    }
    job.urls = argv + optind;
    job.own_connection = own_connection;
    job.count = (size_t)(argc - optind);
    atomic_init(&job.next, 0);
    job.errors = calloc(job.count, sizeof(*job.errors));
    job.responses = calloc(job.count, sizeof(*job.responses));
    workers = calloc(threads, sizeof(*workers));
    if (!job.errors || !job.responses || !workers) {
        fprintf(stderr, "seafs-httpfetch: out of memory\n");
        return 1;
    }
    for (unsigned i = 0; i < threads; i++)
        pthread_create(&workers[i], NULL, fetch_worker, &job);
    for (unsigned i = 0; i < threads; i++)
        pthread_join(workers[i], NULL);
    for (size_t i = 0; i < job.count; i++)
        printf("%s %ld %llu %s %s\n", job.urls[i], job.responses[i].status,
               (unsigned long long)job.responses[i].body_len,
               job.responses[i].body_id[0] ? job.responses[i].body_id : "-",
               job.errors[i] == SEAF_OK ? "ok" : seaf_strerror(job.errors[i]));
    http_pool_get_stats(job.pool, &stats);
    printf("connections_opened %llu\n", (unsigned long long)stats.connections_opened);
    http_pool_free(job.pool);
    free(workers);
    free(job.responses);
    free(job.errors);
    return 0;
}
