/* Tests of seaf_crypt: the protocol doc's §5.7 vectors for every version and both pwd_hash
 * algorithms, the real-server libraries Secret (v2) and Secret4 (v4) unlocked with their password
 * and every stored block decrypted to the plain files, wrong passwords and damaged parameters
 * refused, and range decryption agreeing with whole-block decryption at every aligned offset. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "seaf_crypt.h"
#include "seaf_sha1.h"
#include "vectors_util.h"

#define DOC_REPO     "8c0bbbd9-5d0d-4c4f-9a7a-6b5b2d9a6a0e"
#define DOC_PASSWORD "correct horse"
#define DOC_SALT     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

static void hex(const uint8_t *in, size_t len, char *out)
{
    for (size_t i = 0; i < len; i++)
        sprintf(out + 2 * i, "%02x", in[i]);
}

static struct seaf_crypt_params doc_params(int version, const char *magic, const char *random_key)
{
    struct seaf_crypt_params p = {.enc_version = version,
                                  .magic = magic,
                                  .random_key = random_key,
                                  .salt = version >= 3 ? DOC_SALT : NULL};
    strcpy(p.repo_id, DOC_REPO);
    return p;
}

/* Unlocks p with the doc password and checks key, iv and the ciphertext of "hello world\n". */
static void check_doc_version(struct seaf_crypt_params p, const char *key_hex, const char *iv_hex,
                              const char *cipher_hex, const char *block_id)
{
    struct seaf_crypt_key k;
    char msg[200] = "", text[65];
    assert_int_equal(seaf_crypt_unlock(&p, DOC_PASSWORD, &k, msg, sizeof(msg)), SEAF_OK);
    hex(k.key, strlen(key_hex) / 2, text);
    assert_string_equal(text, key_hex);
    if (iv_hex) {
        hex(k.iv, 16, text);
        assert_string_equal(text, iv_hex);
    }
    uint8_t *cipher = NULL;
    size_t len = 0;
    assert_int_equal(
        seaf_crypt_encrypt_block(&k, (const uint8_t *)"hello world\n", 12, &cipher, &len), SEAF_OK);
    assert_int_equal(len, 16);
    hex(cipher, len, text);
    assert_string_equal(text, cipher_hex);
    if (block_id) {
        char id[SEAF_ID_LEN + 1];
        assert_int_equal(seaf_sha1_id(cipher, len, id), SEAF_OK);
        assert_string_equal(id, block_id);
    }
    uint64_t plain = 0;
    assert_int_equal(seaf_crypt_plain_size(&k, len, cipher, &plain), SEAF_OK);
    assert_int_equal(plain, 12);
    uint8_t out[16];
    assert_int_equal(seaf_crypt_decrypt_range(&k, 0, NULL, cipher, 16, out), SEAF_OK);
    assert_memory_equal(out, "hello world\n", 12);
    free(cipher);
    assert_int_equal(seaf_crypt_unlock(&p, "correct horse!", &k, msg, sizeof(msg)), SEAF_ERR_AUTH);
    assert_string_equal(msg, "wrong password");
}

