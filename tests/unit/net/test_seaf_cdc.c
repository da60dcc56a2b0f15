/* Unit tests for net/seaf_cdc: the protocol doc's §9.1 chunking vector (fingerprints, chunk sizes,
 * block ids over a 32 MiB LCG input), chunking from a file descriptor, and edge cases. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/sha.h>

#include "seaf_cdc.h"
#include "seaf_ids.h"

#define VECTOR_SIZE ((size_t)32 << 20)
#define MAX_CHUNKS  16

static const size_t vector_sizes[] = {10485760, 10485760, 6422346, 6160566};
static const char *const vector_ids[] = {
    "0e3b0ecb6dcd9c8c2066b7150f94e21f3b6945a2",
    "cb1588992a48858c299669cee129155a982fbe60",
    "1c9e8fdcad0033b36de8ad8b4d394842207c07e8",
    "6ed3c890cfd4c09be778375c6278ffb581e08f45",
};

/* The chunks seen by one chunking run. */
struct chunk_list {
    size_t count;
    uint64_t offsets[MAX_CHUNKS];
    size_t lengths[MAX_CHUNKS];
    char ids[MAX_CHUNKS][SEAF_ID_LEN + 1];
};

static void sha1_id(const unsigned char *data, size_t len, char out[SEAF_ID_LEN + 1])
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(data, len, digest);
    seaf_id_from_digest(digest, out);
}

static seaf_err record_chunk(void *ctx, uint64_t offset, const unsigned char *data, size_t len)
{
    struct chunk_list *list = ctx;
    if (list->count == MAX_CHUNKS)
        return SEAF_ERR_INVALID_ARG;
    list->offsets[list->count] = offset;
    list->lengths[list->count] = len;
    sha1_id(data, len, list->ids[list->count]);
    list->count++;
    return SEAF_OK;
}

/* byte i = (s_i >> 16) & 0xff with s_i = s_{i-1} * 1103515245 + 12345 mod 2^32, s_{-1} = 12345. */
static unsigned char *lcg_input(size_t len)
{
    unsigned char *buf = malloc(len);
    assert_non_null(buf);
    uint32_t s = 12345;
    for (size_t i = 0; i < len; i++) {
        s = s * 1103515245u + 12345u;
        buf[i] = (unsigned char)(s >> 16);
    }
    return buf;
}

/* A temporary file holding len bytes of buf, positioned at its start. */
static int temp_file_with(const unsigned char *buf, size_t len)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    int fd = dup(fileno(f));
    fclose(f);
    assert_true(fd >= 0);
    size_t done = 0;
    while (done < len) {
        ssize_t n = write(fd, buf + done, len - done);
        assert_true(n > 0);
        done += (size_t)n;
    }
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return fd;
}

/* Chunks len bytes of buf with seaf_cdc_chunk_fd, reading them from a temporary file. */
static void chunk_through_file(const unsigned char *buf, size_t len, struct chunk_list *list)
{
    int fd = temp_file_with(buf, len);
    assert_int_equal(seaf_cdc_chunk_fd(fd, record_chunk, list), SEAF_OK);
    close(fd);
}

static void test_vector_input_and_fingerprints(void **state)
{
    (void)state;
    unsigned char *buf = lcg_input(VECTOR_SIZE);
    char id[SEAF_ID_LEN + 1];
    sha1_id(buf, VECTOR_SIZE, id);
    assert_string_equal(id, "5dba3652e273c95d029ed0ab1ce2437b39370e52");

    uint32_t fingerprint = seaf_cdc_window_fingerprint(buf);
    assert_int_equal(fingerprint, 957401928u);
    for (size_t c = SEAF_CDC_WINDOW; c <= 4095; c++)
        fingerprint = seaf_cdc_roll(fingerprint, buf[c - SEAF_CDC_WINDOW], buf[c]);
    assert_int_equal(fingerprint, 3972459615u);
    /* Truncating to 32 bits makes the rolled value differ from a fresh fingerprint of the same
     * window: chunkers must roll exactly as Seafile does, not recompute windows. */
    assert_int_not_equal(fingerprint, seaf_cdc_window_fingerprint(buf + 4096 - SEAF_CDC_WINDOW));
    free(buf);
}

