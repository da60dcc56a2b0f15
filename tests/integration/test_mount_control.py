"""The control interface of real mounts: `seafs status` (human and --json, one mount or all of
the user's), `seafs unlock` / `seafs lock` of the vectors' encrypted library "Secret", the
control socket's place and modes, other users refused, and clear errors with exit codes (no
such mount, daemon stopped or killed, unknown library, library not encrypted, wrong password,
usage). The password never shows in the daemon's -d log, in status output or in `ps`."""

import fcntl
import hashlib
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import select
import termios
import tempfile
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (COMMAND_TIMEOUT_S, USER, SeafsMount,  # noqa: E402
                           cleanup_mountpoint, ctl, mount_factory, options_string,
                           read_with_bound, seafs_binary, small_demo_server, unmount,
                           write_credentials)
from seafserver import demo  # noqa: E402
from seafserver.testing import VECTORS_DIR  # noqa: E402

assert mount_factory and small_demo_server  # fixtures, used by name
VECTORS = pathlib.Path(VECTORS_DIR)
SECRET, SECRET_PASSWORD = "Secret", demo.DEMO_PASSWORD
CACHE_SIZE = 64 << 20


def status_json(mountpoint, env=None):
    done = ctl("status", mountpoint, "--json", env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def running(pid):
    """Whether pid is a live process (an exited one nobody reaped yet counts as gone)."""
    try:
        state = pathlib.Path("/proc", str(pid), "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def library(status, path):
    found = [lib for lib in status["libraries"] if lib["path"] == path]
    assert len(found) == 1, [lib["path"] for lib in status["libraries"]]
    return found[0]


@pytest.fixture(scope="module")
def mounted(small_demo_server):
    """One -d mount of the small demo (vectors included) in a directory other users can
    traverse (for the other-uid test); unmounted in teardown."""
    server, _ = small_demo_server
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="seafs-control-"))
    os.chmod(workdir, 0o755)
    mount = SeafsMount(server.url, workdir, debug=True, cache_size=CACHE_SIZE)
    try:
        yield mount.start()
    finally:
        problem = mount.stop()
        print("--- seafs log (tail) ---\n%s" % mount.log_tail())
        shutil.rmtree(workdir, ignore_errors=True)
        assert not problem, problem


def test_status_json_matches_the_mount(mounted):
    status = status_json(mounted.mountpoint)
    deadline = time.monotonic() + 30
    while status["library_roots"]["warmed"] + status["library_roots"]["failed"] < len(
            status["libraries"]):  # every library's root is warmed after the mount
        assert time.monotonic() < deadline, status["library_roots"]
        time.sleep(0.05)
        status = status_json(mounted.mountpoint)
    assert status["library_roots"]["failed"] == 0
    assert status["mountpoint"] == os.path.realpath(mounted.mountpoint)
    assert status["server"] == mounted.server_url
    assert status["account"] == mounted.user
    assert status["online"] is True
    assert status["pid"] == mounted.pid
    assert 0 <= status["now"] - status["mounted_at"] < 600
    shown = sorted(os.listdir(mounted.mountpoint))
    assert [lib["path"] for lib in status["libraries"]] == shown  # sorted by path
    for lib in status["libraries"]:
        assert re.fullmatch(r"[0-9a-f]{40}", lib["head_commit"]), lib
        assert re.fullmatch(r"[0-9a-f-]{36}", lib["id"]), lib
        assert lib["head_age"] == status["now"] - lib["head_time"]
        assert lib["locked"] == lib["encrypted"]  # nothing unlocked yet in this test
    secret = library(status, SECRET)
    assert secret["encrypted"] is True and secret["id"] == "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46"
    assert secret["head_commit"] == "6f7470e14131c4b5a0c64baebc0ac10489f81338"
    assert library(status, "Docs")["encrypted"] is False
    assert library(status, "Shared Read-Only")["read_only"] is True
    assert status["cache"]["limit_bytes"] == CACHE_SIZE
    assert status["cache"]["used_bytes"] <= CACHE_SIZE
    network = status["network"]
    assert network["requests"] >= 2  # login and library list at least
    assert network["bytes_received"] > 0
    assert network["transfers_in_progress"] == 0
    assert isinstance(status["errors"], list)
    assert status["socket"].endswith(".sock")


