"""Benchmark of seafs on far and slow links (not a test: prints figures, asserts nothing): the
same rows over plain HTTP and over HTTPS with HTTP/2 (nginx in front of the reference server:
tls_front.py, a self-signed CA given to seafs as ca_file and to curl as --cacert), at three links: loopback;
40 ms RTT at 50 Mbit/s; 150 ms RTT at 10 Mbit/s (link_proxy.py in front of the server or of
nginx: one shared link, so that TCP and TLS handshakes pay their round trips), with
range_reads=auto (the default) and off. Every run is cold: a fresh mount with an empty cache,
the page cache dropped. Medians of --runs runs (--off-runs for range_reads=off); bytes are what
the server sent (its counters: headers, listings, blocks, ranges), which the machine's load
does not change.

  [SEAFS_BUILD_DIR=build] /usr/bin/python3 tests/bench/link_bench.py [--runs 3] [--off-runs 1]
      [--quick] [--profiles loopback,40ms,150ms] [--transports http,https] [--modes auto,off]
      [--rows head,random,ffprobe,identify,mediahead,seq,mount,ls15k,ls150k,tar]

Rows (data: link_data.py, built on first use):
  head     head -c 4096 of the 256 MiB file (looked up before the clock starts)
  random   one 4 KiB pread at a random offset of it (no kernel read-ahead)
  ffprobe  ffprobe of the 4 MP4s of Media/Camera Roll (2 with the moov index at the end)
  identify ImageMagick's identify of its 3 JPEGs
  mediahead  head -c 4096 of its 7 files
     target of these five: bytes <= 4 x what the programs read (strace, read calls and mmap
     lengths, measured once), time <= per file 2 RTT + those bytes at the link's rate
  seq      cold sequential read of a file of 256 MiB (loopback), 64 MiB (40 ms) or 32 MiB
           (150 ms) vs curl fetching its blocks with the same parallelism (--parallel, seafs'
           connections=) over the same link and transport; target >= 0.8 x curl's rate
  mount    mount, then list the mount point and a library's root
  ls15k    ls -lR of a cold tree of 15,000 files in 1,000 folders
  ls150k   the same with 150,000 files in 10,000 folders
  tar      tar of 1,000 small files (2-16 KiB) vs curl fetching their blocks, same parallelism

--quick: 1 run, no range_reads=off rows except head/random/media, no ls150k. Needs root (FUSE,
dropping the page cache), nginx (nginx-light), ffmpeg, imagemagick, strace, python3-pil,
exiftool: bash tests/bench/install-deps.sh."""

import argparse
import contextlib
import os
import pathlib
import random
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parents[2]
for part in ("server", "integration", "bench"):
    sys.path.insert(0, str(ROOT / "tests" / part))

import fm_media  # noqa: E402
import link_data  # noqa: E402
import mount_fixture  # noqa: E402
from fm_bench import traced_bytes  # noqa: E402
from fs_bench import (TAR, Mounts, bench_session, drop_page_cache, library_blocks,  # noqa: E402
                      random_reads, read_file, timed)
from mount_fixture import file_layout  # noqa: E402
from net_bench import api_token, curl_fetch, sync_token  # noqa: E402
from tls_front import free_port, nginx_front, wait_listening  # noqa: E402

MIB = 1 << 20
# name: (RTT ms, Mbit/s, size of the sequential row's file in MiB); 0 Mbit/s: no proxy
PROFILES = {"loopback": (0, 0, 256), "40ms": (40, 50, 64), "150ms": (150, 10, 32)}
PROFILE_NAMES = {"loopback": "loopback", "40ms": "40 ms, 50 Mbit/s",
                 "150ms": "150 ms, 10 Mbit/s"}
TRANSPORTS = {"http": "plain HTTP/1.1", "https": "HTTPS, HTTP/2 (nginx, self-signed CA)"}
ROWS = ("head", "random", "ffprobe", "identify", "mediahead", "seq", "mount", "ls15k", "ls150k",
        "tar")
