"""Benchmark of metadata walks on a seafs mount (not a test): `ls -lR` of a library of 15,000
files in 1,011 folders (one of them with 5,000 entries) served by the reference server, cold
(a fresh cache) and warm (a remount over the cache: the daemon's memory and the kernel's caches
empty, the metadata on disk), each next to `ls -lR` of the same tree on the local disk with the
page cache dropped, medians of --runs runs; the requests each made; the daemon's peak
RSS with that library and with one ten times smaller (flat with library size?); and the
requests and sequential round trips of a mount, the first listing of the library and the cold
`ls -lR`, measured with --latency ms added to every request (so that requests in flight
together overlap in the server's log).

  [SEAFS_BUILD_DIR=build] /usr/bin/python3 tests/bench/meta_bench.py [--runs 3] [--latency 50]

Needs root (FUSE mounts, echo 3 > /proc/sys/vm/drop_caches). The libraries are built once into
their own data directory ($SEAFS_MOUNT_TEST_DATA or /var/tmp/mountsuite, meta-bench/), never
into the demo's."""

import argparse
import fcntl
import json
import os
import pathlib
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
from fs_bench import drop_page_cache, figure, row, timed  # noqa: E402
from mount_fixture import SeafsMount, ctl, demo_server  # noqa: E402
from seafserver import builder, demo  # noqa: E402
from seafserver.observe import sequential_round_trips  # noqa: E402
from seafserver.testing import write_json  # noqa: E402

DATA_VERSION = 1
LARGE, SMALL = "Metadata 15k", "Metadata 1.5k"
# name: (top folders, subfolders each, files in each subfolder, files in the wide folder)
SHAPES = {LARGE: (10, 100, 10, 5000), SMALL: (10, 10, 10, 500)}
PREFETCH_WAIT_S = 60


def write_tree(root, shape):
    """Top folders d00.. with subfolders s000.. of small files, and one wide folder: for LARGE
    10 + 1,000 + 1 = 1,011 folders and 10,000 + 5,000 = 15,000 files."""
    tops, subs, files, wide = shape
    for t in range(tops):
        for s in range(subs):
            folder = root / ("d%02d" % t) / ("s%03d" % s)
            folder.mkdir(parents=True)
            for f in range(files):
                (folder / ("f%02d.txt" % f)).write_bytes(b"file %d/%d/%d\n" % (t, s, f))
    (root / "wide").mkdir()
    for f in range(wide):
        (root / "wide" / ("w%05d.txt" % f)).write_bytes(b"wide %d\n" % f)


