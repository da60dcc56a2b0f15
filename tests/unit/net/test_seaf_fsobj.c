/* Tests of seaf_fsobj: the doc vectors, every stored fs object of the real-server vectors, the
 * head tree of every library against plain-manifest.json (block contents re-hashed for the
 * unencrypted ones), lookup, and mutated objects (recompressed with a recomputed id so only the
 * targeted rule breaks) that must fail with the exact error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <zlib.h>

#include "seaf_commit.h"
#include "seaf_fsobj.h"
#include "seaf_sha1.h"
#include "vectors_util.h"

static const char docs_repo[] = "c4910f68-4419-472d-8790-7d453cca13f4";
static const char docs_root[] = "29f5d7d3c161639951aa8037dcccc951133b4677";
static const char big_repo[] = "4c6dbc45-4aca-4e1f-8872-7831fe3e73ee";
static const char big_file[] =
    "8167e3520674634dadbdb4210e2432dbb9f03ee7"; /* big-64MiB.bin, 8 blocks */

/* Loads and parses a stored fs object; fails the test on error. */
static struct seaf_fsobj *load_stored(const char *repo_id, const char *id)
{
    size_t len;
    unsigned char *stored = read_whole_file(stored_object_path("fs", repo_id, id), &len);
    if (stored == NULL)
        fail_msg("fs object %s/%s is not in the vectors", repo_id, id);
    struct seaf_fsobj *obj = NULL;
    struct seaf_parse_msg msg = {{0}};
    seaf_err err = seaf_fsobj_parse(stored, len, id, &obj, &msg);
    free(stored);
    if (err != SEAF_OK)
        fail_msg("fs object %s: %s (%s)", id, seaf_strerror(err), msg.text);
    return obj;
}

/* Decompressed JSON of a stored object. */
static char *stored_json(const char *repo_id, const char *id)
{
    size_t len;
    unsigned char *stored = read_whole_file(stored_object_path("fs", repo_id, id), &len);
    assert_non_null(stored);
    char *json = inflate_stored(stored, len);
    free(stored);
    assert_non_null(json);
    return json;
}

/* Parses json (recompressed, id recomputed) and returns the error; msg receives the reason. */
static seaf_err parse_json_text(const char *json, struct seaf_parse_msg *msg)
{
    char id[SEAF_ID_LEN + 1];
    size_t len;
    unsigned char *stored = deflate_with_id(json, &len, id);
    assert_non_null(stored);
    struct seaf_fsobj *obj = NULL;
    seaf_err err = seaf_fsobj_parse(stored, len, id, &obj, msg);
    assert_true(err == SEAF_OK ? obj != NULL : obj == NULL);
    seaf_fsobj_free(obj);
    free(stored);
    return err;
}

/* Applies one replacement to base and expects err with a reason containing reason_part. */
static void expect_mutation(const char *base, const char *from, const char *to, seaf_err want,
                            const char *reason_part)
{
    char *json = replace_once(base, from, to);
    if (json == NULL)
        fail_msg("mutation base lacks \"%s\"", from);
    struct seaf_parse_msg msg = {{0}};
    seaf_err err = parse_json_text(json, &msg);
    free(json);
    if (err != want)
        fail_msg("\"%s\" -> \"%s\": got %s (%s), want %s", from, to, seaf_strerror(err), msg.text,
                 seaf_strerror(want));
    if (want != SEAF_OK && strstr(msg.text, reason_part) == NULL)
        fail_msg("\"%s\" -> \"%s\": reason \"%s\" lacks \"%s\"", from, to, msg.text, reason_part);
}

