/* cache_bench: figures for the block cache, printed in one run.
 *
 *  1. lz4 frames of the default size and of 256 KiB: compression ratio and CPU time on text-like,
 *     real source text and random data, in memory: compress; and the CPU work a read does on a
 *     whole frame (crc32c check of the stored bytes, then lz4 decode). Section 2 times real reads.
 *  2. Read throughput of cached blocks, sequential (128 KiB reads, as FUSE sends) and random
 *     4 KiB, next to reading the same bytes from a plain local file in the same directory; warm
 *     (page cache) and cold (the files' pages dropped with posix_fadvise first); and random 4 KiB
 *     reads with each frame size.
 *  3. The cost of a hit with 100,000 objects in the index (open + read + close), the index load
 *     at start-up, and a rebuild of the index from the files.
 * Every figure is the median of several runs. Usage: cache_bench [work dir] (default ./bench-data;
 * it is created and removed). */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block_format.h"
#include "cache.h"
#include "cache_test_util.h"
#include "store.h"

#define RUNS         5
#define MIB          (1024.0 * 1024.0)
#define BLOCKS       16
#define BLOCK_BYTES  (8u * 1024u * 1024u)
#define SEQ_CHUNK    (128u * 1024u)
#define RANDOM_READS 20000
#define COLD_READS   2000
#define HIT_OBJECTS  100000
#define HIT_SAMPLES  20000

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void die(const char *what, seaf_err err)
{
    fprintf(stderr, "cache_bench: %s: %s\n", what, seaf_strerror(err));
    exit(1);
}

/* ---------------------------------------------------------------------------------------- */
/* 1. lz4 frames */

/* Up to max bytes of C headers from /usr/include: real source text. Returns the length. */
static size_t load_source_text(unsigned char *buf, size_t max)
{
    size_t len = 0;
    DIR *d = opendir("/usr/include");
    if (d == NULL)
        return 0;
    struct dirent *e;
    while (len < max && (e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 3 || strcmp(e->d_name + nl - 2, ".h") != 0)
            continue;
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "/usr/include/%s", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            continue;
        ssize_t n;
        while (len < max && (n = read(fd, buf + len, max - len)) > 0)
            len += (size_t)n;
        close(fd);
    }
    closedir(d);
    return len;
}

static void bench_lz4(const char *name, const unsigned char *data, size_t len, uint32_t frame)
{
    size_t frames = (len + frame - 1) / frame;
    unsigned char *stored = malloc(frames * block_frame_bound(frame));
    unsigned char *plain = malloc(frame);
    struct block_frame *desc = calloc(frames, sizeof(*desc));
    double comp[RUNS], decomp[RUNS];
    size_t stored_total = 0;
    for (int run = 0; run < RUNS; run++) {
        double t0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        stored_total = 0;
        for (size_t i = 0; i < frames; i++) {
            size_t n = len - i * frame < frame ? len - i * frame : frame;
            const void *bytes =
                block_frame_encode(data + i * frame, (uint32_t)n, stored + stored_total, &desc[i]);
            if (bytes != stored + stored_total) /* a raw frame: as a writer, write it out */
                memcpy(stored + stored_total, bytes, desc[i].stored_len);
            desc[i].offset = stored_total;
            stored_total += desc[i].stored_len;
        }
        double t1 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        /* As a reader does with a frame: crc of the stored bytes, then decode it whole. */
        for (size_t i = 0; i < frames; i++) {
            uint32_t decoded;
            if (!block_frame_intact(&desc[i], stored + desc[i].offset) ||
                block_frame_decode_prefix(&desc[i], stored + desc[i].offset, plain,
                                          desc[i].plain_len, &decoded) != SEAF_OK)
                die("decode", SEAF_ERR_ID_MISMATCH);
        }
        double t2 = now_s(CLOCK_PROCESS_CPUTIME_ID);
        comp[run] = (double)len / MIB / (t1 - t0);
        decomp[run] = (double)len / MIB / (t2 - t1);
    }
    size_t lz4_frames = 0;
    for (size_t i = 0; i < frames; i++)
        lz4_frames += desc[i].flags & BLOCK_FRAME_LZ4 ? 1 : 0;
    printf("  %-28s %3u KiB frames  %5.1f MiB  ratio %5.2f  lz4/raw %zu/%zu  compress %5.0f MiB/s"
           "  decompress+check %5.0f MiB/s\n",
           name, frame / 1024, (double)len / MIB, (double)len / (double)stored_total, lz4_frames,
           frames - lz4_frames, median(comp, RUNS), median(decomp, RUNS));
    free(stored);
    free(plain);
    free(desc);
}

