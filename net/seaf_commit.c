/* seaf_commit: parsing and validation of Seafile commit objects (protocol doc §4.1), and the
 * commit id derivation.
 *
 * Commits come from either server implementation, so the parser is generic about key order,
 * spacing and optional members (C omits "encrypted" for plain libraries, Go writes "false";
 * "repo_category" is null or ""), but strict about what it relies on: ids, types, the repo
 * version and, for encrypted libraries, the lengths of the password check value, key and salt
 * (the rules the C server applies on upload). */
#include "seaf_commit.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_json_field.h"
#include "seaf_sha1.h"

static const char what[] = "commit";

#define TEXT(key, member, required, fallback)                                                      \
    {                                                                                              \
        key, offsetof(struct seaf_commit, member), required, fallback                              \
    }
/* The descriptive strings, in the order they are checked. */
static const struct seaf_json_string_field text_fields[] = {
    TEXT("creator_name", creator_name, false, NULL),
    TEXT("description", description, true, NULL),
    TEXT("repo_name", repo_name, true, NULL),
    TEXT("repo_desc", repo_desc, false, ""),
    TEXT("device_name", device_name, false, NULL),
    TEXT("client_version", client_version, false, NULL),
};
/* The encryption strings (checked against enc_version afterwards). */
static const struct seaf_json_string_field encryption_fields[] = {
    TEXT("magic", magic, false, NULL),
    TEXT("key", key, false, NULL),
    TEXT("salt", salt, false, NULL),
    TEXT("pwd_hash", pwd_hash, false, NULL),
    TEXT("pwd_hash_algo", pwd_hash_algo, false, NULL),
    TEXT("pwd_hash_params", pwd_hash_params, false, NULL),
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static seaf_err check_version(json_t *root, struct seaf_commit *commit, struct seaf_parse_msg *msg)
{
    json_int_t version = 0;
    seaf_err err = seaf_json_int(root, "version", false, what, &version, NULL, msg);
    if (err != SEAF_OK)
        return err;
    if (version == 0)
        return seaf_parse_fail(msg, SEAF_ERR_UNSUPPORTED,
                               "commit: repo version 0 (legacy library created before Seafile "
                               "3.0) is not supported; only version 1 is");
    if (version != 1)
        return seaf_parse_fail(msg, version < 0 ? SEAF_ERR_MALFORMED : SEAF_ERR_UNSUPPORTED,
                               "commit: repo version %lld is not supported; only version 1 is",
                               (long long)version);
    commit->version = 1;
    return SEAF_OK;
}

static seaf_err parse_ids(json_t *root, struct seaf_commit *commit, struct seaf_parse_msg *msg)
{
    seaf_err err = seaf_json_id(root, "commit_id", false, what, commit->commit_id, msg);
    if (err == SEAF_OK)
        err = seaf_json_id(root, "root_id", false, what, commit->root_id, msg);
    if (err == SEAF_OK)
        err = seaf_json_id(root, "parent_id", true, what, commit->parent_id, msg);
    if (err == SEAF_OK)
        err = seaf_json_id(root, "second_parent_id", true, what, commit->second_parent_id, msg);
    if (err != SEAF_OK)
        return err;

    err = seaf_json_repo_id(root, "repo_id", what, commit->repo_id, msg);
    if (err != SEAF_OK)
        return err;

    const char *text;
    size_t len;
    err = seaf_json_string(root, "creator", true, false, what, &text, &len, msg);
    if (err != SEAF_OK)
        return err;
    if (len != SEAF_ID_LEN)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "commit: \"creator\" is not 40 characters long");
    memcpy(commit->creator, text, SEAF_ID_LEN + 1);
    return SEAF_OK;
}

/* The integer flags, read as the C code reads them: a non-zero integer is set, anything else
 * (absent, 0, or a type no server writes) is not. Lenient on purpose: the flags mean nothing to a
 * client, so an odd one must not make a commit unreadable. */
static bool int_flag(json_t *root, const char *key)
{
    json_t *value = json_object_get(root, key);

    return json_is_integer(value) && json_integer_value(value) != 0;
}

static void parse_flags(json_t *root, struct seaf_commit *commit)
{
    commit->no_local_history = int_flag(root, "no_local_history");
    commit->conflict = int_flag(root, "conflict");
    commit->new_merge = int_flag(root, "new_merge");
    commit->repaired = int_flag(root, "repaired");
}

static seaf_err parse_texts(json_t *root, struct seaf_commit *commit, struct seaf_parse_msg *msg)
{
    json_int_t ctime = 0;
    seaf_err err = seaf_json_int(root, "ctime", true, what, &ctime, NULL, msg);
    commit->ctime = ctime;
    if (err == SEAF_OK)
        err =
            seaf_json_copy_strings(root, commit, text_fields, COUNT(text_fields), false, what, msg);
    if (err != SEAF_OK)
        return err;
    parse_flags(root, commit);
    /* Unused by clients, but a wrong type means the document is not a commit. */
    json_t *category = json_object_get(root, "repo_category");
    if (category != NULL && !json_is_null(category) && !json_is_string(category))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "commit: \"repo_category\" is neither null nor a string");
    return SEAF_OK;
}

