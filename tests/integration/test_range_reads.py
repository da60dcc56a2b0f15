"""Byte-range reads (fs/read/range_read.h, README "Range reads"), checked with the reference
server's counters: on a slow link a cold 4 KiB read deep in a large file fetches a range through
a download link and no block (so do later isolated reads, and a read 120 KiB past another: no
read-ahead either); a fast link, range_reads=off, sequential reads and encrypted libraries fetch
whole blocks; a file changed on the server while open never yields bytes of the other version;
a download link that is refused or answers for another version falls back to the block; so does
an answer that fails verification (another total size or range, a short or cut body, a reset),
a server that ignores Range (its 200 is cut off, and ranges pause mount-wide) and Seahub's 520
for a missing folder (not retried). On a slow link a folder scan fetches only small files
ahead, and the kernel's next read-ahead window waits for the one before it: dropped when the
reader closes the file meanwhile, sent after it when the reader reads on."""

import contextlib
import hashlib
import http.client
import json
import os
import pathlib
import random
import socket
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (PASSWORD, USER, block_bytes, block_gets, file_layout,  # noqa: E402
                           mount_factory, small_demo_server, unlock)
from seafserver import builder, demo  # noqa: E402
from seafserver.observe import sequential_round_trips  # noqa: E402
from seafserver.testing import SeafServer  # noqa: E402

assert mount_factory and small_demo_server  # fixtures, used by name
LARGE = ("Demo", "large", "twelve-MiB.bin")
# 10 Mbit/s and 150 ms more per request: a whole 10 MiB block would take 8 s and more.
SLOW_LINK = {"latency_ms": 150, "bandwidth_bps": 1_250_000}
# Far but not narrow: fast to test, yet a read with nothing measured guesses it slow.
FAR_LINK = {"latency_ms": 150}
RANGE_UNIT = 128 << 10


