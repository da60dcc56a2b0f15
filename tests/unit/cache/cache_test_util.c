/* cache_test_util: helpers shared by the cache unit tests and the cache benchmark. */
#define _XOPEN_SOURCE 700
#include "cache_test_util.h"

#include <fcntl.h>
#include <ftw.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *test_make_dir(const char *tag)
{
    char templ[256];
    snprintf(templ, sizeof(templ), "/tmp/seafs-%s-XXXXXX", tag);
    char *dir = mkdtemp(templ);
    if (dir == NULL) {
        perror("mkdtemp");
        abort();
    }
    return strdup(dir);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void test_remove_tree(const char *path)
{
    nftw(path, remove_entry, 32, FTW_DEPTH | FTW_PHYS);
}

static uint64_t tree_total;

static int add_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (flag == FTW_F && S_ISREG(st->st_mode))
        tree_total += (uint64_t)st->st_size;
    return 0;
}

uint64_t test_tree_bytes(const char *path)
{
    tree_total = 0;
    nftw(path, add_entry, 32, FTW_PHYS);
    return tree_total;
}

uint64_t test_rand(uint64_t *state)
{
    uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ull;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *state = x;
    return x;
}

void test_fill_random(void *buf, size_t len, uint64_t seed)
{
    unsigned char *p = buf;
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i += 8) {
        uint64_t v = test_rand(&state);
        size_t n = len - i < 8 ? len - i : 8;
        memcpy(p + i, &v, n);
    }
}

void test_fill_text(void *buf, size_t len, uint64_t seed)
{
    static const char *words[] = {"the",    "cache", "block", "server",  "library",   "commit",
                                  "file",   "of",    "and",   "seafile", "directory", "a",
                                  "object", "frame", "read",  "write",   "to",        "is"};
    const size_t nwords = sizeof(words) / sizeof(words[0]);
    uint64_t state = seed * 0x9e3779b97f4a7c15ull + 1;
    char *p = buf;
    size_t i = 0;
    while (i < len) {
        uint64_t r = test_rand(&state);
        const char *w = words[r % nwords];
        for (size_t k = 0; w[k] && i < len; k++)
            p[i++] = w[k];
        if (i < len)
            p[i++] = (r >> 32) % 11 == 0 ? '\n' : ' ';
    }
}

void test_sha1_id(const void *data, size_t len, char id[SEAF_ID_LEN + 1])
{
    unsigned char digest[SHA_DIGEST_LENGTH];
    SHA1(data, len, digest);
    seaf_id_from_digest(digest, id);
}

void test_flip_byte(const char *path, long offset)
{
    int fd = open(path, O_RDWR);
    unsigned char b = 0;
    if (fd < 0 || pread(fd, &b, 1, offset) != 1) {
        perror(path);
        abort();
    }
    b ^= 0xff;
    if (pwrite(fd, &b, 1, offset) != 1)
        abort();
    close(fd);
}

void test_objects_make(struct test_object *objs, int n, size_t max_len, uint64_t seed)
{
    uint64_t rng = seed;
    for (int i = 0; i < n; i++) {
        objs[i].len = 1 + (size_t)(test_rand(&rng) % max_len);
        objs[i].data = malloc(objs[i].len);
        if (i % 2)
            test_fill_text(objs[i].data, objs[i].len, (uint64_t)i);
        else
            test_fill_random(objs[i].data, objs[i].len, (uint64_t)i);
        test_sha1_id(objs[i].data, objs[i].len, objs[i].id);
    }
}

void test_objects_free(struct test_object *objs, int n)
{
    for (int i = 0; i < n; i++)
        free(objs[i].data);
}
