"""Plaintext lengths of encrypted files kept in the cache (fs/read/plain_lengths.c): a block's
plaintext length is known only once its padding was decrypted, so placing a read in the middle
of an encrypted multi-block file costs the blocks before (or after) it -- once. The lengths
learned are kept (meta.db, kind 5, keyed by the file id), so after a remount with the block files
gone, or after the blocks were evicted, such a read downloads only the block holding it. Kept
lengths that are wrong are caught (by the checks at open, or by the block's own padding) and
the bytes read stay right. A fold of an edited encrypted file takes the base's offsets from the
kept lengths (no base block downloaded to learn them) and keeps its result's lengths."""

import json
import os
import pathlib
import shutil
import sqlite3
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "server"))

from mount_fixture import (block_gets, crc32c, file_layout, fresh_small_demo_server,  # noqa: E402
                           mount_factory, small_demo_server, unlock)
from seafserver import demo  # noqa: E402
from uploadkit import head_of, wait_head_moves, wait_quiet  # noqa: E402

assert mount_factory and small_demo_server and fresh_small_demo_server  # fixtures, by name
LIBRARY = "Encrypted v4 pbkdf2"
NAME = "multi-block.bin"
LENGTHS = [7066363, 10485760, 8435079, 239543]  # plaintext lengths of its blocks (demo.py)
PLAIN_LENGTHS_KIND = 5  # CACHE_KIND_PLAIN_LENGTHS
READ = 4096


@pytest.fixture(scope="module")
def expected(tmp_path_factory):
    """The plaintext of multi-block.bin."""
    root = tmp_path_factory.mktemp("source") / LIBRARY
    demo.write_source(LIBRARY, root)
    data = (root / NAME).read_bytes()
    assert len(data) == sum(LENGTHS)
    return data


def layout_of(server):
    """(file id, [(block id, stored size)]) of multi-block.bin at the head."""
    file_id, blocks = file_layout(server, demo.demo_repo_id(LIBRARY), "/" + NAME)
    for (_, _, stored), plain in zip(blocks, LENGTHS):
        assert stored - 16 <= plain < stored
    return file_id, [(block_id, stored) for block_id, _, stored in blocks]


def holding_block(blocks, offset, lengths=LENGTHS):
    start = 0
    for (block_id, _), length in zip(blocks, lengths):
        if offset < start + length:
            return block_id
        start += length
    raise AssertionError("offset %d is past the end" % offset)


def read_at(path, offset, size=READ):
    with open(path, "rb", buffering=0) as f:
        f.seek(offset)
        return f.read(size)


def kept_lengths(mount, file_id):
    """The record kept for file_id (a list, 0 = unknown), or None."""
    db = sqlite3.connect(mount.cache_dir / "meta.db")
    try:
        row = db.execute("SELECT lz4, data FROM objects WHERE kind = ? AND id = ?",
                         (PLAIN_LENGTHS_KIND, file_id)).fetchone()
    finally:
        db.close()
    if row is None:
        return None
    assert row[0] == 0, "a record of 4 lengths is stored as it is (lz4 would not shrink it)"
    return json.loads(bytes(row[1]))


def rewrite_record(mount, file_id, data, checksum=True):
    """Replaces the bytes of file_id's record (which must exist) while the mount is stopped;
    with a checksum that matches them unless checksum is False."""
    db = sqlite3.connect(mount.cache_dir / "meta.db")
    with db:
        (crc,) = db.execute("SELECT crc FROM objects WHERE kind = ? AND id = ?",
                            (PLAIN_LENGTHS_KIND, file_id)).fetchone()
        db.execute("UPDATE objects SET lz4 = 0, plain_len = ?, crc = ?, data = ?"
                   " WHERE kind = ? AND id = ?",
                   (len(data), crc32c(data) if checksum else crc, data, PLAIN_LENGTHS_KIND,
                    file_id))
    db.close()


def unlocked_mount(server, mount_factory, **options):
    """A mount (no read-ahead, no polling) with the library unlocked, and the file's path."""
    mount = mount_factory(server, readahead=0, poll_interval=0, **options)
    assert unlock(mount, LIBRARY).returncode == 0
    return mount, mount.path(LIBRARY, NAME)


def remount_without_blocks(mount):
    """Stops the mount, deletes the cached block files (the metadata stays) and mounts again,
    unlocked."""
    assert mount.stop() == ""
    shutil.rmtree(mount.cache_dir / "blocks")
    mount.start()
    assert unlock(mount, LIBRARY).returncode == 0


def test_a_cold_read_in_the_middle_after_a_remount_fetches_only_its_block(small_demo_server,
                                                                         mount_factory,
                                                                         expected):
    """The first mount learns block 0's length to place a read in block 1 (two downloads); the
    lengths are kept, so after a remount with no block cached the same read, and one elsewhere
    in block 1, download block 1 alone."""
    server, _ = small_demo_server
    file_id, blocks = layout_of(server)
    middle = len(expected) // 2
    mount, path = unlocked_mount(server, mount_factory)
    server.reset_counters()
    assert read_at(path, middle) == expected[middle:middle + READ]
    assert set(block_gets(server)) == {blocks[0][0], blocks[1][0]}
    remount_without_blocks(mount)
    assert kept_lengths(mount, file_id) == LENGTHS[:2] + [0, 0]
    server.reset_counters()
    assert read_at(path, middle) == expected[middle:middle + READ]
    assert block_gets(server) == {holding_block(blocks, middle): 1}
    later = middle + (1 << 20)
    assert read_at(path, later) == expected[later:later + READ]
    assert block_gets(server) == {holding_block(blocks, middle): 1}


