"""Local changes in a seafs mount reach the reference server (fs/write/uploader.c), checked on the
server's own storage: every path, size, content SHA-1, mode and mtime of the head equals what the
mount shows after new, empty and multi-block files, nested directories, an in-place edit,
truncate, renames of files and directories, deletions, utime and chmod +x; a fresh second mount
shows the same; each upload's commit has the previous head as its parent (no merges); `tar x` of
hundreds of files makes a handful of commits; a 4 KiB edit in the middle of the full demo's
256 MiB file downloads at most one block and uploads at most two; the ignore list's temporary
files never reach the server (unless -o no_ignore)."""

import hashlib
import json
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tarfile
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import ctl, demo_data, file_layout, mount_factory  # noqa: E402
from uploadkit import (block_puts, head_of, history, lib_server, local_tree,  # noqa: E402
                       server_tree, update_branch_requests, wait_for, wait_head_moves,
                       wait_quiet, wait_server_has, write_tree)

assert mount_factory and lib_server  # fixtures, used by name
LIB = "Lib"


def rand(seed, size):
    return random.Random(seed).randbytes(size)


BASE_FILES = {
    "edit.txt": b"0123456789" * 10000,
    "trunc.bin": rand(1, 1 << 20),
    "rename-me.txt": b"renamed file\n",
    "dir-to-rename/inner.txt": b"inner\n",
    "dir-to-rename/sub/deep.txt": b"deep\n",
    "delete-me.txt": b"deleted\n",
    "del-dir/x.txt": b"x\n",
    "del-dir/y/z.txt": b"z\n",
    "exec.sh": b"#!/bin/sh\necho hi\n",
    "touch.txt": b"touched\n",
    "keep.txt": b"untouched\n",
}


def make_changes(lib):
    """The change set of test_every_kind_of_change_reaches_the_server."""
    (lib / "new-small.txt").write_bytes(b"a new small file\n")
    (lib / "new-empty").write_bytes(b"")
    (lib / "multi-block.bin").write_bytes(rand(2, (9 << 20) + 4321))
    (lib / "a" / "b" / "c").mkdir(parents=True)
    (lib / "a" / "b" / "c" / "nested.txt").write_bytes(b"nested\n")
    (lib / "a" / "empty-dir").mkdir()
    with open(lib / "edit.txt", "r+b") as f:  # in place, middle of the file
        f.seek(5000)
        f.write(b"EDITED-IN-PLACE")
    with open(lib / "trunc.bin", "r+b") as f:  # truncate(path): test_truncate_by_path_...
        f.truncate(300001)
    os.rename(lib / "rename-me.txt", lib / "renamed.txt")
    os.rename(lib / "dir-to-rename", lib / "a" / "moved-dir")
    os.unlink(lib / "delete-me.txt")
    shutil.rmtree(lib / "del-dir")
    os.utime(lib / "touch.txt", (1500000000, 1500000000))
    os.chmod(lib / "exec.sh", 0o755)


def assert_linear_history(server, repo_id, base):
    """Every commit since base has one parent, the head before it, and no merge."""
    commits = history(server, repo_id, since=base)
    assert commits, "no commit since %s" % base[:8]
    for commit in commits:
        assert not commit.get("second_parent_id"), "merge commit %s: %s" % (
            commit["commit_id"][:8], commit["description"])
    assert commits[-1]["parent_id"] == base
    return commits


def test_every_kind_of_change_reaches_the_server(lib_server, mount_factory):
    server, repo_id = lib_server(BASE_FILES)
    base = head_of(server, repo_id)
    mount = mount_factory(server, upload_delay=1, poll_interval=0)
    lib = mount.path(LIB)
    make_changes(lib)
    want = local_tree(lib)
    assert want["exec.sh"][3] == 0o100755 and want["touch.txt"][4] == 1500000000
    wait_server_has(server, repo_id, want)
    wait_quiet(server)
    assert server_tree(server, repo_id) == want
    assert_linear_history(server, repo_id, base)
    assert local_tree(lib) == want, "the mount changed after the upload"

    second = mount_factory(server, name="second", poll_interval=0)
    assert local_tree(second.path(LIB)) == want