SMALL_READ_ROWS = ("head", "random", "ffprobe", "identify", "mediahead")
ROW_NAMES = {"head": "head -c 4096, 256 MiB file", "random": "4 KiB at a random offset",
             "ffprobe": "ffprobe, 4 MP4s", "identify": "identify, 3 JPEGs",
             "mediahead": "head -c 4096, 7 media files", "seq": "sequential read",
             "mount": "mount + first listings", "ls15k": "ls -lR 15,000 files",
             "ls150k": "ls -lR 150,000 files", "tar": "tar 1,000 small files"}
TOOLS = ("nginx", "ffprobe", "identify", "strace", "curl", "head", "tar")
HEAD = ["head", "-c", "4096"]
FFPROBE = ["ffprobe", "-v", "error", "-show_format", "-show_streams"]
IDENTIFY = ["identify"]


class Frontends:
    """The ways to the server: plain HTTP directly, HTTPS through one nginx, each behind a
    link_proxy.py per far profile; started on first use, stopped by close()."""

    def __init__(self, server, workdir):
        self.server = server
        self.workdir = pathlib.Path(workdir)
        self.processes = []
        self.ports = {}
        self.cert = None
        self.tls_port = None
        self.stack = contextlib.ExitStack()

    def _start(self, command, port, what):
        log_path = self.workdir / ("%s-%d.log" % (what, port))
        with open(log_path, "ab") as log:
            process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=log)
        self.processes.append(process)
        wait_listening(port, process, log_path)

    def _tls(self):
        if self.tls_port is None:
            url, self.cert = self.stack.enter_context(
                nginx_front(self.server.url, self.workdir / "tls"))
            self.tls_port = urllib.parse.urlsplit(url).port
        return self.tls_port

    def protocols(self):
        """{protocol: requests} the TLS front answered so far (HTTP/2.0 or HTTP/1.1)."""
        counts = {}
        log = self.workdir / "tls" / "access.log"
        if self.tls_port is not None and log.exists():
            for line in log.read_text().splitlines():
                protocol = line.split()[0]
                counts[protocol] = counts.get(protocol, 0) + 1
        return counts

    def port(self, transport, profile):
        key = (transport, profile)
        if key not in self.ports:
            target = self._tls() if transport == "https" else self.server.port
            rtt, mbit, _ = PROFILES[profile]
            if not mbit:
                self.ports[key] = target
            else:
                port = free_port()
                self._start(["/usr/bin/python3", str(ROOT / "tests/bench/link_proxy.py"),
                             "--target", str(target), "--port", str(port), "--rtt-ms", str(rtt),
                             "--mbit", str(mbit)], port, "link_proxy")
                self.ports[key] = port
        return self.ports[key]

    def url(self, transport, profile):
        return "%s://127.0.0.1:%d" % (transport, self.port(transport, profile))

    def mount_options(self, transport):
        return {"ca_file": self.cert} if transport == "https" else {}

    def curl_options(self, transport):
        return ["--http2", "--cacert", str(self.cert)] if transport == "https" else []

    def close(self):
        self.stack.close()
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []


class Cell:
    """One transport x profile x range_reads mode: fresh mounts through that frontend."""

    def __init__(self, bench, transport, profile, mode):
        self.bench = bench
        self.transport, self.profile, self.mode = transport, profile, mode
        self.rtt = PROFILES[profile][0] / 1000.0
        self.rate = PROFILES[profile][1] * 1e6 / 8
        url = bench.frontends.url(transport, profile)
        self.url = url
        workdir = bench.workdir / ("%s-%s-%s" % (transport, profile, mode))
        self.mounts = Mounts("link_bench", url, workdir, poll_interval=0,
                             range_reads=mode, connections=bench.args.parallel,
                             **bench.frontends.mount_options(transport))

    def fresh(self):
        return self.mounts.mount()

    def done(self, mount):
        self.mounts.unmount(mount)
        shutil.rmtree(mount.workdir, ignore_errors=True)

    def measured(self, action):
        """(seconds, server bytes) of action() with the page cache dropped first."""
        server = self.bench.server
        drop_page_cache()
        server.reset_counters()
        seconds = timed(action)
        return seconds, server.counters()["bytes_sent"]

    # --- rows: each returns (seconds, bytes) of one cold run ------------------------------------

    def small_read(self, parts, action):
        mount = self.fresh()
        path = mount.path(*parts)
        os.stat(path)
        try:
            return self.measured(lambda: action(path))
        finally:
            self.done(mount)

    def head(self):
        return self.small_read(self.bench.big_parts(256), lambda path: run(HEAD + [path]))

    def random(self):
        offset = self.bench.random_offset()
        return self.small_read(self.bench.big_parts(256),
                               lambda path: random_reads(path, [offset]))

    def media(self, command, names):
        mount = self.fresh()
        folder = mount.path(link_data.MEDIA, fm_media.FOLDER)
        files = [folder / name for name in names]
        for path in files:
            os.stat(path)
        try:
            return self.measured(lambda: [run(command + [path]) for path in files])
        finally:
            self.done(mount)

    def ffprobe(self):
        return self.media(FFPROBE, self.bench.videos)

    def identify(self):
        return self.media(IDENTIFY, self.bench.photos)

    def mediahead(self):
        return self.media(HEAD, self.bench.videos + self.bench.photos)

    def seq(self):
        """(seconds, bytes, curl seconds, curl bytes)."""
        mib = self.bench.seq_mib(self.profile)
        seconds, sent = self.small_read(self.bench.big_parts(mib), read_file)
        curl_seconds, curl_sent = self.curl(link_data.BIG, self.bench.big_blocks[mib])
        return seconds, sent, curl_seconds, curl_sent

    def curl(self, library, blocks):
        bench = self.bench
        drop_page_cache()
        seconds, _, _ = curl_fetch(bench.server, bench.ids[library], [b[0] for b in blocks],
                                   bench.repo_tokens[library], bench.args.parallel,
                                   url=self.url,
                                   options=bench.frontends.curl_options(self.transport))
        return seconds, bench.server.counters()["bytes_sent"]

    def mount(self):
        mounts = self.mounts
        holder = {}

        def mount_and_list():
            holder["mount"] = mount = mounts.mount()
            os.listdir(mount.mountpoint)
            os.listdir(mount.path(link_data.TREE))

        try:
            return self.measured(mount_and_list)
        finally:
            if "mount" in holder:
                self.done(holder["mount"])

    def walk(self, library, command):
        mount = self.fresh()
        try:
            return self.measured(lambda: shell(command, mount.path(library)))
        finally:
            self.done(mount)

    def ls15k(self):
        return self.walk(link_data.TREE, "ls -lR")

    def ls150k(self):
        return self.walk(link_data.TREE10, "ls -lR")

    def tar(self):
        """(seconds, bytes, curl seconds, curl bytes)."""
        seconds, sent = self.walk(link_data.SMALL, TAR)
        curl_seconds, curl_sent = self.curl(link_data.SMALL, self.bench.small_blocks)
        return seconds, sent, curl_seconds, curl_sent


def binary_stamp():
    """The seafs binary's modification time and size, to tell whether it changed mid-run."""
    info = os.stat(mount_fixture.SEAFS)
    return "%s, %d bytes" % (time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(info.st_mtime)),
                             info.st_size)


def run(command):
    subprocess.run([str(c) for c in command], check=True, stdout=subprocess.DEVNULL)


def shell(command, cwd):
    subprocess.run(command, cwd=cwd, shell=True, check=True, stdout=subprocess.DEVNULL)


