"""Real FUSE mounts of seafs for the integration tests and the benchmark: builds a 0600
credentials file, starts the `seafs` binary against a reference server with a private cache
directory, waits until the kernel lists the mount, and always unmounts (fusermount3 -u, then
-uz as a last resort) and stops the daemon, also when the test failed. The daemon's output is
kept in a log file whose tail goes into failure messages.

While the binary itself says that mounting is not part of the build, starting a mount skips the
test with that reason; any other failure to mount fails the test."""

import fcntl
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import stat
import subprocess
import threading
import time
import urllib.parse
import urllib.request

import pytest

from seafserver import demo  # noqa: E402
from seafserver.testing import signal_with_parent  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("SEAFS_BUILD_DIR") or ROOT / "build")
SEAFS = BUILD / "fs" / "seafs"
USER, PASSWORD = "user@example.com", "secret"
OTHER = "other@example.com"
MOUNT_TIMEOUT_S = 60
# The client waits 5 s for a status reply; a bound for commands that must end on their own.
COMMAND_TIMEOUT_S = 60
UNMOUNT_TIMEOUT_S = 15
LOG_TAIL_LINES = 40
# Built demo data is kept here between runs (not under /tmp/seafs*, which other tools clean).
DEMO_CACHE = pathlib.Path(os.environ.get("SEAFS_MOUNT_TEST_DATA") or "/var/tmp/mountsuite")
# What the binary prints while the mount is not implemented (fs/daemon/main.c); only this skips.
MOUNT_UNAVAILABLE = re.compile(r"mounting is (not part of this build|not available|unavailable)")


class MountError(AssertionError):
    """seafs did not mount (or unmount) as expected; the message carries the daemon log."""


def seafs_binary():
    if not SEAFS.exists():
        if os.environ.get("SEAFS_BUILD_DIR"):
            pytest.fail("SEAFS_BUILD_DIR is set but fs/seafs was not built there")
        pytest.skip("seafs is not built (cmake --build build)")
    return SEAFS


def write_credentials(path, password=PASSWORD, mode=0o600):
    """The credentials file: the password on one line, created with `mode`."""
    path = pathlib.Path(path)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        f.write(password + "\n")
    os.chmod(path, mode)
    return path


def read_with_bound(path, bound_s):
    """(bytes or None, OSError or None) of reading path in a thread; the test fails when
    the read is still blocked after bound_s (a hang), instead of hanging with it."""
    result = {}

    def read():
        try:
            result["data"] = pathlib.Path(path).read_bytes()
        except OSError as exc:
            result["error"] = exc

    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    thread.join(bound_s)
    assert not thread.is_alive(), "reading %s still blocked after %d s" % (path, bound_s)
    return result.get("data"), result.get("error")


def mount_entry(mountpoint):
    """The /proc/self/mountinfo fields (fstype, source, options) of a mountpoint, or None."""
    target = os.path.realpath(mountpoint)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            point = fields[4].encode().decode("unicode_escape")
            if point == target:
                rest = fields[fields.index("-") + 1:]
                return {"fstype": rest[0], "source": rest[1], "options": fields[5]}
    return None


def is_mounted(mountpoint):
    return mount_entry(mountpoint) is not None


def options_string(options):
    """-o value from a dict; True means a flag without value."""
    return ",".join(k if v is True else "%s=%s" % (k, v) for k, v in options.items())