static void doc_vectors_parse(void **state)
{
    (void)state;
    static const char file_zlib_hex[] =
        "789cab564acac94fce8ecf4c2956b2528856323232b5343336334e324e4935314832304bb3b4304c4bb2304d"
        "b1303236344ab54836484d313534548ad551502aceac4a05ea323402b24b2a0bc06c20b32cb5a838333f0f"
        "c4ab05001b5c1aa2";
    unsigned char stored[95];
    for (size_t i = 0; i < sizeof(stored); i++)
        sscanf(file_zlib_hex + 2 * i, "%2hhx", &stored[i]);
    struct seaf_fsobj *obj = NULL;
    assert_int_equal(seaf_fsobj_parse(stored, sizeof(stored),
                                      "a2223a08dae418d78cd1070b674325969cfbef75", &obj, NULL),
                     SEAF_OK);
    assert_int_equal(obj->type, SEAF_FSOBJ_FILE);
    assert_int_equal(obj->file.size, 12);
    assert_int_equal(obj->file.n_blocks, 1);
    assert_string_equal(obj->file.block_ids[0], "22596363b3de40b06f981fb85d82312e8c0ed511");
    seaf_fsobj_free(obj);

    static const char dir_json[] =
        "{\"dirents\": [{\"id\": \"a2223a08dae418d78cd1070b674325969cfbef75\", \"mode\": 33188, "
        "\"modifier\": \"alice@example.com\", \"mtime\": 1700000000, \"name\": \"hello.txt\", "
        "\"size\": 12}, {\"id\": \"0000000000000000000000000000000000000000\", \"mode\": 33188, "
        "\"modifier\": \"alice@example.com\", \"mtime\": 1700000200, \"name\": \"empty.txt\", "
        "\"size\": 0}, {\"id\": \"0000000000000000000000000000000000000000\", \"mode\": 16384, "
        "\"mtime\": 1700000100, \"name\": \"Docs\"}], \"type\": 3, \"version\": 1}";
    char id[SEAF_ID_LEN + 1];
    size_t len;
    unsigned char *dir_stored = deflate_with_id(dir_json, &len, id);
    assert_string_equal(id, "f62960f33df86f9795cc6c661f0f235402f880b9");
    assert_int_equal(seaf_fsobj_parse(dir_stored, len, id, &obj, NULL), SEAF_OK);
    free(dir_stored);
    assert_int_equal(obj->type, SEAF_FSOBJ_DIR);
    assert_int_equal(obj->dir.n_entries, 3);
    const struct seaf_dirent *hello = seaf_dir_lookup(&obj->dir, "hello.txt", 9);
    assert_non_null(hello);
    assert_int_equal(hello->size, 12);
    assert_int_equal(hello->mtime, 1700000000);
    assert_string_equal(hello->modifier, "alice@example.com");
    const struct seaf_dirent *docs = seaf_dir_lookup(&obj->dir, "Docs", 4);
    assert_non_null(docs);
    assert_true(seaf_dirent_is_dir(docs));
    assert_string_equal(docs->modifier, "");
    assert_string_equal(docs->id, SEAF_EMPTY_ID);
    assert_false(seaf_dirent_is_dir(seaf_dir_lookup(&obj->dir, "empty.txt", 9)));
    assert_null(seaf_dir_lookup(&obj->dir, "docs", 4));
    assert_null(seaf_dir_lookup(&obj->dir, "hello.tx", 8));
    seaf_fsobj_free(obj);
}

struct object_walk {
    size_t files;
    size_t dirs;
};

static void check_stored_fsobj(const char *repo_id, const char *id, const char *path, void *ctx)
{
    (void)path;
    struct object_walk *walk = ctx;
    struct seaf_fsobj *obj = load_stored(repo_id, id);
    if (obj->type == SEAF_FSOBJ_DIR) {
        walk->dirs++;
        for (size_t i = 0; i < obj->dir.n_entries; i++) {
            const struct seaf_dirent *entry = &obj->dir.entries[i];
            assert_ptr_equal(seaf_dir_lookup(&obj->dir, entry->name, entry->name_len), entry);
        }
    } else {
        walk->files++;
    }
    seaf_fsobj_free(obj);
}

/* The two steps of seaf_fsobj_parse on their own: inflating gives the exact JSON, which parses
 * under its id and is refused under another. */
