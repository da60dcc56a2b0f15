"""Conflicts between a seafs mount's local changes and another client's commit on the server,
made after the mount last saw the head and before it uploads: both versions exist afterwards
(the server's under the name, the mount's as a Seafile conflict copy `name (SFConflict
user@example.com YYYY-MM-DD-HH-MM-SS).ext`), a file deleted on one side and changed on the other
survives with the change, and nothing is duplicated. The other client is syncclient.SyncClient
(the sync protocol, as the official client) or a second seafs mount."""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import ctl, mount_factory  # noqa: E402
from uploadkit import (conflict_copies, file_content, head_of, history, lib_server,  # noqa: E402
                       local_tree, remote_change, server_tree, update_branch_requests,
                       wait_for, wait_head_moves, wait_quiet, wait_server_has)

assert mount_factory and lib_server  # fixtures, used by name
LIB = "Lib"
FILES = {"both.txt": b"original both\n", "gone-there.txt": b"original gone there\n",
         "gone-here.txt": b"original gone here\n", "dir/both.md": b"original in dir\n",
         "plain.txt": b"untouched\n"}


def force_upload(mount):
    """`seafs sync MOUNTPOINT LIB`: waits until the library's changes are committed on the
    server; returns None, or the command's output when it failed."""
    done = ctl("sync", mount.mountpoint, LIB, timeout=120)
    return None if done.returncode == 0 else done.stdout + done.stderr


def sha(data):
    import hashlib
    return hashlib.sha1(data).hexdigest()


def test_both_sides_changed_keeps_both_versions(lib_server, mount_factory):
    server, repo_id = lib_server(FILES)
    mount = mount_factory(server, upload_delay=3600, poll_interval=0)
    lib = mount.path(LIB)
    assert (lib / "both.txt").read_bytes() == FILES["both.txt"]  # the mount knows the old head
    (lib / "both.txt").write_bytes(b"changed in the mount\n")
    (lib / "dir" / "both.md").write_bytes(b"dir file changed in the mount\n")
    (lib / "gone-there.txt").write_bytes(b"changed in the mount, deleted there\n")
    os.unlink(lib / "gone-here.txt")
    (lib / "new-both.txt").write_bytes(b"made in the mount\n")
    remote = remote_change(server, repo_id, {
        "both.txt": b"changed on the server\n", "dir/both.md": b"dir file changed there\n",
        "gone-there.txt": None, "gone-here.txt": b"changed on the server, deleted here\n",
        "new-both.txt": b"made on the server\n"})
    assert force_upload(mount) is None
    wait_quiet(server)
    tree = server_tree(server, repo_id)
    content = {p: file_content(server, repo_id, None) for p in ()}  # noqa: F841
    want = {
        "both.txt": b"changed on the server\n",
        "dir/both.md": b"dir file changed there\n",
        "gone-there.txt": b"changed in the mount, deleted there\n",
        "gone-here.txt": b"changed on the server, deleted here\n",
        "new-both.txt": b"made on the server\n",
        "plain.txt": FILES["plain.txt"]}
    for path, data in want.items():
        assert path in tree and tree[path][2] == sha(data), "%s: %s" % (path, tree.get(path))
    mine = {"both.txt": b"changed in the mount\n", "dir/both.md": b"dir file changed in the mount\n",
            "new-both.txt": b"made in the mount\n"}
    for path, data in mine.items():
        copies = conflict_copies(tree, path)
        assert len(copies) == 1, "%s: conflict copies %s in %s" % (path, copies, sorted(tree))
        assert tree[copies[0]][2] == sha(data)
    assert not conflict_copies(tree, "gone-there.txt") and not conflict_copies(tree,
                                                                                "gone-here.txt")
    assert len(tree) == len(want) + len(mine) + 1  # + "dir"
    commits = history(server, repo_id, since=remote)
    assert len(commits) == 1 and not commits[0].get("second_parent_id"), [
        c["description"] for c in commits]
    assert len(update_branch_requests(server)) == 2  # the other client's and the mount's
    # The mount shows what the server has.
    wait_for(lambda: local_tree(lib) == server_tree(server, repo_id), 20,
             "the mount showing the server's tree")


def test_two_mounts_changing_one_file(lib_server, mount_factory):
    server, repo_id = lib_server(FILES)
    first = mount_factory(server, name="first", upload_delay=3600, poll_interval=0)
    second = mount_factory(server, name="second", upload_delay=3600, poll_interval=0)
    (first.path(LIB, "both.txt")).write_bytes(b"from the first mount\n")
    (second.path(LIB, "both.txt")).write_bytes(b"from the second mount\n")
    base = head_of(server, repo_id)
    assert force_upload(first) is None
    after_first = wait_head_moves(server, repo_id, base)
    assert force_upload(second) is None
    wait_quiet(server)
    tree = server_tree(server, repo_id)
    assert tree["both.txt"][2] == sha(b"from the first mount\n")
    copies = conflict_copies(tree, "both.txt")
    assert len(copies) == 1 and tree[copies[0]][2] == sha(b"from the second mount\n"), copies
    assert len(history(server, repo_id, since=after_first)) == 1
    # A third, fresh mount sees both.
    third = mount_factory(server, name="third", poll_interval=0)
    assert local_tree(third.path(LIB)) == tree
    wait_server_has(server, repo_id, tree)
