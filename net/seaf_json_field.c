/* seaf_json_field: strict, type-checked access to members of Seafile JSON objects, with a
 * readable reason on failure. */
#include "seaf_json_field.h"

#include <stdlib.h>
#include <string.h>

/* Parses len bytes of JSON text whose top level must be of type (kind names it in messages). */
static seaf_err load_document(const char *text, size_t len, const char *what, json_type type,
                              const char *kind, json_t **out, struct seaf_parse_msg *msg)
{
    json_error_t error;
    json_t *root = json_loadb(text != NULL ? text : "", text != NULL ? len : 0,
                              JSON_REJECT_DUPLICATES, &error);
    *out = NULL;
    if (root == NULL)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: bad JSON at byte %d: %s", what,
                               error.position, error.text);
    if (json_typeof(root) != type) {
        json_decref(root);
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: JSON is not %s", what, kind);
    }
    *out = root;
    return SEAF_OK;
}

seaf_err seaf_json_load_object(const char *text, size_t len, const char *what, json_t **out,
                               struct seaf_parse_msg *msg)
{
    return load_document(text, len, what, JSON_OBJECT, "an object", out, msg);
}

seaf_err seaf_json_load_array(const char *text, size_t len, const char *what, json_t **out,
                              struct seaf_parse_msg *msg)
{
    return load_document(text, len, what, JSON_ARRAY, "an array", out, msg);
}

seaf_err seaf_json_string(json_t *obj, const char *key, bool required, bool null_ok,
                          const char *what, const char **out, size_t *len,
                          struct seaf_parse_msg *msg)
{
    json_t *value = json_object_get(obj, key);
    *out = NULL;
    if (len != NULL)
        *len = 0;
    if (value == NULL || (null_ok && json_is_null(value))) {
        if (required && value == NULL)
            return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: \"%s\" is missing", what, key);
        return SEAF_OK;
    }
    if (!json_is_string(value))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: \"%s\" is not a string", what, key);
    const char *text = json_string_value(value);
    size_t text_len = json_string_length(value);
    if (memchr(text, '\0', text_len) != NULL)
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: \"%s\" contains a NUL byte", what,
                               key);
    *out = text;
    if (len != NULL)
        *len = text_len;
    return SEAF_OK;
}

seaf_err seaf_json_int(json_t *obj, const char *key, bool required, const char *what,
                       json_int_t *out, bool *present, struct seaf_parse_msg *msg)
{
    json_t *value = json_object_get(obj, key);
    if (present != NULL)
        *present = value != NULL;
    if (value == NULL) {
        if (required)
            return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: \"%s\" is missing", what, key);
        return SEAF_OK;
    }
    if (!json_is_integer(value))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: \"%s\" is not an integer", what, key);
    *out = json_integer_value(value);
    return SEAF_OK;
}

seaf_err seaf_json_id(json_t *obj, const char *key, bool null_ok, const char *what,
                      char out[SEAF_ID_LEN + 1], struct seaf_parse_msg *msg)
{
    const char *text;
    size_t len;
    seaf_err err = seaf_json_string(obj, key, !null_ok, null_ok, what, &text, &len, msg);
    if (err != SEAF_OK)
        return err;
    out[0] = '\0';
    if (text == NULL)
        return SEAF_OK;
    if (!seaf_id_valid(text, len))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: \"%s\" is not 40 lowercase hex digits",
                               what, key);
    memcpy(out, text, SEAF_ID_LEN + 1);
    return SEAF_OK;
}

seaf_err seaf_json_repo_id(json_t *obj, const char *key, const char *what,
                           char out[SEAF_REPO_ID_LEN + 1], struct seaf_parse_msg *msg)
{
    const char *text;
    size_t len;
    seaf_err err = seaf_json_string(obj, key, true, false, what, &text, &len, msg);
    if (err != SEAF_OK)
        return err;
    if (!seaf_repo_id_valid(text, len))
        return seaf_parse_fail(msg, SEAF_ERR_MALFORMED, "%s: \"%s\" is not a repo id (UUID)", what,
                               key);
    memcpy(out, text, SEAF_REPO_ID_LEN + 1);
    return SEAF_OK;
}

seaf_err seaf_json_copy_strings(json_t *obj, void *base,
                                const struct seaf_json_string_field *fields, size_t n_fields,
                                bool required_may_be_null, const char *what,
                                struct seaf_parse_msg *msg)
{
    for (size_t i = 0; i < n_fields; i++) {
        const struct seaf_json_string_field *field = &fields[i];
        char **slot = (char **)((char *)base + field->offset);
        const char *text;
        size_t len;
        seaf_err err =
            seaf_json_string(obj, field->key, field->required,
                             required_may_be_null || !field->required, what, &text, &len, msg);
        if (err != SEAF_OK)
            return err;
        if (text == NULL && field->fallback != NULL) {
            text = field->fallback;
            len = strlen(text);
        }
        if (text != NULL && (*slot = strndup(text, len)) == NULL)
            return SEAF_ERR_NOMEM;
    }
    return SEAF_OK;
}

void seaf_json_free_strings(void *base, const struct seaf_json_string_field *fields,
                            size_t n_fields)
{
    for (size_t i = 0; i < n_fields; i++) {
        char **slot = (char **)((char *)base + fields[i].offset);
        free(*slot);
        *slot = NULL;
    }
}
