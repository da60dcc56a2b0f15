"""What a file manager costs on a seafs mount (not a test): how many bytes the server sends while
desktop tools look at a folder of photos and videos, next to the folder's size. These are the
"before" figures for range reads: today a read fetches whole blocks.

  /usr/bin/python3 tests/bench/fm_bench.py [--runs 3] [--range-reads auto|off|always]

The folder is "Media/Camera Roll" of a library built by fm_media.py (100 photos with EXIF, 12
MP4 videos, ~930 MiB) into a data directory of its own, kept in /var/tmp/mountsuite/fm-media
($SEAFS_MOUNT_TEST_DATA). Each run of each row is cold: a fresh mount with an empty cache
directory, the page cache dropped, a private D-Bus session bus and an empty thumbnail cache
($HOME). Rows:

  gio list       gio list -a standard::content-type FOLDER (what a file manager lists)
  thumbnails     every file queued at org.freedesktop.thumbnails.Thumbnailer1 (tumbler, D-Bus
                 activated on the private bus), then gio info -a 'thumbnail::*' of every file
  head -c 4096   of every file
  file           file FOLDER/* (libmagic)

Columns: bytes the tool itself read from the files with read/pread/readv calls, and the lengths
it mapped (mmap: tumbler's JPEG thumbnailer maps the whole file and touches only some pages),
both from one extra strace pass (the kernel may ask seafs for more: read-ahead); bytes the server
sent (its counters, every request: listing and blocks); bytes seafs received (`seafs status
--json`); the files' total size; server bytes / size; seconds. Medians of --runs runs. After
the four rows over the whole folder, the thumbnail row again for each kind of file (fm_media.KINDS:
JPEG with and without an EXIF thumbnail, PNG, MP4 with the moov index at the end or the start).
Needs root (FUSE, dropping the page cache) and the packages of tests/desktop/install-deps.sh."""

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
for part in ("server", "integration", "bench", "desktop"):
    sys.path.insert(0, str(ROOT / "tests" / part))

import fm_media  # noqa: E402
import mount_fixture  # noqa: E402
from fs_bench import bench_session, drop_page_cache  # noqa: E402
from mount_fixture import ctl  # noqa: E402
from session import desktop_session, wait_for_bus_name  # noqa: E402

MIB = 1 << 20
FORMAT = "%-38s %9.2f %9.2f %10.2f %9.2f %9.1f %6.3f %7.2f"
TUMBLERD = "/usr/lib/x86_64-linux-gnu/tumbler-1/tumblerd"
THUMBNAILS = ROOT / "tests" / "desktop" / "thumbnails.py"
TOOLS = ("gio", "file", "head", "strace", "dbus-daemon", "ffmpeg", "exiftool")
TRACED = "read,pread64,readv,preadv,preadv2,mmap"
# "read(5</path>, ...) = 4096" and "mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 5</path>, 0) = 0x.."
READ_CALL = re.compile(r"^(?:read|pread64|readv|preadv2?)\(\d+<(.*?)>,.*\)\s+=\s+(\d+)$")
MMAP_CALL = re.compile(r"^mmap\([^,]*, (\d+), [^,]*, [^,]*, \d+<(.*?)>, .*\)\s+=\s+0x")


def check_tools():
    missing = [t for t in TOOLS if shutil.which(t) is None]
    missing += [TUMBLERD] if not os.access(TUMBLERD, os.X_OK) else []
    try:
        import gi  # noqa: F401
        import PIL  # noqa: F401
    except ImportError as exc:
        missing.append(exc.name)
    if missing:
        sys.exit("fm_bench: missing %s (bash tests/desktop/install-deps.sh)" % ", ".join(missing))


def run(command, env, log):
    with open(log, "ab") as out:
        out.write(("--- %s\n" % " ".join(map(str, command[:4]))).encode())
        out.flush()
        subprocess.run([str(c) for c in command], env=env, check=True, stdout=out, stderr=out,
                       timeout=900)


# --- the operations ------------------------------------------------------------------------------

THUMBNAILS_ROW = "thumbnails (tumbler) + gio info"
ROWS = ("gio list -a standard::content-type", THUMBNAILS_ROW, "head -c 4096 of every file",
        "file of every file")


def command(row, folder, files):
    """The command of a row (for the thumbnails: the requests to tumbler)."""
    return {ROWS[0]: ["gio", "list", "-a", "standard::content-type", folder],
            ROWS[1]: ["/usr/bin/python3", THUMBNAILS, "--timeout", "600", *files],
            ROWS[2]: ["sh", "-c", 'for f; do head -c 4096 "$f"; done', "head", *files],
            ROWS[3]: ["file", *files]}[row]


def perform(row, folder, files, env, log):
    run(command(row, folder, files), env, log)
    if row == THUMBNAILS_ROW:  # what a file manager then asks GIO for each file
        for path in files:
            done = subprocess.run(["gio", "info", "-a", "thumbnail::*", str(path)], env=env,
                                  capture_output=True, text=True, check=True)
            if "thumbnail::path:" not in done.stdout:
                raise RuntimeError("no thumbnail for %s:\n%s" % (path, done.stdout))


# --- measuring -----------------------------------------------------------------------------------

