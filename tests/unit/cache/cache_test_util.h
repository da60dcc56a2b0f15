/* cache_test_util: helpers shared by the cache unit tests (temp dirs, test data, SHA-1 ids). */
#ifndef SEAFS_CACHE_TEST_UTIL_H
#define SEAFS_CACHE_TEST_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "seaf_ids.h"

/* Creates a fresh directory under /tmp and returns its path (static storage per call slot). */
char *test_make_dir(const char *tag);
/* Removes a directory tree (rm -rf). */
void test_remove_tree(const char *path);
/* Fills buf with pseudo-random bytes from seed (incompressible). */
void test_fill_random(void *buf, size_t len, uint64_t seed);
/* Fills buf with text-like bytes (words and lines; compresses well). */
void test_fill_text(void *buf, size_t len, uint64_t seed);
/* Writes the SHA-1 hex id of len bytes at data to id. */
void test_sha1_id(const void *data, size_t len, char id[SEAF_ID_LEN + 1]);
/* A simple xorshift generator for tests. */
uint64_t test_rand(uint64_t *state);
/* A test object: bytes and their SHA-1 id. */
struct test_object {
    unsigned char *data;
    size_t len;
    char id[SEAF_ID_LEN + 1];
};
/* Makes n objects of 1..max_len bytes (sizes from seed), odd ones text-like, even ones random. */
void test_objects_make(struct test_object *objs, int n, size_t max_len, uint64_t seed);
/* Frees the data of n objects. */
void test_objects_free(struct test_object *objs, int n);
/* Inverts the bits of the byte at offset in the file at path (to simulate disk damage). */
void test_flip_byte(const char *path, long offset);
/* Sum of the sizes of all regular files below path (what the cache occupies on disk). */
uint64_t test_tree_bytes(const char *path);

#endif
