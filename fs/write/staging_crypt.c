/* staging_crypt: AES-256-XTS sectors of staging files (see staging_crypt.h). The two XTS keys
 * are HMAC-SHA256(block key || IV, "seafs staging 1" / "... 2"); the tweak is the sector number
 * and the staged file's id, little-endian, so equal plaintext in two sectors or two files never
 * shows as equal ciphertext. */
#include "staging_crypt.h"

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

void staging_key_derive(const struct seaf_crypt_key *block_key, struct staging_key *out)
{
    uint8_t ikm[48];
    memcpy(ikm, block_key->key, 32);
    memcpy(ikm + 32, block_key->iv, 16);
    static const char *const labels[2] = {"seafs staging 1", "seafs staging 2"};
    for (int i = 0; i < 2; i++) {
        unsigned int len = 32;
        HMAC(EVP_sha256(), ikm, sizeof(ikm), (const unsigned char *)labels[i], strlen(labels[i]),
             out->key + 32 * i, &len);
    }
    OPENSSL_cleanse(ikm, sizeof(ikm));
}

bool staging_sector_crypt(const struct staging_key *k, bool encrypt, uint64_t id, uint64_t sector,
                          const uint8_t *in, uint8_t *out)
{
    uint8_t tweak[16];
    for (int i = 0; i < 8; i++) {
        tweak[i] = (uint8_t)(sector >> (8 * i));
        tweak[8 + i] = (uint8_t)(id >> (8 * i));
    }
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int len = 0;
    bool ok =
        ctx &&
        EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), NULL, k->key, tweak, encrypt ? 1 : 0) == 1 &&
        EVP_CipherUpdate(ctx, out, &len, in, STAGING_SECTOR) == 1 && len == STAGING_SECTOR;
    EVP_CIPHER_CTX_free(ctx);
    return ok;
}

void staging_key_wipe(struct staging_key *k)
{
    OPENSSL_cleanse(k, sizeof(*k));
}
