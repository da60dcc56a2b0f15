"""Seafile content-defined chunking (protocol doc §9.1): the doc's 32 MiB test vector through the
pure-Python chunker and the C tool seafs-cdc, and both agreeing on other inputs."""

import functools
import hashlib
import os

import pytest

from seafserver import cdc

VECTOR_SHA1 = "5dba3652e273c95d029ed0ab1ce2437b39370e52"
VECTOR_SIZES = [10485760, 10485760, 6422346, 6160566]
VECTOR_IDS = ["0e3b0ecb6dcd9c8c2066b7150f94e21f3b6945a2",
              "cb1588992a48858c299669cee129155a982fbe60",
              "1c9e8fdcad0033b36de8ad8b4d394842207c07e8",
              "6ed3c890cfd4c09be778375c6278ffb581e08f45"]


@functools.lru_cache(maxsize=1)
def lcg_period():
    """The doc's input: byte i = (s_i >> 16) & 0xff, s_i = s_{i-1} * 1103515245 + 12345 mod 2^32,
    s_{-1} = 12345. Those bits only depend on s mod 2^24, so the bytes repeat every 2^24."""
    period = bytearray(1 << 24)
    s = 12345
    for i in range(len(period)):
        s = (s * 1103515245 + 12345) & 0xFFFFFFFF
        period[i] = (s >> 16) & 0xFF
    return bytes(period)


def lcg_bytes(length):
    period = lcg_period()
    return (period * -(-length // len(period)))[:length]


@pytest.fixture(scope="module")
def vector_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cdc") / "vector.bin"
    path.write_bytes(lcg_bytes(32 << 20))
    return path


@pytest.fixture(scope="module")
def tool():
    found = cdc.find_tool()
    if found is None:
        if os.environ.get("SEAFS_BUILD_DIR"):
            pytest.fail("SEAFS_BUILD_DIR is set but tests/tools/seafs-cdc was not built there")
        pytest.skip("seafs-cdc is not built (cmake --build build)")
    return found


def block_ids(path, chunk_list):
    data = path.read_bytes()
    return [hashlib.sha1(data[o:o + n]).hexdigest() for o, n in chunk_list]


def test_fingerprint_vector():
    data = lcg_bytes(4096)
    fingerprint = cdc.window_fingerprint(data[:48])
    assert fingerprint == 957401928
    for c in range(48, 4096):
        fingerprint = cdc.roll(fingerprint, data[c - 48], data[c])
    assert fingerprint == 3972459615


def test_python_chunker_matches_vector(vector_file):
    assert hashlib.sha1(vector_file.read_bytes()).hexdigest() == VECTOR_SHA1
    chunk_list = cdc.python_chunks(vector_file)
    assert [n for _, n in chunk_list] == VECTOR_SIZES
    assert block_ids(vector_file, chunk_list) == VECTOR_IDS


def test_tool_matches_vector(vector_file, tool):
    chunk_list = cdc.tool_chunks(vector_file, tool)
    assert [n for _, n in chunk_list] == VECTOR_SIZES
    assert block_ids(vector_file, chunk_list) == VECTOR_IDS
    assert cdc.chunks(vector_file) == chunk_list


@pytest.mark.parametrize("size", [0, 1, cdc.MIN_SIZE - 1, cdc.MIN_SIZE, cdc.MIN_SIZE + 4321,
                                  cdc.MAX_SIZE + 1])
def test_tool_and_python_agree(tmp_path, tool, size):
    path = tmp_path / "f.bin"
    # Start inside the LCG stream so the data differs from the vector's first chunk.
    path.write_bytes(lcg_bytes(size + 777)[777:])
    expected = cdc.python_chunks(path)
    assert cdc.tool_chunks(path, tool) == expected
    assert cdc.chunks(path) == expected
    assert sum(n for _, n in expected) == size


def test_without_tool_large_files_are_chunked_in_python(tmp_path, monkeypatch):
    path = tmp_path / "f.bin"
    path.write_bytes(lcg_bytes(cdc.MIN_SIZE + 4321))
    monkeypatch.setattr(cdc, "find_tool", lambda: None)
    assert cdc.chunks(path) == cdc.python_chunks(path)


def test_small_files_need_no_tool(tmp_path, monkeypatch):
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world\n")
    monkeypatch.setenv("SEAFS_CDC_TOOL", str(tmp_path / "missing"))
    assert cdc.chunks(path) == [(0, 12)]
    path.write_bytes(b"")
    assert cdc.chunks(path) == []


def test_tool_reports_missing_file(tmp_path, tool):
    with pytest.raises(OSError, match="cannot open"):
        cdc.tool_chunks(tmp_path / "nope", tool)
