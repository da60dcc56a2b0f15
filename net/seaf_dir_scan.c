/* seaf_dir_scan: a single pass over the text with a cursor; every deviation from the plain form
 * ends the scan with false (the general parser then reads the document). */
#include "seaf_dir_scan.h"

#include <stdlib.h>
#include <string.h>

struct cursor {
    const char *p;
    const char *end;
};

static void skip_space(struct cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Consumes ch (after white space) when it comes next. */
static bool take(struct cursor *c, char ch)
{
    skip_space(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A string without escapes and control bytes: the bytes between its quotes. */
static bool scan_string(struct cursor *c, const char **out, size_t *len)
{
    if (!take(c, '"'))
        return false;
    const char *start = c->p;
    for (; c->p < c->end; c->p++) {
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            *out = start;
            *len = (size_t)(c->p - start);
            c->p++;
            return true;
        }
        if (ch == '\\' || ch < 0x20)
            return false;
    }
    return false;
}

static bool is_digit(const struct cursor *c)
{
    return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

/* A JSON integer within int64_t (what jansson reads as an integer); no fraction or exponent. */
static bool scan_int(struct cursor *c, int64_t *out)
{
    skip_space(c);
    bool negative = c->p < c->end && *c->p == '-';
    if (negative)
        c->p++;
    if (!is_digit(c))
        return false;
    if (*c->p == '0' && c->p + 1 < c->end && c->p[1] >= '0' && c->p[1] <= '9')
        return false; /* a leading zero: not JSON */
    uint64_t limit = negative ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t value = 0;
    for (; is_digit(c); c->p++) {
        uint64_t digit = (uint64_t)(*c->p - '0');
        if (value > (limit - digit) / 10)
            return false;
        value = value * 10 + digit;
    }
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E'))
        return false;
    *out = negative ? (int64_t)(0 - value) : (int64_t)value;
    return true;
}

/* The SEAF_SCAN_* bit of an entry member's name, 0 for any other name. */
static unsigned member_bit(const char *key, size_t len)
{
    static const struct {
        const char *name;
        unsigned bit;
    } members[] = {{"id", SEAF_SCAN_ID},       {"mode", SEAF_SCAN_MODE},
                   {"mtime", SEAF_SCAN_MTIME}, {"name", SEAF_SCAN_NAME},
                   {"size", SEAF_SCAN_SIZE},   {"modifier", SEAF_SCAN_MODIFIER}};
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        if (strlen(members[i].name) == len && memcmp(members[i].name, key, len) == 0)
            return members[i].bit;
    return 0;
}

static bool scan_member(struct cursor *c, unsigned bit, struct seaf_scan_dirent *e)
{
    switch (bit) {
    case SEAF_SCAN_ID:
        return scan_string(c, &e->id, &e->id_len);
    case SEAF_SCAN_NAME:
        return scan_string(c, &e->name, &e->name_len);
    case SEAF_SCAN_MODIFIER:
        return scan_string(c, &e->modifier, &e->modifier_len);
    case SEAF_SCAN_MODE:
        return scan_int(c, &e->mode);
    case SEAF_SCAN_MTIME:
        return scan_int(c, &e->mtime);
    default:
        return scan_int(c, &e->size);
    }
}

static bool scan_entry(struct cursor *c, struct seaf_scan_dirent *e)
{
    memset(e, 0, sizeof(*e));
    if (!take(c, '{'))
        return false;
    if (take(c, '}'))
        return true;
    do {
        const char *key;
        size_t key_len;
        if (!scan_string(c, &key, &key_len) || !take(c, ':'))
            return false;
        unsigned bit = member_bit(key, key_len);
        if (bit == 0 || (e->present & bit) != 0)
            return false;
        e->present |= bit;
        if (!scan_member(c, bit, e))
            return false;
    } while (take(c, ','));
    return take(c, '}');
}

struct entry_list {
    struct seaf_scan_dirent *items;
    size_t n;
    size_t cap;
};

static bool scan_entries(struct cursor *c, struct entry_list *list)
{
    if (!take(c, '['))
        return false;
    if (take(c, ']'))
        return true;
    do {
        if (list->n == list->cap) {
            size_t cap = list->cap ? list->cap * 2 : 64;
            struct seaf_scan_dirent *grown = realloc(list->items, cap * sizeof(*grown));
            if (grown == NULL)
                return false;
            list->items = grown;
            list->cap = cap;
        }
        if (!scan_entry(c, &list->items[list->n++]))
            return false;
    } while (take(c, ','));
    return take(c, ']');
}

bool seaf_dir_scan(const char *json, size_t len, struct seaf_scan_dirent **entries, size_t *n)
{
    *entries = NULL;
    *n = 0;
    if (json == NULL)
        return false;
    struct cursor c = {json, json + len};
    struct entry_list list = {0};
    enum { DIRENTS = 1, TYPE = 2, VERSION = 4 };
    unsigned seen = 0;
    int64_t type = 0;
    int64_t version = 0;
    bool ok = take(&c, '{');
    while (ok) {
        const char *key;
        size_t key_len;
        ok = scan_string(&c, &key, &key_len) && take(&c, ':');
        unsigned bit = !ok                                              ? 0
                       : key_len == 7 && memcmp(key, "dirents", 7) == 0 ? DIRENTS
                       : key_len == 4 && memcmp(key, "type", 4) == 0    ? TYPE
                       : key_len == 7 && memcmp(key, "version", 7) == 0 ? VERSION
                                                                        : 0;
        ok = bit != 0 && (seen & bit) == 0;
        seen |= bit;
        if (ok)
            ok = bit == DIRENTS ? scan_entries(&c, &list)
                                : scan_int(&c, bit == TYPE ? &type : &version);
        if (!ok || !take(&c, ','))
            break;
    }
    ok = ok && take(&c, '}');
    skip_space(&c);
    ok = ok && c.p == c.end && seen == (DIRENTS | TYPE | VERSION) && type == 3 && version == 1;
    if (!ok) {
        free(list.items);
        return false;
    }
    *entries = list.items;
    *n = list.n;
    return true;
}
