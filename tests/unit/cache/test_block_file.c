/* Tests of the block file format and the store: crc32c, frame encode/decode, writer/reader round
 * trips at frame boundaries, corruption and truncation detection, and atomic publish. */
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "block_format.h"
#include "block_reader.h"
#include "block_writer.h"
#include "cache_kind.h"
#include "cache_test_util.h"
#include "crc32c.h"
#include "store.h"

#define FRAME (64u * 1024u)

static void test_crc32c_known_value(void **state)
{
    (void)state;
    assert_int_equal(crc32c_update(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_update_portable(0, "123456789", 9), 0xE3069283u);
    unsigned char buf[1000];
    test_fill_random(buf, sizeof(buf), 7);
    for (size_t len = 0; len < sizeof(buf); len += 37) {
        uint32_t whole = crc32c_update(0, buf, len);
        assert_int_equal(whole, crc32c_update_portable(0, buf, len));
        assert_int_equal(
            whole, crc32c_update(crc32c_update(0, buf, len / 3), buf + len / 3, len - len / 3));
    }
    /* Long inputs take the interleaved path (three parts of 8 KiB, then of 256 bytes): the same
     * result at every length around those sizes and at unaligned starts. */
    size_t big_len = 100 * 1024;
    unsigned char *big = malloc(big_len + 8);
    assert_non_null(big);
    test_fill_random(big, big_len + 8, 11);
    const size_t lens[] = {767,
                           768,
                           769,
                           3 * 8192 - 1,
                           3 * 8192,
                           3 * 8192 + 7,
                           3 * 8192 + 768,
                           64 * 1024,
                           2 * 3 * 8192 + 3 * 256 + 5,
                           big_len};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        for (size_t start = 0; start < 8; start += 3)
            assert_int_equal(crc32c_update(5, big + start, lens[i]),
                             crc32c_update_portable(5, big + start, lens[i]));
    free(big);
}

/* Checks and decodes a whole frame as a reader does: crc of the stored bytes, then lz4. */
static seaf_err check_and_decode(const struct block_frame *f, const void *stored, void *plain)
{
    if (!block_frame_intact(f, stored))
        return SEAF_ERR_ID_MISMATCH;
    uint32_t decoded;
    seaf_err err = block_frame_decode_prefix(f, stored, plain, f->plain_len, &decoded);
    assert_true(err != SEAF_OK || decoded == f->plain_len);
    return err;
}

static void test_frame_raw_when_lz4_does_not_help(void **state)
{
    (void)state;
    unsigned char plain[4096], stored[8192], back[4096];
    struct block_frame f;
    test_fill_random(plain, sizeof(plain), 1);
    assert_ptr_equal(block_frame_encode(plain, sizeof(plain), stored, &f), plain); /* as is */
    assert_int_equal(f.flags, 0);
    assert_int_equal(f.stored_len, sizeof(plain));
    assert_int_equal(check_and_decode(&f, plain, back), SEAF_OK);
    assert_memory_equal(plain, back, sizeof(plain));

    /* Saving less than 1/16 is not worth decoding: random bytes with a compressible 1/32. */
    memset(plain, 'x', sizeof(plain) / 32);
    assert_ptr_equal(block_frame_encode(plain, sizeof(plain), stored, &f), plain);
    assert_int_equal(f.flags, 0);

    test_fill_text(plain, sizeof(plain), 1);
    assert_ptr_equal(block_frame_encode(plain, sizeof(plain), stored, &f), stored);
    assert_int_equal(f.flags, BLOCK_FRAME_LZ4);
    assert_true(f.stored_len < sizeof(plain) / 2);
    assert_int_equal(check_and_decode(&f, stored, back), SEAF_OK);
    assert_memory_equal(plain, back, sizeof(plain));
    stored[f.stored_len / 2] ^= 0x01;
    assert_int_equal(check_and_decode(&f, stored, back), SEAF_ERR_ID_MISMATCH);
}

/* Writes data as object (kind, id) into a new file at path with the given frame size. */
static void write_block_file(const char *path, int kind, const char *id, const void *data,
                             size_t len, uint32_t frame)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    struct block_writer *w;
    assert_int_equal(block_writer_new(fd, (uint32_t)kind, id, frame, &w), SEAF_OK);
    /* Append in odd-sized pieces so frames are assembled across calls. */
    size_t off = 0;
    size_t piece = 1;
    while (off < len) {
        size_t n = len - off < piece ? len - off : piece;
        assert_int_equal(block_writer_append(w, (const char *)data + off, n), SEAF_OK);
        off += n;
        piece = piece * 3 + 7;
    }
    char sha1[SEAF_ID_LEN + 1];
    uint64_t file_size;
    assert_int_equal(block_writer_finish(w, len % 2 == 0, sha1, &file_size), SEAF_OK);
    char expect[SEAF_ID_LEN + 1];
    test_sha1_id(data, len, expect);
    assert_string_equal(sha1, expect);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0);
    assert_int_equal((uint64_t)st.st_size, file_size);
    block_writer_free(w);
    close(fd);
}

