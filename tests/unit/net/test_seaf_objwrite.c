/* Tests of seaf_objwrite: the doc §4.6 vectors; every fs object of the real-server vectors
 * (storage/ and the fs objects inside the recv-fs bodies of the client trace and the merge
 * captures) and every commit (storage/, commit files, captured PUT and GET bodies) written back
 * byte for byte with the same id; commits rebuilt with seaf_commit_new_child from their parent
 * equal to what the official client and the merge uploader sent; escaping checked against
 * jansson itself on generated names; and the refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seaf_commit.h"
#include "seaf_fsobj.h"
#include "seaf_objwrite.h"
#include "seaf_sha1.h"
#include "vectors_util.h"

#define HELLO_BLOCK "22596363b3de40b06f981fb85d82312e8c0ed511"
#define HELLO_FILE  "a2223a08dae418d78cd1070b674325969cfbef75"
#define DOC_DIR     "f62960f33df86f9795cc6c661f0f235402f880b9"
#define DOC_COMMIT  "fe8b09fa039ee681bc6a9b0d69a2c9ec0bfc75fb"
#define DEVICE      "a73784e61783c1cabb5b1ced9fb6406767044640"

static const char hello_json[] =
    "{\"block_ids\": [\"" HELLO_BLOCK "\"], \"size\": 12, \"type\": 1, \"version\": 1}";
static const char doc_dir_json[] =
    "{\"dirents\": [{\"id\": \"" HELLO_FILE "\", \"mode\": 33188, \"modifier\": "
    "\"alice@example.com\", \"mtime\": 1700000000, \"name\": \"hello.txt\", \"size\": 12}, "
    "{\"id\": \"0000000000000000000000000000000000000000\", \"mode\": 33188, \"modifier\": "
    "\"alice@example.com\", \"mtime\": 1700000200, \"name\": \"empty.txt\", \"size\": 0}, "
    "{\"id\": \"0000000000000000000000000000000000000000\", \"mode\": 16384, \"mtime\": "
    "1700000100, \"name\": \"Docs\"}], \"type\": 3, \"version\": 1}";

static struct seaf_dirent file_entry(const char *name, const char *id, int64_t size, int64_t mtime)
{
    struct seaf_dirent e = {.mode = SEAF_MODE_FILE,
                            .mtime = mtime,
                            .size = size,
                            .name = name,
                            .name_len = strlen(name),
                            .modifier = "alice@example.com"};
    snprintf(e.id, sizeof(e.id), "%s", id);
    return e;
}

static struct seaf_dirent dir_entry(const char *name, const char *id, int64_t mtime)
{
    struct seaf_dirent e = {
        .mode = SEAF_MODE_DIR, .mtime = mtime, .name = name, .name_len = strlen(name)};
    snprintf(e.id, sizeof(e.id), "%s", id);
    return e;
}

/* ---- §4.6 -------------------------------------------------------------------------------- */

static void test_doc_file_vector(void **state)
{
    (void)state;
    const char blocks[1][SEAF_ID_LEN + 1] = {HELLO_BLOCK};
    static const unsigned char zlib_hex[] =
        "789cab564acac94fce8ecf4c2956b2528856323232b5343336334e324e4935314832304bb3b4304c4bb2304d"
        "b1303236344ab54836484d313534548ad551502aceac4a05ea323402b24b2a0bc06c20b32cb5a838333f0fc4"
        "ab05001b5c1aa2";
    char *json = NULL;
    size_t len = 0;
    char id[SEAF_ID_LEN + 1];
    void *stored = NULL;
    size_t stored_len = 0;
    unsigned char want[95];

    assert_int_equal(seaf_file_to_json(blocks, 1, 12, &json, &len, id), SEAF_OK);
    assert_int_equal(len, strlen(hello_json));
    assert_memory_equal(json, hello_json, len);
    assert_string_equal(id, HELLO_FILE);
    assert_int_equal(seaf_fsobj_deflate(json, len, &stored, &stored_len), SEAF_OK);
    assert_int_equal(stored_len, 95);
    assert_true(seaf_hex_decode((const char *)zlib_hex, 190, want, sizeof(want)));
    assert_memory_equal(stored, want, 95);
    free(stored);
    free(json);
}

