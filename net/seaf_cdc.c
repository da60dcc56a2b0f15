/* seaf_cdc: Seafile's content-defined chunking (protocol doc §9.1). The Rabin tables are built
 * once (pthread_once); chunk boundaries are found by rolling the fingerprint from the minimum
 * block size on. */
#include "seaf_cdc.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOP_BIT    ((uint64_t)1 << 63)
#define BREAK_MASK (SEAF_CDC_AVG_SIZE - 1)

static uint64_t shift_table[256]; /* T: reduces the byte shifted out of the top of a value */
static uint64_t out_table[256];   /* U: removes the byte leaving the window */
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* (a * b) mod P over GF(2); b must be reduced (below 2^63). */
static uint64_t gf2_mulmod(uint64_t a, uint64_t b)
{
    uint64_t product = 0;
    for (int bit = 63; bit >= 0; bit--) {
        product <<= 1;
        if (product & TOP_BIT)
            product ^= SEAF_CDC_POLYNOMIAL;
        if ((a >> bit) & 1)
            product ^= b;
    }
    return product;
}

/* p * x^8 + m (mod P), for p below 2^63; the result is below 2^63 too. */
static uint64_t append_byte(uint64_t p, unsigned char m)
{
    return ((p << 8) | m) ^ shift_table[p >> 55];
}

static void build_tables(void)
{
    uint64_t x63 = SEAF_CDC_POLYNOMIAL ^ TOP_BIT; /* x^63 mod P */
    for (uint64_t j = 0; j < 256; j++)
        shift_table[j] = gf2_mulmod(j, x63) | (j << 63);
    uint64_t window_shift = 1;
    for (int i = 1; i < SEAF_CDC_WINDOW; i++)
        window_shift = append_byte(window_shift, 0);
    for (uint64_t i = 0; i < 256; i++)
        out_table[i] = gf2_mulmod(i, window_shift);
}

static void ensure_tables(void)
{
    pthread_once(&tables_once, build_tables);
}

static inline uint32_t roll(uint32_t fingerprint, unsigned char out, unsigned char in)
{
    return (uint32_t)append_byte((uint64_t)fingerprint ^ out_table[out], in);
}

uint32_t seaf_cdc_roll(uint32_t fingerprint, unsigned char out, unsigned char in)
{
    ensure_tables();
    return roll(fingerprint, out, in);
}

uint32_t seaf_cdc_window_fingerprint(const unsigned char window[SEAF_CDC_WINDOW])
{
    ensure_tables();
    uint32_t fingerprint = 0;
    for (int i = 0; i < SEAF_CDC_WINDOW; i++)
        fingerprint = roll(fingerprint, 0, window[i]);
    return fingerprint;
}

size_t seaf_cdc_chunk_length(const unsigned char *buf, size_t len)
{
    if (len < SEAF_CDC_MIN_SIZE)
        return len;
    ensure_tables();
    size_t end = len < SEAF_CDC_MAX_SIZE ? len : SEAF_CDC_MAX_SIZE;
    size_t c = SEAF_CDC_MIN_SIZE - 1;
    uint32_t fingerprint = seaf_cdc_window_fingerprint(buf + c + 1 - SEAF_CDC_WINDOW);
    for (;;) {
        if ((fingerprint & BREAK_MASK) == (SEAF_CDC_BREAK & BREAK_MASK) || c + 1 >= end)
            return c + 1;
        c++;
        fingerprint = roll(fingerprint, buf[c - SEAF_CDC_WINDOW], buf[c]);
    }
}

/* Reads until buf holds `want` bytes or the file ends; *got is the new fill level. */
static seaf_err fill(int fd, unsigned char *buf, size_t want, size_t *got)
{
    while (*got < want) {
        ssize_t n = read(fd, buf + *got, want - *got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return SEAF_ERR_IO;
        if (n == 0)
            break;
        *got += (size_t)n;
    }
    return SEAF_OK;
}

seaf_err seaf_cdc_chunk_fd(int fd, seaf_cdc_chunk_fn fn, void *ctx)
{
    if (fd < 0 || fn == NULL)
        return SEAF_ERR_INVALID_ARG;
    unsigned char *buf = malloc(SEAF_CDC_MAX_SIZE);
    if (buf == NULL)
        return SEAF_ERR_NOMEM;
    size_t filled = 0;
    uint64_t offset = 0;
    seaf_err err;
    while ((err = fill(fd, buf, SEAF_CDC_MAX_SIZE, &filled)) == SEAF_OK && filled > 0) {
        size_t chunk = seaf_cdc_chunk_length(buf, filled);
        err = fn(ctx, offset, buf, chunk);
        if (err != SEAF_OK)
            break;
        memmove(buf, buf + chunk, filled - chunk);
        filled -= chunk;
        offset += chunk;
    }
    free(buf);
    return err;
}