static void inflate_then_parse_json(void **state)
{
    (void)state;
    char *json = stored_json(docs_repo, docs_root);
    size_t len;
    unsigned char *stored = read_whole_file(stored_object_path("fs", docs_repo, docs_root), &len);
    assert_non_null(stored);
    char *inflated = NULL;
    size_t inflated_len = 0;
    assert_int_equal(seaf_fsobj_inflate(stored, len, &inflated, &inflated_len, NULL), SEAF_OK);
    assert_int_equal(inflated_len, strlen(json));
    assert_memory_equal(inflated, json, inflated_len);
    struct seaf_fsobj *obj = NULL;
    assert_int_equal(seaf_fsobj_parse_json(inflated, inflated_len, docs_root, &obj, NULL), SEAF_OK);
    struct seaf_fsobj *whole = load_stored(docs_repo, docs_root);
    assert_int_equal(obj->type, SEAF_FSOBJ_DIR);
    assert_int_equal(obj->dir.n_entries, whole->dir.n_entries);
    for (size_t i = 0; i < obj->dir.n_entries; i++)
        assert_string_equal(obj->dir.entries[i].name, whole->dir.entries[i].name);
    seaf_fsobj_free(whole);
    seaf_fsobj_free(obj);
    struct seaf_parse_msg msg = {{0}};
    assert_int_equal(seaf_fsobj_parse_json(inflated, inflated_len,
                                           "29f5d7d3c161639951aa8037dcccc951133b4678", &obj, &msg),
                     SEAF_ERR_ID_MISMATCH);
    assert_null(obj);
    assert_non_null(strstr(msg.text, "hashes to"));
    assert_int_equal(seaf_fsobj_parse_json(inflated, inflated_len, SEAF_EMPTY_ID, &obj, NULL),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_fsobj_inflate(stored, len - 1, &inflated, &inflated_len, NULL),
                     SEAF_ERR_MALFORMED);
    free(inflated);
    free(stored);
    free(json);
}

static void every_stored_fs_object_parses(void **state)
{
    (void)state;
    struct object_walk walk = {0};
    size_t visited = for_each_stored_object("fs", check_stored_fsobj, &walk);
    assert_int_equal(visited, 306); /* INDEX.md: 306 fs objects */
    assert_int_equal(walk.files + walk.dirs, 306);
    assert_true(walk.files > 200 && walk.dirs > 20);
}

/* The walk of one library's head tree. */
struct tree_walk {
    const char *library;
    const char *repo_id;
    bool blocks_plain; /* unencrypted and blocks shipped: re-hash file contents */
    json_t *manifest;  /* plain-manifest.json */
    size_t files;
    size_t empty_dirs;
    size_t hashed;
};

/* Hashes the content of a file by concatenating its stored blocks, each verified by id. */
static void check_file_content(struct tree_walk *walk, const char *id, json_t *expected)
{
    struct seaf_fsobj *obj = load_stored(walk->repo_id, id);
    assert_int_equal(obj->type, SEAF_FSOBJ_FILE);
    assert_int_equal(obj->file.size, json_integer_value(json_object_get(expected, "size")));
    struct seaf_sha1 *content = NULL;
    struct seaf_sha1 *block_check = NULL;
    assert_int_equal(seaf_sha1_new(&content), SEAF_OK);
    assert_int_equal(seaf_sha1_new(&block_check), SEAF_OK);
    int64_t total = 0;
    for (size_t b = 0; b < obj->file.n_blocks; b++) {
        size_t len;
        unsigned char *block = read_whole_file(
            stored_object_path("blocks", walk->repo_id, obj->file.block_ids[b]), &len);
        assert_non_null(block);
        assert_int_equal(seaf_sha1_update(block_check, block, len), SEAF_OK);
        assert_int_equal(seaf_sha1_verify(block_check, obj->file.block_ids[b]), SEAF_OK);
        assert_int_equal(seaf_sha1_update(content, block, len), SEAF_OK);
        total += (int64_t)len;
        free(block);
    }
    assert_int_equal(total, obj->file.size);
    assert_int_equal(
        seaf_sha1_verify(content, json_string_value(json_object_get(expected, "sha1"))), SEAF_OK);
    walk->hashed++;
    seaf_sha1_free(content);
    seaf_sha1_free(block_check);
    seaf_fsobj_free(obj);
}

