"""Metadata in bulk: once a library is opened its folder objects come in the background (one
fs-id-list, parallel pack-fs), after which listing every folder makes no request; lookups during
that bulk fetch are answered at once and correctly; a damaged stored object (a row failing its
checksum, or one whose content does not hash to its id) is dropped and fetched again; a daemon
killed during the bulk fetch leaves a cache that works after the restart; and a mount with a
stored token shows the libraries after one round trip (the file-server probe and the quota run
beside it or after), the first listing of a library after at most three; and on a far link a scan
reading folder after folder (tar) has the next folder's first blocks on their way before it gets
there."""
import json
import os
import pathlib
import sqlite3
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "server"))

from mount_fixture import (block_gets, crc32c, ctl, file_layout,  # noqa: E402,F401
                           folders_prefetch, mount_factory, small_demo_server, wait_prefetched)
from seafserver import builder  # noqa: E402
from seafserver.observe import sequential_round_trips  # noqa: E402

LIBRARY = "Many Files"  # 10,000 files in 1,010 folders below its root
WAIT_S = 60



def expected_tree(server, repo_id):
    """{relative path: (is dir, size)} of the library's head, from the server's storage."""
    storage = server.open_storage()
    head = server.state()["libraries"][repo_id]["head"]
    root_id = json.loads(storage.read("commits", repo_id, head))["root_id"]
    return {path.lstrip("/"): (d.is_dir, 0 if d.is_dir else d.size)
            for path, d in builder.tree_entries(storage, repo_id, root_id).items()}


