"""Benchmark of writes through the seafs mount (not a test): real mounts over the full demo
served by the reference server, each figure next to a reference measured in the same run,
medians of --runs runs, and the daemon's peak RSS.

  /usr/bin/python3 tests/bench/write_bench.py [--runs 3] [--size-mib 1024] [--parallel 4]

Rows:
  - sequential write of --size-mib MiB into the mount vs the same write to the local disk (both
    1 MiB writes, then close; the page cache is not dropped: the mount's close returns once the
    data is durable against a crash of the daemon, the local one once the kernel has it);
  - time from that close until the commit is on the server, and the upload of the file's blocks
    (check-blocks answered to the last PUT block answered, from the server's request log) vs
    curl PUTting the same blocks with the same parallelism;
  - `tar x` of the demo's 10,000-file tree into a library vs the same extraction on the local
    disk; the commits it made; the time until everything is on the server;
  - a 4 KiB edit in the middle of the 256 MiB file with a cold cache: blocks downloaded and
    blocks uploaded;
  - the daemon's peak RSS over all of it.
"Everything is on the server" is read from the mount's journal (no entries and no upload under
way), independently of seafs's own commands. Needs root (FUSE)."""

import argparse
import io
import os
import pathlib
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from fs_bench import (BIG_FILE, BIG_LIBRARY, MANY_LIBRARY, bench_session, figure,  # noqa: E402
                      footer, row, timed)
from net_bench import api_token, sync_token  # noqa: E402
from seafserver import demo  # noqa: E402

MIB = 1 << 20
LIBRARY = "Demo"  # a writable library of the demo
SYNC_TIMEOUT_S = 900


def journal_pending(mount):
    """Rows and uploads left in the mount's journal (0, 0 once everything is on the server)."""
    path = pathlib.Path(mount.cache_dir, "journal.db")
    with sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=30) as db:
        entries = db.execute("SELECT count(*) FROM entries").fetchone()[0]
        uploads = db.execute("SELECT count(*) FROM uploads").fetchone()[0]
    return entries, uploads


def wait_synced(mount):
    """Seconds until the journal is empty (everything committed on the server)."""
    started = time.perf_counter()
    while journal_pending(mount) != (0, 0):
        if time.perf_counter() - started > SYNC_TIMEOUT_S:
            raise RuntimeError("changes still pending after %d s" % SYNC_TIMEOUT_S)
        time.sleep(0.05)
    return time.perf_counter() - started


