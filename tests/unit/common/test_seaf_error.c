/* Unit tests for net/seaf_error: every code has text and a real errno; out-of-range is safe. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>

#include "seaf_error.h"

static void test_every_error_has_text_and_errno(void **state)
{
    (void)state;
    for (int e = SEAF_ERR_NOMEM; e < SEAF_ERR_COUNT; e++) {
        assert_non_null(seaf_strerror((seaf_err)e));
        assert_string_not_equal(seaf_strerror((seaf_err)e), "unknown error");
        assert_true(seaf_err_to_errno((seaf_err)e) > 0);
    }
    assert_int_equal(seaf_err_to_errno(SEAF_OK), 0);
}

static void test_specific_mappings(void **state)
{
    (void)state;
    assert_int_equal(seaf_err_to_errno(SEAF_ERR_NOT_FOUND), ENOENT);
    /* a read that cannot reach the server fails like a dead disk (EIO) or a down host, never
     * with ENOTCONN ("transport endpoint is not connected" reads as a dead mount) */
    assert_int_equal(seaf_err_to_errno(SEAF_ERR_TIMEOUT), EIO);
    assert_int_equal(seaf_err_to_errno(SEAF_ERR_NETWORK), EHOSTDOWN);
    assert_int_equal(seaf_err_to_errno(SEAF_ERR_PROTOCOL), EIO);
    assert_int_equal(seaf_err_to_errno(SEAF_ERR_ID_MISMATCH), EIO);
    assert_int_equal(seaf_err_to_errno(SEAF_ERR_NOSPACE), ENOSPC);
}

static void test_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(seaf_strerror((seaf_err)1000), "unknown error");
    assert_int_equal(seaf_err_to_errno((seaf_err)-1), EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_error_has_text_and_errno),
        cmocka_unit_test(test_specific_mappings),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests_name("seaf_error", tests, NULL, NULL);
}
