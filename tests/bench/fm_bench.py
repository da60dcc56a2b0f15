"""What a file manager costs on a seafs mount (not a test): how many bytes the server sends while
desktop tools look at a folder of photos and videos, next to the folder's size. These are the
"before" figures for range reads: today a read fetches whole blocks.

  /usr/bin/python3 tests/bench/fm_bench.py [--runs 3]

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

Columns: bytes the tool itself read from files on the mount (read/pread/readv calls and mmap
lengths, from one extra strace pass; the kernel may ask seafs for more: read-ahead), bytes the
server sent (its counters, every request: listing and blocks), bytes seafs received (`seafs
status --json`), the folder's size, server bytes / folder size, and seconds; medians of --runs
runs. Needs root (FUSE, dropping the page cache) and the packages of
tests/desktop/install-deps.sh."""

import argparse
import contextlib
import json
import os
import pathlib
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
for part in ("server", "integration", "bench"):
    sys.path.insert(0, str(ROOT / "tests" / part))

import fm_media  # noqa: E402
import mount_fixture  # noqa: E402
from fs_bench import Mounts, drop_page_cache  # noqa: E402
from mount_fixture import ctl, demo_server  # noqa: E402

MIB = 1 << 20
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


# --- a private desktop session: D-Bus session bus, $HOME ------------------------------------------

@contextlib.contextmanager
def desktop_session(workdir, name):
    """An environment (dict) with a private D-Bus session bus (dbus-daemon, our child) and an
    empty $HOME; on exit the bus is stopped and whatever it activated (tumblerd, gvfsd) with it."""
    home = pathlib.Path(workdir) / ("home-" + name)
    home.mkdir(parents=True)
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_RUNTIME_DIR=str(home), NO_AT_BRIDGE="1")
    # Services the bus activates (tumblerd, gvfsd) get its environment: this $HOME.
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1",
                            "--address=unix:path=%s" % (home / "bus")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    env["DBUS_SESSION_BUS_ADDRESS"] = address = bus.stdout.readline().strip()
    try:
        yield env
    finally:
        bus.terminate()
        bus.wait(10)
        stop_bus_clients(address)


def stop_bus_clients(address, timeout=10):
    """Stops the processes (activated services) whose environment names our bus address."""
    needle = ("DBUS_SESSION_BUS_ADDRESS=" + address).encode()
    deadline = time.monotonic() + timeout
    while True:
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and _environ_has(p, needle)]
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM if time.monotonic() < deadline else signal.SIGKILL)
        time.sleep(0.2)


def _environ_has(pid, needle):
    try:
        return needle in pathlib.Path("/proc", pid, "environ").read_bytes().split(b"\0")
    except OSError:
        return False


def run(command, env, log):
    with open(log, "ab") as out:
        out.write(("--- %s\n" % " ".join(map(str, command[:4]))).encode())
        out.flush()
        subprocess.run([str(c) for c in command], env=env, check=True, stdout=out, stderr=out,
                       timeout=900)


# --- the operations ------------------------------------------------------------------------------

def op_gio_list(folder, files, env, log):
    run(["gio", "list", "-a", "standard::content-type", folder], env, log)


def op_thumbnails(folder, files, env, log):
    run(["/usr/bin/python3", THUMBNAILS, "--timeout", "600", *files], env, log)
    for path in files:
        done = subprocess.run(["gio", "info", "-a", "thumbnail::*", str(path)], env=env,
                              capture_output=True, text=True, check=True)
        if "thumbnail::path:" not in done.stdout:
            raise RuntimeError("no thumbnail for %s:\n%s" % (path, done.stdout))


def op_head(folder, files, env, log):
    run(["sh", "-c", 'for f; do head -c 4096 "$f"; done', "head", *files], env, log)


def op_file(folder, files, env, log):
    run(["file", *files], env, log)


OPERATIONS = (("gio list -a standard::content-type", op_gio_list),
              ("thumbnails (tumbler) + gio info", op_thumbnails),
              ("head -c 4096 of every file", op_head),
              ("file of every file", op_file))


# --- measuring -----------------------------------------------------------------------------------

