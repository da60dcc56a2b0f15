"""The control plane of writes on real mounts: `seafs sync` (changes made before it are
committed on the server, what is stuck and why when they cannot be, bounded by --timeout, a
daemon that dies ends the wait), the upload fields of `seafs status` (pending counts from the
journal, last commit, errors with their retry time) and the `user.seafs.status` extended
attribute (pending, uploading, synced, conflict). Each test has its own server over a private
copy of the vectors (uploads write to it) and mounts with a long upload_delay, so nothing goes
up before the test asks for it."""

import errno
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import tempfile
import shutil
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import COMMAND_TIMEOUT_S, ctl, mount_factory, seafs_binary  # noqa: E402

assert mount_factory  # fixture, used by name
SCRATCH = "Scratch"
SCRATCH_ID = "8ad15dc3-5605-4cd9-962d-b5f7d1b1a303"
QUIET = 3600  # upload_delay: no upload unless someone waits for it


@pytest.fixture
def server(server_factory):
    """A server over a private copy of the vectors (uploads write to it)."""
    return server_factory(copy_vectors=True)


def status_json(mount):
    done = ctl("status", mount.mountpoint, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def library(status, path=SCRATCH):
    found = [lib for lib in status["libraries"] if lib["path"] == path]
    assert len(found) == 1, [lib["path"] for lib in status["libraries"]]
    return found[0]


def xattr_status(path):
    return os.getxattr(path, "user.seafs.status").decode()


def sync(mount, *args, timeout=COMMAND_TIMEOUT_S):
    return ctl("sync", mount.mountpoint, *args, timeout=timeout)


def start_sync(mount, *args):
    """`seafs sync MOUNT ARGS` in the background (a Popen with text pipes)."""
    command = [str(seafs_binary()), "sync", str(mount.mountpoint)] + [str(a) for a in args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)


def wait_until(condition, what, timeout=30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for " + what
        time.sleep(0.1)


def server_head(server, repo_id=SCRATCH_ID):
    return server.state()["libraries"][repo_id]["head"]


def test_sync_commits_pending_changes_and_a_fresh_mount_sees_them(server, mount_factory):
    mount = mount_factory(server, upload_delay=QUIET)
    head_before = server_head(server)
    root = mount.path(SCRATCH)
    big = os.urandom(300 * 1024)
    (root / "new.txt").write_text("hello from seafs sync\n")
    (root / "madedir").mkdir()
    (root / "madedir" / "big.bin").write_bytes(big)
    untouched = sorted(p for p in os.listdir(root) if p not in ("new.txt", "madedir"))
    assert untouched, os.listdir(root)

    before = library(status_json(mount))
    assert before["pending"] == {"files": 3, "bytes": len(big) + 22}
    assert before["upload"]["in_progress"] is False
    assert before["last_commit"] is None and before["error"] is None
    assert library(status_json(mount), "Docs")["pending"] == {"files": 0, "bytes": 0}
    human = ctl("status", mount.mountpoint).stdout
    assert re.search(r"^      3 changes \(300\.\d KiB\) waiting$", human, re.M), human
    assert "uploads:   3 changes (300." in human and "waiting in 1 library" in human, human

    assert xattr_status(root / "new.txt") == "pending"
    assert xattr_status(root / "madedir") == "pending"
    assert xattr_status(root / "madedir" / "big.bin") == "pending"
    assert xattr_status(root) == "pending"
    assert xattr_status(root / untouched[0]) == "synced"
    assert xattr_status(mount.path("Docs")) == "synced"
    assert "user.seafs.status" in os.listxattr(root / "new.txt")
    assert "user.seafs.status" in os.listxattr(root / "madedir")

    started = time.monotonic()
    done = sync(mount)
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started < 30
    head = server_head(server)
    assert head != head_before
    line = done.stdout.strip()
    assert "\n" not in line, line
    assert line.startswith("%s: 3 changes (300." % os.path.realpath(mount.mountpoint)), line
    assert "on the server: Scratch (commit %s)" % head[:8] in line, line

    after = library(status_json(mount))
    assert after["pending"] == {"files": 0, "bytes": 0}
    assert after["last_commit"] == head
    assert abs(after["last_commit_time"] - time.time()) < 60
    assert after["error"] is None and after["retry_at"] is None
    assert after["head_commit"] == head
    for path in (root / "new.txt", root / "madedir", root / "madedir" / "big.bin", root):
        assert xattr_status(path) == "synced", path
    assert "nothing waiting" in ctl("status", mount.mountpoint).stdout

    # A second sync has nothing to do.
    again = sync(mount)
    assert again.returncode == 0 and "nothing to upload" in again.stdout, again

    # A first mount elsewhere (its own cache) sees the changes from the server.
    fresh = mount_factory(server, name="fresh")
    assert fresh.path(SCRATCH, "new.txt").read_text() == "hello from seafs sync\n"
    assert fresh.path(SCRATCH, "madedir", "big.bin").read_bytes() == big
    assert sorted(os.listdir(fresh.path(SCRATCH))) == sorted(untouched + ["new.txt", "madedir"])


def test_sync_of_one_library_and_json(server, mount_factory):
    mount = mount_factory(server, upload_delay=QUIET)
    mount.path(SCRATCH, "one.txt").write_text("1")
    mount.path("Docs", "two.txt").write_text("22")
    docs_head = server_head(server, library(status_json(mount), "Docs")["id"])
    done = sync(mount, SCRATCH, "--json")
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    assert reply["ok"] is True and reply["socket"].endswith(".sock")
    details = reply["sync"]
    assert details["mountpoint"] == os.path.realpath(mount.mountpoint)
    assert details["timeout_s"] == 0 and details["waited_s"] >= 0
    assert [lib["path"] for lib in details["libraries"]] == [SCRATCH]
    assert details["libraries"][0]["synced"] == {"files": 1, "bytes": 1}
    assert details["libraries"][0]["last_commit"] == server_head(server)
    # Docs was not asked for: still waiting.
    status = status_json(mount)
    assert library(status, "Docs")["pending"] == {"files": 1, "bytes": 2}
    assert server_head(server, library(status, "Docs")["id"]) == docs_head
    assert xattr_status(mount.path("Docs", "two.txt")) == "pending"
    # By server name or id too; unknown libraries and bad arguments are refused.
    assert sync(mount, library(status, "Docs")["id"]).returncode == 0
    assert library(status_json(mount), "Docs")["pending"]["files"] == 0
    done = sync(mount, "No Such Library")
    assert done.returncode == 1 and "no library 'No Such Library'" in done.stderr, done.stderr
    for bad in (["--timeout", "soon"], ["--timeout"], ["--timeout=-1"], ["--frobnicate"],
                [SCRATCH, "extra"]):
        done = sync(mount, *bad)
        assert done.returncode == 2, (bad, done.stderr)


def test_sync_times_out_naming_the_library_when_the_server_is_unreachable(server,
                                                                          mount_factory):
    mount = mount_factory(server, upload_delay=QUIET)
    mount.path(SCRATCH, "offline.txt").write_text("made while the server was away\n")
    server.unreachable()
    try:
        started = time.monotonic()
        done = sync(mount, "--timeout", "3")
        elapsed = time.monotonic() - started
        assert done.returncode == 1, done
        assert elapsed < 3 + 15, elapsed
        assert SCRATCH in done.stderr, done.stderr
        assert re.search(r"^  Scratch: 1 change \(31 B\) waiting -- error: ", done.stderr,
                         re.M), done.stderr
        status = library(status_json(mount))
        assert status["pending"]["files"] == 1
        assert status["error"] and status["error_time"] and status["retry_at"]
        assert xattr_status(mount.path(SCRATCH, "offline.txt")) == "pending"
    finally:
        server.reachable()
    done = sync(mount, "--timeout", "60")
    assert done.returncode == 0, done.stderr
    status = library(status_json(mount))
    assert status["pending"]["files"] == 0 and status["error"] is None
    assert status["last_commit"] == server_head(server)


def test_over_quota_fails_fast_with_the_reason_and_status_shows_it(server, mount_factory):
    mount = mount_factory(server, upload_delay=QUIET)
    server.set_account("user@example.com", quota=1000)  # far below what the account uses
    mount.path(SCRATCH, "too-much.bin").write_bytes(b"x" * 5000)
    head = server_head(server)
    for attempt in range(2):  # the second is retried at once, not after the back-off
        started = time.monotonic()
        done = sync(mount)
        assert done.returncode == 1, done
        assert time.monotonic() - started < 20
        assert "quota" in done.stderr, done.stderr
        assert re.search(r"^seafs: sync .*: Scratch: quota-check: over quota", done.stderr,
                         re.M), done.stderr
    status = library(status_json(mount))
    assert "over quota" in status["error"]
    assert status["retry_at"] > time.time()
    assert status["pending"] == {"files": 1, "bytes": 5000}
    assert server_head(server) == head
    human = ctl("status", mount.mountpoint).stdout
    assert re.search(r"^      1 change \(4\.9 KiB\) waiting -- error: quota-check: over quota, "
                     r"retry in \d+ s$", human, re.M), human
    assert "with errors" in human
    done = sync(mount, "--json")
    reply = json.loads(done.stdout)
    assert reply["ok"] is False and reply["error"] == "over_quota", reply
    # Known now at write time: writes that grow a file fail with EDQUOT (with the kernel's
    # writeback cache, at the latest when the data is flushed); rewrites in place go on, and
    # what was written stays.
    path = mount.path(SCRATCH, "too-much.bin")
    with pytest.raises(OSError) as grown:
        with open(path, "ab", buffering=0) as f:
            f.write(b"y" * 4096)
            os.fsync(f.fileno())
    assert grown.value.errno == errno.EDQUOT, grown.value
    with open(path, "r+b", buffering=0) as f:
        f.write(b"z" * 100)
        os.fsync(f.fileno())
    assert path.read_bytes()[:5000] == b"z" * 100 + b"x" * 4900
    # With room again, the next sync goes through at once, and files grow again.
    server.set_account("user@example.com", quota=-2)
    done = sync(mount, "--timeout", "60")
    assert done.returncode == 0, done.stderr
    assert library(status_json(mount))["error"] is None
    assert server_head(server) != head
    with open(path, "ab") as f:
        f.write(b"grown")
    assert path.read_bytes().endswith(b"grown")


def test_status_answers_while_a_sync_waits_and_xattr_says_uploading(server, mount_factory):
    mount = mount_factory(server, upload_delay=QUIET)
    mount.path(SCRATCH, "slow.txt").write_text("held up by the server\n")
    server.set_faults(stall={"match": "permission-check"})
    waiting = start_sync(mount)
    try:
        wait_until(lambda: library(status_json(mount))["upload"]["in_progress"],
                   "the upload round to start")
        started = time.monotonic()
        status = status_json(mount)
        assert time.monotonic() - started < 5
        assert library(status)["upload"]["in_progress"] is True
        assert library(status)["pending"]["files"] == 1
        assert xattr_status(mount.path(SCRATCH, "slow.txt")) == "uploading"
        assert "1 change (22 B) uploading" in ctl("status", mount.mountpoint).stdout
        assert waiting.poll() is None  # still waiting
        server.clear_faults()
        out, err = waiting.communicate(timeout=60)
    finally:
        server.clear_faults()
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 0, err
    assert "on the server: Scratch (commit" in out, out
    assert xattr_status(mount.path(SCRATCH, "slow.txt")) == "synced"


def test_sync_ends_when_the_daemon_dies(server, mount_factory):
    mount = mount_factory(server, upload_delay=QUIET)
    mount.path(SCRATCH, "lost-daemon.txt").write_text("the journal keeps me\n")
    server.set_faults(stall={"match": "permission-check"})
    waiting = start_sync(mount)
    try:
        wait_until(lambda: library(status_json(mount))["upload"]["in_progress"],
                   "the upload round to start")
        mount.process.kill()
        mount.process.wait()
        mount.process = None
        out, err = waiting.communicate(timeout=20)
    finally:
        server.clear_faults()
        if waiting.poll() is None:
            waiting.kill()
            waiting.wait()
    assert waiting.returncode == 1
    assert "closed the connection without a reply" in err, err
    # The change was kept: the next start of the same mount uploads it.
    assert not mount.stop()
    mount.start()
    done = sync(mount, "--timeout", "60")
    assert done.returncode == 0, done.stderr
    fresh = mount_factory(server, name="fresh")
    assert fresh.path(SCRATCH, "lost-daemon.txt").read_text() == "the journal keeps me\n"


def test_conflict_copies_are_named_in_the_status_attribute(server, mount_factory):
    mount = mount_factory(server, upload_delay=QUIET)
    name = "notes (SFConflict user@example.com 2024-05-01-10-00-00).txt"
    mount.path(SCRATCH, name).write_text("theirs\n")
    assert xattr_status(mount.path(SCRATCH, name)) == "conflict"
    assert sync(mount).returncode == 0
    assert xattr_status(mount.path(SCRATCH, name)) == "conflict"
    fresh = mount_factory(server, name="fresh")
    assert xattr_status(fresh.path(SCRATCH, name)) == "conflict"
    assert xattr_status(fresh.path(SCRATCH)) == "synced"
    # The mount point and category folders have no such attribute.
    with pytest.raises(OSError):
        xattr_status(mount.mountpoint)


def foreign_failures(stderr, runtime):
    """The lines of stderr about sockets outside runtime: other mounts of this uid (root also
    looks in /run/seafs), which may be of another seafs version or test."""
    return [line for line in stderr.splitlines() if str(runtime) not in line]


def test_sync_without_mountpoint_syncs_every_mount_of_the_user(server, mount_factory,
                                                                monkeypatch):
    runtime = pathlib.Path(tempfile.mkdtemp(prefix="xdg-"))  # our mounts' sockets
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        first = mount_factory(server, name="first", upload_delay=QUIET)
        second = mount_factory(server, name="second", upload_delay=QUIET)
        first.path(SCRATCH, "from-first.txt").write_text("1\n")
        second.path("Docs", "from-second.txt").write_text("2\n")
        done = ctl("sync", "--timeout", "60", env=dict(os.environ))
        others = foreign_failures(done.stderr, runtime)
        assert done.returncode == (1 if others else 0), done.stderr
        assert len(others) == len(done.stderr.splitlines()), done.stderr
        ours = {os.path.realpath(m.mountpoint): m for m in (first, second)}
        lines = {line.split(": ", 1)[0]: line for line in done.stdout.splitlines()
                 if line.split(": ", 1)[0] in ours}
        assert sorted(lines) == sorted(ours), done.stdout
        assert ": 1 change (2 B) on the server: Scratch (commit" in lines[
            os.path.realpath(first.mountpoint)]
        assert ": 1 change (2 B) on the server: Docs (commit" in lines[
            os.path.realpath(second.mountpoint)]
        for mount in (first, second):
            status = json.loads(ctl("status", mount.mountpoint, "--json",
                                    env=dict(os.environ)).stdout)
            assert all(lib["pending"]["files"] == 0 for lib in status["libraries"])
        done = ctl("sync", "--json", env=dict(os.environ))
        replies = [r for r in json.loads(done.stdout)
                   if r.get("sync", {}).get("mountpoint") in ours]
        assert len(replies) == 2 and all(r["ok"] for r in replies), replies
        assert all("nothing to upload" == r["message"] for r in replies), replies
        assert not first.stop() and not second.stop()
    finally:
        shutil.rmtree(runtime, ignore_errors=True)
