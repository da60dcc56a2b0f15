"""Benchmark of the seafs FUSE mount (not a test): real mounts over the full demo served by the
reference server, each figure next to its reference measured in the same run (plain curl
fetching the same blocks from the same server, or the same tree on the local disk), medians of
--runs runs, and the daemon's peak RSS.

  /usr/bin/python3 tests/bench/fs_bench.py [--runs 3] [--parallel 8] [--https] [--rows cold,warm]

Rows: cold sequential read of the 256 MiB file (and with 40 ms added latency) vs parallel curl;
warm sequential read (blocks cached, page cache dropped) vs a local file; cold random 4 KiB
read latency vs one curl block fetch; `tar` of the 10,000-file library vs the local tree and vs
curl; `ls -lR` / `find` of it cold and warm, and `ls -l` of the 20,000-entry folder warm, vs the
local trees. --https puts nginx in front of the server (tls_front.py: TLS with a self-signed CA,
HTTP/2 to the mounts and to curl, which then multiplexes its parallel fetches on one
connection); --rows picks rows (cold, latency, warm, random, tar, listings). Needs root for dropping the page cache (echo 3 > /proc/sys/vm/drop_caches). The
demo data is built on first use (seafserver.demo, ~1 minute) and kept in /var/tmp/mountsuite."""

import argparse
import contextlib
import json
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
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import mount_fixture  # noqa: E402
import pytest  # noqa: E402  (mount_fixture reports "cannot mount yet" as a pytest skip)
from mount_fixture import SeafsMount, block_bytes, demo_data, demo_server, file_layout  # noqa
from net_bench import api_token, curl_fetch, sync_token  # noqa: E402
from tls_front import nginx_front  # noqa: E402
from seafserver import builder, demo  # noqa: E402
from seafserver.objects import parse_stored_fs_object  # noqa: E402

BIG_LIBRARY, BIG_FILE = "Big File", "random-256MiB.bin"
MANY_LIBRARY, WIDE_LIBRARY, WIDE_DIR = "Many Files", "Wide Directory", "20000 entries"
RANDOM_READS = 16
LATENCY_MS = 40
MIB = 1 << 20


# --- measuring -----------------------------------------------------------------------------------

def drop_page_cache():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def timed(action):
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def read_file(path):
    with open(path, "rb", buffering=0) as f:
        while f.read(MIB):
            pass


def random_reads(path, offsets, size=4096):
    """Seconds of one `size`-byte pread at each offset, in order (the kernel told not to read
    ahead); a short read is an error."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        latencies = []
        for offset in offsets:
            started = time.perf_counter()
            data = os.pread(fd, size, offset)
            latencies.append(time.perf_counter() - started)
            if len(data) != size:
                raise RuntimeError("short read of %d bytes at %d in %s" % (len(data), offset, path))
    finally:
        os.close(fd)
    return latencies


def shell(command, cwd):
    subprocess.run(command, cwd=cwd, shell=True, check=True, stdout=subprocess.DEVNULL)


TAR = "tar cf - . | wc -c"  # through a pipe: GNU tar skips reading files when writing /dev/null
LS_LR = "ls -lR"
FIND = "find ."
LS_L = "ls -l"


class Mounts:
    """Fresh seafs mounts of one benchmark run, each with its own cache directory under workdir
    (mount()), stopped by unmount() (which records the daemon's peak RSS) or by cleanup()."""

    def __init__(self, tool, url, workdir, **options):
        self.tool = tool
        self.url = url
        self.workdir = pathlib.Path(workdir)
        self.options = options
        self.count = 0
        self.active = []
        self.peak_rss_kib = 0

    def mount(self):
        self.count += 1
        mount = SeafsMount(self.url, self.workdir / ("mount-%d" % self.count),
                           **self.options)
        self.active.append(mount)
        try:
            return mount.start()
        except pytest.skip.Exception as reason:
            sys.exit("%s: %s" % (self.tool, reason))

    def unmount(self, mount):
        status = pathlib.Path("/proc", str(mount.pid), "status").read_text()
        hwm = next(int(line.split()[1]) for line in status.splitlines()
                   if line.startswith("VmHWM:"))
        self.peak_rss_kib = max(self.peak_rss_kib, hwm)
        self.active.remove(mount)
        problem = mount.stop()
        if problem:
            print("warning: %s\n%s" % (problem, mount.log_tail()), file=sys.stderr)

    def cleanup(self):
        """Unmounts whatever an interrupted run left mounted."""
        for mount in self.active:
            mount.stop()
        self.active = []


@contextlib.contextmanager
def bench_session(tool, data=None, https=False, **mount_options):
    """(demo {name: repo id}, server over the full demo, Mounts with mount_options) for a
    benchmark run as root; data: a function giving other (data directory, {name: repo id}) to
    serve instead of the demo; https: the mounts go through an nginx front (server.front is
    then its (URL, CA file), else None). On exit every mount is stopped, then the server, and
    the work directory is removed."""
    if os.geteuid() != 0:
        sys.exit("%s: needs root (FUSE mounts, dropping the page cache)" % tool)
    data, ids = data() if data else demo_data(small=False)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix=tool + "-", dir=str(mount_fixture.DEMO_CACHE)))
    server = demo_server(data, workdir / "server")
    mounts = None
    try:
        with contextlib.ExitStack() as front:
            server.front = None
            if https:
                server.front = front.enter_context(nginx_front(server.url, workdir / "nginx"))
                mount_options["ca_file"] = server.front[1]
            mounts = Mounts(tool, server.front[0] if https else server.url, workdir,
                            **mount_options)
            try:
                yield ids, server, mounts
            finally:
                mounts.cleanup()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