def test_status_human(mounted):
    done = ctl("status", mounted.mountpoint)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert out.startswith(os.path.realpath(mounted.mountpoint) + ": seafs ")
    assert "server:    %s (online)" % mounted.server_url in out
    assert "account:   %s" % mounted.user in out
    assert "of 64.0 MiB" in out
    assert "libraries: %d" % len(os.listdir(mounted.mountpoint)) in out
    assert re.search(r"^    Secret +locked +rw +6f7470e14131 ", out, re.M), out
    assert re.search(r"^    Docs +plain +rw ", out, re.M), out
    assert re.search(r"^    Shared Read-Only +plain +ro ", out, re.M), out
    assert "refuse reads (EACCES) until `seafs unlock %s LIBRARY`" % os.path.realpath(
        mounted.mountpoint) in out


def test_counters_grow_when_a_file_is_read(mounted):
    before = status_json(mounted.mountpoint)
    data = mounted.path("Docs", "exact-1MiB.bin").read_bytes()
    assert data == (VECTORS / "plain" / "Docs" / "exact-1MiB.bin").read_bytes()
    after = status_json(mounted.mountpoint)
    assert after["cache"]["used_bytes"] >= before["cache"]["used_bytes"] + len(data)
    assert after["cache"]["entries"] > before["cache"]["entries"]
    assert after["network"]["bytes_received"] >= before["network"]["bytes_received"] + len(data)
    assert after["network"]["requests"] > before["network"]["requests"]
    # Read again from a fresh open after dropping the kernel's page cache of the file: served
    # by the cache (no new download), which counts as hits.
    fd = os.open(mounted.path("Docs", "exact-1MiB.bin"), os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        assert os.pread(fd, 4096, 8192) == data[8192:8192 + 4096]
    finally:
        os.close(fd)
    again = status_json(mounted.mountpoint)
    assert again["network"]["bytes_received"] < after["network"]["bytes_received"] + len(data)
    assert again["cache"]["hits"] > after["cache"]["hits"]
    assert 0 <= again["cache"]["hit_ratio"] <= 1


def test_status_of_all_mounts_lists_this_one(mounted):
    done = ctl("status", "--json")
    assert done.returncode == 0, done.stderr
    mounts = json.loads(done.stdout)
    mine = [m for m in mounts if m["mountpoint"] == os.path.realpath(mounted.mountpoint)]
    assert len(mine) == 1 and mine[0]["pid"] == mounted.pid
    done = ctl("status")
    assert done.returncode == 0, done.stderr
    assert os.path.realpath(mounted.mountpoint) + ": seafs " in done.stdout


def test_socket_and_directory_modes(mounted):
    path = pathlib.Path(status_json(mounted.mountpoint)["socket"])
    st = path.lstat()
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.getuid()
    dir_st = path.parent.lstat()
    assert stat.S_ISDIR(dir_st.st_mode) and stat.S_IMODE(dir_st.st_mode) == 0o700
    assert dir_st.st_uid == os.getuid()
    assert len(str(path)) < 108
    if os.getuid() == 0 and not os.environ.get("XDG_RUNTIME_DIR"):
        assert str(path.parent) in ("/run/seafs", "/run/user/0/seafs")


def test_other_users_are_refused(mounted):
    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the client as another user")
    as_nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    done = ctl("status", mounted.mountpoint, prefix=as_nobody)
    assert done.returncode == 1, done
    assert "permission denied" in done.stderr
    assert "uid 0" in done.stderr
    done = ctl("unlock", mounted.mountpoint, SECRET, "--password-stdin", prefix=as_nobody,
               stdin=SECRET_PASSWORD + "\n")
    assert done.returncode == 1 and "permission denied" in done.stderr, done
    assert library(status_json(mounted.mountpoint), SECRET)["locked"] is True


def test_no_such_mount(tmp_path):
    plain = tmp_path / "plain-dir"
    plain.mkdir()
    for args in (("status", plain), ("lock", plain, SECRET), ("status", tmp_path / "missing"),
                 ("unlock", plain, SECRET, "--password-stdin")):
        done = ctl(*args, stdin="x\n")
        assert done.returncode == 1, (args, done)
        assert "no seafs mount at %s" % args[1] in done.stderr, done.stderr


def test_usage_errors(mounted):
    for args in (("status", "a", "b"), ("unlock", mounted.mountpoint),
                 ("unlock", mounted.mountpoint, SECRET, "--password", SECRET_PASSWORD),
                 ("lock", mounted.mountpoint, SECRET, "--json"), ("status", "--bogus")):
        done = ctl(*args)
        assert done.returncode == 2, (args, done)
        assert "usage" in done.stderr
    assert library(status_json(mounted.mountpoint), SECRET)["locked"] is True


def test_unknown_library_and_not_encrypted(mounted):
    done = ctl("unlock", mounted.mountpoint, "No Such Library", "--password-stdin",
               stdin="x\n")
    assert done.returncode == 1
    assert "no library 'No Such Library'" in done.stderr, done.stderr
    done = ctl("lock", mounted.mountpoint, "No Such Library")
    assert done.returncode == 1 and "no library" in done.stderr, done.stderr
    done = ctl("unlock", mounted.mountpoint, "Docs", "--password-stdin", stdin="x\n")
    assert done.returncode == 1
    assert "not encrypted" in done.stderr, done.stderr
    done = ctl("lock", mounted.mountpoint, "Docs")
    assert done.returncode == 1 and "not encrypted" in done.stderr, done.stderr


def test_unlock_and_lock(mounted, tmp_path):
    secret_file = mounted.path(SECRET, "hello.txt")
    expected = (VECTORS / "plain" / SECRET / "hello.txt").read_bytes()
    with pytest.raises(PermissionError):
        secret_file.read_bytes()
    # Wrong password (stdin, not a terminal): refused, still locked.
    done = ctl("unlock", mounted.mountpoint, SECRET, stdin="wrong-password\n")
    assert done.returncode == 1
    assert "wrong password" in done.stderr, done.stderr
    status = status_json(mounted.mountpoint)
    assert library(status, SECRET)["locked"] is True
    # The daemon's warning about it is among the last errors, with its time.
    warnings = [e for e in status["errors"] if "wrong password" in e["message"]]
    assert warnings and warnings[-1]["level"] == "warning", status["errors"]
    assert abs(warnings[-1]["time"] - status["now"]) < 60
    # A password file others can read is refused before anything is sent.
    loose = write_credentials(tmp_path / "loose", SECRET_PASSWORD, mode=0o644)
    done = ctl("unlock", mounted.mountpoint, SECRET, "--password-file", loose)
    assert done.returncode == 1 and "group or others" in done.stderr, done.stderr
    # The right one from a 0600 file.
    good = write_credentials(tmp_path / "good", SECRET_PASSWORD)
    done = ctl("unlock", mounted.mountpoint, SECRET, "--password-file", good)
    assert done.returncode == 0, done.stderr
    assert "unlocked" in done.stdout
    status = status_json(mounted.mountpoint)
    assert library(status, SECRET)["locked"] is False
    assert secret_file.read_bytes() == expected
    human = ctl("status", mounted.mountpoint).stdout
    assert re.search(r"^    Secret +unlocked ", human, re.M), human
    # Lock: locked again; unlocking again with --password-stdin works too.
    done = ctl("lock", mounted.mountpoint, SECRET)
    assert done.returncode == 0 and "locked" in done.stdout, done.stderr
    assert library(status_json(mounted.mountpoint), SECRET)["locked"] is True
    with pytest.raises(PermissionError):
        mounted.path(SECRET, "from-client.txt").read_bytes()
    done = ctl("unlock", mounted.mountpoint, SECRET, "--password-stdin",
               stdin=SECRET_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert ctl("lock", mounted.mountpoint, SECRET).returncode == 0
    # The password is nowhere to be seen: daemon log (-d), status output, command lines.
    log = mounted.log_path.read_text(errors="replace")
    assert "control: unlock Secret" in log  # the -d log did record the requests
    assert SECRET_PASSWORD not in log and "wrong-password" not in log
    assert SECRET_PASSWORD not in ctl("status", mounted.mountpoint, "--json").stdout
    assert SECRET_PASSWORD not in ctl("status", mounted.mountpoint).stdout
    cmdline = pathlib.Path("/proc", str(mounted.pid), "cmdline").read_bytes()
    assert SECRET_PASSWORD.encode() not in cmdline


def test_stopped_daemon_is_reported_as_not_responding(mounted):
    os.kill(mounted.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        done = ctl("status", mounted.mountpoint)
        elapsed = time.monotonic() - started
        assert done.returncode == 1
        assert "not responding" in done.stderr, done.stderr
        assert elapsed < COMMAND_TIMEOUT_S
    finally:
        os.kill(mounted.pid, signal.SIGCONT)
    assert status_json(mounted.mountpoint)["pid"] == mounted.pid


def test_killed_daemon_leaves_a_stale_socket_that_the_next_mount_replaces(small_demo_server,
                                                                          mount_factory):
    server, _ = small_demo_server
    mount = mount_factory(server)
    socket_path = pathlib.Path(status_json(mount.mountpoint)["socket"])
    mount.process.kill()
    mount.process.wait()
    mount.process = None
    assert socket_path.exists()  # nobody removed it
    done = ctl("status", mount.mountpoint)
    assert done.returncode == 1
    assert "not running" in done.stderr and "stale" in done.stderr, done.stderr
    done = ctl("status")
    assert "skipped: the daemon is not running (stale control socket %s)" % socket_path \
        in done.stderr, done.stderr
    assert not unmount(mount.mountpoint)
    mount.start()
    status = status_json(mount.mountpoint)
    assert status["socket"] == str(socket_path) and status["pid"] == mount.pid
    # A clean unmount removes the socket.
    assert not mount.stop()
    assert not socket_path.exists()


def test_xdg_runtime_dir_is_used_when_usable(small_demo_server, mount_factory, monkeypatch):
    server, _ = small_demo_server
    runtime = pathlib.Path(tempfile.mkdtemp(prefix="xdg-"))  # 0700, ours; short path
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        mount = mount_factory(server)
        status = status_json(mount.mountpoint, env=dict(os.environ))
        assert pathlib.Path(status["socket"]).parent == runtime / "seafs"
        assert stat.S_IMODE((runtime / "seafs").lstat().st_mode) == 0o700
        # A client without the variable looks in the other directories and says what it
        # found: a seafs mount without a socket there.
        env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
        done = ctl("status", mount.mountpoint, env=env)
        assert done.returncode == 1 and "no control socket" in done.stderr, done.stderr
        assert not mount.stop()
        assert not list((runtime / "seafs").iterdir())
    finally:
        shutil.rmtree(runtime, ignore_errors=True)


def test_unlock_prompts_on_the_terminal_without_echo(mounted):
    """Without --password-* and with a terminal, the password is asked for on /dev/tty and not
    echoed."""
    master, slave = os.openpty()

    def take_terminal():  # runs in the child after setsid: the pty becomes its terminal
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    process = subprocess.Popen([str(seafs_binary()), "unlock", str(mounted.mountpoint), SECRET],
                               stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                               preexec_fn=take_terminal)
    os.close(slave)
    output = b""
    try:
        deadline = time.monotonic() + COMMAND_TIMEOUT_S
        while b"password" not in output and time.monotonic() < deadline:
            if select.select([master], [], [], 1)[0]:
                output += os.read(master, 1024)
        assert b"Seafile password for library Secret:" in output, output
        os.write(master, SECRET_PASSWORD.encode() + b"\n")
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                chunk = os.read(master, 1024)
            except OSError:  # EIO: the client closed the terminal
                break
            if not chunk:
                break
            output += chunk
        assert process.wait(COMMAND_TIMEOUT_S) == 0, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    assert SECRET_PASSWORD.encode() not in output, output  # echo was off
    assert b"unlocked" in output
    assert library(status_json(mounted.mountpoint), SECRET)["locked"] is False
    assert ctl("lock", mounted.mountpoint, SECRET).returncode == 0


def test_status_makes_no_server_request_and_shows_transfers(small_demo_server, mounted):
    """With every server answer delayed beyond the client's 5 s, status still answers; a
    stalled block download shows as a transfer in progress."""
    server, _ = small_demo_server
    server.set_faults(latency_ms=8000)
    try:
        started = time.monotonic()
        status = status_json(mounted.mountpoint)
        assert time.monotonic() - started < 5
        assert status["pid"] == mounted.pid
    finally:
        server.clear_faults()
    target = mounted.path("Docs", "1MiB-plus-1.bin")
    target.stat()
    server.set_faults(stall={"after_bytes": 10, "match": "/block/"})
    reader = None
    try:
        reader = threading.Thread(target=read_with_bound, args=(target, COMMAND_TIMEOUT_S),
                                  daemon=True)
        reader.start()
        deadline = time.monotonic() + 10
        in_progress = 0
        while in_progress == 0 and time.monotonic() < deadline:
            in_progress = status_json(mounted.mountpoint)["network"]["transfers_in_progress"]
            time.sleep(0.1)
        assert in_progress >= 1
    finally:
        server.clear_faults()  # releases the stalled responses
        if reader:
            reader.join(COMMAND_TIMEOUT_S)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if status_json(mounted.mountpoint)["network"]["transfers_in_progress"] == 0:
            break
        time.sleep(0.1)
    assert status_json(mounted.mountpoint)["network"]["transfers_in_progress"] == 0


def test_background_daemon_answers_from_a_relative_mount_point(small_demo_server, tmp_path):
    """A daemon started in the background (it changes to / after forking) with a relative
    MOUNTPOINT serves the socket of the canonical path."""
    server, _ = small_demo_server
    for name in ("mnt", "cache", "state"):
        (tmp_path / name).mkdir()
    credentials = write_credentials(tmp_path / "credentials")
    options = {"user": USER, "credentials": credentials, "cache_dir": tmp_path / "cache",
               "state_dir": tmp_path / "state"}
    try:
        done = subprocess.run([str(seafs_binary()), server.url, "mnt", "-o",
                               options_string(options)], cwd=tmp_path, capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT_S, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        status = status_json(tmp_path / "mnt")
        assert status["mountpoint"] == os.path.realpath(tmp_path / "mnt")
        pid = status["pid"]
        assert os.readlink("/proc/%d/cwd" % pid) == "/"  # the detached daemon
        done = ctl("status", "mnt", cwd=tmp_path)
        assert done.returncode == 0 and "(online)" in done.stdout, done.stderr
    finally:
        assert not cleanup_mountpoint(tmp_path / "mnt")  # the daemon exits when unmounted
    deadline = time.monotonic() + 15
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(pid)
    assert not pathlib.Path(status["socket"]).exists()


def test_unlock_with_an_argon2id_password_hash(mounted):
    """An enc v4 library whose commit carries an argon2id pwd_hash (the slow key derivation)
    unlocks within the client's time limit; status shows it unlocked, then locked again."""
    name = "Encrypted v4 argon2"
    assert library(status_json(mounted.mountpoint), name)["locked"] is True
    started = time.monotonic()
    done = ctl("unlock", mounted.mountpoint, name, "--password-stdin", stdin=SECRET_PASSWORD + "\n")
    print("unlock of %s took %.2f s" % (name, time.monotonic() - started))
    assert done.returncode == 0, done.stderr
    assert library(status_json(mounted.mountpoint), name)["locked"] is False
    assert ctl("lock", mounted.mountpoint, name).returncode == 0
    assert library(status_json(mounted.mountpoint), name)["locked"] is True


def test_no_password_goes_to_a_socket_in_a_directory_others_can_write(tmp_path, monkeypatch):
    """Someone who can write the socket directory could plant a socket with a mount's name
    and wait for passwords: such a directory is never used."""
    runtime = pathlib.Path(tempfile.mkdtemp(prefix="xdg-"))
    planted = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        (runtime / "seafs").mkdir()
        os.chmod(runtime / "seafs", 0o777)
        target = tmp_path / "target"
        target.mkdir()
        name = hashlib.sha1(os.path.realpath(target).encode()).hexdigest()[:16] + ".sock"
        planted.bind(str(runtime / "seafs" / name))
        planted.listen(1)
        planted.setblocking(False)
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        done = ctl("unlock", target, SECRET, "--password-stdin", stdin=SECRET_PASSWORD + "\n")
        assert done.returncode == 1
        assert "no seafs mount at %s" % target in done.stderr, done.stderr
        with pytest.raises(BlockingIOError):
            planted.accept()  # nobody connected
        # The same socket in a private directory is the one the client talks to.
        os.chmod(runtime / "seafs", 0o700)
        client = subprocess.Popen([str(seafs_binary()), "status", str(target)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        planted.settimeout(COMMAND_TIMEOUT_S)
        connection, _ = planted.accept()
        connection.close()  # no reply
        _, stderr = client.communicate(timeout=COMMAND_TIMEOUT_S)
        assert client.returncode == 1
        assert "closed the connection without a reply" in stderr, stderr
    finally:
        planted.close()
        shutil.rmtree(runtime, ignore_errors=True)