class Bench:
    def __init__(self, server, mounts, workdir, names):
        self.server = server
        self.names = names
        self.mounts = mounts
        self.workdir = pathlib.Path(workdir)
        self.log = self.workdir / "tools.log"
        self.runs = 0

    def fresh(self):
        """(mount, folder) of a fresh mount with an empty cache directory."""
        mount = self.mounts.mount()
        folder = mount.path(fm_media.LIBRARY, fm_media.FOLDER)
        return mount, folder

    def measure(self, operation):
        """(server bytes, seafs bytes received, seconds) of one cold run."""
        self.runs += 1
        mount, folder = self.fresh()
        files = [folder / name for name in self.names]
        with desktop_session(self.workdir, "%d" % self.runs) as env:
            drop_page_cache()
            self.server.reset_counters()
            started = time.perf_counter()
            operation(folder, files, env, self.log)
            seconds = time.perf_counter() - started
            sent = self.server.counters()["bytes_sent"]
            status = ctl("status", mount.mountpoint, "--json")
            received = json.loads(status.stdout)["network"]["bytes_received"]
        self.mounts.unmount(mount)
        return sent, received, seconds

    def tool_bytes(self, operation):
        """Bytes the tool read from files on the mount (read calls and mmap lengths), from a
        pass under strace: the commands themselves, or tumblerd for the thumbnails."""
        self.runs += 1
        mount, folder = self.fresh()
        files = [folder / n for n in self.names]
        trace = self.workdir / ("strace-%d" % self.runs)
        trace.mkdir()
        strace = ["strace", "-ff", "-y", "-qq", "-s", "0", "-e", "trace=" + TRACED,
                  "-o", str(trace / "t")]
        with desktop_session(self.workdir, "%d" % self.runs) as env:
            if operation is op_thumbnails:
                tumbler = subprocess.Popen(strace + [TUMBLERD], env=env,
                                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                wait_for_name(env, "org.freedesktop.thumbnails.Thumbnailer1")
                operation(folder, files, env, self.log)
            else:
                traced = {op_gio_list: ["gio", "list", "-a", "standard::content-type", folder],
                          op_head: ["sh", "-c", 'for f; do head -c 4096 "$f"; done', "h",
                                    *files],
                          op_file: ["file", *files]}[operation]
                run(strace + traced, env, self.log)
        if operation is op_thumbnails:
            tumbler.wait(30)  # the bus is gone: tumblerd (and strace with it) has exited
        self.mounts.unmount(mount)
        return traced_bytes(trace, str(mount.mountpoint) + "/")


def wait_for_name(env, name, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus",
                               "--object-path", "/org/freedesktop/DBus", "--method",
                               "org.freedesktop.DBus.NameHasOwner", name], env=env,
                              capture_output=True, text=True)
        if "true" in done.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError("%s did not appear on the bus" % name)


def traced_bytes(trace_dir, prefix):
    """Sum of read results and mmap lengths on files under prefix in strace -ff -y logs."""
    total = 0
    for log in pathlib.Path(trace_dir).iterdir():
        for line in log.read_text(errors="replace").splitlines():
            read = READ_CALL.match(line)
            if read and read.group(1).startswith(prefix):
                total += int(read.group(2))
                continue
            mapped = MMAP_CALL.match(line)
            if mapped and mapped.group(2).startswith(prefix):
                total += int(mapped.group(1))
    return total


@contextlib.contextmanager
def bench_session():
    """(server over the media library, Mounts, workdir); on exit every mount is stopped, then
    the server, and the work directory is removed."""
    if os.geteuid() != 0:
        sys.exit("fm_bench: needs root (FUSE mounts, dropping the page cache)")
    data = mount_fixture.DEMO_CACHE / "fm-media"
    data.parent.mkdir(parents=True, exist_ok=True)
    fm_media.build(data)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="fm_bench-", dir=str(data.parent)))
    server = demo_server(data, workdir / "server")
    mounts = Mounts("fm_bench", server, workdir, poll_interval=0)
    try:
        yield server, mounts, workdir
    finally:
        mounts.cleanup()
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    check_tools()
    started = time.perf_counter()
    with bench_session() as (server, mounts, workdir):
        mount = mounts.mount()
        sizes = fm_media.folder_files(mount.path(fm_media.LIBRARY))
        mounts.unmount(mount)
        bench = Bench(server, mounts, workdir, sorted(sizes))
        folder = sum(sizes.values())
        print("folder %s/%s: %d files, %.1f MiB; setup %.0f s; %d cold runs each, medians"
              % (fm_media.LIBRARY, fm_media.FOLDER, len(sizes), folder / MIB,
                 time.perf_counter() - started, args.runs))
        print("%-36s %10s %10s %10s %10s %7s %8s" % ("operation", "tool MiB", "server MiB",
                                                     "seafs MiB", "folder MiB", "ratio",
                                                     "seconds"))
        for name, operation in OPERATIONS:
            results = [bench.measure(operation) for _ in range(args.runs)]
            sent, received, seconds = (statistics.median(c) for c in zip(*results))
            tool = bench.tool_bytes(operation)
            print("%-36s %10.2f %10.2f %10.2f %10.1f %7.3f %8.2f" % (
                name, tool / MIB, sent / MIB, received / MIB, folder / MIB, sent / folder,
                seconds), flush=True)
        print("ratio = server bytes / folder size; tool = bytes the tool read from the files "
              "(read calls + mmap lengths, strace); total %.0f s, %d mounts"
              % (time.perf_counter() - started, mounts.count))


if __name__ == "__main__":
    main()
