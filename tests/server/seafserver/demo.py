"""Deterministic demo data for the reference server: the captured real-server libraries (vectors)
plus libraries built from generated trees (tricky names, a 256 MiB file, 10,000 small files,
a directory with 20,000 entries, libraries shared read-only and read-write) and client-side
encrypted libraries, all owned by user@example.com, password "s3cret" (DEMO_PASSWORD):

  "Encrypted v1"         enc_version 1 (magic)
  "Encrypted v3"         enc_version 3 (magic, library salt, AES-128-ECB)
  "Encrypted v4 pbkdf2"  enc_version 4, pwd_hash pbkdf2_sha256 "1000" (no magic)
  "Encrypted v4 argon2"  enc_version 4, pwd_hash argon2id "2,8192,2" (no magic)
  "Encrypted Big"        enc_version 2 (magic), the 256 MiB file of "Big File" (full demo only)

The four small ones hold the same tree (_tree_encrypted): marker.txt (the plaintext marker
"SEAFS-PLAINTEXT-MARKER-0123456789" repeated, to search caches for), files of 0, 1, 15, 16, 17,
31, 32 and 33 bytes, a nested directory and multi-block.bin (25 MiB + 12345 bytes of PRNG data,
4 content-defined blocks of 7066363, 10485760, 8435079 and 239543 bytes: three lengths that are
not multiples of 16 and one that is). Their secrets and salts come from a seed, so their ids are
as fixed as the others'.

  python3 -m seafserver.demo --data DIR [--small] [--vectors DIR] [--force]

Idempotent: a stamp (<data>/demo-stamp.json) records a digest of the generating code and the
options; the data is rebuilt only when they change. --small skips the 256 MiB files and the
20,000-entry directory (for tests). Same code, same bytes: repo ids, commit times and mtimes are
fixed, so every id is identical on every machine.
"""

import argparse
import hashlib
import json
import os
import pathlib
import random
import shutil
import sys
import tempfile
import time
import uuid

from . import builder, cdc, crypto, objects
from .objects import parse_stored_fs_object
from .storage import Storage
from .testing import VECTORS_DIR, write_json
from .vectors import USERS, state_from_vectors

USER = "user@example.com"
OTHER = "other@example.com"
DEMO_CTIME = 1767225600  # 2026-01-01T00:00:00Z
DEMO_MTIME = 1764547200  # 2025-12-01T00:00:00Z
STAMP = "demo-stamp.json"
DEFAULT_VECTORS = pathlib.Path(VECTORS_DIR)
_REPO_NAMESPACE = uuid.UUID("5eaf5000-0000-4000-8000-000000000000")
# Modules whose code decides the bytes of the demo data; their digest goes into the stamp.
_GENERATORS = (__file__, builder.__file__, objects.__file__, cdc.__file__, crypto.__file__)
DEMO_PASSWORD = "s3cret"
MARKER = b"SEAFS-PLAINTEXT-MARKER-0123456789"
MULTI_BLOCK_SEED = 2424
MULTI_BLOCK_SIZE = (25 << 20) + 12345


def demo_repo_id(name):
    """The fixed repo id of the demo library called `name`."""
    return str(uuid.uuid5(_REPO_NAMESPACE, "seafs-demo/" + name))


def _prng_bytes(seed, size):
    rng = random.Random(seed)
    return b"".join(rng.randbytes(min(1 << 20, size - done)) for done in range(0, size, 1 << 20))


def _write(root, rel, content):
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def _fix_mtimes(root):
    """Deterministic, varied mtimes: one hour apart in path order, children before parents."""
    paths = sorted(root.rglob("*"), key=lambda p: (-len(p.parts), str(p)))
    for index, path in enumerate(paths):
        os.utime(path, (DEMO_MTIME - index * 3600, DEMO_MTIME - index * 3600))