static void test_doc_dir_vector_any_input_order(void **state)
{
    (void)state;
    /* Every permutation of the three entries gives the same object. */
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    struct seaf_dirent base[3] = {
        file_entry("hello.txt", HELLO_FILE, 12, 1700000000),
        file_entry("empty.txt", SEAF_EMPTY_ID, 0, 1700000200),
        dir_entry("Docs", SEAF_EMPTY_ID, 1700000100),
    };
    for (int p = 0; p < 6; p++) {
        struct seaf_dirent entries[3];
        char *json = NULL;
        size_t len = 0;
        char id[SEAF_ID_LEN + 1];

        for (int i = 0; i < 3; i++)
            entries[i] = base[orders[p][i]];
        assert_int_equal(seaf_dir_to_json(entries, 3, &json, &len, id), SEAF_OK);
        assert_int_equal(len, strlen(doc_dir_json));
        assert_memory_equal(json, doc_dir_json, len);
        assert_string_equal(id, DOC_DIR);
        free(json);
    }
}

static void test_doc_commit_vector(void **state)
{
    (void)state;
    struct seaf_commit *c = NULL;
    char *json = NULL;
    size_t len = 0;

    assert_int_equal(seaf_commit_new_child(NULL, DOC_DIR, SEAF_EMPTY_ID, "alice@example.com",
                                           "Added \"hello.txt\".", 1700000300, "laptop",
                                           "seadrive_3.0.23", &c),
                     SEAF_OK);
    assert_string_equal(c->commit_id, DOC_COMMIT);
    snprintf(c->repo_id, sizeof(c->repo_id), "8c0bbbd9-5d0d-4c4f-9a7a-6b5b2d9a6a0e");
    free(c->repo_name);
    c->repo_name = strdup("Documents");
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_OK);
    assert_string_equal(
        json, "{\"commit_id\": \"" DOC_COMMIT "\", \"root_id\": \"" DOC_DIR "\", \"repo_id\": "
              "\"8c0bbbd9-5d0d-4c4f-9a7a-6b5b2d9a6a0e\", \"creator_name\": \"alice@example.com\", "
              "\"creator\": \"0000000000000000000000000000000000000000\", \"description\": "
              "\"Added \\\"hello.txt\\\".\", \"ctime\": 1700000300, \"parent_id\": null, "
              "\"second_parent_id\": null, \"repo_name\": \"Documents\", \"repo_desc\": \"\", "
              "\"repo_category\": null, \"device_name\": \"laptop\", \"client_version\": "
              "\"seadrive_3.0.23\", \"version\": 1}");
    assert_int_equal(len, strlen(json));
    free(json);
    seaf_commit_free(c);
}

/* ---- fs objects of the vectors ----------------------------------------------------------- */

struct fs_stats {
    size_t files;
    size_t dirs;
    size_t escaped_names; /* names holding characters that JSON escapes or non-ASCII */
};

/* Writes back the object json (len bytes, id) from its parsed form (directory entries given in
 * reverse order) and expects the same bytes and id; stored (may be NULL) must equal the
 * seaf_fsobj_deflate output. */
static void check_rewrite(const char *id, const char *json, size_t len, const void *stored,
                          size_t stored_len, struct fs_stats *stats)
{
    struct seaf_fsobj *obj = NULL;
    struct seaf_parse_msg msg = {{0}};
    char *again = NULL;
    size_t again_len = 0;
    char again_id[SEAF_ID_LEN + 1];
    void *deflated = NULL;
    size_t deflated_len = 0;

    if (seaf_fsobj_parse_json(json, len, id, &obj, &msg) != SEAF_OK)
        fail_msg("fs object %s does not parse: %s", id, msg.text);
    if (obj->type == SEAF_FSOBJ_FILE) {
        stats->files++;
        assert_int_equal(seaf_file_to_json((const char(*)[SEAF_ID_LEN + 1]) obj->file.block_ids,
                                           obj->file.n_blocks, obj->file.size, &again, &again_len,
                                           again_id),
                         SEAF_OK);
    } else {
        size_t n = obj->dir.n_entries;
        struct seaf_dirent *reversed = malloc((n + 1) * sizeof(*reversed));

        stats->dirs++;
        for (size_t i = 0; i < n; i++) {
            const struct seaf_dirent *e = &obj->dir.entries[i];

            reversed[n - 1 - i] = *e;
            for (size_t k = 0; k < e->name_len; k++) {
                unsigned char c = (unsigned char)e->name[k];
                if (c < 0x20 || c == '"' || c == '\\' || c >= 0x80) {
                    stats->escaped_names++;
                    break;
                }
            }
        }
        assert_int_equal(seaf_dir_to_json(reversed, n, &again, &again_len, again_id), SEAF_OK);
        free(reversed);
    }
    if (again_len != len || memcmp(again, json, len) != 0)
        fail_msg("fs object %s written back differs:\n%.*s\n%.*s", id, (int)len, json,
                 (int)again_len, again);
    assert_string_equal(again_id, id);
    if (stored) {
        assert_int_equal(seaf_fsobj_deflate(again, again_len, &deflated, &deflated_len), SEAF_OK);
        assert_int_equal(deflated_len, stored_len);
        assert_memory_equal(deflated, stored, stored_len);
        free(deflated);
    }
    free(again);
    seaf_fsobj_free(obj);
}

