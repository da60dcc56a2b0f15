/* seahub_api: Seahub REST calls (login, account, libraries, download-info) and strict parsers of
 * their JSON answers. String members are copied into the result structs (table-driven, so every
 * field of protocol doc §2.4/§2.5 is kept without a line of code per field). */
#include "seahub_api.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "seaf_client_int.h"
#include "seaf_json_field.h"

/* ---- JSON helpers ----------------------------------------------------------------------- */

/* Member key as a boolean; absent = false. */
static seaf_err get_bool(json_t *obj, const char *key, const char *what, bool *out,
                         struct seaf_parse_msg *msg)
{
    json_t *value = json_object_get(obj, key);

    *out = false;
    if (!value)
        return SEAF_OK;
    if (!json_is_boolean(value))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: \"%s\" is not a boolean", what, key);
    *out = json_is_true(value);
    return SEAF_OK;
}

/* Member key as an integer into *out (default def when absent). */
static seaf_err get_int(json_t *obj, const char *key, bool required, int64_t def, const char *what,
                        int64_t *out, struct seaf_parse_msg *msg)
{
    json_int_t value = 0;
    bool present = false;
    seaf_err err = seaf_json_int(obj, key, required, what, &value, &present, msg);

    *out = present ? (int64_t)value : def;
    return err;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* GETs a Seahub path with the API token into body. */
static seaf_err seahub_get(struct seaf_client *client, const char *path, struct http_buffer *body)
{
    char *url = seaf_client_seahub_url(client, path);
    struct seaf_call call = {.method = HTTP_GET,
                             .url = url,
                             .auth = SEAF_AUTH_API,
                             .idempotent = true,
                             .response_body = body};
    seaf_err err;

    if (!url)
        return SEAF_ERR_NOMEM;
    http_buffer_init(body, SEAF_JSON_LIMIT);
    err = seaf_client_call(client, &call, NULL);
    free(url);
    if (err == SEAF_OK && !body->data)
        err = SEAF_ERR_MALFORMED; /* an empty 200 answer where JSON was due */
    if (err != SEAF_OK)
        http_buffer_release(body);
    return err;
}

/* ---- login ------------------------------------------------------------------------------- */

/* Appends key=value (percent-encoded) to a form body of capacity size. */
static bool form_add(char *form, size_t size, const char *key, const char *value)
{
    size_t len = strlen(form);

    if ((size_t)snprintf(form + len, size - len, "%s%s=", len ? "&" : "", key) >= size - len)
        return false;
    len = strlen(form);
    return seaf_percent_encode(value, form + len, size - len);
}

seaf_err seahub_auth_token(struct seaf_client *client, const char *username, const char *password,
                           const char *otp, char token_out[SEAF_ID_LEN + 1], bool *otp_required)
{
    const struct seaf_client_options *o = seaf_client_options(client);
    char form[4096] = "";
    char otp_line[128];
    struct http_buffer body;
    struct http_response response;
    json_t *root = NULL;
    seaf_err err;
    bool ok;

    if (otp_required)
        *otp_required = false;
    if (!username || !*username || !password)
        return SEAF_ERR_INVALID_ARG;
    if (otp && (strlen(otp) > 64 || strpbrk(otp, "\r\n")))
        return SEAF_ERR_INVALID_ARG;
    ok = form_add(form, sizeof(form), "username", username) &&
         form_add(form, sizeof(form), "password", password);
    if (ok && o->device_id)
        ok = form_add(form, sizeof(form), "platform", "linux") &&
             form_add(form, sizeof(form), "device_id", o->device_id) &&
             form_add(form, sizeof(form), "device_name", o->device_name) &&
             form_add(form, sizeof(form), "client_version", SEAFS_VERSION);
    if (!ok)
        return SEAF_ERR_INVALID_ARG;
    snprintf(otp_line, sizeof(otp_line), "X-SEAFILE-OTP: %s", otp ? otp : "");
    char *url = seaf_client_seahub_url(client, "/api2/auth-token/");
    if (!url)
        return SEAF_ERR_NOMEM;
    http_buffer_init(&body, 64 * 1024);
    struct seaf_call call = {.method = HTTP_POST,
                             .url = url,
                             .body = form,
                             .body_len = strlen(form),
                             .content_type = "application/x-www-form-urlencoded",
                             .idempotent = true,
                             .capture_header = "X-Seafile-OTP",
                             .response_body = &body,
                             .extra_header = otp ? otp_line : NULL};
    err = seaf_client_call(client, &call, &response);
    memset(form, 0, sizeof(form)); /* the password */
    free(url);
    if (response.status == 400) {
        if (otp_required && response.has_captured && strcasecmp(response.captured, "required") == 0)
            *otp_required = true;
        err = SEAF_ERR_AUTH;
    }
    if (err == SEAF_OK) {
        err = seaf_json_load_object(body.data, body.len, "auth-token answer", &root, NULL);
        if (err == SEAF_OK)
            err = seaf_json_id(root, "token", false, "auth-token answer", token_out, NULL);
        json_decref(root);
    }
    http_buffer_release(&body);
    return err;
}

/* ---- account info ------------------------------------------------------------------------ */

static const struct seaf_json_string_field account_fields[] = {
    {"email", offsetof(struct seahub_account, email), true, NULL},
    {"name", offsetof(struct seahub_account, name), false, NULL},
    {"login_id", offsetof(struct seahub_account, login_id), false, NULL},
    {"contact_email", offsetof(struct seahub_account, contact_email), false, NULL},
};

seaf_err seahub_parse_account(const char *json, size_t len, struct seahub_account *out,
                              struct seaf_parse_msg *msg)
{
    static const char what[] = "account info";
    json_t *root = NULL;
    seaf_err err;

    memset(out, 0, sizeof(*out));
    err = seaf_json_load_object(json, len, what, &root, msg);
    if (err == SEAF_OK)
        err = seaf_json_copy_strings(root, out, account_fields, COUNT(account_fields), true, what,
                                     msg);
    if (err == SEAF_OK)
        err = get_int(root, "total", true, 0, what, &out->total, msg);
    if (err == SEAF_OK)
        err = get_int(root, "usage", true, 0, what, &out->usage, msg);
    if (err == SEAF_OK)
        err = get_bool(root, "is_staff", what, &out->is_staff, msg);
    if (err == SEAF_OK && out->usage < 0)
        err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: negative usage", what);
    json_decref(root);
    if (err != SEAF_OK)
        seahub_account_release(out);
    return err;
}

void seahub_account_release(struct seahub_account *account)
{
    seaf_json_free_strings(account, account_fields, COUNT(account_fields));
}

seaf_err seahub_account_info(struct seaf_client *client, struct seahub_account *out)
{
    struct http_buffer body;
    seaf_err err = seahub_get(client, "/api2/account/info/", &body);

    if (err != SEAF_OK)
        return err;
    err = seahub_parse_account(body.data, body.len, out, NULL);
    http_buffer_release(&body);
    return err;
}

/* ---- libraries --------------------------------------------------------------------------- */

#define REPO_FIELD(key, member, required)                                                          \
    {                                                                                              \
        key, offsetof(struct seahub_repo, member), required, NULL                                  \
    }
static const struct seaf_json_string_field repo_fields[] = {
    REPO_FIELD("name", name, true),
    REPO_FIELD("desc", desc, false),
    REPO_FIELD("owner", owner, true),
    REPO_FIELD("owner_name", owner_name, false),
    REPO_FIELD("owner_contact_email", owner_contact_email, false),
    REPO_FIELD("owner_nickname", owner_nickname, false),
    REPO_FIELD("modifier_email", modifier_email, false),
    REPO_FIELD("modifier_name", modifier_name, false),
    REPO_FIELD("modifier_contact_email", modifier_contact_email, false),
    REPO_FIELD("mtime_relative", mtime_relative, false),
    REPO_FIELD("size_formatted", size_formatted, false),
    REPO_FIELD("permission", permission, true),
    REPO_FIELD("root", root, false),
    REPO_FIELD("salt", salt, false),
    REPO_FIELD("magic", magic, false),
    REPO_FIELD("random_key", random_key, false),
    REPO_FIELD("share_type", share_type, false),
    REPO_FIELD("group_name", group_name, false),
    REPO_FIELD("share_from", share_from, false),
    REPO_FIELD("share_from_name", share_from_name, false),
    REPO_FIELD("share_from_contact_email", share_from_contact_email, false),
    REPO_FIELD("storage_name", storage_name, false),
    REPO_FIELD("storage_id", storage_id, false),
};

void seahub_repo_release(struct seahub_repo *repo)
{
    seaf_json_free_strings(repo, repo_fields, COUNT(repo_fields));
}

/* Parses one entry of the library list; it must carry "version" (SeaDrive's rule). */
static seaf_err parse_repo(json_t *obj, struct seahub_repo *out, struct seaf_parse_msg *msg)
{
    static const char what[] = "library";
    const char *text = NULL;
    size_t len = 0;
    int64_t number = 0;
    seaf_err err;

    memset(out, 0, sizeof(*out));
    if (!json_is_object(obj))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: not a JSON object", what);
    err = seaf_json_string(obj, "type", true, false, what, &text, &len, msg);
    if (err == SEAF_OK && strcmp(text, "repo") != 0 && strcmp(text, "srepo") != 0 &&
        strcmp(text, "grepo") != 0)
        err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: unknown type \"%.16s\"", what, text);
    if (err == SEAF_OK) {
        snprintf(out->type, sizeof(out->type), "%s", text);
        err = seaf_json_repo_id(obj, "id", what, out->id, msg);
    }
    if (err == SEAF_OK)
        err = seaf_json_id(obj, "head_commit_id", false, what, out->head_commit_id, msg);
    if (err == SEAF_OK)
        err = seaf_json_copy_strings(obj, out, repo_fields, COUNT(repo_fields), true, what, msg);
    if (err == SEAF_OK)
        err = get_int(obj, "mtime", true, 0, what, &out->mtime, msg);
    if (err == SEAF_OK)
        err = get_int(obj, "size", false, 0, what, &out->size, msg);
    if (err == SEAF_OK)
        err = get_int(obj, "groupid", false, 0, what, &out->groupid, msg);
    if (err == SEAF_OK)
        err = get_int(obj, "file_count", false, -1, what, &out->file_count, msg);
    if (err == SEAF_OK)
        err = get_int(obj, "version", true, 1, what, &number, msg);
    if (err == SEAF_OK && (number < 0 || number > 1000))
        err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: bad version", what);
    out->version = (int)number;
    if (err == SEAF_OK)
        err = get_int(obj, "enc_version", false, 0, what, &number, msg);
    if (err == SEAF_OK && (number < 0 || number > 1000))
        err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: bad enc_version", what);
    out->enc_version = (int)number;
    if (err == SEAF_OK)
        err = get_bool(obj, "encrypted", what, &out->encrypted, msg);
    if (err == SEAF_OK)
        err = get_bool(obj, "virtual", what, &out->is_virtual, msg);
    if (err == SEAF_OK)
        err = get_bool(obj, "is_admin", what, &out->is_admin, msg);
    if (err == SEAF_OK && out->size < 0)
        err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: negative size", what);
    if (err != SEAF_OK) {
        seahub_repo_release(out);
        return err;
    }
    out->read_only = strcmp(out->permission, "rw") != 0;
    return SEAF_OK;
}