static struct block_reader *open_reader(const char *path, int kind, const char *id, seaf_err expect)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    struct block_reader *r = NULL;
    assert_int_equal(block_reader_open(fd, (uint32_t)kind, id, &r), expect);
    return r;
}

static void check_round_trip(size_t len, int text)
{
    char *dir = test_make_dir("blockfile");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/f", dir);
    unsigned char *data = malloc(len + 1);
    if (text)
        test_fill_text(data, len, len);
    else
        test_fill_random(data, len, len);
    char id[SEAF_ID_LEN + 1];
    test_sha1_id(data, len, id);
    write_block_file(path, CACHE_KIND_BLOCK, id, data, len, FRAME);

    struct block_reader *r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    assert_int_equal(block_reader_size(r), len);
    unsigned char *back = malloc(len + 100);
    size_t n = 12345;
    assert_int_equal(block_reader_read(r, 0, len + 100, back, &n), SEAF_OK);
    assert_int_equal(n, len);
    assert_memory_equal(back, data, len);
    /* Ranges that start and end inside and across frames, and past the end. */
    uint64_t rs = len + 1;
    for (int i = 0; i < 50 && len > 0; i++) {
        uint64_t off = test_rand(&rs) % len;
        size_t want = (size_t)(test_rand(&rs) % (3 * FRAME));
        assert_int_equal(block_reader_read(r, off, want, back, &n), SEAF_OK);
        size_t expect_n = want < len - off ? want : (size_t)(len - off);
        assert_int_equal(n, expect_n);
        assert_memory_equal(back, data + off, n);
    }
    /* Part of frame 0, then exactly frame 1 (decoded into the caller's buffer), then more of
     * frame 0: each read returns its own bytes. */
    if (len >= 2 * FRAME) {
        assert_int_equal(block_reader_read(r, 0, 100, back, &n), SEAF_OK);
        assert_memory_equal(back, data, 100);
        assert_int_equal(block_reader_read(r, FRAME, FRAME, back, &n), SEAF_OK);
        assert_int_equal(n, FRAME);
        assert_memory_equal(back, data + FRAME, FRAME);
        assert_int_equal(block_reader_read(r, 100, FRAME - 100, back, &n), SEAF_OK);
        assert_int_equal(n, FRAME - 100);
        assert_memory_equal(back, data + 100, FRAME - 100);
    }
    assert_int_equal(block_reader_read(r, len, 10, back, &n), SEAF_OK);
    assert_int_equal(n, 0);
    block_reader_free(r);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    if (!text)
        assert_true((uint64_t)st.st_size >= len);
    else if (len > 4096)
        assert_true((uint64_t)st.st_size < len / 2);
    free(back);
    free(data);
    test_remove_tree(dir);
    free(dir);
}

static void test_round_trip_at_frame_boundaries(void **state)
{
    (void)state;
    const size_t sizes[] = {0, 1, FRAME - 1, FRAME, FRAME + 1, 3 * FRAME + FRAME / 2, 2 * FRAME};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        check_round_trip(sizes[i], 0);
        check_round_trip(sizes[i], 1);
    }
}

/* The frame table of the block file at path. */
static void load_layout_of(const char *path, struct block_layout *layout)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    size_t len = (size_t)st.st_size;
    unsigned char *file = malloc(len);
    int fd = open(path, O_RDONLY);
    assert_non_null(file);
    assert_int_equal(pread(fd, file, len, 0), (ssize_t)len);
    close(fd);
    uint32_t frames;
    assert_int_equal(block_footer_frame_count(file + len - BLOCK_FOOTER_SIZE, &frames), SEAF_OK);
    size_t trailer = block_trailer_size(frames);
    assert_int_equal(block_trailer_decode(file + len - trailer, trailer, len, layout), SEAF_OK);
    free(file);
}

