"""Local writes on a seafs mount over the small demo (nothing is uploaded yet): every write-class
operation is checked through the mount and again after an unmount and a remount with the same
cache directory (the journal must bring everything back) -- create, open with O_TRUNC, O_APPEND
and O_EXCL, writes at any offset (gaps read as zeros), truncate grow and shrink, unlink (also of
an open file), mkdir, rmdir, rename of files and directories (over files, over empty directories,
RENAME_NOREPLACE, RENAME_EXCHANGE), a directory renamed with changes deep inside, utimens,
fallocate, statfs. What Seafile cannot represent is refused or not kept (symlinks, hard links,
devices, FIFOs, xattrs, permission bits other than owner-x, names it cannot store, renames
between libraries). A second descriptor, ls -l, stat, du and shared mmap see writes at once.
Read-only and locked encrypted libraries refuse writes and the journal records nothing for them.
Editing a large server file in place downloads nothing.

Tests marked with the `cache_mode` fixture run twice: with the kernel's writeback cache (the
default) and with -o no_writeback_cache, where every write and attribute goes through the
daemon."""

import ctypes
import errno
import mmap
import os
import pathlib
import random
import shutil
import sqlite3
import stat
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (PASSWORD, USER, block_bytes, block_gets, ctl,  # noqa: E402
                           file_layout, mount_factory, fresh_small_demo_server, unlock)
import uploadkit  # noqa: E402
from seafserver import builder, demo  # noqa: E402
from seafserver.testing import SeafServer  # noqa: E402

assert mount_factory and fresh_small_demo_server  # fixtures, used by name
LIB = "Demo"  # writable, owned by the user
SCRATCH = "Scratch"  # writable (a vectors library)
READ_ONLY = ("Shared Read-Only", "SharedRO")
LOCKED = "Encrypted v1"
BIG = "large/twelve-MiB.bin"
BIG_SIZE = 12 << 20
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
AT_FDCWD = -100
LIBC = ctypes.CDLL(None, use_errno=True)
LIBC.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
LIBC.fallocate64.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]


@pytest.fixture(params=["writeback", "no_writeback_cache"])
def cache_mode(request):
    """-o options of the mount: the kernel's writeback cache on (default) or off."""
    return {} if request.param == "writeback" else {"no_writeback_cache": True}


@pytest.fixture
def mounted(fresh_small_demo_server, mount_factory):
    server, _ = fresh_small_demo_server
    return mount_factory(server, poll_interval=0)


@pytest.fixture
def mounted_modes(fresh_small_demo_server, mount_factory, cache_mode):
    server, _ = fresh_small_demo_server
    return mount_factory(server, poll_interval=0, **cache_mode)


@pytest.fixture(scope="module")
def demo_source(tmp_path_factory):
    """The Demo library's files as the server has them (the demo's generator)."""
    root = tmp_path_factory.mktemp("demo-source") / "Demo"
    demo.write_source(LIB, root)
    return root


def remount(mount):
    """Unmounts cleanly and mounts again with the same cache and state directories."""
    assert mount.stop() == "", mount.log_tail()
    mount.start()


def errno_of(action):
    """The errno action fails with (None when it succeeds)."""
    try:
        action()
    except OSError as error:
        return error.errno
    return None


def renameat2(old, new, flags):
    """renameat2(2) through libc; raises OSError."""
    if LIBC.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(old))


def fallocate(fd, mode, offset, length):
    if LIBC.fallocate64(fd, mode, offset, length) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def check_files(root, expected):
    """expected: {relative path: bytes (a file), "dir" (a directory), None (absent)}; checks
    stat and contents of each through root."""
    problems = []
    for rel, want in sorted(expected.items()):
        path = pathlib.Path(root, rel)
        if want is None:
            if os.path.lexists(path):
                problems.append("%s exists" % rel)
            elif path.name in os.listdir(path.parent) if path.parent.is_dir() else False:
                problems.append("%s is listed in its directory" % rel)
            continue
        try:
            st = path.stat()
        except OSError as error:
            problems.append("%s: %s" % (rel, error))
            continue
        if path.name not in os.listdir(path.parent):
            problems.append("%s is not listed in its directory" % rel)
        if want == "dir":
            if not stat.S_ISDIR(st.st_mode):
                problems.append("%s is not a directory" % rel)
            continue
        if not stat.S_ISREG(st.st_mode):
            problems.append("%s is not a file" % rel)
            continue
        data = path.read_bytes()
        if st.st_size != len(want):
            problems.append("%s: size %d, expected %d" % (rel, st.st_size, len(want)))
        if data != want:
            at = next((i for i, (a, b) in enumerate(zip(data, want)) if a != b),
                      min(len(data), len(want)))
            problems.append("%s: %d bytes read, %d expected, first difference at %d"
                            % (rel, len(data), len(want), at))
    assert not problems, "\n".join(problems)


def check_before_and_after_remount(mount, root_rel, expected):
    check_files(mount.path(root_rel), expected)
    remount(mount)
    check_files(mount.path(root_rel), expected)


# --- creating, opening and writing -------------------------------------------------------------