def _tree_names(root):
    """Nested dirs, unicode and emoji names, names with spaces, empty file, empty dirs, a file
    of two content-defined chunks, an executable, identical contents."""
    text = {
        "README.txt": b"seafs demo library: nested directories, unicode names, empty entries.\n",
        "Documents/file with spaces.txt": b"A name with spaces.\n",
        "Documents/R\u00e9sum\u00e9 \u00fc.txt": "Accents: \u00e9 \u00fc \u00df.\n".encode(),
        "Documents/\u4e2d\u6587\u6587\u4ef6.txt": "\u4e2d\u6587\u5185\u5bb9\n".encode(),
        "\u65e5\u672c\u8a9e\u30d5\u30a9\u30eb\u30c0/\u30c6\u30b9\u30c8.txt":
            "\u30c6\u30b9\u30c8\n".encode(),
        "emoji \U0001f600/smile \U0001f600.txt": "\U0001f600 \U0001f680\n".encode(),
        "a/b/c/d/e/deep.txt": b"five levels down\n",
        "  two leading spaces.txt": b"leading spaces\n",
        "trailing space .txt": b"trailing space\n",
        "copies/one.txt": b"identical content\n",
        "copies/two.txt": b"identical content\n",
        "code/src/main.c": b'#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n',
        "code/build.sh": b"#!/bin/sh\ncc -o main src/main.c\n",
        "empty.txt": b"",
        "one-byte.bin": b"\x00",
        "exact-4096.bin": _prng_bytes(4096, 4096),
        "photos 2024/img 001.jpg": _prng_bytes(2024001, 150000),
        "photos 2024/img 002.jpg": _prng_bytes(2024002, 300000),
        "large/twelve-MiB.bin": _prng_bytes(12, 12 << 20),
    }
    for rel, content in text.items():
        _write(root, rel, content)
    (root / "code/build.sh").chmod(0o755)
    for rel in ("empty-dir", "a/empty-subdir", "nested-empty/inner/innermost"):
        (root / rel).mkdir(parents=True, exist_ok=True)


def _tree_big(root):
    rng = random.Random(256)
    with open(root / "random-256MiB.bin", "wb") as f:
        for _ in range(256):
            f.write(rng.randbytes(1 << 20))


def _tree_encrypted(root):
    """Plaintext an encrypted library must decrypt to: a searchable marker, sizes around the AES
    block size, a nested directory and a file of several content-defined blocks."""
    _write(root, "marker.txt", (MARKER + b"\n") * 1000)
    for size in (0, 1, 15, 16, 17, 31, 32, 33):
        _write(root, f"sizes/size-{size:02d}.bin", _prng_bytes(1600 + size, size))
    _write(root, "nested/inner/deepest/note.txt", b"three levels down, encrypted\n")
    (root / "nested/empty-dir").mkdir()
    _write(root, "multi-block.bin", _prng_bytes(MULTI_BLOCK_SEED, MULTI_BLOCK_SIZE))


def _tree_many(root):
    """10,000 small files in 1,000 directories (10 groups of 100)."""
    for d in range(1000):
        folder = root / f"group-{d // 100:02d}" / f"dir-{d:04d}"
        folder.mkdir(parents=True)
        for f in range(10):
            (folder / f"file-{f:02d}.txt").write_bytes(f"dir {d} file {f}\n".encode() * (f + 1))


def _tree_wide(root):
    folder = root / "20000 entries"
    folder.mkdir(parents=True)
    for i in range(20000):
        (folder / f"entry-{i:05d}.txt").write_bytes(f"entry {i}\n".encode())


def _tree_shared(root, what):
    _write(root, "shared-readme.txt", f"Owned by {OTHER}, shared {what} with {USER}.\n".encode())
    _write(root, "data/table.csv", b"a,b,c\n1,2,3\n")
    (root / "empty-shared-dir").mkdir()


# name -> (owner, shares, tree writer, part of the small demo)
DEMO_LIBRARIES = {
    "Demo": (USER, {}, _tree_names, True),
    "Big File": (USER, {}, _tree_big, False),
    "Many Files": (USER, {}, _tree_many, True),
    "Wide Directory": (USER, {}, _tree_wide, False),
    "Shared Read-Only": (OTHER, {USER: "r"}, lambda root: _tree_shared(root, "read-only"), True),
    "Shared Read-Write": (OTHER, {USER: "rw"}, lambda root: _tree_shared(root, "read-write"),
                          True),
}