static void rewrite_stored(const char *repo_id, const char *id, const char *path, void *ctx)
{
    (void)repo_id;
    size_t len;
    unsigned char *stored = read_whole_file(path, &len);
    char *json = NULL;
    size_t json_len = 0;

    assert_non_null(stored);
    assert_int_equal(seaf_fsobj_inflate(stored, len, &json, &json_len, NULL), SEAF_OK);
    /* The server's zlib bytes too: level 6 as written by the C code. */
    check_rewrite(id, json, json_len, stored, len, ctx);
    free(json);
    free(stored);
}

static void test_every_stored_fs_object(void **state)
{
    (void)state;
    struct fs_stats stats = {0};

    assert_int_equal(for_each_stored_object("fs", rewrite_stored, &stats), 306);
    assert_int_equal(stats.files + stats.dirs, 306);
    assert_true(stats.escaped_names > 0);
}

/* The walk over captured requests and responses (nftw has no context argument). */
static struct walk {
    struct fs_stats fs;
    size_t recv_fs_bodies;
    size_t commits;
    size_t commits_refused; /* deliberately broken commit bodies of the error probes */
} walk;

/* The body after the header block of a captured request or response, or NULL. */
static const unsigned char *body_of(const unsigned char *raw, size_t len, size_t *body_len)
{
    for (size_t i = 0; i + 4 <= len; i++) {
        if (memcmp(raw + i, "\r\n\r\n", 4) == 0) {
            *body_len = len - i - 4;
            return raw + i + 4;
        }
    }
    return NULL;
}

/* Every record of a recv-fs body that holds a valid object (error probes send broken ones). */
static void rewrite_recv_fs(const unsigned char *body, size_t len)
{
    walk.recv_fs_bodies++;
    for (size_t at = 0; at + 44 <= len;) {
        char id[SEAF_ID_LEN + 1];
        size_t obj_len = (size_t)body[at + 40] << 24 | (size_t)body[at + 41] << 16 |
                         (size_t)body[at + 42] << 8 | body[at + 43];
        char *json = NULL;
        size_t json_len = 0;
        char actual[SEAF_ID_LEN + 1];

        if (obj_len > len - at - 44)
            return;
        memcpy(id, body + at, SEAF_ID_LEN);
        id[SEAF_ID_LEN] = '\0';
        if (seaf_id_valid(id, SEAF_ID_LEN) &&
            seaf_fsobj_inflate(body + at + 44, obj_len, &json, &json_len, NULL) == SEAF_OK &&
            seaf_sha1_id(json, json_len, actual) == SEAF_OK && strcmp(actual, id) == 0)
            check_rewrite(id, json, json_len, NULL, 0, &walk.fs);
        free(json);
        at += 44 + obj_len;
    }
}

static void rewrite_commit(const char *text, size_t len, const char *where)
{
    struct seaf_commit *c = NULL;
    char *again = NULL;
    size_t again_len = 0;

    if (seaf_commit_parse(text, len, &c, NULL) != SEAF_OK) {
        walk.commits_refused++;
        return;
    }
    walk.commits++;
    assert_int_equal(seaf_commit_to_json(c, &again, &again_len), SEAF_OK);
    if (again_len != len || memcmp(again, text, len) != 0)
        fail_msg("commit of %s written back differs:\n%.*s\n%.*s", where, (int)len, text,
                 (int)again_len, again);
    free(again);
    seaf_commit_free(c);
}

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    size_t len;
    size_t body_len = 0;
    const char *name = strrchr(path, '/') + 1;
    unsigned char *raw;
    const unsigned char *body;

    if (type != FTW_F || strstr(path, "/storage/") || strstr(path, "/plain/"))
        return 0;
    raw = read_whole_file(path, &len);
    assert_non_null(raw);
    body = strstr(name, ".json") ? raw : body_of(raw, len, &body_len);
    if (body == raw)
        body_len = len;
    if (body && strncmp((const char *)raw, "POST ", 5) == 0 &&
        strstr((const char *)raw, "/recv-fs/ HTTP/1.1\r\n"))
        rewrite_recv_fs(body, body_len);
    else if (body && body_len > 14 && memcmp(body, "{\"commit_id\": ", 14) == 0)
        rewrite_commit((const char *)body, body_len, path);
    free(raw);
    return 0;
}