/* The default frame size and the 256 KiB the issue suggested, for comparison. */
static const uint32_t frame_sizes[] = {BLOCK_FRAME_SIZE_DEFAULT, 256u * 1024u};
#define FRAME_SIZES (sizeof(frame_sizes) / sizeof(frame_sizes[0]))

static void section_lz4(void)
{
    printf("\n1. lz4 frames (median of %d runs; MiB/s of CPU time of this process)\n", RUNS);
    size_t len = 32u * 1024 * 1024;
    unsigned char *buf = malloc(len);
    for (size_t f = 0; f < FRAME_SIZES; f++) {
        test_fill_text(buf, len, 1);
        bench_lz4("text-like (generated words)", buf, len, frame_sizes[f]);
        size_t src = load_source_text(buf, len);
        if (src >= 1024 * 1024)
            bench_lz4("source text (/usr/include)", buf, src, frame_sizes[f]);
        test_fill_random(buf, len, 1);
        bench_lz4("random (incompressible)", buf, len, frame_sizes[f]);
    }
    free(buf);
}

/* ---------------------------------------------------------------------------------------- */
/* 2. read throughput */

struct read_setup {
    const char *dir;
    struct cache *cache;
    char plain_path[PATH_MAX];
    int plain_fd;
    char id[BLOCKS][SEAF_ID_LEN + 1];
    struct cache_handle *h[BLOCKS];
};

/* Drops the page cache of one file (only that file; no root needed). */
static void drop_file_pages(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd >= 0) {
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
}

static void drop_all_pages(const struct read_setup *s)
{
    drop_file_pages(s->plain_path);
    char cache_dir[PATH_MAX];
    snprintf(cache_dir, sizeof(cache_dir), "%s/cache", s->dir);
    struct store store;
    seaf_err err = store_init(&store, cache_dir); /* the directories exist already */
    if (err != SEAF_OK)
        die("store_init", err);
    for (int b = 0; b < BLOCKS; b++) {
        char path[PATH_MAX];
        store_object_path(&store, CACHE_KIND_BLOCK, s->id[b], path);
        drop_file_pages(path);
    }
}

/* Fills the cache with BLOCKS blocks and writes the same bytes to a plain file. Returns the fill
 * throughput (MiB/s, wall clock, including SHA-1 check and lz4). */