def test_consecutive_uploads_chain_their_parents(lib_server, mount_factory):
    server, repo_id = lib_server({"f.txt": b"v0\n"})
    base = head_of(server, repo_id)
    # upload_delay=1: the round comes after the close (see test_open_file_is_not_uploaded_...)
    mount = mount_factory(server, upload_delay=1, poll_interval=0)
    lib = mount.path(LIB)
    heads = [base]
    for i in range(1, 4):
        (lib / "f.txt").write_bytes(b"v%d\n" % i)
        heads.append(wait_head_moves(server, repo_id, heads[-1]))
        wait_server_has(server, repo_id, local_tree(lib))
    wait_quiet(server)
    commits = assert_linear_history(server, repo_id, base)
    assert [c["commit_id"] for c in commits] == heads[:0:-1], "one commit per change"
    for newer, older in zip(commits, commits[1:]):
        assert newer["parent_id"] == older["commit_id"]
    assert server_tree(server, repo_id)["f.txt"][1] == 3


def test_open_file_is_not_uploaded_before_its_close(lib_server, mount_factory):
    server, repo_id = lib_server({"f.txt": b"v0\n"})
    mount = mount_factory(server, upload_delay=0, poll_interval=0)
    path = mount.path(LIB, "f.txt")
    path.write_bytes(b"v1\n")
    head = wait_head_moves(server, repo_id, head_of(server, repo_id))
    wait_quiet(server, quiet_s=1)
    time.sleep(1.1)  # the next mtime differs
    with open(path, "wb") as f:  # O_TRUNC: a change, notified; the file stays open
        f.write(b"v2 partial")
        f.flush()
        time.sleep(3)  # rounds run meanwhile (upload_delay=0)
        assert head_of(server, repo_id) == head, "a commit while the file was open: %s" % (
            history(server, repo_id, since=head)[0]["description"])
        f.write(b" and the rest\n")
    wait_head_moves(server, repo_id, head)
    wait_quiet(server)
    assert len(history(server, repo_id, since=head)) == 1
    assert server_tree(server, repo_id) == local_tree(mount.path(LIB))


def test_tar_extract_makes_a_handful_of_commits(lib_server, mount_factory, tmp_path):
    server, repo_id = lib_server({"readme.txt": b"tar target\n"})
    base = head_of(server, repo_id)
    source = tmp_path / "tree"
    files = {"d%02d/f%03d.txt" % (i % 12, i): rand(i, 100 + 37 * i) for i in range(300)}
    write_tree(source, files)
    archive = tmp_path / "tree.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(source, arcname="tree")
    mount = mount_factory(server, upload_delay=1, poll_interval=0)
    lib = mount.path(LIB)
    subprocess.run(["tar", "xf", str(archive), "-C", str(lib)], check=True, timeout=120)
    want = local_tree(lib)
    assert len([p for p in want if p.startswith("tree/") and want[p][0] == "file"]) == 300
    wait_server_has(server, repo_id, want)
    wait_quiet(server)
    commits = assert_linear_history(server, repo_id, base)
    assert len(commits) <= 5, "%d commits for one tar x: %s" % (
        len(commits), [c["description"][:40] for c in commits])


# --- the 256 MiB file ----------------------------------------------------------------------------

BIG_LIBRARY, BIG_FILE = "Big File", "random-256MiB.bin"


@pytest.fixture
def big_file_server(tmp_path):
    """A writable server holding only the full demo's "Big File" library, over the demo's
    storage (read, never written)."""
    from seafserver.testing import SeafServer, write_state

    data, ids = demo_data(small=False)
    repo_id = ids[BIG_LIBRARY]
    state = json.loads((data / "state.json").read_text())
    state["libraries"] = {repo_id: state["libraries"][repo_id]}
    server_dir = tmp_path / "big-server"
    write_state(str(server_dir), state)
    server = SeafServer(str(server_dir), base_storage=str(data / "storage")).start()
    yield server, repo_id
    server.stop()


