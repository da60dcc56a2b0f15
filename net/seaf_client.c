/* seaf_client: account state (API token, file-server base, sync tokens) and the one call helper
 * every endpoint goes through. Tokens persist in the token store under names derived from the
 * SHA-1 of "server URL \n username", so two accounts or servers never share a file.
 *
 * Locking: client->lock protects api_token, fileserver_url and the repo token table; it is never
 * held during network I/O (a discovery racing in two threads just runs twice). mint_lock guards
 * the libraries whose sync token is being minted (download-info creates a token row on the
 * server at every call): threads starting on the same library together mint one, while other
 * libraries mint theirs at the same time. Lock order: mint_lock, then lock. */
#include "seaf_client.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_client_int.h"
#include "seaf_json_field.h"
#include "seaf_sha1.h"
#include "seahub_api.h"

/* Libraries whose sync tokens may be minted at the same time. */
#define MINTING_MAX 16
#include "token_store.h"

#define URL_MAX 2048

struct repo_token {
    char repo_id[SEAF_REPO_ID_LEN + 1];
    char token[SEAF_ID_LEN + 1];
};

struct seaf_client {
    struct seaf_client_options options; /* strings point to the copies below */
    char *server_url;                   /* without trailing '/' */
    char *username;
    char *device_id;
    char *device_name;
    char *token_dir;
    char account_key[SEAF_ID_LEN + 1]; /* SHA-1 of server URL + username: token file names */
    struct http_pool *pool;
    pthread_mutex_t mint_lock;
    pthread_cond_t minted;                           /* a minting ended */
    char minting[MINTING_MAX][SEAF_REPO_ID_LEN + 1]; /* protected by mint_lock; "" = free */
    pthread_mutex_t lock;
    char api_token[SEAF_ID_LEN + 1]; /* "" when none; protected by lock */
    char *fileserver_url;            /* NULL until discovered; protected by lock */
    struct repo_token *repo_tokens;  /* protected by lock */
    size_t n_repo_tokens;            /* protected by lock */
};

bool seaf_url_origin(const char *url, char *out, size_t out_size)
{
    const char *rest;
    size_t len;

    if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return false;
    if (*rest == '\0' || *rest == '/')
        return false;
    len = (size_t)(rest - url) + strcspn(rest, "/?#");
    if (len >= out_size)
        return false;
    memcpy(out, url, len);
    out[len] = '\0';
    return true;
}

static char *dup_or_null(const char *s, bool *failed)
{
    char *copy;

    if (!s)
        return NULL;
    copy = strdup(s);
    if (!copy)
        *failed = true;
    return copy;
}

seaf_err seaf_client_new(const struct seaf_client_options *options, struct http_pool *pool,
                         struct seaf_client **out)
{
    struct seaf_client *c;
    char origin[URL_MAX];
    char key_text[URL_MAX + 512];
    bool failed = false;
    size_t len;

    *out = NULL;
    if (!options || !pool || !options->server_url ||
        !seaf_url_origin(options->server_url, origin, sizeof(origin)))
        return SEAF_ERR_INVALID_ARG;
    if (options->device_id && !seaf_id_valid(options->device_id, strlen(options->device_id)))
        return SEAF_ERR_INVALID_ARG;
    if (options->fileserver_url &&
        !seaf_url_origin(options->fileserver_url, origin, sizeof(origin)))
        return SEAF_ERR_INVALID_ARG;
    c = calloc(1, sizeof(*c));
    if (!c)
        return SEAF_ERR_NOMEM;
    c->pool = pool;
    c->server_url = dup_or_null(options->server_url, &failed);
    c->username = dup_or_null(options->username ? options->username : "", &failed);
    c->device_id = dup_or_null(options->device_id, &failed);
    c->device_name = dup_or_null(options->device_name ? options->device_name : "seafs", &failed);
    c->token_dir = dup_or_null(options->token_dir, &failed);
    c->fileserver_url = dup_or_null(options->fileserver_url, &failed);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->mint_lock, NULL);
    pthread_cond_init(&c->minted, NULL);
    if (failed) {
        seaf_client_free(c);
        return SEAF_ERR_NOMEM;
    }
    len = strlen(c->server_url);
    while (len > 0 && c->server_url[len - 1] == '/')
        c->server_url[--len] = '\0';
    if (c->fileserver_url) {
        len = strlen(c->fileserver_url);
        while (len > 0 && c->fileserver_url[len - 1] == '/')
            c->fileserver_url[--len] = '\0';
    }
    /* fileserver_url stays NULL: the base in use is client->fileserver_url (under lock). */
    c->options = (struct seaf_client_options){.server_url = c->server_url,
                                              .username = c->username,
                                              .device_id = c->device_id,
                                              .device_name = c->device_name,
                                              .token_dir = c->token_dir};
    snprintf(key_text, sizeof(key_text), "%s\n%s", c->server_url, c->username);
    if (seaf_sha1_id(key_text, strlen(key_text), c->account_key) != SEAF_OK) {
        seaf_client_free(c);
        return SEAF_ERR_NOMEM;
    }
    *out = c;
    return SEAF_OK;
}

