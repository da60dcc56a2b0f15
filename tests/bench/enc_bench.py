"""Benchmark of reading an encrypted library through seafs (not a test): the 256 MiB file of the
full demo's "Encrypted Big" (enc v2, unlocked with `seafs unlock`) next to the same file in
"Big File" (unencrypted), served by the reference server; medians of --runs runs.

  /usr/bin/python3 tests/bench/enc_bench.py [--runs 3] [--reads 200] [--seed 4096]

Rows, each for the encrypted and the plain file and their ratio: sequential read cold (fresh
mount and cache directory, page cache dropped) and warm (every block cached, page cache dropped),
and --reads random 4 KiB reads (4 KiB-aligned offsets from a fixed seed) cold and warm, as the
median and mean latency of one read, and the very first read of a cold mount landing in the
middle of the file (with its block downloads: an encrypted file must first learn the plaintext
lengths of the blocks on one side of it). Each run also checks (untimed) that both files read back
identical. Needs root (FUSE mounts, echo 3 > /proc/sys/vm/drop_caches). The demo data is built
on first use (seafserver.demo) and kept in /var/tmp/mountsuite, like fs_bench.py."""

import argparse
import os
import pathlib
import random
import shutil
import statistics
import sys
import tempfile
import time

from fs_bench import drop_page_cache, read_file, timed  # also puts tests/server and tests/integration on sys.path

import mount_fixture  # noqa: E402
import pytest  # noqa: E402  (mount_fixture reports "cannot mount yet" as a pytest skip)
from mount_fixture import (SeafsMount, block_gets, demo_data, demo_server,  # noqa: E402
                           file_layout, file_sha1, unlock)
from seafserver import demo  # noqa: E402

FILE = "random-256MiB.bin"
VARIANTS = (("encrypted", "Encrypted Big"), ("plain", "Big File"))
READ_SIZE = 4096
MIB = 1 << 20


def random_reads(path, offsets):
    """(median, mean) seconds of one 4 KiB pread at each offset (the kernel told not to read
    ahead). Cold, the median is a read from a block already fetched and the mean includes the
    fetches."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        latencies = []
        for offset in offsets:
            started = time.perf_counter()
            data = os.pread(fd, READ_SIZE, offset)
            latencies.append(time.perf_counter() - started)
            if len(data) != READ_SIZE:
                raise RuntimeError("short read of %d bytes at %d in %s" % (len(data), offset, path))
    finally:
        os.close(fd)
    return statistics.median(latencies), statistics.mean(latencies)


class EncBench:
    def __init__(self, server, workdir, offsets):
        self.server = server
        self.workdir = pathlib.Path(workdir)
        self.offsets = offsets
        self.mounts = []
        self.digests = {}

    def mount(self, library):
        """A started mount with a fresh cache directory, `library` unlocked if encrypted."""
        mount = SeafsMount(self.server.url, self.workdir / ("mount-%d" % len(self.mounts)),
                           poll_interval=0)
        self.mounts.append(mount)
        try:
            mount.start()
        except pytest.skip.Exception as reason:
            sys.exit("enc_bench: %s" % reason)
        if library in demo.ENCRYPTED_LIBRARIES:
            done = unlock(mount, library)
            if done.returncode != 0:
                sys.exit("enc_bench: seafs unlock %s failed (%d): %s"
                         % (library, done.returncode, done.stderr.strip()))
        return mount

    def unmount(self, mount):
        problem = mount.stop()
        if problem:
            print("warning: %s\n%s" % (problem, mount.log_tail()), file=sys.stderr)

    def run(self, library):
        """{row: value} of one run over one library: two fresh mounts."""
        mount = self.mount(library)
        path = mount.path(library, FILE)
        size = os.path.getsize(path)
        drop_page_cache()
        cold_seq = size / timed(lambda: read_file(path)) / MIB
        drop_page_cache()
        warm_seq = size / timed(lambda: read_file(path)) / MIB
        drop_page_cache()
        warm_random = random_reads(path, self.offsets)
        self.digests.setdefault(library, set()).add(file_sha1(path))  # untimed, from the cache
        self.unmount(mount)

        mount = self.mount(library)
        drop_page_cache()
        cold_random = random_reads(mount.path(library, FILE), self.offsets)
        self.unmount(mount)

        # The first read lands in the middle of a file nothing of which is cached: an encrypted
        # file's block positions must first be learned from the padding of the blocks on one
        # side (about half the file), a plain file's come from the block map.
        mount = self.mount(library)
        drop_page_cache()
        self.server.reset_counters()
        first_middle = random_reads(mount.path(library, FILE), [size // 2 // READ_SIZE * READ_SIZE])
        middle_gets = sum(block_gets(self.server).values())
        self.unmount(mount)
        return {"sequential read, cold": (cold_seq, "MiB/s"),
                "sequential read, warm": (warm_seq, "MiB/s"),
                "random 4 KiB, cold, median": (cold_random[0] * 1000, "ms"),
                "random 4 KiB, cold, mean": (cold_random[1] * 1000, "ms"),
                "random 4 KiB, warm, median": (warm_random[0] * 1000, "ms"),
                "random 4 KiB, warm, mean": (warm_random[1] * 1000, "ms"),
                "first 4 KiB read, middle": (first_middle[0] * 1000, "ms"),
                "  block GETs for it": (middle_gets, "GETs")}

    def cleanup(self):
        for mount in self.mounts:
            mount.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reads", type=int, default=200, help="random 4 KiB reads per run")
    parser.add_argument("--seed", type=int, default=4096, help="seed of the random offsets")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("enc_bench: needs root (FUSE mounts, dropping the page cache)")
    started = time.perf_counter()
    data, _ = demo_data(small=False)
    workdir = tempfile.mkdtemp(prefix="encbench-", dir=str(mount_fixture.DEMO_CACHE))
    server = demo_server(data, pathlib.Path(workdir) / "server")
    bench = None
    try:
        size = sum(block[2] for block in file_layout(server, demo.demo_repo_id("Big File"),
                                                     "/" + FILE)[1])
        rng = random.Random(args.seed)
        offsets = [rng.randrange(size // READ_SIZE) * READ_SIZE for _ in range(args.reads)]
        bench = EncBench(server, workdir, offsets)
        results = {label: [] for label, _ in VARIANTS}
        for _ in range(args.runs):
            for label, library in VARIANTS:
                results[label].append(bench.run(library))
        print("setup + runs %.0f s; %d runs each, medians; %d random reads, seed %d"
              % (time.perf_counter() - started, args.runs, args.reads, args.seed))
        print("%-26s %12s %12s  %-6s %s" % ("row", "encrypted", "plain", "unit",
                                            "encrypted/plain"))
        for row in results["plain"][0]:
            medians = {label: statistics.median(run[row][0] for run in runs)
                       for label, runs in results.items()}
            unit = results["plain"][0][row][1]
            print("%-26s %12.2f %12.2f  %-6s %.2f" % (row, medians["encrypted"],
                                                      medians["plain"], unit,
                                                      medians["encrypted"] / medians["plain"]))
        digests = set().union(*bench.digests.values())
        print("content: %s" % ("identical (sha1 %s)" % digests.pop() if len(digests) == 1
                               else "DIFFERS: %s" % bench.digests))
    finally:
        if bench:
            bench.cleanup()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