class Bench:
    def __init__(self, args, server, ids, mounts):
        self.args = args
        self.server = server
        self.ids = ids
        self.mounts = mounts
        self.workdir = mounts.workdir
        self.tar_requests = []  # (block GETs, all requests) of each seafs tar run
        api = api_token(server)
        self.repo_tokens = {name: sync_token(server, ids[name], api)
                            for name in (BIG_LIBRARY, MANY_LIBRARY)}
        self.big_blocks = file_layout(server, ids[BIG_LIBRARY], "/" + BIG_FILE)[1]
        self.many_blocks = library_blocks(server, ids[MANY_LIBRARY])
        self.local = self.workdir / "local"
        self.local.mkdir()
        with open(self.local / BIG_FILE, "wb") as f:
            for block_id, _, _ in self.big_blocks:
                f.write(block_bytes(server, ids[BIG_LIBRARY], block_id))
        for name in (MANY_LIBRARY, WIDE_LIBRARY):
            demo.write_source(name, self.local / name)

    def mount(self):
        return self.mounts.mount()

    def unmount(self, mount):
        self.mounts.unmount(mount)

    def curl_seconds(self, library, blocks, parallel):
        """Seconds of fetching the blocks with curl, cold: the page cache (the server's reads
        of its block files included) is dropped first."""
        drop_page_cache()
        url, ca_file = self.server.front or (None, None)
        seconds, _, _ = curl_fetch(self.server, self.ids[library], [b[0] for b in blocks],
                                   self.repo_tokens[library], parallel, url, ca_file)
        return seconds

    # --- rows: each returns (seafs value, reference value) for one run --------------------------

    def cold_sequential(self):
        mount = self.mount()
        drop_page_cache()
        seconds = timed(lambda: read_file(mount.path(BIG_LIBRARY, BIG_FILE)))
        self.unmount(mount)
        size = sum(b[2] for b in self.big_blocks)
        return size / seconds / MIB, size / self.curl_seconds(
            BIG_LIBRARY, self.big_blocks, self.args.parallel) / MIB

    def cold_sequential_latency(self):
        self.server.set_faults(latency_ms=LATENCY_MS)
        try:
            return self.cold_sequential()
        finally:
            self.server.clear_faults()

    def warm_sequential(self):
        mount = self.mount()
        read_file(mount.path(BIG_LIBRARY, BIG_FILE))
        drop_page_cache()
        seconds = timed(lambda: read_file(mount.path(BIG_LIBRARY, BIG_FILE)))
        self.unmount(mount)
        drop_page_cache()
        local = timed(lambda: read_file(self.local / BIG_FILE))
        size = sum(b[2] for b in self.big_blocks)
        return size / seconds / MIB, size / local / MIB

    def cold_random_4k(self):
        rng = random.Random(4096 + self.mounts.count)
        size = sum(b[2] for b in self.big_blocks)
        offsets = [rng.randrange(0, size // 4096) * 4096 for _ in range(RANDOM_READS)]
        mount = self.mount()
        drop_page_cache()
        latencies = random_reads(mount.path(BIG_LIBRARY, BIG_FILE), offsets)
        self.unmount(mount)
        blocks = [next(b for b in self.big_blocks if b[1] <= o < b[1] + b[2]) for o in offsets]
        curl = [self.curl_seconds(BIG_LIBRARY, [b], 1) for b in blocks]
        return statistics.median(latencies) * 1000, statistics.median(curl) * 1000

    def tar_many(self):
        """(seafs s, local s, curl parallel s, curl sequential s) of reading every file of the
        10,000-file library."""
        mount = self.mount()
        drop_page_cache()
        self.server.reset_counters()
        seconds = timed(lambda: shell(TAR, mount.path(MANY_LIBRARY)))
        counters = self.server.counters()
        self.tar_requests.append((sum(counters["block_gets"].values()), counters["requests"]))
        self.unmount(mount)
        drop_page_cache()
        local = timed(lambda: shell(TAR, self.local / MANY_LIBRARY))
        return (seconds, local,
                self.curl_seconds(MANY_LIBRARY, self.many_blocks, self.args.parallel),
                self.curl_seconds(MANY_LIBRARY, self.many_blocks, 1))

    def listings(self):
        """{row: (seafs s, local s)} of the metadata walks: each cold one on a fresh mount (and
        after dropping the page cache for the local tree), then the same again warm."""
        walks = ((LS_LR, (MANY_LIBRARY,)), (FIND, (MANY_LIBRARY,)),
                 (LS_L, (WIDE_LIBRARY, WIDE_DIR)))
        rows = {}
        for command, where in walks:
            name = command if command != LS_L else "ls -l 20,000 entries"
            mount = self.mount()
            drop_page_cache()
            seafs = [timed(lambda: shell(command, mount.path(*where))) for _ in range(2)]
            self.unmount(mount)
            drop_page_cache()
            local = [timed(lambda: shell(command, self.local.joinpath(*where)))
                     for _ in range(2)]
            rows[name + " cold"] = (seafs[0], local[0])
            rows[name + " warm"] = (seafs[1], local[1])
        return rows


def library_blocks(server, repo_id):
    """[(block id, 0, size)] of every block of every file in a library (sizes from the storage's
    block files)."""
    storage = server.open_storage()  # the server's, over the demo's base storage
    head = server.state()["libraries"][repo_id]["head"]
    root_id = json.loads(storage.read("commits", repo_id, head))["root_id"]
    blocks = {}
    for dirent in builder.tree_entries(storage, repo_id, root_id).values():
        if dirent.is_dir or dirent.size == 0:
            continue
        for block_id in parse_stored_fs_object(storage.read("fs", repo_id, dirent.id)).block_ids:
            blocks[block_id] = storage.size("blocks", repo_id, block_id)
    return [(block_id, 0, size) for block_id, size in sorted(blocks.items())]


# --- the table ---------------------------------------------------------------------------------

def median_runs(runs, measure):
    results = [measure() for _ in range(runs)]
    return [statistics.median(column) for column in zip(*results)], results


def row(name, value, reference, unit, ref_name, target=""):
    ratio = value / reference if reference else float("nan")
    print("%-34s %12.2f %12.2f  %-7s %6.2f  %-16s %s" % (name, value, reference, unit, ratio,
                                                        ref_name, target))


def figure(name, value, unit, target="", fmt="%12.2f"):
    """A row without a reference to compare with."""
    print(("%-34s " + fmt + " %12s  %-7s %6s  %-16s %s") % (name, value, "", unit, "", "", target))


def footer(mounts, started):
    """The daemons' peak memory and the run's totals."""
    figure("daemon peak RSS (VmHWM), max", mounts.peak_rss_kib / 1024, "MiB", "< 100 MiB",
           "%12.1f")
    print("total %.0f s, %d mounts" % (time.perf_counter() - started, mounts.count))


ROWS = ("cold", "latency", "warm", "random", "tar", "listings")


def load():
    """The 1-minute load average (other work on the machine skews the figures)."""
    return os.getloadavg()[0]


def runs_text(results):
    """Every run's seafs value and its ratio to the reference, for judging the spread."""
    return "runs: " + ", ".join("%.1f (%.2f)" % (r[0], r[0] / r[1] if r[1] else float("nan"))
                                for r in results)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=8,
                        help="seafs connections= and curl --parallel-max (default 8)")
    parser.add_argument("--https", action="store_true",
                        help="through an nginx TLS front speaking HTTP/2 (tls_front.py)")
    parser.add_argument("--rows", default=",".join(ROWS),
                        help="comma-separated subset of: " + ", ".join(ROWS))
    args = parser.parse_args()
    rows = set(args.rows.split(","))
    if not rows <= set(ROWS):
        parser.error("unknown rows: %s" % ", ".join(sorted(rows - set(ROWS))))
    started = time.perf_counter()
    with bench_session("fs_bench", https=args.https, connections=args.parallel,
                       poll_interval=0) as (ids, server, mounts):
        bench = Bench(args, server, ids, mounts)
        print("setup %.0f s; %d runs each, medians; %d connections / curl --parallel-max %d; %s; "
              "load %.2f" % (time.perf_counter() - started, args.runs, args.parallel,
                             args.parallel, "https (nginx, HTTP/2)" if args.https else "http",
                             load()))
        print("%-34s %12s %12s  %-7s %6s  %-16s %s" % ("row", "seafs", "reference", "unit",
                                                       "ratio", "reference is", "target"))
        if "cold" in rows:
            (value, ref), results = median_runs(args.runs, bench.cold_sequential)
            row("cold sequential 256 MiB", value, ref, "MiB/s", "curl parallel", ">= 0.8")
            print("  %s; load %.2f" % (runs_text(results), load()))
        if "latency" in rows:
            (value, ref), results = median_runs(args.runs, bench.cold_sequential_latency)
            row("cold sequential, +%d ms latency" % LATENCY_MS, value, ref, "MiB/s",
                "curl parallel", ">= 0.7")
            print("  %s; load %.2f" % (runs_text(results), load()))
        if "warm" in rows:
            (value, ref), results = median_runs(args.runs, bench.warm_sequential)
            row("warm sequential (page cache dropped)", value, ref, "MiB/s", "local file",
                ">= 0.6")
            print("  %s; load %.2f" % (runs_text(results), load()))
        if "random" in rows:
            (value, ref), _ = median_runs(args.runs, bench.cold_random_4k)
            row("cold random 4 KiB read", value, ref, "ms", "curl 1 block")
        if "tar" in rows:
            (value, local, curl, curl_one), _ = median_runs(args.runs, bench.tar_many)
            row("tar 10,000 files (cold)", value, local, "s", "local tree")
            row("tar 10,000 files (cold)", value, curl, "s", "curl parallel")
            row("tar 10,000 files (cold)", value, curl_one, "s", "curl sequential")
            print("%-34s %s (the library has %d blocks)" % (
                "  tar: block GETs / all requests", ", ".join("%d / %d" % r for r in
                                                              bench.tar_requests),
                len(bench.many_blocks)))
        if "listings" in rows:
            listings = [bench.listings() for _ in range(args.runs)]
            for name in listings[0]:
                value = statistics.median(run[name][0] for run in listings)
                local = statistics.median(run[name][1] for run in listings)
                row(name, value, local, "s", "local tree", "<= 3" if "warm" in name else "")
        footer(mounts, started)


if __name__ == "__main__":
    main()