/* After frames that stay raw, the next ones are stored raw without trying lz4 (1, 2, 4 ...
 * frames), and a frame that compresses ends that: the layout is the same whether the bytes come
 * in whole frames (encoded where they are) or in odd pieces, and every byte reads back. */
static void test_incompressible_frames_skip_lz4(void **state)
{
    (void)state;
    char *dir = test_make_dir("skiplz4");
    char path[PATH_MAX], odd_path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/whole", dir);
    snprintf(odd_path, sizeof(odd_path), "%s/odd", dir);
    size_t len = 52 * FRAME + 5;
    unsigned char *data = malloc(len), *back = malloc(len);
    test_fill_random(data, 8 * FRAME, 1);                /* frames 0-7 */
    test_fill_text(data + 8 * FRAME, 40 * FRAME, 2);     /* frames 8-47 */
    test_fill_random(data + 48 * FRAME, FRAME, 3);       /* frame 48 */
    test_fill_text(data + 49 * FRAME, 3 * FRAME + 5, 4); /* frames 49-52 */
    char id[SEAF_ID_LEN + 1];
    test_sha1_id(data, len, id);

    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    struct block_writer *w;
    assert_int_equal(block_writer_new(fd, CACHE_KIND_BLOCK, id, FRAME, &w), SEAF_OK);
    assert_int_equal(block_writer_append(w, data, 10 * FRAME), SEAF_OK);
    assert_int_equal(block_writer_plain_size(w), 10 * FRAME);
    assert_int_equal(block_writer_append(w, data + 10 * FRAME, 7), SEAF_OK);
    assert_int_equal(block_writer_append(w, data + 10 * FRAME + 7, len - 10 * FRAME - 7), SEAF_OK);
    char sha1[SEAF_ID_LEN + 1];
    uint64_t file_size;
    assert_int_equal(block_writer_finish(w, false, sha1, &file_size), SEAF_OK);
    assert_string_equal(sha1, id);
    block_writer_free(w);
    close(fd);
    write_block_file(odd_path, CACHE_KIND_BLOCK, id, data, len, FRAME);

    struct block_layout whole, odd;
    load_layout_of(path, &whole);
    load_layout_of(odd_path, &odd);
    assert_int_equal(whole.frame_count, 53);
    for (uint32_t i = 0; i < whole.frame_count; i++) {
        /* Tried: 0, 2, 5 (raw), 10 (lz4) ... 48 (raw), 50, 51, 52 (5 bytes: raw). Untried (raw):
         * 1, 3-4, 6-9, 49. */
        bool lz4 = (i >= 10 && i <= 47) || i == 50 || i == 51;
        assert_int_equal(whole.frames[i].flags, lz4 ? BLOCK_FRAME_LZ4 : 0);
        assert_int_equal(odd.frames[i].flags, whole.frames[i].flags);
        assert_int_equal(odd.frames[i].crc, whole.frames[i].crc);
    }
    block_layout_release(&whole);
    block_layout_release(&odd);
    struct block_reader *r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    size_t n;
    assert_int_equal(block_reader_read(r, 0, len, back, &n), SEAF_OK);
    assert_int_equal(n, len);
    assert_memory_equal(back, data, len);
    block_reader_free(r);
    free(data);
    free(back);
    test_remove_tree(dir);
    free(dir);
}

static void test_round_trip_10mib_block(void **state)
{
    (void)state;
    check_round_trip(10u * 1024 * 1024, 0);
}

static void test_corrupt_frame_is_never_served(void **state)
{
    (void)state;
    char *dir = test_make_dir("corrupt");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/f", dir);
    size_t len = 4 * FRAME;
    unsigned char *data = malloc(len), *back = malloc(len);
    test_fill_text(data, len, 3);
    char id[SEAF_ID_LEN + 1];
    test_sha1_id(data, len, id);
    write_block_file(path, CACHE_KIND_BLOCK, id, data, len, FRAME);
    struct block_reader *r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    size_t n;
    assert_int_equal(block_reader_read(r, 0, 100, back, &n), SEAF_OK);
    block_reader_free(r);

    /* Damage the first byte of frame 0 while a reader is open: frame 1 still reads, frame 0
     * fails, and from then on the reader refuses everything. */
    r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    test_flip_byte(path, 0);
    assert_int_equal(block_reader_read(r, FRAME + 10, 100, back, &n), SEAF_OK);
    assert_memory_equal(back, data + FRAME + 10, 100);
    assert_int_equal(block_reader_read(r, 10, 100, back, &n), SEAF_ERR_ID_MISMATCH);
    assert_int_equal(n, 0);
    assert_int_equal(block_reader_read(r, FRAME + 10, 100, back, &n), SEAF_ERR_ID_MISMATCH);
    block_reader_free(r);
    r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    assert_int_equal(block_reader_read(r, 0, len, back, &n), SEAF_ERR_ID_MISMATCH);
    assert_int_equal(n, 0);
    block_reader_free(r);
    /* A read of exactly the damaged frame (decoded straight into the caller's buffer) fails the
     * same way and poisons the reader too. */
    r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    n = 12345;
    assert_int_equal(block_reader_read(r, 0, FRAME, back, &n), SEAF_ERR_ID_MISMATCH);
    assert_int_equal(n, 0);
    assert_int_equal(block_reader_read(r, FRAME + 10, 100, back, &n), SEAF_ERR_ID_MISMATCH);
    block_reader_free(r);
    free(data);
    free(back);
    test_remove_tree(dir);
    free(dir);
}