static void rewrite_stored_commit(const char *repo_id, const char *id, const char *path, void *ctx)
{
    (void)repo_id;
    (void)ctx;
    size_t len;
    unsigned char *text = read_whole_file(path, &len);
    struct seaf_commit *c = NULL;
    char computed[SEAF_ID_LEN + 1];

    assert_non_null(text);
    rewrite_commit((const char *)text, len, path);
    /* Every commit of the real server has the C id (verified by the capture too). */
    assert_int_equal(seaf_commit_parse((const char *)text, len, &c, NULL), SEAF_OK);
    assert_int_equal(seaf_commit_compute_id(c, SEAF_COMMIT_ID_C, computed), SEAF_OK);
    assert_string_equal(computed, id);
    seaf_commit_free(c);
    free(text);
}

static void test_every_captured_object(void **state)
{
    (void)state;
    memset(&walk, 0, sizeof(walk));
    assert_int_equal(for_each_stored_object("commits", rewrite_stored_commit, NULL), 51);
    assert_int_equal(walk.commits, 51);
    assert_int_equal(nftw(vectors_path(""), visit, 16, FTW_PHYS), 0);
    /* client-trace 0049 and 0060, the merge captures' uploads and error probes */
    assert_true(walk.recv_fs_bodies >= 20);
    /* client-trace 0049 and 0060, the merge captures' uploads and error probes: 29 bodies with
     * 65 records, 4 of them deliberately broken (not zlib, bad id, cut short). */
    assert_int_equal(walk.recv_fs_bodies, 29);
    assert_int_equal(walk.fs.files + walk.fs.dirs, 61);
    assert_true(walk.fs.files > 20 && walk.fs.dirs > 20);
    /* storage (51), the merge commit files (85), PUT bodies and GET answers */
    assert_int_equal(walk.commits, 186);
    /* the non-JSON and empty PUT commit probes never look like a commit */
    assert_int_equal(walk.commits_refused, 0);
}

/* ---- commits rebuilt from their parent --------------------------------------------------- */

static struct seaf_commit *load_commit(const char *path)
{
    size_t len;
    unsigned char *text = read_whole_file(path, &len);
    struct seaf_commit *c = NULL;

    if (!text)
        fail_msg("%s is missing", path);
    assert_int_equal(seaf_commit_parse((const char *)text, len, &c, NULL), SEAF_OK);
    free(text);
    return c;
}

/* Rebuilds child from parent with seaf_commit_new_child and expects the same bytes and id. */
static void rebuild(const struct seaf_commit *parent, const char *child_path, bool no_local_history)
{
    size_t len;
    unsigned char *text = read_whole_file(child_path, &len);
    struct seaf_commit *child = load_commit(child_path);
    struct seaf_commit *made = NULL;
    char *json = NULL;
    size_t json_len = 0;

    assert_int_equal(seaf_commit_new_child(parent, child->root_id, child->creator,
                                           child->creator_name, child->description, child->ctime,
                                           child->device_name, child->client_version, &made),
                     SEAF_OK);
    made->no_local_history = no_local_history;
    assert_string_equal(made->commit_id, child->commit_id);
    assert_int_equal(seaf_commit_to_json(made, &json, &json_len), SEAF_OK);
    if (json_len != len || memcmp(json, text, len) != 0)
        fail_msg("rebuilt %s differs:\n%s\n%s", child_path, (const char *)text, json);
    free(json);
    seaf_commit_free(made);
    seaf_commit_free(child);
    free(text);
}