static void doc_vectors_v1_to_v4(void **state)
{
    (void)state;
    check_doc_version(
        doc_params(
            2, "4300caff43a58e09ffe24630e60dfadc85aea418d2c732b4faa35a0e7d329d84",
            "f9e04b516562281ee6b2efc68b1616744a885fe6d5e40364a1aa7cd1c72bf23dc71fcc782cd8fdd7"
            "13b378c01893cb2a"),
        "a4f90f3f95c10ea5ef1d22ca6972801f400e5d8bb5d50839f80b92fd1e0904e7",
        "ff20f474623e2a6a24da0051a0b42457", "79a4bf4a7852d17f461cbbbfe16b9a8a",
        "91dd2a03d2c1075d67da056b8a7c536f503aa079");
    check_doc_version(
        doc_params(
            3, "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf",
            "62ba1b595ffa16673079d58c7fffae7077d8dafc0f40932417bb91406add7f2cd8c85f07fc4adb54"
            "b0fbb953cadc2815"),
        "f0f17698844b7140ec1bba7ec1ff92ccb071f0133f4df52b859577ae266e0ff0", NULL,
        "ee295582d679d774ab67171d75e778e6", "af55b93c36a159178c977e6cff2671fb8909281b");
    check_doc_version(
        doc_params(
            4, "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf",
            "86db05a5ac1b25fb6d18bfbb3449bdd4f4054b5eaaaba7352c21f467fc4cc86884080bfdd88bae66"
            "c777bcc9be127a8a"),
        "f0f17698844b7140ec1bba7ec1ff92ccb071f0133f4df52b859577ae266e0ff0",
        "e93a4dab9aaf18149acde96fbf53132d", "85eb7fdb714f0c231512e617730c204a",
        "81621907a000e53065ebf7a6d0118967aeab4051");
    check_doc_version(doc_params(1, "aef32538501610ceb5bc6681e07df712", NULL),
                      "9c9196faaf6111c738659e44e36516f7", "8a7625a78ab4254387e7887159039997",
                      "a35c26b477c73deba44e0a8633aff469", NULL);
}

/* A v4 (or v2) library whose password is checked by pwd_hash instead of magic. */
static void check_pwd_hash(int version, const char *algo, const char *params, const char *hash)
{
    struct seaf_crypt_params p = doc_params(
        version, NULL,
        version == 4 ? "86db05a5ac1b25fb6d18bfbb3449bdd4f4054b5eaaaba7352c21f467fc4cc86884080bfdd8"
                       "8bae66c777bcc9be127a8a"
                     : "f9e04b516562281ee6b2efc68b1616744a885fe6d5e40364a1aa7cd1c72bf23dc71fcc78"
                       "2cd8fdd713b378c01893cb2a");
    p.pwd_hash = hash;
    p.pwd_hash_algo = algo;
    p.pwd_hash_params = params;
    struct seaf_crypt_key k;
    char msg[200];
    assert_int_equal(seaf_crypt_unlock(&p, DOC_PASSWORD, &k, msg, sizeof(msg)), SEAF_OK);
    char text[65];
    hex(k.key, 32, text);
    assert_string_equal(
        text, version == 4 ? "f0f17698844b7140ec1bba7ec1ff92ccb071f0133f4df52b859577ae266e0ff0"
                           : "a4f90f3f95c10ea5ef1d22ca6972801f400e5d8bb5d50839f80b92fd1e0904e7");
    assert_int_equal(seaf_crypt_unlock(&p, "Correct horse", &k, msg, sizeof(msg)), SEAF_ERR_AUTH);
}

static void doc_vectors_pwd_hash(void **state)
{
    (void)state;
    const char *v4 = "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf";
    check_pwd_hash(4, "pbkdf2_sha256", "1000", v4);
    check_pwd_hash(4, "pbkdf2_sha256", "", v4);      /* empty: the default 1000 */
    check_pwd_hash(4, "pbkdf2_sha256", "-5", v4);    /* non-positive: the default */
    check_pwd_hash(4, "something-else", "1000", v4); /* unknown algorithm: pbkdf2_sha256 */
    check_pwd_hash(2, "pbkdf2_sha256", "1000",
                   "a62394e5ae170e2d07f1a1378b759a898598f451dd4a209f022c9fd96dd6c268");
    const char *argon = "cdb0ecdfd57daca0dbe09a82aab9e42797e7518611218f7e61b13f386caf99f8";
    check_pwd_hash(4, "argon2id", "2,102400,8", argon);
    check_pwd_hash(4, "argon2id", "2,0,8", argon);    /* a non-positive field: its default */
    check_pwd_hash(4, "argon2id", "2,102400", argon); /* wrong field count: all defaults */
    check_pwd_hash(4, "argon2id", "2,102400,8,1", argon);
    check_pwd_hash(4, "argon2id", " 2 , 102400 ,8 ", argon); /* blanks around fields */
    check_pwd_hash(4, "argon2id", "x,102400,8", argon);      /* not a number: its default */
}

