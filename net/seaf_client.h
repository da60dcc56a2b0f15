/* seaf_client: one Seafile account on one server, as seen by the rest of seafs. Holds the server
 * URL, the Seahub API token (from a login or given), the file-server base URL (found as the
 * official clients do, protocol doc §1.2) and the per-library sync tokens, persisted in a token
 * store so a remount does not log in again. The endpoint calls live in seahub_api.h and
 * fileserver_api.h; all of them go through the shared http_pool. Thread-safe. */
#ifndef SEAFS_SEAF_CLIENT_H
#define SEAFS_SEAF_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "http_pool.h"
#include "seaf_error.h"
#include "seaf_ids.h"

struct seaf_client;

struct seaf_client_options {
    const char *server_url;     /* the user's server URL, e.g. https://cloud.example.com/seafile */
    const char *fileserver_url; /* NULL = discover (§1.2); else the file-server base to use */
    const char *username;       /* account e-mail / login id (keys the stored tokens) */
    const char *device_id;      /* 40 hex digits, stable per installation (login device_id and
                                   permission-check client_id); NULL = none sent */
    const char *device_name;    /* e.g. the host name; NULL = "seafs" */
    const char *token_dir;      /* where tokens persist (created 0700); NULL = memory only */
};

/* Creates a client using pool (not owned; must outlive the client). Nothing is sent yet.
 * SEAF_ERR_INVALID_ARG for a missing or non-http(s) server URL or a malformed device id. */
seaf_err seaf_client_new(const struct seaf_client_options *options, struct http_pool *pool,
                         struct seaf_client **out);
/* Frees the client; NULL is a no-op. */
void seaf_client_free(struct seaf_client *client);

/* Uses a stored API token for options->username, if the token store has one: SEAF_OK, or
 * SEAF_ERR_NOT_FOUND (log in then). No network. */
seaf_err seaf_client_load_api_token(struct seaf_client *client);
/* Uses token (40 hex digits) as the API token and stores it. */
seaf_err seaf_client_set_api_token(struct seaf_client *client, const char *token);
/* Logs in with password (POST /api2/auth-token/, as a per-device token when device_id is set);
 * otp is the current 2FA code or NULL. On success the token is stored. Errors: SEAF_ERR_AUTH
 * (wrong credentials or OTP; *otp_required, when not NULL, is set if the server asks for an
 * OTP: call again with one), SEAF_ERR_NETWORK, ... Blocks on the network. */
seaf_err seaf_client_login(struct seaf_client *client, const char *password, const char *otp,
                           bool *otp_required);
/* Forgets the API token (memory and store), e.g. after the server refused it. */
void seaf_client_forget_api_token(struct seaf_client *client);
/* Whether an API token is set. */
bool seaf_client_has_api_token(struct seaf_client *client);

/* The file-server base URL, discovering it on first use (§1.2: <scheme://host[:port]>/seafhttp,
 * else for plain http the host's port 8082). Copies it to out (size out_size). When no candidate
 * answers as a Seafile file server: the last candidate's transport error (SEAF_ERR_NETWORK,
 * SEAF_ERR_TIMEOUT, SEAF_ERR_TLS) or SEAF_ERR_PROTOCOL. Blocks on the network. */
seaf_err seaf_client_fileserver_url(struct seaf_client *client, char *out, size_t out_size);

/* The sync token of a library: from memory, else the token store, else a new one from
 * download-info (which needs the API token; it is then stored). out gets 40 hex digits. */
seaf_err seaf_client_repo_token(struct seaf_client *client, const char *repo_id,
                                char out[SEAF_ID_LEN + 1]);
/* Whether a sync token of repo_id is at hand (memory or the token store): no download-info is
 * needed before the file server's requests. */
bool seaf_client_knows_repo_token(struct seaf_client *client, const char *repo_id);
/* Uses token as the sync token of repo_id (and stores it). */
seaf_err seaf_client_set_repo_token(struct seaf_client *client, const char *repo_id,
                                    const char *token);
/* Forgets a library's sync token (memory and store), e.g. after the file server refused it. */
void seaf_client_forget_repo_token(struct seaf_client *client, const char *repo_id);

/* "scheme://host[:port]" of url (the path dropped, §1.2) into out; false if url is not an
 * http(s) URL or out is too small. Exposed for tests. */
bool seaf_url_origin(const char *url, char *out, size_t out_size);

#endif
