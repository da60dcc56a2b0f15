/* crc32c: CRC-32C (polynomial 0x82F63B78, reflected) as used by iSCSI, ext4 and btrfs.
 *
 * Frames are checked on every read of the cache and computed on every fill, so the checksum must
 * cost far less than the copies around it. On x86-64 with SSE4.2 the crc32 instruction does 8
 * bytes per step; one step takes 3 cycles but a new one can start every cycle, so long inputs
 * are cut into three parts whose CRCs run interleaved and are then combined (the CRC of a part
 * followed by n more bytes is the CRC "shifted" over n zero bytes, XORed with the CRC of those
 * bytes; shifting over a fixed n is linear, so four 256-entry tables do it). Elsewhere a
 * 256-entry table (built once, thread-safely) does one byte per step. */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u

static uint32_t crc_table[256];
static pthread_once_t crc_table_once = PTHREAD_ONCE_INIT;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ CRC32C_POLY : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t update_table(uint32_t crc, const unsigned char *p, size_t len)
{
    pthread_once(&crc_table_once, build_table);
    while (len--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <nmmintrin.h>

/* The two part lengths of the interleaved loop (multiples of 8): long inputs take LONG_PART
 * steps, what remains SHORT_PART ones, the rest one stream. */
#define LONG_PART  8192
#define SHORT_PART 256

/* shift_*[k][v]: the raw CRC register holding byte v at byte position k, after that many zero
 * bytes; XORing the four entries of a register's bytes shifts the whole register. */
static uint32_t shift_long[4][256];
static uint32_t shift_short[4][256];
static pthread_once_t shift_once = PTHREAD_ONCE_INIT;

/* The raw register crc after len zero bytes (len a multiple of 8). */
__attribute__((target("sse4.2"))) static uint32_t after_zeros(uint32_t crc, size_t len)
{
    uint64_t c = crc;
    for (size_t i = 0; i < len; i += 8)
        c = _mm_crc32_u64(c, 0);
    return (uint32_t)c;
}

static void build_shift(uint32_t table[4][256], size_t len)
{
    uint32_t bit[32];
    for (int j = 0; j < 32; j++)
        bit[j] = after_zeros(1u << j, len);
    for (int k = 0; k < 4; k++) {
        for (uint32_t v = 0; v < 256; v++) {
            uint32_t shifted = 0;
            for (int b = 0; b < 8; b++)
                if (v & (1u << b))
                    shifted ^= bit[8 * k + b];
            table[k][v] = shifted;
        }
    }
}

static void build_shifts(void)
{
    build_shift(shift_long, LONG_PART);
    build_shift(shift_short, SHORT_PART);
}

static uint32_t shift(const uint32_t table[4][256], uint32_t crc)
{
    return table[0][crc & 0xff] ^ table[1][(crc >> 8) & 0xff] ^ table[2][(crc >> 16) & 0xff] ^
           table[3][crc >> 24];
}

static uint64_t load64(const unsigned char *p)
{
    uint64_t word;
    memcpy(&word, p, 8);
    return word;
}

/* Runs the raw register crc over as many whole rounds of three parts of part bytes as len
 * holds; advances *p and *len past them. */
__attribute__((target("sse4.2"))) static uint32_t three_way(uint32_t crc, const unsigned char **p,
                                                            size_t *len, size_t part,
                                                            const uint32_t table[4][256])
{
    const unsigned char *q = *p;
    while (*len >= 3 * part) {
        uint64_t c0 = crc, c1 = 0, c2 = 0;
        for (const unsigned char *end = q + part; q < end; q += 8) {
            c0 = _mm_crc32_u64(c0, load64(q));
            c1 = _mm_crc32_u64(c1, load64(q + part));
            c2 = _mm_crc32_u64(c2, load64(q + 2 * part));
        }
        crc = shift(table, (uint32_t)c0) ^ (uint32_t)c1;
        crc = shift(table, crc) ^ (uint32_t)c2;
        q += 2 * part;
        *len -= 3 * part;
    }
    *p = q;
    return crc;
}

__attribute__((target("sse4.2"))) static uint32_t update_sse42(uint32_t crc, const unsigned char *p,
                                                               size_t len)
{
    if (len >= 3 * SHORT_PART) {
        pthread_once(&shift_once, build_shifts);
        crc = three_way(crc, &p, &len, LONG_PART, shift_long);
        crc = three_way(crc, &p, &len, SHORT_PART, shift_short);
    }
    uint64_t c = crc;
    while (len >= 8) {
        uint64_t word;
        memcpy(&word, p, 8);
        c = _mm_crc32_u64(c, word);
        p += 8;
        len -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (len--)
        c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}

static int have_sse42(void)
{
    static int cached = -1; /* benign race: every thread computes the same value */
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        __builtin_cpu_init();
        v = __builtin_cpu_supports("sse4.2") ? 1 : 0;
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

uint32_t crc32c_update(uint32_t crc, const void *data, size_t len)
{
    const unsigned char *p = data;
    crc = ~crc;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (have_sse42())
        return ~update_sse42(crc, p, len);
#endif
    return ~update_table(crc, p, len);
}

uint32_t crc32c_update_portable(uint32_t crc, const void *data, size_t len)
{
    return ~update_table(~crc, data, len);
}