static void walk_dir(struct tree_walk *walk, const char *dir_id, const char *path)
{
    char key[8192];
    if (strcmp(dir_id, SEAF_EMPTY_ID) == 0) {
        snprintf(key, sizeof(key), "%s/%s/", walk->library, path);
        json_t *expected = json_object_get(walk->manifest, key);
        if (!json_is_true(json_object_get(expected, "empty_dir")))
            fail_msg("empty directory %s is not in the manifest", key);
        walk->empty_dirs++;
        return;
    }
    struct seaf_fsobj *obj = load_stored(walk->repo_id, dir_id);
    assert_int_equal(obj->type, SEAF_FSOBJ_DIR);
    for (size_t i = 0; i < obj->dir.n_entries; i++) {
        const struct seaf_dirent *entry = &obj->dir.entries[i];
        char child[4096];
        snprintf(child, sizeof(child), "%s%s%s", path, path[0] ? "/" : "", entry->name);
        if (seaf_dirent_is_dir(entry)) {
            walk_dir(walk, entry->id, child);
            continue;
        }
        snprintf(key, sizeof(key), "%s/%s", walk->library, child);
        json_t *expected = json_object_get(walk->manifest, key);
        if (expected == NULL)
            fail_msg("file %s is not in the manifest", key);
        assert_int_equal(entry->size, json_integer_value(json_object_get(expected, "size")));
        if (walk->blocks_plain && entry->size > 0)
            check_file_content(walk, entry->id, expected);
        walk->files++;
    }
    seaf_fsobj_free(obj);
}

static void head_trees_reproduce_the_plain_manifest(void **state)
{
    (void)state;
    json_error_t error;
    json_t *repos = json_load_file(vectors_path("repos.json"), 0, &error);
    json_t *manifest = json_load_file(vectors_path("plain-manifest.json"), 0, &error);
    assert_non_null(repos);
    assert_non_null(manifest);
    size_t files = 0;
    size_t empty_dirs = 0;
    size_t hashed = 0;
    const char *library;
    json_t *repo;
    json_object_foreach(repos, library, repo)
    {
        const char *repo_id = json_string_value(json_object_get(repo, "repo_id"));
        const char *head = json_string_value(json_object_get(repo, "head_commit_id"));
        size_t len;
        unsigned char *text = read_whole_file(stored_object_path("commits", repo_id, head), &len);
        assert_non_null(text);
        struct seaf_commit *commit = NULL;
        assert_int_equal(seaf_commit_parse((const char *)text, len, &commit, NULL), SEAF_OK);
        free(text);
        bool shipped = strcmp(repo_id, big_repo) != 0;
        struct tree_walk walk = {.library = library,
                                 .repo_id = repo_id,
                                 .blocks_plain = shipped && !commit->encrypted,
                                 .manifest = manifest};
        walk_dir(&walk, commit->root_id, "");
        assert_int_equal(walk.files, json_integer_value(json_object_get(repo, "file_count")));
        files += walk.files;
        empty_dirs += walk.empty_dirs;
        hashed += walk.hashed;
        seaf_commit_free(commit);
    }
    /* Every manifest entry was reached (the walk looked each one up, so equal counts suffice). */
    assert_int_equal(files + empty_dirs, json_object_size(manifest));
    assert_true(hashed > 200);
    json_decref(repos);
    json_decref(manifest);
}

