"""Metadata of a seafs mount over the small demo: read-only libraries show no write bits and
refuse every kind of write with EROFS/EACCES (writable ones show the owner's write bit); `ls -lR`, `find`, `du` and stat of a tree already
listed make no request to the server; statfs reports the account's quota and usage; the
user.seafs.* extended attributes give library id, file/dir id and whether a file is cached,
other namespaces (ACLs, security labels) are not supported (ENOTSUP, which `ls -l` remembers for
the mount instead of asking per file); listing a folder hands the kernel its entries with their
attributes (readdirplus), so stat of each listed entry costs no lookup; uid=, gid= and umask=
decide the owner and permission bits shown, and the kernel enforces them for other users."""

import errno
import json
import os
import pathlib
import stat
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (USER, account_info, ctl, file_layout, mount_factory,  # noqa: E402
                           small_demo_server, wait_prefetched)

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
    wait_prefetched(mounted, TREE.split("/")[0])  # the library's folders, fetched in background
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
    assert xattr_errno(path, "user.seafs.no-such-attribute") == errno.ENODATA
    assert xattr_errno(path, "user.note") == errno.ENODATA
    for name in ("security.selinux", "system.posix_acl_access", "security.capability",
                 "trusted.note"):
        assert xattr_errno(path, name) == errno.ENOTSUP, name
    assert xattr_errno(folder, "system.posix_acl_default") == errno.ENOTSUP
    assert xattr(path, "user.seafs.status") == "synced"  # user.seafs.* still answer after those


def xattr_errno(path, name):
    with pytest.raises(OSError) as error:
        os.getxattr(path, name)
    return error.value.errno


def test_listed_entries_need_no_lookup(small_demo_server, mounted):
    """`ls -lR` of 100 folders of 10 files: the kernel takes each listed entry with its
    attributes, stat of the 1,100 entries reaches the daemon as no lookup (only the path)."""
    def requests():
        done = ctl("status", mounted.mountpoint, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)["lookups"]["requests"]

    root = mounted.path(TREE)
    before = requests()
    listing = subprocess.run(["ls", "-lR"], cwd=root, capture_output=True, text=True, check=True)
    assert listing.stdout.count("\n-r") + listing.stdout.count("\n-w") >= 1000
    # The path's two names, not one per entry (1,100 when the kernel refused the entries it was
    # handed); slack for a drop_caches by another process in the middle of the walk, after
    # which the kernel looks up again the names of the folder being listed.
    assert requests() - before < 1100 // 4


def test_other_users_are_held_to_the_modes_shown(small_demo_server, mount_factory):
    """With allow_other, another user reads what the modes let everyone read and cannot
    create in a folder only its owner may write: the kernel checks the modes shown."""
    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to act as another user")
    server, _ = small_demo_server
    mount = mount_factory(server, poll_interval=0, allow_other=True)
    folder = os.open(mount.path("Demo"), os.O_RDONLY | os.O_DIRECTORY)
    try:
        assert stat.S_IMODE(os.fstat(folder).st_mode) & 0o022 == 0  # only the owner writes
        probe = ("import os, sys\n"
                 "fd = int(sys.argv[1])\n"
                 "print(len(open(os.open('README.txt', os.O_RDONLY, dir_fd=fd), 'rb').read()))\n"
                 "try:\n"
                 "    os.close(os.open('by-nobody.txt', os.O_CREAT | os.O_WRONLY, dir_fd=fd))\n"
                 "    print('created')\n"
                 "except OSError as exc:\n"
                 "    print(exc.errno)\n")
        done = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                               sys.executable, "-c", probe, str(folder)], pass_fds=(folder,),
                              capture_output=True, text=True, timeout=30)
    finally:
        os.close(folder)
    assert done.returncode == 0, done.stderr
    size, created = done.stdout.split()
    assert int(size) == os.path.getsize(mount.path("Demo", "README.txt"))
    assert created == str(errno.EACCES), done.stdout  # "created": the daemon let it through
    assert not mount.path("Demo", "by-nobody.txt").exists()


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