/* Whether candidate should replace kept for the same library: owned wins, then writable. */
static bool better_entry(const struct seahub_repo *candidate, const struct seahub_repo *kept)
{
    if (strcmp(kept->type, "repo") == 0)
        return false;
    if (strcmp(candidate->type, "repo") == 0)
        return true;
    return kept->read_only && !candidate->read_only;
}

seaf_err seahub_parse_repo_list(const char *json, size_t len, struct seahub_repo_list *out,
                                struct seaf_parse_msg *msg)
{
    json_t *root = NULL;
    size_t index;
    json_t *item;
    seaf_err err;

    out->repos = NULL;
    out->n_repos = 0;
    err = seaf_json_load_array(json, len, "library list", &root, msg);
    if (err != SEAF_OK)
        return err;
    out->repos = calloc(json_array_size(root) + 1, sizeof(*out->repos));
    if (!out->repos) {
        json_decref(root);
        return SEAF_ERR_NOMEM;
    }
    json_array_foreach(root, index, item)
    {
        struct seahub_repo repo;
        size_t i;

        err = parse_repo(item, &repo, msg);
        if (err != SEAF_OK)
            break;
        for (i = 0; i < out->n_repos && strcmp(out->repos[i].id, repo.id) != 0; i++)
            ;
        if (i == out->n_repos) {
            out->repos[out->n_repos++] = repo;
        } else if (better_entry(&repo, &out->repos[i])) {
            seahub_repo_release(&out->repos[i]);
            out->repos[i] = repo;
        } else {
            seahub_repo_release(&repo);
        }
    }
    json_decref(root);
    if (err != SEAF_OK)
        seahub_repo_list_release(out);
    return err;
}

