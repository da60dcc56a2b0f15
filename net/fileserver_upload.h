/* fileserver_upload: the upload side of the Seafile file-server sync protocol (protocol doc §3.3,
 * 3.5, 3.7, 3.10-3.13, §6.3): quota check, commit upload, which fs objects and blocks the server
 * lacks, fs object and block upload, and update-branch. Every call sends the library's sync
 * token exactly like fileserver_api.c does (Seafile-Repo-Token and Authorization: Token), blocks
 * on the network and is thread-safe. The objects themselves are made by seaf_objwrite.
 *
 * Retries: everything but update-branch is idempotent (the server stores objects under their
 * ids and overwrites) and is retried by the pool on connection errors, 5xx and 429.
 * update-branch is sent exactly once (see fileserver_update_branch). Upload permission is
 * checked with fileserver_permission_check(client, repo, true) from fileserver_api.h. */
#ifndef SEAFS_FILESERVER_UPLOAD_H
#define SEAFS_FILESERVER_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_client.h"
#include "seaf_error.h"
#include "seaf_ids.h"

/* Most ids sent in one check-fs / check-blocks request (SeaDrive: 1000). */
#define FILESERVER_CHECK_BATCH 1000
/* A recv-fs request is sent once its body reaches this size (SeaDrive: 1 MiB). */
#define FILESERVER_RECV_FS_PACK_SIZE (1024 * 1024)

/* GET quota-check/?delta=<delta>: whether the library owner's quota allows delta more bytes
 * (delta may be negative). SEAF_OK, SEAF_ERR_QUOTA (443), SEAF_ERR_PERMISSION (403),
 * SEAF_ERR_PROTOCOL (400), SEAF_ERR_SERVER, transport errors. */
seaf_err fileserver_quota_check(struct seaf_client *client, const char *repo_id, int64_t delta);

/* PUT commit/<commit_id> with the commit JSON (seaf_commit_to_json), sent as
 * application/octet-stream like SeaDrive. Must come before the fs objects and blocks of the
 * upload (the server remembers the garbage-collection id here for update-branch's 409). The
 * JSON must parse as a commit whose commit_id is commit_id and whose repo_id is repo_id
 * (checked here: the C server stores it under the URL's id, the Go server under the JSON's, so
 * they must agree), else SEAF_ERR_INVALID_ARG. SEAF_ERR_PERMISSION (403), SEAF_ERR_PROTOCOL
 * (400: the server refused the commit), SEAF_ERR_SERVER, transport errors. */
seaf_err fileserver_put_commit(struct seaf_client *client, const char *repo_id,
                               const char *commit_id, const char *json, size_t len);

/* POST check-fs/ and check-blocks/: which of ids[0..n) the server lacks (batches of at most
 * FILESERVER_CHECK_BATCH ids; duplicates and SEAF_EMPTY_ID never sent). *needed_out malloc'd
 * (may be NULL when *n_needed is 0), in the order of ids. An invalid id in ids is
 * SEAF_ERR_INVALID_ARG (nothing sent). An answer naming an id that was not asked, or one id
 * twice, is SEAF_ERR_PROTOCOL; an answer that is not a JSON array of strings SEAF_ERR_MALFORMED.
 * Both need only read access on the server. */
seaf_err fileserver_check_fs(struct seaf_client *client, const char *repo_id,
                             const char *const *ids, size_t n, char (**needed_out)[SEAF_ID_LEN + 1],
                             size_t *n_needed);
seaf_err fileserver_check_blocks(struct seaf_client *client, const char *repo_id,
                                 const char *const *ids, size_t n,
                                 char (**needed_out)[SEAF_ID_LEN + 1], size_t *n_needed);

/* One fs object to send: id and its stored (zlib) bytes (never empty). */
struct fileserver_fs_record {
    const char *id;
    const void *data;
    size_t len;
};