def wait_kept(mount, file_id, count):
    """Waits until the first count lengths of file_id are kept: the release of the file closed
    last (the kernel sends it after close() returned) has been handled."""
    deadline = time.monotonic() + 10
    while not all((kept_lengths(mount, file_id) or [0])[:count]):
        assert time.monotonic() < deadline, kept_lengths(mount, file_id)
        time.sleep(0.05)


def test_lengths_outlive_the_blocks_evicted_from_a_small_cache(small_demo_server, mount_factory,
                                                               expected):
    """With a cache that holds about one block, blocks 0 and 1 are gone from it after a read
    in block 2; a read in block 1 opened afresh is placed from the kept lengths: one download."""
    server, _ = small_demo_server
    file_id, blocks = layout_of(server)
    mount, path = unlocked_mount(server, mount_factory, cache_size="12M")
    first = len(expected) // 2
    assert read_at(path, first) == expected[first:first + READ]
    wait_kept(mount, file_id, 2)
    elsewhere = sum(LENGTHS[:2]) + 4096  # block 2: it takes the room of the blocks before
    assert read_at(path, elsewhere) == expected[elsewhere:elsewhere + READ]
    wait_kept(mount, file_id, 3)
    server.reset_counters()
    second = first + (1 << 20)  # not in the kernel's page cache
    assert read_at(path, second) == expected[second:second + READ]
    assert block_gets(server) == {blocks[1][0]: 1}


def encoded(lengths):
    return json.dumps(lengths, separators=(",", ":")).encode()


# How a kept record can be wrong, and what tells.
P0, P1, P2, P3 = LENGTHS
WRONG_RECORDS = [
    ("a length not below its block's stored size", encoded([P0, P1, P2, P3 + 9]),
     "cannot be right"),
    ("lengths that do not add up to the file size", encoded([P0, P1, P2, P3 + 1]),
     "cannot be right"),
    ("a record of the wrong count", encoded([P0, P1]), "malformed"),
    ("a damaged row (its checksum fails)", None, None),
    # Each in range and the total right; block 1 starts a byte early and its padding tells.
    ("two wrong lengths that compensate", encoded([P0 - 1, P1 + 1, P2, P3]), "was wrong"),
    # Fits while block 1 is unknown; its padding makes the total one byte short.
    ("a partial record that stops adding up", encoded([P0 - 1, 0, P2, P3]), "was wrong"),
]


def test_wrong_kept_lengths_are_caught_and_reads_stay_right(small_demo_server, mount_factory,
                                                            expected):
    """A full read keeps every length; then, one after another, the record is made wrong in
    each way above (with a matching checksum, except for the damaged row) and the block files
    deleted: a read in the middle returns the right bytes, learning block 0's length again
    (two downloads), and the record afterwards holds right lengths only."""
    server, _ = small_demo_server
    file_id, blocks = layout_of(server)
    middle = len(expected) // 2
    mount, path = unlocked_mount(server, mount_factory)
    assert path.read_bytes() == expected
    assert mount.stop() == ""
    assert kept_lengths(mount, file_id) == LENGTHS
    for what, record, message in WRONG_RECORDS:
        if record is None:
            rewrite_record(mount, file_id, encoded([P0 + 1, P1, P2, P3]), checksum=False)
        else:
            rewrite_record(mount, file_id, record)
        log_size = mount.log_path.stat().st_size
        shutil.rmtree(mount.cache_dir / "blocks")
        mount.start()
        assert unlock(mount, LIBRARY).returncode == 0
        server.reset_counters()
        assert read_at(path, middle) == expected[middle:middle + READ], what
        assert set(block_gets(server)) == {blocks[0][0], blocks[1][0]}, what
        if message:
            assert message in mount.log_path.read_text()[log_size:], what
        assert mount.stop() == ""
        kept = kept_lengths(mount, file_id)
        assert kept[:2] == LENGTHS[:2], what
        assert all(k in (0, want) for k, want in zip(kept, LENGTHS)), (what, kept)


def test_a_fold_takes_the_base_offsets_from_kept_lengths_and_keeps_its_own(
        fresh_small_demo_server, mount_factory, expected):
    """An edit in block 0 of the encrypted file, uploaded after a remount with no block cached:
    the fold places the base's blocks from the kept lengths, so block 0 (whose bytes it
    re-chunks) is the only download; the new version's lengths are kept too, so a cold read in
    its middle after another remount downloads one block."""
    server, _ = fresh_small_demo_server
    repo_id = demo.demo_repo_id(LIBRARY)
    file_id, blocks = layout_of(server)
    mount, path = unlocked_mount(server, mount_factory, upload_delay=0)
    assert path.read_bytes() == expected
    remount_without_blocks(mount)
    base = head_of(server, repo_id)
    server.reset_counters()
    patch, offset = os.urandom(READ), 100
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, patch, offset)
    finally:
        os.close(fd)
    wait_head_moves(server, repo_id, base)
    wait_quiet(server)
    assert block_gets(server) == {blocks[0][0]: 1}
    edited = expected[:offset] + patch + expected[offset + READ:]
    new_id, new_blocks = file_layout(server, repo_id, "/" + NAME)
    assert new_id != file_id
    assert [b[0] for b in new_blocks[-3:]] == [b[0] for b in blocks[1:]]  # reused
    remount_without_blocks(mount)
    kept = kept_lengths(mount, new_id)
    assert kept and all(kept) and sum(kept) == len(edited), kept
    middle = len(edited) // 2
    server.reset_counters()
    assert read_at(path, middle) == edited[middle:middle + READ]
    assert read_at(path, offset) == patch
    gets = block_gets(server)
    assert gets == {holding_block(blocks, middle): 1, new_blocks[0][0]: 1}, gets