def test_create_and_open_flags(mounted_modes, demo_source):
    mount = mounted_modes
    root = mount.path(LIB)
    readme = (demo_source / "README.txt").read_bytes()
    with open(root / "new.txt", "wb") as f:
        f.write(b"new file\n")
    fd = os.open(root / "created-empty", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    os.close(fd)
    assert errno_of(lambda: os.open(root / "new.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL)) \
        == errno.EEXIST
    assert errno_of(lambda: os.open(root / "README.txt", os.O_RDWR | os.O_CREAT | os.O_EXCL)) \
        == errno.EEXIST
    # O_TRUNC of a server file, then new content
    with open(root / "one-byte.bin", "wb") as f:
        f.write(b"truncated and rewritten")
    # O_TRUNC without writing
    os.close(os.open(root / "exact-4096.bin", os.O_WRONLY | os.O_TRUNC))
    # O_APPEND to a server file and to a new one, twice each (two opens)
    for name in ("README.txt", "new.txt"):
        for text in (b"appended 1\n", b"appended 2\n"):
            fd = os.open(root / name, os.O_WRONLY | os.O_APPEND)
            os.write(fd, text)
            os.lseek(fd, 0, os.SEEK_SET)  # O_APPEND writes at the end whatever the offset
            os.write(fd, b"!")
            os.close(fd)
    # opening for writing without writing changes nothing
    os.close(os.open(root / "trailing space .txt", os.O_RDWR))
    # overwriting in the middle keeps the rest of a server file
    fd = os.open(root / "Documents" / "file with spaces.txt", os.O_RDWR)
    assert os.pwrite(fd, b"NAME", 2) == 4
    os.close(fd)
    expected = {
        "new.txt": b"new file\nappended 1\n!appended 2\n!",
        "created-empty": b"",
        "one-byte.bin": b"truncated and rewritten",
        "exact-4096.bin": b"",
        "README.txt": readme + b"appended 1\n!appended 2\n!",
        "trailing space .txt": (demo_source / "trailing space .txt").read_bytes(),
        "Documents/file with spaces.txt": b"A NAME with spaces.\n",
    }
    check_before_and_after_remount(mount, LIB, expected)


def test_writes_at_any_offset(mounted_modes):
    mount = mounted_modes
    root = mount.path(SCRATCH)
    fd = os.open(root / "sparse.bin", os.O_RDWR | os.O_CREAT, 0o644)
    assert os.pwrite(fd, b"tail", 1 << 20) == 4  # past EOF: the gap reads as zeros
    assert os.fstat(fd).st_size == (1 << 20) + 4
    assert os.pread(fd, 8, (1 << 20) - 4) == b"\0\0\0\0tail"
    assert os.pwrite(fd, b"head", 0) == 4
    assert os.pwrite(fd, b"mid", 5000) == 3
    assert os.pwrite(fd, b"X" * 10, (1 << 20) - 5) == 10  # across the old end
    os.close(fd)
    want = bytearray((1 << 20) + 5)
    want[0:4] = b"head"
    want[5000:5003] = b"mid"
    want[(1 << 20) - 5:(1 << 20) + 5] = b"X" * 10
    # a file far larger than what is written
    fd = os.open(root / "far.bin", os.O_WRONLY | os.O_CREAT, 0o644)
    os.pwrite(fd, b"end", (3 << 30) - 3)
    os.close(fd)
    assert os.stat(root / "far.bin").st_size == 3 << 30
    with open(root / "far.bin", "rb") as f:
        assert f.read(16) == bytes(16)
        f.seek((3 << 30) - 8)
        assert f.read() == b"\0\0\0\0\0end"
    check_before_and_after_remount(mount, SCRATCH, {"sparse.bin": bytes(want)})
    with open(root / "far.bin", "rb") as f:
        f.seek((3 << 30) - 8)
        assert f.read() == b"\0\0\0\0\0end"
        f.seek(1 << 30)
        assert f.read(4096) == bytes(4096)


def test_truncate_and_ftruncate(mounted_modes, demo_source):
    mount = mounted_modes
    root = mount.path(LIB)
    img = (demo_source / "photos 2024" / "img 001.jpg").read_bytes()
    # a server file shrunk and grown again by path: the bytes cut away read as zeros
    os.truncate(root / "photos 2024" / "img 001.jpg", 1000)
    assert os.stat(root / "photos 2024" / "img 001.jpg").st_size == 1000
    os.truncate(root / "photos 2024" / "img 001.jpg", 5000)
    # grown by path without ever opening it
    os.truncate(root / "exact-4096.bin", 10000)
    assert os.stat(root / "exact-4096.bin").st_size == 10000
    # through a descriptor, with writes in between
    fd = os.open(root / "new.bin", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"a" * 100)
    os.ftruncate(fd, 10)
    assert os.fstat(fd).st_size == 10
    os.ftruncate(fd, 50)
    assert os.pread(fd, 100, 0) == b"a" * 10 + bytes(40)
    os.pwrite(fd, b"b", 60)
    os.close(fd)
    fd = os.open(root / "photos 2024" / "img 002.jpg", os.O_RDWR)
    os.ftruncate(fd, 0)
    os.ftruncate(fd, 3)
    os.close(fd)
    # the empty server file grown
    os.truncate(root / "empty.txt", 7)
    expected = {
        "photos 2024/img 001.jpg": img[:1000] + bytes(4000),
        "exact-4096.bin": (demo_source / "exact-4096.bin").read_bytes() + bytes(10000 - 4096),
        "new.bin": b"a" * 10 + bytes(50) + b"b",
        "photos 2024/img 002.jpg": bytes(3),
        "empty.txt": bytes(7),
    }
    check_before_and_after_remount(mount, LIB, expected)
    # a staged file shrunk after the remount
    os.truncate(root / "new.bin", 5)
    check_before_and_after_remount(mount, LIB, {"new.bin": b"aaaaa"})


def test_unlink(mounted_modes):
    mount = mounted_modes
    root = mount.path(LIB)
    os.unlink(root / "README.txt")  # a server file
    open(root / "local.txt", "wb").write(b"local")
    os.unlink(root / "local.txt")  # a file made locally
    assert errno_of(lambda: os.unlink(root / "README.txt")) == errno.ENOENT
    assert errno_of(lambda: os.unlink(root / "Documents")) in (errno.EISDIR, errno.EPERM)
    assert errno_of(lambda: os.unlink(root / "nothing-here")) == errno.ENOENT
    # unlink of an open file: the descriptor keeps reading and writing, the name is gone
    fd = os.open(root / "open.txt", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"before")
    os.unlink(root / "open.txt")
    assert "open.txt" not in os.listdir(root)
    assert os.pwrite(fd, b" after", 6) == 6
    assert os.pread(fd, 100, 0) == b"before after"
    assert os.fstat(fd).st_size == 12
    # a server file open for reading and one open for writing, both unlinked
    reader = os.open(root / "photos 2024" / "img 002.jpg", os.O_RDONLY)
    writer = os.open(root / "one-byte.bin", os.O_RDWR)
    os.pwrite(writer, b"xyz", 1)
    os.unlink(root / "photos 2024" / "img 002.jpg")
    os.unlink(root / "one-byte.bin")
    assert len(os.pread(reader, 400000, 0)) == 300000
    assert os.pread(writer, 10, 0) == b"\0xyz"
    os.pwrite(writer, b"!", 4)
    assert os.pread(writer, 10, 0) == b"\0xyz!"
    # attributes of an unlinked open file change on it only (the name stays free)
    os.utime(fd, (1500000000, 1500000000))
    os.fchmod(fd, 0o755)
    assert int(os.fstat(fd).st_mtime) == 1500000000
    assert "open.txt" not in os.listdir(root)
    # a server file renamed, then unlinked (the kernel flushes the renamed inode's times after
    # the unlink)
    os.rename(root / "exact-4096.bin", root / "a" / "renamed.bin")
    os.unlink(root / "a" / "renamed.bin")
    os.rename(root / "trailing space .txt", root / "Documents" / "renamed.txt")
    os.unlink(root / "Documents" / "renamed.txt")
    # a new file under the same name is another file
    open(root / "open.txt", "wb").write(b"second")
    assert os.pread(fd, 100, 0) == b"before after"
    for descriptor in (fd, reader, writer):
        os.close(descriptor)
    expected = {"README.txt": None, "local.txt": None, "photos 2024/img 002.jpg": None,
                "one-byte.bin": None, "open.txt": b"second", "exact-4096.bin": None,
                "a/renamed.bin": None, "trailing space .txt": None,
                "Documents/renamed.txt": None}
    check_before_and_after_remount(mount, LIB, expected)


def test_closing_a_file_that_was_changed_and_unlinked(mounted_modes):
    root = mounted_modes.path(LIB)
    for name, change in [("README.txt", lambda p: os.truncate(p, 0)),
                         ("one-byte.bin", lambda p: os.truncate(p, 100)),
                         ("exact-4096.bin", lambda p: open(p, "ab").write(b"more"))]:
        reader = os.open(root / name, os.O_RDONLY)
        change(root / name)
        os.unlink(root / name)
        os.fstat(reader)
        os.close(reader)  # the kernel flushes the times of the unlinked inode
        assert name not in os.listdir(root)


def test_mkdir_and_rmdir(mounted):
    mount = mounted
    root = mount.path(LIB)
    os.mkdir(root / "new-dir")
    os.mkdir(root / "new-dir" / "inner")
    open(root / "new-dir" / "inner" / "f.txt", "wb").write(b"f")
    os.makedirs(root / "a" / "b" / "new" / "deeper")  # inside server directories
    assert errno_of(lambda: os.mkdir(root / "new-dir")) == errno.EEXIST
    assert errno_of(lambda: os.mkdir(root / "README.txt")) == errno.EEXIST
    assert errno_of(lambda: os.mkdir(root / "Documents")) == errno.EEXIST
    assert errno_of(lambda: os.rmdir(root / "new-dir")) == errno.ENOTEMPTY
    assert errno_of(lambda: os.rmdir(root / "a")) == errno.ENOTEMPTY  # server dir, not empty
    assert errno_of(lambda: os.rmdir(root / "README.txt")) == errno.ENOTDIR
    assert errno_of(lambda: os.rmdir(root / "missing")) == errno.ENOENT
    os.rmdir(root / "empty-dir")  # a server directory
    os.rmdir(root / "nested-empty" / "inner" / "innermost")
    os.rmdir(root / "nested-empty" / "inner")
    # a server directory emptied locally can go
    for name in os.listdir(root / "copies"):
        os.unlink(root / "copies" / name)
    os.rmdir(root / "copies")
    os.mkdir(root / "copies")  # and come back, empty
    # a local directory emptied
    os.unlink(root / "new-dir" / "inner" / "f.txt")
    os.rmdir(root / "new-dir" / "inner")
    expected = {"new-dir": "dir", "new-dir/inner": None, "a/b/new/deeper": "dir",
                "empty-dir": None, "nested-empty": "dir", "nested-empty/inner": None,
                "copies": "dir", "copies/one.txt": None, "a/b/c/d/e/deep.txt":
                b"five levels down\n"}
    check_before_and_after_remount(mount, LIB, expected)
    assert os.listdir(root / "copies") == [] and os.listdir(root / "nested-empty") == []
    assert os.listdir(root / "new-dir") == []


# --- rename --------------------------------------------------------------------------------------

def test_rename_files(mounted_modes, demo_source):
    mount = mounted_modes
    root = mount.path(LIB)
    readme = (demo_source / "README.txt").read_bytes()
    os.rename(root / "README.txt", root / "README.md")  # server file, same directory
    os.rename(root / "README.md", root / "Documents" / "README.md")  # to another directory
    open(root / "local.txt", "wb").write(b"local")
    os.rename(root / "local.txt", root / "one-byte.bin")  # over a server file
    open(root / "other.txt", "wb").write(b"other")
    os.rename(root / "other.txt", root / "Documents" / "README.md")  # over a moved file
    os.rename(root / "exact-4096.bin", root / "exact-4096.bin")  # onto itself: nothing
    # a file open for writing renamed, written, renamed again
    fd = os.open(root / "moving.txt", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"1")
    os.rename(root / "moving.txt", root / "a" / "moved.txt")
    os.write(fd, b"2")
    os.rename(root / "a" / "moved.txt", root / "a" / "b" / "moved.txt")
    os.write(fd, b"3")
    os.close(fd)
    # errors
    assert errno_of(lambda: os.rename(root / "missing", root / "x")) == errno.ENOENT
    assert errno_of(lambda: os.rename(root / "empty.txt", root / "empty-dir")) == errno.EISDIR
    assert errno_of(lambda: os.rename(root / "empty-dir", root / "empty.txt")) == errno.ENOTDIR
    noreplace = errno_of(lambda: renameat2(root / "empty.txt", root / "one-byte.bin",
                                           RENAME_NOREPLACE))
    assert noreplace == errno.EEXIST
    assert errno_of(lambda: renameat2(root / "empty.txt", root / "fresh.txt",
                                      RENAME_NOREPLACE)) is None
    exchange = errno_of(lambda: renameat2(root / "fresh.txt", root / "one-byte.bin",
                                          RENAME_EXCHANGE))
    assert exchange in (errno.EINVAL, None)
    if exchange is None:
        expected_fresh, expected_one = b"local", b""
    else:
        expected_fresh, expected_one = b"", b"local"
    expected = {"README.txt": None, "README.md": None, "Documents/README.md": b"other",
                "local.txt": None, "other.txt": None, "one-byte.bin": expected_one,
                "empty.txt": None, "fresh.txt": expected_fresh, "moving.txt": None,
                "a/moved.txt": None, "a/b/moved.txt": b"123",
                "exact-4096.bin": (demo_source / "exact-4096.bin").read_bytes()}
    check_before_and_after_remount(mount, LIB, expected)
    assert readme not in [p.read_bytes() for p in root.rglob("*") if p.is_file()
                          and p.stat().st_size == len(readme)]


def test_a_listing_read_before_a_change_brings_no_name_back(mounted_modes):
    """A directory opened before a rename and an unlink and read after them may still list the
    old names (POSIX allows it), but those names must not come back to life: stat of each says
    ENOENT, and the new name is the file. (The listing is read at opendir; entries of a listing
    that changes made stale are not handed to the kernel as looked up.)"""
    root = mounted_modes.path(LIB) / "stale-listing"
    root.mkdir()
    for name in ("moved", "deleted", "kept"):
        (root / name).write_bytes(name.encode())
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.rename(root / "moved", root / "renamed")
        os.unlink(root / "deleted")
        listed = set(os.listdir(fd))
    finally:
        os.close(fd)
    assert {"kept"} <= listed <= {"moved", "deleted", "kept", "renamed"}, listed
    for gone in ("moved", "deleted"):
        assert errno_of(lambda: os.stat(root / gone)) == errno.ENOENT, gone
    assert (root / "renamed").read_bytes() == b"moved"
    assert sorted(os.listdir(root)) == ["kept", "renamed"]


def test_rename_directories(mounted):
    mount = mounted
    root = mount.path(LIB)
    os.mkdir(root / "local-empty")
    os.rename(root / "local-empty", root / "empty-dir")  # over an empty server directory
    os.rename(root / "nested-empty" / "inner", root / "a" / "empty-subdir")  # server over server
    assert errno_of(lambda: os.rename(root / "code", root / "copies")) == errno.ENOTEMPTY
    os.mkdir(root / "new")
    open(root / "new" / "f", "wb").write(b"f")
    assert errno_of(lambda: os.rename(root / "copies", root / "new")) == errno.ENOTEMPTY
    assert errno_of(lambda: os.rename(root / "new", root / "copies")) == errno.ENOTEMPTY
    assert errno_of(lambda: renameat2(root / "new", root / "empty-dir",
                                      RENAME_NOREPLACE)) == errno.EEXIST
    assert errno_of(lambda: os.rename(root / "a", root / "a" / "b" / "inside")) == errno.EINVAL
    os.rename(root / "new", root / "code" / "new")  # a local directory moved down
    os.rename(root / "copies", root / "copies-moved")  # a server directory
    expected = {"local-empty": None, "empty-dir": "dir", "nested-empty/inner": None,
                "a/empty-subdir/innermost": "dir", "new": None, "code/new/f": b"f",
                "copies": None, "copies-moved/one.txt": b"identical content\n",
                "copies-moved/two.txt": b"identical content\n", "code/build.sh":
                b"#!/bin/sh\ncc -o main src/main.c\n"}
    check_before_and_after_remount(mount, LIB, expected)
    assert os.listdir(root / "empty-dir") == []


def test_rename_directory_with_changes_deep_inside(mounted, demo_source):
    mount = mounted
    root = mount.path(LIB)
    deep = root / "a" / "b" / "c" / "d" / "e"
    with open(deep / "deep.txt", "ab") as f:
        f.write(b"changed\n")
    open(root / "a" / "b" / "new.txt", "wb").write(b"new in b")
    os.mkdir(root / "a" / "b" / "c" / "made")
    open(root / "a" / "b" / "c" / "made" / "m.txt", "wb").write(b"m")
    os.unlink(root / "emoji \U0001f600" / "smile \U0001f600.txt")
    fd = os.open(deep / "open.txt", os.O_RDWR | os.O_CREAT, 0o644)  # stays open
    os.write(fd, b"open ")
    os.rename(root / "a", root / "Documents" / "a-moved")
    moved = root / "Documents" / "a-moved"
    # changes inside the moved directory, through old and new handles
    os.write(fd, b"still")
    os.close(fd)
    with open(moved / "b" / "c" / "d" / "e" / "deep.txt", "ab") as f:
        f.write(b"again\n")
    open(moved / "b" / "c" / "made" / "m2.txt", "wb").write(b"m2")
    os.unlink(moved / "b" / "new.txt")
    os.rmdir(moved / "empty-subdir")
    os.rename(moved / "b" / "c", moved / "c-up")
    os.rename(root / "emoji \U0001f600", moved / "emoji")
    expected = {
        "a": None,
        "Documents/a-moved/b/c": None,
        "Documents/a-moved/c-up/d/e/deep.txt": b"five levels down\nchanged\nagain\n",
        "Documents/a-moved/c-up/d/e/open.txt": b"open still",
        "Documents/a-moved/c-up/made/m.txt": b"m",
        "Documents/a-moved/c-up/made/m2.txt": b"m2",
        "Documents/a-moved/b/new.txt": None,
        "Documents/a-moved/b": "dir",
        "Documents/a-moved/empty-subdir": None,
        "Documents/a-moved/emoji": "dir",
        "Documents/a-moved/emoji/smile \U0001f600.txt": None,
        "emoji \U0001f600": None,
    }
    check_before_and_after_remount(mount, LIB, expected)
    assert os.listdir(moved / "b") == []
    assert sorted(os.listdir(moved)) == ["b", "c-up", "emoji"]
    assert sorted(os.listdir(moved / "c-up")) == ["d", "made"]
    # and back to where it was
    os.rename(moved, root / "a")
    check_before_and_after_remount(mount, LIB, {
        "a/c-up/d/e/deep.txt": b"five levels down\nchanged\nagain\n", "Documents/a-moved": None})


# --- attributes ---------------------------------------------------------------------------------

def test_utimens_keeps_whole_seconds(mounted_modes):
    mount = mounted_modes
    root = mount.path(LIB)
    open(root / "new.txt", "wb").write(b"new")
    os.mkdir(root / "new-dir")
    times = {"README.txt": 1000000000.75, "new.txt": 1200000000.25, "Documents": 1300000000.5,
             "new-dir": 1400000000.0, "code/build.sh": 1500000000.0}
    for rel, t in times.items():
        os.utime(root / rel, (t, t))
    for rel, t in times.items():
        assert int(os.stat(root / rel).st_mtime) == int(t), rel
    remount(mount)
    for rel, t in times.items():
        assert os.stat(root / rel).st_mtime == int(t), rel
    # a write afterwards moves the mtime to now
    with open(root / "README.txt", "ab") as f:
        f.write(b"x")
    assert os.stat(root / "README.txt").st_mtime > 1600000000
    remount(mount)
    assert os.stat(root / "README.txt").st_mtime > 1600000000
    assert os.stat(root / "new.txt").st_mtime == 1200000000


def test_fallocate(mounted):
    root = mounted.path(SCRATCH)
    fd = os.open(root / "alloc.bin", os.O_RDWR | os.O_CREAT, 0o644)
    os.write(fd, b"data")
    fallocate(fd, 0, 0, 10000)  # mode 0 grows
    assert os.fstat(fd).st_size == 10000
    fallocate(fd, 0, 0, 100)  # inside: nothing changes
    assert os.fstat(fd).st_size == 10000
    fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 20000)
    assert os.fstat(fd).st_size == 10000
    code = errno_of(lambda: fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4))
    assert code == errno.EOPNOTSUPP
    os.posix_fallocate(fd, 0, 12345)
    os.close(fd)
    check_before_and_after_remount(mounted, SCRATCH, {"alloc.bin": b"data" + bytes(12341)})


def test_statfs(mounted):
    before = os.statvfs(mounted.mountpoint)
    open(mounted.path(LIB, "new.bin"), "wb").write(bytes(100000))
    for path in (mounted.mountpoint, mounted.path(LIB), mounted.path(LIB, "new.bin")):
        info = os.statvfs(path)
        assert info.f_namemax == 255 and info.f_bsize > 0 and info.f_frsize > 0
        assert info.f_blocks >= info.f_bfree >= info.f_bavail > 0
        assert info.f_bfree == before.f_bfree  # nothing is uploaded: usage unchanged


# --- what Seafile cannot represent --------------------------------------------------------------

def test_permission_bits_and_owners(mounted):
    root = mounted.path(LIB)
    path = root / "README.txt"
    mode = stat.S_IMODE(os.stat(path).st_mode)
    assert mode & 0o111 == 0
    os.chmod(path, mode | stat.S_IXUSR)  # u+x: Seafile's only permission bit
    assert os.stat(path).st_mode & stat.S_IXUSR
    os.chmod(root / "code" / "build.sh", 0o644)  # and back off
    assert not os.stat(root / "code" / "build.sh").st_mode & 0o111
    os.chmod(root / "exact-4096.bin", 0o600)  # other bits are accepted and not kept
    os.chmod(root / "Documents", 0o700)
    os.chown(root / "one-byte.bin", 1234, 5678)  # owners too
    os.chown(root / "Documents", 1234, 5678)
    fd = os.open(root / "new.txt", os.O_WRONLY | os.O_CREAT, 0o755)  # created executable
    os.fchmod(fd, 0o644)
    os.fchmod(fd, 0o744)
    os.close(fd)

    def check():
        assert stat.S_IMODE(os.stat(path).st_mode) == mode | 0o111
        assert stat.S_IMODE(os.stat(root / "code" / "build.sh").st_mode) == mode
        assert stat.S_IMODE(os.stat(root / "exact-4096.bin").st_mode) == mode
        assert stat.S_IMODE(os.stat(root / "new.txt").st_mode) == mode | 0o111
        st = os.stat(root / "one-byte.bin")
        assert (st.st_uid, st.st_gid) == (os.getuid(), os.getgid())
        assert stat.S_IMODE(os.stat(root / "Documents").st_mode) == 0o755
    check()
    remount(mounted)
    check()


def test_unrepresentable_things_are_refused(mounted):
    root = mounted.path(LIB)
    target = root / "README.txt"
    assert errno_of(lambda: os.symlink("README.txt", root / "link")) == errno.EPERM
    assert errno_of(lambda: os.link(target, root / "hard")) == errno.EPERM
    assert errno_of(lambda: os.mkfifo(root / "fifo")) == errno.EPERM
    assert errno_of(lambda: os.mknod(root / "null", stat.S_IFCHR | 0o600,
                                     os.makedev(1, 3))) == errno.EPERM
    assert errno_of(lambda: os.mknod(root / "blk", stat.S_IFBLK | 0o600,
                                     os.makedev(7, 0))) == errno.EPERM
    assert errno_of(lambda: os.setxattr(target, "user.note", b"x")) == errno.ENOTSUP
    assert errno_of(lambda: os.setxattr(root / "Documents", "user.note", b"x")) == errno.ENOTSUP
    assert errno_of(lambda: os.removexattr(target, "user.note")) in (errno.ENOTSUP,
                                                                       errno.ENODATA)
    # mknod of a regular file works (what `mknod` and some tools do instead of create)
    os.mknod(root / "regular", stat.S_IFREG | 0o644)
    long_name = "n" * 256
    assert errno_of(lambda: open(root / long_name, "wb")) == errno.ENAMETOOLONG
    assert errno_of(lambda: os.mkdir(root / long_name)) == errno.ENAMETOOLONG
    assert errno_of(lambda: os.rename(target, root / long_name)) == errno.ENAMETOOLONG
    longest = "\u00e9" * 127 + "x"  # 255 bytes of UTF-8: allowed
    open(root / longest, "wb").write(b"longest")
    assert errno_of(lambda: open(root / ("\u00e9" * 128), "wb")) == errno.ENAMETOOLONG
    bad = os.fsencode(root) + b"/bad-\xff\xfe"
    assert errno_of(lambda: open(bad, "wb")) == errno.EINVAL
    assert errno_of(lambda: os.mkdir(bad)) == errno.EINVAL
    assert errno_of(lambda: os.rename(target, bad)) == errno.EINVAL
    assert errno_of(lambda: os.mknod(bad, stat.S_IFREG | 0o644)) == errno.EINVAL
    names = set(os.listdir(root))
    for name in ("link", "hard", "fifo", "null", "blk", long_name):
        assert name not in names
    assert not any(os.fsencode(n).startswith(b"bad-") for n in names)
    remount(mounted)
    check_files(root, {"regular": b"", longest: b"longest", "link": None, "fifo": None,
                       "README.txt": target.read_bytes()})


def test_rename_between_libraries(mounted, demo_source):
    root, other = mounted.path(LIB), mounted.path(SCRATCH)
    assert errno_of(lambda: os.rename(root / "README.txt", other / "README.txt")) == errno.EXDEV
    assert errno_of(lambda: os.rename(root / "copies", other / "copies")) == errno.EXDEV
    # mv copies then deletes
    subprocess.run(["mv", str(root / "README.txt"), str(other / "README.txt")], check=True)
    subprocess.run(["mv", str(root / "copies"), str(other / "copies")], check=True)
    expected_other = {"README.txt": (demo_source / "README.txt").read_bytes(),
                      "copies/one.txt": b"identical content\n"}
    check_files(root, {"README.txt": None, "copies": None})
    check_before_and_after_remount(mounted, SCRATCH, expected_other)
    check_files(root, {"README.txt": None, "copies": None})


# --- reading what was written -------------------------------------------------------------------

def test_reads_see_writes_at_once(mounted_modes, demo_source):
    mount = mounted_modes
    root = mount.path(LIB)
    path = root / "photos 2024" / "img 001.jpg"
    original = (demo_source / "photos 2024" / "img 001.jpg").read_bytes()
    reader = os.open(path, os.O_RDONLY)  # opened before the first write
    assert os.pread(reader, 16, 0) == original[:16]
    writer = os.open(path, os.O_WRONLY)
    os.pwrite(writer, b"WRITTEN", 100)
    os.pwrite(writer, b"END", len(original) + 10)
    size = len(original) + 13
    assert os.pread(reader, 10, 98) == original[98:100] + b"WRITTEN" + original[107:108]
    assert os.pread(reader, 100, len(original)) == bytes(10) + b"END"
    assert os.fstat(reader).st_size == size
    assert os.stat(path).st_size == size
    listing = subprocess.run(["ls", "-l", str(path.parent)], capture_output=True, text=True,
                             check=True).stdout
    assert any(line.split()[4] == str(size) and line.endswith("img 001.jpg")
               for line in listing.splitlines()[1:]), listing
    du = subprocess.run(["du", "-k", "--apparent-size", str(path)], capture_output=True,
                        text=True, check=True).stdout
    assert int(du.split()[0]) == (size + 1023) // 1024
    du = subprocess.run(["du", "-k", str(path)], capture_output=True, text=True,
                        check=True).stdout
    assert int(du.split()[0]) >= size // 1024
    os.close(writer)
    assert os.pread(reader, 10, 98) == original[98:100] + b"WRITTEN" + original[107:108]
    # a new file: a reader opened right after create
    fd = os.open(root / "new.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    reader2 = os.open(root / "new.txt", os.O_RDONLY)
    os.write(fd, b"hello")
    assert os.pread(reader2, 100, 0) == b"hello"
    assert os.stat(root / "new.txt").st_size == 5
    os.ftruncate(fd, 2)
    assert os.pread(reader2, 100, 0) == b"he"
    os.close(fd)
    os.close(reader2)
    os.close(reader)
    expected = {"photos 2024/img 001.jpg": original[:100] + b"WRITTEN" + original[107:]
                + bytes(10) + b"END", "new.txt": b"he"}
    check_before_and_after_remount(mount, LIB, expected)


def test_shared_mmap(mounted_modes, demo_source):
    mount = mounted_modes
    root = mount.path(LIB)
    original = (demo_source / "exact-4096.bin").read_bytes()
    fd = os.open(root / "exact-4096.bin", os.O_RDWR)
    reader = os.open(root / "exact-4096.bin", os.O_RDONLY)
    with mmap.mmap(fd, 4096, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE) as m:
        assert m[:16] == original[:16]
        m[10:20] = b"0123456789"
        m.flush()
        assert os.pread(reader, 20, 5) == original[5:10] + b"0123456789" + original[20:25]
    os.close(fd)
    # a new file, grown then mapped
    fd = os.open(root / "mapped.bin", os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, 3 * 4096)
    with mmap.mmap(fd, 3 * 4096) as m:
        m[4096:4100] = b"page"
        m[-3:] = b"end"
        m.flush()
    os.close(fd)
    assert os.pread(reader, 20, 5) == original[5:10] + b"0123456789" + original[20:25]
    os.close(reader)
    want = bytearray(3 * 4096)
    want[4096:4100] = b"page"
    want[-3:] = b"end"
    check_before_and_after_remount(mount, LIB, {
        "exact-4096.bin": original[:10] + b"0123456789" + original[20:],
        "mapped.bin": bytes(want)})


# --- libraries that take no changes --------------------------------------------------------------

def journal_rows(mount, repo_id):
    """Rows of the journal (cache_dir/journal.db, read-only) that belong to library repo_id:
    {table: count} for libraries, nodes, entries (through their node) and staged."""
    uri = "file:%s?mode=ro" % (mount.cache_dir / "journal.db")
    db = sqlite3.connect(uri, uri=True)
    try:
        return {
            "libraries": db.execute("SELECT COUNT(*) FROM libraries WHERE repo = ?",
                                    (repo_id,)).fetchone()[0],
            "nodes": db.execute("SELECT COUNT(*) FROM nodes WHERE repo = ?",
                                (repo_id,)).fetchone()[0],
            "entries": db.execute("SELECT COUNT(*) FROM entries JOIN nodes ON entries.parent ="
                                  " nodes.id WHERE nodes.repo = ?", (repo_id,)).fetchone()[0],
            "staged": db.execute("SELECT COUNT(*) FROM staged WHERE repo = ?",
                                 (repo_id,)).fetchone()[0],
        }
    finally:
        db.close()


def repo_of(server, name):
    return next(r for r, lib in server.state()["libraries"].items() if lib["name"] == name)


def refusals(root, existing, folder):
    """errno of each write-class operation tried inside a library's folder root."""
    return {
        "create": errno_of(lambda: open(root / "new.txt", "wb")),
        "open r+": errno_of(lambda: open(existing, "r+b")),
        "open append": errno_of(lambda: open(existing, "ab")),
        "open trunc": errno_of(lambda: os.open(existing, os.O_RDONLY | os.O_TRUNC)),
        "truncate": errno_of(lambda: os.truncate(existing, 0)),
        "unlink": errno_of(lambda: os.unlink(existing)),
        "rename": errno_of(lambda: os.rename(existing, root / "renamed")),
        "mkdir": errno_of(lambda: os.mkdir(root / "new-dir")),
        "rmdir": errno_of(lambda: os.rmdir(folder)),
        "utime": errno_of(lambda: os.utime(existing, (1, 1))),
        "chmod": errno_of(lambda: os.chmod(existing, 0o755)),
        "mknod": errno_of(lambda: os.mknod(root / "node", stat.S_IFREG | 0o644)),
    }


@pytest.mark.parametrize("library", READ_ONLY + (LOCKED,))
def test_libraries_without_write_access_record_nothing(library, fresh_small_demo_server, mounted):
    server, ids = fresh_small_demo_server
    repo_id = repo_of(server, library)
    root = mounted.path(library)
    existing = next(p for p in sorted(root.rglob("*")) if p.is_file())
    folder = next(p for p in sorted(root.rglob("*")) if p.is_dir())
    open(mounted.path(LIB, "control.txt"), "wb").write(b"a change elsewhere")
    got = refusals(root, existing, folder)
    assert set(got.values()) <= {errno.EACCES, errno.EROFS}, got
    assert got["create"] == errno.EACCES and got["open r+"] == errno.EACCES, got
    assert journal_rows(mounted, repo_id) == {"libraries": 0, "nodes": 0, "entries": 0,
                                              "staged": 0}
    assert journal_rows(mounted, ids[LIB])["staged"] == 1
    remount(mounted)
    assert not (root / "new.txt").exists() and existing.exists()
    assert journal_rows(mounted, repo_id)["libraries"] == 0


def test_unlocked_encrypted_library_takes_writes_until_locked(fresh_small_demo_server, mounted):
    server, _ = fresh_small_demo_server
    root = mounted.path(LOCKED)
    assert errno_of(lambda: open(root / "new.txt", "wb")) == errno.EACCES
    assert unlock(mounted, LOCKED).returncode == 0
    open(root / "new.txt", "wb").write(b"while unlocked")
    assert (root / "new.txt").read_bytes() == b"while unlocked"
    assert ctl("lock", mounted.mountpoint, LOCKED).returncode == 0
    assert errno_of(lambda: open(root / "new.txt", "ab")) == errno.EACCES
    assert errno_of(lambda: open(root / "other.txt", "wb")) == errno.EACCES
    assert journal_rows(mounted, repo_of(server, LOCKED))["staged"] == 1


# --- local changes over remote ones -------------------------------------------------------------

def write_tree(root, files):
    shutil.rmtree(root, ignore_errors=True)
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)


def test_local_changes_stay_on_top_of_remote_commits(tmp_path, mount_factory):
    data, source = tmp_path / "server", tmp_path / "source"
    builder.add_account(str(data), USER, PASSWORD)
    files = {"keep.txt": b"keep\n", "change.txt": b"server 1\n", "remove.txt": b"remove\n",
             "dir/other.txt": b"other 1\n", "dir/sub/inner.txt": b"inner\n",
             "moved/m.txt": b"m\n"}
    write_tree(source, files)
    repo_id = builder.create_library(str(data), "Live", USER, source)
    server = SeafServer(str(data)).start()
    try:
        # uploads held back: this is about the view of local changes over a server that moves
        # (the other side here overwrites the library as a whole, without merging)
        mount = mount_factory(server, poll_interval=1, upload_delay=3600)
        root = mount.path("Live")
        open(root / "local.txt", "wb").write(b"local\n")
        open(root / "dir" / "sub" / "local-in-sub.txt", "wb").write(b"local in sub\n")
        with open(root / "change.txt", "ab") as f:
            f.write(b"local\n")
        os.unlink(root / "remove.txt")
        os.rename(root / "moved", root / "moved-away")
        fd = os.open(root / "dir" / "open.txt", os.O_RDWR | os.O_CREAT, 0o644)
        os.write(fd, b"open across the commit")

        files.update({"remote.txt": b"remote\n", "change.txt": b"server 2\n",
                      "dir/other.txt": b"other 2\n", "dir/sub/remote-in-sub.txt": b"r\n",
                      "moved/remote-m.txt": b"rm\n"})
        write_tree(source, files)
        builder.commit_directory(str(data), repo_id, source)
        deadline = time.monotonic() + 30
        while not (root / "remote.txt").exists():
            assert time.monotonic() < deadline, "the remote commit did not show"
            time.sleep(0.1)
        os.write(fd, b", still")
        os.close(fd)
        expected = {"remote.txt": b"remote\n", "keep.txt": b"keep\n",
                    "change.txt": b"server 1\nlocal\n",  # the local change stays on top
                    "remove.txt": None, "local.txt": b"local\n",
                    "dir/other.txt": b"other 2\n", "dir/sub/inner.txt": b"inner\n",
                    "dir/sub/remote-in-sub.txt": b"r\n",
                    "dir/sub/local-in-sub.txt": b"local in sub\n",
                    "dir/open.txt": b"open across the commit, still",
                    "moved": None, "moved-away/m.txt": b"m\n",
                    "moved-away/remote-m.txt": None}
        check_files(root, expected)
        assert sorted(os.listdir(root / "moved-away")) == ["m.txt"]
        # Remounted, the changes go up at once (they waited long enough) and the server merges:
        # ours of change.txt becomes a conflict copy, and 'moved' (deleted here, changed there)
        # stays with everything it held. Nothing written on either side is missing.
        old_head = uploadkit.head_of(server, repo_id)
        remount(mount)
        uploadkit.wait_head_moves(server, repo_id, old_head)
        tree = uploadkit.server_tree(server, repo_id)
        copies = uploadkit.conflict_copies(tree, "change.txt")
        assert len(copies) == 1, sorted(tree)
        expected.update({"change.txt": b"server 2\n", copies[0]: b"server 1\nlocal\n",
                         "moved/m.txt": b"m\n", "moved/remote-m.txt": b"rm\n", "moved": "dir"})
        uploadkit.wait_for(lambda: (root / copies[0]).exists(), 30, "the merge showing")
        check_files(root, expected)
    finally:
        mount.stop()
        server.stop()


# --- durability and the cache limit ------------------------------------------------------------


def test_closed_and_fsynced_files_survive_a_crash(mounted):
    root = mounted.path(LIB)
    with open(root / "closed.txt", "wb") as f:
        f.write(b"closed before the crash")
    with open(root / "README.txt", "r+b") as f:
        f.write(b"README")
    os.truncate(root / "one-byte.bin", 3)
    os.mkdir(root / "made")
    os.rename(root / "copies", root / "made" / "copies")
    fd = os.open(root / "synced.bin", os.O_RDWR | os.O_CREAT, 0o644)
    os.pwrite(fd, b"fsynced, still open", 1000)
    os.fsync(fd)
    mounted.kill()
    try:
        os.close(fd)
    except OSError:
        pass  # the mount is gone
    mounted.start()
    check_files(root, {"closed.txt": b"closed before the crash",
                       "README.txt": b"README" + demo_readme()[6:],
                       "one-byte.bin": bytes(3), "copies": None,
                       "made/copies/one.txt": b"identical content\n",
                       "synced.bin": bytes(1000) + b"fsynced, still open"})


def demo_readme():
    return b"seafs demo library: nested directories, unicode names, empty entries.\n"


def test_staged_data_is_kept_beyond_the_cache_limit(fresh_small_demo_server, mount_factory):
    server, _ = fresh_small_demo_server
    mount = mount_factory(server, poll_interval=0, cache_size="8M")
    root = mount.path(LIB)
    data = random.Random(7).randbytes(24 << 20)
    with open(root / "bigger-than-the-cache.bin", "wb") as f:
        f.write(data)
    with open(root / BIG, "r+b") as f:  # rewritten in full
        f.write(data[:BIG_SIZE])
    # reading other files needs cache room: what is staged stays
    assert len(mount.path("Many Files", "group-00", "dir-0000", "file-00.txt").read_bytes()) > 0
    check_before_and_after_remount(mount, LIB, {"bigger-than-the-cache.bin": data,
                                               BIG: data[:BIG_SIZE]})


# --- editing a large server file ----------------------------------------------------------------

def test_editing_a_large_file_downloads_nothing(fresh_small_demo_server, mount_factory, demo_source):
    server, ids = fresh_small_demo_server
    mount = mount_factory(server, poll_interval=0, readahead="128K")
    path = mount.path(LIB, BIG)
    _, blocks = file_layout(server, ids[LIB], "/" + BIG)
    block_id, start, size = max(blocks, key=lambda b: b[2])
    offset = start + size // 2 // 4096 * 4096
    patch = bytes(range(256)) * 16
    os.stat(path)
    server.reset_counters()
    fd = os.open(path, os.O_RDWR)
    assert os.pwrite(fd, patch, offset) == 4096
    os.fsync(fd)
    os.close(fd)
    assert os.stat(path).st_size == BIG_SIZE
    assert block_gets(server) == {}, "the write downloaded blocks"
    remount(mount)
    server.reset_counters()
    with open(path, "rb", buffering=0) as f:
        f.seek(offset)
        assert f.read(4096) == patch
    fetched = block_gets(server)
    # Nothing else: the upload that follows the remount re-chunks the edited block (so it
    # needs that one), and read-ahead may fetch the one after it.
    following = [b[0] for b in blocks if b[1] == start + size]
    assert set(fetched) <= {block_id, *following}, fetched
    # the rest of the file is still the server's
    expected = bytearray((demo_source / BIG).read_bytes())
    expected[offset:offset + 4096] = patch
    assert path.read_bytes() == bytes(expected)
    assert block_bytes(server, ids[LIB], block_id)[size // 2 // 4096 * 4096:][:16] != patch[:16]
