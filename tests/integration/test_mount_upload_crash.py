"""The daemon killed (SIGKILL) in the middle of an upload, at every step of the sync protocol's
sequence -- permission-check, HEAD, quota-check, PUT commit, check-fs, recv-fs, check-blocks,
PUT block, update-branch -- after the server has handled the step but before seafs hears the
answer (the server stalls its reply: the worst moment). The mount comes back with the same
cache and state directories and must finish the upload: every change on the server exactly
once, one commit for it (update-branch is never sent again for a commit that is already head,
which would make the server add a merge commit), nothing lost, nothing pending.

Also the other ways to lose written data: writing with the server unreachable (and a crash
then), the library deleted on the server before its changes went up (a recovery folder), and the
disk of the cache filling up (ENOSPC, nothing written before damaged)."""

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import ctl, mount_factory  # noqa: E402
from uploadkit import (LIBRARY, head_of, history, lib_server, local_tree, server_tree,  # noqa: E402
                       update_branch_requests, wait_for)

assert mount_factory and lib_server  # fixtures, used by name
FILES = {"keep.txt": b"kept as it is\n", "edit.txt": b"before the edit\n",
         "gone.txt": b"deleted by the mount\n", "dir/move-me.txt": b"renamed by the mount\n",
         "big.bin": bytes(range(256)) * 4096}  # 1 MiB: several blocks to PUT

STEPS = {  # step: regex of its request path (the server's log)
    "permission-check": r"/permission-check/",
    "head": r"/commit/HEAD$",
    "quota-check": r"/quota-check/",
    "put-commit": r"/commit/[0-9a-f]{40}$",
    "check-fs": r"/check-fs/",
    "recv-fs": r"/recv-fs/",
    "check-blocks": r"/check-blocks/",
    "put-block": r"/block/[0-9a-f]{40}$",
    "update-branch": r"/commit/HEAD/",
}



def make_changes(lib):
    (lib / "new.txt").write_bytes(b"made by the mount\n")
    with open(lib / "edit.txt", "ab") as f:
        f.write(b"appended by the mount\n")
    os.unlink(lib / "gone.txt")
    os.rename(lib / "dir" / "move-me.txt", lib / "moved.txt")
    with open(lib / "big.bin", "r+b") as f:
        f.seek(300000)
        f.write(b"edited in the middle" * 100)
    os.mkdir(lib / "new-dir")
    (lib / "new-dir" / "inside.txt").write_bytes(os.urandom(70000))