@contextlib.contextmanager
def opened_for_random_reads(path):
    """A descriptor of path whose reads the kernel does not widen (no read-ahead)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_RANDOM)
        yield fd
    finally:
        os.close(fd)


def read_at(path, offset, size=4096):
    """One cold read through a descriptor of its own."""
    with opened_for_random_reads(path) as fd:
        return os.pread(fd, size, offset)


def seahub_links(server):
    """Download links handed out since the last counter reset."""
    return server.counters()["by_route"].get("GET api2/file", 0)


def file_bytes(server, repo_id, path):
    _, blocks = file_layout(server, repo_id, path)
    return b"".join(block_bytes(server, repo_id, b[0]) for b in blocks), blocks


@pytest.fixture
def slow_server(small_demo_server):
    """The small demo server with faults cleared after the test."""
    server, ids = small_demo_server
    yield server, ids
    server.clear_faults()


def large_file_on_a_slow_link(slow_server, mount_factory):
    """(server, content, blocks, path) of the 12 MiB file on a fresh mount over SLOW_LINK (no
    polling), the path looked up and the counters reset."""
    server, ids = slow_server
    content, blocks = file_bytes(server, ids["Demo"], "/large/twelve-MiB.bin")
    server.set_faults(**SLOW_LINK)
    mount = mount_factory(server, poll_interval=0)
    path = mount.path(*LARGE)
    os.stat(path)
    wait_until_quiet(server)
    return server, content, blocks, path


def wait_until_quiet(server, quiet_s=0.4, timeout=10):
    """Resets the counters once the mount's background requests (the library's folders fetched
    after its first lookup) are over: none for quiet_s."""
    deadline = time.monotonic() + timeout
    while True:
        server.reset_counters()
        time.sleep(quiet_s)
        if server.counters()["requests"] == 0 or time.monotonic() > deadline:
            return


def test_cold_small_read_on_a_slow_link_fetches_a_range(slow_server, mount_factory):
    server, content, blocks, path = large_file_on_a_slow_link(slow_server, mount_factory)
    offset = (6 << 20) + 12345
    with opened_for_random_reads(path) as fd:
        started = time.monotonic()
        assert os.pread(fd, 4096, offset) == content[offset:offset + 4096]
        took = time.monotonic() - started
        counters = server.counters()
        assert block_gets(server) == {}, "a whole block was downloaded"
        assert counters["range_gets"] == 1 and seahub_links(server) == 1
        assert counters["range_bytes"] < 2 * RANGE_UNIT
        assert took < 4, "the range read took %.1f s" % took
        # A page in another block, far away: a range of its own, through the same (reusable)
        # link. Then bytes of the first range again: from the handle's ranges, no request.
        server.reset_counters()
        far = blocks[1][1] + 4096
        assert os.pread(fd, 4096, far) == content[far:far + 4096]
        counters = server.counters()
        assert (counters["range_gets"], seahub_links(server), block_gets(server)) == (1, 0, {})
        server.reset_counters()
        assert os.pread(fd, 4096, offset + 100) == content[offset + 100:offset + 4196]
        assert server.counters()["requests"] == 0
        # Back in the first block, elsewhere: one range is far cheaper than the 10 MiB block
        # still, so a range again.
        again = (2 << 20) + 777
        assert os.pread(fd, 4096, again) == content[again:again + 4096]
        counters = server.counters()
        assert (counters["range_gets"], block_gets(server)) == (1, {})


def test_cold_head_on_a_slow_link_costs_two_round_trips_and_the_bytes_read(slow_server,
                                                                          mount_factory):
    """`head -c 4096` of a multi-block file whose folder is listed: the file object, its block
    map and its download link are asked for together at open, then one range of what the kernel
    asked for (16 KiB for a 4 KiB head) -- 2 round trips, about 4x the bytes head read. Before:
    4 round trips one after another and a 128 KiB range."""
    server, content, _, path = large_file_on_a_slow_link(slow_server, mount_factory)
    started = time.monotonic()
    done = subprocess.run(["head", "-c", "4096", str(path)], capture_output=True, check=True)
    took = time.monotonic() - started
    assert done.stdout == content[:4096]
    counters = server.counters()
    assert block_gets(server) == {} and counters["range_gets"] == 1
    assert counters["bytes_sent"] <= 4 * 4096 + 2048, "%d bytes sent" % counters["bytes_sent"]
    assert sequential_round_trips(server.log()) == 2, server.log()
    assert took < 4 * 0.150 + 0.3, "%.2f s" % took


def test_cold_page_read_fetches_that_page(slow_server, mount_factory):
    """A 4 KiB read the kernel does not widen (POSIX_FADV_RANDOM) fetches a 4 KiB range, not a
    128 KiB one; a read straddling two pages fetches those two."""
    server, content, _, path = large_file_on_a_slow_link(slow_server, mount_factory)
    with opened_for_random_reads(path) as fd:
        offset = 5 << 20
        assert os.pread(fd, 4096, offset) == content[offset:offset + 4096]
        assert server.counters()["range_gets"] == 1
        assert server.counters()["range_bytes"] < 4096 + 1024  # the body and its headers
        server.reset_counters()
        offset = (7 << 20) + 100
        assert os.pread(fd, 4096, offset) == content[offset:offset + 4096]
        assert server.counters()["range_gets"] == 1
        assert 8192 <= server.counters()["range_bytes"] < 8192 + 1024
    assert block_gets(server) == {}


@pytest.fixture
def photo_on_a_far_link(tmp_path, mount_factory):
    """(server, content, path) of a one-block 3 MiB file, mounted over 40 ms at 50 Mbit/s, its
    folder listed and the counters reset."""
    data = tmp_path / "server"
    builder.add_account(str(data), USER, PASSWORD)
    source = tmp_path / "source"
    source.mkdir()
    content = random.Random(3).randbytes(3 << 20)
    (source / "photo.jpg").write_bytes(content)
    repo_id = builder.create_library(str(data), "Photos", USER, source)
    server = SeafServer(str(data)).start()
    try:
        assert len(file_layout(server, repo_id, "/photo.jpg")[1]) == 1
        server.set_faults(latency_ms=40, bandwidth_bps=6_250_000)
        mount = mount_factory(server, poll_interval=0)
        os.listdir(mount.path("Photos"))
        server.reset_counters()
        yield server, content, mount.path("Photos", "photo.jpg")
    finally:
        server.stop()


def test_small_read_of_a_photo_on_a_far_link_is_a_range(photo_on_a_far_link):
    """At 50 Mbit/s and 40 ms the photo's one 3 MiB block takes 0.5 s, a range one round trip:
    a range (the old rule wanted 0.5 s saved, and fetched the block)."""
    server, content, path = photo_on_a_far_link
    done = subprocess.run(["head", "-c", "4096", str(path)], capture_output=True, check=True)
    assert done.stdout == content[:4096]
    assert block_gets(server) == {}
    assert server.counters()["range_gets"] == 1
    assert server.counters()["bytes_sent"] < 4 * 4096 + 2048


def test_nearby_reads_on_a_far_link_do_not_read_ahead(photo_on_a_far_link):
    """A header, then reads a few hundred KiB further (an image or media probe): at 50 Mbit/s
    that no longer counts as sequential (an 8 MiB block takes 1.3 s there), so ranges, no block
    and nothing fetched ahead."""
    server, content, path = photo_on_a_far_link
    with opened_for_random_reads(path) as fd:
        for offset in (0, 64 << 10, 300 << 10):
            assert os.pread(fd, 4096, offset) == content[offset:offset + 4096]
    time.sleep(0.3)
    assert block_gets(server) == {}
    assert server.counters()["range_gets"] == 3


@pytest.mark.parametrize("faults,options", [({}, {}), (FAR_LINK, {"range_reads": "off"})],
                         ids=["fast link", "range_reads=off"])
def test_cold_small_read_fetches_the_block(slow_server, mount_factory, faults, options):
    """On the loopback link a whole block costs next to nothing more than a range, and
    range_reads=off wants every byte checked against its block id even on a far link: the block
    is fetched, verified and cached."""
    server, ids = slow_server
    content, blocks = file_bytes(server, ids["Demo"], "/large/twelve-MiB.bin")
    server.set_faults(**faults)
    mount = mount_factory(server, **options)
    path = mount.path(*LARGE)
    os.stat(path)
    server.reset_counters()
    offset = (6 << 20) + 12345
    assert read_at(path, offset) == content[offset:offset + 4096]
    assert block_gets(server) == {blocks[0][0]: 1}
    assert server.counters()["range_gets"] == 0 and seahub_links(server) == 0


def test_sequential_reads_fetch_whole_blocks(slow_server, mount_factory):
    """Even with ranges forced, a reader going on from its first read gets whole blocks: only
    that first, isolated read is a range."""
    server, ids = slow_server
    content, blocks = file_bytes(server, ids["Demo"], "/large/twelve-MiB.bin")
    mount = mount_factory(server, range_reads="always")
    path = mount.path(*LARGE)
    os.stat(path)
    server.reset_counters()
    digest = hashlib.sha1()
    with open(path, "rb", buffering=0) as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha1(content).hexdigest()
    assert block_gets(server) == {b[0]: 1 for b in blocks}
    # The first READ is a range; on a busy machine the kernel's first two READs (sent at once)
    # may be handled in the other order, and then each looks like a first read.
    assert server.counters()["range_gets"] <= 2


def test_encrypted_library_never_uses_ranges(small_demo_server, mount_factory):
    server, _ = small_demo_server
    mount = mount_factory(server, range_reads="always")
    assert unlock(mount, "Encrypted v1").returncode == 0
    plain = demo._prng_bytes(demo.MULTI_BLOCK_SEED, demo.MULTI_BLOCK_SIZE)
    path = mount.path("Encrypted v1", "multi-block.bin")
    os.stat(path)
    server.reset_counters()
    offset = (12 << 20) + 777
    assert read_at(path, offset) == plain[offset:offset + 4096]
    assert sum(block_gets(server).values()) >= 1
    assert server.counters()["range_gets"] == 0 and seahub_links(server) == 0


# --- a library of the test's own, changed on the server --------------------------------------

BLOCK = 1 << 20
VERSION_A = random.Random(1).randbytes(4 * BLOCK)
VERSION_B = random.Random(2).randbytes(4 * BLOCK)  # same size: only the file id tells


@pytest.fixture
def live(tmp_path):
    """(server, data dir, repo id, source dir) of a library "Live" holding data.bin (version A,
    four 1 MiB blocks) that the test may change on the server."""
    data = tmp_path / "server"
    builder.add_account(str(data), USER, PASSWORD)
    source = tmp_path / "source"
    source.mkdir()
    (source / "data.bin").write_bytes(VERSION_A)
    repo_id = builder.create_library(str(data), "Live", USER, source, block_size=BLOCK)
    server = SeafServer(str(data)).start()
    yield server, data, repo_id, source
    server.stop()


def commit_version_b(data, repo_id, source):
    (source / "data.bin").write_bytes(VERSION_B)
    builder.commit_directory(str(data), repo_id, source, block_size=BLOCK)


def test_file_changed_on_the_server_never_yields_the_other_version(live, mount_factory):
    server, data, repo_id, source = live
    mount = mount_factory(server, range_reads="always", poll_interval=0)
    path = mount.path("Live", "data.bin")
    with opened_for_random_reads(path) as fd:  # the handle reads version A from now on
        commit_version_b(data, repo_id, source)
        server.reset_counters()
        offset = 2 * BLOCK + 5000
        # The link Seahub makes now is for version B (its oid says so): not used.
        assert os.pread(fd, 4096, offset) == VERSION_A[offset:offset + 4096]
        assert server.counters()["range_gets"] == 0 and seahub_links(server) == 1
        assert sum(block_gets(server).values()) == 1
        # The version is remembered as having no usable link: no more questions.
        assert os.pread(fd, 4096, 5000) == VERSION_A[5000:9096]
        assert seahub_links(server) == 1


def test_link_made_before_the_change_keeps_serving_the_old_version(live, mount_factory):
    """A link serves the file id it was made for (its ETag says which): reads of version A after
    the change still get version A's bytes through it."""
    server, data, repo_id, source = live
    mount = mount_factory(server, range_reads="always", poll_interval=0)
    path = mount.path("Live", "data.bin")
    with opened_for_random_reads(path) as fd:
        assert os.pread(fd, 4096, 3 * BLOCK) == VERSION_A[3 * BLOCK:3 * BLOCK + 4096]
        commit_version_b(data, repo_id, source)
        server.reset_counters()
        offset = BLOCK + 100
        assert os.pread(fd, 4096, offset) == VERSION_A[offset:offset + 4096]
        assert server.counters()["range_gets"] == 1 and block_gets(server) == {}