# name -> (enc_version, pwd_hash_algo, pwd_hash_params, tree writer, part of the small demo);
# owned by USER, password DEMO_PASSWORD
ENCRYPTED_LIBRARIES = {
    "Encrypted v1": (1, None, None, _tree_encrypted, True),
    "Encrypted v3": (3, None, None, _tree_encrypted, True),
    "Encrypted v4 pbkdf2": (4, crypto.PBKDF2_SHA256, "1000", _tree_encrypted, True),
    "Encrypted v4 argon2": (4, crypto.ARGON2ID, "2,8192,2", _tree_encrypted, True),
    "Encrypted Big": (2, None, None, _tree_big, False),
}


def library_names(small):
    """Names of the plaintext demo libraries (readable without a password)."""
    return [name for name, spec in DEMO_LIBRARIES.items() if spec[3] or not small]


def encrypted_library_names(small):
    """Names of the encrypted demo libraries (password DEMO_PASSWORD)."""
    return [name for name, spec in ENCRYPTED_LIBRARIES.items() if spec[4] or not small]


def write_source(name, root):
    """Writes the local (plaintext) tree of the demo library `name` under root (which must not
    exist): what a client downloading the library must end up with."""
    root = pathlib.Path(root)
    root.mkdir(parents=True)
    if name in ENCRYPTED_LIBRARIES:
        ENCRYPTED_LIBRARIES[name][3](root)
    else:
        DEMO_LIBRARIES[name][2](root)
    _fix_mtimes(root)


def build_library(data_dir, name, sources):
    """Builds the demo library `name` into data_dir from a source tree written under the
    directory `sources` (removed again); returns its repo id."""
    src = pathlib.Path(sources) / name
    write_source(name, src)
    repo_id = demo_repo_id(name)
    common = dict(repo_id=repo_id, desc=f"seafs demo: {name}", ctime=DEMO_CTIME)
    if name in ENCRYPTED_LIBRARIES:
        enc_version, algo, params, _, _ = ENCRYPTED_LIBRARIES[name]
        builder.create_library(data_dir, name, USER, src, password=DEMO_PASSWORD,
                               enc_version=enc_version, pwd_hash_algo=algo,
                               pwd_hash_params=params, seed="seafs-demo/" + name, **common)
    else:
        owner, shares, _, _ = DEMO_LIBRARIES[name]
        builder.create_library(data_dir, name, owner, src, shares=shares, **common)
    shutil.rmtree(src)
    return repo_id


# --- vector libraries --------------------------------------------------------------------------

def _restore_big_vector_blocks(storage, repo_id, head):
    """The vectors leave out the Big library's blocks but say how its files were generated
    (INDEX.md); regenerate them, stored in fixed 8 MiB blocks as uploaded. Returns True when
    every block matches its id."""
    rng = random.Random(20241129 + 64)
    contents = {"/five-MiB.bin": rng.randbytes(5 << 20)}
    contents["/big-64MiB.bin"] = b"".join(rng.randbytes(1 << 20) for _ in range(64))
    root_id = json.loads(storage.read("commits", repo_id, head))["root_id"]
    entries = builder.tree_entries(storage, repo_id, root_id)
    if set(entries) != set(contents):
        return False
    for path, dirent in entries.items():
        seaf_file = parse_stored_fs_object(storage.read("fs", repo_id, dirent.id))
        data = contents[path]
        for index, block_id in enumerate(seaf_file.block_ids):
            block = data[index * (8 << 20):(index + 1) * (8 << 20)]
            if hashlib.sha1(block).hexdigest() != block_id:
                return False
            storage.write("blocks", repo_id, block_id, block)
    return True