class Bench:
    def __init__(self, args, server, ids, workdir, frontends):
        self.args = args
        self.server = server
        self.ids = ids
        self.workdir = pathlib.Path(workdir)
        self.frontends = frontends
        self.rng = random.Random(4096)
        api = api_token(server)
        self.repo_tokens = {name: sync_token(server, ids[name], api)
                            for name in (link_data.BIG, link_data.SMALL)}
        self.big_blocks = {mib: file_layout(server, ids[link_data.BIG], "/" + name)[1]
                           for mib, name in link_data.BIG_FILES.items()}
        self.small_blocks = library_blocks(server, ids[link_data.SMALL])
        self.read_bytes = {}
        self.photos = self.videos = None

    def big_parts(self, mib):
        return link_data.BIG, link_data.BIG_FILES[mib]

    def seq_mib(self, profile):
        return 32 if self.args.quick else PROFILES[profile][2]

    def random_offset(self):
        return self.rng.randrange(0, (256 * MIB) // 4096) * 4096

    def program_bytes(self):
        """{row: (bytes the programs read, files)} of the small-read rows (per file the larger
        of its read calls' and its mmap lengths' sums), from one strace pass on a loopback
        mount; lists the media folder."""
        cell = Cell(self, "http", "loopback", "auto")
        mount = cell.fresh()
        folder = mount.path(link_data.MEDIA, fm_media.FOLDER)
        names = sorted(fm_media.folder_files(mount.path(link_data.MEDIA)))
        self.videos = [n for n in names if n.endswith(".mp4")]
        self.photos = [n for n in names if n.endswith(".jpg")]
        commands = {"head": [HEAD + [mount.path(*self.big_parts(256))]],
                    "ffprobe": [FFPROBE + [folder / n] for n in self.videos],
                    "identify": [IDENTIFY + [folder / n] for n in self.photos],
                    "mediahead": [HEAD + [folder / n] for n in self.videos + self.photos]}
        trace = self.workdir / "strace"
        try:
            for row, runs in commands.items():
                total = 0
                for command in runs:
                    shutil.rmtree(trace, ignore_errors=True)
                    trace.mkdir()
                    run(["strace", "-ff", "-y", "-qq", "-s", "0", "-e",
                         "trace=read,pread64,readv,preadv,preadv2,mmap", "-o", trace / "t"]
                        + command)
                    # identify both maps a JPEG and reads it: the larger of the two counts
                    total += max(traced_bytes(trace, str(mount.mountpoint) + "/"))
                self.read_bytes[row] = (total, len(runs))
        finally:
            cell.done(mount)
        self.read_bytes["random"] = (4096, 1)


# --- the tables ----------------------------------------------------------------------------------

def size_text(n):
    for unit, scale in (("GiB", 1 << 30), ("MiB", MIB), ("KiB", 1024)):
        if n >= scale:
            return "%.1f %s" % (n / scale, unit)
    return "%d B" % n


def verdict(bench, cell, row, seconds, sent, reference):
    """The row's target verdict and the reference text."""
    if row in SMALL_READ_ROWS:
        read, files = bench.read_bytes[row]
        ok_bytes = sent <= 4 * read
        text = "bytes %s (%.1fx)" % ("ok" if ok_bytes else "MISS", sent / read)
        if cell.rate:
            budget = files * 2 * cell.rtt + read / cell.rate
            text += ", time %s (<= %.2f s)" % ("ok" if seconds <= budget else "MISS", budget)
        return "read %s" % size_text(read), text
    if row in ("seq", "tar"):
        curl_seconds, curl_sent = reference
        ratio = curl_seconds / seconds
        ref = "curl %.2f s, %s" % (curl_seconds, size_text(curl_sent))
        if row == "seq":
            return ref, "%.2f x curl %s" % (ratio, "ok" if ratio >= 0.8 else "MISS")
        return ref, "%.2f x curl" % ratio
    if row in ("mount", "ls15k", "ls150k") and cell.rtt:
        return "", "= %.0f RTT" % (seconds / cell.rtt)
    return "", ""


LINE = "%-28s %-18s %-5s %9s %10s  %-22s %s"


def print_table(bench, transport, results):
    print("\n%s; medians of %s runs (range_reads=off: %s); load average %.1f (2 cores)"
          % (TRANSPORTS[transport], bench.args.runs, bench.args.off_runs, os.getloadavg()[0]))
    if transport == "https":
        print("requests the TLS front answered, by protocol: %s" % ", ".join(
            "%s %d" % item for item in sorted(bench.frontends.protocols().items())))
    print(LINE % ("row", "link", "range", "seconds", "bytes", "reference", "target"))
    for row in ROWS:
        for profile in PROFILES:
            for mode in ("auto", "off"):
                runs = results.get((transport, profile, mode, row))
                if not runs:
                    continue
                columns = [statistics.median(c) for c in zip(*runs)]
                seconds, sent = columns[:2]
                cell = bench.cells[(transport, profile, mode)]
                ref, target = verdict(bench, cell, row, seconds, sent, columns[2:])
                label = ROW_NAMES[row] + (" %d MiB" % bench.seq_mib(profile)
                                          if row == "seq" else "")
                print(LINE % (label, PROFILE_NAMES[profile], mode, "%.2f" % seconds,
                              size_text(sent), ref, target), flush=True)


def choose(text, allowed, what):
    chosen = [t.strip() for t in text.split(",") if t.strip()]
    wrong = [c for c in chosen if c not in allowed]
    if wrong:
        sys.exit("link_bench: unknown %s %s (choose from %s)" % (what, ", ".join(wrong),
                                                               ", ".join(allowed)))
    return chosen


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--off-runs", type=int, default=1,
                        help="runs of the range_reads=off rows (default 1)")
    parser.add_argument("--parallel", type=int, default=8,
                        help="seafs connections= and curl --parallel-max (default 8)")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--profiles", default=",".join(PROFILES))
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument("--modes", default="auto,off")
    parser.add_argument("--rows", default=",".join(ROWS))
    args = parser.parse_args()
    profiles = choose(args.profiles, PROFILES, "profile")
    transports = choose(args.transports, TRANSPORTS, "transport")
    modes = choose(args.modes, ("auto", "off"), "mode")
    rows = choose(args.rows, ROWS, "row")
    if args.quick:
        args.runs = args.off_runs = 1
        rows = [r for r in rows if r != "ls150k"]
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        sys.exit("link_bench: missing %s (bash tests/bench/install-deps.sh)" % ", ".join(missing))
    started = time.perf_counter()
    binary = binary_stamp()
    with bench_session("link_bench", data=link_data.bench_data) as (ids, server, mounts):
        frontends = Frontends(server, mounts.workdir)
        bench = None
        try:
            bench = Bench(args, server, ids, mounts.workdir, frontends)
            bench.program_bytes()
            print("seafs: %s (%s); setup %.0f s; load average %.1f (2 cores); bytes: what the "
                  "server sent; reference: what the programs read (strace) or curl"
                  % (mount_fixture.SEAFS, binary, time.perf_counter() - started,
                     os.getloadavg()[0]), flush=True)
            bench.cells = {}
            results = {}
            for transport in transports:
                for profile in profiles:
                    for mode in modes:
                        cell = bench.cells[(transport, profile, mode)] = Cell(
                            bench, transport, profile, mode)
                        runs = args.runs if mode == "auto" else args.off_runs
                        for row in rows:
                            if mode == "off" and args.quick and row not in SMALL_READ_ROWS:
                                continue
                            results[(transport, profile, mode, row)] = [
                                getattr(cell, row)() for _ in range(runs)]
                            print("  done %s %s %s %s (%.0f s)" % (transport, profile, mode, row,
                                                                   time.perf_counter() - started),
                                  file=sys.stderr, flush=True)
                print_table(bench, transport, results)
        finally:
            for cell in getattr(bench, "cells", {}).values():
                cell.mounts.cleanup()
            frontends.close()
    print("total %.0f s" % (time.perf_counter() - started))
    if binary_stamp() != binary:
        print("WARNING: %s changed during the run (now %s): the rows mix two builds"
              % (mount_fixture.SEAFS, binary_stamp()))


if __name__ == "__main__":
    main()