def link_token(server):
    """The token of the download link the mount used last (from the request log)."""
    paths = [e["path"] for e in server.log() if e["path"].startswith("/seafhttp/files/")]
    return paths[-1].split("/")[3]


def test_refused_link_is_replaced_once_then_blocks(live, mount_factory):
    server, _data, repo_id, _source = live
    mount = mount_factory(server, range_reads="always", poll_interval=0)
    path = mount.path("Live", "data.bin")
    with opened_for_random_reads(path) as fd:
        assert os.pread(fd, 4096, 100) == VERSION_A[100:4196]
        # One refusal (an expired token): a new link, and the range is served.
        server.set_faults(error={"status": 403, "match": "^/seafhttp/files/", "count": 1})
        server.reset_counters()
        assert os.pread(fd, 4096, 2 * BLOCK + 100) == VERSION_A[2 * BLOCK + 100:2 * BLOCK + 4196]
        counters = server.counters()
        assert (counters["range_gets"], seahub_links(server), block_gets(server)) == (1, 1, {})
        # Refused again and again: the block.
        server.set_faults(error={"status": 403, "match": "^/seafhttp/files/", "count": 5})
        server.reset_counters()
        assert os.pread(fd, 4096, BLOCK + 100) == VERSION_A[BLOCK + 100:BLOCK + 4196]
        _, blocks = file_layout(server, repo_id, "/data.bin")
        assert block_gets(server) == {blocks[1][0]: 1}
        assert server.counters()["range_gets"] == 0 and seahub_links(server) == 1