/* A captured request's body into a file-like path is not possible; write it to a temp file. */
static char *request_body_file(const char *name)
{
    static char out[64];
    size_t len;
    size_t body_len = 0;
    unsigned char *raw = read_whole_file(vectors_path(name), &len);
    const unsigned char *body;
    FILE *f;

    assert_non_null(raw);
    body = body_of(raw, len, &body_len);
    assert_non_null(body);
    snprintf(out, sizeof(out), "/tmp/seafs-objwrite-XXXXXX");
    int fd = mkstemp(out);
    assert_true(fd >= 0);
    f = fdopen(fd, "wb");
    assert_int_equal(fwrite(body, 1, body_len, f), body_len);
    fclose(f);
    free(raw);
    return out;
}

static void test_new_child_matches_official_client(void **state)
{
    (void)state;
    struct seaf_commit *parent;
    char path[256];

    /* The encrypted (v2) upload of the client trace: every encryption field from the parent. */
    parent = load_commit(stored_object_path("commits", "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46",
                                            "b5e08e065307b959cda507e4846f304c22a94f6f"));
    snprintf(path, sizeof(path), "%s",
             request_body_file("client-trace/0058-PUT-seafhttp_repo_c8d1b0af-b71e-4f9c-8c07-"
                               "9aa91e318d46_commit_6f7470e14131c4b5a0c64b.req"));
    rebuild(parent, path, true); /* the 8.0.10 client writes no_local_history */
    remove(path);
    seaf_commit_free(parent);
    /* The plain upload of the client trace. */
    parent = load_commit(stored_object_path("commits", "8ad15dc3-5605-4cd9-962d-b5f7d1b1a303",
                                            "22554dcfc3d3c21ed203047414e6f8cc51b309e9"));
    snprintf(path, sizeof(path), "%s",
             request_body_file("client-trace/0047-PUT-seafhttp_repo_8ad15dc3-5605-4cd9-962d-"
                               "b5f7d1b1a303_commit_92dcc78c3f0f92ef0a4785.req"));
    rebuild(parent, path, true);
    remove(path);
    seaf_commit_free(parent);
}

static void test_new_child_matches_merge_uploads(void **state)
{
    (void)state;
    static const char *const scenarios[] = {"S1",  "S2",  "S3",  "S4",  "S5",  "S6",
                                            "S7",  "S8",  "S9a", "S9b", "S9c", "S9d",
                                            "S10", "S11", "S12", "S13", "S14"};
    char path[256];

    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        snprintf(path, sizeof(path), "merge/%s/commits/base.json", scenarios[i]);
        struct seaf_commit *base = load_commit(vectors_path(path));

        snprintf(path, sizeof(path), "merge/%s/commits/x.json", scenarios[i]);
        rebuild(base, vectors_path(path), false);
        snprintf(path, sizeof(path), "merge/%s/commits/y.json", scenarios[i]);
        rebuild(base, vectors_path(path), false);
        seaf_commit_free(base);
    }
}

/* ---- escaping, checked against jansson --------------------------------------------------- */

/* jansson's own output for json (what the C client would write). */
static char *jansson_dump(const char *json, size_t len, size_t flags)
{
    json_error_t error;
    json_t *root = json_loadb(json, len, 0, &error);

    if (!root)
        fail_msg("our JSON does not load: %s", error.text);
    char *out = json_dumps(root, flags);
    json_decref(root);
    assert_non_null(out);
    return out;
}

