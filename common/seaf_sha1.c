/* seaf_sha1: SHA-1 of Seafile content as a 40-digit id, one-shot or streamed (OpenSSL EVP). */
#include "seaf_sha1.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

struct seaf_sha1 {
    EVP_MD_CTX *ctx; /* owned; initialised for SHA-1 */
};

seaf_err seaf_sha1_new(struct seaf_sha1 **out)
{
    struct seaf_sha1 *sha1 = calloc(1, sizeof(*sha1));
    if (sha1 == NULL)
        return SEAF_ERR_NOMEM;
    sha1->ctx = EVP_MD_CTX_new();
    if (sha1->ctx == NULL || EVP_DigestInit_ex(sha1->ctx, EVP_sha1(), NULL) != 1) {
        seaf_sha1_free(sha1);
        return SEAF_ERR_NOMEM;
    }
    *out = sha1;
    return SEAF_OK;
}

seaf_err seaf_sha1_update(struct seaf_sha1 *sha1, const void *data, size_t len)
{
    if (sha1 == NULL || (data == NULL && len > 0))
        return SEAF_ERR_INVALID_ARG;
    if (len > 0 && EVP_DigestUpdate(sha1->ctx, data, len) != 1)
        return SEAF_ERR_NOMEM;
    return SEAF_OK;
}

seaf_err seaf_sha1_reset(struct seaf_sha1 *sha1)
{
    if (sha1 == NULL)
        return SEAF_ERR_INVALID_ARG;
    return EVP_DigestInit_ex(sha1->ctx, EVP_sha1(), NULL) == 1 ? SEAF_OK : SEAF_ERR_NOMEM;
}

seaf_err seaf_sha1_final(struct seaf_sha1 *sha1, char id_out[SEAF_ID_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (sha1 == NULL)
        return SEAF_ERR_INVALID_ARG;
    if (EVP_DigestFinal_ex(sha1->ctx, digest, &digest_len) != 1 || digest_len != 20 ||
        seaf_sha1_reset(sha1) != SEAF_OK)
        return SEAF_ERR_NOMEM;
    seaf_id_from_digest(digest, id_out);
    return SEAF_OK;
}

seaf_err seaf_sha1_verify(struct seaf_sha1 *sha1, const char *expected_id)
{
    char actual[SEAF_ID_LEN + 1];
    if (expected_id == NULL)
        return SEAF_ERR_INVALID_ARG;
    seaf_err err = seaf_sha1_final(sha1, actual);
    if (err != SEAF_OK)
        return err;
    return strncmp(actual, expected_id, SEAF_ID_LEN + 1) == 0 ? SEAF_OK : SEAF_ERR_ID_MISMATCH;
}

void seaf_sha1_free(struct seaf_sha1 *sha1)
{
    if (sha1 == NULL)
        return;
    EVP_MD_CTX_free(sha1->ctx);
    free(sha1);
}

seaf_err seaf_sha1_id(const void *data, size_t len, char id_out[SEAF_ID_LEN + 1])
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (data == NULL && len > 0)
        return SEAF_ERR_INVALID_ARG;
    if (EVP_Digest(len > 0 ? data : "", len, digest, &digest_len, EVP_sha1(), NULL) != 1 ||
        digest_len != 20)
        return SEAF_ERR_NOMEM;
    seaf_id_from_digest(digest, id_out);
    return SEAF_OK;
}