void seaf_client_free(struct seaf_client *client)
{
    if (!client)
        return;
    pthread_mutex_destroy(&client->lock);
    pthread_mutex_destroy(&client->mint_lock);
    pthread_cond_destroy(&client->minted);
    free(client->server_url);
    free(client->username);
    free(client->device_id);
    free(client->device_name);
    free(client->token_dir);
    free(client->fileserver_url);
    free(client->repo_tokens);
    free(client);
}

const struct seaf_client_options *seaf_client_options(struct seaf_client *client)
{
    return &client->options;
}

/* ---- API token ------------------------------------------------------------------------ */

static void api_token_name(struct seaf_client *c, char *out, size_t size)
{
    snprintf(out, size, "api-%s", c->account_key);
}

static void repo_token_name(struct seaf_client *c, const char *repo_id, char *out, size_t size)
{
    snprintf(out, size, "repo-%s-%s", c->account_key, repo_id);
}

seaf_err seaf_client_load_api_token(struct seaf_client *client)
{
    char name[128];
    char token[SEAF_ID_LEN + 1];
    seaf_err err;

    if (!client->token_dir)
        return SEAF_ERR_NOT_FOUND;
    api_token_name(client, name, sizeof(name));
    err = token_store_load(client->token_dir, name, token);
    if (err != SEAF_OK)
        return err;
    pthread_mutex_lock(&client->lock);
    memcpy(client->api_token, token, sizeof(token));
    pthread_mutex_unlock(&client->lock);
    return SEAF_OK;
}

seaf_err seaf_client_set_api_token(struct seaf_client *client, const char *token)
{
    char name[128];

    if (!token || !seaf_id_valid(token, strlen(token)))
        return SEAF_ERR_INVALID_ARG;
    pthread_mutex_lock(&client->lock);
    snprintf(client->api_token, sizeof(client->api_token), "%s", token);
    pthread_mutex_unlock(&client->lock);
    if (!client->token_dir)
        return SEAF_OK;
    api_token_name(client, name, sizeof(name));
    return token_store_save(client->token_dir, name, token);
}

void seaf_client_forget_api_token(struct seaf_client *client)
{
    char name[128];

    pthread_mutex_lock(&client->lock);
    client->api_token[0] = '\0';
    pthread_mutex_unlock(&client->lock);
    if (client->token_dir) {
        api_token_name(client, name, sizeof(name));
        token_store_remove(client->token_dir, name);
    }
}

bool seaf_client_has_api_token(struct seaf_client *client)
{
    bool has;

    pthread_mutex_lock(&client->lock);
    has = client->api_token[0] != '\0';
    pthread_mutex_unlock(&client->lock);
    return has;
}

seaf_err seaf_client_login(struct seaf_client *client, const char *password, const char *otp,
                           bool *otp_required)
{
    char token[SEAF_ID_LEN + 1];
    seaf_err err = seahub_auth_token(client, client->username, password, otp, token, otp_required);

    if (err != SEAF_OK)
        return err;
    return seaf_client_set_api_token(client, token);
}

/* ---- repo tokens ---------------------------------------------------------------------- */

static bool lookup_repo_token(struct seaf_client *c, const char *repo_id, char *out)
{
    bool found = false;

    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < c->n_repo_tokens && !found; i++) {
        if (strcmp(c->repo_tokens[i].repo_id, repo_id) == 0) {
            memcpy(out, c->repo_tokens[i].token, SEAF_ID_LEN + 1);
            found = true;
        }
    }
    pthread_mutex_unlock(&c->lock);
    return found;
}

