/* fetch: the seam between net/ and cache/ (cvmfs's TransactionSink idea). The cache hands out a
 * fill; net/ streams the block body into it through an http_sink whose reset lets net/ retry a
 * broken download from the start. The block is hashed once: the sink says it checks the SHA-1
 * itself, so net/ skips it and cache_fill_commit compares the digest with the id before the block
 * becomes visible, so a corrupted block is never stored nor returned. The read-through-memory
 * path has no such check and leaves it to net/. A fill under way is listed in blocks_in_flight. */
#include "fetch.h"

#include <errno.h>

#include "blocks_in_flight.h"
#include "fileserver_api.h"
#include "log.h"

static seaf_err sink_write(void *ctx, const void *data, size_t len)
{
    return cache_fill_write(ctx, data, len);
}

static seaf_err sink_reset(void *ctx)
{
    return cache_fill_reset(ctx);
}

int fetch_block(struct cache *cache, struct seaf_client *client, const char *repo_id,
                const char *block_id, struct cache_handle **out, seaf_err *cause)
{
    seaf_err ignored;
    if (!cause)
        cause = &ignored;
    struct cache_fill *fill = NULL;
    *out = NULL;
    seaf_err err = cache_open_or_fill(cache, CACHE_KIND_BLOCK, block_id, out, &fill);
    *cause = err;
    if (err != SEAF_OK)
        return -seaf_err_to_errno(err);
    if (*out)
        return 0;
    struct http_sink sink = {
        .write = sink_write, .reset = sink_reset, .ctx = fill, .checks_sha1 = true};
    blocks_in_flight_begin(block_id); /* until the fill ends: range_read.c may wait for it */
    err = fileserver_get_block(client, repo_id, block_id, &sink, NULL);
    *cause = err;
    if (err != SEAF_OK) {
        log_msg(LOG_DEBUG, "library %s: block %s: %s", repo_id, block_id, seaf_strerror(err));
        cache_fill_abort(fill, err);
        blocks_in_flight_end(block_id);
        return -seaf_err_to_errno(err);
    }
    err = cache_fill_commit(fill, out);
    blocks_in_flight_end(block_id);
    *cause = err;
    if (err != SEAF_OK) {
        log_msg(LOG_DEBUG, "library %s: block %s not stored: %s", repo_id, block_id,
                seaf_strerror(err));
        return -seaf_err_to_errno(err);
    }
    log_msg(LOG_DEBUG, "library %s: block %s fetched", repo_id, block_id);
    return 0;
}

int fetch_block_to_memory(struct seaf_client *client, const char *repo_id, const char *block_id,
                          char **data, size_t *len, seaf_err *cause)
{
    struct http_buffer buffer;
    http_buffer_init(&buffer, FETCH_MEMORY_BLOCK_MAX);
    struct http_sink sink = http_buffer_sink(&buffer);
    seaf_err err = fileserver_get_block(client, repo_id, block_id, &sink, NULL);
    if (cause)
        *cause = err;
    if (err != SEAF_OK) {
        http_buffer_release(&buffer);
        return -seaf_err_to_errno(err);
    }
    *data = buffer.data;
    *len = buffer.len;
    log_msg(LOG_DEBUG, "library %s: block %s read without the cache", repo_id, block_id);
    return 0;
}
