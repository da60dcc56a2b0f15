/* libFuzzer target for the commit parser: any input either parses into a commit whose ids can be
 * computed, or is refused with an error. */
#include <stddef.h>
#include <stdint.h>

#include "seaf_commit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct seaf_commit *commit = NULL;
    struct seaf_parse_msg msg;
    if (seaf_commit_parse((const char *)data, size, &commit, &msg) != SEAF_OK)
        return 0;
    char id[SEAF_ID_LEN + 1];
    seaf_commit_compute_id(commit, SEAF_COMMIT_ID_C, id);
    seaf_commit_compute_id(commit, SEAF_COMMIT_ID_GO, id);
    seaf_commit_free(commit);
    return 0;
}
