"""What seafs uploads is what Debian's official Seafile client (seaf-cli / seaf-daemon 8.0.10)
understands: a mount writes into the vector libraries Scratch (plain) and Secret (encrypted,
version 2: blocks encrypted locally by seafs), new files, an edit in the middle of a file of
several blocks, a rename, a deletion and a new folder, and syncs; then the official client
downloads both libraries and its worktrees must be byte-identical to what the mount shows. The
cache of the encrypted library must hold no plaintext of what was written."""

import json
import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import seafcli  # noqa: E402
from mount_fixture import USER, PASSWORD, ctl, mount_factory, tree_entries, unlock  # noqa: E402
from seafserver.testing import VECTORS_DIR  # noqa: E402

pytestmark = pytest.mark.skipif(seafcli.missing_client_reason() is not None,
                                reason=seafcli.missing_client_reason() or "")
assert mount_factory  # fixture, used by name
SYNC_TIMEOUT_S = 300
MARKERS = {"Scratch": b"plain-marker-2b81e0", "Secret": b"plaintext-marker-7f3a9c"}


@pytest.fixture
def server(server_factory):
    return server_factory(copy_vectors=True)


def vector_repos():
    with open(pathlib.Path(VECTORS_DIR) / "repos.json", encoding="utf-8") as f:
        return json.load(f)


def write_changes(lib, seed, marker):
    rng = __import__("random").Random(seed)
    existing = sorted(p for p in lib.rglob("*") if p.is_file())
    (lib / "seafs new.txt").write_bytes(marker + b" new file\n")
    (lib / "seafs dir" / "deeper").mkdir(parents=True)
    big = bytes(rng.getrandbits(8) for _ in range(64 * 1024)) * 200  # 12.5 MiB, a few blocks
    (lib / "seafs dir" / "deeper" / "big.bin").write_bytes(big)
    with open(lib / "seafs dir" / "deeper" / "big.bin", "r+b") as f:
        f.seek(5 * 1024 * 1024 + 17)
        f.write(marker * 100)  # an edit in the middle
    if existing:
        with open(existing[0], "ab") as f:
            f.write(marker + b" appended\n")
    if len(existing) > 1:
        os.rename(existing[1], lib / ("renamed " + existing[1].name))
    if len(existing) > 2:
        os.unlink(existing[2])
    (lib / "empty").write_bytes(b"")


def contents(root):
    """{relative path: bytes or "dir"} of a tree, the client's metadata folder left out."""
    out = {}
    for rel, st in tree_entries(root).items():
        if rel.split("/")[0].startswith(".seafile"):
            continue
        out[rel] = "dir" if os.path.isdir(os.path.join(root, rel)) else \
            pathlib.Path(root, rel).read_bytes()
    return out


def test_official_client_downloads_what_seafs_uploaded(server, mount_factory):
    repos = vector_repos()
    mount = mount_factory(server, upload_delay=3600, poll_interval=0)
    assert unlock(mount, "Secret", repos["Secret"]["password"]).returncode == 0
    for seed, name in enumerate(("Scratch", "Secret")):
        write_changes(mount.path(name), seed, MARKERS[name])
    done = ctl("sync", mount.mountpoint, "--timeout", "120", timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    want = {name: contents(mount.path(name)) for name in ("Scratch", "Secret")}
    # No plaintext of the encrypted library in the cache (blocks, staging, journal); the same
    # scan finds the plain library's marker (so it can see plaintext where there is some).
    found = {name: [] for name in MARKERS}
    for path in mount.cache_dir.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for name, marker in MARKERS.items():
                if marker in data:
                    found[name].append(path)
    assert found["Secret"] == [] and found["Scratch"], found

    client = seafcli.SeafileClient()  # a short root of its own (the daemon's socket path)
    try:
        client.init()
        client.start()
        dest = client.root / "libraries"
        dest.mkdir()
        wanted = {repos[name]["repo_id"]: name for name in ("Scratch", "Secret")}
        for repo_id, name in wanted.items():
            client.download(repo_id, server.url, dest, USER, PASSWORD,
                            library_password=repos[name].get("password"))
        paths = client.wait_synchronized(wanted, SYNC_TIMEOUT_S)
        for repo_id, name in wanted.items():
            got = contents(paths[repo_id])
            assert sorted(got) == sorted(want[name]), name
            for rel in want[name]:
                assert got[rel] == want[name][rel], "%s/%s differs" % (name, rel)
    finally:
        client.stop()
        client.remove()