static seaf_err remember_repo_token(struct seaf_client *c, const char *repo_id, const char *token)
{
    seaf_err err = SEAF_OK;
    size_t i;

    pthread_mutex_lock(&c->lock);
    for (i = 0; i < c->n_repo_tokens; i++) {
        if (strcmp(c->repo_tokens[i].repo_id, repo_id) == 0)
            break;
    }
    if (i == c->n_repo_tokens) {
        struct repo_token *grown = realloc(c->repo_tokens, (c->n_repo_tokens + 1) * sizeof(*grown));

        if (grown) {
            c->repo_tokens = grown;
            snprintf(grown[i].repo_id, sizeof(grown[i].repo_id), "%s", repo_id);
            c->n_repo_tokens++;
        } else {
            err = SEAF_ERR_NOMEM;
        }
    }
    if (err == SEAF_OK)
        snprintf(c->repo_tokens[i].token, sizeof(c->repo_tokens[i].token), "%s", token);
    pthread_mutex_unlock(&c->lock);
    return err;
}

seaf_err seaf_client_set_repo_token(struct seaf_client *client, const char *repo_id,
                                    const char *token)
{
    char name[160];
    seaf_err err;

    if (!repo_id || !seaf_repo_id_valid(repo_id, strlen(repo_id)) || !token ||
        !seaf_id_valid(token, strlen(token)))
        return SEAF_ERR_INVALID_ARG;
    err = remember_repo_token(client, repo_id, token);
    if (err != SEAF_OK || !client->token_dir)
        return err;
    repo_token_name(client, repo_id, name, sizeof(name));
    return token_store_save(client->token_dir, name, token);
}

void seaf_client_forget_repo_token(struct seaf_client *client, const char *repo_id)
{
    char name[160];

    pthread_mutex_lock(&client->lock);
    for (size_t i = 0; i < client->n_repo_tokens; i++) {
        if (strcmp(client->repo_tokens[i].repo_id, repo_id) == 0) {
            client->repo_tokens[i] = client->repo_tokens[--client->n_repo_tokens];
            break;
        }
    }
    pthread_mutex_unlock(&client->lock);
    if (client->token_dir && seaf_repo_id_valid(repo_id, strlen(repo_id))) {
        repo_token_name(client, repo_id, name, sizeof(name));
        token_store_remove(client->token_dir, name);
    }
}

/* The token from memory or the store; false when neither has one. */
static bool known_repo_token(struct seaf_client *client, const char *repo_id, char *out)
{
    char name[160];

    if (lookup_repo_token(client, repo_id, out))
        return true;
    if (!client->token_dir)
        return false;
    repo_token_name(client, repo_id, name, sizeof(name));
    return token_store_load(client->token_dir, name, out) == SEAF_OK &&
           remember_repo_token(client, repo_id, out) == SEAF_OK;
}

/* Waits until no other thread mints a token for repo_id and a slot is free, then takes one. */
static size_t claim_minting(struct seaf_client *client, const char *repo_id)
{
    pthread_mutex_lock(&client->mint_lock);
    for (;;) {
        size_t free_slot = MINTING_MAX;
        bool busy = false;
        for (size_t i = 0; i < MINTING_MAX; i++) {
            busy = busy || strcmp(client->minting[i], repo_id) == 0;
            if (!client->minting[i][0] && free_slot == MINTING_MAX)
                free_slot = i;
        }
        if (!busy && free_slot < MINTING_MAX) {
            snprintf(client->minting[free_slot], sizeof(client->minting[free_slot]), "%s", repo_id);
            pthread_mutex_unlock(&client->mint_lock);
            return free_slot;
        }
        pthread_cond_wait(&client->minted, &client->mint_lock);
    }
}

static void release_minting(struct seaf_client *client, size_t slot)
{
    pthread_mutex_lock(&client->mint_lock);
    client->minting[slot][0] = '\0';
    pthread_cond_broadcast(&client->minted);
    pthread_mutex_unlock(&client->mint_lock);
}

seaf_err seaf_client_repo_token(struct seaf_client *client, const char *repo_id,
                                char out[SEAF_ID_LEN + 1])
{
    struct seahub_download_info info;
    seaf_err err = SEAF_OK;

    if (!repo_id || !seaf_repo_id_valid(repo_id, strlen(repo_id)))
        return SEAF_ERR_INVALID_ARG;
    if (known_repo_token(client, repo_id, out))
        return SEAF_OK;
    size_t slot = claim_minting(client, repo_id);
    if (!known_repo_token(client, repo_id, out)) { /* another thread may have minted it */
        err = seahub_download_info(client, repo_id, &info);
        if (err == SEAF_OK) {
            memcpy(out, info.token, SEAF_ID_LEN + 1);
            seahub_download_info_release(&info);
            err = seaf_client_set_repo_token(client, repo_id, out);
        }
    }
    release_minting(client, slot);
    return err;
}

