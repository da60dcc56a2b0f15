/* seaf_client_int: what the endpoint modules (seahub_api.c, fileserver_api.c) share with
 * seaf_client.c: one call helper that adds the right credentials and maps HTTP statuses to
 * seaf_err. Not for use outside net/. */
#ifndef SEAFS_SEAF_CLIENT_INT_H
#define SEAFS_SEAF_CLIENT_INT_H

#include <jansson.h>

#include "http_pool.h"
#include "seaf_client.h"

/* Largest JSON answer buffered in memory (a repo list or an fs-id-list of a huge library). */
#define SEAF_JSON_LIMIT (256u * 1024 * 1024)

enum seaf_auth {
    SEAF_AUTH_NONE,
    SEAF_AUTH_API,  /* Authorization: Token <API token> (Seahub) */
    SEAF_AUTH_REPO, /* Seafile-Repo-Token + Authorization: Token <sync token> (file server) */
};

struct seaf_call {
    enum http_method method;
    const char *url;
    enum seaf_auth auth;
    const char *repo_id; /* for SEAF_AUTH_REPO */
    const char *body;
    size_t body_len;
    const char *content_type;
    bool idempotent;
    long low_speed_time_s;
    const char *capture_header;
    const char *const *capture_headers; /* as http_request's */
    bool url_has_secret;                /* as http_request's */
    bool own_connection;                /* as http_request's */
    const struct http_sink *sink;       /* NULL: the body goes to response_body (SEAF_JSON_LIMIT) */
    struct http_buffer *response_body;
    const char *extra_header;       /* one more "Name: value" line, or NULL */
    struct http_buffer *error_body; /* non-NULL: a non-2xx body goes here whole (up to its limit) */
};

/* Performs call and maps the outcome: SEAF_OK for 2xx; 401 -> SEAF_ERR_AUTH (and the API token
 * is forgotten), 403 -> SEAF_ERR_PERMISSION, 404 -> SEAF_ERR_NOT_FOUND, 443 -> SEAF_ERR_QUOTA,
 * 444/445 -> SEAF_ERR_REPO_GONE, 5xx/429 -> SEAF_ERR_SERVER, other statuses ->
 * SEAF_ERR_PROTOCOL; transport errors as http_pool_perform. response (may be NULL) receives the
 * raw outcome. */
seaf_err seaf_client_call(struct seaf_client *client, const struct seaf_call *call,
                          struct http_response *response);
/* seaf_client_call on <fs>/repo/<repo_id><path> (path starting with '/') with the library's sync
 * token: sets call->url (valid only during the call), auth and repo_id. */
seaf_err seaf_client_repo_call(struct seaf_client *client, const char *repo_id, const char *path,
                               struct seaf_call *call, struct http_response *response);
/* The Seahub URL for path (starting with "/api2/..."): server URL + path, into a new string. */
char *seaf_client_seahub_url(struct seaf_client *client, const char *path);
/* The file-server URL for path ("/repo/..."): discovered base + path, into a new string. */
seaf_err seaf_client_fileserver_path(struct seaf_client *client, const char *path, char **out);
/* GET url (a file server's /protocol-version): the integer "version" of the JSON object it
 * answers, into *version. retry: retried like other idempotent requests. SEAF_ERR_MALFORMED for
 * an answer that is not such an object; call errors as seaf_client_call. */
seaf_err seaf_client_protocol_version(struct seaf_client *client, const char *url, bool retry,
                                      json_int_t *version);
/* Percent-encodes value (RFC 3986 unreserved characters kept) into out; false if it does not
 * fit in size bytes. */
bool seaf_percent_encode(const char *value, char *out, size_t size);
/* The client's options (strings owned by the client). fileserver_url is always NULL there: the
 * base in use comes from seaf_client_fileserver_url. */
const struct seaf_client_options *seaf_client_options(struct seaf_client *client);

#endif