/* POST recv-fs/ with the records, packed as pack-fs records ([40 ASCII hex id][uint32
 * big-endian length][data]), cut into requests as SeaDrive does: records are added in order and
 * a request is sent as soon as its body reaches FILESERVER_RECV_FS_PACK_SIZE (so every request
 * but the last is >= 1 MiB, and one object larger than that goes alone). The server checks
 * neither ids nor content: the caller sends seaf_fsobj_deflate output under the id of its JSON.
 * SEAF_ERR_INVALID_ARG for an invalid or empty id (SEAF_EMPTY_ID), empty data or data larger
 * than SEAF_FSOBJ_MAX_STORED_SIZE (nothing is sent then). n == 0 sends nothing. On an error the
 * requests before it have been stored on the server (harmless: re-sending overwrites). */
seaf_err fileserver_recv_fs(struct seaf_client *client, const char *repo_id,
                            const struct fileserver_fs_record *records, size_t n);

/* PUT block/<block_id> with the bytes (len > 0; an empty block is SEAF_ERR_INVALID_ARG: the C
 * server refuses it and the Go server stores an empty block that later breaks GET). Sent with
 * no Content-Type, like SeaDrive. The caller guarantees SHA-1(data) == block_id; the server does
 * not check, and a wrong block would be served to every client afterwards (the official client
 * takes it without complaint, see the vectors' merge/ errors). So it is checked here too, in
 * every build, not only in debug ones: SHA-1 runs at several hundred MB/s, far faster than any
 * upload link, so the check costs a small fraction of one core during an upload and turns a
 * caller bug into SEAF_ERR_ID_MISMATCH (nothing sent) instead of a corrupted library. */
seaf_err fileserver_put_block(struct seaf_client *client, const char *repo_id, const char *block_id,
                              const void *data, size_t len);

/* The outcome of update-branch. */
struct fileserver_update_result {
    long status;       /* HTTP status; 0 when no answer arrived */
    bool gc_conflict;  /* 409 "GC Conflict.": redo the whole upload */
    char message[256]; /* start of the answer body of a non-200 status ("" if none) */
    char **missing;    /* 446: malloc'd array of malloc'd file base names */
    size_t n_missing;
};

/* PUT commit/HEAD/?head=<commit_id> (update-branch), empty body. The outcome in *result
 * (release with fileserver_update_result_release, also after an error):
 *  SEAF_OK                 200 (head moved, maybe by a server merge: GET commit/HEAD after)
 *  SEAF_ERR_QUOTA          443
 *  SEAF_ERR_PERMISSION     403 (text body kept in result->message; Pro servers explain locks
 *                          and folder permissions there)
 *  SEAF_ERR_REPO_GONE      444/445
 *  SEAF_ERR_NOT_FOUND      446: result->missing = base names from the body (may be none: an fs
 *                          object is missing, or the body was not a JSON array of names)
 *  SEAF_ERR_SERVER         409 "GC Conflict." (result->gc_conflict = true), 5xx (500 also when
 *                          the commit itself was never uploaded)
 *  SEAF_ERR_PROTOCOL       400 (parent unknown / bad request), 404 and other statuses
 *  SEAF_ERR_AUTH           401 (from a proxy)
 *  transport errors        SEAF_ERR_NETWORK / SEAF_ERR_TIMEOUT / SEAF_ERR_TLS: the server may
 *                          or may not have moved the head
 * NOT idempotent: never retried inside the pool, and sent on a fresh connection so that libcurl
 * does not silently resend it when a reused keep-alive connection turns out dead (a retry after
 * a lost answer would make the server create an extra merge commit -- see merge/ errors:
 * "update-branch again with the id that is already head"); the caller checks commit/HEAD before
 * trying again. */
seaf_err fileserver_update_branch(struct seaf_client *client, const char *repo_id,
                                  const char *commit_id, struct fileserver_update_result *result);
/* Frees result->missing and clears the result; safe on a zeroed or released result. */
void fileserver_update_result_release(struct fileserver_update_result *result);

#endif