bool seaf_client_knows_repo_token(struct seaf_client *client, const char *repo_id)
{
    char token[SEAF_ID_LEN + 1];
    return repo_id && seaf_repo_id_valid(repo_id, strlen(repo_id)) &&
           known_repo_token(client, repo_id, token);
}

/* ---- file-server discovery ---------------------------------------------------------- */

seaf_err seaf_client_protocol_version(struct seaf_client *client, const char *url, bool retry,
                                      json_int_t *version)
{
    static const char what[] = "protocol-version";
    struct http_buffer body;
    struct seaf_call call = {
        .method = HTTP_GET, .url = url, .idempotent = retry, .response_body = &body};
    json_t *root = NULL;
    seaf_err err;

    http_buffer_init(&body, 4096);
    err = seaf_client_call(client, &call, NULL);
    if (err == SEAF_OK)
        err = seaf_json_load_object(body.data, body.len, what, &root, NULL);
    if (err == SEAF_OK)
        err = seaf_json_int(root, "version", true, what, version, NULL, NULL);
    json_decref(root);
    http_buffer_release(&body);
    return err;
}

/* SEAF_OK when base answers GET base/protocol-version with a JSON object holding an integer
 * "version" (any value: discovery only asks whether a file server is there); else the transport
 * error, or SEAF_ERR_PROTOCOL for any other answer. Not retried: a wrong candidate fails fast. */
static seaf_err probe_fileserver(struct seaf_client *c, const char *base)
{
    char url[URL_MAX];
    json_int_t version = 0;
    seaf_err err;

    snprintf(url, sizeof(url), "%s/protocol-version", base);
    err = seaf_client_protocol_version(c, url, false, &version);
    if (err != SEAF_OK && err != SEAF_ERR_NETWORK && err != SEAF_ERR_TIMEOUT &&
        err != SEAF_ERR_TLS && err != SEAF_ERR_NOMEM)
        err = SEAF_ERR_PROTOCOL; /* an HTTP answer, but not a file server's */
    return err;
}

/* Candidate 2 of §1.2: http://host:8082 (port replaced or appended). */
static bool port_8082_base(const char *origin, char *out, size_t size)
{
    const char *host = origin + strlen("http://");
    const char *colon = strrchr(host, ':');
    size_t host_len = colon && !strchr(colon, ']') ? (size_t)(colon - host) : strlen(host);

    return (size_t)snprintf(out, size, "http://%.*s:8082", (int)host_len, host) < size;
}

seaf_err seaf_client_fileserver_url(struct seaf_client *client, char *out, size_t out_size)
{
    char origin[URL_MAX];
    char candidate[URL_MAX + 16];
    char *found = NULL;
    bool known;
    seaf_err err;

    pthread_mutex_lock(&client->lock);
    known = client->fileserver_url != NULL;
    if (known)
        snprintf(candidate, sizeof(candidate), "%s", client->fileserver_url);
    pthread_mutex_unlock(&client->lock);
    if (known)
        return (size_t)snprintf(out, out_size, "%s", candidate) < out_size ? SEAF_OK
                                                                           : SEAF_ERR_INVALID_ARG;

    seaf_url_origin(client->server_url, origin, sizeof(origin));
    snprintf(candidate, sizeof(candidate), "%s/seafhttp", origin);
    err = probe_fileserver(client, candidate);
    /* Only plain http falls back to the file server's own port (§1.2). */
    if (err != SEAF_OK && strncmp(origin, "http://", 7) == 0 &&
        port_8082_base(origin, candidate, sizeof(candidate)))
        err = probe_fileserver(client, candidate);
    if (err != SEAF_OK)
        return err;
    found = strdup(candidate);
    if (!found)
        return SEAF_ERR_NOMEM;
    pthread_mutex_lock(&client->lock);
    if (!client->fileserver_url)
        client->fileserver_url = found;
    else
        free(found);
    size_t len = (size_t)snprintf(out, out_size, "%s", client->fileserver_url);
    pthread_mutex_unlock(&client->lock);
    return len < out_size ? SEAF_OK : SEAF_ERR_INVALID_ARG;
}

bool seaf_percent_encode(const char *value, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t len = 0;

    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (len + 4 > size)
            return false;
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            out[len++] = (char)*p;
        } else {
            out[len++] = '%';
            out[len++] = hex[*p >> 4];
            out[len++] = hex[*p & 15];
        }
    }
    if (len + 1 > size)
        return false;
    out[len] = '\0';
    return true;
}

/* ---- calls ------------------------------------------------------------------------- */