def bench_data():
    """(data dir, {name: repo id}) of the benchmark's own libraries, built on first use."""
    data = mount_fixture.DEMO_CACHE / "meta-bench"
    stamp = data / "stamp.json"
    ids = {name: "6d657461-0000-4000-8000-%012d" % i for i, name in enumerate(SHAPES)}
    data.parent.mkdir(parents=True, exist_ok=True)
    with open(str(data) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and json.loads(stamp.read_text()) == DATA_VERSION:
            return data, ids
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir()
        write_json(str(data / "state.json"), {"accounts": json.loads(json.dumps(demo.USERS)),
                                              "libraries": {}, "api_tokens": {},
                                              "repo_tokens": {}})
        for name, shape in SHAPES.items():
            with tempfile.TemporaryDirectory(dir=str(data)) as src:
                write_tree(pathlib.Path(src), shape)
                builder.create_library(str(data), name, demo.USER, src, repo_id=ids[name],
                                       ctime=demo.DEMO_CTIME, mtime=demo.DEMO_CTIME,
                                       block_size=1 << 20)
        stamp.write_text(json.dumps(DATA_VERSION))
    return data, ids


def peak_rss_kib(pid):
    status = pathlib.Path("/proc", str(pid), "status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines()
                if line.startswith("VmHWM:"))


def prefetch_state(mount, name):
    """The library's folders_prefetch state in `seafs status` (None when the build has none)."""
    done = ctl("status", mount.mountpoint, "--json")
    if done.returncode != 0:
        return None
    for lib in json.loads(done.stdout).get("libraries", []):
        if lib["name"] == name:
            return (lib.get("folders_prefetch") or {}).get("state")
    return None


def wait_quiet(server, mount, name):
    """Waits until the library's folders are all fetched (or, for a build without the bulk
    prefetch, until the server saw no request for a second)."""
    deadline = time.monotonic() + PREFETCH_WAIT_S
    last = -1
    while time.monotonic() < deadline:
        state = prefetch_state(mount, name)
        if state in ("done", "failed"):
            return
        count = server.counters()["requests"]
        if state is None and count == last:
            return
        last = count
        time.sleep(1 if state is None else 0.05)


class Bench:
    def __init__(self, server, ids, workdir, latency_ms):
        self.server = server
        self.ids = ids
        self.workdir = pathlib.Path(workdir)
        self.latency_ms = latency_ms
        self.count = 0
        self.peak = {}

    def mount(self):
        self.count += 1
        return SeafsMount(self.server.url, self.workdir / ("m%d" % self.count), poll_interval=0)

    def ls_lr(self, mount, name):
        subprocess.run(["ls", "-lR"], cwd=mount.path(name), check=True,
                       stdout=subprocess.DEVNULL)

    def local(self):
        """Seconds of `ls -lR` of the same tree on the local disk, page cache dropped."""
        local = self.workdir / "local"
        if not local.exists():
            local.mkdir()
            write_tree(local, SHAPES[LARGE])
        drop_page_cache()
        return timed(lambda: subprocess.run(["ls", "-lR"], cwd=local, check=True,
                                            stdout=subprocess.DEVNULL))

    def note_rss(self, name, mount):
        self.peak[name] = max(self.peak.get(name, 0), peak_rss_kib(mount.pid))

    def cold_and_warm(self, name=LARGE):
        """(cold s, warm s, cold requests, warm requests, bulk window s) of one run."""
        mount = self.mount()
        mount.start()
        try:
            drop_page_cache()
            self.server.reset_counters()
            cold = timed(lambda: self.ls_lr(mount, name))
            cold_requests = self.server.counters()["requests"]
            wait_quiet(self.server, mount, name)
            log = self.server.log()
            self.note_rss(name, mount)
        finally:
            mount.stop()
        listed = [e for e in log if "fs-id-list" in e["path"]]
        packs = [e for e in log if "/pack-fs/" in e["path"]]
        bulk = (max(e["time"] for e in packs) - listed[0]["start"]) if listed and packs else 0
        mount.start()
        try:
            drop_page_cache()
            self.server.reset_counters()
            warm = timed(lambda: self.ls_lr(mount, name))
            warm_requests = self.server.counters()["requests"]
            self.note_rss(name, mount)
        finally:
            mount.stop()
            mount.forget()
        return cold, warm, cold_requests, warm_requests, bulk, self.local()

    def round_trips(self):
        """{step: (requests, sequential round trips, seconds)} with latency added, for a mount
        with a stored token, the first listing of the library and its cold `ls -lR`."""
        mount = self.mount()
        mount.start()  # logs in: the token is stored for the mount measured
        mount.stop()
        shutil.rmtree(mount.cache_dir)
        steps = {}
        self.server.set_faults(latency_ms=self.latency_ms)
        try:
            for step, action in (
                    ("mount + listing of the mount point",
                     lambda: (mount.start(), os.listdir(mount.mountpoint))),
                    ("first listing of the library root",
                     lambda: os.listdir(mount.path(LARGE))),
                    ("ls -lR of the library, cold", lambda: self.ls_lr(mount, LARGE))):
                self.server.reset_counters()
                seconds = timed(action)
                ended = time.time()
                # The requests the step could have waited for: answered before it ended.
                log = [e for e in self.server.log() if e["time"] <= ended]
                steps[step] = (len(log), sequential_round_trips(log), seconds)
        finally:
            self.server.clear_faults()
            mount.stop()
        return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=int, default=50,
                        help="ms added to each request for the round-trip counts (default 50)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("meta_bench: needs root (FUSE mounts, dropping the page cache)")
    started = time.perf_counter()
    data, ids = bench_data()
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="meta_bench-", dir=str(data.parent)))
    server = demo_server(data, workdir / "server")
    try:
        bench = Bench(server, ids, workdir, args.latency)
        print("seafs: %s; setup %.0f s; %d runs, medians" % (
            mount_fixture.SEAFS, time.perf_counter() - started, args.runs))
        runs = [bench.cold_and_warm() for _ in range(args.runs)]
        cold, warm, cold_req, warm_req, bulk, local = (statistics.median(c) for c in zip(*runs))
        print("%-34s %12s %12s  %-7s %6s  %-16s %s" % ("row", "seafs", "reference", "unit",
                                                       "ratio", "reference is", "target"))
        row("ls -lR 15,000 files, cold", cold, local, "s", "local tree", "<= 1 s")
        row("ls -lR 15,000 files, warm", warm, local, "s", "local tree")
        row("ls -lR cold vs warm", cold, warm, "s", "warm", "<= 1.2 x warm + bulk")
        figure("  bulk folder fetch (window)", bulk, "s")
        figure("  requests, cold", cold_req, "", fmt="%12d")
        figure("  requests, warm", warm_req, "", fmt="%12d")
        print("  runs (cold s, warm s, cold req, warm req, bulk s, local s): %s" % "; ".join(
            "%.2f %.2f %d %d %.2f %.2f" % r for r in runs))
        print("  load average (1 min) after the runs: %.1f (2 cores)" % os.getloadavg()[0])
        bench.cold_and_warm(SMALL)
        for name in (SMALL, LARGE):
            figure("peak RSS, %s" % name, bench.peak[name] / 1024, "MiB", "flat", "%12.1f")
        for step, (requests, sequential, seconds) in bench.round_trips().items():
            print("%-40s %4d requests, %3d in sequence, %.2f s (+%d ms per request)"
                  % (step, requests, sequential, seconds, args.latency))
        print("total %.0f s" % (time.perf_counter() - started))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