void seahub_repo_list_release(struct seahub_repo_list *list)
{
    for (size_t i = 0; i < list->n_repos; i++)
        seahub_repo_release(&list->repos[i]);
    free(list->repos);
    list->repos = NULL;
    list->n_repos = 0;
}

seaf_err seahub_list_repos(struct seaf_client *client, struct seahub_repo_list *out)
{
    struct http_buffer body;
    seaf_err err = seahub_get(client, "/api2/repos/", &body);

    out->repos = NULL;
    out->n_repos = 0;
    if (err != SEAF_OK)
        return err;
    err = seahub_parse_repo_list(body.data, body.len, out, NULL);
    http_buffer_release(&body);
    return err;
}

/* Builds "/api2/repos/<repo_id><suffix>" after checking the id. */
static seaf_err repo_path(const char *repo_id, const char *suffix, char *out, size_t size)
{
    if (!repo_id || !seaf_repo_id_valid(repo_id, strlen(repo_id)))
        return SEAF_ERR_INVALID_ARG;
    snprintf(out, size, "/api2/repos/%s/%s", repo_id, suffix);
    return SEAF_OK;
}

/* ---- download-info ----------------------------------------------------------------------- */

#define INFO_FIELD(key, member, required)                                                          \
    {                                                                                              \
        key, offsetof(struct seahub_download_info, member), required, NULL                         \
    }
