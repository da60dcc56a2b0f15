"""Seafile content-defined chunking (protocol doc §9.1), so the library builder splits files into
the same blocks as the official clients.

Files smaller than the minimum block size are one chunk. Larger files go through the C tool
`seafs-cdc` (tests/tools, built from net/seaf_cdc.c) when it is found: $SEAFS_CDC_TOOL, else
$SEAFS_BUILD_DIR/tests/tools/seafs-cdc, else <repo>/build/tests/tools/seafs-cdc. Otherwise the
pure-Python implementation below is used (same results, about a thousand times slower).
"""

import os
import pathlib
import subprocess

MIN_SIZE = 6 << 20
AVG_SIZE = 8 << 20
MAX_SIZE = 10 << 20
WINDOW = 48
BREAK = 0x13
POLYNOMIAL = 0xBFE6B8A5BF378D83

_TOP_BIT = 1 << 63
_MASK64 = (1 << 64) - 1
_BREAK_MASK = AVG_SIZE - 1
_REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]


def _gf2_mulmod(a, b):
    """(a * b) mod POLYNOMIAL over GF(2); b must be below 2^63."""
    product = 0
    for bit in range(a.bit_length() - 1, -1, -1):
        product <<= 1
        if product & _TOP_BIT:
            product ^= POLYNOMIAL
        if (a >> bit) & 1:
            product ^= b
    return product


def _build_tables():
    x63 = POLYNOMIAL ^ _TOP_BIT  # x^63 mod P
    shift_table = [_gf2_mulmod(j, x63) | ((j << 63) & _MASK64) for j in range(256)]
    window_shift = 1
    for _ in range(WINDOW - 1):
        window_shift = (((window_shift << 8) & _MASK64) ^ shift_table[window_shift >> 55])
    out_table = [_gf2_mulmod(i, window_shift) for i in range(256)]
    return shift_table, out_table


_SHIFT, _OUT = _build_tables()


def roll(fingerprint, out_byte, in_byte):
    """Fingerprint after out_byte leaves the 48-byte window and in_byte enters it."""
    p = fingerprint ^ _OUT[out_byte]
    return ((((p << 8) & _MASK64) | in_byte) ^ _SHIFT[p >> 55]) & 0xFFFFFFFF


def window_fingerprint(window):
    """Fingerprint of one fresh window of 48 bytes."""
    fingerprint = 0
    for byte in window:
        fingerprint = roll(fingerprint, 0, byte)
    return fingerprint


def python_chunk_length(buf, start=0):
    """Length of the chunk starting at buf[start]; buf holds at least MAX_SIZE bytes from start
    or everything that remains of the file."""
    available = len(buf) - start
    if available < MIN_SIZE:
        return available
    end = start + min(available, MAX_SIZE)
    shift, out = _SHIFT, _OUT
    c = start + MIN_SIZE - 1
    f = window_fingerprint(buf[c + 1 - WINDOW:c + 1])
    while (f & _BREAK_MASK) != BREAK and c + 1 < end:
        c += 1
        p = f ^ out[buf[c - WINDOW]]
        f = ((((p << 8) & _MASK64) | buf[c]) ^ shift[p >> 55]) & 0xFFFFFFFF
    return c + 1 - start


def python_chunks(path):
    """[(offset, length)] of a file's chunks, computed in Python."""
    chunks = []
    offset = 0
    with open(path, "rb") as f:
        buf = f.read(MAX_SIZE)
        while buf:
            length = python_chunk_length(buf)
            chunks.append((offset, length))
            offset += length
            buf = buf[length:] + f.read(MAX_SIZE - (len(buf) - length))
    return chunks


def find_tool():
    """Path of the seafs-cdc executable, or None when it is not built."""
    candidates = [os.environ.get("SEAFS_CDC_TOOL")]
    if os.environ.get("SEAFS_BUILD_DIR"):
        candidates.append(os.path.join(os.environ["SEAFS_BUILD_DIR"], "tests/tools/seafs-cdc"))
    candidates.append(str(_REPO_ROOT / "build/tests/tools/seafs-cdc"))
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def tool_chunks(path, tool):
    """[(offset, length)] of a file's chunks, computed by the seafs-cdc tool."""
    result = subprocess.run([tool, os.fspath(path)], capture_output=True, check=False)
    if result.returncode != 0:
        raise OSError(f"{tool} failed on {path}: {result.stderr.decode(errors='replace').strip()}")
    chunks = []
    for line in result.stdout.decode("ascii").splitlines():
        offset, length = line.split()
        chunks.append((int(offset), int(length)))
    return chunks


def chunks(path):
    """[(offset, length)] of the Seafile chunks of a file (empty list for an empty file)."""
    size = os.path.getsize(path)
    if size < MIN_SIZE:
        return [(0, size)] if size else []
    tool = find_tool()
    result = tool_chunks(path, tool) if tool else python_chunks(path)
    expected_offset = 0
    for offset, length in result:
        if offset != expected_offset or not 0 < length <= MAX_SIZE:
            raise OSError(f"chunking {path}: bad chunk ({offset}, {length})")
        expected_offset += length
    if expected_offset != size:
        raise OSError(f"chunking {path}: chunks cover {expected_offset} of {size} bytes")
    return result