def edit_big_file(server, repo_id, mount_factory):
    """Writes 4 KiB at 128 MiB + 12345 of the big file (cold cache) and waits for the upload;
    returns (the patch, its offset, block GETs, block PUT log entries, layout before)."""
    before_layout = file_layout(server, repo_id, "/" + BIG_FILE)[1]
    mount = mount_factory(server, upload_delay=0, poll_interval=0)
    path = mount.path(BIG_LIBRARY, BIG_FILE)
    base = head_of(server, repo_id)
    server.reset_counters()
    patch, offset = rand(3, 4096), (128 << 20) + 12345
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, patch, offset)
    finally:
        os.close(fd)
    wait_head_moves(server, repo_id, base, bound_s=120)
    wait_quiet(server)
    return patch, offset, server.counters()["block_gets"], block_puts(server), before_layout


def test_small_edit_in_a_big_file_uploads_few_blocks(big_file_server, mount_factory):
    server, repo_id = big_file_server
    base = head_of(server, repo_id)
    patch, offset, _, puts, _ = edit_big_file(server, repo_id, mount_factory)
    assert len(puts) <= 2, "block PUTs for a 4 KiB edit: %s" % [p["path"] for p in puts]
    commits = history(server, repo_id, since=base)
    assert len(commits) == 1, "commits for one edit: %s" % [
        (c["commit_id"][:8], c["description"]) for c in commits]
    assert len(update_branch_requests(server)) == 1
    assert server_tree(server, repo_id, contents=False)[BIG_FILE][1] == 256 << 20
    # The bytes on the server: the patch where it was written, the bytes around it unchanged.
    content = read_range(server, repo_id, BIG_FILE, offset - 10, 4096 + 20)
    assert content[10:-10] == patch
    original = read_range(server, repo_id, BIG_FILE, offset - 10, 10, commit_id=base)
    assert content[:10] == original


def test_small_edit_in_a_big_file_downloads_one_block(big_file_server, mount_factory):
    server, repo_id = big_file_server
    _, offset, gets, _, layout = edit_big_file(server, repo_id, mount_factory)
    assert sum(gets.values()) <= 1, "block GETs for a 4 KiB edit at %d: %s" % (
        offset, [b for b in layout if b[0] in gets])


def read_range(server, repo_id, name, offset, size, commit_id=None):
    """size bytes at offset of file name (in the library's root) at a commit (the head)."""
    from seafserver import builder
    from seafserver.objects import parse_stored_fs_object
    from uploadkit import commit_of, storage_of

    storage = storage_of(server)
    root = commit_of(server, repo_id, commit_id or head_of(server, repo_id))["root_id"]
    file_id = builder.tree_entries(storage, repo_id, root)["/" + name].id
    out, start = b"", 0
    for block_id in parse_stored_fs_object(storage.read("fs", repo_id, file_id)).block_ids:
        length = storage.size("blocks", repo_id, block_id)
        if start + length > offset and start < offset + size:
            out += storage.read("blocks", repo_id, block_id)[max(0, offset - start):
                                                            offset + size - start]
        start += length
    return out


def test_truncate_by_path_shows_the_new_size(lib_server, mount_factory):
    server, repo_id = lib_server({"t.bin": rand(4, 1 << 20)})
    mount = mount_factory(server, upload_delay=3600, poll_interval=0)
    path = mount.path(LIB, "t.bin")
    os.truncate(path, 300001)  # no open file: setattr without a handle
    assert os.stat(path).st_size == 300001
    assert path.read_bytes() == rand(4, 1 << 20)[:300001]


# --- the ignore list ---------------------------------------------------------------------------

TEMPORARY = ["~$x.docx", "x.tmp", ".~lock.x#", "foo~", ".DS_Store"]