static void test_escaping_matches_jansson(void **state)
{
    (void)state;
    /* Names with every byte jansson escapes, plus DEL, '/', quotes and multi-byte UTF-8. */
    static const char *const names[] = {
        "quote\"d",
        "back\\slash",
        "tab\there",
        "nl\nx",
        "cr\rx",
        "bs\bx",
        "ff\fx",
        "ctl\x01\x02\x1f",
        "del\x7f",
        "sl/ash",
        "R\xc3\xa9sum\xc3\xa9",
        "\xe4\xb8\xad\xe6\x96\x87",
        "emoji \xf0\x9f\x98\x80",
        "\x1b[31m",
        "a",
        "A",
    };
    struct seaf_dirent entries[16];
    size_t n = 0;
    char *json = NULL;
    size_t len = 0;
    char id[SEAF_ID_LEN + 1];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strchr(names[i], '/'))
            continue; /* refused as a name; covered below */
        entries[n] = file_entry(names[i], HELLO_FILE, 12, (int64_t)i);
        entries[n].modifier = i % 2 ? "we\"ird\\\x01" : "";
        n++;
    }
    entries[n++] = dir_entry("dir \x7f\t", DOC_DIR, -5);
    assert_int_equal(seaf_dir_to_json(entries, n, &json, &len, id), SEAF_OK);
    char *expected = jansson_dump(json, len, JSON_SORT_KEYS);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(json, expected, len);
    assert_non_null(strstr(json, "\"ctl\\u0001\\u0002\\u001F\""));
    assert_non_null(strstr(json, "\"del\x7f\""));
    assert_non_null(strstr(json, "\"mtime\": -5"));
    free(expected);
    /* The parser accepts what was written, entries in descending order. */
    struct seaf_fsobj *obj = NULL;
    assert_int_equal(seaf_fsobj_parse_json(json, len, id, &obj, NULL), SEAF_OK);
    assert_int_equal(obj->dir.n_entries, n);
    seaf_fsobj_free(obj);
    free(json);

    /* A commit with such strings, against jansson's insertion-order dump. */
    struct seaf_commit *c = NULL;
    assert_int_equal(seaf_commit_new_child(NULL, DOC_DIR, DEVICE, "us\"er@example.com",
                                           "Added \"a\\b\".\nDeleted \"\x01\".\n", -1,
                                           "box \xc3\xa9", NULL, &c),
                     SEAF_OK);
    snprintf(c->repo_id, sizeof(c->repo_id), "8c0bbbd9-5d0d-4c4f-9a7a-6b5b2d9a6a0e");
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_OK);
    expected = jansson_dump(json, len, 0);
    assert_string_equal(json, expected);
    free(expected);
    free(json);
    seaf_commit_free(c);
}

/* Pseudo-random names (every ASCII byte but NUL and '/', some multi-byte characters, a unique
 * suffix) in random order: sorted and escaped exactly as jansson and the parser expect. */
static void test_generated_directories_match_jansson(void **state)
{
    (void)state;
    static const char *const wide[] = {"\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xc2\x80"};
    uint64_t seed = 20261207;
    char names[200][64];
    struct seaf_dirent entries[200];

    for (int round = 0; round < 20; round++) {
        size_t n = 1 + (size_t)(round * 10);
        char *json = NULL;
        size_t len = 0;
        char id[SEAF_ID_LEN + 1];

        for (size_t i = 0; i < n; i++) {
            size_t name_len = 0;

            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            for (size_t k = (seed >> 59) % 12; k > 0; k--) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                if ((seed >> 40) % 8 == 0) {
                    const char *w = wide[(seed >> 20) % 4];
                    memcpy(names[i] + name_len, w, strlen(w));
                    name_len += strlen(w);
                    continue;
                }
                char c = (char)(1 + (seed >> 33) % 127); /* 0x01..0x7f */
                names[i][name_len++] = c == '/' ? '_' : c;
            }
            name_len += (size_t)sprintf(names[i] + name_len, "#%03zu", i);
            entries[i] = i % 3 ? file_entry(names[i], HELLO_FILE, 12, (int64_t)(seed % 100000))
                               : dir_entry(names[i], DOC_DIR, (int64_t)i);
            assert_int_equal(entries[i].name_len, name_len);
        }
        assert_int_equal(seaf_dir_to_json(entries, n, &json, &len, id), SEAF_OK);
        char *expected = jansson_dump(json, len, JSON_SORT_KEYS);
        assert_string_equal(json, expected);
        struct seaf_fsobj *obj = NULL;
        assert_int_equal(seaf_fsobj_parse_json(json, len, id, &obj, NULL), SEAF_OK);
        assert_int_equal(obj->dir.n_entries, n);
        seaf_fsobj_free(obj);
        free(expected);
        free(json);
    }
}

/* ---- refusals and edge cases ------------------------------------------------------------- */

static seaf_err dir_error(const struct seaf_dirent *entries, size_t n)
{
    char *json = (char *)1;
    size_t len = 1;
    char id[SEAF_ID_LEN + 1];
    seaf_err err = seaf_dir_to_json(entries, n, &json, &len, id);

    if (err != SEAF_OK) {
        assert_null(json);
        assert_int_equal(len, 0);
    }
    free(err == SEAF_OK ? json : NULL);
    return err;
}

