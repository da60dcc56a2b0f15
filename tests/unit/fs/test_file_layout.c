/* Tests of file_layout: for many random files (plain and encrypted, 1 to 12 blocks, lengths
 * around the 16-byte padding edges), every byte is located at its true block and offset whatever
 * lengths are known or given as hints, the lengths locate() asks for always include an unknown
 * one (so reading terminates), stored sizes that cannot belong to the file are refused, hints
 * that cannot be right are refused whole, and a wrong hint that fits is caught by its block. */
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
    uint64_t hints[12] = {0};
    for (size_t i = 0; i < n; i++) {
        file_layout_set_stored(&l, i, encrypted ? cipher_size(plain[i]) : plain[i]);
        int pick = rand() % 3;
        if (encrypted && pick == 0)
            file_layout_set_plain(&l, i, plain[i]);
        else if (encrypted && pick == 1)
            hints[i] = plain[i];
    }
    if (encrypted && n == 1)
        file_layout_set_plain(&l, 0, size);
    assert_int_equal(file_layout_check(&l), 0);
    if (encrypted)
        assert_int_equal(file_layout_add_hints(&l, hints), 0);
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
                assert_int_equal(file_layout_confirm(&l, i, plain[i]), 0);
            }
            assert_true(learns);
            assert_int_equal(file_layout_check(&l), 0);
            assert_true(++steps <= (int)n);
        }
        assert_true(x >= truth_start[index] && x < truth_start[index + 1]);
        assert_int_equal(start, truth_start[index]);
        assert_true(known <= plain[index] && start + known > x);
        if (encrypted) /* the block is open now: its padding confirms a hint */
            assert_int_equal(file_layout_confirm(&l, index, plain[index]), 0);
    }
    for (size_t i = 0; i < n; i++)
        assert_false(l.hint[i] && l.plain[i] != plain[i]);
    file_layout_release(&l);
}

static void random_files_locate_exactly(void **state)
{
    (void)state;
    for (unsigned seed = 1; seed <= 3000; seed++)
        check_random_file(seed, seed % 4 != 0);
}

/* Byte x is found in block index, which starts at start. */
static void assert_located(const struct file_layout *l, uint64_t x, size_t index, uint64_t start)
{
    size_t got, from, to;
    uint64_t got_start, known;
    assert_true(file_layout_locate(l, x, &got, &got_start, &known, &from, &to));
    assert_int_equal(got, index);
    assert_int_equal(got_start, start);
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
    assert_located(&l, 29, 1, 10);
    size_t index, from, to;
    uint64_t start, known;
    assert_true(file_layout_locate(&l, 29, &index, &start, &known, &from, &to));
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

/* Three encrypted blocks of 10, 20 and 30 bytes (stored 16, 32, 32) with nothing known. */
static void three_blocks(struct file_layout *l)
{
    assert_int_equal(file_layout_init(l, 3, 60, true), 0);
    file_layout_set_stored(l, 0, 16);
    file_layout_set_stored(l, 1, 32);
    file_layout_set_stored(l, 2, 32);
    assert_int_equal(file_layout_check(l), 0);
}

static void assert_nothing_known(const struct file_layout *l)
{
    for (size_t i = 0; i < l->n; i++)
        assert_true(l->plain[i] == 0 && !l->hint[i]);
    assert_null(l->offsets);
    assert_int_equal(l->n_hints, 0);
}

static void hints_that_cannot_be_right_are_refused_whole(void **state)
{
    (void)state;
    struct file_layout l;
    three_blocks(&l);
    const uint64_t refused[][3] = {
        {16, 20, 30}, /* not below its stored size */
        {10, 15, 0},  /* more than 16 below it */
        {10, 20, 31}, /* in range, but they add up to 61, not 60 */
        {0, 16, 16},  /* block 0 would need 28 bytes: it holds 15 at most */
    };
    for (size_t k = 0; k < sizeof(refused) / sizeof(refused[0]); k++) {
        assert_int_equal(file_layout_add_hints(&l, refused[k]), -EIO);
        assert_nothing_known(&l);
    }
    /* A hint that contradicts a length learned from the block itself. */
    assert_int_equal(file_layout_confirm(&l, 1, 20), 0);
    const uint64_t other[3] = {10, 21, 0};
    assert_int_equal(file_layout_add_hints(&l, other), -EIO);
    assert_int_equal(l.plain[0], 0);
    assert_int_equal(l.n_hints, 0);
    /* Hints on a plain file make no sense. */
    struct file_layout plain;
    assert_int_equal(file_layout_init(&plain, 1, 5, false), 0);
    file_layout_set_stored(&plain, 0, 5);
    const uint64_t five[1] = {5};
    assert_int_equal(file_layout_add_hints(&plain, five), -EIO);
    file_layout_release(&plain);
    file_layout_release(&l);
}

static void complete_hints_give_offsets_until_one_is_found_wrong(void **state)
{
    (void)state;
    struct file_layout l;
    three_blocks(&l);
    /* Wrong by one both ways: fits every check, places block 1 one byte late. */
    const uint64_t wrong[3] = {11, 19, 30};
    assert_int_equal(file_layout_add_hints(&l, wrong), 0);
    assert_non_null(l.offsets);
    assert_int_equal(l.offsets[1], 11);
    assert_int_equal(l.n_hints, 3);
    assert_int_equal(file_layout_confirm(&l, 2, 30), 0); /* block 2's own is right */
    assert_false(l.hint[2]);
    assert_int_equal(file_layout_confirm(&l, 1, 20), -ESTALE);
    file_layout_drop_hints(&l);
    assert_null(l.offsets);
    assert_int_equal(l.plain[0], 0);
    assert_int_equal(l.plain[1], 0);
    assert_int_equal(l.plain[2], 30); /* confirmed: kept */
    uint64_t confirmed[3];
    file_layout_confirmed(&l, confirmed);
    assert_true(confirmed[0] == 0 && confirmed[1] == 0 && confirmed[2] == 30);
    /* Learned from the blocks, the lengths place byte 10 in block 1 at its start. */
    assert_int_equal(file_layout_confirm(&l, 0, 10), 0);
    assert_int_equal(file_layout_confirm(&l, 1, 20), 0);
    assert_int_equal(file_layout_check(&l), 0);
    assert_located(&l, 10, 1, 10);
    /* A learned length that the block contradicts is not a hint: -EIO. */
    assert_int_equal(file_layout_confirm(&l, 0, 11), -EIO);
    file_layout_release(&l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_files_locate_exactly),
        cmocka_unit_test(one_unknown_block_is_implied),
        cmocka_unit_test(impossible_sizes_are_refused),
        cmocka_unit_test(hints_that_cannot_be_right_are_refused_whole),
        cmocka_unit_test(complete_hints_give_offsets_until_one_is_found_wrong),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
