/* file_layout: where each block of a file starts in the file's plaintext. For a plain library
 * that is the prefix sum of the stored block sizes. For an encrypted one the stored sizes are
 * ciphertext sizes, and a block's plaintext length is only known once its padding has been
 * decrypted (it is between stored - 16 and stored - 1), so positions are worked out from the
 * lengths learned so far -- from the front, from the end of the file, or within a block whose
 * start is known -- and locate() says which blocks' lengths to learn when that is not enough.
 * Lengths remembered from earlier (the cache's record of them) are taken as hints: used like
 * learned ones, but checked against each block's padding the first time it is open, and all
 * dropped at once when one is found wrong.
 * Pure bookkeeping, no I/O, not thread-safe (the open file's lock protects it). */
#ifndef SEAFS_FS_FILE_LAYOUT_H
#define SEAFS_FS_FILE_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct file_layout {
    size_t n;             /* blocks */
    uint64_t size;        /* plaintext size of the file */
    bool encrypted;       /* stored = ciphertext */
    uint64_t *stored;     /* n stored sizes */
    uint64_t *plain;      /* n plaintext lengths; 0 = not known yet (blocks are never empty) */
    uint64_t *offsets;    /* n + 1 plaintext offsets once every length is known, else NULL */
    uint64_t *stored_end; /* n prefix sums of stored (estimates for encrypted files) */
    bool *hint;           /* n flags: plain[i] is a hint not yet confirmed by the block */
    size_t n_hints;       /* how many flags are set */
};

/* An empty layout of n blocks (sizes all unknown). 0 or -ENOMEM. */
int file_layout_init(struct file_layout *l, size_t n, uint64_t size, bool encrypted);
void file_layout_release(struct file_layout *l);

/* Stored size of block i (plain: also its plaintext length). */
void file_layout_set_stored(struct file_layout *l, size_t i, uint64_t stored);
/* The plaintext length of block i (encrypted files). */
void file_layout_set_plain(struct file_layout *l, size_t i, uint64_t plain);
/* Plaintext offsets of all blocks (n + 1 entries, offsets[n] == size): sets everything. */
void file_layout_set_offsets(struct file_layout *l, const uint64_t *offsets);

/* Adds remembered plaintext lengths (n of them, 0 = not remembered) of an encrypted file as hints,
 * after the stored sizes are set: all or nothing. -EIO (nothing added) when they cannot be right:
 * a length outside [stored - 16, stored - 1], one that differs from a length known already, or
 * lengths that cannot add up to the file size with any lengths of the other blocks. */
int file_layout_add_hints(struct file_layout *l, const uint64_t *plain);
/* Block i's own plaintext length, read from its padding: sets it when unknown, confirms it when
 * it was a hint. 0, or -ESTALE when it contradicts the hint (the caller drops the hints), or -EIO
 * when it contradicts a length learned before (then the block is not the one measured). */
int file_layout_confirm(struct file_layout *l, size_t i, uint64_t plain);
/* Forgets every length that is still a hint (and the offsets, if they were complete). */
void file_layout_drop_hints(struct file_layout *l);
/* The lengths known and not hints into out (n entries, 0 for the others): what a record of the
 * lengths may keep. */
void file_layout_confirmed(const struct file_layout *l, uint64_t *out);

/* After the stored sizes are set: 0 when they fit the file size (plain: they add up to it;
 * encrypted: each is a multiple of 16 and they exceed it by n..16n), else -EIO. Also checks the
 * plaintext lengths once all are known and then builds offsets. */
int file_layout_check(struct file_layout *l);

/* Finds the block holding plaintext byte x (< size). true with *index, *start (its plaintext
 * offset) and *known_len (its length, or the part of it certain so far). false when lengths of
 * blocks [*need_from, *need_to) must be learned first (the cheaper side: before x or after). */
bool file_layout_locate(const struct file_layout *l, uint64_t x, size_t *index, uint64_t *start,
                        uint64_t *known_len, size_t *need_from, size_t *need_to);

/* An estimate of the plaintext offset of block i (exact for plain files), for read-ahead. */
uint64_t file_layout_approx_start(const struct file_layout *l, size_t i);
/* The block whose estimated range holds x, for read-ahead. */
size_t file_layout_approx_index(const struct file_layout *l, uint64_t x);

#endif
