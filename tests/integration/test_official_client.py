"""Debian's official Seafile client (seaf-cli / seaf-daemon 8.0.10) against the reference server.

The real client logs in through /api2, fetches download-info, then syncs through /seafhttp
(protocol-version, commit/HEAD, permission-check, commit, fs-id-list, pack-fs, blocks). The
server holds the demo data (seafserver.demo, built once and cached by mount_fixture.demo_data,
its storage shared and never written: every generated demo library, incl. the 256 MiB
file, 10,000 files, the 20,000-entry directory and the read-only / read-write shares, plus the
captured vector libraries); the client downloads every unencrypted demo library and the vector
libraries Docs, Secret (encrypted v2), SharedRO (shared read-only) and Scratch. Every checked-out
tree must be byte-identical to its source, including empty files and empty directories, and the
client must upload nothing back. SEAFS_OFFICIAL_CLIENT_SMALL_DEMO=1 uses the small demo.
"""

import json
import os
import pathlib
import re
import stat
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import mount_fixture  # noqa: E402
import seafcli  # noqa: E402
from mount_fixture import assert_same_tree, tree_entries, vector_empty_dirs  # noqa: E402
# seafserver is importable through conftest.py, which puts tests/server on sys.path.
from seafserver import demo  # noqa: E402
from seafserver.testing import VECTORS_DIR  # noqa: E402

pytestmark = pytest.mark.skipif(seafcli.missing_client_reason() is not None,
                                reason=seafcli.missing_client_reason() or "")

VECTORS = pathlib.Path(VECTORS_DIR)
USER, USER_PASSWORD = "user@example.com", "secret"
# Vector libraries whose blocks are all shipped and whose encryption the 8.0.10 client supports
# (Big has no blocks in the vectors; the client refuses enc v4, see INDEX.md).
VECTOR_LIBRARIES = ("Docs", "Secret", "SharedRO", "Scratch")
SMALL_DEMO = os.environ.get("SEAFS_OFFICIAL_CLIENT_SMALL_DEMO") == "1"
# Generous: the full demo is ~31,000 files and 350 MiB; a stuck client fails long before.
SYNC_TIMEOUT_S = 900
# Fail earlier when neither the client's status nor the server's request count moves this long.
STALL_TIMEOUT_S = 180
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


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """A server of its own over the cached demo data (mount_fixture.demo_data, vector libraries
    included; its storage read-only, the state a private copy): the client keeps polling it in
    the background, so it must not share the session-wide vectors server. The client only
    downloads, and any upload it tried would show in the request log (checked below)."""
    data, demo_ids = mount_fixture.demo_data(small=SMALL_DEMO)
    server = mount_fixture.demo_server(data, tmp_path_factory.mktemp("official-client-demo"))
    try:
        yield server, demo_ids
    finally:
        server.stop()


@pytest.fixture(scope="module")
def demo_sources(tmp_path_factory, demo_server):
    """{demo library name: local source tree}, regenerated exactly as the demo built them."""
    root = tmp_path_factory.mktemp("official-client-demo-sources")
    sources = {}
    for name in demo_server[1]:
        sources[name] = root / name
        demo.write_source(name, sources[name])
    return sources


@pytest.fixture(scope="module")
def official_client(demo_server):
    """One client for all downloads; depends on the server so that it is stopped first."""
    client = seafcli.SeafileClient()
    try:
        client.init()
        client.start()
        yield client
    finally:
        client.stop()
        client.remove()


@pytest.fixture(scope="module")
def checkouts(official_client, demo_server):
    """Downloads every demo and vector library with the official client, all at once, and waits
    until the client reports them synchronized; {library name: worktree path}."""
    server, demo_ids = demo_server
    wanted = {name: (repo_id, None) for name, repo_id in demo_ids.items()}
    wanted.update({name: (repo["repo_id"], repo["password"])
                   for name, repo in vector_repos().items()})
    dest = official_client.root / "libraries"
    dest.mkdir()
    started = time.monotonic()
    for repo_id, password in wanted.values():
        official_client.download(repo_id, server.url, dest, USER, USER_PASSWORD,
                                 library_password=password)
    paths = official_client.wait_synchronized(
        {repo_id: name for name, (repo_id, _) in wanted.items()}, SYNC_TIMEOUT_S,
        server_log=lambda: server_log_tail(server),
        progress=lambda: server.counters()["requests"], stall_timeout_s=STALL_TIMEOUT_S)
    print(f"\nofficial client synced {len(wanted)} libraries "
          f"({'small' if SMALL_DEMO else 'full'} demo) in {time.monotonic() - started:.1f} s")
    return {name: paths[repo_id] for name, (repo_id, _) in wanted.items()}