static void dir_mutations_fail_with_the_exact_error(void **state)
{
    (void)state;
    char *root = stored_json(docs_repo, docs_root);
    assert_int_equal(parse_json_text(root, NULL), SEAF_OK);
    char long_ok[300] = "m";
    memset(long_ok + 1, 'z', 254);
    char long_bad[300] = "m";
    memset(long_bad + 1, 'z', 255);
    char quoted_ok[320];
    char quoted_bad[320];
    snprintf(quoted_ok, sizeof(quoted_ok), "\"%s\"", long_ok);
    snprintf(quoted_bad, sizeof(quoted_bad), "\"%s\"", long_bad);
    const seaf_err bad = SEAF_ERR_MALFORMED;
    /* Order and uniqueness. */
    expect_mutation(root, "\"one-byte.bin\"", "\"zzz.bin\"", bad, "not sorted");
    expect_mutation(root, "\"misc\"", "\"one-byte.bin\"", bad, "duplicate");
    /* Names. */
    expect_mutation(root, "\"misc\"", quoted_ok, SEAF_OK, "");
    expect_mutation(root, "\"misc\"", quoted_bad, bad, "256 bytes");
    expect_mutation(root, "\"misc\"", "\"\"", bad, "empty");
    expect_mutation(root, "\"misc\"", "\".\"", bad, "\".\" or \"..\"");
    expect_mutation(root, "\"misc\"", "\"..\"", bad, "\".\" or \"..\"");
    expect_mutation(root, "\"misc\"", "\"mi/sc\"", bad, "'/'");
    expect_mutation(root, "\"misc\"", "\"mi\\u0000sc\"", bad, "JSON");
    expect_mutation(root, "\"misc\"", "\"mi\\udc00sc\"", bad, "JSON");
    expect_mutation(root, "\"misc\"",
                    "\"mi\xff"
                    "sc\"",
                    bad, "JSON");
    expect_mutation(root, "\"name\": \"misc\"", "\"name\": 7", bad, "not a string");
    /* Ids, modes, times, sizes. */
    expect_mutation(root, "\"id\": \"84fd1b", "\"id\": \"84FD1B", bad, "hex");
    expect_mutation(root, "\"id\": \"84fd1b", "\"id\": \"84fd1", bad, "hex");
    expect_mutation(root, "\"id\": \"84fd1b8850ffd5776b7d2ae4407438791a7e7fa4\"", "\"id\": null",
                    bad, "not a string");
    expect_mutation(root, "\"mode\": 16384", "\"mode\": 420", bad, "mode 420");
    expect_mutation(root, "\"mode\": 16384", "\"mode\": \"16384\"", bad, "not an integer");
    expect_mutation(root, "\"mode\": 33188", "\"mode\": 33261", SEAF_OK, "");
    expect_mutation(root, "\"mtime\": 1795939486", "\"mtime\": 1795939486.0", bad,
                    "not an integer");
    expect_mutation(root, "\"size\": 25", "\"size\": -25", bad, "out of range");
    expect_mutation(root, "\"size\": 25", "\"size\": 4611686018427387904", bad, "out of range");
    expect_mutation(root, "\"size\": 25", "\"size\": 0", bad, "does not match id");
    expect_mutation(root, ", \"size\": 25", "", bad, "\"size\" is missing");
    expect_mutation(root, "\"modifier\": \"user@example.com\"", "\"modifier\": 1", bad,
                    "not a string");
    /* Document structure. */
    expect_mutation(root, "{\"dirents\": [", "{\"dirents\": {\"x\": [", bad, "JSON");
    expect_mutation(root, "\"type\": 3", "\"type\": 2", bad, "type 2");
    expect_mutation(root, "\"type\": 3", "\"type\": 1", bad, "size");
    expect_mutation(root, "\"version\": 1", "\"version\": 0", SEAF_ERR_UNSUPPORTED, "version 0");
    expect_mutation(root, ", \"version\": 1", "", bad, "\"version\" is missing");
    expect_mutation(root, "\"type\": 3", "\"type\": 3, \"type\": 3", bad, "JSON");
    expect_mutation(root, "\"version\": 1}", "\"version\": 1} ", SEAF_OK, "");
    expect_mutation(root, "\"version\": 1}", "\"version\": 1}x", bad, "JSON");
    expect_mutation(root, "{\"dirents\": [{", "{\"dirents\": [7, {", bad, "not an object");
    free(root);
}

