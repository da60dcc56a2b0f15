"""Debian's official Seafile client (seaf-cli / seaf-daemon 8.0.10) against the reference server.

The real client logs in through /api2, fetches download-info, then syncs through /seafhttp
(protocol-version, commit/HEAD, permission-check, commit, fs-id-list, pack-fs, blocks). These
tests let it download the captured vector libraries (incl. Secret, encrypted v2, and SharedRO,
shared read-only) and check that every checked-out tree is byte-identical to its source,
including empty files and empty directories, and that the client uploaded nothing back.
"""

import json
import os
import pathlib
import re
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "server"))

import seafcli  # noqa: E402
from seafserver.testing import VECTORS_DIR, SeafServer, write_state  # noqa: E402
from seafserver.vectors import state_from_vectors  # noqa: E402

pytestmark = pytest.mark.skipif(seafcli.missing_client_reason() is not None,
                                reason=seafcli.missing_client_reason() or "")

VECTORS = pathlib.Path(VECTORS_DIR)
USER, USER_PASSWORD = "user@example.com", "secret"
# Vector libraries whose blocks are all shipped and whose encryption the 8.0.10 client supports
# (Big has no blocks in the vectors; the client refuses enc v4, see INDEX.md).
VECTOR_LIBRARIES = ("Docs", "Secret", "SharedRO", "Scratch")
VECTOR_SYNC_TIMEOUT_S = 120
SERVER_LOG_TAIL = 40
# (method, path regex) of the requests a download by seaf-daemon 8.0.10 must have made
# (see vectors/real-server/client-trace/).
SYNC_REQUESTS = (
    ("POST", r"^/api2/auth-token/$"),
    ("GET", r"^/api2/repos/[0-9a-f-]{36}/download-info/$"),
    ("GET", r"^/seafhttp/protocol-version$"),
    ("GET", r"^/seafhttp/repo/[0-9a-f-]{36}/commit/HEAD$"),
    ("GET", r"^/seafhttp/repo/[0-9a-f-]{36}/permission-check/"),
    ("GET", r"^/seafhttp/repo/[0-9a-f-]{36}/commit/[0-9a-f]{40}$"),
    ("GET", r"^/seafhttp/repo/[0-9a-f-]{36}/fs-id-list/"),
    ("POST", r"^/seafhttp/repo/[0-9a-f-]{36}/pack-fs/$"),
    ("GET", r"^/seafhttp/repo/[0-9a-f-]{36}/block/[0-9a-f]{40}$"),
)
# Paths that would mean the client tried to write to the server (besides any PUT).
UPLOAD_PATHS = r"/(recv-fs|check-fs|check-blocks)/"


def vector_repos():
    with open(VECTORS / "repos.json", encoding="utf-8") as f:
        repos = json.load(f)
    return {name: repos[name] for name in VECTOR_LIBRARIES}


def server_log_tail(server):
    """The last requests the server saw, one per line (for failure messages)."""
    try:
        entries = server.log()[-SERVER_LOG_TAIL:]
    except Exception as exc:  # the server may be the thing that broke
        return f"(request log unavailable: {exc})"
    return "\n".join(f"  {e['method']} {e['path']} -> {e['status']} ({e['bytes_sent']} bytes, "
                     f"{e['outcome']})" for e in entries)


def tree_listing(root, extra_empty_dirs=()):
    """{relative path: None for a directory, else the file's absolute path} under root."""
    root = pathlib.Path(root)
    listing = {rel: None for rel in extra_empty_dirs}
    for dirpath, dirnames, filenames in os.walk(root):
        base = pathlib.Path(dirpath)
        for name in dirnames:
            listing[str((base / name).relative_to(root))] = None
        for name in filenames:
            path = base / name
            listing[str(path.relative_to(root))] = path
    return listing


def same_bytes(a, b, chunk=1 << 20):
    if a.stat().st_size != b.stat().st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            block_a, block_b = fa.read(chunk), fb.read(chunk)
            if block_a != block_b:
                return False
            if not block_a:
                return True


