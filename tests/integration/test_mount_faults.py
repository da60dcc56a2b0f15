"""Faults between a seafs mount and its server (the reference server's fault injection): added
latency, 503 bursts, connections reset mid-body and a corrupted block once are retried or
reported as EIO, never as wrong bytes; a block that is always corrupted reads as EIO and is not
cached; a stalled download ends within the timeout instead of hanging the reader."""

import errno
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (block_gets, file_layout, mount_factory,  # noqa: E402
                           read_with_bound)
from seafserver.testing import VECTORS_DIR  # noqa: E402
from seafserver.vectors import DOCS_REPO_ID  # noqa: E402

assert mount_factory  # a fixture, used by name
VECTORS = pathlib.Path(VECTORS_DIR)
PLAIN_DOCS = VECTORS / "plain" / "Docs"
DOCS_ID = DOCS_REPO_ID
TIMEOUTS = {"connect_timeout": 2, "timeout": 3}
# Upper bound for any read under faults (timeouts plus retries plus a loaded machine).
READ_BOUND_S = 60
FILES = ["exact-1MiB.bin", "1MiB-plus-1.bin", "photos 2024/note 020 \u00e9t\u00e9.md",
         "R\u00e9sum\u00e9 \u00fc.txt"]

# name -> fault spec whose requests must end in the right bytes or EIO.
TRANSIENT_FAULTS = {
    "latency": {"latency_ms": 150},
    "503-burst-blocks": {"error": {"status": 503, "count": 2, "match": "/block/"}},
    "503-burst-pack-fs": {"error": {"status": 503, "count": 2, "match": "pack-fs"}},
    "reset-mid-body": {"reset": {"count": 2, "match": "/block/", "at": 0.5}},
    "corrupt-once": {"corrupt_block": {"count": 1}},
}
# Faults that a retry must overcome (the net layer retries them): the bytes must be right.
MUST_RETRY = {"latency", "503-burst-blocks", "503-burst-pack-fs", "reset-mid-body"}


def read_checked(mount, rel):
    """The bytes read from the mount (None on an I/O error); never different from the source."""
    data, error = read_with_bound(mount.path("Docs", rel), READ_BOUND_S)
    if data is None:
        assert error.errno == errno.EIO, "%s: %s" % (rel, error)
        return None
    assert data == (PLAIN_DOCS / rel).read_bytes(), "%s: wrong bytes under a fault" % rel
    return data


@pytest.mark.parametrize("fault", sorted(TRANSIENT_FAULTS))
def test_transient_fault_never_gives_wrong_bytes(fault, fault_server, mount_factory):
    mount = mount_factory(fault_server, **TIMEOUTS)
    fault_server.set_faults(**TRANSIENT_FAULTS[fault])
    results = {rel: read_checked(mount, rel) for rel in FILES}
    if fault in MUST_RETRY:
        failed = sorted(rel for rel, data in results.items() if data is None)
        assert not failed, "%s: EIO instead of a retry for %s\n%s" % (fault, failed,
                                                                      mount.log_tail())
    fault_server.clear_faults()
    for rel in FILES:
        assert read_checked(mount, rel) is not None


def test_corrupted_block_is_eio_and_not_cached(fault_server, mount_factory):
    mount = mount_factory(fault_server, **TIMEOUTS)
    rel = "exact-1MiB.bin"
    _, blocks = file_layout(fault_server, DOCS_ID, "/" + rel)
    assert len(blocks) == 1
    block_id = blocks[0][0]
    fault_server.set_faults(corrupt_block={"block_id": block_id})
    data, error = read_with_bound(mount.path("Docs", rel), READ_BOUND_S)
    assert data is None, "a corrupted block was returned as file content"
    assert error.errno == errno.EIO, error
    assert os.getxattr(mount.path("Docs", rel), "user.seafs.cached") == b"0"
    fault_server.clear_faults()
    fault_server.reset_counters()
    assert read_checked(mount, rel) is not None
    assert block_gets(fault_server).get(block_id, 0) >= 1, "the corrupted block was cached"


def test_stalled_download_fails_within_the_timeout(fault_server, mount_factory):
    mount = mount_factory(fault_server, **TIMEOUTS)
    rel = "1MiB-plus-1.bin"
    mount.path("Docs", rel).stat()
    fault_server.set_faults(stall={"after_bytes": 10, "match": "/block/"})
    try:
        data, error = read_with_bound(mount.path("Docs", rel), READ_BOUND_S)
    finally:
        fault_server.clear_faults()  # releases the stalled responses
    assert data is None, "a stalled block download returned content"
    assert error.errno == errno.EIO, error
    assert read_checked(mount, rel) is not None
