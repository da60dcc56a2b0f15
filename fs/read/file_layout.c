/* file_layout: plaintext positions of a file's blocks (see the header). A position is certain
 * when every length before it is known (scanning from the front) or every length from it to the
 * end is (scanning back from the file size); a byte inside a block whose start is certain is
 * found without that block's own length as long as it lies before the block's last 16 possible
 * bytes. Hints (remembered lengths) count as known until file_layout_drop_hints. */
#include "file_layout.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PAD_MAX 16 /* PKCS#7 adds 1..16 bytes */

int file_layout_init(struct file_layout *l, size_t n, uint64_t size, bool encrypted)
{
    memset(l, 0, sizeof(*l));
    l->n = n;
    l->size = size;
    l->encrypted = encrypted;
    l->stored = calloc(n ? n : 1, sizeof(*l->stored));
    l->plain = calloc(n ? n : 1, sizeof(*l->plain));
    l->stored_end = calloc(n ? n : 1, sizeof(*l->stored_end));
    l->hint = calloc(n ? n : 1, sizeof(*l->hint));
    if (!l->stored || !l->plain || !l->stored_end || !l->hint) {
        file_layout_release(l);
        return -ENOMEM;
    }
    return 0;
}

void file_layout_release(struct file_layout *l)
{
    free(l->stored);
    free(l->plain);
    free(l->offsets);
    free(l->stored_end);
    free(l->hint);
    memset(l, 0, sizeof(*l));
}

void file_layout_set_stored(struct file_layout *l, size_t i, uint64_t stored)
{
    l->stored[i] = stored;
    if (!l->encrypted)
        l->plain[i] = stored;
}

void file_layout_set_plain(struct file_layout *l, size_t i, uint64_t plain)
{
    l->plain[i] = plain;
}

void file_layout_set_offsets(struct file_layout *l, const uint64_t *offsets)
{
    for (size_t i = 0; i < l->n; i++) {
        uint64_t plain = offsets[i + 1] - offsets[i];
        l->plain[i] = plain;
        l->stored[i] = l->encrypted ? (plain / PAD_MAX + 1) * PAD_MAX : plain;
        l->hint[i] = false;
    }
    l->n_hints = 0;
}

/* Builds offsets when every length is known and they add up to the size; -EIO if they don't. */
static int build_offsets(struct file_layout *l)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (!l->plain[i])
            return 0;
        sum += l->plain[i];
    }
    if (sum != l->size)
        return -EIO;
    if (l->offsets)
        return 0;
    l->offsets = malloc((l->n + 1) * sizeof(*l->offsets));
    if (!l->offsets)
        return -ENOMEM;
    l->offsets[0] = 0;
    for (size_t i = 0; i < l->n; i++)
        l->offsets[i + 1] = l->offsets[i] + l->plain[i];
    return 0;
}

int file_layout_add_hints(struct file_layout *l, const uint64_t *plain)
{
    if (!l->encrypted)
        return -EIO;
    /* The known lengths, and the least and most the unknown ones can add. */
    uint64_t known = 0, least = 0, most = 0;
    for (size_t i = 0; i < l->n; i++) {
        uint64_t p = plain[i], s = l->stored[i];
        if (p && (p >= s || p + PAD_MAX < s || (l->plain[i] && l->plain[i] != p)))
            return -EIO;
        if (l->plain[i] || p) {
            known += l->plain[i] ? l->plain[i] : p;
        } else {
            least += s > PAD_MAX ? s - PAD_MAX : 1;
            most += s - 1;
        }
    }
    if (l->size < known + least || l->size > known + most)
        return -EIO;
    for (size_t i = 0; i < l->n; i++) {
        if (plain[i] && !l->plain[i]) {
            l->plain[i] = plain[i];
            l->hint[i] = true;
            l->n_hints++;
        }
    }
    return build_offsets(l);
}

int file_layout_confirm(struct file_layout *l, size_t i, uint64_t plain)
{
    if (!l->plain[i]) {
        l->plain[i] = plain;
        return 0;
    }
    if (l->plain[i] != plain)
        return l->hint[i] ? -ESTALE : -EIO;
    if (l->hint[i]) {
        l->hint[i] = false;
        l->n_hints--;
    }
    return 0;
}