def assert_same_tree(expected_root, actual_root, extra_empty_dirs=()):
    """Same set of files and directories (incl. empty ones), same file types and bytes."""
    expected = tree_listing(expected_root, extra_empty_dirs)
    actual = tree_listing(actual_root)
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    assert not missing and not unexpected, (
        f"{actual_root} differs from {expected_root}: missing {missing[:20]} "
        f"({len(missing)}), unexpected {unexpected[:20]} ({len(unexpected)})")
    kind_differs = sorted(rel for rel in expected if (expected[rel] is None) != (actual[rel] is None))
    assert not kind_differs, f"file/directory mismatch: {kind_differs[:20]}"
    content_differs = sorted(rel for rel, path in expected.items()
                             if path is not None and not same_bytes(path, actual[rel]))
    assert not content_differs, (f"{len(content_differs)} files differ in content, e.g. "
                                 f"{content_differs[:20]}")
    return len(expected)


def manifest_empty_dirs(library):
    """Empty directories of a vector library per plain-manifest.json (plain/ may lack them)."""
    with open(VECTORS / "plain-manifest.json", encoding="utf-8") as f:
        manifest = json.load(f)
    prefix = library + "/"
    return [key[len(prefix):].rstrip("/") for key, entry in manifest.items()
            if key.startswith(prefix) and entry.get("empty_dir")]


@pytest.fixture(scope="module")
def vectors_server_for_client(tmp_path_factory):
    """A server of its own over the read-only vectors storage: the client keeps polling it in
    the background, so it must not share the session-wide vectors server."""
    data = tmp_path_factory.mktemp("official-client-vectors")
    write_state(str(data), state_from_vectors(str(VECTORS)))
    server = SeafServer(str(data), storage=str(VECTORS / "storage"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def official_client():
    client = seafcli.SeafileClient()
    try:
        client.init()
        client.start()
        yield client
    finally:
        client.stop()
        client.remove()


@pytest.fixture(scope="module")
def vector_checkouts(official_client, vectors_server_for_client):
    """Downloads every vector library with the official client; {name: worktree path}."""
    server = vectors_server_for_client
    repos = vector_repos()
    dest = official_client.root / "vectors"
    dest.mkdir()
    started = time.monotonic()
    for repo in repos.values():
        official_client.download(repo["repo_id"], server.url, dest, USER, USER_PASSWORD,
                                 library_password=repo["password"])
    paths = official_client.wait_synchronized(
        {repo["repo_id"]: name for name, repo in repos.items()}, VECTOR_SYNC_TIMEOUT_S,
        server_log=lambda: server_log_tail(server))
    print(f"official client synced {len(repos)} vector libraries in "
          f"{time.monotonic() - started:.1f} s")
    return {name: paths[repo["repo_id"]] for name, repo in repos.items()}


@pytest.mark.parametrize("library", VECTOR_LIBRARIES)
def test_official_client_downloads_vector_library_byte_identical(library, vector_checkouts):
    checked = assert_same_tree(VECTORS / "plain" / library, vector_checkouts[library],
                               manifest_empty_dirs(library))
    assert checked == len(tree_listing(vector_checkouts[library])) > 0


def test_official_client_checkout_names_libraries_by_name(vector_checkouts):
    assert {path.name for path in vector_checkouts.values()} == set(VECTOR_LIBRARIES)


def test_official_client_used_the_sync_protocol_and_uploaded_nothing(
        vector_checkouts, vectors_server_for_client):
    log = vectors_server_for_client.log()
    for method, path in SYNC_REQUESTS:
        assert any(e["method"] == method and re.search(path, e["path"]) for e in log), (
            f"the client never sent {method} {path}")
    uploads = [e for e in log if e["method"] == "PUT" or re.search(UPLOAD_PATHS, e["path"])]
    assert not uploads, f"the client uploaded to the server after a plain download: {uploads[:10]}"
    failures = [e for e in log if e["status"] >= 500]
    assert not failures, f"server errors during the client's sync: {failures[:10]}"


def test_official_client_refuses_encrypted_library_with_wrong_password(
        vectors_server_for_client):
    secret = vector_repos()["Secret"]
    client = seafcli.SeafileClient()
    try:
        client.init()
        client.start()
        with pytest.raises(seafcli.SeafCliError, match="(?i)incorrect password"):
            client.download(secret["repo_id"], vectors_server_for_client.url, client.root, USER,
                            USER_PASSWORD, library_password="not-the-password")
        assert client.local_libraries() == {}
    finally:
        client.stop()
        client.remove()