def write_file(path, size, chunk):
    """size bytes of incompressible data that never repeats at block scale: chunk (random)
    with a stamp of the MiB's number at its start, so every block of the file is different
    (content-addressed storage would make a repeated MiB a single block)."""
    buf = bytearray(chunk)
    with open(path, "wb", buffering=0) as f:
        for i in range(size // len(buf)):
            buf[:16] = b"%016d" % i
            f.write(buf)


def head_commits(server, repo_id):
    """The number of commits in the library's history (first parents and merges)."""
    import json
    from seafserver.storage import Storage
    storage = Storage(server.storage or os.path.join(server.data_dir, "storage"))
    seen, todo = set(), [server.state()["libraries"][repo_id]["head"]]
    while todo:
        commit_id = todo.pop()
        if not commit_id or commit_id in seen:
            continue
        seen.add(commit_id)
        commit = json.loads(storage.read("commits", repo_id, commit_id))
        todo += [commit.get("parent_id"), commit.get("second_parent_id")]
    return len(seen)


class WriteBench:
    def __init__(self, args, server, ids, mounts):
        self.args = args
        self.server = server
        self.ids = ids
        self.mounts = mounts
        self.workdir = mounts.workdir
        self.repo = ids[LIBRARY]
        self.token = sync_token(server, self.repo, api_token(server))
        self.chunk = os.urandom(MIB)
        self.runs = 0
        self.local = self.workdir / "local"
        self.local.mkdir()
        # The 10,000-file tree as a tar archive, written once.
        tree = self.workdir / "tree"
        demo.write_source(MANY_LIBRARY, tree)
        self.tarball = self.workdir / "many.tar"
        with tarfile.open(self.tarball, "w") as tar:
            tar.add(tree, arcname="many")

    def sequential_write(self):
        """(seafs s, local s, close-to-commit s, upload s, curl upload s) of one run."""
        self.runs += 1
        size = self.args.size_mib * MIB
        self.chunk = os.urandom(MIB)  # new content each run: the server has the last run's
        local = timed(lambda: write_file(self.local / ("big-%d" % self.runs), size, self.chunk))
        os.unlink(self.local / ("big-%d" % self.runs))
        mount = self.mounts.mount()
        self.server.reset_counters()
        target = mount.path(LIBRARY, "big-%d" % self.runs)
        seafs = timed(lambda: write_file(target, size, self.chunk))
        to_commit = wait_synced(mount)
        # The upload's transfer: from the answer to check-blocks (the PUTs start right after it)
        # to the answer to the last block PUT (the server logs a request when it answers).
        log = self.server.log()
        checked = [e["time"] for e in log if e["route"] == "check-blocks"]
        puts = [e for e in log if e["method"] == "PUT" and e["route"] == "block"]
        upload = (max(e["time"] for e in puts) - min(checked)) if puts and checked \
            else float("nan")
        blocks = [e["path"].rstrip("/").rsplit("/", 1)[1] for e in puts]
        if not blocks:
            raise RuntimeError("no block was uploaded; requests seen: %s" % sorted(
                {"%s %s" % (e["method"], e["route"]) for e in log}))
        self.mounts.unmount(mount)
        return seafs, local, to_commit, upload, self.curl_put(blocks)

    def curl_put(self, blocks):
        """Seconds of PUTting the same blocks (read from the server's storage) with curl at the
        same parallelism seafs uses."""
        storage = pathlib.Path(self.server.storage or os.path.join(self.server.data_dir, "storage"))
        with tempfile.NamedTemporaryFile("w", suffix=".curl", delete=False) as config:
            for block in blocks:
                config.write('url = "%s/seafhttp/repo/%s/block/%s"\nupload-file = "%s"\n'
                             'output = "/dev/null"\n' % (
                                 self.server.url, self.repo, block,
                                 storage / "blocks" / self.repo / block[:2] / block[2:]))
        args = ["curl", "--no-progress-meter", "--fail", "-H", "Seafile-Repo-Token: " + self.token,
                "-H", "Expect:", "-K", config.name, "--parallel", "--parallel-max",
                str(self.args.parallel)]
        started = time.perf_counter()
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - started
        os.unlink(config.name)
        return seconds

    def tar_extract(self):
        """(seafs s, local s, commits made, s until synced after tar returned) of one run."""
        self.runs += 1
        local_dir = self.local / ("tar-%d" % self.runs)
        local_dir.mkdir()
        local = timed(lambda: subprocess.run(["tar", "xf", str(self.tarball), "-C",
                                              str(local_dir)], check=True))
        # Kept until the end: a mass delete just before a measurement slows the file creates
        # that follow on ext4 without a journal (it avoids reusing recently freed inodes).
        mount = self.mounts.mount()
        before = head_commits(self.server, self.repo)
        target = mount.path(LIBRARY, "tar-%d" % self.runs)
        os.mkdir(target)
        seafs = timed(lambda: subprocess.run(["tar", "xf", str(self.tarball), "-C", str(target)],
                                             check=True))
        synced = wait_synced(mount)
        commits = head_commits(self.server, self.repo) - before
        self.mounts.unmount(mount)
        return seafs, local, commits, synced

    def edit_in_place(self):
        """(blocks downloaded, blocks uploaded) of a 4 KiB edit at the middle of the 256 MiB
        file, cache cold."""
        mount = self.mounts.mount()
        self.server.reset_counters()
        path = mount.path(BIG_LIBRARY, BIG_FILE)
        with open(path, "r+b", buffering=0) as f:
            f.seek(128 * MIB + 12345)
            f.write(os.urandom(4096))
        wait_synced(mount)
        counters = self.server.counters()
        gets = sum(counters["block_gets"].values())
        puts = counters["by_route"].get("PUT block", 0)
        self.mounts.unmount(mount)
        return gets, puts


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--parallel", type=int, default=4,
                        help="seafs connections= and curl --parallel-max (default 4: seafs "
                             "uploads at most 4 blocks at once)")
    args = parser.parse_args()
    started = time.perf_counter()
    with bench_session("write_bench", connections=args.parallel, poll_interval=0,
                       upload_delay=1) as (ids, server, mounts):
        bench = WriteBench(args, server, ids, mounts)
        print("setup %.0f s; %d runs each, medians; %d connections / curl --parallel-max %d"
              % (time.perf_counter() - started, args.runs, args.parallel, args.parallel))
        print("%-34s %12s %12s  %-7s %6s  %-16s %s" % ("row", "seafs", "reference", "unit",
                                                       "ratio", "reference is", "target"))
        runs = [bench.sequential_write() for _ in range(args.runs)]
        seafs, local, to_commit, upload, curl = (statistics.median(c) for c in zip(*runs))
        size = args.size_mib
        row("sequential write %d MiB" % size, size / seafs, size / local, "MiB/s", "local disk",
            ">= 0.7")
        figure("  close -> commit on the server", to_commit, "s")
        row("upload of its blocks", size / upload, size / curl, "MiB/s", "curl PUT parallel",
            ">= 0.8")
        runs = [bench.tar_extract() for _ in range(args.runs)]
        seafs, local, commits, synced = (statistics.median(c) for c in zip(*runs))
        row("tar x 10,000 files", seafs, local, "s", "local disk", "<= 3")
        figure("  commits made (median)", commits, "", fmt="%12d")
        figure("  tar returned -> all on server", synced, "s")
        gets, puts = bench.edit_in_place()
        figure("4 KiB edit in 256 MiB: blocks down", gets, "blocks", "<= 1", "%12d")
        figure("4 KiB edit in 256 MiB: blocks up", puts, "blocks", "<= 2", "%12d")
        footer(mounts, started)

if __name__ == "__main__":
    main()
