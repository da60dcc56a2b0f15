"""Negative lookups: a name that does not exist is a negative entry the kernel caches (file
managers probe .hidden, .directory, autorun.inf, ... in every folder), counted through `seafs
status --json` ("lookups": requests reaching the daemon). The cache never hides a change: a name
another client adds shows after the poll (or after an upload that brought it in), a name made
here works at once, and a name deleted here stays deleted."""

import errno
import json
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import USER, ctl, mount_factory  # noqa: E402
from seafserver import builder  # noqa: E402
from uploadkit import (LIBRARY, lib_server, remote_change, server_tree, wait_for,  # noqa: E402
                       write_tree)

assert mount_factory and lib_server  # fixtures, used by name
PROBES = [".hidden", ".directory", ".xdg-volume-info", "autorun.inf", ".Trash", ".Trash-0"]
POLL_S = 1
APPEAR_BOUND_S = POLL_S + 20  # one poll interval plus slack for a loaded machine
NEVER_POLL = 0


def lookups(mount):
    done = ctl("status", mount.mountpoint, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["lookups"]


def missing(path):
    """True when stat says ENOENT (what a probe of a file manager sees)."""
    try:
        os.stat(path)
    except FileNotFoundError as exc:
        return exc.errno == errno.ENOENT
    return False


def probe_cached(mount, *paths):
    """Probes paths (all missing) until the kernel answers them alone: a second round of stats
    reaches the daemon with no lookup. Returns the lookup counters after the first round. The
    kernel may drop negative entries under memory pressure (a loaded CI machine), so a round
    that reached the daemon is tried again, twice at most."""
    tries = []
    for _ in range(3):
        for path in paths:
            assert missing(path), path
        first = lookups(mount)
        for _ in range(3):
            for path in paths:
                assert missing(path), path
        again = lookups(mount)
        if again["requests"] == first["requests"]:
            return first
        tries.append((first, again))
    raise AssertionError("the kernel kept asking: %s" % tries)


def sync(mount):
    done = ctl("sync", mount.mountpoint, "--timeout", "60", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr


def test_probes_of_missing_names_reach_the_daemon_once(lib_server, mount_factory):
    server, _ = lib_server({"a.txt": b"a\n", "sub/b.txt": b"b\n"})
    mount = mount_factory(server, poll_interval=NEVER_POLL)
    start = lookups(mount)
    folders = [mount.mountpoint, mount.path(LIBRARY), mount.path(LIBRARY, "sub")]
    paths = [folder / name for folder in folders for name in PROBES]
    after_first = probe_cached(mount, *paths)
    # every probe (and the folders on the way) went to the daemon once, as "no such name"
    assert after_first["absent"] - start["absent"] == len(paths)
    assert after_first["requests"] - start["requests"] >= len(paths)
    assert after_first["absent_cached"] == start["absent_cached"] + len(paths)
    # existing names are unaffected
    assert mount.path(LIBRARY, "sub", "b.txt").read_bytes() == b"b\n"


def test_name_added_by_another_client_shows_after_the_poll(lib_server, mount_factory):
    server, repo_id = lib_server({"a.txt": b"a\n", "sub/b.txt": b"b\n"})
    mount = mount_factory(server, poll_interval=POLL_S)
    top, deep = mount.path(LIBRARY, "new.txt"), mount.path(LIBRARY, "sub", "new dir", "c.txt")
    probe_cached(mount, top, deep.parent.parent / "new dir")
    remote_change(server, repo_id, {"new.txt": b"from elsewhere\n",
                                    "sub/new dir/c.txt": b"deeper\n"})
    wait_for(lambda: top.exists() and deep.exists(), APPEAR_BOUND_S,
             "the names added by another client appearing")
    assert top.read_bytes() == b"from elsewhere\n"
    assert deep.read_bytes() == b"deeper\n"
    assert "new.txt" in os.listdir(mount.path(LIBRARY))


def test_library_added_later_shows_despite_a_probe_of_its_name(lib_server, mount_factory,
                                                               tmp_path):
    server, _ = lib_server({"a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=POLL_S)
    later = mount.path("Arrived Later")
    probe_cached(mount, later)
    source = write_tree(tmp_path / "later-source", {"hello.txt": b"hello\n"})
    builder.create_library(str(tmp_path / "server"), "Arrived Later", USER, source)
    wait_for(later.exists, APPEAR_BOUND_S, "the new library appearing")
    assert (later / "hello.txt").read_bytes() == b"hello\n"


def test_name_brought_in_by_an_upload_shows_without_a_poll(lib_server, mount_factory):
    """The upload builds on the server's head, which holds another client's new file: adopting
    it takes back the negative entry (no polling in this mount)."""
    server, repo_id = lib_server({"a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=NEVER_POLL, upload_delay=0)
    theirs = mount.path(LIBRARY, "theirs.txt")
    probe_cached(mount, theirs)
    remote_change(server, repo_id, {"theirs.txt": b"their file\n"})
    mount.path(LIBRARY, "mine.txt").write_bytes(b"my file\n")
    sync(mount)
    assert theirs.read_bytes() == b"their file\n"
    assert {"a.txt", "mine.txt", "theirs.txt"} <= set(server_tree(server, repo_id))


def test_probed_names_can_be_made_here_at_once(lib_server, mount_factory):
    server, repo_id = lib_server({"a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=NEVER_POLL, upload_delay=0)
    lib = mount.path(LIBRARY)
    made, folder, renamed = lib / "made.txt", lib / "made dir", lib / "renamed.txt"
    probe_cached(mount, made, folder, renamed, folder / "inside.txt")
    made.write_bytes(b"made here\n")
    folder.mkdir()
    (folder / "inside.txt").write_bytes(b"inside\n")
    os.rename(lib / "a.txt", renamed)
    assert made.read_bytes() == b"made here\n"
    assert (folder / "inside.txt").read_bytes() == b"inside\n"
    assert renamed.read_bytes() == b"a\n" and missing(lib / "a.txt")
    assert sorted(os.listdir(lib)) == ["made dir", "made.txt", "renamed.txt"]
    sync(mount)
    assert {"made.txt", "made dir", "made dir/inside.txt", "renamed.txt"} == set(
        server_tree(server, repo_id))


def test_name_deleted_here_stays_deleted(lib_server, mount_factory):
    server, repo_id = lib_server({"a.txt": b"a\n", "keep.txt": b"k\n"})
    mount = mount_factory(server, poll_interval=POLL_S, upload_delay=0)
    gone = mount.path(LIBRARY, "a.txt")
    assert gone.read_bytes() == b"a\n"
    os.unlink(gone)
    probe_cached(mount, gone)  # the deletion is a cached negative entry too
    sync(mount)
    assert "a.txt" not in server_tree(server, repo_id)
    assert missing(gone)
    # a later change of the library (a poll, its invalidation) does not bring it back either
    remote_change(server, repo_id, {"other.txt": b"o\n"})
    wait_for(mount.path(LIBRARY, "other.txt").exists, APPEAR_BOUND_S, "the remote change")
    assert missing(gone)
    assert sorted(os.listdir(mount.path(LIBRARY))) == ["keep.txt", "other.txt"]


def test_a_change_takes_back_only_its_library_s_absent_names(lib_server, mount_factory):
    server, repo_id = lib_server({"sub/b.txt": b"b\n"})
    mount = mount_factory(server, poll_interval=POLL_S)
    at_root = [mount.mountpoint / name for name in PROBES]
    in_library = [mount.path(LIBRARY, "sub", name) for name in PROBES]
    probe_cached(mount, *at_root, *in_library)
    assert lookups(mount)["absent_cached"] == 2 * len(PROBES)
    remote_change(server, repo_id, {"sub/c.txt": b"c\n"})
    wait_for(mount.path(LIBRARY, "sub", "c.txt").exists, APPEAR_BOUND_S,
             "the other client's file appearing")
    # The library's absent names were taken back, the top folder's stay. (Checked on the
    # daemon's side: the kernel may also drop cached names by itself under memory pressure --
    # a FORGET of "sub" takes its names off the daemon's list too, the root is never forgotten.)
    assert lookups(mount)["absent_cached"] == len(PROBES)
    before = lookups(mount)
    for path in at_root:
        assert missing(path)
    assert lookups(mount)["absent_cached"] == before["absent_cached"]