def test_demo_has_the_libraries_the_issue_asks_for(demo_server):
    server, demo_ids = demo_server
    assert {"Demo", "Many Files", "Shared Read-Only", "Shared Read-Write"} <= set(demo_ids)
    if not SMALL_DEMO:
        assert {"Big File", "Wide Directory"} <= set(demo_ids)
    libraries = server.state()["libraries"]
    assert not any(libraries[repo_id]["encrypted"] for repo_id in demo_ids.values())
    shared = libraries[demo_ids["Shared Read-Only"]]
    assert shared["owner"] != USER and shared["shares"] == {USER: "r"}


def test_demo_sources_hold_empty_files_and_empty_dirs(demo_sources):
    entries = tree_entries(demo_sources["Demo"])
    empty_files = [rel for rel, st in entries.items()
                   if stat.S_ISREG(st.st_mode) and st.st_size == 0]
    empty_dirs = [rel for rel, st in entries.items()
                  if stat.S_ISDIR(st.st_mode) and not any((demo_sources["Demo"] / rel).iterdir())]
    assert empty_files and empty_dirs


@pytest.mark.parametrize("library", demo.library_names(SMALL_DEMO))
def test_official_client_downloads_demo_library_byte_identical(library, checkouts, demo_sources):
    # Only file mtimes are the client's to apply (checked below), not directory ones.
    checked = assert_same_tree(demo_sources[library], checkouts[library], check_mtimes=False)
    assert checked > 0


def test_official_client_gives_files_the_source_mtimes(checkouts, demo_sources):
    """The builder stores each file's mtime in its dirent; the client applies it on checkout."""
    differ = []
    for name, source in demo_sources.items():
        for rel, st in tree_entries(source).items():
            if stat.S_ISREG(st.st_mode):
                want, got = int(st.st_mtime), int((checkouts[name] / rel).stat().st_mtime)
                if want != got:
                    differ.append((name, rel, want, got))
    assert not differ, f"{len(differ)} files with another mtime, e.g. {differ[:10]}"


@pytest.mark.parametrize("library", VECTOR_LIBRARIES)
def test_official_client_downloads_vector_library_byte_identical(library, checkouts):
    checked = assert_same_tree(VECTORS / "plain" / library, checkouts[library],
                               check_mtimes=False, extra_empty_dirs=vector_empty_dirs(library))
    assert checked > 0


def test_official_client_names_worktrees_after_the_libraries(checkouts):
    assert {name: path.name for name, path in checkouts.items()} == {
        name: name for name in checkouts}


def test_official_client_used_the_sync_protocol_and_uploaded_nothing(checkouts, demo_server):
    server = demo_server[0]
    counted = server.counters()["requests"]
    log = server.log()
    assert len(log) >= counted, "the request log is truncated, so these checks would be partial"
    for method, path in SYNC_REQUESTS:
        assert any(e["method"] == method and re.search(path, e["path"]) for e in log), (
            f"the client never sent {method} {path}")
    uploads = [e for e in log if e["method"] == "PUT" or re.search(UPLOAD_PATHS, e["path"])]
    assert not uploads, f"the client uploaded to the server after a plain download: {uploads[:10]}"
    failures = [e for e in log if e["status"] >= 500]
    assert not failures, f"server errors during the client's sync: {failures[:10]}"


def test_official_client_refuses_encrypted_library_with_wrong_password(fault_server):
    server = fault_server  # the vector libraries only: no demo data needed
    secret = vector_repos()["Secret"]
    client = seafcli.SeafileClient()
    try:
        client.init()
        client.start()
        with pytest.raises(seafcli.SeafCliError, match="(?i)incorrect password"):
            client.download(secret["repo_id"], server.url, client.root, USER,
                            USER_PASSWORD, library_password="not-the-password")
        assert client.local_libraries() == {}
    finally:
        client.stop()
        client.remove()


def test_client_failure_is_reported_with_both_logs(fault_server):
    """A block GET answered 500 makes the client give up; the driver must fail at once with the
    client's error, the daemon log and the server's request log (what a failing run shows)."""
    server = fault_server
    server.set_faults(error={"status": 500, "match": "/block/"})
    docs = vector_repos()["Docs"]
    client = seafcli.SeafileClient()
    try:
        client.init()
        client.start()
        client.download(docs["repo_id"], server.url, client.root, USER, USER_PASSWORD)
        with pytest.raises(seafcli.SeafCliError) as failure:
            client.wait_synchronized({docs["repo_id"]: "Docs"}, STALL_TIMEOUT_S,
                                     server_log=lambda: server_log_tail(server))
    finally:
        client.stop()
        client.remove()
    message = str(failure.value)
    assert "client reported errors" in message and "Docs" in message
    assert "seafile.log" in message and "/block/" in message and "-> 500" in message
