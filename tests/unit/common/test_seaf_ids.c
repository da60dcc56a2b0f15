/* Unit tests for net/seaf_ids: id and repo-id validation, digest to hex. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "seaf_ids.h"

static void test_object_id_accepts_lowercase_hex(void **state)
{
    (void)state;
    const char *id = "549115324a52afbcae8894c85814f1b3723b07c5";
    assert_true(seaf_id_valid(id, strlen(id)));
    assert_true(seaf_id_valid(SEAF_EMPTY_ID, strlen(SEAF_EMPTY_ID)));
}

static void test_object_id_rejects_bad_input(void **state)
{
    (void)state;
    const char *upper = "549115324A52AFBCAE8894C85814F1B3723B07C5";
    const char *short_id = "549115324a52afbcae8894c85814f1b3723b07c";
    const char *non_hex = "549115324a52afbcae8894c85814f1b3723b07cg";
    assert_false(seaf_id_valid(upper, strlen(upper)));
    assert_false(seaf_id_valid(short_id, strlen(short_id)));
    assert_false(seaf_id_valid(non_hex, strlen(non_hex)));
    assert_false(seaf_id_valid(NULL, 40));
    /* an embedded NUL inside the claimed length is not hex */
    assert_false(seaf_id_valid("549115324a52afbcae88\0"
                               "4c85814f1b3723b07c5",
                               40));
}

static void test_lower_hex(void **state)
{
    (void)state;
    assert_true(seaf_lower_hex_valid("0123456789abcdef", 16));
    assert_true(seaf_lower_hex_valid("", 0));
    assert_true(seaf_lower_hex_valid("abcX", 3)); /* only len bytes count */
    assert_false(seaf_lower_hex_valid("abcX", 4));
    assert_false(seaf_lower_hex_valid("ABCDEF", 6));
    assert_false(seaf_lower_hex_valid("12 4", 4));
    assert_false(seaf_lower_hex_valid(NULL, 0));
}

static void test_repo_id(void **state)
{
    (void)state;
    const char *ok = "c4910f68-4419-472d-8790-7d453cca13f4";
    const char *upper = "C4910F68-4419-472D-8790-7D453CCA13F4";
    const char *dashes_moved = "c4910f684-419-472d-8790-7d453cca13f4";
    assert_true(seaf_repo_id_valid(ok, strlen(ok)));
    assert_false(seaf_repo_id_valid(upper, strlen(upper)));
    assert_false(seaf_repo_id_valid(dashes_moved, strlen(dashes_moved)));
    assert_false(seaf_repo_id_valid("not-a-uuid", 10));
}

static void test_digest_to_hex(void **state)
{
    (void)state;
    unsigned char digest[20];
    for (int i = 0; i < 20; i++)
        digest[i] = (unsigned char)(i * 13 + 7);
    char out[SEAF_ID_LEN + 1];
    seaf_id_from_digest(digest, out);
    assert_string_equal(out, "0714212e3b4855626f7c8996a3b0bdcad7e4f1fe");
    assert_true(seaf_id_valid(out, strlen(out)));
}

static void test_hex_decode(void **state)
{
    (void)state;
    unsigned char out[3];
    assert_true(seaf_hex_decode("00aFff", 6, out, 3));
    assert_int_equal(out[0], 0x00);
    assert_int_equal(out[1], 0xaf);
    assert_int_equal(out[2], 0xff);
    assert_false(seaf_hex_decode("00aFf", 5, out, 3));  /* wrong length */
    assert_false(seaf_hex_decode("00aFfg", 6, out, 3)); /* not a digit */
    assert_false(seaf_hex_decode(NULL, 0, out, 0));
    char text[7];
    seaf_hex_encode(out, 3, text);
    assert_string_equal(text, "00afff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_object_id_accepts_lowercase_hex),
        cmocka_unit_test(test_object_id_rejects_bad_input),
        cmocka_unit_test(test_lower_hex),
        cmocka_unit_test(test_repo_id),
        cmocka_unit_test(test_digest_to_hex),
        cmocka_unit_test(test_hex_decode),
    };
    return cmocka_run_group_tests_name("seaf_ids", tests, NULL, NULL);
}
