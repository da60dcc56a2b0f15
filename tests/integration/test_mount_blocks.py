"""Lazy block reads through a seafs mount, checked with the reference server's block counters:
a 4 KiB read deep inside the full demo's 256 MiB file downloads exactly the block holding it,
eight concurrent readers of one file download every block once, and after a remount over the
same cache the file reads back without any block request, opening each cached block only a few
times (the kernel's concurrent read-ahead requests and the read-ahead window do not reopen it at
every read), and the block files a few blocks ahead of a sequential reader are read from the disk
before it gets there, those farther away are not."""

import ctypes
import hashlib
import json
import mmap
import os
import pathlib
import sys
import threading
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (block_bytes, block_gets, ctl, demo_data, demo_server,  # noqa: E402
                           file_layout, file_sha1, mount_factory)

assert mount_factory  # a fixture, used by name
BIG_LIBRARY, BIG_FILE = "Big File", "random-256MiB.bin"
READERS = 8
# Generous bound for reading the whole file; only there so a deadlock fails instead of hanging.
READ_TIMEOUT_S = 300
# Cache opens a warm sequential read may make per block: at open (its size), ahead of the reader
# (network read-ahead, then the disk read ahead), and the reader's own, twice when two
# concurrent requests open it at once. Before the window and the blocks kept open were fixed it
# was about 10 (286 for 28 blocks).
OPENS_PER_BLOCK = 6
# fs/read/file.c DISK_AHEAD: cached blocks starting this far past a sequential read are read
# from the disk ahead of it.
DISK_AHEAD = 24 << 20
PRELOAD_WAIT_S = 10


@pytest.fixture(scope="module")
def full_demo(tmp_path_factory):
    """(server, repo id of "Big File", [(block id, offset, size)] of its big file, the SHA-1 of
    the file's bytes as stored on the server)."""
    data, ids = demo_data(small=False)
    server = demo_server(data, tmp_path_factory.mktemp("full-demo-server"))
    try:
        repo_id = ids[BIG_LIBRARY]
        _, blocks = file_layout(server, repo_id, "/" + BIG_FILE)
        digest = hashlib.sha1()
        for block_id, _, _ in blocks:
            digest.update(block_bytes(server, repo_id, block_id))
        yield server, repo_id, blocks, digest.hexdigest()
    finally:
        server.stop()


def test_small_read_deep_in_a_big_file_fetches_only_its_block(full_demo, mount_factory):
    server, repo_id, blocks, _ = full_demo
    mount = mount_factory(server)
    offset = 200 << 20
    block_id, block_offset, _ = next(b for b in blocks if b[1] <= offset < b[1] + b[2])
    fd = os.open(mount.path(BIG_LIBRARY, BIG_FILE), os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)  # no kernel read-ahead
        server.reset_counters()
        data = os.pread(fd, 4096, offset)
    finally:
        os.close(fd)
    want = block_bytes(server, repo_id, block_id)[offset - block_offset:][:4096]
    assert data == want
    assert block_gets(server) == {block_id: 1}


def test_parallel_readers_download_each_block_once(full_demo, mount_factory):
    server, _, blocks, want = full_demo
    mount = mount_factory(server)
    path = mount.path(BIG_LIBRARY, BIG_FILE)
    os.stat(path)
    server.reset_counters()
    barrier = threading.Barrier(READERS)
    digests, errors = [], []

    def read():
        try:
            barrier.wait()
            digests.append(file_sha1(path))
        except Exception as exc:  # reported below with the others
            errors.append(exc)

    threads = [threading.Thread(target=read, daemon=True) for _ in range(READERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(READ_TIMEOUT_S)
    assert not any(t.is_alive() for t in threads), "readers still blocked after %d s\n%s" % (
        READ_TIMEOUT_S, mount.log_tail())
    assert not errors, errors
    assert digests == [want] * READERS
    gets = block_gets(server)
    assert set(gets) == {b[0] for b in blocks}
    assert {k: v for k, v in gets.items() if v != 1} == {}


def remounted_after_a_full_read(server, mount_factory, want):
    """A mount that read the big file whole (checked against want), then was remounted: the file
    is in the cache, nothing of it in the kernel's page cache. Returns (mount, path)."""
    mount = mount_factory(server)
    path = mount.path(BIG_LIBRARY, BIG_FILE)
    assert file_sha1(path) == want
    assert mount.stop() == ""
    mount.start()
    return mount, path


def test_remount_reads_from_the_cache_without_block_requests(full_demo, mount_factory):
    server, _, _, want = full_demo
    mount, path = remounted_after_a_full_read(server, mount_factory, want)
    server.reset_counters()
    assert file_sha1(path) == want
    assert block_gets(server) == {}


def cache_hits(mount):
    done = ctl("status", mount.mountpoint, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["cache"]["hits"]


def test_warm_sequential_read_opens_each_cached_block_a_few_times(full_demo, mount_factory):
    server, _, blocks, want = full_demo
    mount, path = remounted_after_a_full_read(server, mount_factory, want)
    os.stat(path)
    server.reset_counters()
    before = cache_hits(mount)
    assert file_sha1(path) == want
    opens = cache_hits(mount) - before
    assert block_gets(server) == {}
    assert opens <= OPENS_PER_BLOCK * len(blocks), \
        "%d cache opens for %d blocks" % (opens, len(blocks))


def block_file(mount, block_id):
    return pathlib.Path(mount.cache_dir, "blocks", block_id[:2], block_id)


def evict(path):
    """Drops the file's pages from the page cache (written back first)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def resident_share(path):
    """The share of the file's pages in the page cache (mincore of an untouched mapping)."""
    size = os.path.getsize(path)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int,
                          ctypes.c_int, ctypes.c_long]
    libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p]
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vec = ctypes.create_string_buffer(pages)
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
        try:
            assert libc.mincore(addr, size, vec) == 0, ctypes.get_errno()
        finally:
            libc.munmap(addr, size)
    finally:
        os.close(fd)
    return sum(b & 1 for b in vec.raw) / pages


def test_sequential_reader_has_cached_blocks_read_from_disk_ahead(full_demo, mount_factory):
    server, _, blocks, want = full_demo
    mount, path = remounted_after_a_full_read(server, mount_factory, want)
    os.stat(path)
    for block_id, _, _ in blocks:
        evict(block_file(mount, block_id))
    if resident_share(block_file(mount, blocks[2][0])) > 0.5:
        pytest.skip("the cache's filesystem keeps its files in memory")
    read_end = 3 << 20
    with open(path, "rb", buffering=0) as f:
        while f.tell() < read_end:
            f.read(1 << 20)
        ahead = [b for b in blocks if read_end < b[1] < read_end + DISK_AHEAD]
        far = [b for b in blocks if b[1] > read_end + 3 * DISK_AHEAD]
        assert ahead and far
        deadline = time.monotonic() + PRELOAD_WAIT_S
        while (min(resident_share(block_file(mount, b[0])) for b in ahead) < 1 and
               time.monotonic() < deadline):
            time.sleep(0.05)
        shares = [resident_share(block_file(mount, b[0])) for b in ahead]
        assert min(shares) == 1, shares
        # Farther blocks are only opened (their trailers read), not read ahead.
        assert max(resident_share(block_file(mount, b[0])) for b in far) < 0.5
