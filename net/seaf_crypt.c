/* seaf_crypt: Seafile's library encryption (protocol doc §5) on OpenSSL (PBKDF2, EVP_BytesToKey,
 * AES) and libargon2 (argon2id pwd_hash). One cipher table per version; everything else --
 * password check, secret unwrap, range decryption, padding -- is written once for all. */
#include "seaf_crypt.h"

#include <argon2.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t FIXED_SALT[8] = {0xda, 0x90, 0x45, 0xc3, 0x06, 0xc7, 0xcc, 0x26};
#define KEY_ITERATIONS   1000
#define IV_ITERATIONS    10
#define V1_ITERATIONS    (1 << 19)
#define SALT_LEN         32
#define SECRET_LEN       32
#define WRAPPED_LEN      48
#define ARGON2_DEFAULT_T 2
#define ARGON2_DEFAULT_M 102400
#define ARGON2_DEFAULT_P 8
/* Cost limits: parameters from the server beyond these are refused rather than run for minutes
 * or hours (about 20 s of PBKDF2; argon2id at 16 passes over 2 GiB). */
#define PBKDF2_MAX_ITERATIONS 20000000L
static const int ARGON2_MAX[3] = {16, 2 * 1024 * 1024, 64};

static void set_msg(char *msg, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_msg(char *msg, size_t size, const char *fmt, ...)
{
    if (!msg || !size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
}

/* The cipher of a version and its key length. */
static const EVP_CIPHER *version_cipher(int version)
{
    switch (version) {
    case 1:
        return EVP_aes_128_cbc();
    case 2:
    case 4:
        return EVP_aes_256_cbc();
    case 3:
        return EVP_aes_128_ecb();
    default:
        return NULL;
    }
}

/* Decodes a NUL-terminated hex string of exactly len bytes. */
static bool hex_decode(const char *hex, uint8_t *out, size_t len)
{
    return hex && seaf_hex_decode(hex, strlen(hex), out, len);
}

/* The salt the version derives with: the fixed 8 bytes or the library's 32. */
struct salt {
    uint8_t bytes[SALT_LEN];
    size_t len;
};

static bool library_salt(const struct seaf_crypt_params *p, struct salt *s)
{
    if (p->enc_version >= 3) {
        s->len = SALT_LEN;
        return hex_decode(p->salt, s->bytes, SALT_LEN);
    }
    memcpy(s->bytes, FIXED_SALT, sizeof(FIXED_SALT));
    s->len = sizeof(FIXED_SALT);
    return true;
}

/* derive(data) of §5.3 into k (version set by the caller). */
static bool derive(const uint8_t *data, size_t len, const struct salt *s, struct seaf_crypt_key *k)
{
    if (k->version == 1) {
        uint8_t key[16];
        int n = EVP_BytesToKey(EVP_aes_128_cbc(), EVP_sha1(), FIXED_SALT, data, (int)len,
                               V1_ITERATIONS, key, k->iv);
        memset(k->key, 0, sizeof(k->key));
        memcpy(k->key, key, sizeof(key));
        OPENSSL_cleanse(key, sizeof(key));
        return n == 16;
    }
    return PKCS5_PBKDF2_HMAC((const char *)data, (int)len, s->bytes, (int)s->len, KEY_ITERATIONS,
                             EVP_sha256(), 32, k->key) == 1 &&
           PKCS5_PBKDF2_HMAC((const char *)k->key, 32, s->bytes, (int)s->len, IV_ITERATIONS,
                             EVP_sha256(), 16, k->iv) == 1;
}

/* AES of the version over len bytes (a multiple of 16 unless padding is on). *out_len bytes
 * written. false on an OpenSSL failure or, decrypting with padding, bad padding. */
static bool run_cipher(const struct seaf_crypt_key *k, const uint8_t *iv, bool encrypt,
                       bool padding, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    if (!ctx)
        return false;
    int n1 = 0, n2 = 0;
    bool ok = EVP_CipherInit_ex(ctx, version_cipher(k->version), NULL, k->key,
                                k->version == 3 ? NULL : iv, encrypt ? 1 : 0) == 1 &&
              EVP_CIPHER_CTX_set_padding(ctx, padding ? 1 : 0) == 1 &&
              EVP_CipherUpdate(ctx, out, &n1, in, (int)len) == 1 &&
              EVP_CipherFinal_ex(ctx, out + n1, &n2) == 1;
    EVP_CIPHER_CTX_free(ctx);
    *out_len = ok ? (size_t)n1 + (size_t)n2 : 0;
    return ok;
}

seaf_err seaf_crypt_params_from_commit(const struct seaf_commit *c, struct seaf_crypt_params *out)
{
    if (!c || !c->encrypted)
        return SEAF_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    memcpy(out->repo_id, c->repo_id, sizeof(out->repo_id));
    out->enc_version = c->enc_version;
    out->magic = c->magic;
    out->random_key = c->key;
    out->salt = c->salt;
    out->pwd_hash = c->pwd_hash;
    out->pwd_hash_algo = c->pwd_hash_algo;
    out->pwd_hash_params = c->pwd_hash_params;
    return SEAF_OK;
}

/* "t,m,p" into v (each field may be surrounded by blanks; a field that is not a number reads as
 * 0, which the caller replaces by its default, as Seafile's atoi does). false when there are
 * not exactly three fields. */
static bool parse_argon2_params(const char *text, int v[3])
{
    if (!text)
        return false;
    int n = 0;
    for (const char *p = text;; p++) {
        if (n == 3)
            return false; /* a fourth field */
        char *end;
        long x = strtol(p, &end, 10);
        v[n++] = x < 0 || x > (1L << 30) ? 0 : (int)x;
        p = strchr(end, ',');
        if (!p)
            return n == 3;
    }
}

/* H(repo_id ‖ password, salt32) of §5.4 as hex into out (65 bytes). */
static seaf_err pwd_hash_hex(const struct seaf_crypt_params *p, const uint8_t *input, size_t len,
                             char out[65], char *msg, size_t msg_size)
{
    uint8_t salt[SALT_LEN] = {0}, hash[32];
    if (p->enc_version >= 3) {
        if (!hex_decode(p->salt, salt, SALT_LEN)) {
            set_msg(msg, msg_size, "library salt is not 64 hex digits");
            return SEAF_ERR_MALFORMED;
        }
    } else {
        memcpy(salt, FIXED_SALT, sizeof(FIXED_SALT));
    }
    bool ok;
    if (p->pwd_hash_algo && strcmp(p->pwd_hash_algo, "argon2id") == 0) {
        int v[3] = {0, 0, 0};
        const int defaults[3] = {ARGON2_DEFAULT_T, ARGON2_DEFAULT_M, ARGON2_DEFAULT_P};
        bool parsed = parse_argon2_params(p->pwd_hash_params, v);
        for (int i = 0; i < 3; i++)
            if (!parsed || v[i] <= 0)
                v[i] = defaults[i];
        if (v[0] > ARGON2_MAX[0] || v[1] > ARGON2_MAX[1] || v[2] > ARGON2_MAX[2]) {
            set_msg(msg, msg_size,
                    "argon2id parameters %d,%d,%d are beyond seafs's limits %d,%d,%d", v[0], v[1],
                    v[2], ARGON2_MAX[0], ARGON2_MAX[1], ARGON2_MAX[2]);
            return SEAF_ERR_UNSUPPORTED;
        }
        ok = argon2id_hash_raw((uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2], input, len, salt,
                               SALT_LEN, hash, sizeof(hash)) == ARGON2_OK;
    } else {
        long iterations = p->pwd_hash_params ? strtol(p->pwd_hash_params, NULL, 10) : 0;
        if (iterations <= 0)
            iterations = KEY_ITERATIONS;
        if (iterations > PBKDF2_MAX_ITERATIONS) {
            set_msg(msg, msg_size, "pbkdf2_sha256 with %ld iterations is beyond seafs's limit %ld",
                    iterations, PBKDF2_MAX_ITERATIONS);
            return SEAF_ERR_UNSUPPORTED;
        }
        ok = PKCS5_PBKDF2_HMAC((const char *)input, (int)len, salt, SALT_LEN, (int)iterations,
                               EVP_sha256(), sizeof(hash), hash) == 1;
    }
    if (!ok) {
        set_msg(msg, msg_size, "password hash (%s) failed",
                p->pwd_hash_algo ? p->pwd_hash_algo : "pbkdf2_sha256");
        return SEAF_ERR_NOMEM;
    }
    seaf_hex_encode(hash, sizeof(hash), out);
    OPENSSL_cleanse(hash, sizeof(hash));
    return SEAF_OK;
}

/* Compares the password's check value with magic or pwd_hash. */
static seaf_err check_password(const struct seaf_crypt_params *p, const struct salt *s,
                               const char *password, char *msg, size_t msg_size)
{
    size_t id_len = strlen(p->repo_id), pw_len = strlen(password);
    uint8_t *input = malloc(id_len + pw_len + 1);
    if (!input)
        return SEAF_ERR_NOMEM;
    memcpy(input, p->repo_id, id_len);
    memcpy(input + id_len, password, pw_len);
    char computed[65];
    seaf_err err = SEAF_OK;
    if (p->pwd_hash) {
        err = pwd_hash_hex(p, input, id_len + pw_len, computed, msg, msg_size);
    } else {
        struct seaf_crypt_key k = {.version = p->enc_version};
        if (derive(input, id_len + pw_len, s, &k))
            seaf_hex_encode(k.key, p->enc_version == 1 ? 16 : 32, computed);
        else
            err = SEAF_ERR_NOMEM;
        seaf_crypt_key_wipe(&k);
    }
    OPENSSL_cleanse(input, id_len + pw_len);
    free(input);
    if (err != SEAF_OK)
        return err;
    const char *expected = p->pwd_hash ? p->pwd_hash : p->magic;
    bool same = strlen(expected) == strlen(computed) &&
                CRYPTO_memcmp(expected, computed, strlen(computed)) == 0;
    OPENSSL_cleanse(computed, sizeof(computed));
    if (!same) {
        set_msg(msg, msg_size, "wrong password");
        return SEAF_ERR_AUTH;
    }
    return SEAF_OK;
}

/* Checks that the parameters the version needs are there and well-formed. */
static seaf_err check_params(const struct seaf_crypt_params *p, char *msg, size_t msg_size)
{
    if (p->enc_version < 1 || p->enc_version > 4) {
        set_msg(msg, msg_size, "encryption version %d is not supported (1 to 4 are)",
                p->enc_version);
        return SEAF_ERR_UNSUPPORTED;
    }
    if (p->pwd_hash) {
        if (strlen(p->pwd_hash) != 64) {
            set_msg(msg, msg_size, "pwd_hash is not 64 hex digits");
            return SEAF_ERR_MALFORMED;
        }
    } else if (!p->magic || strlen(p->magic) != (p->enc_version == 1 ? 32u : 64u)) {
        set_msg(msg, msg_size, "the library has no valid magic nor pwd_hash");
        return SEAF_ERR_MALFORMED;
    }
    if (p->enc_version >= 2 && (!p->random_key || strlen(p->random_key) != 2 * WRAPPED_LEN)) {
        set_msg(msg, msg_size, "the library's random_key is not 96 hex digits");
        return SEAF_ERR_MALFORMED;
    }
    return SEAF_OK;
}

seaf_err seaf_crypt_unlock(const struct seaf_crypt_params *p, const char *password,
                           struct seaf_crypt_key *out, char *msg, size_t msg_size)
{
    memset(out, 0, sizeof(*out));
    if (!p || !password)
        return SEAF_ERR_INVALID_ARG;
    seaf_err err = check_params(p, msg, msg_size);
    struct salt s;
    if (err == SEAF_OK && !library_salt(p, &s)) {
        set_msg(msg, msg_size, "library salt is not 64 hex digits");
        err = SEAF_ERR_MALFORMED;
    }
    if (err == SEAF_OK)
        err = check_password(p, &s, password, msg, msg_size);
    if (err != SEAF_OK)
        return err;
    struct seaf_crypt_key pk = {.version = p->enc_version};
    if (!derive((const uint8_t *)password, strlen(password), &s, &pk)) {
        seaf_crypt_key_wipe(&pk);
        return SEAF_ERR_NOMEM;
    }
    if (p->enc_version == 1) {
        *out = pk; /* v1 encrypts blocks with the password's key */
        seaf_crypt_key_wipe(&pk);
        return SEAF_OK;
    }
    uint8_t wrapped[WRAPPED_LEN], secret[WRAPPED_LEN];
    size_t secret_len = 0;
    bool ok = hex_decode(p->random_key, wrapped, WRAPPED_LEN) &&
              run_cipher(&pk, pk.iv, false, true, wrapped, WRAPPED_LEN, secret, &secret_len) &&
              secret_len == SECRET_LEN;
    seaf_crypt_key_wipe(&pk);
    out->version = p->enc_version;
    if (ok && !derive(secret, SECRET_LEN, &s, out))
        ok = false;
    OPENSSL_cleanse(secret, sizeof(secret));
    if (!ok) {
        seaf_crypt_key_wipe(out);
        set_msg(msg, msg_size, "the library's random_key does not decrypt with this password");
        return SEAF_ERR_MALFORMED;
    }
    return SEAF_OK;
}

uint64_t seaf_crypt_cipher_size(uint64_t plain_len)
{
    return (plain_len / SEAF_CRYPT_BLOCK + 1) * SEAF_CRYPT_BLOCK;
}

seaf_err seaf_crypt_decrypt_range(const struct seaf_crypt_key *k, uint64_t offset,
                                  const uint8_t *prev, const uint8_t *in, size_t len, uint8_t *out)
{
    if (!version_cipher(k->version) || offset % SEAF_CRYPT_BLOCK || len % SEAF_CRYPT_BLOCK ||
        (offset > 0 && k->version != 3 && !prev))
        return SEAF_ERR_INVALID_ARG;
    if (len == 0)
        return SEAF_OK;
    size_t n = 0;
    const uint8_t *iv = offset == 0 ? k->iv : prev;
    return run_cipher(k, iv, false, false, in, len, out, &n) && n == len ? SEAF_OK : SEAF_ERR_NOMEM;
}

seaf_err seaf_crypt_plain_size(const struct seaf_crypt_key *k, uint64_t cipher_size,
                               const uint8_t *tail, uint64_t *plain_size)
{
    if (cipher_size == 0 || cipher_size % SEAF_CRYPT_BLOCK)
        return SEAF_ERR_MALFORMED;
    uint8_t last[SEAF_CRYPT_BLOCK];
    bool one = cipher_size == SEAF_CRYPT_BLOCK;
    seaf_err err =
        seaf_crypt_decrypt_range(k, cipher_size - SEAF_CRYPT_BLOCK, one ? NULL : tail,
                                 one ? tail : tail + SEAF_CRYPT_BLOCK, SEAF_CRYPT_BLOCK, last);
    if (err != SEAF_OK)
        return err;
    unsigned pad = last[SEAF_CRYPT_BLOCK - 1];
    bool valid = pad >= 1 && pad <= SEAF_CRYPT_BLOCK;
    for (unsigned i = 0; valid && i < pad; i++)
        valid = last[SEAF_CRYPT_BLOCK - 1 - i] == pad;
    OPENSSL_cleanse(last, sizeof(last));
    if (!valid)
        return SEAF_ERR_MALFORMED;
    *plain_size = cipher_size - pad;
    return SEAF_OK;
}

seaf_err seaf_crypt_encrypt_block(const struct seaf_crypt_key *k, const uint8_t *in, size_t len,
                                  uint8_t **out, size_t *out_len)
{
    if (!version_cipher(k->version))
        return SEAF_ERR_INVALID_ARG;
    *out = malloc(seaf_crypt_cipher_size(len));
    if (!*out)
        return SEAF_ERR_NOMEM;
    if (!run_cipher(k, k->iv, true, true, in, len, *out, out_len)) {
        free(*out);
        *out = NULL;
        return SEAF_ERR_NOMEM;
    }
    return SEAF_OK;
}

void seaf_crypt_key_format(const struct seaf_crypt_key *k, char out[SEAF_CRYPT_KEY_TEXT])
{
    out[0] = 'v';
    out[1] = (char)('0' + k->version);
    out[2] = ':';
    seaf_hex_encode(k->key, sizeof(k->key), out + 3);
    out[3 + 2 * sizeof(k->key)] = ':';
    seaf_hex_encode(k->iv, sizeof(k->iv), out + 4 + 2 * sizeof(k->key));
}

bool seaf_crypt_key_parse(const char *text, struct seaf_crypt_key *k)
{
    const size_t iv_at = 4 + 2 * sizeof(k->key);
    if (strlen(text) != SEAF_CRYPT_KEY_TEXT - 1 || text[0] != 'v' || text[1] < '1' ||
        text[1] > '4' || text[2] != ':' || text[iv_at - 1] != ':')
        return false;
    k->version = text[1] - '0';
    return seaf_hex_decode(text + 3, 2 * sizeof(k->key), k->key, sizeof(k->key)) &&
           seaf_hex_decode(text + iv_at, 2 * sizeof(k->iv), k->iv, sizeof(k->iv));
}

void seaf_crypt_key_wipe(struct seaf_crypt_key *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}
