/* libFuzzer target for the commit parser: any input either parses into a commit whose ids can be
 * computed (anything else aborts, which the fuzzer reports), or is refused with an error. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_commit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seaf_commit *commit = NULL;
    struct seaf_parse_msg msg;
    if (seaf_commit_parse((const char *)data, size, &commit, &msg) != SEAF_OK)
        return 0;
    char id[SEAF_ID_LEN + 1];
    if (seaf_commit_compute_id(commit, SEAF_COMMIT_ID_C, id) != SEAF_OK ||
        !seaf_id_valid(id, strlen(id)))
        abort();
    if (seaf_commit_compute_id(commit, SEAF_COMMIT_ID_GO, id) != SEAF_OK ||
        !seaf_id_valid(id, strlen(id)))
        abort();
    seaf_commit_free(commit);
    return 0;
}
