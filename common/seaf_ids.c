/* seaf_ids: validation of the identifiers Seafile uses (object ids, repo ids), the hex form they
 * and other binary values (keys, salts) are written in, and de-duplication of id lists. */
#include "seaf_ids.h"

#include <stdlib.h>
#include <string.h>

static bool is_lower_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool seaf_lower_hex_valid(const char *s, size_t len)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_lower_hex(s[i]))
            return false;
    return true;
}

bool seaf_id_valid(const char *s, size_t len)
{
    return len == SEAF_ID_LEN && seaf_lower_hex_valid(s, len);
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
    seaf_hex_encode(digest, 20, out);
}

void seaf_hex_encode(const unsigned char *in, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[in[i] >> 4];
        out[2 * i + 1] = hex[in[i] & 0x0f];
    }
    out[2 * len] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool seaf_hex_decode(const char *hex, size_t hex_len, unsigned char *out, size_t len)
{
    if (!hex || hex_len != 2 * len)
        return false;
    for (size_t i = 0; i < len; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

struct id_position {
    const char *id;
    size_t index;
};

static int compare_by_id_then_index(const void *a, const void *b)
{
    const struct id_position *pa = a;
    const struct id_position *pb = b;
    int c = strcmp(pa->id, pb->id);

    return c != 0 ? c : (pa->index > pb->index) - (pa->index < pb->index);
}

seaf_err seaf_ids_remove_duplicates(char (*ids)[SEAF_ID_LEN + 1], size_t *n)
{
    struct id_position *order = malloc((*n + 1) * sizeof(*order));
    bool *repeated = calloc(*n + 1, sizeof(*repeated));
    size_t kept = 0;

    if (!order || !repeated) {
        free(order);
        free(repeated);
        return SEAF_ERR_NOMEM;
    }
    for (size_t i = 0; i < *n; i++)
        order[i] = (struct id_position){.id = ids[i], .index = i};
    qsort(order, *n, sizeof(*order), compare_by_id_then_index);
    for (size_t i = 1; i < *n; i++) {
        if (strcmp(order[i].id, order[i - 1].id) == 0)
            repeated[order[i].index] = true;
    }
    for (size_t i = 0; i < *n; i++) {
        if (!repeated[i])
            memmove(ids[kept++], ids[i], SEAF_ID_LEN + 1);
    }
    *n = kept;
    free(order);
    free(repeated);
    return SEAF_OK;
}
