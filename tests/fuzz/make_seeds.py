#!/usr/bin/python3
"""Writes the seed corpora of the fuzz targets from the real-server vectors.

usage: make_seeds.py VECTORS_DIR OUT_DIR  ->  OUT_DIR/{fsobj,commit,packfs}/
fsobj: decompressed fs objects; commit: stored commits and captured commit bodies; packfs:
captured pack-fs bodies prefixed with the fuzz_packfs header (chunk size, id count, ids).
"""
import json
import sys
import zlib
from pathlib import Path


def http_body(path):
    raw = path.read_bytes()
    return raw[raw.index(b"\r\n\r\n") + 4:]


def main():
    vectors, out = Path(sys.argv[1]), Path(sys.argv[2])
    for kind in ("fsobj", "commit", "packfs"):
        (out / kind).mkdir(parents=True, exist_ok=True)
    for path in sorted((vectors / "storage" / "fs").glob("*/*/*")):
        (out / "fsobj" / path.name).write_bytes(zlib.decompress(path.read_bytes()))
    for path in sorted((vectors / "storage" / "commits").glob("*/*/*")):
        (out / "commit" / path.name).write_bytes(path.read_bytes())
    for name in ("commit.http", "enc-commit.http"):
        (out / "commit" / name).write_bytes(http_body(vectors / "http" / name))
    captures = [("pack-fs-small.http", "packfs-small.json"), ("enc-pack-fs.http", "enc-pack.json"),
                ("pack-fs-unknown-id.http", "packfs-bad.json")]
    for chunk in (0, 7):
        for http, request in captures:
            ids = json.loads((vectors / "http" / "request-bodies" / request).read_text())[:255]
            head = bytes([chunk, len(ids)]) + "".join(ids).encode()
            (out / "packfs" / f"{chunk}-{http}").write_bytes(head + http_body(vectors / "http" / http))
    return 0


if __name__ == "__main__":
    sys.exit(main())
