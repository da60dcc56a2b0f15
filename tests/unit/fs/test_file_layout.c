/* Tests of file_layout: for many random files (plain and encrypted, 1 to 12 blocks, lengths
 * around the 16-byte padding edges), every byte is located at its true block and offset whatever
 * lengths are known, the lengths locate() asks for always include an unknown one (so reading
 * terminates), and stored sizes that cannot belong to the file are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "file_layout.h"

static uint64_t cipher_size(uint64_t plain)
{
    return (plain / 16 + 1) * 16;
}

/* One random file: locate every byte (in random order) from a random starting knowledge. */
static void check_random_file(unsigned seed, bool encrypted)
{
    srand(seed);
    size_t n = 1 + (size_t)(rand() % 12);
    uint64_t plain[12], truth_start[13] = {0};
    for (size_t i = 0; i < n; i++) {
        plain[i] = 1 + (uint64_t)(rand() % 70);
        truth_start[i + 1] = truth_start[i] + plain[i];
    }
    uint64_t size = truth_start[n];
    struct file_layout l;
    assert_int_equal(file_layout_init(&l, n, size, encrypted), 0);
    for (size_t i = 0; i < n; i++) {
        file_layout_set_stored(&l, i, encrypted ? cipher_size(plain[i]) : plain[i]);
        if (encrypted && rand() % 3 == 0)
            file_layout_set_plain(&l, i, plain[i]);
    }
    if (encrypted && n == 1)
        file_layout_set_plain(&l, 0, size);
    assert_int_equal(file_layout_check(&l), 0);
    for (int round = 0; round < 40; round++) {
        uint64_t x = (uint64_t)rand() % size;
        size_t index, from, to;
        uint64_t start, known;
        int steps = 0;
        while (!file_layout_locate(&l, x, &index, &start, &known, &from, &to)) {
            assert_true(from < to && to <= n);
            bool learns = false;
            for (size_t i = from; i < to; i++) {
                learns |= l.plain[i] == 0;
                file_layout_set_plain(&l, i, plain[i]);
            }
            assert_true(learns);
            assert_int_equal(file_layout_check(&l), 0);
            assert_true(++steps <= (int)n);
        }
        assert_true(x >= truth_start[index] && x < truth_start[index + 1]);
        assert_int_equal(start, truth_start[index]);
        assert_true(known <= plain[index] && start + known > x);
    }
    file_layout_release(&l);
}

static void random_files_locate_exactly(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 3000; seed++)
        check_random_file(seed, seed % 4 != 0);
}

/* The sum of lengths pins a single unknown block between known ones. */
static void one_unknown_block_is_implied(void **state)
{
    (void)state;
    struct file_layout l;
    assert_int_equal(file_layout_init(&l, 3, 10 + 20 + 30, true), 0);
    file_layout_set_stored(&l, 0, 16);
    file_layout_set_stored(&l, 1, 32);
    file_layout_set_stored(&l, 2, 32);
    file_layout_set_plain(&l, 0, 10);
    file_layout_set_plain(&l, 2, 30);
    assert_int_equal(file_layout_check(&l), 0);
    size_t index, from, to;
    uint64_t start, known;
    assert_true(file_layout_locate(&l, 29, &index, &start, &known, &from, &to));
    assert_int_equal(index, 1);
    assert_int_equal(start, 10);
    assert_int_equal(known, 20);
    file_layout_release(&l);
}

static void impossible_sizes_are_refused(void **state)
{
    (void)state;
    struct file_layout l;
    /* Plain: stored sizes must add up to the size. */
    assert_int_equal(file_layout_init(&l, 2, 100, false), 0);
    file_layout_set_stored(&l, 0, 50);
    file_layout_set_stored(&l, 1, 51);
    assert_int_equal(file_layout_check(&l), -EIO);
    file_layout_release(&l);
    /* Encrypted: multiples of 16, exceeding the size by 1..16 per block. */
    assert_int_equal(file_layout_init(&l, 2, 100, true), 0);
    file_layout_set_stored(&l, 0, 48);
    file_layout_set_stored(&l, 1, 50);
    assert_int_equal(file_layout_check(&l), -EIO);
    file_layout_set_stored(&l, 1, 48); /* 96 < 100 + 2 */
    assert_int_equal(file_layout_check(&l), -EIO);
    file_layout_set_stored(&l, 0, 64);
    file_layout_set_stored(&l, 1, 64); /* 128: fits */
    assert_int_equal(file_layout_check(&l), 0);
    file_layout_set_plain(&l, 0, 60);
    file_layout_set_plain(&l, 1, 60); /* 120 != 100 */
    assert_int_equal(file_layout_check(&l), -EIO);
    file_layout_release(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_files_locate_exactly),
        cmocka_unit_test(one_unknown_block_is_implied),
        cmocka_unit_test(impossible_sizes_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