def test_link_answering_for_another_version_falls_back_to_the_block(live, mount_factory):
    """A link whose token now serves another file (garbage as far as this version goes): the
    ETag and size of the answer give it away, the block is read instead."""
    server, data, repo_id, source = live
    _, blocks_a = file_layout(server, repo_id, "/data.bin")
    commit_version_b(data, repo_id, source)
    other_id, _ = file_layout(server, repo_id, "/data.bin")
    server_b_head = server.state()["libraries"][repo_id]["head"]
    # Back to version A as the head, so that the mount reads A and its link is made for A.
    (source / "data.bin").write_bytes(VERSION_A)
    builder.commit_directory(str(data), repo_id, source, block_size=BLOCK)
    assert server.state()["libraries"][repo_id]["head"] != server_b_head
    mount = mount_factory(server, range_reads="always", poll_interval=0)
    path = mount.path("Live", "data.bin")
    with opened_for_random_reads(path) as fd:
        assert os.pread(fd, 4096, 100) == VERSION_A[100:4196]
        token = link_token(server)
        server.set_web_token(token, {"repo_id": repo_id, "file_id": other_id, "name": "data.bin",
                                     "email": USER, "one_time": False})
        server.reset_counters()
        assert os.pread(fd, 4096, 3 * BLOCK + 100) == VERSION_A[3 * BLOCK + 100:3 * BLOCK + 4196]
        assert server.counters()["range_gets"] == 1  # asked, answered for B, not used
        assert block_gets(server) == {blocks_a[3][0]: 1}


