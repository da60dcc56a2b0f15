/* libFuzzer target for the pack-fs body parser. Input layout: 1 byte chunk size (0 = whole body
 * at once), 1 byte number of requested ids n, n * 40 bytes of requested ids, then the body. Each
 * record is also handed to the fs-object parser, as the client does. Aborts (a finding) when a
 * record comes with the position of another id, or when the received positions, their count and
 * the delivered records disagree. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_fsobj.h"
#include "seaf_packfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the callback saw: the request (to check positions) and the records delivered. */
struct delivered {
    const char *const *ids;
    size_t n_ids;
    size_t records;
};

static seaf_err on_record(void *ctx, size_t index, const char *id, const unsigned char *data,
                          size_t len)
{
    struct delivered *seen = ctx;
    if (index >= seen->n_ids || strcmp(seen->ids[index], id) != 0)
        abort(); /* a record must fill the position of its own id */
    seen->records++;
    struct seaf_fsobj *obj = NULL;
    seaf_fsobj_parse(data, len, id, &obj, NULL);
    seaf_fsobj_free(obj);
    return SEAF_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t chunk = data[0] == 0 ? SIZE_MAX : data[0];
    size_t n_ids = data[1];
    if (n_ids == 0 || size < 2 + n_ids * SEAF_ID_LEN)
        return 0;
    char ids[255][SEAF_ID_LEN + 1];
    const char *id_ptrs[255];
    for (size_t i = 0; i < n_ids; i++) {
        memcpy(ids[i], data + 2 + i * SEAF_ID_LEN, SEAF_ID_LEN);
        ids[i][SEAF_ID_LEN] = '\0';
        id_ptrs[i] = ids[i];
    }
    struct seaf_packfs *packfs = NULL;
    struct delivered seen = {.ids = id_ptrs, .n_ids = n_ids};
    if (seaf_packfs_new(id_ptrs, n_ids, on_record, &seen, &packfs) != SEAF_OK)
        return 0;
    const uint8_t *body = data + 2 + n_ids * SEAF_ID_LEN;
    size_t len = size - 2 - n_ids * SEAF_ID_LEN;
    for (size_t off = 0; off < len; off += chunk) {
        size_t n = len - off < chunk ? len - off : chunk;
        if (seaf_packfs_feed(packfs, body + off, n) != SEAF_OK)
            break;
    }
    seaf_err finished = seaf_packfs_finish(packfs);
    /* The received positions agree with the count, and every delivered record filled one (a
     * record whose header arrived but whose data did not is received, not delivered). */
    size_t received = 0;
    for (size_t i = 0; i < n_ids; i++)
        received += seaf_packfs_received(packfs, i);
    if (received != seaf_packfs_n_received(packfs) || seen.records > received ||
        seaf_packfs_received(packfs, n_ids))
        abort();
    /* A cleanly finished body delivered exactly the positions it filled, at least one. */
    if (finished == SEAF_OK && (seen.records != received || received == 0))
        abort();
    seaf_packfs_free(packfs);
    return 0;
}
