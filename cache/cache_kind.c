/* cache_kind: names and id rules of the kinds of cached objects (blocks, commits, fs objects,
 * block maps, plaintext lengths). */
#include "cache_kind.h"

#include <stddef.h>

bool cache_kind_valid(int kind)
{
    return kind >= CACHE_KIND_FIRST && kind <= CACHE_KIND_LAST;
}

bool cache_kind_is_meta(int kind)
{
    return kind == CACHE_KIND_COMMIT || kind == CACHE_KIND_FS || kind == CACHE_KIND_BLOCK_MAP ||
           kind == CACHE_KIND_PLAIN_LENGTHS;
}

const char *cache_kind_dir(int kind)
{
    switch (kind) {
    case CACHE_KIND_BLOCK:
        return "blocks";
    case CACHE_KIND_COMMIT:
        return "commits";
    case CACHE_KIND_FS:
        return "fs";
    case CACHE_KIND_BLOCK_MAP:
        return "block-maps";
    case CACHE_KIND_PLAIN_LENGTHS:
        return "plain-lengths";
    default:
        return NULL;
    }
}

bool cache_kind_id_is_sha1(int kind)
{
    return kind == CACHE_KIND_BLOCK || kind == CACHE_KIND_FS;
}
