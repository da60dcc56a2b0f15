/* fileserver_api: the read side of the Seafile file-server sync protocol (protocol doc §3):
 * protocol version, permission check, head commit, commits, fs-id-list, pack-fs, blocks and
 * block maps. Every call sends the library's sync token (seaf_client_repo_token) as both
 * Seafile-Repo-Token and Authorization: Token, blocks on the network, and is thread-safe. Data is
 * verified before it is handed out: commits parse and carry the requested id, fs objects hash to
 * their ids (seaf_fsobj_parse_json), blocks hash to their ids while they stream. */
#ifndef SEAFS_FILESERVER_API_H
#define SEAFS_FILESERVER_API_H

#include <stddef.h>
#include <stdint.h>

#include "http_pool.h"
#include "seaf_client.h"
#include "seaf_commit.h"
#include "seaf_error.h"
#include "seaf_fsobj.h"
#include "seahub_api.h"

/* Most ids asked for in one pack-fs request (SeaDrive sends 100). */
#define FILESERVER_PACK_FS_BATCH 100

/* GET <fs>/protocol-version: the version number (2 today). */
seaf_err fileserver_protocol_version(struct seaf_client *client, int *version);

/* GET <fs>/repo/<repo>/permission-check/?op=download|upload, with client_id/client_name when the
 * client has a device id. SEAF_OK = allowed; SEAF_ERR_PERMISSION; SEAF_ERR_REPO_GONE (444/445). */
seaf_err fileserver_permission_check(struct seaf_client *client, const char *repo_id, bool upload);

/* GET <fs>/accessible-repos/?repo_id=<repo_id> (§3.15) with repo_id's sync token: every library
 * the token's user can access, with its head commit -- the file server's cheap answer to "did
 * anything change" (SeaDrive polls it). Entries carry only version, id, head_commit_id, name,
 * mtime, permission, type and owner (the other fields are left empty). SEAF_ERR_NOT_FOUND when
 * the server has no such endpoint (404), SEAF_ERR_AUTH/PERMISSION for a refused token. */
seaf_err fileserver_accessible_repos(struct seaf_client *client, const char *repo_id,
                                     struct seahub_repo_list *out);
/* GET <fs>/repo/<repo>/commit/HEAD: the head commit id. SEAF_ERR_SERVER when the server reports
 * is_corrupted; SEAF_ERR_REPO_GONE for a deleted library. */
seaf_err fileserver_head_commit(struct seaf_client *client, const char *repo_id,
                                char head_out[SEAF_ID_LEN + 1]);

/* GET <fs>/repo/<repo>/commit/<id>, parsed (free with seaf_commit_free). SEAF_ERR_NOT_FOUND;
 * SEAF_ERR_MALFORMED; SEAF_ERR_ID_MISMATCH when the commit states another id or another
 * library. raw_out/raw_len (may be NULL) receive the exact bytes (free() them). */
seaf_err fileserver_get_commit(struct seaf_client *client, const char *repo_id,
                               const char *commit_id, struct seaf_commit **out, char **raw_out,
                               size_t *raw_len);

/* GET <fs>/repo/<repo>/fs-id-list/?server-head=<head>[&client-head=<c>][&dir-only=1]: the ids
 * (validated, duplicates removed, traversal order kept) in *ids_out, an array of n_out ids
 * (free() it). client_head may be NULL. Waits up to 30 minutes for a slow server. */
seaf_err fileserver_fs_id_list(struct seaf_client *client, const char *repo_id,
                               const char *server_head, const char *client_head, bool dir_only,
                               char (**ids_out)[SEAF_ID_LEN + 1], size_t *n_out);

/* Receives one verified fs object: its id, the stored (zlib) bytes, the JSON they inflate to
 * (what id hashes) and the parsed object in *obj. The callback may keep the object by taking
 * *obj and setting it to NULL; otherwise it is freed after the call. The other pointers are valid
 * only during the call. A non-OK return stops fileserver_pack_fs. */
typedef seaf_err (*fileserver_fsobj_fn)(void *ctx, const char *id, const void *stored,
                                        size_t stored_len, const char *json, size_t json_len,
                                        struct seaf_fsobj **obj);

/* Downloads the fs objects ids[0..n_ids) with POST pack-fs (batches of
 * FILESERVER_PACK_FS_BATCH; duplicates and SEAF_EMPTY_ID skipped), re-requesting what a partial
 * answer left out. Every object is verified (SHA-1 of its JSON == id, valid format) and given to
 * on_object exactly once. A round that brings nothing new is SEAF_ERR_PROTOCOL (never loops);
 * SEAF_ERR_ID_MISMATCH / SEAF_ERR_MALFORMED for a bad object; SEAF_ERR_SERVER when the server
 * lacks one (500). */
seaf_err fileserver_pack_fs(struct seaf_client *client, const char *repo_id, const char *const *ids,
                            size_t n_ids, fileserver_fsobj_fn on_object, void *ctx);

/* GET <fs>/repo/<repo>/block/<id>, streamed to sink (which must accept a restart through its
 * reset callback to allow retries). After the last byte the SHA-1 of the body is compared with
 * block_id: SEAF_ERR_ID_MISMATCH when they differ -- the sink then holds bad bytes and the caller
 * must discard them. A sink with checks_sha1 set takes over that check (the body is then not
 * hashed here and SEAF_OK says nothing about its integrity). size_out (may be NULL) receives the
 * byte count. A missing block is SEAF_ERR_SERVER (the server answers 500). The download takes a
 * connection of its own (http_request.own_connection): parallel block downloads run in parallel
 * on their callers' threads, over https too (on a far link with no such connection idle, one
 * block at a time goes over the HTTP/2 connection instead of paying handshakes). */
seaf_err fileserver_get_block(struct seaf_client *client, const char *repo_id, const char *block_id,
                              const struct http_sink *sink, uint64_t *size_out);

/* GET <fs>/repo/<repo>/block-map/<file_id>: the stored size of every block of the file, in
 * order, in *sizes_out (free() it). */
seaf_err fileserver_block_map(struct seaf_client *client, const char *repo_id, const char *file_id,
                              int64_t **sizes_out, size_t *n_out);
/* Parses a block map answer (a non-empty JSON array of positive integers) into *sizes_out
 * (free() it). SEAF_ERR_MALFORMED, SEAF_ERR_NOMEM. */
seaf_err seaf_block_map_parse(const char *json, size_t len, int64_t **sizes_out, size_t *n_out);

#endif