static void file_mutations_fail_with_the_exact_error(void **state)
{
    (void)state;
    char *file = stored_json(big_repo, big_file);
    assert_int_equal(parse_json_text(file, NULL), SEAF_OK);
    const seaf_err bad = SEAF_ERR_MALFORMED;
    expect_mutation(file, "\"size\": 67108864", "\"size\": 0", bad, "out of range");
    expect_mutation(file, "\"size\": 67108864", "\"size\": -1", bad, "out of range");
    expect_mutation(file, "\"size\": 67108864", "\"size\": 2251799813685248", bad, "out of range");
    expect_mutation(file, "\"size\": 67108864", "\"size\": 7", bad, "cannot hold");
    expect_mutation(file, "\"size\": 67108864", "\"size\": 8", SEAF_OK, "");
    expect_mutation(file, "\"size\": 67108864", "\"size\": \"67108864\"", bad, "not an integer");
    expect_mutation(file, "\"block_ids\": [", "\"block_ids\": [\"0\", ", bad, "block 0");
    expect_mutation(file, "\"block_ids\": [", "\"block_ids\": [1, ", bad, "block 0");
    expect_mutation(file, "\"block_ids\": [\"a0c2a872", "\"block_ids\": [\"A0c2a872", bad,
                    "block 0");
    expect_mutation(file, "\"block_ids\": [", "\"block_ids\": \"\", \"x\": [", bad, "not an array");
    free(file);

    /* A file object without blocks, the form an empty file never takes. */
    struct seaf_parse_msg msg = {{0}};
    assert_int_equal(
        parse_json_text("{\"block_ids\": [], \"size\": 0, \"type\": 1, \"version\": 1}", &msg),
        bad);
    assert_int_equal(
        parse_json_text("{\"block_ids\": [], \"size\": 5, \"type\": 1, \"version\": 1}", &msg),
        bad);
    assert_non_null(strstr(msg.text, "cannot hold"));
}

static void stored_byte_damage_is_detected(void **state)
{
    (void)state;
    size_t len;
    unsigned char *stored = read_whole_file(stored_object_path("fs", docs_repo, docs_root), &len);
    assert_non_null(stored);
    struct seaf_fsobj *obj = NULL;
    struct seaf_parse_msg msg = {{0}};
    /* Truncations at every length end in an error, never a crash. */
    for (size_t cut = 0; cut < len; cut++)
        assert_int_equal(seaf_fsobj_parse(stored, cut, docs_root, &obj, NULL), SEAF_ERR_MALFORMED);
    assert_int_equal(seaf_fsobj_parse(stored, len - 1, docs_root, &obj, &msg), SEAF_ERR_MALFORMED);
    assert_non_null(strstr(msg.text, "truncated"));
    /* Every single flipped byte is refused (zlib check or id). */
    for (size_t i = 0; i < len; i++) {
        stored[i] ^= 0x20;
        seaf_err err = seaf_fsobj_parse(stored, len, docs_root, &obj, NULL);
        assert_true(err == SEAF_ERR_MALFORMED || err == SEAF_ERR_ID_MISMATCH);
        stored[i] ^= 0x20;
    }
    /* Garbage after the stream. */
    unsigned char *longer = malloc(len + 1);
    memcpy(longer, stored, len);
    longer[len] = 0;
    assert_int_equal(seaf_fsobj_parse(longer, len + 1, docs_root, &obj, &msg), SEAF_ERR_MALFORMED);
    assert_non_null(strstr(msg.text, "garbage"));
    free(longer);
    /* Valid zlib of other content: the id check catches the substitution. */
    assert_int_equal(
        seaf_fsobj_parse(stored, len, "29f5d7d3c161639951aa8037dcccc951133b4678", &obj, &msg),
        SEAF_ERR_ID_MISMATCH);
    assert_non_null(strstr(msg.text, "29f5d7d3c161639951aa8037dcccc951133b4677"));
    /* Bad arguments. */
    assert_int_equal(seaf_fsobj_parse(stored, len, SEAF_EMPTY_ID, &obj, NULL),
                     SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_fsobj_parse(stored, len, "29F5", &obj, NULL), SEAF_ERR_INVALID_ARG);
    assert_int_equal(seaf_fsobj_parse(NULL, 3, docs_root, &obj, NULL), SEAF_ERR_INVALID_ARG);
    assert_null(obj);
    free(stored);
}