static void test_dir_refusals(void **state)
{
    (void)state;
    struct seaf_dirent two[2] = {file_entry("same", HELLO_FILE, 12, 1),
                                 dir_entry("same", SEAF_EMPTY_ID, 1)};
    assert_int_equal(dir_error(two, 2), SEAF_ERR_INVALID_ARG); /* duplicate name */
    two[1] = dir_entry("samf", SEAF_EMPTY_ID, 1);
    assert_int_equal(dir_error(two, 2), SEAF_OK);

    static const char *const bad_names[] = {"",        ".",        "..",          "a/b",
                                            "bad\xff", "\xc0\xaf", "\xed\xa0\x80"};
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        struct seaf_dirent e = file_entry(bad_names[i], HELLO_FILE, 12, 1);
        assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);
    }
    char long_name[257];
    memset(long_name, 'n', sizeof(long_name));
    struct seaf_dirent e = file_entry("x", HELLO_FILE, 12, 1);
    e.name = long_name;
    e.name_len = 255;
    assert_int_equal(dir_error(&e, 1), SEAF_OK);
    e.name_len = 256;
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);
    e = file_entry("nul", HELLO_FILE, 12, 1);
    e.name = "n\0l";
    e.name_len = 3;
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);

    e = file_entry("x", "A2223A08DAE418D78CD1070B674325969CFBEF75", 12, 1);
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG); /* uppercase id */
    e = file_entry("x", "a2223a08", 12, 1);
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);
    e = file_entry("x", HELLO_FILE, 12, 1);
    e.mode = 0100600;
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);
    e.mode = SEAF_MODE_FILE_EXEC;
    assert_int_equal(dir_error(&e, 1), SEAF_OK);
    e = file_entry("x", HELLO_FILE, 0, 1); /* content id but no bytes */
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);
    e = file_entry("x", SEAF_EMPTY_ID, 3, 1); /* bytes but the empty id */
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);
    e = file_entry("x", HELLO_FILE, -1, 1);
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);
    e = file_entry("x", HELLO_FILE, 12, 1);
    e.modifier = "bad\xc3";
    assert_int_equal(dir_error(&e, 1), SEAF_ERR_INVALID_ARG);
    e.modifier = NULL; /* counts as "" */
    assert_int_equal(dir_error(&e, 1), SEAF_OK);
    /* A directory's size and modifier are not written. */
    e = dir_entry("d", DOC_DIR, 7);
    e.size = 99;
    e.modifier = "someone";
    char *json = NULL;
    size_t len = 0;
    char id[SEAF_ID_LEN + 1];
    assert_int_equal(seaf_dir_to_json(&e, 1, &json, &len, id), SEAF_OK);
    assert_string_equal(json, "{\"dirents\": [{\"id\": \"" DOC_DIR "\", \"mode\": 16384, "
                              "\"mtime\": 7, \"name\": \"d\"}], \"type\": 3, \"version\": 1}");
    free(json);
    /* No entries: the empty id and no object. */
    json = (char *)1;
    assert_int_equal(seaf_dir_to_json(NULL, 0, &json, &len, id), SEAF_OK);
    assert_null(json);
    assert_int_equal(len, 0);
    assert_string_equal(id, SEAF_EMPTY_ID);
    assert_int_equal(seaf_dir_to_json(NULL, 1, &json, &len, id), SEAF_ERR_INVALID_ARG);
}

static void test_file_refusals(void **state)
{
    (void)state;
    const char blocks[2][SEAF_ID_LEN + 1] = {HELLO_BLOCK, HELLO_BLOCK};
    const char upper[1][SEAF_ID_LEN + 1] = {"22596363B3DE40B06F981FB85D82312E8C0ED511"};
    char *json = (char *)1;
    size_t len = 1;
    char id[SEAF_ID_LEN + 1];

    assert_int_equal(seaf_file_to_json(NULL, 0, 0, &json, &len, id), SEAF_OK);
    assert_null(json);
    assert_int_equal(len, 0);
    assert_string_equal(id, SEAF_EMPTY_ID);
    assert_int_equal(seaf_file_to_json(NULL, 0, 5, &json, &len, id), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_file_to_json(blocks, 1, 0, &json, &len, id), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_file_to_json(blocks, 2, 1, &json, &len, id), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_file_to_json(blocks, 1, SEAF_MAX_FILE_SIZE + 1, &json, &len, id),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_file_to_json(upper, 1, 3, &json, &len, id), SEAF_ERR_INVALID_ARG);
    /* The same block twice is a valid file (repeated content). */
    assert_int_equal(seaf_file_to_json(blocks, 2, 24, &json, &len, id), SEAF_OK);
    assert_string_equal(json, "{\"block_ids\": [\"" HELLO_BLOCK "\", \"" HELLO_BLOCK
                              "\"], \"size\": 24, \"type\": 1, \"version\": 1}");
    free(json);

    void *stored = NULL;
    size_t stored_len = 0;
    assert_int_equal(seaf_fsobj_deflate("", 0, &stored, &stored_len), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_fsobj_deflate(NULL, 3, &stored, &stored_len), SEAF_ERR_INVALID_ARG);
}