# --- answers that are not the range asked for: whole blocks, the right bytes ------------------

def wait_for_outcome(server, path_part, outcome, timeout=5):
    """The log entry of the last request whose path contains path_part, once its outcome is
    `outcome` (the server learns that a client went away only at its next write); None when it
    is not by then."""
    deadline = time.monotonic() + timeout
    while True:
        entries = [e for e in server.log() if path_part in e["path"]]
        if entries and entries[-1]["outcome"] == outcome:
            return entries[-1]
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def test_the_reference_server_alters_range_answers(live):
    """The faults the tests below use, seen from a plain HTTP client."""
    server, _data, repo_id, _source = live
    file_id, _ = file_layout(server, repo_id, "/data.bin")
    token = "0f3e2a8c-1b7d-4e5f-9a6b-2c4d6e8f0a1b"
    server.set_web_token(token, {"repo_id": repo_id, "file_id": file_id, "name": "data.bin",
                                 "email": USER, "one_time": False})
    path = "/seafhttp/files/%s/data.bin" % token

    def get(first, last):
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        try:
            conn.request("GET", path, headers={"Range": "bytes=%d-%d" % (first, last)})
            response = conn.getresponse()
            return response.status, response.getheader("Content-Range"), response.read()
        finally:
            conn.close()

    size = len(VERSION_A)
    assert get(100, 199) == (206, "bytes 100-199/%d" % size, VERSION_A[100:200])
    server.set_faults(ignore_range={"count": 1})
    assert get(100, 199) == (200, None, VERSION_A)
    server.set_faults(range_answer={"count": 1, "total_delta": 1})
    assert get(100, 199) == (206, "bytes 100-199/%d" % (size + 1), VERSION_A[100:200])
    server.set_faults(range_answer={"count": 1, "shift": 4096})
    assert get(100, 199) == (206, "bytes 4196-4295/%d" % size, VERSION_A[100:200])
    server.set_faults(range_answer={"count": 1, "cut_bytes": 10})
    assert get(100, 199) == (206, "bytes 100-199/%d" % size, VERSION_A[100:190])
    server.set_faults(truncate={"count": 1, "at": 0.5})
    with pytest.raises(http.client.IncompleteRead):
        get(100, 199)
    assert server.log()[-1]["outcome"] == "truncate"
    # A client that goes away from a body sent in pieces: what went out is recorded.
    server.set_faults(bandwidth_bps=2_000_000)
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())
        sock.recv(65536)
    entry = wait_for_outcome(server, token, "client-gone")
    assert entry is not None and entry["bytes_sent"] < size // 2


