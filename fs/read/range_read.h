/* range_read: serving a small, isolated read of a block that is not in the cache by a byte range
 * of the file (protocol doc §2.9) instead of the whole block, when that pays.
 *
 * The rule (range_pays), for unencrypted libraries only:
 *  - a read that continues the previous one (sequential), a read larger than RANGE_MAX_READ and
 *    a block the cache holds all take the whole block, as before;
 *  - otherwise, with range_reads=auto, a range of RANGE_UNIT-aligned bytes around the read is
 *    fetched when the link, as measured from the pool's transfers (net/link_estimate.h), makes
 *    it at least RANGE_MIN_GAIN_S and RANGE_MIN_GAIN_RTTS round trips faster than the block: the
 *    whole block costs a round trip and the block's bytes, the range one round trip (two without
 *    a download link at hand or on its way) and the range's bytes. A fast link (a LAN) keeps
 *    whole blocks; a slow or far one gets ranges;
 *  - on such a link the open asks for the download link ahead (range_link_ahead), alongside the
 *    file object, so that a cold small read costs the open's round trip and the range's;
 *  - a block read again and again takes the whole block once the ranges fetched in it have
 *    taken as long as the block would (the rent-or-buy rule: never more than twice the cost of
 *    the better choice in hindsight);
 *  - a block already on its way (read-ahead, a folder-scan prefetch, another reader) is waited
 *    for when it is predicted to arrive before the range would; a download overdue by more than
 *    a whole block's time is taken for stuck and does not count;
 *  - range_reads=always uses a range for every read that is not sequential nor large, whatever
 *    the link; range_reads=off never does.
 * No background download of the block follows a range: on a link slow enough for ranges it would
 * compete with the reads the user waits for (a reader that goes on past the range is sequential
 * by then and fetches the block).
 *
 * Verification: a range cannot be checked against the block id; it is served only when the
 * download link was made for the version the handle reads (Seahub's oid header) and the answer
 * names that version (ETag = file id, Content-Range total = file size, exactly the bytes asked
 * for). Anything else -- a link refused twice, another version, an odd answer, a network
 * error -- makes the handle read whole blocks from then on, and the version for a while
 * (range_links.h); a link host that keeps failing in transport pauses all ranges. Range bytes are
 * kept per open file (RANGE_SLOTS ranges), never in the block cache. */
#ifndef SEAFS_FS_RANGE_READ_H
#define SEAFS_FS_RANGE_READ_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "link_estimate.h"
#include "options.h"
#include "range_hold.h"
#include "seafs.h"

/* Ranges are fetched in units of this many bytes, aligned in the file: a page, so a range is
 * what the kernel asked for (its reads are page-aligned; a cold 4 KiB `head` of a file makes it
 * ask for 16 KiB, a 4 KiB pread with POSIX_FADV_RANDOM for 4 KiB). A reader that goes on is
 * the kernel's read-ahead's business: it asks for more, in growing requests. */
#define RANGE_UNIT (4u * 1024)
/* Reads larger than this take the whole block. As large as the kernel's own read-ahead requests
 * get on a mount (fs/read/kernel_readahead.c: 1 MiB): a tool reading a few hundred KiB in a row
 * (ffprobe reading a video's index and first packets) makes the kernel ask for 128, 256, then
 * 512 KiB; on a slow link those are still far cheaper as ranges than as an 8 MiB block. Whether
 * reads stream is the sequential detector's call (readahead.h), not their size's. */
#define RANGE_MAX_READ (1u << 20)
/* A range is fetched only when predicted to answer at least this much sooner than the block, and
 * at least RANGE_MIN_GAIN_RTTS round trips sooner: on a far link a whole block is worth avoiding
 * as soon as it costs a few round trips more (a 3 MiB photo at 50 Mbit/s and 40 ms: 0.5 s against
 * 0.04 s), on a LAN or loopback (a round trip of a millisecond) only when it costs a noticeable
 * time, which an 8 MiB block there does not. */
#define RANGE_MIN_GAIN_S    0.25
#define RANGE_MIN_GAIN_RTTS 2.0
/* Ranges kept per open file. */
#define RANGE_SLOTS 8

