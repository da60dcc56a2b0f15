/* cache_kind: the kinds of objects the cache holds, each in its own id space: blocks as files
 * in their own directory, metadata objects as rows of the metadata database (meta_db.h). */
#ifndef SEAFS_CACHE_KIND_H
#define SEAFS_CACHE_KIND_H

#include <stdbool.h>

/* Values are stored in block files and in the index: never renumber them. */
enum cache_kind {
    CACHE_KIND_BLOCK = 1,     /* file content block; id = SHA-1 of the stored bytes */
    CACHE_KIND_COMMIT = 2,    /* commit object (JSON); its id is not a hash of the bytes */
    CACHE_KIND_FS = 3,        /* fs object stored as uncompressed JSON; id = SHA-1 of those bytes */
    CACHE_KIND_BLOCK_MAP = 4, /* stored block sizes of a file (JSON array); id = the file's id */
    CACHE_KIND_PLAIN_LENGTHS = 5, /* plaintext lengths of the blocks of an encrypted file, as far
                                     as they are known (JSON array, 0 = unknown); id = the file's
                                     id; unlike the other kinds it is replaced as lengths are
                                     learned */
};

#define CACHE_KIND_FIRST CACHE_KIND_BLOCK
#define CACHE_KIND_LAST  CACHE_KIND_PLAIN_LENGTHS

/* True for the kinds above. */
bool cache_kind_valid(int kind);
/* True for the metadata kinds (commits, fs objects, block maps, plaintext lengths), which live in
 * the metadata database rather than in files of their own. */
bool cache_kind_is_meta(int kind);
/* Directory name of a kind inside the cache directory ("blocks"; "commits", "fs" and
 * "block-maps" only in caches of earlier versions, which kept metadata objects as files;
 * "plain-lengths" never exists, the kind being newer than those versions);
 * NULL if the kind is invalid. */
const char *cache_kind_dir(int kind);
/* True when the stored bytes of an object of this kind must hash (SHA-1) to its id; the cache
 * checks this before an object becomes visible. */
bool cache_kind_id_is_sha1(int kind);

#endif