class Bench:
    def __init__(self, server, mounts, workdir):
        self.server = server
        self.mounts = mounts
        self.workdir = pathlib.Path(workdir)
        self.log = self.workdir / "tools.log"
        self.sessions = 0

    def session(self):
        """A desktop session with a fresh $HOME (an empty thumbnail cache)."""
        self.sessions += 1
        return desktop_session(self.workdir / ("home-%d" % self.sessions))

    def fresh(self, names):
        """(mount, folder, files) of a fresh mount with an empty cache directory."""
        mount = self.mounts.mount()
        folder = mount.path(fm_media.LIBRARY, fm_media.FOLDER)
        return mount, folder, [folder / name for name in names]

    def measure(self, row, names):
        """(server bytes, seafs bytes received, seconds) of one cold run of a row over the
        files `names` of the folder."""
        mount, folder, files = self.fresh(names)
        with self.session() as env:
            drop_page_cache()
            self.server.reset_counters()
            started = time.perf_counter()
            perform(row, folder, files, env, self.log)
            seconds = time.perf_counter() - started
            sent = self.server.counters()["bytes_sent"]
            status = ctl("status", mount.mountpoint, "--json")
            received = json.loads(status.stdout)["network"]["bytes_received"]
        self.mounts.unmount(mount)
        return sent, received, seconds

    def tool_bytes(self, row, names):
        """Bytes the tool read from files on the mount (read calls and mmap lengths), from a
        pass under strace: the command itself, or tumblerd for the thumbnails."""
        mount, folder, files = self.fresh(names)
        trace = self.workdir / ("strace-%d" % (self.sessions + 1))
        trace.mkdir()
        strace = ["strace", "-ff", "-y", "-qq", "-s", "0", "-e", "trace=" + TRACED,
                  "-o", str(trace / "t")]
        tumbler = None
        with self.session() as env:
            if row == THUMBNAILS_ROW:
                tumbler = subprocess.Popen(strace + [TUMBLERD], env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wait_for_bus_name(env, "org.freedesktop.thumbnails.Thumbnailer1")
                run(command(row, folder, files), env, self.log)
            else:
                run(strace + command(row, folder, files), env, self.log)
        if tumbler:
            tumbler.wait(30)  # the bus is gone: tumblerd (and strace with it) has exited
        self.mounts.unmount(mount)
        return traced_bytes(trace, str(mount.mountpoint) + "/")

    def row(self, label, row, sizes, runs):
        """Prints the row: medians of `runs` cold runs over the files of sizes ({name: size})."""
        results = [self.measure(row, sorted(sizes)) for _ in range(runs)]
        sent, received, seconds = (statistics.median(c) for c in zip(*results))
        read, mapped = self.tool_bytes(row, sorted(sizes))
        size = sum(sizes.values())
        print(FORMAT % (label, read / MIB, mapped / MIB, sent / MIB, received / MIB,
                        size / MIB, sent / size, seconds), flush=True)


def traced_bytes(trace_dir, prefix):
    """(sum of read results, sum of mmap lengths) on files under prefix in strace -ff -y logs."""
    read_total = mapped_total = 0
    for log in pathlib.Path(trace_dir).iterdir():
        for line in log.read_text(errors="replace").splitlines():
            read = READ_CALL.match(line)
            if read and read.group(1).startswith(prefix):
                read_total += int(read.group(2))
                continue
            mapped = MMAP_CALL.match(line)
            if mapped and mapped.group(2).startswith(prefix):
                mapped_total += int(mapped.group(1))
    return read_total, mapped_total


def media_data():
    """(data directory, {library: repo id}) of the media library, built on first use."""
    data = mount_fixture.DEMO_CACHE / "fm-media"
    data.parent.mkdir(parents=True, exist_ok=True)
    return data, {fm_media.LIBRARY: fm_media.build(data)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--range-reads", choices=("auto", "off", "always"), default="auto",
                        help="the mounts' range_reads option (on this loopback link auto never "
                             "takes a range: always shows what ranges fetch on a slow one)")
    args = parser.parse_args()
    check_tools()
    started = time.perf_counter()
    with bench_session("fm_bench", data=media_data, poll_interval=0,
                       range_reads=args.range_reads) as (_, server, mounts):
        mount = mounts.mount()
        sizes = fm_media.folder_files(mount.path(fm_media.LIBRARY))
        mounts.unmount(mount)
        bench = Bench(server, mounts, mounts.workdir)
        print("folder %s/%s: %d files, %.1f MiB; setup %.0f s; %d cold runs each, medians; "
              "range_reads=%s" % (fm_media.LIBRARY, fm_media.FOLDER, len(sizes),
                                  sum(sizes.values()) / MIB, time.perf_counter() - started,
                                  args.runs, args.range_reads))
        print(FORMAT.replace(".2f", "s").replace(".1f", "s").replace(".3f", "s") % (
            "operation", "read MiB", "mmap MiB", "server MiB", "seafs MiB", "size MiB",
            "ratio", "seconds"))
        for row in ROWS:
            bench.row(row, row, sizes, args.runs)
        for kind in fm_media.KINDS:
            of_kind = {n: size for n, size in sizes.items() if fm_media.kind(n) == kind}
            bench.row("  thumbnails: " + kind, THUMBNAILS_ROW, of_kind, args.runs)
        print("read / mmap = what the tool read of the files with read calls / mapped of them "
              "(strace; pages of a mapping are fetched only when touched); size = the files' "
              "total size; ratio = server MiB / size\ntotal %.0f s, %d mounts"
              % (time.perf_counter() - started, mounts.count))


if __name__ == "__main__":
    main()
