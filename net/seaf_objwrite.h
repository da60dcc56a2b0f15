/* seaf_objwrite: making Seafile objects for an upload (protocol doc §4) -- the canonical JSON of
 * directory and file objects and their ids, their stored (zlib) form, the JSON of a commit as the
 * official C client writes it, and a new commit on top of a parent. The inverse of seaf_fsobj and
 * seaf_commit: what those parse from a real server's storage is written back byte for byte. */
#ifndef SEAFS_SEAF_OBJWRITE_H
#define SEAFS_SEAF_OBJWRITE_H

#include <stddef.h>
#include <stdint.h>

#include "seaf_commit.h"
#include "seaf_error.h"
#include "seaf_fsobj.h"
#include "seaf_ids.h"

/* The canonical JSON of a directory object (protocol doc §4.2/4.4): entries sorted here in
 * strictly descending byte order of name (input in any order), keys sorted, ", "/": " separators,
 * jansson-compatible escaping (uppercase \u00XX), dirs without modifier/size. Directory entries
 * use struct seaf_dirent from seaf_fsobj.h (name/name_len/modifier pointers are read only; name
 * need not be NUL-terminated; a NULL modifier of a file counts as ""; the size of a directory
 * entry is ignored). n == 0 gives id SEAF_EMPTY_ID and *json NULL (no object).
 * SEAF_ERR_INVALID_ARG for duplicate names, bad names (seaf_name_problem), bad ids, bad modes,
 * a file size out of range or not matching its id (0 iff SEAF_EMPTY_ID), a modifier that is not
 * UTF-8, or a JSON text larger than SEAF_FSOBJ_MAX_SIZE (seaf_fsobj_parse would refuse it).
 * *json malloc'd (not NUL counted). SEAF_ERR_NOMEM. Thread-safe. */
seaf_err seaf_dir_to_json(const struct seaf_dirent *entries, size_t n, char **json, size_t *len,
                          char id_out[SEAF_ID_LEN + 1]);

/* The canonical JSON of a file object: block_ids in order, size. n == 0 (size 0) gives
 * SEAF_EMPTY_ID and *json NULL. SEAF_ERR_INVALID_ARG for a bad block id, size out of range
 * (0 < size <= SEAF_MAX_FILE_SIZE), more blocks than bytes, or n == 0 with size != 0. */
seaf_err seaf_file_to_json(const char (*block_ids)[SEAF_ID_LEN + 1], size_t n, int64_t size,
                           char **json, size_t *len, char id_out[SEAF_ID_LEN + 1]);

/* zlib (RFC 1950, level 6 like the C client) of an fs object's JSON: the stored/transfer form.
 * *stored malloc'd. SEAF_ERR_INVALID_ARG for an empty JSON (empty objects are never stored) or
 * one larger than SEAF_FSOBJ_MAX_SIZE. */
seaf_err seaf_fsobj_deflate(const char *json, size_t len, void **stored, size_t *stored_len);

/* The JSON text of a commit for PUT commit/<id> (plain, uncompressed) in the key order and with
 * the optional keys of the official C client (jansson, insertion order): commit_id, root_id,
 * repo_id, creator_name (when not NULL), creator, description, ctime, parent_id,
 * second_parent_id (null when ""), repo_name, repo_desc, repo_category (null), device_name,
 * client_version (when not NULL), then for encrypted commits "encrypted": "true", enc_version,
 * magic, key, salt, pwd_hash, pwd_hash_algo, pwd_hash_params (each when not NULL), then the set
 * flags no_local_history, "version": 1, conflict, new_merge, repaired. A commit parsed from
 * either the C server or a C client is written back byte for byte.
 * The result is checked with seaf_commit_parse: SEAF_ERR_INVALID_ARG for anything the server
 * would refuse on upload (bad ids, creator not 40 characters, version other than 1, missing or
 * wrongly sized encryption fields, strings that are not UTF-8, description or repo_name NULL).
 * *json malloc'd (NUL-terminated, NUL not counted in *len). SEAF_ERR_NOMEM. */
seaf_err seaf_commit_to_json(const struct seaf_commit *c, char **json, size_t *len);

/* A new commit on top of parent (NULL parent only for tests: repo fields then stay empty and the
 * caller fills them): copies repo_id, repo_name, repo_desc and every encryption field from
 * parent; sets root_id, parent_id = parent->commit_id, second_parent_id "", creator (40-hex
 * device id), creator_name (email), description, ctime, device_name, client_version (either may
 * be NULL: the key is then left out), version 1, no flags; computes commit_id with
 * SEAF_COMMIT_ID_C. Two commits with the same root, creator, creator_name, description and
 * ctime get the same id: the caller keeps them apart (e.g. by ctime). SEAF_ERR_INVALID_ARG for a
 * bad root_id or creator, NULL creator_name or description, strings that are not UTF-8.
 * Free with seaf_commit_free. */
seaf_err seaf_commit_new_child(const struct seaf_commit *parent, const char *root_id,
                               const char *creator, const char *creator_name,
                               const char *description, int64_t ctime, const char *device_name,
                               const char *client_version, struct seaf_commit **out);

#endif
