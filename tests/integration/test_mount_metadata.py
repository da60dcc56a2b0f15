"""Metadata of a seafs mount over the small demo: read-only libraries show no write bits and
refuse every kind of write with EROFS/EACCES (writable ones show the owner's write bit); `ls -lR`, `find`, `du` and stat of a tree already
listed make no request to the server; statfs reports the account's quota and usage; the
user.seafs.* extended attributes give library id, file/dir id and whether a file is cached;
uid=, gid= and umask= decide the owner and permission bits shown."""

import errno
import os
import pathlib
import stat
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (USER, account_info, file_layout, mount_factory,  # noqa: E402
                           small_demo_server)

assert mount_factory and small_demo_server  # fixtures, used by name
WRITE_ERRORS = (errno.EROFS, errno.EACCES)
READ_ONLY_LIBRARIES = ("Shared Read-Only", "SharedRO")
TREE = "Many Files/group-00"  # 100 directories of 10 files


@pytest.fixture
def mounted(small_demo_server, mount_factory):
    server, _ = small_demo_server
    return mount_factory(server, poll_interval=0)


def refused(action):
    with pytest.raises(OSError) as error:
        action()
    assert error.value.errno in WRITE_ERRORS, error.value


@pytest.mark.parametrize("library", READ_ONLY_LIBRARIES)
def test_read_only_library_refuses_writes(library, mounted):
    root = mounted.path(library)
    existing = next(p for p in sorted(root.rglob("*")) if p.is_file())
    folder = next(p for p in sorted(root.rglob("*")) if p.is_dir())
    for path in [root, existing, folder]:
        assert stat.S_IMODE(path.stat().st_mode) & 0o222 == 0, path
    refused(lambda: open(root / "new.txt", "wb"))
    refused(lambda: open(existing, "r+b"))
    refused(lambda: open(existing, "ab"))
    refused(lambda: os.truncate(existing, 0))
    refused(lambda: os.unlink(existing))
    refused(lambda: os.rename(existing, root / "renamed.txt"))
    refused(lambda: os.mkdir(root / "new-dir"))
    refused(lambda: os.rmdir(folder))
    refused(lambda: os.chmod(existing, 0o644))
    refused(lambda: os.setxattr(existing, "user.note", b"x"))
    assert not (root / "new.txt").exists() and existing.exists()


def metadata_walk(root):
    """What ls -lR, find, du and stat of every entry show (the commands' outputs)."""
    outputs = [subprocess.run(command, cwd=root, capture_output=True, check=True).stdout
               for command in (["ls", "-lR", "--time-style=+%s"], ["find", "."], ["du", "-s"])]
    stats = sorted((str(p.relative_to(root)), st.st_size, st.st_mtime, st.st_mode)
                   for p in pathlib.Path(root).rglob("*") for st in [p.lstat()])
    return outputs, stats


def test_cached_tree_metadata_makes_no_requests(small_demo_server, mounted):
    server, _ = small_demo_server
    first = metadata_walk(mounted.path(TREE))
    assert len(first[1]) == 1100
    server.reset_counters()
    assert metadata_walk(mounted.path(TREE)) == first
    counters = server.counters()
    assert counters["requests"] == 0, counters["by_route"]


def test_statfs_reports_quota_and_usage(small_demo_server, mount_factory):
    server, _ = small_demo_server
    quota = 3 << 30
    server.set_account(USER, quota=quota)
    try:
        mount = mount_factory(server, poll_interval=0)
        info = os.statvfs(mount.mountpoint)
        usage = account_info(server)["usage"]
    finally:
        server.set_account(USER, quota=-2)
    assert usage > 0
    total = info.f_blocks * info.f_frsize
    used = (info.f_blocks - info.f_bfree) * info.f_frsize
    assert abs(total - quota) < info.f_frsize, (total, quota)
    assert abs(used - usage) < info.f_frsize, (used, usage)
    assert info.f_bavail <= info.f_bfree


def xattr(path, name):
    return os.getxattr(path, name).decode()


def test_extended_attributes(small_demo_server, mounted):
    server, ids = small_demo_server
    path = mounted.path("Demo", "photos 2024", "img 002.jpg")
    file_id, _ = file_layout(server, ids["Demo"], "/photos 2024/img 002.jpg")
    names = set(os.listxattr(path))
    assert {"user.seafs.cached", "user.seafs.library_id", "user.seafs.file_id"} <= names
    assert xattr(path, "user.seafs.library_id") == ids["Demo"]
    assert xattr(path, "user.seafs.file_id") == file_id
    assert xattr(path, "user.seafs.cached") == "0"
    path.read_bytes()
    assert xattr(path, "user.seafs.cached") == "1"

    folder = mounted.path("Demo", "photos 2024")
    assert xattr(folder, "user.seafs.library_id") == ids["Demo"]
    assert len(xattr(folder, "user.seafs.dir_id")) == 40
    with pytest.raises(OSError) as error:
        os.getxattr(path, "user.seafs.no-such-attribute")
    assert error.value.errno == errno.ENODATA


def test_owner_and_permissions_follow_the_options(small_demo_server, mount_factory):
    server, _ = small_demo_server
    mount = mount_factory(server, poll_interval=0, uid=1234, gid=5678, umask="027")
    for rel in ["Demo", "Demo/README.txt", "Demo/code/build.sh", "Demo/empty-dir"]:
        st = os.stat(mount.path(rel))
        assert (st.st_uid, st.st_gid) == (1234, 5678), rel
        bits = stat.S_IMODE(st.st_mode)
        assert bits & 0o027 == 0, (rel, oct(bits))
        assert bits & 0o600 == 0o600, (rel, oct(bits))  # a writable library: owner rw
    assert stat.S_IMODE(os.stat(mount.path("Demo/code/build.sh")).st_mode) & 0o100
    assert not stat.S_IMODE(os.stat(mount.path("Demo/README.txt")).st_mode) & 0o111