/* Incompressible frames are stored raw and a run of them is read with one pread into the
 * caller's buffer: runs stop at lz4 frames and at the read's end, the bytes come out right, and
 * a damaged frame anywhere in a run fails the read (no byte returned) and poisons the reader. */
static void test_raw_frame_runs(void **state)
{
    (void)state;
    char *dir = test_make_dir("rawruns");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/f", dir);
    size_t len = 6 * FRAME + 1000;
    unsigned char *data = malloc(len), *back = malloc(len);
    test_fill_random(data, len, 5);
    test_fill_text(data + 3 * FRAME, FRAME, 6); /* frame 3 compresses: raw 0-2, lz4 3, raw 4-6 */
    char id[SEAF_ID_LEN + 1];
    test_sha1_id(data, len, id);
    write_block_file(path, CACHE_KIND_BLOCK, id, data, len, FRAME);
    struct block_reader *r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    size_t n;
    const size_t spans[][2] = {{0, len},
                               {0, 3 * FRAME},
                               {FRAME / 2, 3 * FRAME},
                               {FRAME, FRAME},
                               {4 * FRAME, len - 4 * FRAME},
                               {5 * FRAME - 1, 2}};
    for (size_t i = 0; i < sizeof(spans) / sizeof(spans[0]); i++) {
        memset(back, 0, len);
        assert_int_equal(block_reader_read(r, spans[i][0], spans[i][1], back, &n), SEAF_OK);
        assert_int_equal(n, spans[i][1]);
        assert_memory_equal(back, data + spans[i][0], spans[i][1]);
    }
    block_reader_free(r);

    test_flip_byte(path, 2 * FRAME + 7); /* inside raw frame 2 */
    r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    assert_int_equal(block_reader_read(r, 0, 2 * FRAME, back, &n), SEAF_OK); /* frames 0-1 */
    assert_memory_equal(back, data, 2 * FRAME);
    n = 12345;
    assert_int_equal(block_reader_read(r, 0, 3 * FRAME, back, &n), SEAF_ERR_ID_MISMATCH);
    assert_int_equal(n, 0);
    assert_int_equal(block_reader_read(r, 0, 100, back, &n), SEAF_ERR_ID_MISMATCH);
    block_reader_free(r);
    free(data);
    free(back);
    test_remove_tree(dir);
    free(dir);
}

static void test_damaged_trailer_or_wrong_object_refused(void **state)
{
    (void)state;
    char *dir = test_make_dir("trailer");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/f", dir);
    size_t len = 2 * FRAME + 5;
    unsigned char *data = malloc(len);
    test_fill_random(data, len, 9);
    char id[SEAF_ID_LEN + 1];
    test_sha1_id(data, len, id);
    write_block_file(path, CACHE_KIND_BLOCK, id, data, len, FRAME);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);

    char other[SEAF_ID_LEN + 1];
    test_sha1_id("x", 1, other);
    open_reader(path, CACHE_KIND_BLOCK, other, SEAF_ERR_MALFORMED);
    open_reader(path, CACHE_KIND_FS, id, SEAF_ERR_MALFORMED);

    /* Every byte of the trailer is covered by its checksum. */
    size_t trailer = block_trailer_size(3);
    for (size_t i = 0; i < trailer; i += 7) {
        off_t at = st.st_size - (off_t)trailer + (off_t)i;
        test_flip_byte(path, at);
        open_reader(path, CACHE_KIND_BLOCK, id, SEAF_ERR_MALFORMED);
        test_flip_byte(path, at);
    }
    struct block_reader *r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    block_reader_free(r);

    /* A truncated file (or one with bytes added) no longer matches its table. */
    assert_int_equal(truncate(path, st.st_size - 1), 0);
    open_reader(path, CACHE_KIND_BLOCK, id, SEAF_ERR_MALFORMED);
    assert_int_equal(truncate(path, 10), 0);
    open_reader(path, CACHE_KIND_BLOCK, id, SEAF_ERR_MALFORMED);
    assert_int_equal(truncate(path, 0), 0);
    open_reader(path, CACHE_KIND_BLOCK, id, SEAF_ERR_MALFORMED);
    free(data);
    test_remove_tree(dir);
    free(dir);
}

