"""A seafs mount without its server: it starts from the cached metadata when the server process
is down, cached files read normally, uncached reads fail with EIO (or EHOSTDOWN) within the
timeout instead of hanging, and once the server is back the same mount reads everything again
without a remount. A file of several blocks read only in part still opens offline (its block
map was cached)."""

import errno
import os
import pathlib
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (assert_same_tree, demo_data, demo_server, file_differs,  # noqa: E402
                           mount_factory, read_with_bound, vector_empty_dirs)
from seafserver import demo  # noqa: E402
from seafserver.testing import VECTORS_DIR  # noqa: E402

assert mount_factory  # a fixture, used by name
VECTORS = pathlib.Path(VECTORS_DIR)
PLAIN_DOCS = VECTORS / "plain" / "Docs"
TIMEOUTS = {"connect_timeout": 2, "timeout": 3}
# A failing read must return within the timeouts plus this much (generous: a loaded machine).
ERROR_BOUND_S = 45
# After the server is back, how long the mount may take to use it again.
RECOVERY_BOUND_S = 60
CACHED = ["exact-4096.bin", "one-byte.bin", "photos 2024/file-012.txt"]
UNCACHED = ["exact-1MiB.bin", "1MiB-plus-1.bin"]
OFFLINE_ERRORS = (errno.EIO, errno.EHOSTDOWN)


def assert_offline_error(path):
    data, error = read_with_bound(path, ERROR_BOUND_S)
    assert data is None, "an uncached read without server returned %d bytes" % len(data)
    assert error.errno in OFFLINE_ERRORS, error


def warm_up(mount):
    """Lists the whole Docs tree (metadata into the cache) and reads the CACHED files."""
    listing = sorted(str(p.relative_to(mount.path("Docs"))) for p in mount.path("Docs").rglob("*"))
    for rel in CACHED:
        assert not file_differs(PLAIN_DOCS / rel, mount.path("Docs", rel))
    return listing


def test_offline_start_reads_cached_files(fault_server, mount_factory):
    mount = mount_factory(fault_server, **TIMEOUTS)
    listing = warm_up(mount)
    assert mount.stop() == ""

    fault_server.stop()
    mount.start()
    assert "Docs" in os.listdir(mount.mountpoint)
    assert sorted(str(p.relative_to(mount.path("Docs")))
                  for p in mount.path("Docs").rglob("*")) == listing
    for rel in CACHED:
        assert not file_differs(PLAIN_DOCS / rel, mount.path("Docs", rel))
    assert_offline_error(mount.path("Docs", UNCACHED[0]))

    fault_server.start()
    assert_reads_again(mount, UNCACHED[0])


def test_server_loss_while_mounted(fault_server, mount_factory):
    mount = mount_factory(fault_server, **TIMEOUTS)
    warm_up(mount)
    fault_server.unreachable()
    for rel in CACHED:
        assert not file_differs(PLAIN_DOCS / rel, mount.path("Docs", rel))
    for rel in UNCACHED:
        assert_offline_error(mount.path("Docs", rel))
    fault_server.reachable()
    for rel in UNCACHED:
        assert_reads_again(mount, rel)
    assert_same_tree(PLAIN_DOCS, mount.path("Docs"), check_mtimes=False,
                     extra_empty_dirs=vector_empty_dirs("Docs"))


def assert_reads_again(mount, rel):
    """The file reads correctly within RECOVERY_BOUND_S of the server coming back (earlier
    attempts may still fail with an offline error, never with wrong bytes)."""
    expected = (PLAIN_DOCS / rel).read_bytes()
    deadline = time.monotonic() + RECOVERY_BOUND_S
    while time.monotonic() < deadline:
        data, error = read_with_bound(mount.path("Docs", rel), ERROR_BOUND_S)
        if data is not None:
            assert data == expected, "%s: wrong bytes after the server came back" % rel
            return
        assert error.errno in OFFLINE_ERRORS, error
        time.sleep(1)
    pytest.fail("%s still unreadable %d s after the server came back\n%s"
                % (rel, RECOVERY_BOUND_S, mount.log_tail()))



def test_partly_cached_multi_block_file_opens_offline(tmp_path, mount_factory):
    """A file of several blocks of which only the first was read: its block map was cached with
    it, so offline the file still opens, the cached part reads, and only the uncached part
    fails (offline error, not wrong bytes)."""
    data, _ = demo_data(small=True)
    server = demo_server(data, tmp_path / "server")
    try:
        mount = mount_factory(server, readahead=0, **TIMEOUTS)
        rel = ("Demo", "large", "twelve-MiB.bin")
        source = tmp_path / "source"
        demo.write_source("Demo", source)
        expected = (source / "large" / "twelve-MiB.bin").read_bytes()
        with open(mount.path(*rel), "rb") as f:
            assert f.read(1 << 20) == expected[:1 << 20]
        assert mount.stop() == ""
        server.stop()
        mount.start()
        with open(mount.path(*rel), "rb") as f:
            assert f.read(1 << 20) == expected[:1 << 20]
        fd = os.open(mount.path(*rel), os.O_RDONLY)
        try:
            with pytest.raises(OSError) as error:
                os.pread(fd, 4096, len(expected) - 4096)
            assert error.value.errno in OFFLINE_ERRORS, error.value
        finally:
            os.close(fd)
    finally:
        server.stop()