static void test_vector_chunks_from_memory(void **state)
{
    (void)state;
    unsigned char *buf = lcg_input(VECTOR_SIZE);
    struct chunk_list list = {0};
    size_t offset = 0;
    while (offset < VECTOR_SIZE) {
        size_t len = seaf_cdc_chunk_length(buf + offset, VECTOR_SIZE - offset);
        assert_int_equal(record_chunk(&list, offset, buf + offset, len), SEAF_OK);
        offset += len;
    }
    assert_int_equal(list.count, 4);
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(list.lengths[i], vector_sizes[i]);
        assert_string_equal(list.ids[i], vector_ids[i]);
    }
    free(buf);
}

static void test_vector_chunks_from_fd(void **state)
{
    (void)state;
    unsigned char *buf = lcg_input(VECTOR_SIZE);
    struct chunk_list list = {0};
    chunk_through_file(buf, VECTOR_SIZE, &list);
    free(buf);
    assert_int_equal(list.count, 4);
    uint64_t offset = 0;
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(list.offsets[i], offset);
        assert_int_equal(list.lengths[i], vector_sizes[i]);
        assert_string_equal(list.ids[i], vector_ids[i]);
        offset += list.lengths[i];
    }
}

static void test_small_and_empty_files(void **state)
{
    (void)state;
    static const unsigned char hello[] = "hello world\n";
    struct chunk_list list = {0};
    chunk_through_file(hello, 12, &list);
    assert_int_equal(list.count, 1);
    assert_int_equal(list.lengths[0], 12);
    assert_string_equal(list.ids[0], "22596363b3de40b06f981fb85d82312e8c0ed511");

    struct chunk_list none = {0};
    chunk_through_file(hello, 0, &none);
    assert_int_equal(none.count, 0);
    assert_int_equal(seaf_cdc_chunk_length(hello, 0), 0);
}

static void test_boundaryless_data_is_cut_at_maximum(void **state)
{
    (void)state;
    /* All-zero windows have fingerprint 0, never the break value: only the maximum cuts. */
    size_t len = 2 * SEAF_CDC_MAX_SIZE + SEAF_CDC_MIN_SIZE + 1;
    unsigned char *zeros = calloc(1, len);
    assert_non_null(zeros);
    assert_int_equal(seaf_cdc_window_fingerprint(zeros), 0);
    struct chunk_list list = {0};
    chunk_through_file(zeros, len, &list);
    free(zeros);
    assert_int_equal(list.count, 3);
    assert_int_equal(list.lengths[0], SEAF_CDC_MAX_SIZE);
    assert_int_equal(list.lengths[1], SEAF_CDC_MAX_SIZE);
    assert_int_equal(list.lengths[2], SEAF_CDC_MIN_SIZE + 1);
    assert_string_equal(list.ids[0], list.ids[1]);
}

static seaf_err stop_after_first(void *ctx, uint64_t offset, const unsigned char *data, size_t len)
{
    (void)offset;
    (void)data;
    (void)len;
    int *calls = ctx;
    (*calls)++;
    return SEAF_ERR_NOSPACE;
}

static void test_callback_error_stops_and_bad_args(void **state)
{
    (void)state;
    unsigned char *buf = lcg_input(3 * SEAF_CDC_MAX_SIZE);
    int fd = temp_file_with(buf, 3 * SEAF_CDC_MAX_SIZE);
    free(buf);
    int calls = 0;
    assert_int_equal(seaf_cdc_chunk_fd(fd, stop_after_first, &calls), SEAF_ERR_NOSPACE);
    assert_int_equal(calls, 1);
    close(fd);
    assert_int_equal(seaf_cdc_chunk_fd(-1, stop_after_first, &calls), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_cdc_chunk_fd(0, NULL, NULL), SEAF_ERR_INVALID_ARG);
    /* A closed descriptor is a read error, not a crash. */
    assert_int_equal(seaf_cdc_chunk_fd(fd, stop_after_first, &calls), SEAF_ERR_IO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_input_and_fingerprints),
        cmocka_unit_test(test_vector_chunks_from_memory),
        cmocka_unit_test(test_vector_chunks_from_fd),
        cmocka_unit_test(test_small_and_empty_files),
        cmocka_unit_test(test_boundaryless_data_is_cut_at_maximum),
        cmocka_unit_test(test_callback_error_stops_and_bad_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