/* Encodes a trailer for the given fields (no frames) and decodes it as a whole file. */
static seaf_err decode_fields(uint64_t plain_size, uint32_t frame_size, uint32_t frame_count)
{
    struct block_frame frames[2] = {{.stored_len = 0, .flags = 0}, {.stored_len = 0}};
    struct block_layout l = {.kind = CACHE_KIND_BLOCK,
                             .plain_size = plain_size,
                             .frame_size = frame_size,
                             .frame_count = frame_count,
                             .frames = frames};
    test_sha1_id("", 0, l.id);
    unsigned char buf[256];
    size_t len = block_trailer_size(frame_count);
    block_trailer_encode(&l, buf);
    struct block_layout out;
    seaf_err err = block_trailer_decode(buf, len, len, &out);
    if (err == SEAF_OK)
        block_layout_release(&out);
    return err;
}

static void test_trailer_fields_must_agree(void **state)
{
    (void)state;
    /* Well-formed (checksum right) but impossible trailers are refused, not trusted. */
    assert_int_equal(decode_fields(0, FRAME, 0), SEAF_OK);
    assert_int_equal(decode_fields(UINT64_MAX, FRAME, 0), SEAF_ERR_MALFORMED);
    assert_int_equal(decode_fields(UINT64_MAX - FRAME + 2, FRAME, 0), SEAF_ERR_MALFORMED);
    assert_int_equal(decode_fields(1, FRAME, 0), SEAF_ERR_MALFORMED);
    assert_int_equal(decode_fields(0, 0, 0), SEAF_ERR_MALFORMED);
    assert_int_equal(decode_fields(0, BLOCK_FRAME_SIZE_MAX + 1, 0), SEAF_ERR_MALFORMED);
    /* One frame claimed, but its stored bytes are not in the file. */
    assert_int_equal(decode_fields(0, FRAME, 1), SEAF_ERR_MALFORMED);
}

static int count_objects(int kind, const char *id, uint64_t size, time_t mtime, void *ctx)
{
    (void)kind;
    (void)id;
    (void)size;
    (void)mtime;
    (*(int *)ctx)++;
    return 0;
}

static void test_store_publish_is_atomic(void **state)
{
    (void)state;
    char *dir = test_make_dir("store");
    struct store s;
    assert_int_equal(store_init(&s, dir), SEAF_OK);
    const char *payload = "hello block";
    char id[SEAF_ID_LEN + 1];
    test_sha1_id(payload, strlen(payload), id);

    int fd;
    char tmp[PATH_MAX];
    assert_int_equal(store_temp_create(&s, CACHE_KIND_BLOCK, id, &fd, tmp), SEAF_OK);
    assert_int_equal(write(fd, payload, strlen(payload)), (ssize_t)strlen(payload));
    int rfd;
    assert_int_equal(store_open_object(&s, CACHE_KIND_BLOCK, id, &rfd), SEAF_ERR_NOT_FOUND);
    int found = 0;
    assert_int_equal(store_scan(&s, CACHE_KIND_BLOCK, count_objects, &found), SEAF_OK);
    assert_int_equal(found, 0);

    assert_int_equal(store_publish(&s, tmp, CACHE_KIND_BLOCK, id, true), SEAF_OK);
    close(fd);
    assert_int_equal(store_open_object(&s, CACHE_KIND_BLOCK, id, &rfd), SEAF_OK);
    close(rfd);
    assert_int_equal(store_open_object(&s, CACHE_KIND_FS, id, &rfd), SEAF_ERR_NOT_FOUND);
    assert_int_equal(store_scan(&s, CACHE_KIND_BLOCK, count_objects, &found), SEAF_OK);
    assert_int_equal(found, 1);

    /* Leftover temp files and debris with non-id names are cleaned. */
    assert_int_equal(store_temp_create(&s, CACHE_KIND_BLOCK, id, &fd, tmp), SEAF_OK);
    close(fd);
    assert_int_equal(store_clear_temp(&s), 1);
    assert_int_equal(access(tmp, F_OK), -1);
    char junk[PATH_MAX];
    snprintf(junk, sizeof(junk), "%s/blocks/%.2s/not-an-id", dir, id);
    fd = open(junk, O_CREAT | O_WRONLY, 0600);
    close(fd);
    found = 0;
    assert_int_equal(store_scan(&s, CACHE_KIND_BLOCK, count_objects, &found), SEAF_OK);
    assert_int_equal(found, 1);
    assert_int_equal(access(junk, F_OK), -1);

    assert_int_equal(store_remove(&s, CACHE_KIND_BLOCK, id), SEAF_OK);
    assert_int_equal(store_remove(&s, CACHE_KIND_BLOCK, id), SEAF_OK);
    assert_int_equal(store_open_object(&s, CACHE_KIND_BLOCK, id, &rfd), SEAF_ERR_NOT_FOUND);
    test_remove_tree(dir);
    free(dir);
}