/* Costs a hostile server could ask for are refused, not run for hours. */
static void excessive_hash_costs_are_refused(void **state)
{
    (void)state;
    struct seaf_crypt_params p = doc_params(4, NULL,
                                            "86db05a5ac1b25fb6d18bfbb3449bdd4f4054b5eaaaba7352c21f4"
                                            "67fc4cc86884080bfdd88bae66c777bcc9be127a8a");
    p.pwd_hash = "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf";
    struct seaf_crypt_key k;
    char msg[200];
    const char *cases[][2] = {{"pbkdf2_sha256", "2000000000"},
                              {"argon2id", "1000,8192,2"},
                              {"argon2id", "2,1000000000,2"},
                              {"argon2id", "2,8192,1000"}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        p.pwd_hash_algo = cases[i][0];
        p.pwd_hash_params = cases[i][1];
        assert_int_equal(seaf_crypt_unlock(&p, DOC_PASSWORD, &k, msg, sizeof(msg)),
                         SEAF_ERR_UNSUPPORTED);
        assert_non_null(strstr(msg, "limit"));
    }
}

static void damaged_parameters_are_refused(void **state)
{
    (void)state;
    struct seaf_crypt_key k;
    char msg[200];
    struct seaf_crypt_params p = doc_params(
        4, "099cdae294709dbffc23ebdce830f56b246f884523188461c479018b15ae27cf",
        "86db05a5ac1b25fb6d18bfbb3449bdd4f4054b5eaaaba7352c21f467fc4cc86884080bfdd88bae66c777bcc9"
        "be127a8a");
    struct seaf_crypt_params bad = p;
    bad.enc_version = 5;
    assert_int_equal(seaf_crypt_unlock(&bad, DOC_PASSWORD, &k, msg, sizeof(msg)),
                     SEAF_ERR_UNSUPPORTED);
    bad = p;
    bad.salt = "00112233";
    assert_int_equal(seaf_crypt_unlock(&bad, DOC_PASSWORD, &k, msg, sizeof(msg)),
                     SEAF_ERR_MALFORMED);
    bad = p;
    bad.random_key = "zz";
    assert_int_equal(seaf_crypt_unlock(&bad, DOC_PASSWORD, &k, msg, sizeof(msg)),
                     SEAF_ERR_MALFORMED);
    bad = p;
    bad.magic = NULL;
    assert_int_equal(seaf_crypt_unlock(&bad, DOC_PASSWORD, &k, msg, sizeof(msg)),
                     SEAF_ERR_MALFORMED);
    /* Right magic but a random_key of another library: the unwrap's padding fails. */
    bad = p;
    bad.random_key = "f9e04b516562281ee6b2efc68b1616744a885fe6d5e40364a1aa7cd1c72bf23dc71fcc782cd8f"
                     "dd713b378c01893cb2a";
    seaf_err err = seaf_crypt_unlock(&bad, DOC_PASSWORD, &k, msg, sizeof(msg));
    assert_true(err == SEAF_ERR_MALFORMED || err == SEAF_OK);
    if (err == SEAF_OK) { /* padding may pass by chance; the key must then differ */
        char text[65];
        hex(k.key, 32, text);
        assert_string_not_equal(text,
                                "f0f17698844b7140ec1bba7ec1ff92ccb071f0133f4df52b859577ae266e0ff0");
    }
}

