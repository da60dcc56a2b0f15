/* seaf_packfs: incremental parser of pack-fs response bodies.
 *
 * A small state machine: collect the 44-byte header (possibly across chunks), then the record
 * data. A record that lies entirely within one chunk is handed to the callback in place; only
 * records split across chunks are copied into a buffer sized from the (capped) header length.
 * Requested ids are kept sorted next to their request positions, so each returned id is found
 * by binary search and marked received. The server answers a repeated id (fs-id-list repeats
 * objects found at several paths) once per occurrence, so repeats are accepted. */
#include "seaf_packfs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_fsobj.h"

#define HEADER_LEN (SEAF_ID_LEN + 4)

struct requested_id {
    char id[SEAF_ID_LEN + 1];
    size_t index; /* position in the caller's request */
};

struct seaf_packfs {
    struct requested_id *sorted; /* requested ids in strcmp order */
    bool *received;              /* by request position */
    size_t n_ids;
    size_t n_received; /* request positions filled */
    size_t n_records;
    seaf_packfs_record_fn on_record;
    void *ctx;
    unsigned char header[HEADER_LEN]; /* header being collected */
    size_t header_used;
    bool in_data; /* header complete, collecting data */
    char record_id[SEAF_ID_LEN + 1];
    size_t record_index; /* request position the current record fills */
    size_t record_len;   /* data bytes of the current record */
    unsigned char *data; /* buffer for a record split across chunks (NULL when in place) */
    size_t data_used;
    seaf_err error; /* sticky */
    struct seaf_parse_msg msg;
};

/* Orders by id, then by request position (so repeated ids fill their positions in order). */
static int requested_cmp(const void *a, const void *b)
{
    const struct requested_id *x = a;
    const struct requested_id *y = b;
    int c = strcmp(x->id, y->id);
    if (c != 0)
        return c;
    return x->index < y->index ? -1 : (x->index > y->index ? 1 : 0);
}

static int requested_id_cmp(const void *a, const void *b)
{
    return strcmp(((const struct requested_id *)a)->id, ((const struct requested_id *)b)->id);
}

seaf_err seaf_packfs_new(const char *const *ids, size_t n_ids, seaf_packfs_record_fn on_record,
                         void *ctx, struct seaf_packfs **out)
{
    if (ids == NULL || n_ids == 0 || on_record == NULL || out == NULL)
        return SEAF_ERR_INVALID_ARG;
    struct seaf_packfs *packfs = calloc(1, sizeof(*packfs));
    if (packfs == NULL)
        return SEAF_ERR_NOMEM;
    packfs->sorted = calloc(n_ids, sizeof(*packfs->sorted));
    packfs->received = calloc(n_ids, sizeof(*packfs->received));
    if (packfs->sorted == NULL || packfs->received == NULL) {
        seaf_packfs_free(packfs);
        return SEAF_ERR_NOMEM;
    }
    for (size_t i = 0; i < n_ids; i++) {
        if (ids[i] == NULL || !seaf_id_valid(ids[i], strnlen(ids[i], SEAF_ID_LEN + 1))) {
            seaf_packfs_free(packfs);
            return SEAF_ERR_INVALID_ARG;
        }
        memcpy(packfs->sorted[i].id, ids[i], SEAF_ID_LEN + 1);
        packfs->sorted[i].index = i;
    }
    qsort(packfs->sorted, n_ids, sizeof(*packfs->sorted), requested_cmp);
    packfs->n_ids = n_ids;
    packfs->on_record = on_record;
    packfs->ctx = ctx;
    *out = packfs;
    return SEAF_OK;
}

static seaf_err fail(struct seaf_packfs *packfs, seaf_err err, const char *what)
{
    packfs->error =
        seaf_parse_fail(&packfs->msg, err, "pack-fs record %zu: %s", packfs->n_records, what);
    return err;
}

/* Validates a complete header and marks its id received. */
static seaf_err take_header(struct seaf_packfs *packfs)
{
    const unsigned char *h = packfs->header;
    if (!seaf_id_valid((const char *)h, SEAF_ID_LEN))
        return fail(packfs, SEAF_ERR_MALFORMED, "id is not 40 lowercase hex digits");
    memcpy(packfs->record_id, h, SEAF_ID_LEN);
    packfs->record_id[SEAF_ID_LEN] = '\0';
    uint32_t len = ((uint32_t)h[40] << 24) | ((uint32_t)h[41] << 16) | ((uint32_t)h[42] << 8) |
                   (uint32_t)h[43];
    if (len > SEAF_FSOBJ_MAX_STORED_SIZE)
        return fail(packfs, SEAF_ERR_MALFORMED, "length exceeds the fs object size limit");
    struct requested_id key;
    memcpy(key.id, packfs->record_id, SEAF_ID_LEN + 1);
    struct requested_id *found =
        bsearch(&key, packfs->sorted, packfs->n_ids, sizeof(key), requested_id_cmp);
    if (found == NULL)
        return fail(packfs, SEAF_ERR_PROTOCOL, "the server sent an id that was not requested");
    /* An id requested k times fills its request positions in order, k records at most. */
    const struct requested_id *end = packfs->sorted + packfs->n_ids;
    while (found > packfs->sorted && strcmp(found[-1].id, key.id) == 0)
        found--;
    while (found < end && strcmp(found->id, key.id) == 0 && packfs->received[found->index])
        found++;
    if (found == end || strcmp(found->id, key.id) != 0)
        return fail(packfs, SEAF_ERR_PROTOCOL, "the server sent an id more often than requested");
    packfs->received[found->index] = true;
    packfs->record_index = found->index;
    packfs->n_received++;
    packfs->record_len = len;
    packfs->in_data = true;
    packfs->header_used = 0;
    packfs->data_used = 0;
    return SEAF_OK;
}

