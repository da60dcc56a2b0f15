/* meta_migrate: old metadata files -> meta.db rows, in batches of bounded count and size. */
#include "meta_migrate.h"

#include <limits.h>
#include "seaf_sha1.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_reader.h"
#include "cache_kind.h"

#define BATCH_OBJECTS 256
#define BATCH_BYTES   (8u << 20)

struct migration {
    const struct store *store;
    struct meta_db *db;
    struct meta_db_object objs[BATCH_OBJECTS];
    char ids[BATCH_OBJECTS][SEAF_ID_LEN + 1];
    char *data[BATCH_OBJECTS];
    size_t n;
    size_t bytes;
    unsigned migrated;
    seaf_err err;
};

/* Reads the whole content of an old object file into *out (checked: frames; the id for SHA-1
 * kinds). SEAF_ERR_MALFORMED for a damaged file (dropped, as recovery drops one); any other
 * failure (no memory, an I/O error, too many open files) as it is: the file stays for the next
 * start, since a pinned one exists nowhere else. */
static seaf_err read_old_file(const struct store *s, int kind, const char *id, char **out,
                              size_t *len)
{
    *out = NULL;
    int fd;
    struct block_reader *reader;
    seaf_err err = store_open_object(s, kind, id, &fd);
    if (err != SEAF_OK)
        return err == SEAF_ERR_NOT_FOUND ? SEAF_ERR_MALFORMED : err;
    if ((err = block_reader_open(fd, (uint32_t)kind, id, &reader)) != SEAF_OK)
        return err;
    uint64_t size = block_reader_size(reader);
    char *buf = size < (1u << 30) ? malloc((size_t)size + 1) : NULL;
    size_t got = 0;
    if (buf == NULL)
        err = size < (1u << 30) ? SEAF_ERR_NOMEM : SEAF_ERR_MALFORMED;
    else if ((err = block_reader_read(reader, 0, (size_t)size, buf, &got)) == SEAF_OK &&
             got != size)
        err = SEAF_ERR_MALFORMED;
    block_reader_free(reader);
    if (err == SEAF_OK && cache_kind_id_is_sha1(kind)) {
        char hex[SEAF_ID_LEN + 1];
        if ((err = seaf_sha1_id(buf, got, hex)) == SEAF_OK && strcmp(hex, id) != 0)
            err = SEAF_ERR_MALFORMED;
    }
    if (err != SEAF_OK) {
        free(buf);
        return err == SEAF_ERR_ID_MISMATCH ? SEAF_ERR_MALFORMED : err; /* a checksum failed */
    }
    *out = buf;
    *len = got;
    return SEAF_OK;
}

/* Commits the collected batch, then deletes its files and markers. */
static void flush_batch(struct migration *m)
{
    if (m->n > 0 && m->err == SEAF_OK)
        m->err = meta_db_put(m->db, m->objs, m->n);
    /* durable (against a power cut too) before the only other copies go */
    if (m->n > 0 && m->err == SEAF_OK)
        m->err = store_sync_all(m->store);
    for (size_t i = 0; i < m->n; i++) {
        if (m->err == SEAF_OK) {
            char marker[PATH_MAX];
            store_pin_path(m->store, m->objs[i].kind, m->ids[i], marker);
            store_remove(m->store, m->objs[i].kind, m->ids[i]);
            unlink(marker);
            m->migrated++;
        }
        free(m->data[i]);
    }
    m->n = 0;
    m->bytes = 0;
}

static int migrate_file(int kind, const char *id, uint64_t file_size, time_t mtime, void *ctx)
{
    struct migration *m = ctx;
    (void)file_size;
    (void)mtime;
    size_t len = 0;
    char *data = NULL;
    seaf_err err = read_old_file(m->store, kind, id, &data, &len);
    if (err != SEAF_OK && err != SEAF_ERR_MALFORMED) {
        if (m->err == SEAF_OK)
            m->err = err;
        return 1; /* stop: the start fails, nothing is lost, the next start tries again */
    }
    if (err == SEAF_ERR_MALFORMED) { /* damaged: dropped, as recovery drops a damaged file */
        char marker[PATH_MAX];
        store_pin_path(m->store, kind, id, marker);
        store_remove(m->store, kind, id);
        unlink(marker);
        return 0;
    }
    char marker[PATH_MAX];
    store_pin_path(m->store, kind, id, marker);
    size_t i = m->n++;
    memcpy(m->ids[i], id, SEAF_ID_LEN + 1);
    m->data[i] = data;
    m->objs[i] = (struct meta_db_object){.kind = kind,
                                         .id = m->ids[i],
                                         .data = data,
                                         .len = len,
                                         .pinned = access(marker, F_OK) == 0};
    m->bytes += len;
    if (m->n == BATCH_OBJECTS || m->bytes >= BATCH_BYTES)
        flush_batch(m);
    return m->err != SEAF_OK;
}

seaf_err meta_migrate_files(const struct store *s, struct meta_db *db, unsigned *migrated)
{
    *migrated = 0;
    struct migration *m = calloc(1, sizeof(*m));
    if (m == NULL)
        return SEAF_ERR_NOMEM;
    m->store = s;
    m->db = db;
    for (int kind = CACHE_KIND_FIRST; kind <= CACHE_KIND_LAST && m->err == SEAF_OK; kind++) {
        if (!cache_kind_is_meta(kind) || !store_kind_dir_exists(s, kind))
            continue;
        seaf_err err = store_scan(s, kind, migrate_file, m);
        flush_batch(m);
        if (err != SEAF_OK && m->err == SEAF_OK)
            m->err = err;
        if (m->err == SEAF_OK)
            store_remove_kind_dir(s, kind);
    }
    seaf_err err = m->err;
    *migrated = m->migrated;
    free(m);
    return err;
}