@pytest.mark.parametrize("no_ignore", [False, True], ids=["default", "no_ignore"])
def test_temporary_files_stay_local(lib_server, mount_factory, no_ignore):
    server, repo_id = lib_server({"doc.txt": b"document\n"})
    base = head_of(server, repo_id)
    options = {"upload_delay": 0, "poll_interval": 0}
    if no_ignore:
        options["no_ignore"] = True
    mount = mount_factory(server, **options)
    lib = mount.path(LIB)
    for i, name in enumerate(TEMPORARY):
        (lib / name).write_bytes(b"temporary %d\n" % i)
        (lib / "sub").mkdir(exist_ok=True)
        (lib / "sub" / name).write_bytes(b"temporary in sub %d\n" % i)
    (lib / "real.txt").write_bytes(b"a real file\n")  # something that must go up
    for i, name in enumerate(TEMPORARY):  # they work in the mount
        assert (lib / name).read_bytes() == b"temporary %d\n" % i
        with open(lib / name, "ab") as f:
            f.write(b"more\n")
    os.rename(lib / "x.tmp", lib / "y.tmp")
    TEMP_NOW = [n if n != "x.tmp" else "y.tmp" for n in TEMPORARY]
    wait_head_moves(server, repo_id, base)
    wait_quiet(server)
    tree = server_tree(server, repo_id)
    assert "real.txt" in tree and "sub" in tree
    if no_ignore:
        want = local_tree(lib)
        wait_server_has(server, repo_id, want)
    else:
        leaked = [p for p in tree if p.split("/")[-1] in TEMP_NOW + TEMPORARY]
        assert not leaked, "temporary files reached the server: %s" % leaked
        assert sorted(tree) == ["doc.txt", "real.txt", "sub"]
        for name in TEMP_NOW:
            assert (lib / name).exists()


# --- long writers and the cache limit ------------------------------------------------------------

def test_file_kept_open_goes_up_every_upload_max_delay_as_a_consistent_snapshot(lib_server,
                                                                               mount_factory):
    import hashlib
    server, repo_id = lib_server({"other.txt": b"other\n"})
    base = head_of(server, repo_id)
    # no_writeback_cache: every write reaches the daemon in order, so each upload must hold a
    # prefix of whole writes
    mount = mount_factory(server, upload_delay=0, upload_max_delay=2, poll_interval=0,
                          no_writeback_cache=True)
    chunk_size, written = 4096, b""
    with open(mount.path(LIB, "log.bin"), "wb", buffering=0) as f:
        deadline = time.monotonic() + 7
        i = 0
        while time.monotonic() < deadline:
            chunk = rand(i, chunk_size)
            f.write(chunk)
            written += chunk
            i += 1
            time.sleep(0.02)
        uploaded_while_open = history(server, repo_id, since=base)
    wait_server_has(server, repo_id, local_tree(mount.path(LIB)))
    assert server_tree(server, repo_id)["log.bin"][2] == hashlib.sha1(written).hexdigest()
    assert len(uploaded_while_open) >= 2, [c["description"] for c in uploaded_while_open]
    prefixes = {hashlib.sha1(written[:n]).hexdigest(): n
                for n in range(chunk_size, len(written) + 1, chunk_size)}
    for commit in uploaded_while_open:
        entry = server_tree(server, repo_id, commit["commit_id"]).get("log.bin")
        assert entry and entry[2] in prefixes, "not a snapshot of whole writes: %s" % (entry,)


