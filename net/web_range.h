/* web_range: byte ranges of one file version through a file-server download link (protocol doc
 * §2.9; links come from seahub_file_link). An answer is used only when it provably concerns the
 * version asked for: a 206 whose ETag (the file server sets it to the file id its token serves)
 * is that version's file id, whose Content-Range is exactly the bytes asked for of a file of that
 * version's size, and whose body is exactly that long. The bytes themselves cannot be checked
 * against block ids (a range is not a block): that is the difference from a block download.
 * Blocks on the network; thread-safe. */
#ifndef SEAFS_WEB_RANGE_H
#define SEAFS_WEB_RANGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_client.h"
#include "seaf_error.h"
#include "seaf_ids.h"

/* What a range answer must be. */
struct web_range {
    const char *file_id; /* the version read (40 hex digits) */
    uint64_t file_size;  /* its size in bytes */
    uint64_t start;      /* first byte wanted */
    size_t len;          /* bytes wanted (> 0, start + len <= file_size) */
};

/* GET url with "Range: bytes=<start>-<start+len-1>" into dst (len bytes). SEAF_OK only for an
 * answer as described above. SEAF_ERR_PERMISSION (403) / SEAF_ERR_NOT_FOUND (404): the link is
 * refused (its token expired or is unknown); SEAF_ERR_ID_MISMATCH: the answer is about another
 * version (ETag or total size differ); SEAF_ERR_UNSUPPORTED: a 200 with the whole file, Range
 * ignored (some proxies do): the transfer is cut off as soon as the body would outgrow len bytes,
 * so such a server costs len bytes and a round trip, not the file; SEAF_ERR_PROTOCOL: any other
 * answer (another range, a short body, no ETag, 416, ...); transport errors and 5xx as
 * http_pool_perform, without retries (the caller has a fallback). */
seaf_err web_range_get(struct seaf_client *client, const char *url, const struct web_range *want,
                       char *dst);

/* Parses a Content-Range value "bytes <first>-<last>/<total>"; false for anything else
 * ("bytes * /total" included). */
bool web_parse_content_range(const char *value, uint64_t *first, uint64_t *last, uint64_t *total);
/* The object id an ETag names: the id bare, quoted, or as a weak tag W/"id"; false when it is
 * not one id. */
bool web_parse_etag(const char *value, char out[SEAF_ID_LEN + 1]);

#endif