def walked_tree(root):
    """{relative path: (is dir, size)} of a walk of the mounted tree (listing and stat of every
    entry, as ls -lR does)."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            is_dir = name in dirnames
            found[os.path.relpath(path, root)] = (is_dir, 0 if is_dir else st.st_size)
    return found


def dir_object_id(server, repo_id, path):
    storage = server.open_storage()
    head = server.state()["libraries"][repo_id]["head"]
    root_id = json.loads(storage.read("commits", repo_id, head))["root_id"]
    return builder.tree_entries(storage, repo_id, root_id)["/" + path].id


def pack_fs_requests(server, repo_id=""):
    """pack-fs requests in the log (of library repo_id only, when given: every library's root
    folder is warmed after the mount)."""
    return [e for e in server.log() if "/pack-fs/" in e["path"] and repo_id in e["path"]]


def test_bulk_prefetch_then_listing_every_folder_makes_no_request(small_demo_server,
                                                                   mount_factory):
    server, ids = small_demo_server
    mount = mount_factory(server, poll_interval=0)
    server.reset_counters()
    os.listdir(mount.path(LIBRARY))  # opens the library
    state = wait_prefetched(mount, LIBRARY)
    log = server.log()
    assert sum("fs-id-list" in e["path"] for e in log) == 1, log
    expected = expected_tree(server, ids[LIBRARY])
    folders = sum(is_dir for is_dir, _ in expected.values())
    assert state["folders"] == folders + 1  # and the root; no file (dir-only=1)
    # Few requests for 1,011 folders: batches of 100 (a request is repeated when the server
    # cuts an answer at 1 MiB).
    assert len(pack_fs_requests(server, ids[LIBRARY])) <= folders // 100 + 4
    server.reset_counters()
    assert walked_tree(mount.path(LIBRARY)) == expected
    assert server.counters()["requests"] == 0, server.log()[:5]
    assert folders_prefetch(mount, LIBRARY)["state"] == "done"


def test_lookups_during_the_bulk_fetch_do_not_wait_and_are_right(small_demo_server,
                                                                  mount_factory):
    server, ids = small_demo_server
    mount = mount_factory(server, poll_interval=0)
    server.set_faults(latency_ms=200)  # the bulk fetch takes about 1 s: fs-id-list + 4 rounds
    try:
        os.listdir(mount.path(LIBRARY))
        started = time.monotonic()
        deep = mount.path(LIBRARY, "group-09", "dir-0999")
        names = sorted(os.listdir(deep))
        lookup_s = time.monotonic() - started
        state = folders_prefetch(mount, LIBRARY)["state"]
        assert names == ["file-%02d.txt" % f for f in range(10)]
        # Two folders fetched on their own, not after the bulk fetch.
        assert state in ("queued", "running"), (state, lookup_s)
        assert lookup_s < 0.9, lookup_s
        walked = walked_tree(mount.path(LIBRARY))
    finally:
        server.clear_faults()
    assert walked == expected_tree(server, ids[LIBRARY])
    wait_prefetched(mount, LIBRARY)


def test_without_the_bulk_fetch_a_walk_fetches_each_level_in_batches(small_demo_server,
                                                                      mount_factory):
    """The sub-folders of a folder come ahead in one batch, also when that folder itself was
    fetched ahead (not only when a lookup fetched it): walking 100 folders whose parent came
    ahead costs a few requests, not one per folder (what is left when the bulk fetch fails)."""
    server, ids = small_demo_server
    server.set_faults(error={"status": 503, "match": "fs-id-list"})
    try:
        mount = mount_factory(server, poll_interval=0)
        os.listdir(mount.path(LIBRARY))  # the library's root; its folders come ahead
        deadline = time.monotonic() + WAIT_S
        while folders_prefetch(mount, LIBRARY)["state"] != "failed":
            assert time.monotonic() < deadline, folders_prefetch(mount, LIBRARY)
            time.sleep(0.05)
        group = "group-03"
        while not pack_fs_requests(server) or any(
                e["time"] > time.time() - 0.5 for e in pack_fs_requests(server)):
            assert time.monotonic() < deadline
            time.sleep(0.1)  # until the folders fetched ahead are in
        server.reset_counters()
        walked = walked_tree(mount.path(LIBRARY, group))
        fetched = len(pack_fs_requests(server))
    finally:
        server.clear_faults()
    expected = {path[len(group) + 1:]: entry
                for path, entry in expected_tree(server, ids[LIBRARY]).items()
                if path.startswith(group + "/")}
    assert walked == expected
    assert sum(is_dir for is_dir, _ in expected.values()) == 100
    assert fetched <= 5, fetched  # one batch of 100 (a lookup waits for it), not 100


def test_damaged_stored_objects_are_detected_and_fetched_again(small_demo_server, mount_factory):
    server, ids = small_demo_server
    mount = mount_factory(server, poll_interval=0)
    os.listdir(mount.path(LIBRARY))
    wait_prefetched(mount, LIBRARY)
    assert mount.stop() == ""
    flipped = dir_object_id(server, ids[LIBRARY], "group-03")
    swapped = dir_object_id(server, ids[LIBRARY], "group-04/dir-0400")
    other = dir_object_id(server, ids[LIBRARY], "group-04/dir-0401")
    db = sqlite3.connect(mount.cache_dir / "meta.db")
    with db:
        # A byte of the stored data changed: its checksum fails.
        (data,) = db.execute("SELECT data FROM objects WHERE kind = 3 AND id = ?",
                             (flipped,)).fetchone()
        data = bytes(data[:10]) + bytes([data[10] ^ 0xFF]) + bytes(data[11:])
        db.execute("UPDATE objects SET data = ? WHERE kind = 3 AND id = ?", (data, flipped))
        # Another folder's content under this id, with a checksum that matches: only the
        # SHA-1 of the content tells.
        storage = server.open_storage()
        from seafserver.objects import decompress
        plain = decompress(storage.read("fs", ids[LIBRARY], other))
        db.execute("UPDATE objects SET lz4 = 0, plain_len = ?, crc = ?, data = ?"
                   " WHERE kind = 3 AND id = ?", (len(plain), crc32c(plain), plain, swapped))
    db.close()
    mount.start()
    server.reset_counters()
    assert sorted(os.listdir(mount.path(LIBRARY, "group-03"))) == [
        "dir-%04d" % d for d in range(300, 400)]
    assert sorted(os.listdir(mount.path(LIBRARY, "group-04", "dir-0400"))) == [
        "file-%02d.txt" % f for f in range(10)]
    assert len(pack_fs_requests(server)) == 2, server.log()
    # Fetched again and stored whole: the next mount needs no request for them.
    assert mount.stop() == ""
    mount.start()
    server.reset_counters()
    os.listdir(mount.path(LIBRARY, "group-03"))
    os.listdir(mount.path(LIBRARY, "group-04", "dir-0400"))
    assert len(pack_fs_requests(server)) == 0, server.log()


def test_kill_during_the_bulk_fetch_leaves_a_working_cache(small_demo_server, mount_factory):
    server, ids = small_demo_server
    mount = mount_factory(server, poll_interval=0)
    server.set_faults(latency_ms=100)
    try:
        os.listdir(mount.path(LIBRARY))
        deadline = time.monotonic() + WAIT_S
        while not pack_fs_requests(server) or folders_prefetch(mount, LIBRARY)["state"] != "running":
            assert time.monotonic() < deadline, mount.log_tail()
            time.sleep(0.02)
        time.sleep(0.25)  # batches being stored
        assert folders_prefetch(mount, LIBRARY)["state"] == "running"
        mount.kill()
    finally:
        server.clear_faults()
    mount.start()
    assert walked_tree(mount.path(LIBRARY)) == expected_tree(server, ids[LIBRARY])
    wait_prefetched(mount, LIBRARY)
    server.reset_counters()
    assert walked_tree(mount.path(LIBRARY)) == expected_tree(server, ids[LIBRARY])
    assert server.counters()["requests"] == 0, server.log()[:5]


def answered_before(server, moment):
    return [e for e in server.log() if e["time"] <= moment]


def test_round_trips_of_a_mount_with_a_stored_token(small_demo_server, mount_factory):
    server, ids = small_demo_server
    mount = mount_factory(server, poll_interval=0)
    assert mount.stop() == ""  # the API token is stored now
    server.set_faults(latency_ms=100)  # requests in flight together overlap in the log
    try:
        server.reset_counters()
        mount.start()
        names = os.listdir(mount.mountpoint)
        shown = time.time()
        before = answered_before(server, shown)
        assert LIBRARY in names
        paths = [e["path"] for e in before]
        assert sequential_round_trips(before) <= 3, before
        assert not any("auth-token" in p for p in paths), paths
        assert not any("account/info" in p for p in paths), paths  # after, not before
        assert sum(p.split("?")[0] == "/api2/repos/" for p in paths) == 1, paths

        server.reset_counters()
        os.listdir(mount.path(LIBRARY))
        listed = [e for e in answered_before(server, time.time()) if ids[LIBRARY] in e["path"]]
        assert sequential_round_trips(listed) <= 3, listed  # the others' roots: warmed beside
        assert not any("protocol-version" in e["path"] for e in listed), listed
    finally:
        server.clear_faults()
    # The quota came after the mount, and statfs reports it.
    assert os.statvfs(mount.mountpoint).f_blocks > 0
    assert any("account/info" in e["path"] for e in server.log())


def test_reading_the_files_of_a_folder_fetches_their_objects_together(small_demo_server,
                                                                      mount_factory):
    server, ids = small_demo_server
    mount = mount_factory(server, poll_interval=0)
    os.listdir(mount.path(LIBRARY))
    wait_prefetched(mount, LIBRARY)
    server.reset_counters()
    folders = ["dir-%04d" % d for d in range(10)]
    for folder in folders:  # as tar or cp -r do: list, then read every file
        path = mount.path(LIBRARY, "group-00", folder)
        for name in sorted(os.listdir(path), reverse=True):
            data = (path / name).read_bytes()
            assert data == ("dir %d file %d\n" % (int(folder[4:]), int(name[5:7]))).encode() * (
                int(name[5:7]) + 1)
    # One pack-fs per folder for its ten file objects, not one per file.
    assert len(pack_fs_requests(server)) == len(folders), server.log()


def test_a_scan_on_a_far_link_fetches_the_next_folder_ahead(small_demo_server, mount_factory):
    server, ids = small_demo_server
    repo_id = ids[LIBRARY]
    server.set_faults(latency_ms=80)  # from the mount on: the link's measured round trip is far
    try:
        mount = mount_factory(server, poll_interval=0)
        os.listdir(mount.path(LIBRARY))
        wait_prefetched(mount, LIBRARY)
        group = mount.path(LIBRARY, "group-00")
        first, second = os.listdir(group)[:2]  # as tar reads them: in listing order
        listings = {folder: os.listdir(group / folder) for folder in (first, second)}
        server.reset_counters()
        opened = {}
        for folder in (first, second):
            for name in listings[folder]:
                opened.setdefault(folder, time.time())
                data = (group / folder / name).read_bytes()
                assert data == ("dir %d file %d\n" % (int(folder[4:]), int(name[5:7]))).encode() * (
                    int(name[5:7]) + 1)
    finally:
        server.clear_faults()
    # Once the scan's window reached the end of the first folder (at its second file), the
    # second folder's file objects and first blocks were asked for: its first file's block was
    # on its way when the reader got there, or less than one round trip later when the machine
    # is busy (before: only once it had opened that file, after the folder's file objects, two
    # round trips later).
    _, blocks = file_layout(server, repo_id, "/group-00/%s/%s" % (second, listings[second][0]))
    gets = [e["start"] for e in server.log() if e["route"] == "block" and blocks[0][0] in e["path"]]
    assert gets and min(gets) < opened[second] + 0.080, (gets, opened)
    assert max(block_gets(server).values()) == 1  # fetched ahead once, never again
