/* seaf_ids: validation of the identifiers Seafile uses (object ids, repo ids). */
#include "seaf_ids.h"

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool seaf_id_valid(const char *s, size_t len)
{
    if (s == NULL || len != SEAF_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_lower_hex(s[i]))
            return false;
    return true;
}

bool seaf_repo_id_valid(const char *s, size_t len)
{
    if (s == NULL || len != SEAF_REPO_ID_LEN)
        return false;
    for (size_t i = 0; i < len; i++) {
        bool dash_position = (i == 8 || i == 13 || i == 18 || i == 23);
        if (dash_position ? s[i] != '-' : !is_lower_hex(s[i]))
            return false;
    }
    return true;
}

void seaf_id_from_digest(const unsigned char digest[20], char out[SEAF_ID_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 20; i++) {
        out[2 * i] = hex[digest[i] >> 4];
        out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
    out[SEAF_ID_LEN] = '\0';
}
