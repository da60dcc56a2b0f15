/* Tests of seaf_sha1: one-shot and streamed ids agree with the protocol doc's vectors, and the
 * streamed verification used for blocks detects corrupted bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seaf_sha1.h"
#include "vectors_util.h"

static const char hello[] = "hello world\n";
static const char hello_id[] = "22596363b3de40b06f981fb85d82312e8c0ed511";

static void one_shot_matches_doc_vector(void **state)
{
    (void)state;
    char id[SEAF_ID_LEN + 1];
    assert_int_equal(seaf_sha1_id(hello, strlen(hello), id), SEAF_OK);
    assert_string_equal(id, hello_id);
    assert_int_equal(seaf_sha1_id(NULL, 0, id), SEAF_OK);
    assert_string_equal(id, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static void streamed_bytes_verify_and_context_restarts(void **state)
{
    (void)state;
    struct seaf_sha1 *sha1 = NULL;
    assert_int_equal(seaf_sha1_new(&sha1), SEAF_OK);
    for (size_t i = 0; i < strlen(hello); i++)
        assert_int_equal(seaf_sha1_update(sha1, hello + i, 1), SEAF_OK);
    assert_int_equal(seaf_sha1_verify(sha1, hello_id), SEAF_OK);
    /* The context starts over after a final: the same body verifies again. */
    assert_int_equal(seaf_sha1_update(sha1, hello, strlen(hello)), SEAF_OK);
    char id[SEAF_ID_LEN + 1];
    assert_int_equal(seaf_sha1_final(sha1, id), SEAF_OK);
    assert_string_equal(id, hello_id);
    /* A reset drops what was fed: only the bytes after it count. */
    assert_int_equal(seaf_sha1_update(sha1, "partial body", 12), SEAF_OK);
    assert_int_equal(seaf_sha1_reset(sha1), SEAF_OK);
    assert_int_equal(seaf_sha1_update(sha1, hello, strlen(hello)), SEAF_OK);
    assert_int_equal(seaf_sha1_verify(sha1, hello_id), SEAF_OK);
    assert_int_equal(seaf_sha1_reset(NULL), SEAF_ERR_INVALID_ARG);
    seaf_sha1_free(sha1);
}

static void corrupted_block_is_an_id_mismatch(void **state)
{
    (void)state;
    size_t len;
    unsigned char *block =
        read_whole_file(stored_object_path("blocks", "c4910f68-4419-472d-8790-7d453cca13f4",
                                           "36ec5985dac28bd7c7f60fb66a61b84125080d28"),
                        &len);
    assert_non_null(block);
    struct seaf_sha1 *sha1 = NULL;
    assert_int_equal(seaf_sha1_new(&sha1), SEAF_OK);
    assert_int_equal(seaf_sha1_update(sha1, block, len), SEAF_OK);
    assert_int_equal(seaf_sha1_verify(sha1, "36ec5985dac28bd7c7f60fb66a61b84125080d28"), SEAF_OK);
    block[len / 2] ^= 0x01;
    assert_int_equal(seaf_sha1_update(sha1, block, len), SEAF_OK);
    assert_int_equal(seaf_sha1_verify(sha1, "36ec5985dac28bd7c7f60fb66a61b84125080d28"),
                     SEAF_ERR_ID_MISMATCH);
    assert_int_equal(seaf_sha1_update(sha1, NULL, 3), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_sha1_verify(sha1, NULL), SEAF_ERR_INVALID_ARG);
    seaf_sha1_free(sha1);
    seaf_sha1_free(NULL);
    free(block);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_shot_matches_doc_vector),
        cmocka_unit_test(streamed_bytes_verify_and_context_restarts),
        cmocka_unit_test(corrupted_block_is_an_id_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