static void decompression_bombs_are_refused(void **state)
{
    (void)state;
    size_t plain_len = (size_t)SEAF_FSOBJ_MAX_SIZE + 1;
    unsigned char *plain = malloc(plain_len);
    assert_non_null(plain);
    memset(plain, ' ', plain_len);
    uLongf len = compressBound(plain_len);
    unsigned char *stored = malloc(len);
    assert_int_equal(compress2(stored, &len, plain, plain_len, 9), Z_OK);
    free(plain);
    assert_true(len < 64 * 1024); /* a tiny input... */
    struct seaf_fsobj *obj = NULL;
    struct seaf_parse_msg msg = {{0}};
    assert_int_equal(seaf_fsobj_parse(stored, len, docs_root, &obj, &msg), SEAF_ERR_MALFORMED);
    assert_non_null(strstr(msg.text, "more than")); /* ...refused for what it would become */
    free(stored);
    /* Stored sizes beyond any possible object are refused before inflating. */
    assert_int_equal(
        seaf_fsobj_parse(docs_root, (size_t)SEAF_FSOBJ_MAX_STORED_SIZE + 1, docs_root, &obj, &msg),
        SEAF_ERR_MALFORMED);
}

static void name_rules(void **state)
{
    (void)state;
    assert_null(seaf_name_problem("R\xc3\xa9sum\xc3\xa9 \xc3\xbc.txt", 13));
    assert_null(seaf_name_problem("emoji \xf0\x9f\x98\x80", 10));
    assert_null(seaf_name_problem("...", 3));
    assert_null(seaf_name_problem(".hidden", 7));
    assert_non_null(seaf_name_problem("", 0));
    assert_non_null(seaf_name_problem(".", 1));
    assert_non_null(seaf_name_problem("..", 2));
    assert_non_null(seaf_name_problem("a/b", 3));
    assert_non_null(seaf_name_problem("a\0b", 3));
    assert_non_null(seaf_name_problem("\xff", 1));             /* not UTF-8 */
    assert_non_null(seaf_name_problem("\xc3", 1));             /* truncated sequence */
    assert_non_null(seaf_name_problem("\xc0\xaf", 2));         /* overlong '/' */
    assert_non_null(seaf_name_problem("\xed\xa0\x80", 3));     /* surrogate */
    assert_non_null(seaf_name_problem("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
    assert_non_null(seaf_name_problem("\xe2\x82", 2));         /* truncated 3-byte */
    char name[SEAF_NAME_MAX];
    memset(name, 'a', sizeof(name));
    assert_null(seaf_name_problem(name, SEAF_NAME_MAX - 1));
    assert_non_null(seaf_name_problem(name, SEAF_NAME_MAX));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(doc_vectors_parse),
        cmocka_unit_test(inflate_then_parse_json),
        cmocka_unit_test(every_stored_fs_object_parses),
        cmocka_unit_test(head_trees_reproduce_the_plain_manifest),
        cmocka_unit_test(dir_mutations_fail_with_the_exact_error),
        cmocka_unit_test(file_mutations_fail_with_the_exact_error),
        cmocka_unit_test(stored_byte_damage_is_detected),
        cmocka_unit_test(decompression_bombs_are_refused),
        cmocka_unit_test(name_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
