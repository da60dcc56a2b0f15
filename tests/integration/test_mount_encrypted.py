"""Encrypted libraries through a real mount: locked until unlocked (EACCES, listing works),
then byte-identical to their plain files -- the vectors' Secret (enc v2) and Secret4 (enc v4)
and the builder's v1, v3 and pwd_hash (pbkdf2_sha256, argon2id) libraries --, wrong passwords
refused, `seafs lock` locking again, keys saved only with -o save_keys (mode 0600), unlocking
offline from the cache, and the cache holding ciphertext only (a known plaintext is searched for
in every cache file)."""

import concurrent.futures
import errno
import json
import os
import pathlib
import random
import stat
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (assert_same_tree, block_gets, ctl, mount_factory,  # noqa: E402
                           small_demo_server, unlock, vector_empty_dirs)
from seafserver import demo  # noqa: E402
from seafserver.testing import VECTORS_DIR  # noqa: E402
from seafserver.vectors import FILE_KEYS  # noqa: E402

assert mount_factory and small_demo_server  # fixtures, used by name
VECTORS = pathlib.Path(VECTORS_DIR)
REPOS = json.loads((VECTORS / "repos.json").read_text())


def save_key(mount, library, mode=0o600):
    """Writes the saved-key file of a vector library (state_dir/keys/<repo id>, as `-o save_keys`
    keeps it: "v<enc_version>:<key hex>:<iv hex>") with `mode`, before the mount starts; returns
    its path."""
    repo = REPOS[library]
    key, iv = FILE_KEYS[library]
    keys_dir = mount.state_dir / "keys"
    keys_dir.mkdir(parents=True, mode=0o700, exist_ok=True)
    path = keys_dir / repo["repo_id"]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "w") as f:
        f.write("v%d:%s:%s\n" % (repo["enc_version"], key, iv))
    os.chmod(path, mode)  # whatever the umask
    return path


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


@pytest.mark.parametrize("library", sorted(FILE_KEYS))
def test_saved_key_unlocks_at_mount_and_reads_vectors(library, small_demo_server, mount_factory):
    """-o save_keys: a key saved by an earlier mount (state_dir/keys/<repo id>, 0600) unlocks
    the library at start; every file then reads byte-identical to the vectors' plain/, and the
    cache holds only ciphertext."""
    server, _ = small_demo_server
    mount = mount_factory(server, start=False, save_keys=True)
    save_key(mount, library)
    mount.start()
    count = assert_same_tree(VECTORS / "plain" / library, mount.path(library),
                             check_mtimes=False, extra_empty_dirs=vector_empty_dirs(library))
    assert count >= 4
    assert_no_plaintext_in_cache(mount, long_plaintexts(library))


def test_saved_key_readable_by_others_is_ignored(small_demo_server, mount_factory):
    server, _ = small_demo_server
    mount = mount_factory(server, start=False, save_keys=True)
    key_file = save_key(mount, "Secret", mode=0o644)
    mount.start()
    with pytest.raises(OSError) as error:
        mount.path("Secret", "hello.txt").read_bytes()
    assert error.value.errno == errno.EACCES
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o644


# --- unlocking through `seafs unlock` -----------------------------------------------------------

PASSWORD = demo.DEMO_PASSWORD
SMALL_ENCRYPTED = demo.encrypted_library_names(small=True)
MULTI = "multi-block.bin"
MULTI_BLOCK_SIZES = (7066363, 10485760, 8435079, 239543)  # demo.py docstring


@pytest.fixture(scope="module")
def encrypted_sources(tmp_path_factory):
    """{library: local copy of the plaintext tree it must show}."""
    root = tmp_path_factory.mktemp("encrypted-sources")
    sources = {}
    for name in SMALL_ENCRYPTED:
        demo.write_source(name, root / name)
        sources[name] = root / name
    return sources


@pytest.mark.parametrize("library", SMALL_ENCRYPTED)
def test_builder_library_locked_then_unlocked_reads_identical(library, small_demo_server,
                                                              mount_factory, encrypted_sources):
    """v1, v3 and v4 with pwd_hash (pbkdf2_sha256, argon2id): listable with plaintext sizes while
    locked, EACCES on read; after `seafs unlock` every file is byte-identical, and no cache file
    contains the plaintext marker."""
    server, _ = small_demo_server
    mount = mount_factory(server)
    source = encrypted_sources[library]
    assert sorted(os.listdir(mount.path(library))) == sorted(os.listdir(source))
    assert os.stat(mount.path(library, MULTI)).st_size == os.stat(source / MULTI).st_size
    with pytest.raises(PermissionError):
        mount.path(library, "marker.txt").read_bytes()
    done = unlock(mount, library)
    assert done.returncode == 0, done.stderr
    count = assert_same_tree(source, mount.path(library))
    assert count >= 10
    assert_no_plaintext_in_cache(mount, [demo.MARKER, (source / MULTI).read_bytes()[5000:5032]])


def test_wrong_password_keeps_the_library_locked(small_demo_server, mount_factory):
    server, _ = small_demo_server
    mount = mount_factory(server)
    for library in ("Secret4", "Encrypted v4 pbkdf2", "Encrypted v1", "Encrypted v3"):
        done = unlock(mount, library, PASSWORD + "x")
        assert done.returncode == 1, (library, done.stdout)
        assert "wrong password" in done.stderr, (library, done.stderr)
        with pytest.raises(PermissionError):
            next(p for p in mount.path(library).rglob("*") if p.is_file()
                 and p.stat().st_size > 0).read_bytes()