/* Checks that hex member value (may be NULL = absent) has the length enc_version requires. */
static seaf_err check_hex_length(const char *key, const char *value, size_t want, int enc_version,
                                 struct seaf_parse_msg *msg)
{
    if (value == NULL)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "commit: encrypted (enc_version %d) but \"%s\" is missing",
                               enc_version, key);
    size_t len = strlen(value);
    if (len != want || !seaf_lower_hex_valid(value, len))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "commit: \"%s\" must be %zu lowercase hex digits for enc_version %d",
                               key, want, enc_version);
    return SEAF_OK;
}

static seaf_err parse_encryption(json_t *root, struct seaf_commit *commit,
                                 struct seaf_parse_msg *msg)
{
    const char *flag;
    seaf_err err = seaf_json_string(root, "encrypted", false, false, what, &flag, NULL, msg);
    if (err != SEAF_OK)
        return err;
    if (flag != NULL && strcmp(flag, "true") != 0 && strcmp(flag, "false") != 0)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED,
                               "commit: \"encrypted\" is neither \"true\" nor \"false\"");
    commit->encrypted = flag != NULL && strcmp(flag, "true") == 0;

    json_int_t enc_version = 0;
    err = seaf_json_int(root, "enc_version", commit->encrypted, what, &enc_version, NULL, msg);
    if (err == SEAF_OK)
        err = seaf_json_copy_strings(root, commit, encryption_fields, COUNT(encryption_fields),
                                     false, what, msg);
    if (err != SEAF_OK || !commit->encrypted)
        return err;

    if (enc_version < 1)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "commit: enc_version %lld is invalid",
                               (long long)enc_version);
    if (enc_version > 4)
        return seaf_parse_fail(msg, SEAF_ERR_UNSUPPORTED,
                               "commit: enc_version %lld is not supported (1 to 4 are)",
                               (long long)enc_version);
    commit->enc_version = (int)enc_version;
    int v = commit->enc_version;
    /* The password check value is magic, or pwd_hash in libraries created with password
     * hashing; both have the magic's length. */
    const char *check_key =
        commit->magic != NULL || commit->pwd_hash == NULL ? "magic" : "pwd_hash";
    const char *check = commit->magic != NULL ? commit->magic : commit->pwd_hash;
    err = check_hex_length(check_key, check, v == 1 ? 32 : 64, v, msg);
    if (err == SEAF_OK && v >= 2)
        err = check_hex_length("key", commit->key, 96, v, msg);
    if (err == SEAF_OK && v >= 3)
        err = check_hex_length("salt", commit->salt, 64, v, msg);
    return err;
}

seaf_err seaf_commit_parse(const char *json, size_t len, struct seaf_commit **out,
                           struct seaf_parse_msg *msg)
{
    if (json == NULL || out == NULL)
        return SEAF_ERR_INVALID_ARG;
    *out = NULL;
    if (len > SEAF_COMMIT_MAX_SIZE)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "commit: %zu bytes is too large (max %d)",
                               len, SEAF_COMMIT_MAX_SIZE);
    json_t *root;
    seaf_err err = seaf_json_load_object(json, len, what, &root, msg);
    if (err != SEAF_OK)
        return err;
    struct seaf_commit *commit = calloc(1, sizeof(*commit));
    if (commit == NULL) {
        json_decref(root);
        return SEAF_ERR_NOMEM;
    }
    err = check_version(root, commit, msg);
    if (err == SEAF_OK)
        err = parse_ids(root, commit, msg);
    if (err == SEAF_OK)
        err = parse_texts(root, commit, msg);
    if (err == SEAF_OK)
        err = parse_encryption(root, commit, msg);
    json_decref(root);
    if (err != SEAF_OK) {
        seaf_commit_free(commit);
        return err;
    }
    *out = commit;
    return SEAF_OK;
}

void seaf_commit_free(struct seaf_commit *commit)
{
    if (commit == NULL)
        return;
    seaf_json_free_strings(commit, text_fields, COUNT(text_fields));
    seaf_json_free_strings(commit, encryption_fields, COUNT(encryption_fields));
    free(commit);
}

seaf_err seaf_commit_compute_id(const struct seaf_commit *commit, enum seaf_commit_id_style style,
                                char id_out[SEAF_ID_LEN + 1])
{
    if (commit == NULL || commit->description == NULL)
        return SEAF_ERR_INVALID_ARG;
    const char *parts[4] = {commit->root_id, commit->creator, commit->creator_name,
                            commit->description};
    size_t terminator = style == SEAF_COMMIT_ID_C ? 1 : 0;
    struct seaf_sha1 *sha1 = NULL;
    seaf_err err = seaf_sha1_new(&sha1);
    for (size_t i = 0; i < 4 && err == SEAF_OK; i++)
        if (parts[i] != NULL)
            err = seaf_sha1_update(sha1, parts[i], strlen(parts[i]) + terminator);
    unsigned char ctime_be[8];
    uint64_t ctime = (uint64_t)commit->ctime;
    for (int i = 0; i < 8; i++)
        ctime_be[i] = (unsigned char)(ctime >> (56 - 8 * i));
    if (err == SEAF_OK)
        err = seaf_sha1_update(sha1, ctime_be, sizeof(ctime_be));
    if (err == SEAF_OK)
        err = seaf_sha1_final(sha1, id_out);
    seaf_sha1_free(sha1);
    return err;
}
