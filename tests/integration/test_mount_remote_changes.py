"""Remote changes reach a seafs mount on their own: another client's commit (seafserver.builder
commit_directory, which moves the library head on the server) and a new library show up within
one poll interval (plus generous slack), and a file that was open for reading across the change
keeps reading the bytes of the version it opened."""

import os
import pathlib
import random
import shutil
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import USER, PASSWORD, assert_same_tree, mount_factory  # noqa: E402
from seafserver import builder  # noqa: E402
from seafserver.testing import SeafServer  # noqa: E402

assert mount_factory  # a fixture, used by name
POLL_INTERVAL_S = 1
# Upper bound for "within one poll interval": the interval plus slack for a loaded machine.
APPEAR_BOUND_S = POLL_INTERVAL_S + 20
OPEN_FILE = "open-while-changed.bin"


def random_bytes(seed, size):
    return random.Random(seed).randbytes(size)


def write_tree(root, files, dirs=()):
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    for rel in dirs:
        (root / rel).mkdir(parents=True, exist_ok=True)


@pytest.fixture
def live(tmp_path):
    """(server, data dir, repo id, source dir) of a library "Live" that the test may change."""
    data = tmp_path / "server"
    builder.add_account(str(data), USER, PASSWORD)
    source = tmp_path / "source"
    write_tree(source, {"keep.txt": b"kept\n", "change.txt": b"old content\n",
                        "remove.txt": b"to be removed\n",
                        OPEN_FILE: random_bytes(1, 6 << 20)}, dirs=["empty"])
    repo_id = builder.create_library(str(data), "Live", USER, source)
    server = SeafServer(str(data)).start()
    yield server, data, repo_id, source
    server.stop()


def wait_for(condition, bound_s, what):
    deadline = time.monotonic() + bound_s
    while not condition():
        assert time.monotonic() < deadline, "%s did not happen within %d s" % (what, bound_s)
        time.sleep(0.1)


def test_remote_commit_appears_within_one_poll_interval(live, mount_factory):
    server, data, repo_id, source = live
    mount = mount_factory(server, poll_interval=POLL_INTERVAL_S)
    library = mount.path("Live")
    assert_same_tree(source, library)

    write_tree(source, {"keep.txt": b"kept\n", "change.txt": b"new, longer content\n",
                        "added dir/new \U0001f600.txt": b"added remotely\n",
                        OPEN_FILE: random_bytes(1, 6 << 20)}, dirs=["empty", "new-empty"])
    builder.commit_directory(str(data), repo_id, source)
    wait_for(lambda: (library / "added dir" / "new \U0001f600.txt").exists(), APPEAR_BOUND_S,
             "the new file appearing")
    assert_same_tree(source, library)
    assert (library / "change.txt").read_bytes() == b"new, longer content\n"
    assert not (library / "remove.txt").exists()


def test_new_library_appears_within_one_poll_interval(live, mount_factory, tmp_path):
    server, data, _, _ = live
    mount = mount_factory(server, poll_interval=POLL_INTERVAL_S)
    assert os.listdir(mount.mountpoint) == ["Live"]
    other = tmp_path / "other-source"
    write_tree(other, {"hello.txt": b"hello\n"})
    builder.create_library(str(data), "Arrived Later", USER, other)
    wait_for(lambda: "Arrived Later" in os.listdir(mount.mountpoint), APPEAR_BOUND_S,
             "the new library appearing")
    assert_same_tree(other, mount.path("Arrived Later"))


def test_open_file_keeps_reading_the_version_it_opened(live, mount_factory):
    server, data, repo_id, source = live
    mount = mount_factory(server, poll_interval=POLL_INTERVAL_S)
    old = (source / OPEN_FILE).read_bytes()
    new = random_bytes(2, len(old))
    with open(mount.path("Live", OPEN_FILE), "rb") as f:
        first = f.read(1 << 20)
        (source / OPEN_FILE).write_bytes(new)
        builder.commit_directory(str(data), repo_id, source)
        wait_for(lambda: mount.path("Live", OPEN_FILE).read_bytes()[:16] == new[:16],
                 APPEAR_BOUND_S, "the new version becoming visible to new opens")
        rest = f.read()
    assert first + rest == old


def test_deleted_library_disappears_within_one_poll_interval(live, mount_factory):
    server, _, repo_id, _ = live
    mount = mount_factory(server, poll_interval=POLL_INTERVAL_S)
    assert os.listdir(mount.mountpoint) == ["Live"]
    server.delete_library(repo_id)
    wait_for(lambda: os.listdir(mount.mountpoint) == [], APPEAR_BOUND_S,
             "the deleted library disappearing")