def daemon_pids(mountpoint):
    """PIDs of seafs processes whose command line names this mountpoint (for mounts started by
    mount(8), whose daemon is not our child)."""
    target = os.path.realpath(mountpoint).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            args = pathlib.Path("/proc", entry, "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and os.path.basename(args[0]).startswith(b"seafs") and target in args:
            pids.append(int(entry))
    return pids


def unmount(mountpoint):
    """fusermount3 -u, then a lazy unmount as last resort; returns the error text or ''."""
    if not is_mounted(mountpoint):
        return ""
    done = subprocess.run(["fusermount3", "-u", str(mountpoint)], capture_output=True, text=True,
                          timeout=UNMOUNT_TIMEOUT_S)
    if done.returncode == 0 and not is_mounted(mountpoint):
        return ""
    subprocess.run(["fusermount3", "-uz", str(mountpoint)], capture_output=True,
                   timeout=UNMOUNT_TIMEOUT_S)
    return "fusermount3 -u failed (%s); unmounted lazily" % done.stderr.strip()


def stop_process(pid, timeout=UNMOUNT_TIMEOUT_S):
    """SIGTERM, then SIGKILL after `timeout`; for a process that is not our child."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pathlib.Path("/proc", str(pid)).exists():
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def log_tail(path, lines=LOG_TAIL_LINES):
    try:
        text = pathlib.Path(path).read_text(errors="replace")
    except OSError:
        return "(no daemon log)"
    return "\n".join(text.splitlines()[-lines:]) or "(daemon log is empty)"


class SeafsMount:
    """One seafs daemon in the foreground (-f, our child) serving `mountpoint`.

    mount = SeafsMount(server_url, workdir, poll_interval=1); mount.start(); ...; mount.stop()
    Keyword options become -o options; the user, credentials and cache_dir are filled in.
    The cache directory survives stop()/start() (remount with the same cache)."""

    def __init__(self, server_url, workdir, user=USER, password=PASSWORD, debug=False,
                 **options):
        self.server_url = server_url
        self.workdir = pathlib.Path(workdir)
        self.mountpoint = self.workdir / "mnt"
        self.cache_dir = self.workdir / "cache"
        self.state_dir = self.workdir / "state"
        self.credentials = self.workdir / "credentials"
        self.log_path = self.workdir / "seafs.log"
        self.user = user
        self.password = password
        self.debug = debug
        self.options = options
        self.process = None

    def command(self):
        options = {"user": self.user, "credentials": self.credentials,
                   "cache_dir": self.cache_dir, "state_dir": self.state_dir}
        options.update(self.options)
        args = [str(seafs_binary()), self.server_url, str(self.mountpoint),
                "-o", options_string(options), "-f"]
        return args + (["-d"] if self.debug else [])

    def start(self, timeout=MOUNT_TIMEOUT_S):
        """Starts the daemon and returns once the mount is live; skips while the binary says
        mounting is unavailable, raises MountError (with the log) on any other failure."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.mountpoint.mkdir(exist_ok=True)
        self.cache_dir.mkdir(mode=0o700, exist_ok=True)
        self.state_dir.mkdir(mode=0o700, exist_ok=True)
        write_credentials(self.credentials, self.password)
        log = open(self.log_path, "ab")
        log.write(("\n--- %s\n" % " ".join(self.command())).encode())
        log.flush()
        self.process = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=signal_with_parent(signal.SIGTERM))  # clean unmount
        log.close()
        deadline = time.monotonic() + timeout
        while not is_mounted(self.mountpoint):
            if self.process.poll() is not None:
                self._exited_before_mounting()
            if time.monotonic() > deadline:
                self.stop()
                raise MountError("seafs did not mount within %d s\n%s"
                                 % (timeout, log_tail(self.log_path)))
            time.sleep(0.05)
        entry = mount_entry(self.mountpoint)
        if not entry["fstype"].startswith("fuse"):
            self.stop()
            raise MountError("unexpected file system type at the mountpoint: %r" % entry)
        return self

    def _exited_before_mounting(self):
        code = self.process.returncode
        self.process = None
        text = log_tail(self.log_path)
        unavailable = MOUNT_UNAVAILABLE.search(text)
        if unavailable:
            pytest.skip("seafs reports that %s (no FUSE mount to test yet)" % unavailable.group(0))
        raise MountError("seafs exited with %s before mounting\n%s" % (code, text))

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def path(self, *parts):
        return self.mountpoint.joinpath(*parts)

    def log_tail(self):
        return log_tail(self.log_path)

    def forget(self):
        """Removes the cache and state directories (while stopped): the next start is a first
        mount."""
        shutil.rmtree(self.cache_dir, ignore_errors=True)
        shutil.rmtree(self.state_dir, ignore_errors=True)

    def kill(self):
        """SIGKILL of the daemon (a crash), then the dead mount is taken away; start() mounts
        again with the same cache and state directories."""
        os.kill(self.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        unmount(self.mountpoint)

    def stop(self):
        """Unmounts and waits for the daemon to exit (kills it if it does not); safe to call
        twice. Returns a problem description or '' (clean unmount and exit 0)."""
        problems = []
        try:
            problem = unmount(self.mountpoint)
        except subprocess.TimeoutExpired:
            problem = "fusermount3 hung"
            subprocess.run(["fusermount3", "-uz", str(self.mountpoint)], capture_output=True)
        if problem:
            problems.append(problem)
        if self.process is not None:
            try:
                code = self.process.wait(UNMOUNT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                try:
                    code = self.process.wait(UNMOUNT_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    code = self.process.wait()
                problems.append("daemon did not exit after the unmount")
            if code != 0:
                problems.append("daemon exited with %s" % code)
            self.process = None
        for pid in daemon_pids(self.mountpoint):
            stop_process(pid)
        return "; ".join(problems)



def ctl(*args, stdin="", env=None, prefix=(), cwd=None, timeout=COMMAND_TIMEOUT_S):
    """Runs `seafs ARGS` (optionally under `prefix`, e.g. setpriv) with `stdin` as its input
    (a pipe, not a terminal) and returns the CompletedProcess (text)."""
    command = list(prefix) + [str(seafs_binary())] + [str(a) for a in args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env,
                          input=stdin, cwd=cwd)


def unlock(mount, library, password=demo.DEMO_PASSWORD):
    """`seafs unlock MOUNTPOINT LIBRARY --password-stdin` with `password` (the demo's, also the
    vectors' encrypted libraries' one) on stdin; returns the CompletedProcess."""
    return ctl("unlock", mount.mountpoint, library, "--password-stdin", stdin=password + "\n")


def cleanup_mountpoint(mountpoint):
    """For mounts made by mount(8) or a backgrounded seafs: unmount, stop the daemon."""
    problem = unmount(mountpoint)
    for pid in daemon_pids(mountpoint):
        stop_process(pid)
    return problem


@pytest.fixture
def mount_factory(tmp_path):
    """make(server, name="m", **options) -> a started SeafsMount; every mount is unmounted and
    its daemon stopped in teardown. The teardown fails the test when an unmount was unclean."""
    mounts = []

    def make(server, name="m", start=True, **options):
        mount = SeafsMount(server.url, tmp_path / name, **options)
        mounts.append(mount)
        return mount.start() if start else mount

    yield make
    problems = ["%s: %s" % (m.mountpoint, p) for m in mounts for p in [m.stop()] if p]
    for mount in mounts:  # pytest shows captured teardown output only for failed tests
        print("--- seafs log of %s (tail) ---\n%s" % (mount.mountpoint, mount.log_tail()))
    if problems:
        pytest.fail("unclean unmount: " + "\n".join(problems))


# --- demo data ---------------------------------------------------------------------------------

def demo_data(small):
    """A demo data directory built by seafserver.demo (kept between runs in DEMO_CACHE, rebuilt
    only when the generating code changes; $SEAFS_DEMO_DATA names the full one instead).
    Returns (data dir, {library name: repo id}). Servers use it as read-only storage."""
    from seafserver import cdc

    if not small and cdc.find_tool() is None:
        pytest.fail("seafs-cdc is not built: the full demo would be chunked in Python for a "
                    "very long time (cmake --build build)")
    default = DEMO_CACHE / ("demo-" + ("small" if small else "full"))
    data = pathlib.Path(os.environ.get("SEAFS_DEMO_DATA") or default) if not small else default
    data.parent.mkdir(parents=True, exist_ok=True)
    with open(str(data) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ids = demo.build_demo(data, small=small, log=lambda _: None)
    return data, ids


@pytest.fixture(scope="module")
def small_demo_server(tmp_path_factory):
    """A server over the small demo, private to the test module: (server, {name: repo id})."""
    data, ids = demo_data(small=True)
    server = demo_server(data, tmp_path_factory.mktemp("small-demo-server"))
    try:
        yield server, ids
    finally:
        server.stop()


@pytest.fixture(scope="module")
def fuse_for_everyone():
    """/dev/fuse at 0666 as the fuse3 package's udev rule leaves it on a desktop (these machines
    have no udev, so it is 0600 and ordinary users cannot mount); the old mode is restored in
    teardown."""
    import stat

    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse")
    old = stat.S_IMODE(os.stat("/dev/fuse").st_mode)
    os.chmod("/dev/fuse", 0o666)
    try:
        yield
    finally:
        os.chmod("/dev/fuse", old)


@pytest.fixture
def fresh_small_demo_server(tmp_path):
    """A server over the small demo, private to the test: for tests whose mounts upload (so
    that what one test sends does not show up in the next)."""
    data, ids = demo_data(small=True)
    server = demo_server(data, tmp_path / "small-demo-server")
    try:
        yield server, ids
    finally:
        server.stop()


def demo_server(data, workdir):
    """A started SeafServer with a private copy of the demo's state and a private storage over
    the demo's (which it reads but never writes: what one test uploads is never seen by another
    test or a later run); the caller stops it."""
    from seafserver.testing import SeafServer

    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    shutil.copy(pathlib.Path(data) / "state.json", workdir / "state.json")
    return SeafServer(str(workdir), base_storage=str(pathlib.Path(data) / "storage")).start()


# --- comparing a mounted tree with its source ----------------------------------------------------

def tree_entries(root):
    """{relative path: lstat result} of everything under root (directories included)."""
    root = pathlib.Path(root)
    entries = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = pathlib.Path(dirpath, name)
            entries[str(path.relative_to(root))] = path.lstat()
    return entries


def file_differs(expected, actual, chunk=1 << 20):
    """'' when both files hold the same bytes, else what differs (first differing offset)."""
    with open(expected, "rb") as fe, open(actual, "rb") as fa:
        offset = 0
        while True:
            want, got = fe.read(chunk), fa.read(chunk)
            if want != got:
                at = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b),
                          min(len(want), len(got)))
                return "bytes differ at offset %d (expected %d more bytes, read %d)" % (
                    offset + at, len(want), len(got))
            if not want:
                return ""
            offset += len(want)


def file_sha1(path, chunk=1 << 20):
    """Hex SHA-1 of a file, read sequentially in `chunk`-byte reads (unbuffered)."""
    digest = hashlib.sha1()
    with open(path, "rb", buffering=0) as f:
        for data in iter(lambda: f.read(chunk), b""):
            digest.update(data)
    return digest.hexdigest()


def vector_empty_dirs(library):
    """Empty directories of a vector library: plain/ (kept in git) cannot hold them, the
    manifest lists them."""
    from seafserver.testing import VECTORS_DIR

    manifest = json.loads(pathlib.Path(VECTORS_DIR, "plain-manifest.json").read_text())
    return [k[len(library) + 1:].rstrip("/") for k, v in manifest.items()
            if k.startswith(library + "/") and v.get("empty_dir")]


def assert_same_tree(source, mounted, check_mtimes=True, extra_empty_dirs=()):
    """The mounted tree has exactly the source's files and directories (empty ones included,
    plus extra_empty_dirs the source cannot hold), the same file types, sizes, bytes and
    (optionally) mtimes. Returns the number of entries."""
    expected, actual = tree_entries(source), tree_entries(mounted)
    for rel in extra_empty_dirs:
        expected[rel] = os.stat(source)
        check_mtimes = False
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    assert not missing and not unexpected, (
        "%s: missing %s (%d), unexpected %s (%d)" % (mounted, missing[:10], len(missing),
                                                    unexpected[:10], len(unexpected)))
    problems = []
    for rel, want in sorted(expected.items()):
        got = actual[rel]
        if stat.S_IFMT(want.st_mode) != stat.S_IFMT(got.st_mode):
            problems.append("%s: type %o, expected %o" % (rel, stat.S_IFMT(got.st_mode),
                                                          stat.S_IFMT(want.st_mode)))
            continue
        if check_mtimes and int(got.st_mtime) != int(want.st_mtime):
            problems.append("%s: mtime %d, expected %d" % (rel, got.st_mtime, want.st_mtime))
        if stat.S_ISREG(want.st_mode):
            if got.st_size != want.st_size:
                problems.append("%s: size %d, expected %d" % (rel, got.st_size, want.st_size))
                continue
            difference = file_differs(pathlib.Path(source, rel), pathlib.Path(mounted, rel))
            if difference:
                problems.append("%s: %s" % (rel, difference))
    assert not problems, "%d differences, e.g.\n%s" % (len(problems), "\n".join(problems[:20]))
    return len(expected)


# --- what the server holds (to compare with what the mount does) ---------------------------------

def file_layout(server, repo_id, path):
    """(file id, [(block id, offset, size)]) of a file at the library's current head, read from
    the server's storage."""
    from seafserver import builder
    from seafserver.objects import parse_stored_fs_object

    storage = server.open_storage()
    head = server.state()["libraries"][repo_id]["head"]
    root_id = json.loads(storage.read("commits", repo_id, head))["root_id"]
    dirent = builder.tree_entries(storage, repo_id, root_id)[path]
    blocks, offset = [], 0
    for block_id in parse_stored_fs_object(storage.read("fs", repo_id, dirent.id)).block_ids:
        size = storage.size("blocks", repo_id, block_id)
        blocks.append((block_id, offset, size))
        offset += size
    return dirent.id, blocks


def block_bytes(server, repo_id, block_id):
    return server.open_storage().read("blocks", repo_id, block_id)


def block_gets(server):
    """{block id: GET count} since the last counter reset."""
    return server.counters()["block_gets"]


# --- the cache's metadata rows (cache/meta_db.c) -------------------------------------------------

def crc32c(data):
    """The CRC-32C (Castagnoli) a meta.db row keeps of its plain bytes."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    return crc ^ 0xFFFFFFFF


def account_info(server, user=USER, password=PASSWORD):
    """The /api2/account/info/ answer for user (quota "total" and "usage")."""
    login = urllib.request.Request(server.url + "/api2/auth-token/", method="POST",
                                   data=urllib.parse.urlencode({"username": user,
                                                                "password": password}).encode())
    with urllib.request.urlopen(login, timeout=10) as response:
        token = json.loads(response.read())["token"]
    request = urllib.request.Request(server.url + "/api2/account/info/",
                                     headers={"Authorization": "Token " + token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


# --- the background fetch of an opened library's folders (dir_prefetch.c) ----------------------

PREFETCH_WAIT_S = 60


def folders_prefetch(mount, library):
    """The folders_prefetch entry of library in `seafs status --json` (state, folders, ...)."""
    done = ctl("status", mount.mountpoint, "--json")
    assert done.returncode == 0, done.stderr
    return next(lib for lib in json.loads(done.stdout)["libraries"]
                if lib["name"] == library)["folders_prefetch"]


def wait_prefetched(mount, library):
    """Waits until the folders of library were fetched in bulk; returns the status entry."""
    deadline = time.monotonic() + PREFETCH_WAIT_S
    while time.monotonic() < deadline:
        state = folders_prefetch(mount, library)
        assert state["state"] != "failed", mount.log_tail()
        if state["state"] == "done":
            return state
        time.sleep(0.05)
    pytest.fail("the folders of %s were not fetched within %d s\n%s"
                % (library, PREFETCH_WAIT_S, mount.log_tail()))