static seaf_err deliver(struct seaf_packfs *packfs, const unsigned char *data)
{
    seaf_err err = packfs->on_record(packfs->ctx, packfs->record_index, packfs->record_id, data,
                                     packfs->record_len);
    free(packfs->data);
    packfs->data = NULL;
    packfs->data_used = 0;
    packfs->in_data = false;
    packfs->n_records++;
    if (err != SEAF_OK) {
        packfs->error = seaf_parse_fail(&packfs->msg, err, "pack-fs record consumer failed: %s",
                                        seaf_strerror(err));
    }
    return err;
}

seaf_err seaf_packfs_feed(struct seaf_packfs *packfs, const void *data, size_t len)
{
    if (packfs == NULL || (data == NULL && len > 0))
        return SEAF_ERR_INVALID_ARG;
    const unsigned char *p = data;
    seaf_err err = packfs->error;
    while (err == SEAF_OK && len > 0) {
        if (!packfs->in_data) {
            size_t take = HEADER_LEN - packfs->header_used;
            take = take < len ? take : len;
            memcpy(packfs->header + packfs->header_used, p, take);
            packfs->header_used += take;
            p += take;
            len -= take;
            if (packfs->header_used == HEADER_LEN)
                err = take_header(packfs);
            continue;
        }
        size_t missing = packfs->record_len - packfs->data_used;
        if (packfs->data == NULL && len >= missing) { /* whole record in this chunk */
            err = deliver(packfs, p);
            p += missing;
            len -= missing;
            continue;
        }
        if (packfs->data == NULL) {
            packfs->data = malloc(packfs->record_len);
            if (packfs->data == NULL) {
                packfs->error = SEAF_ERR_NOMEM;
                return SEAF_ERR_NOMEM;
            }
        }
        size_t take = missing < len ? missing : len;
        memcpy(packfs->data + packfs->data_used, p, take);
        packfs->data_used += take;
        p += take;
        len -= take;
        if (packfs->data_used == packfs->record_len)
            err = deliver(packfs, packfs->data);
    }
    /* A zero-length record has no data bytes to wait for. */
    if (err == SEAF_OK && packfs->in_data && packfs->record_len == 0)
        err = deliver(packfs, (const unsigned char *)"");
    return err;
}

seaf_err seaf_packfs_finish(struct seaf_packfs *packfs)
{
    if (packfs == NULL)
        return SEAF_ERR_INVALID_ARG;
    if (packfs->error != SEAF_OK)
        return packfs->error;
    if (packfs->in_data || packfs->header_used > 0)
        return fail(packfs, SEAF_ERR_MALFORMED, "the body ends inside this record (truncated)");
    if (packfs->n_records == 0)
        return fail(packfs, SEAF_ERR_PROTOCOL, "the body holds no object");
    return SEAF_OK;
}

void seaf_packfs_reset(struct seaf_packfs *packfs)
{
    if (packfs == NULL)
        return;
    free(packfs->data);
    packfs->data = NULL;
    packfs->data_used = 0;
    packfs->header_used = 0;
    packfs->in_data = false;
    packfs->n_received = 0;
    packfs->n_records = 0;
    packfs->error = SEAF_OK;
    packfs->msg.text[0] = '\0';
    memset(packfs->received, 0, packfs->n_ids * sizeof(*packfs->received));
}

bool seaf_packfs_received(const struct seaf_packfs *packfs, size_t index)
{
    return packfs != NULL && index < packfs->n_ids && packfs->received[index];
}

size_t seaf_packfs_n_received(const struct seaf_packfs *packfs)
{
    return packfs == NULL ? 0 : packfs->n_received;
}

const char *seaf_packfs_message(const struct seaf_packfs *packfs)
{
    return packfs == NULL ? "" : packfs->msg.text;
}

void seaf_packfs_free(struct seaf_packfs *packfs)
{
    if (packfs == NULL)
        return;
    free(packfs->data);
    free(packfs->sorted);
    free(packfs->received);
    free(packfs);
}
