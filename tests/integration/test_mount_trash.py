"""Deleting from a file manager: GIO (what Nautilus, Thunar, ... use; here `gio` of
libglib2.0-bin) tells the mount's user that files on seafs cannot be trashed, and g_file_trash
fails with "not supported" -- the file managers then offer to delete at once -- and no
.Trash-$UID folder is made in a library, so none is uploaded. `gio remove` deletes. Folders with
trash names that the server has already are shown and work."""

import errno
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import SeafsMount, ctl, mount_factory  # noqa: E402
from uploadkit import LIBRARY, lib_server, server_tree  # noqa: E402

assert mount_factory and lib_server  # fixtures, used by name
GIO = shutil.which("gio")
TRASH_DIR = ".Trash-%d" % os.geteuid()
needs_gio = pytest.mark.skipif(GIO is None, reason="gio (libglib2.0-bin) is not installed")
NOBODY = 65534


def gio(tmp_path, *args, prefix=()):
    """`gio ARGS` (under prefix, e.g. setpriv) with the local VFS (no D-Bus session, no gvfs
    daemons) and a home of its own (not on the mount: GIO would use the home trash for files on
    the home's device)."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = dict(os.environ, GIO_USE_VFS="local", HOME=str(home),
               XDG_DATA_HOME=str(home / ".local" / "share"))
    return subprocess.run(list(prefix) + [GIO] + [str(a) for a in args], capture_output=True,
                          text=True, env=env, timeout=60)


def sync(mount):
    done = ctl("sync", mount.mountpoint, "--timeout", "60", timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr


def trash_names(tree):
    return [path for path in tree if any(part.startswith(".Trash") for part in path.split("/"))]


def assert_trash_fails_and_remove_works(tmp_path, mount, server, repo_id, victim):
    """gio trash of victim (a path on the mount, or one leading to it) fails as "not supported"
    and leaves it in place; nothing trash-like reaches the server; gio remove deletes it."""
    trashed = gio(tmp_path, "trash", victim)
    assert trashed.returncode != 0, trashed.stdout
    assert "trash" in trashed.stderr.lower(), trashed.stderr
    assert victim.read_bytes() == b"doomed\n"
    sync(mount)
    tree = server_tree(server, repo_id, contents=False)
    assert trash_names(tree) == [] and "doomed.txt" in tree
    removed = gio(tmp_path, "remove", victim)
    assert removed.returncode == 0, removed.stderr
    assert not victim.exists()
    sync(mount)
    tree = server_tree(server, repo_id, contents=False)
    assert "doomed.txt" not in tree and trash_names(tree) == []


@needs_gio
def test_gio_trash_is_not_supported_and_gio_remove_deletes(lib_server, mount_factory, tmp_path):
    server, repo_id = lib_server({"doomed.txt": b"doomed\n", "kept.txt": b"kept\n"})
    mount = mount_factory(server, poll_interval=0, upload_delay=0)
    assert_trash_fails_and_remove_works(tmp_path, mount, server, repo_id,
                                        mount.path(LIBRARY, "doomed.txt"))
    assert sorted(os.listdir(mount.mountpoint)) == [LIBRARY]
    assert sorted(os.listdir(mount.path(LIBRARY))) == ["kept.txt"]


@needs_gio
@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"),
                    reason="runs gio as another user: needs root and setpriv")
def test_the_mount_s_user_is_told_files_cannot_be_trashed(lib_server):
    """access::can-trash is FALSE (the mount point, GIO's top directory for every file, takes
    no folders), so file managers offer to delete rather than to move to the trash."""
    server, _ = lib_server({"f.txt": b"f\n", "sub/g.txt": b"g\n"})
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="seafs-trash-"))  # the user must reach it
    os.chmod(workdir, 0o755)
    mount = SeafsMount(server.url, workdir / "m", poll_interval=0, allow_other=True,
                       uid=NOBODY, gid=NOBODY)
    try:
        mount.start()
        as_user = ["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY, "--clear-groups"]
        for path in [mount.path(LIBRARY, "f.txt"), mount.path(LIBRARY, "sub", "g.txt")]:
            info = gio(workdir, "info", "-a", "access::can-trash,access::can-delete", path,
                       prefix=as_user)
            assert info.returncode == 0, info.stderr
            assert "access::can-trash: FALSE" in info.stdout, info.stdout
            assert "access::can-delete: TRUE" in info.stdout, info.stdout
    finally:
        problem = mount.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    assert not problem, problem


@needs_gio
@pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")
def test_gio_trash_in_a_bind_mounted_library_makes_no_trash_folder(lib_server, mount_factory,
                                                                   tmp_path):
    """A library bind-mounted elsewhere is a top directory of its own. GIO 2.74 takes such a
    mount for a system one and does not trash there; trash implementations that do try to make
    .Trash-$UID in it are refused (see the next test), so nothing is uploaded either way."""
    server, repo_id = lib_server({"doomed.txt": b"doomed\n"})
    mount = mount_factory(server, poll_interval=0, upload_delay=0)
    bound = tmp_path / "bound"
    bound.mkdir()
    subprocess.run(["mount", "--bind", str(mount.path(LIBRARY)), str(bound)], check=True)
    try:
        assert_trash_fails_and_remove_works(tmp_path, mount, server, repo_id,
                                            bound / "doomed.txt")
        assert not (bound / TRASH_DIR).exists()
    finally:
        subprocess.run(["umount", str(bound)], check=True)


def test_trash_folders_are_not_made_but_existing_ones_work(lib_server, mount_factory):
    server, repo_id = lib_server({".Trash-1000/files/old.txt": b"old\n", "sub/a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=0, upload_delay=0)
    lib = mount.path(LIBRARY)
    for folder in [lib, lib / "sub"]:
        for name in [TRASH_DIR, ".Trash-1001"]:
            with pytest.raises(PermissionError) as refused:
                os.mkdir(folder / name)
            assert refused.value.errno == errno.EPERM
    with pytest.raises(OSError) as at_root:  # the mount point takes no folders at all
        os.mkdir(mount.path(TRASH_DIR))
    assert at_root.value.errno in (errno.EROFS, errno.EPERM, errno.EACCES)
    # other names that merely look alike are ordinary folders
    (lib / ".Trash").mkdir()
    (lib / ".Trash-me").mkdir()
    # the folder the server has already: listed, readable, writable
    existing = lib / ".Trash-1000"
    with pytest.raises(FileExistsError):
        os.mkdir(existing)
    assert (existing / "files" / "old.txt").read_bytes() == b"old\n"
    (existing / "info").mkdir()
    (existing / "files" / "new.txt").write_bytes(b"new\n")
    sync(mount)
    tree = server_tree(server, repo_id, contents=False)
    assert sorted(trash_names(tree)) == [".Trash", ".Trash-1000", ".Trash-1000/files",
                                         ".Trash-1000/files/new.txt",
                                         ".Trash-1000/files/old.txt", ".Trash-1000/info",
                                         ".Trash-me"]