static double setup_reads(struct read_setup *s, bool text, uint32_t frame_size)
{
    struct cache_options o;
    cache_options_init(&o);
    char cache_dir[PATH_MAX];
    snprintf(cache_dir, sizeof(cache_dir), "%s/cache", s->dir);
    o.dir = cache_dir;
    o.min_free_bytes = 0;
    o.frame_size = frame_size;
    seaf_err err = cache_new(&o, &s->cache);
    if (err != SEAF_OK)
        die("cache_new", err);
    snprintf(s->plain_path, sizeof(s->plain_path), "%s/plain.bin", s->dir);
    s->plain_fd = open(s->plain_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    unsigned char *block = malloc(BLOCK_BYTES);
    double fill_time = 0;
    for (int b = 0; b < BLOCKS; b++) {
        if (text)
            test_fill_text(block, BLOCK_BYTES, (uint64_t)b + 100);
        else
            test_fill_random(block, BLOCK_BYTES, (uint64_t)b + 100);
        test_sha1_id(block, BLOCK_BYTES, s->id[b]);
        if (pwrite(s->plain_fd, block, BLOCK_BYTES, (off_t)b * BLOCK_BYTES) != BLOCK_BYTES)
            die("plain write", SEAF_ERR_IO);
        double t0 = now_s(CLOCK_MONOTONIC);
        struct cache_handle *h;
        struct cache_fill *f;
        if ((err = cache_open_or_fill(s->cache, CACHE_KIND_BLOCK, s->id[b], &h, &f)) != SEAF_OK)
            die("open_or_fill", err);
        if (f != NULL) {
            for (size_t off = 0; off < BLOCK_BYTES; off += 64 * 1024)
                if ((err = cache_fill_write(f, block + off, 64 * 1024)) != SEAF_OK)
                    die("fill", err);
            if ((err = cache_fill_commit(f, &h)) != SEAF_OK)
                die("commit", err);
        }
        fill_time += now_s(CLOCK_MONOTONIC) - t0;
        s->h[b] = h;
    }
    free(block);
    return BLOCKS * (double)BLOCK_BYTES / MIB / fill_time;
}

static void teardown_reads(struct read_setup *s)
{
    for (int b = 0; b < BLOCKS; b++)
        cache_close(s->h[b]);
    cache_free(s->cache);
    close(s->plain_fd);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/cache", s->dir);
    test_remove_tree(path);
    unlink(s->plain_path);
}

/* Sequential: every block start to end in SEQ_CHUNK reads, opening each block as a file would. */
static double seq_cache(struct read_setup *s)
{
    unsigned char *buf = malloc(SEQ_CHUNK);
    double t0 = now_s(CLOCK_MONOTONIC);
    for (int b = 0; b < BLOCKS; b++) {
        struct cache_handle *h;
        seaf_err err = cache_open(s->cache, CACHE_KIND_BLOCK, s->id[b], &h);
        if (err != SEAF_OK)
            die("open", err);
        size_t n;
        for (uint64_t off = 0; off < BLOCK_BYTES; off += SEQ_CHUNK)
            if ((err = cache_read(h, off, SEQ_CHUNK, buf, &n)) != SEAF_OK || n != SEQ_CHUNK)
                die("read", err);
        cache_close(h);
    }
    double t = now_s(CLOCK_MONOTONIC) - t0;
    free(buf);
    return BLOCKS * (double)BLOCK_BYTES / MIB / t;
}

static double seq_plain(struct read_setup *s)
{
    unsigned char *buf = malloc(SEQ_CHUNK);
    double t0 = now_s(CLOCK_MONOTONIC);
    for (uint64_t off = 0; off < (uint64_t)BLOCKS * BLOCK_BYTES; off += SEQ_CHUNK)
        if (pread(s->plain_fd, buf, SEQ_CHUNK, (off_t)off) != SEQ_CHUNK)
            die("plain read", SEAF_ERR_IO);
    double t = now_s(CLOCK_MONOTONIC) - t0;
    free(buf);
    return BLOCKS * (double)BLOCK_BYTES / MIB / t;
}

/* Random 4 KiB reads over all blocks, through open handles; returns µs per read. */
static double random_cache(struct read_setup *s, int reads, uint64_t seed)
{
    unsigned char buf[4096];
    uint64_t rng = seed;
    double t0 = now_s(CLOCK_MONOTONIC);
    for (int i = 0; i < reads; i++) {
        uint64_t pos = test_rand(&rng) % ((uint64_t)BLOCKS * BLOCK_BYTES - sizeof(buf));
        size_t n;
        seaf_err err = cache_read(s->h[pos / BLOCK_BYTES], pos % BLOCK_BYTES, sizeof(buf), buf, &n);
        if (err != SEAF_OK)
            die("read", err);
    }
    return (now_s(CLOCK_MONOTONIC) - t0) * 1e6 / reads;
}

static double random_plain(struct read_setup *s, int reads, uint64_t seed)
{
    unsigned char buf[4096];
    uint64_t rng = seed;
    double t0 = now_s(CLOCK_MONOTONIC);
    for (int i = 0; i < reads; i++) {
        uint64_t pos = test_rand(&rng) % ((uint64_t)BLOCKS * BLOCK_BYTES - sizeof(buf));
        /* The same offset inside the same block as the cache read, so the same bytes. */
        if (pread(s->plain_fd, buf, sizeof(buf), (off_t)pos) != (ssize_t)sizeof(buf))
            die("plain read", SEAF_ERR_IO);
    }
    return (now_s(CLOCK_MONOTONIC) - t0) * 1e6 / reads;
}

static void print_pair(const char *what, const char *unit, double cache, double plain,
                       bool higher_is_better)
{
    printf("  %-34s cache %9.1f %-6s plain file %9.1f %-6s cache/plain %5.2fx%s\n", what, cache,
           unit, plain, unit, higher_is_better ? cache / plain : plain / cache,
           higher_is_better ? "" : " (speed)");
}

static void bench_reads(const char *dir, bool text)
{
    struct read_setup s = {.dir = dir};
    double fill = setup_reads(&s, text, BLOCK_FRAME_SIZE_DEFAULT);
    printf(" %s data, %d blocks of 8 MiB (%.0f MiB), %u KiB frames; fill (lz4 + SHA-1 check +"
           " write) %.0f MiB/s\n",
           text ? "text-like" : "random", BLOCKS, BLOCKS * (double)BLOCK_BYTES / MIB,
           BLOCK_FRAME_SIZE_DEFAULT / 1024, fill);
    double c[RUNS], p[RUNS];
    for (int r = 0; r < RUNS; r++) {
        c[r] = seq_cache(&s);
        p[r] = seq_plain(&s);
    }
    print_pair("sequential 128 KiB, warm", "MiB/s", median(c, RUNS), median(p, RUNS), true);
    for (int r = 0; r < RUNS; r++) {
        drop_all_pages(&s);
        c[r] = seq_cache(&s);
        drop_all_pages(&s);
        p[r] = seq_plain(&s);
    }
    print_pair("sequential 128 KiB, cold", "MiB/s", median(c, RUNS), median(p, RUNS), true);
    for (int r = 0; r < RUNS; r++) {
        c[r] = random_cache(&s, RANDOM_READS, (uint64_t)r + 1);
        p[r] = random_plain(&s, RANDOM_READS, (uint64_t)r + 1);
    }
    print_pair("random 4 KiB, warm (per read)", "us", median(c, RUNS), median(p, RUNS), false);
    for (int r = 0; r < RUNS; r++) {
        drop_all_pages(&s);
        c[r] = random_cache(&s, COLD_READS, (uint64_t)r + 1);
        drop_all_pages(&s);
        p[r] = random_plain(&s, COLD_READS, (uint64_t)r + 1);
    }
    print_pair("random 4 KiB, cold (per read)", "us", median(c, RUNS), median(p, RUNS), false);
    teardown_reads(&s);
}

/* Random 4 KiB reads (warm) with each frame size, for the choice of the default. */
static void bench_frame_sizes(const char *dir)
{
    for (int text = 1; text >= 0; text--) {
        for (size_t f = 0; f < FRAME_SIZES; f++) {
            struct read_setup s = {.dir = dir};
            setup_reads(&s, text, frame_sizes[f]);
            double c[RUNS];
            for (int r = 0; r < RUNS; r++)
                c[r] = random_cache(&s, RANDOM_READS, (uint64_t)r + 1);
            printf("  random 4 KiB, warm, %-9s data, %3u KiB frames: %6.1f us per read\n",
                   text ? "text-like" : "random", frame_sizes[f] / 1024, median(c, RUNS));
            teardown_reads(&s);
        }
    }
}

static void section_reads(const char *dir)
{
    printf("\n2. Read throughput, cache vs plain file in the same directory (median of %d runs)\n",
           RUNS);
    bench_reads(dir, true);
    bench_reads(dir, false);
    printf(" frame size\n");
    bench_frame_sizes(dir);
}

/* ---------------------------------------------------------------------------------------- */
/* 3. hit cost with 100,000 objects */

/* A small fs-object-like JSON text, unique per i. */
static size_t make_object(int i, char *buf, size_t cap)
{
    return (size_t)snprintf(buf, cap,
                            "{\"dirents\": [{\"id\": \"%040d\", \"mode\": 33188, \"mtime\": %d, "
                            "\"name\": \"file-%d.txt\", \"size\": %d}], \"type\": 3, "
                            "\"version\": 1}",
                            i, 1700000000 + i, i, i * 7);
}

static struct cache *open_hit_cache(const char *cache_dir, double *seconds)
{
    struct cache_options o;
    cache_options_init(&o);
    o.dir = cache_dir;
    o.min_free_bytes = 0;
    struct cache *c;
    double t0 = now_s(CLOCK_MONOTONIC);
    seaf_err err = cache_new(&o, &c);
    if (err != SEAF_OK)
        die("cache_new", err);
    *seconds = now_s(CLOCK_MONOTONIC) - t0;
    return c;
}

static void section_hits(const char *dir)
{
    printf("\n3. Hits with %d objects in the index (median of %d runs of %d hits)\n", HIT_OBJECTS,
           RUNS, HIT_SAMPLES);
    char cache_dir[PATH_MAX];
    snprintf(cache_dir, sizeof(cache_dir), "%s/hits", dir);
    double startup;
    struct cache *c = open_hit_cache(cache_dir, &startup);
    char(*ids)[SEAF_ID_LEN + 1] = malloc((size_t)HIT_OBJECTS * sizeof(*ids));
    char obj[512];
    double t0 = now_s(CLOCK_MONOTONIC);
    for (int i = 0; i < HIT_OBJECTS; i++) {
        size_t len = make_object(i, obj, sizeof(obj));
        test_sha1_id(obj, len, ids[i]);
        seaf_err err = cache_put_object(c, CACHE_KIND_FS, ids[i], obj, len);
        if (err != SEAF_OK)
            die("put", err);
    }
    double put = now_s(CLOCK_MONOTONIC) - t0;
    /* One 8 MiB block in the same cache, for the cost of a 4 KiB read of a block. */
    unsigned char *block = malloc(BLOCK_BYTES);
    test_fill_text(block, BLOCK_BYTES, 7);
    char block_id[SEAF_ID_LEN + 1];
    test_sha1_id(block, BLOCK_BYTES, block_id);
    seaf_err err = cache_put_object(c, CACHE_KIND_BLOCK, block_id, block, BLOCK_BYTES);
    if (err != SEAF_OK)
        die("put block", err);
    free(block);
    cache_sync(c);
    cache_free(c);
    printf("  filling %d small objects: %.1f us per object (no fsync)\n", HIT_OBJECTS,
           put * 1e6 / HIT_OBJECTS);

    c = open_hit_cache(cache_dir, &startup);
    printf("  start-up with the index of %d objects: %.0f ms\n", HIT_OBJECTS + 1, startup * 1e3);
    double meta[RUNS], blk[RUNS];
    uint64_t rng = 3;
    unsigned char buf[4096];
    for (int r = 0; r < RUNS; r++) {
        t0 = now_s(CLOCK_MONOTONIC);
        for (int i = 0; i < HIT_SAMPLES; i++) {
            struct cache_handle *h;
            size_t n;
            int k = (int)(test_rand(&rng) % HIT_OBJECTS);
            if ((err = cache_open(c, CACHE_KIND_FS, ids[k], &h)) != SEAF_OK ||
                (err = cache_read(h, 0, sizeof(buf), buf, &n)) != SEAF_OK)
                die("hit", err);
            cache_close(h);
        }
        meta[r] = (now_s(CLOCK_MONOTONIC) - t0) * 1e6 / HIT_SAMPLES;
        t0 = now_s(CLOCK_MONOTONIC);
        for (int i = 0; i < HIT_SAMPLES; i++) {
            struct cache_handle *h;
            size_t n;
            uint64_t off = test_rand(&rng) % (BLOCK_BYTES - sizeof(buf));
            if ((err = cache_open(c, CACHE_KIND_BLOCK, block_id, &h)) != SEAF_OK ||
                (err = cache_read(h, off, sizeof(buf), buf, &n)) != SEAF_OK)
                die("block hit", err);
            cache_close(h);
        }
        blk[r] = (now_s(CLOCK_MONOTONIC) - t0) * 1e6 / HIT_SAMPLES;
    }
    printf("  hit on a small object (open + read + close):          %6.1f us\n",
           median(meta, RUNS));
    printf("  hit on an 8 MiB block (open + 4 KiB read + close):    %6.1f us\n", median(blk, RUNS));
    cache_free(c);

    char db[PATH_MAX + 16];
    snprintf(db, sizeof(db), "%s/index.db", cache_dir);
    unlink(db);
    c = open_hit_cache(cache_dir, &startup);
    struct cache_stats st;
    cache_get_stats(c, &st);
    printf("  index rebuilt from the files (db deleted): %.0f ms for %llu objects\n", startup * 1e3,
           (unsigned long long)st.entries);
    cache_free(c);
    free(ids);
    test_remove_tree(cache_dir);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "bench-data";
    if (mkdir(dir, 0700) != 0 && access(dir, W_OK) != 0) {
        perror(dir);
        return 1;
    }
    printf("cache_bench: work directory %s\n", dir);
    double t0 = now_s(CLOCK_MONOTONIC);
    section_lz4();
    double t1 = now_s(CLOCK_MONOTONIC);
    section_reads(dir);
    double t2 = now_s(CLOCK_MONOTONIC);
    section_hits(dir);
    double t3 = now_s(CLOCK_MONOTONIC);
    test_remove_tree(dir);
    printf("\n(sections took %.0f s, %.0f s, %.0f s of wall time)\n", t1 - t0, t2 - t1, t3 - t2);
    return 0;
}