@pytest.mark.parametrize("fault", [
    {"range_answer": {"total_delta": 1}},  # a file of another size
    {"range_answer": {"shift": 4096}},  # other bytes than asked for
    {"range_answer": {"cut_bytes": 1}},  # a body shorter than its Content-Range
    {"truncate": {"at": 0.5}},  # a body shorter than its Content-Length
    {"reset": {"at": 0.5}},  # the connection reset in the middle of the range
], ids=["wrong total", "other range", "short body", "truncated body", "reset mid-range"])
def test_range_answer_that_fails_verification_falls_back_to_blocks(live, mount_factory, fault):
    server, _data, repo_id, _source = live
    _, blocks = file_layout(server, repo_id, "/data.bin")
    mount = mount_factory(server, range_reads="always", poll_interval=0)
    path = mount.path("Live", "data.bin")
    os.stat(path)
    kind, spec = next(iter(fault.items()))
    server.set_faults(**{kind: dict(spec, match="^/seafhttp/files/")})
    server.reset_counters()
    with opened_for_random_reads(path) as fd:
        offset = 2 * BLOCK + 5000
        assert os.pread(fd, 4096, offset) == VERSION_A[offset:offset + 4096]
        assert len([e for e in server.log() if e["route"] == "files"]) == 1  # not retried
        assert block_gets(server) == {blocks[2][0]: 1}
        # The handle reads whole blocks from now on: no more links nor ranges.
        server.reset_counters()
        assert os.pread(fd, 4096, 100) == VERSION_A[100:4196]
        assert block_gets(server) == {blocks[0][0]: 1}
        assert server.counters()["range_gets"] == 0 and seahub_links(server) == 0


def test_server_ignoring_range_costs_a_range_not_the_file(live, mount_factory):
    """A proxy that drops Range: the download link answers 200 with the whole file. seafs stops
    reading it once it outgrows the range asked for, reads the block, and asks for no more
    ranges anywhere on the mount for a while (every file would get the same answer)."""
    server, data, repo_id, source = live
    (source / "other.bin").write_bytes(VERSION_B)
    builder.commit_directory(str(data), repo_id, source, block_size=BLOCK)
    _, blocks = file_layout(server, repo_id, "/data.bin")
    _, other_blocks = file_layout(server, repo_id, "/other.bin")
    mount = mount_factory(server, range_reads="always", poll_interval=0)
    path = mount.path("Live", "data.bin")
    os.stat(path)
    os.stat(mount.path("Live", "other.bin"))
    # 2 MB/s: the whole 4 MiB file would take 2 s to send.
    server.set_faults(ignore_range={"match": "^/seafhttp/files/"}, bandwidth_bps=2_000_000)
    server.reset_counters()
    offset = BLOCK + 5000
    assert read_at(path, offset) == VERSION_A[offset:offset + 4096]
    assert block_gets(server) == {blocks[1][0]: 1}
    entry = wait_for_outcome(server, "/seafhttp/files/", "client-gone")
    assert entry is not None and entry["status"] == 200, "the whole file was read"
    assert entry["bytes_sent"] < BLOCK, "%d bytes of the file went out" % entry["bytes_sent"]
    # Another file: no link asked for, its block read at once.
    server.reset_counters()
    assert read_at(mount.path("Live", "other.bin"), 5000) == VERSION_B[5000:9096]
    assert seahub_links(server) == 0 and server.counters()["range_gets"] == 0
    assert block_gets(server) == {other_blocks[0][0]: 1}


def test_link_refused_for_a_missing_folder_falls_back_at_once(tmp_path, mount_factory):
    """Seahub answers the link request 520 when a folder object on the path is missing on the
    server (its get_file_id_by_path fails): one request, not retried, and the block is read."""
    data = tmp_path / "server"
    builder.add_account(str(data), USER, PASSWORD)
    source = tmp_path / "source"
    (source / "sub").mkdir(parents=True)
    (source / "sub" / "data.bin").write_bytes(VERSION_A)
    repo_id = builder.create_library(str(data), "Nested", USER, source, block_size=BLOCK)
    server = SeafServer(str(data)).start()
    try:
        _, blocks = file_layout(server, repo_id, "/sub/data.bin")
        storage = server.open_storage()
        head = server.state()["libraries"][repo_id]["head"]
        root_id = json.loads(storage.read("commits", repo_id, head))["root_id"]
        sub_id = builder.tree_entries(storage, repo_id, root_id)["/sub"].id
        mount = mount_factory(server, range_reads="always", poll_interval=0)
        path = mount.path("Nested", "sub", "data.bin")
        os.stat(path)  # the mount has the folder now
        os.unlink(storage.path("fs", repo_id, sub_id))
        server.reset_counters()
        started = time.monotonic()
        assert read_at(path, 2 * BLOCK + 5000) == VERSION_A[2 * BLOCK + 5000:2 * BLOCK + 9096]
        took = time.monotonic() - started
        assert [e["status"] for e in server.log() if e["route"] == "api2/file"] == [520]
        assert block_gets(server) == {blocks[2][0]: 1}
        assert took < 1.5, "%.1f s: the link request was retried" % took
    finally:
        server.stop()