def _copy_vectors(vectors_dir, data_dir):
    """Copies the vector libraries into the data dir; returns their state dict."""
    state = state_from_vectors(vectors_dir)
    source = pathlib.Path(vectors_dir) / "storage"
    for kind in ("commits", "fs", "blocks"):
        for repo_dir in sorted((source / kind).iterdir()):
            shutil.copytree(repo_dir, pathlib.Path(data_dir) / "storage" / kind / repo_dir.name,
                            dirs_exist_ok=True)
    storage = Storage(os.path.join(data_dir, "storage"))
    for repo_id, library in list(state["libraries"].items()):
        if storage.exists("commits", repo_id, library["head"]) and not (
                source / "blocks" / repo_id).exists():
            if not _restore_big_vector_blocks(storage, repo_id, library["head"]):
                print(f"demo: vector library {library['name']} has no blocks; left out")
                del state["libraries"][repo_id]
    return state


# --- the whole demo ----------------------------------------------------------------------------

def _stamp(small, vectors_dir):
    digest = hashlib.sha1()
    for path in _GENERATORS:
        digest.update(pathlib.Path(path).read_bytes())
    return {"code": digest.hexdigest(), "small": small,
            "vectors": str(vectors_dir) if vectors_dir else None}


def _data_size(data_dir):
    return sum(p.stat().st_size for p in pathlib.Path(data_dir, "storage").rglob("*")
               if p.is_file())


def build_demo(data_dir, small=False, vectors_dir=DEFAULT_VECTORS, force=False, log=print):
    """Builds (or keeps, when the stamp matches) the demo data in data_dir. Returns
    {library name: repo id} of the built plaintext demo libraries; the encrypted ones
    (encrypted_library_names) are built too, their ids are demo_repo_id(name)."""
    data_dir = pathlib.Path(data_dir)
    vectors_dir = vectors_dir if vectors_dir and (pathlib.Path(vectors_dir) / "storage").is_dir() \
        else None
    names = library_names(small)
    stamp = _stamp(small, vectors_dir)
    stamp_path = data_dir / STAMP
    if not force and stamp_path.is_file() and json.loads(stamp_path.read_text()) == stamp:
        log(f"demo: data in {data_dir} is up to date")
        return {name: demo_repo_id(name) for name in names}

    started = time.monotonic()
    data_dir.mkdir(parents=True, exist_ok=True)
    stamp_path.unlink(missing_ok=True)
    shutil.rmtree(data_dir / "storage", ignore_errors=True)
    (data_dir / "state.json").unlink(missing_ok=True)
    if vectors_dir:
        state = _copy_vectors(vectors_dir, data_dir)
        log(f"demo: vector libraries from {vectors_dir} ({time.monotonic() - started:.1f} s)")
    else:
        state = {"accounts": json.loads(json.dumps(USERS)), "libraries": {}, "api_tokens": {},
                 "repo_tokens": {}}
        log("demo: no vectors directory; only the generated libraries")
    write_json(data_dir / "state.json", state)

    if cdc.find_tool() is None:
        log("demo: seafs-cdc not built; chunking large files in Python (slow)")
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".demo-src-") as sources:
        for name in names + encrypted_library_names(small):
            step = time.monotonic()
            repo_id = build_library(data_dir, name, sources)
            log(f"demo: {name} {repo_id} ({time.monotonic() - step:.1f} s)")
    write_json(stamp_path, stamp)
    log(f"demo: built in {time.monotonic() - started:.1f} s, "
        f"{_data_size(data_dir) / (1 << 20):.1f} MiB in {data_dir / 'storage'}")
    return {name: demo_repo_id(name) for name in names}


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python3 -m seafserver.demo",
                                     description="Build the deterministic seafs demo libraries.")
    parser.add_argument("--data", required=True, help="data directory of the reference server")
    parser.add_argument("--small", action="store_true",
                        help="skip the 256 MiB files and the 20,000-entry directory")
    parser.add_argument("--vectors", default=str(DEFAULT_VECTORS),
                        help="real-server vectors to include (default: %(default)s)")
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    return builder.run_command("seafserver.demo", lambda: build_demo(
        args.data, small=args.small, vectors_dir=args.vectors, force=args.force))


if __name__ == "__main__":
    sys.exit(main())