static const struct seaf_json_string_field download_info_fields[] = {
    INFO_FIELD("repo_name", repo_name, false),
    INFO_FIELD("permission", permission, false),
    INFO_FIELD("email", email, false),
    INFO_FIELD("magic", magic, false),
    INFO_FIELD("random_key", random_key, false),
    INFO_FIELD("salt", salt, false),
    INFO_FIELD("pwd_hash", pwd_hash, false),
    INFO_FIELD("pwd_hash_algo", pwd_hash_algo, false),
    INFO_FIELD("pwd_hash_params", pwd_hash_params, false),
};

seaf_err seahub_parse_download_info(const char *json, size_t len, struct seahub_download_info *out,
                                    struct seaf_parse_msg *msg)
{
    static const char what[] = "download-info";
    json_t *root = NULL;
    json_t *encrypted;
    int64_t number = 0;
    seaf_err err;

    memset(out, 0, sizeof(*out));
    err = seaf_json_load_object(json, len, what, &root, msg);
    if (err == SEAF_OK)
        err = seaf_json_id(root, "token", false, what, out->token, msg);
    if (err == SEAF_OK)
        err = seaf_json_repo_id(root, "repo_id", what, out->repo_id, msg);
    if (err == SEAF_OK)
        err = seaf_json_id(root, "head_commit_id", true, what, out->head_commit_id, msg);
    if (err == SEAF_OK)
        err = seaf_json_copy_strings(root, out, download_info_fields, COUNT(download_info_fields),
                                     true, what, msg);
    if (err == SEAF_OK)
        err = get_int(root, "repo_version", true, 0, what, &number, msg);
    out->repo_version = (int)number;
    if (err == SEAF_OK)
        err = get_int(root, "enc_version", false, 0, what, &number, msg);
    out->enc_version = (int)number;
    if (err == SEAF_OK && (out->enc_version < 0 || out->enc_version > 1000 ||
                           out->repo_version < 0 || out->repo_version > 1000))
        err = seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: bad version numbers", what);
    if (err == SEAF_OK) {
        /* The integer 1 when encrypted, "" otherwise (a Seahub quirk); accept booleans too. */
        encrypted = json_object_get(root, "encrypted");
        out->encrypted = (json_is_integer(encrypted) && json_integer_value(encrypted) != 0) ||
                         json_is_true(encrypted) ||
                         (json_is_string(encrypted) && json_string_length(encrypted) > 0 &&
                          strcmp(json_string_value(encrypted), "false") != 0);
    }
    json_decref(root);
    if (err != SEAF_OK)
        seahub_download_info_release(out);
    return err;
}

void seahub_download_info_release(struct seahub_download_info *info)
{
    seaf_json_free_strings(info, download_info_fields, COUNT(download_info_fields));
}

seaf_err seahub_download_info(struct seaf_client *client, const char *repo_id,
                              struct seahub_download_info *out)
{
    char path[128];
    struct http_buffer body;
    seaf_err err = repo_path(repo_id, "download-info/", path, sizeof(path));

    memset(out, 0, sizeof(*out));
    if (err == SEAF_OK)
        err = seahub_get(client, path, &body);
    if (err != SEAF_OK)
        return err;
    err = seahub_parse_download_info(body.data, body.len, out, NULL);
    if (err == SEAF_OK && strcmp(out->repo_id, repo_id) != 0) {
        seahub_download_info_release(out);
        err = SEAF_ERR_PROTOCOL;
    }
    http_buffer_release(&body);
    return err;
}

/* ---- library info (§2.5): the root folder of the head -------------------------------------- */