/* HTTP status -> error as documented for seaf_client_call. */
static seaf_err status_to_err(long status)
{
    if (status >= 200 && status < 300)
        return SEAF_OK;
    switch (status) {
    case 401:
        return SEAF_ERR_AUTH;
    case 403:
        return SEAF_ERR_PERMISSION;
    case 404:
        return SEAF_ERR_NOT_FOUND;
    case 443:
        return SEAF_ERR_QUOTA;
    case 444:
    case 445:
        return SEAF_ERR_REPO_GONE;
    case 429:
        return SEAF_ERR_SERVER;
    default:
        return status >= 500 && status < 600 ? SEAF_ERR_SERVER : SEAF_ERR_PROTOCOL;
    }
}

char *seaf_client_seahub_url(struct seaf_client *client, const char *path)
{
    size_t size = strlen(client->server_url) + strlen(path) + 1;
    char *url = malloc(size);

    if (url)
        snprintf(url, size, "%s%s", client->server_url, path);
    return url;
}

seaf_err seaf_client_fileserver_path(struct seaf_client *client, const char *path, char **out)
{
    char base[URL_MAX];
    seaf_err err = seaf_client_fileserver_url(client, base, sizeof(base));
    size_t size;

    *out = NULL;
    if (err != SEAF_OK)
        return err;
    size = strlen(base) + strlen(path) + 1;
    *out = malloc(size);
    if (!*out)
        return SEAF_ERR_NOMEM;
    snprintf(*out, size, "%s%s", base, path);
    return SEAF_OK;
}

seaf_err seaf_client_repo_call(struct seaf_client *client, const char *repo_id, const char *path,
                               struct seaf_call *call, struct http_response *response)
{
    char relative[512];
    char *url = NULL;
    seaf_err err;

    if ((size_t)snprintf(relative, sizeof(relative), "/repo/%s%s", repo_id, path) >=
        sizeof(relative))
        return SEAF_ERR_INVALID_ARG;
    err = seaf_client_fileserver_path(client, relative, &url);
    if (err != SEAF_OK)
        return err;
    call->url = url;
    call->auth = SEAF_AUTH_REPO;
    call->repo_id = repo_id;
    err = seaf_client_call(client, call, response);
    call->url = NULL;
    free(url);
    return err;
}

seaf_err seaf_client_call(struct seaf_client *client, const struct seaf_call *call,
                          struct http_response *response)
{
    char token[SEAF_ID_LEN + 1];
    char auth_line[64];
    char repo_line[64];
    const char *headers[4] = {NULL};
    size_t n = 0;
    struct http_response local;
    struct http_sink sink;
    seaf_err err;

    if (!response)
        response = &local;
    memset(response, 0, sizeof(*response));
    if (call->auth == SEAF_AUTH_API) {
        pthread_mutex_lock(&client->lock);
        memcpy(token, client->api_token, sizeof(token));
        pthread_mutex_unlock(&client->lock);
        if (token[0] == '\0')
            return SEAF_ERR_AUTH;
    } else if (call->auth == SEAF_AUTH_REPO) {
        err = seaf_client_repo_token(client, call->repo_id, token);
        if (err != SEAF_OK)
            return err;
        snprintf(repo_line, sizeof(repo_line), "Seafile-Repo-Token: %s", token);
        headers[n++] = repo_line;
    }
    if (call->auth != SEAF_AUTH_NONE) {
        snprintf(auth_line, sizeof(auth_line), "Authorization: Token %s", token);
        headers[n++] = auth_line;
    }
    if (call->extra_header)
        headers[n++] = call->extra_header;
    if (!call->sink)
        sink = http_buffer_sink(call->response_body);
    struct http_request request = {.method = call->method,
                                   .url = call->url,
                                   .headers = headers,
                                   .body = call->body,
                                   .body_len = call->body_len,
                                   .content_type = call->content_type,
                                   .idempotent = call->idempotent,
                                   .low_speed_time_s = call->low_speed_time_s,
                                   .capture_header = call->capture_header,
                                   .capture_headers = call->capture_headers,
                                   .url_has_secret = call->url_has_secret,
                                   .own_connection = call->own_connection,
                                   .error_body = call->error_body,
                                   .sink = call->sink ? call->sink : &sink};
    err = http_pool_perform(client->pool, &request, response);
    if (err != SEAF_OK)
        return err;
    err = status_to_err(response->status);
    if (err == SEAF_ERR_AUTH && call->auth == SEAF_AUTH_API)
        seaf_client_forget_api_token(client);
    return err;
}