static void test_commit_refusals(void **state)
{
    (void)state;
    struct seaf_commit *c = NULL;
    struct seaf_commit *parent =
        load_commit(stored_object_path("commits", "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46",
                                       "6f7470e14131c4b5a0c64baebc0ac10489f81338"));
    char *json = NULL;
    size_t len = 0;

    /* new_child arguments */
    assert_int_equal(seaf_commit_new_child(parent, "bad", DEVICE, "u", "d", 1, NULL, NULL, &c),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_commit_new_child(parent, DOC_DIR, "short", "u", "d", 1, NULL, NULL, &c),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_commit_new_child(parent, DOC_DIR, DEVICE, NULL, "d", 1, NULL, NULL, &c),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_commit_new_child(parent, DOC_DIR, DEVICE, "u", NULL, 1, NULL, NULL, &c),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(
        seaf_commit_new_child(parent, DOC_DIR, DEVICE, "u", "bad \xff", 1, NULL, NULL, &c),
        SEAF_ERR_INVALID_ARG);
    assert_null(c);

    /* A good child: parent linkage and every library field copied. */
    assert_int_equal(seaf_commit_new_child(parent, DOC_DIR, DEVICE, "user@example.com",
                                           "Added \"x\".\n", 1800000000, "box", "seafs_0.1.0", &c),
                     SEAF_OK);
    assert_string_equal(c->parent_id, parent->commit_id);
    assert_string_equal(c->second_parent_id, "");
    assert_string_equal(c->repo_id, parent->repo_id);
    assert_string_equal(c->repo_name, "Secret");
    assert_true(c->encrypted);
    assert_int_equal(c->enc_version, 2);
    assert_string_equal(c->magic, parent->magic);
    assert_string_equal(c->key, parent->key);
    assert_int_equal(c->version, 1);
    assert_false(c->no_local_history || c->conflict || c->new_merge || c->repaired);
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_OK);
    assert_non_null(strstr(json, "\"encrypted\": \"true\", \"enc_version\": 2, \"magic\": \""));
    assert_non_null(strstr(json, "\"client_version\": \"seafs_0.1.0\", \"encrypted\""));
    assert_non_null(strstr(json, "\", \"version\": 1}"));
    free(json);

    /* What the server would refuse is refused here. */
    free(c->magic);
    c->magic = NULL; /* encrypted without a password check value */
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_ERR_INVALID_ARG);
    assert_null(json);
    c->magic = strdup("abc");
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_ERR_INVALID_ARG);
    free(c->magic);
    c->magic = strdup(parent->magic);
    c->version = 0;
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_ERR_INVALID_ARG);
    c->version = 1;
    snprintf(c->repo_id, sizeof(c->repo_id), "not-a-uuid");
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_ERR_INVALID_ARG);
    memcpy(c->repo_id, parent->repo_id, sizeof(c->repo_id));
    snprintf(c->parent_id, sizeof(c->parent_id), "xyz");
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_ERR_INVALID_ARG);
    memcpy(c->parent_id, parent->commit_id, sizeof(c->parent_id));
    free(c->description);
    c->description = strdup("bad \xfe");
    assert_int_equal(seaf_commit_to_json(c, &json, &len), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_commit_to_json(c, NULL, &len), SEAF_ERR_INVALID_ARG);
    seaf_commit_free(c);
    seaf_commit_free(parent);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_file_vector),
        cmocka_unit_test(test_doc_dir_vector_any_input_order),
        cmocka_unit_test(test_doc_commit_vector),
        cmocka_unit_test(test_every_stored_fs_object),
        cmocka_unit_test(test_every_captured_object),
        cmocka_unit_test(test_new_child_matches_official_client),
        cmocka_unit_test(test_new_child_matches_merge_uploads),
        cmocka_unit_test(test_escaping_matches_jansson),
        cmocka_unit_test(test_generated_directories_match_jansson),
        cmocka_unit_test(test_dir_refusals),
        cmocka_unit_test(test_file_refusals),
        cmocka_unit_test(test_commit_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