/* Every aligned range of a block decrypts to the same bytes as the whole block. */
static void ranges_match_whole_block(void **state)
{
    (void)state;
    for (int version = 1; version <= 4; version++) {
        struct seaf_crypt_key k = {.version = version};
        for (int i = 0; i < 32; i++)
            k.key[i] = (uint8_t)(i * 7 + version);
        for (int i = 0; i < 16; i++)
            k.iv[i] = (uint8_t)(i * 13 + version);
        const size_t sizes[] = {0, 1, 15, 16, 17, 4095, 4096, 70001};
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            size_t n = sizes[s];
            uint8_t *plain = malloc(n + 1), *cipher = NULL;
            for (size_t i = 0; i < n; i++)
                plain[i] = (uint8_t)(i * 31 + 7);
            size_t clen = 0;
            assert_int_equal(seaf_crypt_encrypt_block(&k, plain, n, &cipher, &clen), SEAF_OK);
            assert_int_equal(clen, seaf_crypt_cipher_size(n));
            uint64_t psize = 0;
            const uint8_t *tail = clen >= 32 ? cipher + clen - 32 : cipher;
            assert_int_equal(seaf_crypt_plain_size(&k, clen, tail, &psize), SEAF_OK);
            assert_int_equal(psize, n);
            uint8_t *out = malloc(clen);
            for (size_t off = 0; off<clen; off += n> 4096 ? 4096 + 16 * 3 : 16) {
                size_t len = clen - off < 4096 ? clen - off : 4096;
                len -= len % 16;
                assert_int_equal(seaf_crypt_decrypt_range(&k, off, off ? cipher + off - 16 : NULL,
                                                          cipher + off, len, out),
                                 SEAF_OK);
                size_t cmp = off + len <= n ? len : (off < n ? n - off : 0);
                assert_memory_equal(out, plain + off, cmp);
            }
            assert_int_equal(seaf_crypt_decrypt_range(&k, 3, cipher, cipher, 16, out),
                             SEAF_ERR_INVALID_ARG);
            free(out);
            free(cipher);
            free(plain);
        }
    }
}

/* The saved-key text: a round trip, and damaged texts refused. */
static void key_text_round_trip(void **state)
{
    (void)state;
    struct seaf_crypt_key k = {.version = 4}, back;
    for (int i = 0; i < 32; i++)
        k.key[i] = (uint8_t)(255 - i);
    for (int i = 0; i < 16; i++)
        k.iv[i] = (uint8_t)(i * 17);
    char text[SEAF_CRYPT_KEY_TEXT];
    seaf_crypt_key_format(&k, text);
    assert_int_equal(strlen(text), SEAF_CRYPT_KEY_TEXT - 1);
    assert_memory_equal(text, "v4:fffefd", 9);
    assert_true(seaf_crypt_key_parse(text, &back));
    assert_int_equal(back.version, 4);
    assert_memory_equal(back.key, k.key, 32);
    assert_memory_equal(back.iv, k.iv, 16);
    text[1] = '5';
    assert_false(seaf_crypt_key_parse(text, &back));
    text[1] = '4';
    text[10] = 'g';
    assert_false(seaf_crypt_key_parse(text, &back));
    assert_false(seaf_crypt_key_parse("v4:00", &back));
}

/* The head commit of a vectors library (parsed). */
static struct seaf_commit *vectors_head(const char *repo_id, const char *commit_id)
{
    size_t len = 0;
    unsigned char *json = read_whole_file(stored_object_path("commits", repo_id, commit_id), &len);
    assert_non_null(json);
    struct seaf_commit *c = NULL;
    assert_int_equal(seaf_commit_parse((const char *)json, len, &c, NULL), SEAF_OK);
    free(json);
    return c;
}

struct plain_file {
    unsigned char *data;
    size_t len;
    bool matched;
};

/* Decrypts every stored block of the library; each non-empty plain file of the library must be
 * the plaintext of some block (they are all single-block files). */
