/* staging_crypt: encryption of the staging data of encrypted libraries, so that no plaintext of
 * them reaches the disk (the cache holds their blocks encrypted too). The staging file is cut
 * into 4 KiB sectors, each encrypted with AES-256-XTS under a key derived from the library's
 * block key (HMAC-SHA256) and a tweak made of the staged file's id and the sector's number --
 * the disk-encryption construction, made for data rewritten in place. Without the library's
 * password nothing staged can be read; after a crash, unsent changes of an encrypted library
 * come back once it is unlocked. */
#ifndef SEAFS_FS_STAGING_CRYPT_H
#define SEAFS_FS_STAGING_CRYPT_H

#include <stdbool.h>
#include <stdint.h>

#include "seaf_crypt.h"

#define STAGING_SECTOR 4096

struct staging_key {
    uint8_t key[64]; /* the two AES-256 keys of XTS */
};

/* Derives the staging key of a library from its block key. */
void staging_key_derive(const struct seaf_crypt_key *block_key, struct staging_key *out);
/* Encrypts / decrypts one sector (STAGING_SECTOR bytes, in and out may be the same) of staged
 * file id. false on an OpenSSL failure. */
bool staging_sector_crypt(const struct staging_key *k, bool encrypt, uint64_t id, uint64_t sector,
                          const uint8_t *in, uint8_t *out);
void staging_key_wipe(struct staging_key *k);

#endif
