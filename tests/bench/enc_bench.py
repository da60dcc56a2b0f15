"""Benchmark of reading an encrypted library through seafs (not a test): the 256 MiB file of the
full demo's "Encrypted Big" (enc v2, unlocked with `seafs unlock`) next to the same file in
"Big File" (unencrypted), served by the reference server; medians of --runs runs.

  /usr/bin/python3 tests/bench/enc_bench.py [--runs 3] [--reads 200] [--seed 4096]

Rows, each for the encrypted and the plain file and their ratio: sequential read cold (fresh
mount and cache directory, page cache dropped) and warm (every block cached, page cache dropped);
--reads random 4 KiB reads (4 KiB-aligned offsets from a fixed seed) warm, and cold split into
the first read into each block (a miss: the block is downloaded) and the later reads into a
block already read (hits), with the block GETs of the cold run; the very first read of a cold
mount landing at 2 %, 50 % and 98 % of the file, each with its block GETs (an encrypted file
must first learn the plaintext lengths of the blocks on one side of it); and the time of
`seafs unlock` of "Encrypted Big" (enc v2, magic) and "Encrypted v4 argon2" (argon2id password
hash). Both files hold the same plaintext, cut into the same blocks, so the plain file's block
map tells which block a read falls into. Each run also checks (untimed) that both files read
back identical. Needs root (FUSE mounts, echo 3 > /proc/sys/vm/drop_caches). The demo data is
built on first use (seafserver.demo) and kept in /var/tmp/mountsuite, like fs_bench.py."""

import argparse
import random
import statistics
import sys
import time

# fs_bench also puts tests/server and tests/integration on sys.path.
from fs_bench import bench_session, drop_page_cache, random_reads, read_file, timed

from mount_fixture import block_gets, file_layout, file_sha1, unlock  # noqa: E402
from seafserver import demo  # noqa: E402

FILE = "random-256MiB.bin"
VARIANTS = (("encrypted", "Encrypted Big"), ("plain", "Big File"))
ARGON2_LIBRARY = "Encrypted v4 argon2"
READ_SIZE = 4096
MIB = 1 << 20
# Where in the file the first read of a cold mount lands (fraction of the file size).
FIRST_READ_AT = (("2 %", 0.02), ("middle", 0.5), ("98 %", 0.98))


def timed_unlock(mount, library):
    """Seconds `seafs unlock` of library took (the command exits once it is unlocked)."""
    started = time.perf_counter()
    done = unlock(mount, library)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit("enc_bench: seafs unlock %s failed (%d): %s"
                 % (library, done.returncode, done.stderr.strip()))
    return seconds


def blocks_touched(blocks, offset, length=READ_SIZE):
    """Indexes of the blocks ([(id, offset, size)]) that [offset, offset + length) overlaps."""
    return {i for i, (_, start, size) in enumerate(blocks)
            if start < offset + length and offset < start + size}


def split_first_reads(offsets, latencies, blocks):
    """(latencies of the reads touching a block no earlier read touched, of the other reads)."""
    seen, first, later = set(), [], []
    for offset, latency in zip(offsets, latencies):
        touched = blocks_touched(blocks, offset)
        (first if touched - seen else later).append(latency)
        seen |= touched
    return first, later