/* Pages of the file at path in the page cache, of its first `len` bytes. */
static size_t resident_pages(const char *path, size_t len)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    void *map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(map != MAP_FAILED);
    size_t pages = (len + 4095) / 4096, count = 0;
    unsigned char *vec = malloc(pages);
    assert_int_equal(mincore(map, len, vec), 0);
    for (size_t i = 0; i < pages; i++)
        count += vec[i] & 1;
    free(vec);
    munmap(map, len);
    close(fd);
    return count;
}

/* Drops the (clean, written back) pages of the file at path from the page cache. */
static void evict_pages(const char *path)
{
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fsync(fd), 0);
    assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    close(fd);
}

/* Preloading reads the block file into the page cache and vouches for nothing: a frame damaged
 * on the disk is still refused when read, and a file cut short under an open reader is
 * preloaded without a fault and refused too. */
static void test_preload_reads_the_file_and_checks_nothing(void **state)
{
    (void)state;
    char *dir = test_make_dir("preload");
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/f", dir);
    size_t len = 40 * FRAME;
    unsigned char *data = malloc(len), *back = malloc(len);
    test_fill_random(data, len, 11);
    char id[SEAF_ID_LEN + 1];
    test_sha1_id(data, len, id);
    write_block_file(path, CACHE_KIND_BLOCK, id, data, len, FRAME);
    evict_pages(path);
    struct block_reader *r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    if (resident_pages(path, len) < len / 4096 / 2) { /* else the cache keeps it (tmpfs) */
        block_reader_preload(r);
        assert_int_equal(resident_pages(path, len), len / 4096);
    }
    size_t n;
    assert_int_equal(block_reader_read(r, 0, len, back, &n), SEAF_OK);
    assert_int_equal(n, len);
    assert_memory_equal(back, data, len);
    block_reader_free(r);

    r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    test_flip_byte(path, 7 * FRAME + 5);
    block_reader_preload(r);
    assert_int_equal(block_reader_read(r, 6 * FRAME, 3 * FRAME, back, &n), SEAF_ERR_ID_MISMATCH);
    assert_int_equal(n, 0);
    block_reader_free(r);

    r = open_reader(path, CACHE_KIND_BLOCK, id, SEAF_OK);
    assert_int_equal(truncate(path, 3 * FRAME), 0);
    block_reader_preload(r);
    assert_int_equal(block_reader_read(r, 10 * FRAME, FRAME, back, &n), SEAF_ERR_ID_MISMATCH);
    block_reader_free(r);
    free(data);
    free(back);
    test_remove_tree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_known_value),
        cmocka_unit_test(test_frame_raw_when_lz4_does_not_help),
        cmocka_unit_test(test_round_trip_at_frame_boundaries),
        cmocka_unit_test(test_round_trip_10mib_block),
        cmocka_unit_test(test_incompressible_frames_skip_lz4),
        cmocka_unit_test(test_corrupt_frame_is_never_served),
        cmocka_unit_test(test_raw_frame_runs),
        cmocka_unit_test(test_preload_reads_the_file_and_checks_nothing),
        cmocka_unit_test(test_damaged_trailer_or_wrong_object_refused),
        cmocka_unit_test(test_trailer_fields_must_agree),
        cmocka_unit_test(test_store_publish_is_atomic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