# --- a slow link: no read-ahead for nearby reads, no whole files fetched ahead ------------------

def test_nearby_reads_on_a_slow_link_are_ranges_without_read_ahead(slow_server, mount_factory):
    """A header, then an index 120 KiB further (ffprobe's way): on a slow link that is no
    sequential read -- two ranges, no block, nothing fetched ahead."""
    server, content, _, path = large_file_on_a_slow_link(slow_server, mount_factory)
    with opened_for_random_reads(path) as fd:
        first = (6 << 20) + 12345
        second = first + 4096 + (120 << 10)
        assert os.pread(fd, 4096, first) == content[first:first + 4096]
        assert os.pread(fd, 4096, second) == content[second:second + 4096]
    time.sleep(0.5)  # read-ahead, had it started, would have asked for blocks by now
    assert block_gets(server) == {}
    assert server.counters()["range_gets"] == 2


def test_folder_scan_on_a_slow_link_fetches_only_small_files_ahead(tmp_path, mount_factory):
    """Files of a folder opened one after the other: on a slow link only files of about one
    round trip's worth of bytes (here 187,500) are fetched ahead, not every file's first block."""
    data = tmp_path / "server"
    builder.add_account(str(data), USER, PASSWORD)
    folder = tmp_path / "source" / "folder"
    folder.mkdir(parents=True)
    sizes = {"a.bin": 400_000, "b.bin": 20_000, "c.bin": 400_000, "d.bin": 20_000,
             "e.bin": 400_000, "f.bin": 400_000, "g.bin": 20_000}
    for i, (name, size) in enumerate(sizes.items()):
        (folder / name).write_bytes(random.Random(i).randbytes(size))
    repo_id = builder.create_library(str(data), "Scan", USER, folder.parent)
    server = SeafServer(str(data)).start()
    try:
        block_of = {n: file_layout(server, repo_id, "/folder/" + n)[1][0][0] for n in sizes}
        server.set_faults(**SLOW_LINK)
        mount = mount_factory(server, poll_interval=0)
        where = mount.path("Scan", "folder")
        order = os.listdir(where)  # listing order: g.bin, f.bin, ... a.bin
        assert order == sorted(sizes, reverse=True)
        server.reset_counters()
        for name in order[:2]:  # a scan starts with the second file
            with open(where / name, "rb") as f:
                assert f.read(4096) == (folder / name).read_bytes()[:4096]
        small_ahead = {block_of["d.bin"], block_of["b.bin"]}
        deadline = time.monotonic() + 5
        while not small_ahead <= set(block_gets(server)) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        fetched = set(block_gets(server))
        assert small_ahead <= fetched, "the small files were not fetched ahead"
        large_ahead = {block_of[n] for n in ("e.bin", "c.bin", "a.bin")}
        assert not fetched & large_ahead, "large files were fetched ahead on a slow link"
    finally:
        server.stop()


# --- the download link asked for at open (auto, on a far link) --------------------------------

def test_link_asked_for_at_open_and_refused_falls_back_to_the_block(slow_server, mount_factory):
    """On a slow link the open asks Seahub for the download link alongside the file object; when
    Seahub refuses it (here 520), the read takes the block -- the right bytes, no range, and the
    link is not asked for again by the read."""
    server, ids = slow_server
    content, blocks = file_bytes(server, ids["Demo"], "/large/twelve-MiB.bin")
    server.set_faults(**FAR_LINK)
    mount = mount_factory(server)
    path = mount.path(*LARGE)
    os.stat(path)
    server.set_faults(error={"status": 520, "match": "^/api2/repos/[^/]+/file/", "count": 5},
                      **FAR_LINK)
    server.reset_counters()
    offset = (6 << 20) + 12345
    assert read_at(path, offset) == content[offset:offset + 4096]
    assert [e["status"] for e in server.log() if e["route"] == "api2/file"] == [520]
    assert server.counters()["range_gets"] == 0
    assert block_gets(server) == {blocks[0][0]: 1}
    # file object, block map and link at once, then the block
    assert sequential_round_trips(server.log()) == 2, server.log()