class EncBench:
    def __init__(self, server, mounts, offsets, blocks):
        self.server = server
        self.mounts = mounts
        self.offsets = offsets
        self.blocks = blocks  # the plaintext block map (the plain file's)
        self.size = sum(b[2] for b in blocks)
        self.digests = {}

    def mount(self, library):
        """(a started mount with a fresh cache directory, `library` unlocked if encrypted,
        seconds the unlock took or None)."""
        mount = self.mounts.mount()
        seconds = None
        if library in demo.ENCRYPTED_LIBRARIES:
            seconds = timed_unlock(mount, library)
        return mount, seconds

    def first_read(self, library, offset):
        """(ms, block GETs) of the first 4 KiB read of a cold mount, at offset."""
        mount, _ = self.mount(library)
        drop_page_cache()
        self.server.reset_counters()
        latency, = random_reads(mount.path(library, FILE), [offset // READ_SIZE * READ_SIZE])
        gets = sum(block_gets(self.server).values())
        self.mounts.unmount(mount)
        return latency * 1000, gets

    def run(self, library):
        """{row: (value, unit)} of one run over one library: five fresh mounts."""
        encrypted = library in demo.ENCRYPTED_LIBRARIES
        mount, unlock_seconds = self.mount(library)
        argon2_seconds = timed_unlock(mount, ARGON2_LIBRARY) if encrypted else None
        path = mount.path(library, FILE)
        drop_page_cache()
        cold_seq = self.size / timed(lambda: read_file(path)) / MIB
        drop_page_cache()
        warm_seq = self.size / timed(lambda: read_file(path)) / MIB
        drop_page_cache()
        warm_random = random_reads(path, self.offsets)
        self.digests.setdefault(library, set()).add(file_sha1(path))  # untimed, from the cache
        self.mounts.unmount(mount)

        mount, _ = self.mount(library)
        drop_page_cache()
        self.server.reset_counters()
        cold_random = random_reads(mount.path(library, FILE), self.offsets)
        cold_gets = sum(block_gets(self.server).values())
        self.mounts.unmount(mount)
        misses, hits = split_first_reads(self.offsets, cold_random, self.blocks)

        rows = {"sequential read, cold": (cold_seq, "MiB/s"),
                "sequential read, warm": (warm_seq, "MiB/s"),
                "random 4 KiB, warm, median": (statistics.median(warm_random) * 1000, "ms"),
                "random 4 KiB, warm, mean": (statistics.mean(warm_random) * 1000, "ms"),
                "random 4 KiB, cold, 1st in block, median":
                    (statistics.median(misses) * 1000, "ms"),
                "random 4 KiB, cold, 1st in block, mean": (statistics.mean(misses) * 1000, "ms"),
                "  reads that were 1st in a block": (len(misses), "reads"),
                "random 4 KiB, cold, later, median":
                    (statistics.median(hits) * 1000 if hits else float("nan"), "ms"),
                "  block GETs of the cold reads": (cold_gets, "GETs")}
        # The first read of a cold mount: an encrypted file's block positions must first be
        # learned from the padding of the blocks on one side of it, a plain file's come from
        # the block map.
        for name, fraction in FIRST_READ_AT:
            latency, gets = self.first_read(library, int(self.size * fraction))
            rows["first 4 KiB read, " + name] = (latency, "ms")
            rows["  block GETs for it (" + name + ")"] = (gets, "GETs")
        rows["seafs unlock, v2 (Encrypted Big)"] = (unlock_seconds, "s")
        rows["seafs unlock, v4 argon2id"] = (argon2_seconds, "s")
        return rows


def median_or_none(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def cell(value):
    return "%12s" % "-" if value is None else "%12.2f" % value


def print_table(results):
    print("%-42s %12s %12s  %-6s %s" % ("row", "encrypted", "plain", "unit", "encrypted/plain"))
    for row in results["encrypted"][0]:
        medians = {label: median_or_none(run[row][0] for run in runs)
                   for label, runs in results.items()}
        unit = results["encrypted"][0][row][1]
        ratio = ("%.2f" % (medians["encrypted"] / medians["plain"])
                 if medians["plain"] and medians["encrypted"] is not None else "")
        print("%-42s %s %s  %-6s %s" % (row, cell(medians["encrypted"]), cell(medians["plain"]),
                                        unit, ratio))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reads", type=int, default=200, help="random 4 KiB reads per run")
    parser.add_argument("--seed", type=int, default=4096, help="seed of the random offsets")
    args = parser.parse_args()
    started = time.perf_counter()
    with bench_session("enc_bench", poll_interval=0) as (ids, server, mounts):
        _, blocks = file_layout(server, ids["Big File"], "/" + FILE)
        _, encrypted_blocks = file_layout(server, demo.demo_repo_id("Encrypted Big"), "/" + FILE)
        if len(encrypted_blocks) != len(blocks):
            sys.exit("enc_bench: Encrypted Big has %d blocks, Big File %d: not the same cuts"
                     % (len(encrypted_blocks), len(blocks)))
        size = sum(b[2] for b in blocks)
        rng = random.Random(args.seed)
        offsets = [rng.randrange(size // READ_SIZE) * READ_SIZE for _ in range(args.reads)]
        bench = EncBench(server, mounts, offsets, blocks)
        results = {label: [] for label, _ in VARIANTS}
        for _ in range(args.runs):
            for label, library in VARIANTS:
                results[label].append(bench.run(library))
        print("setup + runs %.0f s; %d runs each, medians; %d random reads in %d blocks, seed %d"
              % (time.perf_counter() - started, args.runs, args.reads,
                 len(set().union(*(blocks_touched(blocks, o) for o in offsets))), args.seed))
        print_table(results)
        digests = set().union(*bench.digests.values())
        print("content: %s" % ("identical (sha1 %s)" % digests.pop() if len(digests) == 1
                               else "DIFFERS: %s" % bench.digests))


if __name__ == "__main__":
    main()
