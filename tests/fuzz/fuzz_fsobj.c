/* libFuzzer target for the fs-object parser. The input is taken twice: as JSON text (compressed
 * and given its true id, so the fuzzer reaches the JSON validation behind the id check) and as
 * stored bytes (exercising the zlib decoder and its size cap). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "seaf_fsobj.h"
#include "seaf_sha1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void parse_and_use(const void *stored, size_t len, const char *id)
{
    struct seaf_fsobj *obj = NULL;
    struct seaf_parse_msg msg;
    if (seaf_fsobj_parse(stored, len, id, &obj, &msg) != SEAF_OK)
        return;
    if (obj->type == SEAF_FSOBJ_DIR) {
        for (size_t i = 0; i < obj->dir.n_entries; i++) {
            const struct seaf_dirent *entry = &obj->dir.entries[i];
            if (seaf_dir_lookup(&obj->dir, entry->name, entry->name_len) != entry)
                abort(); /* a validated directory must find each of its entries */
        }
    }
    seaf_fsobj_free(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char id[SEAF_ID_LEN + 1];
    uLongf len = compressBound(size);
    unsigned char *stored = malloc(len);
    if (stored != NULL && compress2(stored, &len, data, size, 1) == Z_OK &&
        seaf_sha1_id(data, size, id) == SEAF_OK && strcmp(id, SEAF_EMPTY_ID) != 0)
        parse_and_use(stored, len, id);
    free(stored);
    parse_and_use(data, size, "29f5d7d3c161639951aa8037dcccc951133b4677");
    return 0;
}
