/* vectors_util: file, HTTP-capture and fs-object helpers for the object-parser tests. */
#include "vectors_util.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "seaf_sha1.h"

const char *vectors_path(const char *name)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/%s", SEAFS_VECTORS_DIR, name);
    return path;
}

unsigned char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    unsigned char *buf = NULL;
    size_t used = 0;
    size_t cap = 0;
    for (;;) {
        if (used + 4096 + 1 > cap) {
            cap = (cap + 4096 + 1) * 2;
            unsigned char *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t n = fread(buf + used, 1, 4096, f);
        used += n;
        if (n < 4096)
            break;
    }
    fclose(f);
    buf[used] = '\0';
    *len = used;
    return buf;
}

bool load_captured_http(const char *name, struct captured_http *out)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "http/%s", name);
    size_t len;
    unsigned char *raw = read_whole_file(vectors_path(rel), &len);
    if (raw == NULL)
        return false;
    const unsigned char *end = NULL;
    for (size_t i = 0; i + 4 <= len; i++) {
        if (memcmp(raw + i, "\r\n\r\n", 4) == 0) {
            end = raw + i + 4;
            break;
        }
    }
    if (end == NULL || sscanf((const char *)raw, "HTTP/1.1 %d", &out->status) != 1) {
        free(raw);
        return false;
    }
    out->raw = raw;
    out->body = end;
    out->body_len = len - (size_t)(end - raw);
    return true;
}

const char *stored_object_path(const char *kind, const char *repo_id, const char *id)
{
    static char path[4096];
    snprintf(path, sizeof(path), "%s/storage/%s/%s/%.2s/%s", SEAFS_VECTORS_DIR, kind, repo_id, id,
             id + 2);
    return path;
}

/* Names of the entries of a directory (not "." or ".."), in readdir order; NULL-terminated. */
static char **list_dir(const char *path)
{
    DIR *dir = opendir(path);
    if (dir == NULL)
        return NULL;
    size_t n = 0;
    char **names = calloc(1, sizeof(*names));
    struct dirent *entry;
    while (names != NULL && (entry = readdir(dir)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        char **grown = realloc(names, (n + 2) * sizeof(*names));
        if (grown == NULL)
            break;
        names = grown;
        names[n++] = strdup(entry->d_name);
        names[n] = NULL;
    }
    closedir(dir);
    return names;
}

static void free_list(char **names)
{
    for (size_t i = 0; names != NULL && names[i] != NULL; i++)
        free(names[i]);
    free(names);
}

size_t for_each_stored_object(const char *kind,
                              void (*fn)(const char *repo_id, const char *id, const char *path,
                                         void *ctx),
                              void *ctx)
{
    char base[4096];
    snprintf(base, sizeof(base), "%s/storage/%s", SEAFS_VECTORS_DIR, kind);
    size_t visited = 0;
    char **repos = list_dir(base);
    for (size_t r = 0; repos != NULL && repos[r] != NULL; r++) {
        char repo_dir[4096 + 64];
        snprintf(repo_dir, sizeof(repo_dir), "%s/%s", base, repos[r]);
        char **prefixes = list_dir(repo_dir);
        for (size_t p = 0; prefixes != NULL && prefixes[p] != NULL; p++) {
            char prefix_dir[4096 + 128];
            snprintf(prefix_dir, sizeof(prefix_dir), "%s/%s", repo_dir, prefixes[p]);
            char **rests = list_dir(prefix_dir);
            for (size_t i = 0; rests != NULL && rests[i] != NULL; i++) {
                char id[SEAF_ID_LEN + 8];
                char path[4096 + 256];
                snprintf(id, sizeof(id), "%s%s", prefixes[p], rests[i]);
                snprintf(path, sizeof(path), "%s/%s", prefix_dir, rests[i]);
                fn(repos[r], id, path, ctx);
                visited++;
            }
            free_list(rests);
        }
        free_list(prefixes);
    }
    free_list(repos);
    return visited;
}

char *inflate_stored(const unsigned char *stored, size_t len)
{
    size_t cap = 1 << 20;
    while (cap <= 64u << 20) {
        char *out = malloc(cap);
        uLongf out_len = cap - 1;
        if (out == NULL)
            return NULL;
        int rc = uncompress((Bytef *)out, &out_len, stored, len);
        if (rc == Z_OK) {
            out[out_len] = '\0';
            return out;
        }
        free(out);
        if (rc != Z_BUF_ERROR)
            return NULL;
        cap *= 4;
    }
    return NULL;
}

unsigned char *deflate_with_id(const char *json, size_t *len, char id_out[SEAF_ID_LEN + 1])
{
    size_t json_len = strlen(json);
    uLongf out_len = compressBound(json_len);
    unsigned char *out = malloc(out_len);
    if (out == NULL || compress2(out, &out_len, (const Bytef *)json, json_len, 6) != Z_OK ||
        seaf_sha1_id(json, json_len, id_out) != SEAF_OK) {
        free(out);
        return NULL;
    }
    *len = out_len;
    return out;
}

char *replace_once(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    if (at == NULL)
        return NULL;
    size_t before = (size_t)(at - text);
    size_t from_len = strlen(from);
    size_t to_len = strlen(to);
    size_t after = strlen(at + from_len);
    char *out = malloc(before + to_len + after + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, text, before);
    memcpy(out + before, to, to_len);
    memcpy(out + before + to_len, at + from_len, after + 1);
    return out;
}