def multi_block_mount(small_demo_server, mount_factory, **options):
    server, _ = small_demo_server
    mount = mount_factory(server, **options)
    done = unlock(mount, "Encrypted v4 pbkdf2")
    assert done.returncode == 0, done.stderr
    return server, mount, mount.path("Encrypted v4 pbkdf2", MULTI)


def test_a_read_near_the_end_fetches_only_the_last_block(small_demo_server, mount_factory,
                                                        encrypted_sources):
    """Cold, no read-ahead: 4 KiB near the end of a 4-block encrypted file is placed from the
    file size and the last block's padding -- one block download, not the whole file."""
    server, mount, path = multi_block_mount(small_demo_server, mount_factory, readahead=0)
    expected = (encrypted_sources["Encrypted v4 pbkdf2"] / MULTI).read_bytes()
    server.reset_counters()
    with open(path, "rb") as f:
        f.seek(len(expected) - 5000)
        assert f.read(4096) == expected[-5000:-5000 + 4096]
    gets = block_gets(server)
    assert sum(gets.values()) == 1, gets
    server.reset_counters()
    with open(path, "rb") as f:  # and the first block for a read at the start
        assert f.read(4096) == expected[:4096]
    assert sum(block_gets(server).values()) == 1


def test_random_reads_across_block_boundaries(small_demo_server, mount_factory,
                                             encrypted_sources):
    """Cold cache, reads at random offsets and across every block boundary (plaintext offsets,
    not ciphertext ones), from 8 threads at once, all byte-exact."""
    _, mount, path = multi_block_mount(small_demo_server, mount_factory)
    expected = (encrypted_sources["Encrypted v4 pbkdf2"] / MULTI).read_bytes()
    rng = random.Random(7)
    spots = []
    boundary = 0
    for size in MULTI_BLOCK_SIZES[:-1]:
        boundary += size
        spots += [(boundary - 1, 2), (boundary - 17, 40), (boundary - 4096, 8192), (boundary, 1)]
    spots += [(rng.randrange(len(expected)), rng.choice((1, 15, 16, 4096, 70000)))
              for _ in range(200)]
    spots += [(len(expected) - 1, 1), (len(expected) - 20, 100), (0, 1)]
    rng.shuffle(spots)

    def check(part):
        fd = os.open(path, os.O_RDONLY)
        try:
            for offset, length in part:
                got = os.pread(fd, length, offset)
                assert got == expected[offset:offset + length], (offset, length)
        finally:
            os.close(fd)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(check, [spots[i::8] for i in range(8)]))


def test_lock_stops_reads_of_open_files(small_demo_server, mount_factory, encrypted_sources):
    """After `seafs lock`, a file opened while unlocked gets EACCES too (its cached pages are
    dropped), and new opens are refused."""
    _, mount, path = multi_block_mount(small_demo_server, mount_factory)
    expected = (encrypted_sources["Encrypted v4 pbkdf2"] / MULTI).read_bytes()
    with open(path, "rb", buffering=0) as f:
        assert f.read(1 << 20) == expected[:1 << 20]
        done = ctl("lock", mount.mountpoint, "Encrypted v4 pbkdf2")
        assert done.returncode == 0, done.stderr
        f.seek(0)
        with pytest.raises(PermissionError):
            f.read(4096)
    with pytest.raises(PermissionError):
        path.read_bytes()


def test_keys_stay_in_memory_unless_save_keys(small_demo_server, mount_factory,
                                              encrypted_sources):
    """Without save_keys, unlocking writes no key anywhere under the state or cache directory
    and a remount starts locked. With save_keys, the key file is 0600 in a 0700 directory, a
    remount starts unlocked, and `seafs lock` deletes it."""
    server, _ = small_demo_server
    library = "Encrypted v3"
    expected = (encrypted_sources[library] / "marker.txt").read_bytes()
    mount = mount_factory(server, name="memory")
    assert unlock(mount, library).returncode == 0
    assert mount.path(library, "marker.txt").read_bytes() == expected
    assert not (mount.state_dir / "keys").exists()
    mount.stop()
    mount.start()
    with pytest.raises(PermissionError):
        mount.path(library, "marker.txt").read_bytes()

    saving = mount_factory(server, name="saving", save_keys=True)
    assert unlock(saving, library).returncode == 0
    key_file = saving.state_dir / "keys" / demo.demo_repo_id(library)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    saving.stop()
    saving.start()
    assert saving.path(library, "marker.txt").read_bytes() == expected
    assert ctl("lock", saving.mountpoint, library).returncode == 0
    assert not key_file.exists()


def test_unlock_and_read_offline_from_the_cache(fault_server, mount_factory):
    """The password check needs no server: after a first session cached the metadata and the
    blocks of Secret, a mount started while the server is down unlocks it (the head commit comes
    from the cache) and reads every file; a wrong password is still refused."""
    server = fault_server
    mount = mount_factory(server, connect_timeout=2, timeout=3)
    assert unlock(mount, "Secret").returncode == 0
    source = VECTORS / "plain" / "Secret"
    assert_same_tree(source, mount.path("Secret"), check_mtimes=False,
                     extra_empty_dirs=vector_empty_dirs("Secret"))
    assert mount.stop() == ""
    server.stop()
    mount.start()
    with pytest.raises(PermissionError):
        mount.path("Secret", "hello.txt").read_bytes()
    done = unlock(mount, "Secret", "not-the-password")
    assert done.returncode == 1 and "wrong password" in done.stderr, done.stderr
    assert unlock(mount, "Secret").returncode == 0
    count = assert_same_tree(source, mount.path("Secret"), check_mtimes=False,
                             extra_empty_dirs=vector_empty_dirs("Secret"))
    assert count >= 6