seaf_err seahub_parse_repo_root(const char *json, size_t len, const char *repo_id,
                                char head_out[SEAF_ID_LEN + 1], char root_out[SEAF_ID_LEN + 1])
{
    static const char what[] = "library info";
    char id[SEAF_REPO_ID_LEN + 1];
    json_t *root = NULL;
    seaf_err err = seaf_json_load_object(json, len, what, &root, NULL);

    if (err == SEAF_OK)
        err = seaf_json_repo_id(root, "id", what, id, NULL);
    if (err == SEAF_OK)
        err = seaf_json_id(root, "head_commit_id", false, what, head_out, NULL);
    if (err == SEAF_OK)
        err = seaf_json_id(root, "root", false, what, root_out, NULL);
    if (err == SEAF_OK && strcmp(id, repo_id) != 0)
        err = SEAF_ERR_PROTOCOL;
    json_decref(root);
    return err;
}

seaf_err seahub_repo_root(struct seaf_client *client, const char *repo_id,
                          char head_out[SEAF_ID_LEN + 1], char root_out[SEAF_ID_LEN + 1])
{
    char path[128];
    struct http_buffer body;
    seaf_err err = repo_path(repo_id, "", path, sizeof(path));

    if (err == SEAF_OK)
        err = seahub_get(client, path, &body);
    if (err != SEAF_OK)
        return err;
    err = seahub_parse_repo_root(body.data, body.len, repo_id, head_out, root_out);
    http_buffer_release(&body);
    return err;
}

/* ---- download link (§2.9) ---------------------------------------------------------------- */

seaf_err seahub_parse_file_link(const char *json, size_t len, char **url)
{
    json_t *value = json_loadb(json, len, JSON_DECODE_ANY, NULL);
    const char *text = json_is_string(value) ? json_string_value(value) : NULL;
    seaf_err err = SEAF_ERR_MALFORMED;

    *url = NULL;
    if (text && (strncmp(text, "http://", 7) == 0 || strncmp(text, "https://", 8) == 0) &&
        !strpbrk(text, " \r\n")) {
        *url = strdup(text);
        err = *url ? SEAF_OK : SEAF_ERR_NOMEM;
    }
    json_decref(value);
    return err;
}

seaf_err seahub_file_link(struct seaf_client *client, const char *repo_id, const char *path,
                          bool reuse, char **url, char file_id[SEAF_ID_LEN + 1])
{
    static const char *const captured[] = {"oid", NULL};
    size_t encoded_size = strlen(path) * 3 + 1;
    char *encoded = malloc(encoded_size);
    char prefix[128];
    char *query = NULL, *full = NULL;
    struct http_buffer body;
    struct http_response response;
    seaf_err err = repo_path(repo_id, "file/?p=", prefix, sizeof(prefix));

    *url = NULL;
    file_id[0] = '\0';
    if (err == SEAF_OK && (!encoded || !seaf_percent_encode(path, encoded, encoded_size)))
        err = SEAF_ERR_NOMEM;
    if (err == SEAF_OK && (query = malloc(strlen(prefix) + strlen(encoded) + 16)) == NULL)
        err = SEAF_ERR_NOMEM;
    if (err == SEAF_OK) {
        sprintf(query, "%s%s%s", prefix, encoded, reuse ? "&reuse=1" : "");
        full = seaf_client_seahub_url(client, query);
        if (!full)
            err = SEAF_ERR_NOMEM;
    }
    http_buffer_init(&body, 64 * 1024);
    if (err == SEAF_OK) {
        /* Not retried: its caller reads whole blocks instead, sooner than the retries' backoff
         * would end (Seahub answers 520 when a folder on the path is missing, every time). */
        struct seaf_call call = {.method = HTTP_GET,
                                 .url = full,
                                 .auth = SEAF_AUTH_API,
                                 .idempotent = false,
                                 .capture_headers = captured,
                                 .response_body = &body};
        err = seaf_client_call(client, &call, &response);
    }
    if (err == SEAF_OK)
        err = seahub_parse_file_link(body.data ? body.data : "", body.len, url);
    /* The link carries an access token: never over plain http when the server is https. */
    if (err == SEAF_OK && strncmp(seaf_client_options(client)->server_url, "https://", 8) == 0 &&
        strncmp(*url, "https://", 8) != 0) {
        free(*url);
        *url = NULL;
        err = SEAF_ERR_PROTOCOL;
    }
    if (err == SEAF_OK && response.has_capture[0]) {
        if (!seaf_id_valid(response.captures[0], strlen(response.captures[0]))) {
            free(*url);
            *url = NULL;
            err = SEAF_ERR_MALFORMED;
        } else {
            memcpy(file_id, response.captures[0], SEAF_ID_LEN + 1);
        }
    }
    http_buffer_release(&body);
    free(full);
    free(query);
    free(encoded);
    return err;
}