/* The case to decide, for range_pays. */
struct range_case {
    enum seafs_range_reads mode;
    uint64_t read_len;        /* bytes the read asks for */
    bool sequential;          /* it continues the previous read of the file */
    double spent_on_block_s;  /* seconds ranges in this block took so far */
    uint64_t block_size;      /* bytes of the whole block */
    uint64_t range_len;       /* bytes the range would fetch */
    bool link_at_hand;        /* a download link for the version is cached */
    bool block_under_way;     /* the block itself is being downloaded (blocks_in_flight.h) */
    double block_under_way_s; /* for this many seconds */
    struct link_figures link; /* what the link is like */
};

/* Whether the read is served by a range (the rule above; pure). */
bool range_pays(const struct range_case *c);

struct range_slot {
    uint64_t start; /* file offset */
    size_t len;     /* 0: empty */
    char *data;
    uint64_t used; /* for least-recently-used replacement */
};

/* Per open file. */
struct range_state {
    pthread_mutex_t lock;
    char *lib_path; /* the file's path in its library ("/dir/name"); NULL: no ranges */
    struct range_slot slots[RANGE_SLOTS];
    uint64_t clock;
    size_t ranged_block;      /* index + 1 of the block last served by a range; 0: none */
    double ranged_s;          /* seconds the ranges fetched in that block took */
    bool disabled;            /* a range failed: whole blocks from now on */
    atomic_bool holds_ranges; /* a slot holds a range (read without the lock: the hot path) */
    pthread_mutex_t ahead_lock;
    pthread_t ahead;           /* the download link asked for at open (range_link_ahead) */
    atomic_bool ahead_running; /* ahead is to be joined (under ahead_lock) */
    struct range_hold hold;    /* ranges on their way, requests held behind them */
};

/* lib_path may be NULL (the handle then never uses ranges); it is copied. */
void range_state_init(struct range_state *rs, const char *lib_path);
/* Waits for a download link asked for ahead, then frees everything. */
void range_state_release(struct range_state *rs);

/* At open, on a link where a cold small read of the file would be a range (range_reads=auto;
 * pure): whether its download link is worth asking for now, alongside the file object and block
 * map, rather than after them at the first read. */
bool range_link_ahead_pays(enum seafs_range_reads mode, uint64_t file_size,
                           const struct link_figures *link);
/* Asks Seahub for the download link of version file_id (file_size bytes) of the handle's file
 * in a thread of its own when range_link_ahead_pays says so and no link is known for it; the
 * first range of the handle waits for it. Best effort: nothing happens on any failure. */
void range_link_ahead(struct seafs *fs, struct range_state *rs, const char *repo_id,
                      const char *file_id, uint64_t file_size);

/* One read in one block of an unencrypted file, as file.c sees it. */
struct range_read_args {
    const char *log_path; /* the file as log messages name it */
    const char *repo_id;
    const char *file_id;
    uint64_t file_size;
    const char *block_id;
    size_t block_index;
    uint64_t block_start; /* file offset of the block */
    uint64_t block_size;
    uint64_t pos, stop; /* the bytes to copy (within the block) */
    uint64_t read_len;  /* bytes the whole read asks for */
    bool sequential;    /* the read continues the previous one */
};

/* What range_read did. */
enum range_outcome {
    RANGE_NOT_SERVED, /* the caller reads the block (nothing was copied) */
    RANGE_SERVED,     /* [pos, stop) was copied */
    RANGE_DROPPED,    /* a request held behind the range before it (range_hold.h) whose reader
                         closed the file meanwhile: nothing copied, nothing to fetch */
};

/* Copies [pos, stop) into dst from a range kept by the handle or fetched now, when the rule says
 * so. Never fails otherwise. May block on the network. */
enum range_outcome range_read(struct seafs *fs, struct range_state *rs,
                              const struct range_read_args *a, char *dst);
/* A descriptor of the file was closed (FUSE flush): requests held are dropped. */
void range_state_flushed(struct range_state *rs);

/* The path of file inode ino in its library ("/dir/name", malloc'd), or NULL. */
char *range_library_path(struct seafs *fs, uint64_t ino);

#endif
