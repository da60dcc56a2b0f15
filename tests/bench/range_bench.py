"""Benchmark of byte-range reads (not a test: prints figures, asserts nothing): cold small reads
through fresh seafs mounts of the small demo, range_reads=auto vs off, on a slow link made by
the reference server's faults (10 Mbit/s and 150 ms added to every request; `tc netem` on the
loopback device would slow every other user of this machine too), and on the bare loopback
link. Medians of --runs runs, each on a fresh mount (empty cache); "bytes" is everything the
server sent for the reads (headers, download links and the Seahub answer included).

  /usr/bin/python3 tests/bench/range_bench.py [--runs 3]

Rows: `head -c 4096` of the 12 MiB file (blocks of 10 and 2 MiB) and of a 300 KB photo (one
block), and 4 random 4 KiB reads spread over the 12 MiB file (one descriptor, no kernel
read-ahead). Needs root (FUSE mounts); the demo data is built on first use in
/var/tmp/mountsuite."""

import argparse
import os
import pathlib
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))
sys.path.insert(0, str(ROOT / "tests" / "integration"))

import mount_fixture  # noqa: E402
import pytest  # noqa: E402  (mount_fixture reports "cannot mount yet" as a pytest skip)
from mount_fixture import SeafsMount, demo_data, demo_server  # noqa: E402

LARGE = ("Demo", "large", "twelve-MiB.bin")
PHOTO = ("Demo", "photos 2024", "img 002.jpg")
LARGE_SIZE = 12 << 20
PROFILES = {"10 Mbit/s +150 ms": {"latency_ms": 150, "bandwidth_bps": 1_250_000},
            "loopback": {}}
RANDOM_OFFSETS = sorted(random.Random(4096).sample(range(0, LARGE_SIZE - 4096, 4096), 4))


def head(path):
    subprocess.run(["head", "-c", "4096", str(path)], check=True, stdout=subprocess.DEVNULL)


def random_reads(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        for offset in RANDOM_OFFSETS:
            if len(os.pread(fd, 4096, offset)) != 4096:
                raise RuntimeError("short read at %d" % offset)
    finally:
        os.close(fd)


class Session:
    def __init__(self, server, workdir):
        self.server = server
        self.workdir = pathlib.Path(workdir)
        self.count = 0

    def measure(self, faults, mode, parts, action):
        """(seconds, bytes sent by the server) of action(path) on a fresh mount, the path
        looked up (stat) before the clock starts."""
        self.count += 1
        self.server.clear_faults()
        self.server.set_faults(**faults)
        mount = SeafsMount(self.server.url, self.workdir / ("m%d" % self.count),
                           range_reads=mode, poll_interval=0)
        try:
            mount.start()
        except pytest.skip.Exception as reason:
            sys.exit("range_bench: %s" % reason)
        try:
            path = mount.path(*parts)
            os.stat(path)
            self.server.reset_counters()
            started = time.perf_counter()
            action(path)
            seconds = time.perf_counter() - started
            counters = self.server.counters()
        finally:
            self.server.clear_faults()
            problem = mount.stop()
            if problem:
                print("warning: %s" % problem, file=sys.stderr)
            shutil.rmtree(mount.workdir, ignore_errors=True)
        return seconds, counters["bytes_sent"], counters["range_gets"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("range_bench: needs root (FUSE mounts)")
    data, _ids = demo_data(small=True)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="range_bench-", dir=str(mount_fixture.DEMO_CACHE)))
    server = demo_server(data, workdir / "server")
    rows = [("head -c 4096, 12 MiB file", LARGE, head),
            ("head -c 4096, 300 KB photo", PHOTO, head),
            ("4 random 4 KiB reads, 12 MiB", LARGE, random_reads)]
    started = time.perf_counter()
    try:
        session = Session(server, workdir)
        print("%d runs each, medians; fresh mount (empty cache) per run" % args.runs)
        print("%-18s %-29s %-6s %9s %12s %7s" % ("link", "reads", "ranges", "seconds", "bytes",
                                                 "ranges"))
        for profile, faults in PROFILES.items():
            for name, parts, action in rows:
                for mode in ("auto", "off"):
                    runs = [session.measure(faults, mode, parts, action) for _ in range(args.runs)]
                    print("%-18s %-29s %-6s %9.2f %12d %7d" % (
                        profile, name, mode, statistics.median(r[0] for r in runs),
                        statistics.median(r[1] for r in runs),
                        statistics.median(r[2] for r in runs)))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print("total %.0f s" % (time.perf_counter() - started))


if __name__ == "__main__":
    main()
