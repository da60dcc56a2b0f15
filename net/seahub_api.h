/* seahub_api: the Seahub REST endpoints a drive client needs (protocol doc §2): login, account
 * info, library list, library info, download-info (sync token), a file's download link. Each call
 * blocks on the network and is thread-safe; each parse function is pure and usable on captured
 * responses. */
#ifndef SEAFS_SEAHUB_API_H
#define SEAFS_SEAHUB_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "seaf_client.h"
#include "seaf_error.h"
#include "seaf_ids.h"
#include "seaf_parse_msg.h"

/* POST /api2/auth-token/ for username/password (form-encoded; platform/device fields when the
 * client has a device id), with X-SEAFILE-OTP when otp is given. Writes the API token to
 * token_out. 400 is SEAF_ERR_AUTH; *otp_required (may be NULL) tells whether the answer carried
 * "X-Seafile-OTP: required". Used by seaf_client_login. */
seaf_err seahub_auth_token(struct seaf_client *client, const char *username, const char *password,
                           const char *otp, char token_out[SEAF_ID_LEN + 1], bool *otp_required);

/* GET /api2/account/info/ */
struct seahub_account {
    char *email;
    char *name;
    char *login_id;      /* "" when absent */
    char *contact_email; /* "" when absent */
    int64_t total;       /* quota in bytes; negative (-2) = unlimited */
    int64_t usage;       /* bytes used */
    bool is_staff;
};
seaf_err seahub_account_info(struct seaf_client *client, struct seahub_account *out);
seaf_err seahub_parse_account(const char *json, size_t len, struct seahub_account *out,
                              struct seaf_parse_msg *msg);
void seahub_account_release(struct seahub_account *account);

/* One library as listed by GET /api2/repos/ (§2.4) or described by GET /api2/repos/<id>/
 * (§2.5). Strings absent from the answer are NULL. */
struct seahub_repo {
    char type[8]; /* "repo", "srepo" or "grepo" */
    char id[SEAF_REPO_ID_LEN + 1];
    char head_commit_id[SEAF_ID_LEN + 1];
    char *name; /* NULL: corrupted library (listed with null name) */
    char *desc;
    char *owner; /* e-mail, group name, "Organization", "self"... */
    char *owner_name;
    char *owner_contact_email;
    char *owner_nickname;
    char *modifier_email;
    char *modifier_name;
    char *modifier_contact_email;
    char *mtime_relative; /* HTML snippet, kept only for completeness */
    char *size_formatted;
    char *permission; /* "rw", "r", "cloud-edit", "preview", "custom-N" */
    char *root;       /* list: always ""; info: root fs id of HEAD */
    char *salt;       /* 64 hex when enc_version >= 3, else "" */
    char *magic;      /* encrypted libraries (info; list on old servers) */
    char *random_key;
    char *share_type; /* srepo/public */
    char *group_name;
    char *share_from;
    char *share_from_name;
    char *share_from_contact_email;
    char *storage_name;
    char *storage_id;
    int64_t mtime;
    int64_t size;
    int64_t groupid;    /* grepo; 0 when absent */
    int64_t file_count; /* info only; -1 when absent */
    int version;        /* repo format version */
    int enc_version;    /* 0 when absent */
    bool encrypted;
    bool is_virtual;
    bool is_admin;
    bool read_only; /* permission is anything other than exactly "rw" (SeaDrive's rule) */
};

/* The libraries the account can sync. Entries are validated as SeaDrive does (version, id,
 * head_commit_id, name string-or-null, mtime, permission, owner, type): one bad entry rejects
 * the list with SEAF_ERR_MALFORMED. Duplicates (a library owned and shared via a group) are
 * merged: the owned entry wins, else a writable one. */
struct seahub_repo_list {
    struct seahub_repo *repos;
    size_t n_repos;
};
seaf_err seahub_list_repos(struct seaf_client *client, struct seahub_repo_list *out);
seaf_err seahub_parse_repo_list(const char *json, size_t len, struct seahub_repo_list *out,
                                struct seaf_parse_msg *msg);
void seahub_repo_list_release(struct seahub_repo_list *list);

/* Frees the strings of one library entry. */
void seahub_repo_release(struct seahub_repo *repo);

/* GET /api2/repos/<repo_id>/download-info/: a NEW sync token per call (store it). */
struct seahub_download_info {
    char token[SEAF_ID_LEN + 1];
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char head_commit_id[SEAF_ID_LEN + 1];
    char *repo_name;
    char *permission; /* "r" or "rw" */
    char *email;
    char *magic;           /* "" unless encrypted */
    char *random_key;      /* "" unless encrypted */
    char *salt;            /* "" unless enc_version >= 3 */
    char *pwd_hash;        /* NULL when absent */
    char *pwd_hash_algo;   /* NULL when absent */
    char *pwd_hash_params; /* NULL when absent */
    int repo_version;
    int enc_version;
    bool encrypted; /* the integer 1, or "" when not encrypted */
};
seaf_err seahub_download_info(struct seaf_client *client, const char *repo_id,
                              struct seahub_download_info *out);
seaf_err seahub_parse_download_info(const char *json, size_t len, struct seahub_download_info *out,
                                    struct seaf_parse_msg *msg);
void seahub_download_info_release(struct seahub_download_info *info);

/* GET /api2/repos/<repo_id>/ (§2.5): the library's head commit id and the root folder id of that
 * head ("root"), without a sync token: with download-info beside it, a library never opened
 * lists after one Seahub round trip and one pack-fs instead of download-info, commit, pack-fs.
 * SEAF_ERR_MALFORMED when either id is missing or not 40 hex digits (an empty library's root is
 * the all-zero id), SEAF_ERR_PROTOCOL when the answer is about another library. */
seaf_err seahub_repo_root(struct seaf_client *client, const char *repo_id,
                          char head_out[SEAF_ID_LEN + 1], char root_out[SEAF_ID_LEN + 1]);
seaf_err seahub_parse_repo_root(const char *json, size_t len, const char *repo_id,
                                char head_out[SEAF_ID_LEN + 1], char root_out[SEAF_ID_LEN + 1]);

/* GET /api2/repos/<repo_id>/file/?p=<path>[&reuse=1] (§2.9): a download link on the file server
 * for the file at path (absolute, in the library) as the library's head holds it now. *url
 * (malloc'd) carries an access token: it is a credential, never to be logged. file_id gets the
 * id of the file version the link serves (Seahub's "oid" header), "" when the answer has none.
 * reuse: the link serves any number of requests until it expires (an hour by default), else
 * exactly one. SEAF_ERR_NOT_FOUND (no such library or file), SEAF_ERR_PERMISSION,
 * SEAF_ERR_MALFORMED (no URL in the answer, or a bad oid), errors of the call (not retried:
 * SEAF_ERR_SERVER at the first 5xx, such as Seahub's 520 for a missing folder object). */
seaf_err seahub_file_link(struct seaf_client *client, const char *repo_id, const char *path,
                          bool reuse, char **url, char file_id[SEAF_ID_LEN + 1]);
/* The link answer: a JSON string holding an http(s) URL, into *url (malloc'd). */
seaf_err seahub_parse_file_link(const char *json, size_t len, char **url);

#endif