def test_writing_far_more_than_the_cache_limit_loses_nothing(lib_server, mount_factory):
    import hashlib
    server, repo_id = lib_server({"small.txt": b"small\n"})
    mount = mount_factory(server, upload_delay=0, poll_interval=0, cache_size="16M")
    digests = {}
    for n in range(3):  # 3 x 24 MiB through a 16 MiB cache: uploads must free the room
        data = rand(100 + n, 24 << 20)
        (mount.path(LIB, "big-%d.bin" % n)).write_bytes(data)
        digests["big-%d.bin" % n] = hashlib.sha1(data).hexdigest()
    for name, digest in digests.items():  # read back through the mount
        assert hashlib.sha1(mount.path(LIB, name).read_bytes()).hexdigest() == digest, name
    wait_server_has(server, repo_id, local_tree(mount.path(LIB)), bound_s=180)
    tree = server_tree(server, repo_id)
    for name, digest in digests.items():
        assert tree[name][2] == digest, name


# --- a change on its way to the journal while an upload settles ----------------------------------

def truncate_to_1000(path):
    os.truncate(path, 1000)


def open_truncated_and_write(path):
    with open(path, "wb") as f:
        f.write(b"written after O_TRUNC\n")


@pytest.mark.parametrize("change", [truncate_to_1000, open_truncated_and_write],
                         ids=["truncate-by-path", "open-O_TRUNC"])
def test_change_waiting_while_an_upload_settles_the_file_is_not_lost(lib_server, mount_factory,
                                                                     change, tmp_path):
    """A staged file the upload found unchanged is settled (its content is the server's) when
    the commit is in -- unless a change of it is under way. Here a truncate (by path, or an open
    with O_TRUNC that then writes) has the staged file in hand and waits for a reader of it (whose
    block the server holds back) while a round, forced by `seafs sync` so that it folds the file
    all the same, commits and settles: the change must then reach the mount and the server,
    never vanish with the staged file."""
    original = rand(7, 3 << 20)
    reference = tmp_path / "reference"  # the same change on a local file
    reference.write_bytes(original)
    change(reference)
    expected = reference.read_bytes()
    server, repo_id = lib_server({"f.bin": original, "other.txt": b"other\n"})
    base = head_of(server, repo_id)
    (block_id, _, _), = file_layout(server, repo_id, "/f.bin")[1]
    server.set_faults(stall={"match": block_id, "after_bytes": 0})
    mount = mount_factory(server, upload_delay=3600, poll_interval=0)  # rounds come from sync
    path = mount.path(LIB, "f.bin")
    with open(path, "r+b"):  # staged, nothing written: the round folds it to what it was
        pass
    mount.path(LIB, "new.txt").write_bytes(b"something to commit\n")

    results = {}

    def read_first_page():
        with open(path, "rb") as f:
            results["read"] = f.read(4096)

    def make_change():
        change(path)
        results["changed"] = True

    reader = threading.Thread(target=read_first_page, daemon=True)
    reader.start()
    wait_for(lambda: any(block_id in e["path"] for e in server.log()), 10,
             "the reader's block request")
    changer = threading.Thread(target=make_change, daemon=True)
    changer.start()
    time.sleep(0.5)
    try:
        assert changer.is_alive(), "the change did not wait for the reader"
        # The round commits new.txt and the unchanged f.bin, then settles what it may; the sync
        # answers once it is over (f.bin unchanged is no pending change).
        done = ctl("sync", mount.mountpoint, "--timeout", "30", timeout=60)
        assert done.returncode == 0, done.stderr
        assert head_of(server, repo_id) != base
        assert server_tree(server, repo_id)["f.bin"][1] == len(original)
        assert changer.is_alive(), "the change did not wait for the reader"
    finally:
        server.set_faults(stall=None)  # the reader gets its block, the change goes on
        reader.join(30)
        changer.join(30)
    assert results["changed"]
    # The read raced the truncate: it may stop short, never show other bytes.
    assert original.startswith(results["read"]), "the reader got wrong bytes"
    assert os.stat(path).st_size == len(expected)
    done = ctl("sync", mount.mountpoint, "--timeout", "60", timeout=90)
    assert done.returncode == 0, done.stderr
    assert server_tree(server, repo_id)["f.bin"][1:3] == (
        len(expected), hashlib.sha1(expected).hexdigest())
    assert path.read_bytes() == expected