void file_layout_drop_hints(struct file_layout *l)
{
    if (!l->n_hints)
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (l->hint[i]) {
            l->plain[i] = 0;
            l->hint[i] = false;
        }
    }
    l->n_hints = 0;
    free(l->offsets);
    l->offsets = NULL;
}

void file_layout_confirmed(const struct file_layout *l, uint64_t *out)
{
    for (size_t i = 0; i < l->n; i++)
        out[i] = l->hint[i] ? 0 : l->plain[i];
}

int file_layout_check(struct file_layout *l)
{
    uint64_t total = 0;
    for (size_t i = 0; i < l->n; i++) {
        uint64_t s = l->stored[i];
        if (s == 0 || (l->encrypted && s % PAD_MAX != 0))
            return -EIO;
        if (l->plain[i] &&
            (l->encrypted ? l->plain[i] + PAD_MAX < s || l->plain[i] >= s : l->plain[i] != s))
            return -EIO;
        total += s;
        l->stored_end[i] = total;
    }
    if (l->encrypted ? total < l->size + l->n || total > l->size + PAD_MAX * l->n
                     : total != l->size)
        return -EIO;
    return build_offsets(l);
}

uint64_t file_layout_approx_start(const struct file_layout *l, size_t i)
{
    if (l->offsets)
        return l->offsets[i];
    if (i == 0)
        return 0;
    uint64_t stored = l->stored_end[i - 1];
    uint64_t pad = l->encrypted ? (PAD_MAX / 2) * i : 0;
    return stored > pad ? stored - pad : 0;
}

size_t file_layout_approx_index(const struct file_layout *l, uint64_t x)
{
    size_t lo = 0, hi = l->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (file_layout_approx_start(l, mid) <= x)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static bool found(size_t i, uint64_t start, uint64_t len, size_t *index, uint64_t *start_out,
                  uint64_t *known_len)
{
    *index = i;
    *start_out = start;
    *known_len = len;
    return true;
}

bool file_layout_locate(const struct file_layout *l, uint64_t x, size_t *index, uint64_t *start,
                        uint64_t *known_len, size_t *need_from, size_t *need_to)
{
    *need_from = *need_to = 0;
    if (l->offsets) {
        size_t i = file_layout_approx_index(l, x);
        return found(i, l->offsets[i], l->plain[i], index, start, known_len);
    }
    /* From the front: starts are certain up to the first unknown length. */
    uint64_t pos = 0;
    size_t first_unknown = l->n;
    for (size_t i = 0; i < l->n; i++) {
        if (l->plain[i]) {
            if (x < pos + l->plain[i])
                return found(i, pos, l->plain[i], index, start, known_len);
            pos += l->plain[i];
            continue;
        }
        uint64_t certain = l->stored[i] - PAD_MAX; /* the block holds at least this much */
        if (x < pos + certain)
            return found(i, pos, certain, index, start, known_len);
        first_unknown = i;
        break;
    }
    if (first_unknown == l->n)
        return false; /* x beyond the known lengths: inconsistent layout */
    /* From the end: ends are certain down to the last unknown length. */
    uint64_t end = l->size;
    size_t last_unknown = first_unknown;
    for (size_t i = l->n; i-- > first_unknown;) {
        if (!l->plain[i]) {
            last_unknown = i;
            break;
        }
        if (end < l->plain[i])
            return false;
        end -= l->plain[i];
        if (x >= end)
            return found(i, end, l->plain[i], index, start, known_len);
    }
    if (last_unknown == first_unknown) /* one unknown block between known start and end */
        return end > pos ? found(first_unknown, pos, end - pos, index, start, known_len) : false;
    /* Learn the lengths on the cheaper side of the block x probably is in. */
    size_t guess = file_layout_approx_index(l, x);
    if (guess < first_unknown)
        guess = first_unknown;
    if (guess > last_unknown)
        guess = last_unknown;
    size_t front_to = guess > first_unknown ? guess : first_unknown + 1;
    uint64_t front_cost = 0, back_cost = 0;
    for (size_t i = first_unknown; i < front_to; i++)
        front_cost += l->plain[i] ? 0 : l->stored[i];
    for (size_t i = guess; i <= last_unknown; i++)
        back_cost += l->plain[i] ? 0 : l->stored[i];
    if (front_cost <= back_cost) {
        *need_from = first_unknown;
        *need_to = front_to;
    } else {
        *need_from = guess;
        *need_to = last_unknown + 1;
    }
    return false;
}