@pytest.mark.parametrize("step", list(STEPS))
def test_killed_at_every_upload_step_finishes_exactly_once(step, lib_server, mount_factory):
    server, repo_id = lib_server(FILES)
    base = head_of(server, repo_id)
    # One round for all the changes: they are made well within the quiet time.
    mount = mount_factory(server, upload_delay=2, poll_interval=0)
    lib = mount.path(LIBRARY)
    # Everything read once, so that only the upload's requests match the stall (the reads'
    # GET commit and GET block have the same paths as PUT commit and PUT block).
    assert len(local_tree(lib)) == len(FILES) + 1
    server.set_faults(stall={"match": STEPS[step], "count": 1, "after_bytes": 0})
    make_changes(lib)
    want = local_tree(lib)
    wait_for(lambda: any(e["outcome"] == "stall" for e in server.log()), 60,
             "the stalled %s" % step)
    mount.kill()
    server.clear_faults()
    applied_before = len(update_branch_requests(server))
    mount.start()
    done = ctl("sync", mount.mountpoint, LIBRARY, "--timeout", "60", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_tree(server, repo_id) == want
    assert local_tree(lib) == want
    commits = history(server, repo_id, since=base)
    assert len(commits) == 1, [c["description"] for c in commits]
    assert not commits[0].get("second_parent_id")
    # update-branch went in once: at the stall (its answer lost), or after the restart
    assert len(update_branch_requests(server)) == 1, (step, applied_before)
    assert "nothing waiting" in ctl("status", mount.mountpoint).stdout


# --- the server away, the library gone ------------------------------------------------------------

def test_writes_offline_survive_a_crash_and_go_up_when_the_server_is_back(lib_server,
                                                                          mount_factory):
    server, repo_id = lib_server(FILES)
    base = head_of(server, repo_id)
    mount = mount_factory(server, upload_delay=0, poll_interval=0, timeout=3)
    lib = mount.path(LIBRARY)
    assert len(local_tree(lib)) == len(FILES) + 1  # read once: served from the cache offline
    server.unreachable()
    make_changes(lib)
    want = local_tree(lib)
    mount.kill()  # a crash while offline, and a start offline
    mount.start()
    assert local_tree(lib) == want
    (lib / "after-the-crash.txt").write_bytes(b"written offline after the restart\n")
    want = local_tree(lib)
    done = ctl("sync", mount.mountpoint, LIBRARY, "--timeout", "5", timeout=30)
    assert done.returncode == 1 and LIBRARY in done.stderr, done.stderr
    assert head_of(server, repo_id) == base
    server.reachable()
    done = ctl("sync", mount.mountpoint, LIBRARY, "--timeout", "60", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert server_tree(server, repo_id) == want
    assert len(history(server, repo_id, since=base)) == 1
    assert local_tree(lib) == want


def test_library_deleted_with_unsent_changes_keeps_them_in_a_recovery_folder(lib_server,
                                                                             mount_factory):
    import json
    server, repo_id = lib_server(FILES)
    mount = mount_factory(server, upload_delay=3600, poll_interval=0)
    lib = mount.path(LIBRARY)
    make_changes(lib)
    mine = {path: (lib / path).read_bytes() for path in ("new.txt", "edit.txt", "moved.txt",
                                                        "big.bin", "new-dir/inside.txt")}
    server.delete_library(repo_id)
    done = ctl("sync", mount.mountpoint, LIBRARY, "--timeout", "60", timeout=90)
    status = json.loads(ctl("status", mount.mountpoint, "--json").stdout)
    libraries = [entry for entry in status["libraries"] if entry["id"] == repo_id]
    recovery = libraries[0]["recovery_dir"] if libraries else None
    if recovery is None:  # the library may already be gone from the list: the folder is named
        found = list((mount.state_dir / "recovered").glob(LIBRARY + "-*"))
        assert len(found) == 1, (done.stdout, done.stderr, found)
        recovery = found[0]
    recovery = pathlib.Path(recovery)
    assert recovery.is_dir() and (recovery / "RECOVERY.txt").is_file()
    for path, data in mine.items():
        assert (recovery / path).read_bytes() == data, path
    assert not (recovery / "keep.txt").exists()  # unchanged: the server had it
    assert recovery.stat().st_mode & 0o077 == 0
    # nothing is left waiting for a library that no longer exists; status names the folder
    human = ctl("status", mount.mountpoint).stdout
    assert "nothing waiting" in human and str(recovery) in human, human


def test_full_disk_fails_writes_with_enospc_and_damages_nothing(lib_server, mount_factory):
    import errno
    import subprocess
    server, repo_id = lib_server(FILES)
    # The cache directory on a small file system of its own, far below the cache limit: the
    # disk fills before the limit is reached.
    mount = mount_factory(server, start=False, upload_delay=3600, poll_interval=0,
                          cache_size="1G")
    mount.cache_dir.mkdir(parents=True, mode=0o700)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs",
                    str(mount.cache_dir)], check=True)
    try:
        mount.start()
        lib = mount.path(LIBRARY)
        kept = {"a.txt": b"written before the disk filled\n", "dir/b.bin": os.urandom(300000)}
        for rel, data in kept.items():
            (lib / rel).write_bytes(data)
        with open(lib / "edit.txt", "ab") as f:
            f.write(b"an edit before the disk filled\n")
        chunk = os.urandom(1 << 20)
        with pytest.raises(OSError) as full:
            with open(lib / "filler.bin", "wb") as f:
                for _ in range(64):  # far more than the file system holds
                    f.write(chunk)
                    f.flush()
                os.fsync(f.fileno())
        assert full.value.errno == errno.ENOSPC, full.value
        for rel, data in kept.items():
            assert (lib / rel).read_bytes() == data, rel
        edited = FILES["edit.txt"] + b"an edit before the disk filled\n"
        assert (lib / "edit.txt").read_bytes() == edited
        os.unlink(lib / "filler.bin")  # room again
        (lib / "after.txt").write_bytes(b"written once there was room again\n")
        mount.stop()
        mount.start()
        for rel, data in dict(kept, **{"edit.txt": edited}).items():
            assert (lib / rel).read_bytes() == data, rel
        done = ctl("sync", mount.mountpoint, LIBRARY, "--timeout", "60", timeout=90)
        assert done.returncode == 0, done.stdout + done.stderr
        tree = server_tree(server, repo_id)
        assert "filler.bin" not in tree and "after.txt" in tree and "dir/b.bin" in tree
        assert tree == local_tree(lib)
    finally:
        mount.stop()
        subprocess.run(["umount", "-l", str(mount.cache_dir)], check=False)
