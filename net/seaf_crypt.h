/* seaf_crypt: Seafile's client-side encryption (protocol doc §5): checking a library password
 * (magic, or pwd_hash with pbkdf2_sha256 / argon2id), unwrapping the library secret into the
 * block key, and decrypting blocks -- whole, or any 16-byte-aligned range of one, so a small read
 * of a large block decrypts only what it needs. Versions 1 (AES-128-CBC, EVP_BytesToKey),
 * 2 and 4 (AES-256-CBC) and 3 (AES-128-ECB) are supported. No I/O; thread-safe. */
#ifndef SEAFS_NET_SEAF_CRYPT_H
#define SEAFS_NET_SEAF_CRYPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_commit.h"
#include "seaf_error.h"

#define SEAF_CRYPT_BLOCK 16 /* AES block: ranges are aligned to it */

/* The key and IV every block of one library is encrypted with. */
struct seaf_crypt_key {
    int version;     /* enc_version 1..4 */
    uint8_t key[32]; /* v1 and v3 use the first 16 bytes */
    uint8_t iv[16];  /* unused by v3 (ECB) */
};

/* The encryption parameters of a library, as its head commit states them. */
struct seaf_crypt_params {
    char repo_id[SEAF_REPO_ID_LEN + 1];
    int enc_version;
    const char *magic;           /* hex; NULL when pwd_hash is used */
    const char *random_key;      /* 96 hex (v2..v4); NULL for v1 */
    const char *salt;            /* 64 hex (v3, v4); NULL otherwise */
    const char *pwd_hash;        /* hex; NULL when magic is used */
    const char *pwd_hash_algo;   /* "pbkdf2_sha256", "argon2id"; NULL */
    const char *pwd_hash_params; /* "1000", "2,102400,8"; NULL */
};

/* The parameters of an encrypted commit (pointers into c). SEAF_ERR_INVALID_ARG when c is not
 * encrypted. */
seaf_err seaf_crypt_params_from_commit(const struct seaf_commit *c, struct seaf_crypt_params *out);

/* Checks password against the library's magic or pwd_hash and, when it is right, derives the
 * block key. SEAF_OK; SEAF_ERR_AUTH for a wrong password; SEAF_ERR_UNSUPPORTED for an unknown
 * version or hash algorithm; SEAF_ERR_MALFORMED when the parameters are damaged (bad hex,
 * wrong lengths, random_key that does not unwrap). msg (may be NULL) gets the reason. Costs
 * about 1 ms for magic and pbkdf2, up to a second for argon2id; v1 about 0.1 s. */
seaf_err seaf_crypt_unlock(const struct seaf_crypt_params *p, const char *password,
                           struct seaf_crypt_key *out, char *msg, size_t msg_size);

/* Size of the ciphertext of a len-byte plaintext chunk (PKCS#7 always pads). */
uint64_t seaf_crypt_cipher_size(uint64_t plain_len);

/* Decrypts the 16-byte-aligned ciphertext range [offset, offset + len) of one block into out
 * (len bytes, padding not removed). prev is the 16 ciphertext bytes before offset (ignored, may
 * be NULL, when offset is 0 or the version is 3). SEAF_ERR_INVALID_ARG for unaligned input. */
seaf_err seaf_crypt_decrypt_range(const struct seaf_crypt_key *k, uint64_t offset,
                                  const uint8_t *prev, const uint8_t *in, size_t len, uint8_t *out);

/* The plaintext length of a block of cipher_size bytes, from its last ciphertext bytes: tail is
 * the last 32 bytes (the last 16 when cipher_size is 16). SEAF_ERR_MALFORMED when the padding
 * is not valid PKCS#7 (wrong key or damaged block). */
seaf_err seaf_crypt_plain_size(const struct seaf_crypt_key *k, uint64_t cipher_size,
                               const uint8_t *tail, uint64_t *plain_size);

/* Encrypts a whole chunk (for tests and the future write path): *out is malloc'd, *out_len =
 * seaf_crypt_cipher_size(len). */
seaf_err seaf_crypt_encrypt_block(const struct seaf_crypt_key *k, const uint8_t *in, size_t len,
                                  uint8_t **out, size_t *out_len);

/* A key as text, "v<version>:<64 hex key>:<32 hex iv>" (for saving it), and back. */
#define SEAF_CRYPT_KEY_TEXT (3 + 64 + 1 + 32 + 1) /* with the NUL */
void seaf_crypt_key_format(const struct seaf_crypt_key *k, char out[SEAF_CRYPT_KEY_TEXT]);
/* false when text is not of that form. */
bool seaf_crypt_key_parse(const char *text, struct seaf_crypt_key *k);

/* Wipes a key (not optimised away). */
void seaf_crypt_key_wipe(struct seaf_crypt_key *k);

#endif