static void check_vectors_library(const char *name, const char *repo_id, const char *head,
                                  const char *file_key, const char **files, size_t n_files)
{
    struct seaf_commit *c = vectors_head(repo_id, head);
    struct seaf_crypt_params p;
    assert_int_equal(seaf_crypt_params_from_commit(c, &p), SEAF_OK);
    struct seaf_crypt_key k;
    char msg[200], text[65];
    assert_int_equal(seaf_crypt_unlock(&p, "s3creT", &k, msg, sizeof(msg)), SEAF_ERR_AUTH);
    assert_int_equal(seaf_crypt_unlock(&p, "s3cret", &k, msg, sizeof(msg)), SEAF_OK);
    hex(k.key, 32, text);
    assert_string_equal(text, file_key);

    struct plain_file plain[16];
    assert_true(n_files <= 16);
    char path[512];
    for (size_t i = 0; i < n_files; i++) {
        snprintf(path, sizeof(path), "plain/%s/%s", name, files[i]);
        plain[i].data = read_whole_file(vectors_path(path), &plain[i].len);
        assert_non_null(plain[i].data);
        plain[i].matched = false;
    }
    snprintf(path, sizeof(path), "storage/blocks/%s", repo_id);
    char dir_path[1024];
    snprintf(dir_path, sizeof(dir_path), "%s", vectors_path(path));
    DIR *dir = opendir(dir_path);
    assert_non_null(dir);
    size_t blocks = 0;
    for (struct dirent *d; (d = readdir(dir));) {
        if (d->d_name[0] == '.')
            continue;
        char sub[1400];
        snprintf(sub, sizeof(sub), "%s/%s", dir_path, d->d_name);
        DIR *s = opendir(sub);
        assert_non_null(s);
        for (struct dirent *e; (e = readdir(s));) {
            if (e->d_name[0] == '.')
                continue;
            char file[1700];
            snprintf(file, sizeof(file), "%s/%s", sub, e->d_name);
            size_t clen = 0;
            unsigned char *cipher = read_whole_file(file, &clen);
            assert_non_null(cipher);
            uint64_t psize = 0;
            assert_int_equal(
                seaf_crypt_plain_size(&k, clen, clen >= 32 ? cipher + clen - 32 : cipher, &psize),
                SEAF_OK);
            uint8_t *out = malloc(clen);
            assert_int_equal(seaf_crypt_decrypt_range(&k, 0, NULL, cipher, clen, out), SEAF_OK);
            for (size_t i = 0; i < n_files; i++)
                if (plain[i].len == psize && memcmp(plain[i].data, out, psize) == 0)
                    plain[i].matched = true;
            free(out);
            free(cipher);
            blocks++;
        }
        closedir(s);
    }
    closedir(dir);
    assert_true(blocks >= n_files);
    for (size_t i = 0; i < n_files; i++) {
        if (!plain[i].matched)
            fail_msg("%s/%s: no block decrypts to it", name, files[i]);
        free(plain[i].data);
    }
    seaf_commit_free(c);
}

static void vectors_secret_v2(void **state)
{
    (void)state;
    const char *files[] = {"hello.txt",         "from-client.txt",   "traced-upload.txt",
                           "data/exact-15.bin", "data/exact-16.bin", "data/random-300000.bin"};
    check_vectors_library("Secret", "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46",
                          "6f7470e14131c4b5a0c64baebc0ac10489f81338",
                          "2c5c08abc37c1faa02e3ef7294e53ef6cbc41c0b99e97e9f57f3849d98f0fed3", files,
                          6);
}

static void vectors_secret4_v4(void **state)
{
    (void)state;
    const char *files[] = {"hello.txt", "data/exact-15.bin", "data/exact-16.bin",
                           "data/random-300000.bin"};
    check_vectors_library("Secret4", "a853beaf-b5c5-4549-bd5b-2a90a4a70331",
                          "3d99b97450981ad406fb0a202e6ba199ae67c329",
                          "ea821b922a8c56a152c4f61fa66345e7f6e60dac40e0ef916ce5db398301c97e", files,
                          4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_vectors_v1_to_v4),
        cmocka_unit_test(doc_vectors_pwd_hash),
        cmocka_unit_test(excessive_hash_costs_are_refused),
        cmocka_unit_test(damaged_parameters_are_refused),
        cmocka_unit_test(ranges_match_whole_block),
        cmocka_unit_test(key_text_round_trip),
        cmocka_unit_test(vectors_secret_v2),
        cmocka_unit_test(vectors_secret4_v4),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