def test_link_asked_for_at_open_for_another_version_is_not_used(live, mount_factory):
    """The file changes on the server between the listing and the open: the link the open asks
    for is made for the new version (its oid says so), the handle reads the old one -- whole
    blocks, the old bytes."""
    server, data, repo_id, source = live
    _, blocks_a = file_layout(server, repo_id, "/data.bin")
    server.set_faults(**FAR_LINK)
    mount = mount_factory(server, poll_interval=0)
    path = mount.path("Live", "data.bin")
    os.stat(path)  # the mount knows version A
    commit_version_b(data, repo_id, source)
    server.reset_counters()
    offset = 2 * BLOCK + 5000
    assert read_at(path, offset) == VERSION_A[offset:offset + 4096]
    assert seahub_links(server) == 1 and server.counters()["range_gets"] == 0
    assert block_gets(server) == {blocks_a[2][0]: 1}
    # The file object and the link at once, then the block map (a 4 MiB file gets none ahead:
    # the official clients' blocks are 6 MiB and more), then the block; before: one by one.
    assert sequential_round_trips(server.log()) == 3, server.log()


# --- the kernel's read-ahead windows (fs/read/range_hold.h) -------------------------------------

def probe_reads(fd, content, upto):
    """ffprobe's reads of a video with its index at the start: 32 KiB at 0, then on from 48 to
    upto in one read (the kernel asks for 128 KiB at 0, then 256 and 512 KiB windows)."""
    assert os.pread(fd, 32768, 0) == content[:32768]
    assert os.pread(fd, upto - 48, 48) == content[48:upto]


def range_entries(server):
    return sorted((e for e in server.log() if e["route"] == "files" and e["status"] == 206),
                  key=lambda e: e["start"])


def test_read_ahead_window_nobody_reads_is_dropped_at_close(slow_server, mount_factory):
    """A probe that stops inside the kernel's 256 KiB window and closes the file: the 512 KiB
    window the kernel asked for behind it waits for it, and is dropped at the close instead of
    downloaded (before: 3 ranges, about 900 KiB, for 343 KiB read). The pages it would have
    filled are read again when asked for: a few ranges, not one per page."""
    server, content, _, path = large_file_on_a_slow_link(slow_server, mount_factory)
    fd = os.open(path, os.O_RDONLY)
    try:
        probe_reads(fd, content, 343 << 10)
    finally:
        os.close(fd)
    time.sleep(0.6)  # a window downloaded after the close would be counted by now
    counters = server.counters()
    assert block_gets(server) == {}
    assert counters["range_gets"] == 2, range_entries(server)
    assert counters["range_bytes"] < (384 << 10) + 4096, counters["range_bytes"]
    server.reset_counters()
    with open(path, "rb", buffering=0) as f:
        f.seek(384 << 10)
        assert f.read(512 << 10) == content[384 << 10:896 << 10]
    assert server.counters()["range_gets"] + len(block_gets(server)) <= 4, server.log()


def test_reader_that_reads_on_gets_the_window_after_the_one_it_waits_for(slow_server,
                                                                           mount_factory):
    """The same reads, then on past the 256 KiB window: the 512 KiB window went out once the
    256 KiB one had arrived (not beside it, sharing the link), and every byte is right."""
    server, content, _, path = large_file_on_a_slow_link(slow_server, mount_factory)
    fd = os.open(path, os.O_RDONLY)
    try:
        probe_reads(fd, content, 343 << 10)
        assert os.pread(fd, 400 << 10, 343 << 10) == content[343 << 10:743 << 10]
    finally:
        os.close(fd)
    time.sleep(1.5)  # the 1 MiB window the kernel asked for next (it went at once) is logged
    ranges = range_entries(server)
    assert block_gets(server) == {}

    def window_of(size):
        return [e for e in ranges if size <= e["bytes_sent"] < size + 4096]

    window, after = window_of(256 << 10), window_of(512 << 10)
    assert len(window) == len(after) == 1, ranges
    assert after[0]["start"] >= window[0]["time"] - 0.01, ranges
