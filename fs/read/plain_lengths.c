/* plain_lengths: encoding, reading and merging the cache's records of the plaintext lengths of
 * encrypted files' blocks (see the header). */
#include "plain_lengths.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "log.h"

int plain_lengths_encode(const uint64_t *plain, size_t n, char **json, size_t *len)
{
    size_t cap = n * 21 + 3, used = 0; /* 20 digits and a comma per length, brackets, NUL */
    char *out = malloc(cap);
    if (!out)
        return -ENOMEM;
    out[used++] = '[';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(out + used, cap - used, "%s%" PRIu64, i ? "," : "", plain[i]);
    out[used++] = ']';
    out[used] = '\0';
    *json = out;
    *len = used;
    return 0;
}

int plain_lengths_parse(const char *json, size_t len, size_t n, uint64_t *out)
{
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL);
    bool ok = root && json_is_array(root) && json_array_size(root) == n;
    bool any = false;
    for (size_t i = 0; ok && i < n; i++) {
        json_t *item = json_array_get(root, i);
        ok = json_is_integer(item) && json_integer_value(item) >= 0;
        out[i] = ok ? (uint64_t)json_integer_value(item) : 0;
        any = any || out[i] != 0;
    }
    json_decref(root);
    if (ok && any)
        return 0;
    memset(out, 0, n * sizeof(*out));
    return -EINVAL;
}

int plain_lengths_load(struct cache *c, const char *file_id, size_t n, uint64_t *out)
{
    char *json = NULL;
    size_t len = 0;
    seaf_err err = cache_get_object(c, CACHE_KIND_PLAIN_LENGTHS, file_id, &json, &len);
    if (err != SEAF_OK)
        return err == SEAF_ERR_NOMEM ? -ENOMEM : -ENOENT;
    int rc = plain_lengths_parse(json, len, n, out);
    free(json);
    if (rc) {
        log_msg(LOG_WARNING, "the plaintext lengths kept for file %s are malformed: dropped",
                file_id);
        plain_lengths_forget(c, file_id);
    }
    return rc;
}

/* Merges plain into record (n entries); true when the record gained or changed a length. */
static bool merge(uint64_t *record, const uint64_t *plain, size_t n)
{
    bool gained = false;
    for (size_t i = 0; i < n; i++) {
        if (plain[i] && record[i] != plain[i]) {
            record[i] = plain[i];
            gained = true;
        }
    }
    return gained;
}

int plain_lengths_save(struct cache *c, const char *file_id, const uint64_t *plain, size_t n)
{
    uint64_t *record = calloc(n ? n : 1, sizeof(*record));
    if (!record)
        return -ENOMEM;
    int rc = plain_lengths_load(c, file_id, n, record);
    bool existed = rc == 0;
    if (rc != -ENOMEM)
        rc = 0;
    char *json = NULL;
    size_t len = 0;
    if (rc == 0 && merge(record, plain, n) &&
        (rc = plain_lengths_encode(record, n, &json, &len)) == 0) {
        if (existed) /* a record is replaced: cache objects are otherwise never rewritten */
            cache_remove(c, CACHE_KIND_PLAIN_LENGTHS, file_id);
        seaf_err err = cache_put_object(c, CACHE_KIND_PLAIN_LENGTHS, file_id, json, len);
        if (err != SEAF_OK) {
            log_msg(LOG_DEBUG, "plaintext lengths of file %s not kept: %s", file_id,
                    seaf_strerror(err));
            rc = -seaf_err_to_errno(err);
        }
    }
    free(json);
    free(record);
    return rc;
}

void plain_lengths_forget(struct cache *c, const char *file_id)
{
    cache_remove(c, CACHE_KIND_PLAIN_LENGTHS, file_id);
}
