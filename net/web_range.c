/* web_range: one ranged GET on a download link (no credentials sent: the token is in the URL,
 * which is therefore kept out of the logs), its body written straight into the caller's buffer
 * and cut off as soon as it would overflow it, then the answer checked against the version. */
#include "web_range.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_client_int.h"

/* The caller's buffer as a sink: more bytes than it holds end the transfer. */
struct fixed_buffer {
    char *data;
    size_t capacity;
    size_t len;
};

static seaf_err fixed_write(void *ctx, const void *data, size_t len)
{
    struct fixed_buffer *b = ctx;
    if (len > b->capacity - b->len)
        return SEAF_ERR_PROTOCOL;
    memcpy(b->data + b->len, data, len);
    b->len += len;
    return SEAF_OK;
}

static seaf_err fixed_reset(void *ctx)
{
    ((struct fixed_buffer *)ctx)->len = 0;
    return SEAF_OK;
}

/* A decimal number at *p (advanced past it); false without a digit or on overflow. */
static bool parse_u64(const char **p, uint64_t *out)
{
    uint64_t value = 0;
    const char *s = *p;
    if (!isdigit((unsigned char)*s))
        return false;
    for (; isdigit((unsigned char)*s); s++) {
        if (value > (UINT64_MAX - 9) / 10)
            return false;
        value = value * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *out = value;
    return true;
}

bool web_parse_content_range(const char *value, uint64_t *first, uint64_t *last, uint64_t *total)
{
    const char *p = value;
    if (strncmp(p, "bytes ", 6) != 0)
        return false;
    p += 6;
    if (!parse_u64(&p, first) || *p++ != '-' || !parse_u64(&p, last) || *p++ != '/' ||
        !parse_u64(&p, total))
        return false;
    return *p == '\0' && *first <= *last && *last < *total;
}

bool web_parse_etag(const char *value, char out[SEAF_ID_LEN + 1])
{
    const char *p = value;
    size_t len = strlen(p);
    if (strncmp(p, "W/", 2) == 0) {
        p += 2;
        len -= 2;
    }
    if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
        p++;
        len -= 2;
    }
    if (len != SEAF_ID_LEN || !seaf_id_valid(p, len))
        return false;
    memcpy(out, p, SEAF_ID_LEN);
    out[SEAF_ID_LEN] = '\0';
    return true;
}

/* Whether the answer is exactly the range want asked for, of the version it asked for. */
static seaf_err check_answer(const struct http_response *response, const struct web_range *want,
                             size_t received)
{
    char etag[SEAF_ID_LEN + 1];
    uint64_t first, last, total;
    if (response->status != 206 || !response->has_capture[0] || !response->has_capture[1])
        return SEAF_ERR_PROTOCOL;
    if (!web_parse_etag(response->captures[0], etag) ||
        !web_parse_content_range(response->captures[1], &first, &last, &total))
        return SEAF_ERR_PROTOCOL;
    if (strcmp(etag, want->file_id) != 0 || total != want->file_size)
        return SEAF_ERR_ID_MISMATCH;
    if (first != want->start || last - first + 1 != want->len || received != want->len)
        return SEAF_ERR_PROTOCOL;
    return SEAF_OK;
}

seaf_err web_range_get(struct seaf_client *client, const char *url, const struct web_range *want,
                       char *dst)
{
    static const char *const captured[] = {"ETag", "Content-Range", NULL};
    char range[80];
    struct fixed_buffer buffer = {.data = dst, .capacity = want->len};
    struct http_sink sink = {.write = fixed_write, .reset = fixed_reset, .ctx = &buffer};
    struct http_response response;

    if (want->len == 0 || want->start + want->len > want->file_size)
        return SEAF_ERR_INVALID_ARG;
    snprintf(range, sizeof(range), "Range: bytes=%" PRIu64 "-%" PRIu64, want->start,
             want->start + want->len - 1);
    struct seaf_call call = {.method = HTTP_GET,
                             .url = url,
                             .auth = SEAF_AUTH_NONE,
                             .idempotent = false, /* not retried: the block is the fallback */
                             .capture_headers = captured,
                             .url_has_secret = true,
                             .extra_header = range,
                             .sink = &sink};
    seaf_err err = seaf_client_call(client, &call, &response);
    if (response.status == 200 && (err == SEAF_OK || err == SEAF_ERR_PROTOCOL))
        return SEAF_ERR_UNSUPPORTED; /* Range ignored: the whole file, cut off after len bytes */
    return err == SEAF_OK ? check_answer(&response, want, buffer.len) : err;
}
