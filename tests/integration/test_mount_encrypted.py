"""Encrypted libraries through a real mount: locked until unlocked (EACCES, listing works),
then byte-identical to their plain files -- the vectors' Secret (enc v2) and Secret4 (enc v4)
and the builder's v1, v3 and pwd_hash (pbkdf2_sha256, argon2id) libraries --, wrong passwords
refused, `seafs lock` locking again, keys saved only with -o save_keys (mode 0600), and the
cache holding ciphertext only (a known plaintext is searched for in every cache file)."""

import errno
import os
import pathlib
import stat
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (assert_same_tree, mount_factory, small_demo_server,  # noqa: E402
                           vector_empty_dirs)
from seafserver.testing import VECTORS_DIR  # noqa: E402

assert mount_factory and small_demo_server  # fixtures, used by name
VECTORS = pathlib.Path(VECTORS_DIR)
# File keys of the vectors' encrypted libraries (INDEX.md, "Encryption").
VECTOR_KEYS = {
    "Secret": ("c8d1b0af-b71e-4f9c-8c07-9aa91e318d46", 2,
               "2c5c08abc37c1faa02e3ef7294e53ef6cbc41c0b99e97e9f57f3849d98f0fed3",
               "8938bafc4590cb809460c1c59b867da8"),
    "Secret4": ("a853beaf-b5c5-4549-bd5b-2a90a4a70331", 4,
                "ea821b922a8c56a152c4f61fa66345e7f6e60dac40e0ef916ce5db398301c97e",
                "8466b62fca898acf91bf61e93510a72b"),
}


def cache_files(mount):
    return [p for p in pathlib.Path(mount.cache_dir).rglob("*") if p.is_file()]


def assert_no_plaintext_in_cache(mount, plaintexts):
    """No cache file (block files, index, metadata) contains any of the plaintexts."""
    files = cache_files(mount)
    assert files, "the cache is empty"
    for path in files:
        data = path.read_bytes()
        for text in plaintexts:
            assert text not in data, "plaintext found in cache file %s" % path


def long_plaintexts(library, min_size=32):
    """Distinctive 32-byte pieces of the library's plain files (middle of each file)."""
    pieces = []
    for path in sorted((VECTORS / "plain" / library).rglob("*")):
        data = path.read_bytes() if path.is_file() else b""
        if len(data) >= min_size:
            middle = len(data) // 2
            pieces.append(data[middle - min_size // 2: middle + min_size // 2])
    return pieces


@pytest.mark.parametrize("library", sorted(VECTOR_KEYS))
def test_saved_key_unlocks_at_mount_and_reads_vectors(library, small_demo_server, mount_factory):
    """-o save_keys: a key saved by an earlier mount (state_dir/keys/<repo id>, 0600) unlocks
    the library at start; every file then reads byte-identical to the vectors' plain/, and the
    cache holds only ciphertext."""
    server, _ = small_demo_server
    mount = mount_factory(server, start=False, save_keys=True)
    repo_id, version, key, iv = VECTOR_KEYS[library]
    keys_dir = mount.state_dir / "keys"
    keys_dir.mkdir(parents=True, mode=0o700)
    fd = os.open(keys_dir / repo_id, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("v%d:%s:%s\n" % (version, key, iv))
    mount.start()
    count = assert_same_tree(VECTORS / "plain" / library, mount.path(library),
                             check_mtimes=False, extra_empty_dirs=vector_empty_dirs(library))
    assert count >= 4
    assert_no_plaintext_in_cache(mount, long_plaintexts(library))


def test_saved_key_readable_by_others_is_ignored(small_demo_server, mount_factory):
    server, _ = small_demo_server
    mount = mount_factory(server, start=False, save_keys=True)
    repo_id, version, key, iv = VECTOR_KEYS["Secret"]
    keys_dir = mount.state_dir / "keys"
    keys_dir.mkdir(parents=True, mode=0o700)
    (keys_dir / repo_id).write_text("v%d:%s:%s\n" % (version, key, iv))
    os.chmod(keys_dir / repo_id, 0o644)
    mount.start()
    with pytest.raises(OSError) as error:
        mount.path("Secret", "hello.txt").read_bytes()
    assert error.value.errno == errno.EACCES
    assert stat.S_IMODE(os.stat(keys_dir / repo_id).st_mode) == 0o644
