"""net/ (HTTP pool + Seafile client) against the reference server, through the C driver
tests/tools/seafs-netcheck: login, library list, token persistence, the whole metadata of a
library and file contents compared with the vectors' plain files; then with faults injected
(latency, 503 bursts, mid-body resets, a stall, a corrupted block, an unreachable server):
retried requests succeed, corrupted data is rejected, a stall ends in a timeout error within the
configured bound."""
import json
import pathlib
import stat
import subprocess
import time

import pytest

from seafserver.testing import VECTORS_DIR
from seafserver.vectors import state_from_vectors

VECTORS = pathlib.Path(VECTORS_DIR)
REPOS = json.loads((VECTORS / "repos.json").read_text())
MANIFEST = json.loads((VECTORS / "plain-manifest.json").read_text())
USER, PASSWORD = "user@example.com", "secret"
DOCS = REPOS["Docs"]["repo_id"]

# seaf_strerror() texts the driver reports.
AUTH_FAILED = "authentication failed"
CORRUPTED = "content does not match its id (corrupted)"
TIMED_OUT = "timed out"
NETWORK = "network unreachable or connection lost"


@pytest.fixture
def faulty_server(server_factory):
    """A private server over the read-only vectors, so faults never leak into other tests."""
    return server_factory(state=state_from_vectors(VECTORS_DIR), storage=str(VECTORS / "storage"))


def run(tool, server, *command, password=PASSWORD, timeout=120, **options):
    """Runs the driver; returns (result dict, stderr text)."""
    args = [str(tool), "--server", server.url, "--user", USER]
    if password is not None:
        args += ["--password", password]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        args += [flag] if value is True else [flag, str(value)]
    done = subprocess.run(args + [str(c) for c in command], capture_output=True, text=True,
                          timeout=timeout)
    assert done.stdout.strip(), "no output; stderr: %s" % done.stderr
    result = json.loads(done.stdout)
    assert (done.returncode == 0) == result["ok"], done.stderr
    return result, done.stderr


def plain_files(library):
    prefix = library + "/"
    return {"/" + k[len(prefix):]: v for k, v in MANIFEST.items()
            if k.startswith(prefix) and not k.endswith("/")}


# --- normal operation -------------------------------------------------------------------------

def test_login_and_list_libraries(netcheck, vectors_server):
    result, _ = run(netcheck, vectors_server, "repos")
    by_name = {r["name"]: r for r in result["repos"]}
    assert set(by_name) == set(REPOS)
    for name, repo in REPOS.items():
        assert by_name[name]["id"] == repo["repo_id"]
        assert by_name[name]["head"] == repo["head_commit_id"]
        assert by_name[name]["encrypted"] == repo["encrypted"]
    assert by_name["SharedRO"]["read_only"] and by_name["SharedRO"]["type"] == "srepo"
    assert not by_name["Docs"]["read_only"]
    assert by_name["Secret"]["enc_version"] == 2


def test_account_info(netcheck, vectors_server):
    result, _ = run(netcheck, vectors_server, "account")
    assert result["email"] == USER
    assert result["total"] == -2


def test_wrong_password_is_an_auth_error(netcheck, vectors_server):
    result, _ = run(netcheck, vectors_server, "repos", password="wrong")
    assert result["error"] == AUTH_FAILED and result["during"] == "login"


def test_tokens_persist_privately_and_spare_the_login(netcheck, vectors_server, tmp_path):
    tokens = tmp_path / "tokens"
    run(netcheck, vectors_server, "head", DOCS, token_dir=tokens)
    assert stat.S_IMODE(tokens.stat().st_mode) == 0o700
    files = sorted(tokens.iterdir())
    assert len(files) == 2  # the API token and the Docs sync token
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
        assert len(f.read_text().strip()) == 40
    vectors_server.reset_counters()
    result, _ = run(netcheck, vectors_server, "head", DOCS, password=None, token_dir=tokens)
    assert result["head"] == REPOS["Docs"]["head_commit_id"]
    routes = vectors_server.counters()["by_route"]
    assert "POST api2/auth-token" not in routes and "GET api2/download-info" not in routes


def test_debug_log_never_shows_credentials(netcheck, vectors_server, tmp_path):
    result, log = run(netcheck, vectors_server, "head", DOCS, debug=True)
    assert "> GET /seafhttp/repo/%s/commit/HEAD" % DOCS in log
    assert "Seafile-Repo-Token: <redacted>" in log
    assert PASSWORD not in log
    for token in json.loads(json.dumps(vectors_server.state()))["repo_tokens"]:
        assert token not in log


@pytest.mark.parametrize("library", ["Docs", "SharedRO", "Scratch", "Big", "Secret"])
def test_metadata_matches_the_plain_tree(netcheck, vectors_server, library):
    result, _ = run(netcheck, vectors_server, "metadata", REPOS[library]["repo_id"])
    assert result["head"] == REPOS[library]["head_commit_id"]
    expected = plain_files(library)
    assert set(result["files"]) == set(expected)
    for path, entry in result["files"].items():
        if not REPOS[library]["encrypted"]:
            assert entry["size"] == expected[path]["size"], path
        assert (entry["size"] == 0) == (entry["blocks"] == []), path
    for key in MANIFEST:
        if key.startswith(library + "/") and key.endswith("/"):
            assert "/" + key[len(library) + 1:-1] in result["dirs"]
    # The whole tree over one kept-alive connection.
    assert result["connections_opened"] == 1


@pytest.mark.parametrize("path", ["/README.md", "/exact-1MiB.bin", "/1MiB-plus-1.bin",
                                  "/Résumé ü.txt", "/emoji 😀/smile.txt", "/a/b/c/d/e/deep.txt",
                                  "/one-byte.bin", "/empty.txt"])
def test_file_contents_equal_the_plain_files(netcheck, vectors_server, tmp_path, path):
    out = tmp_path / "out"
    result, _ = run(netcheck, vectors_server, "cat", DOCS, path, out, parallel=3)
    assert out.read_bytes() == (VECTORS / "plain" / "Docs" / path.lstrip("/")).read_bytes()
    assert result["bytes"] == out.stat().st_size


# --- faults -----------------------------------------------------------------------------------

def cat_readme(netcheck, server, tmp_path, **options):
    out = tmp_path / "readme"
    result, log = run(netcheck, server, "cat", DOCS, "/README.md", out, **options)
    return result, log, out


def test_latency_is_tolerated(netcheck, faulty_server, tmp_path):
    faulty_server.set_faults(latency_ms=150)
    result, _, out = cat_readme(netcheck, faulty_server, tmp_path)
    assert result["ok"] and out.read_bytes() == (VECTORS / "plain/Docs/README.md").read_bytes()


def test_503_bursts_are_retried(netcheck, faulty_server, tmp_path):
    faulty_server.set_faults(error={"status": 503, "count": 3})
    result, log, out = cat_readme(netcheck, faulty_server, tmp_path)
    assert result["ok"] and result["retries"] == 3
    assert "after HTTP 503" in log
    assert out.read_bytes() == (VECTORS / "plain/Docs/README.md").read_bytes()


def test_pack_fs_errors_are_retried(netcheck, faulty_server):
    faulty_server.set_faults(error={"status": 500, "count": 2, "match": "/pack-fs/"})
    result, _ = run(netcheck, faulty_server, "metadata", DOCS)
    assert result["ok"] and result["objects"] == 206 and result["retries"] == 2


def test_mid_body_resets_are_retried(netcheck, faulty_server, tmp_path):
    faulty_server.set_faults(reset={"at": 0.5, "count": 2, "match": "/block/"})
    result, _ = run(netcheck, faulty_server, "cat", DOCS, "/exact-1MiB.bin", tmp_path / "big")
    assert result["ok"] and result["retries"] == 2
    assert (tmp_path / "big").read_bytes() == (VECTORS / "plain/Docs/exact-1MiB.bin").read_bytes()


def test_corrupted_block_is_rejected(netcheck, faulty_server, tmp_path):
    faulty_server.set_faults(corrupt_block={"block_id": None})
    result, _, _ = cat_readme(netcheck, faulty_server, tmp_path)
    assert result["error"] == CORRUPTED and result["during"] == "blocks"
    assert result["retries"] == 0  # a bad block is not fetched again and again


def test_stall_ends_in_a_timeout_within_the_bound(netcheck, faulty_server, tmp_path):
    faulty_server.set_faults(stall={"after_bytes": 10, "match": "/block/"})
    low_speed_time, retries = 2, 1
    started = time.monotonic()
    result, _, _ = cat_readme(netcheck, faulty_server, tmp_path, low_speed_time=low_speed_time,
                              retries=retries)
    elapsed = time.monotonic() - started
    assert result["error"] == TIMED_OUT and result["during"] == "blocks"
    # Each attempt may last the silence bound plus libcurl's 1 s progress granularity; the one
    # backoff between them is under a second. Generous, but far from "hangs".
    assert elapsed < (retries + 1) * (low_speed_time + 2) + 5


def test_unreachable_server_is_a_network_error(netcheck, faulty_server, tmp_path):
    faulty_server.unreachable()
    try:
        result, _, _ = cat_readme(netcheck, faulty_server, tmp_path, retries=1)
    finally:
        faulty_server.reachable()
    assert result["error"] == NETWORK and result["during"] == "login"


def test_connections_stay_at_the_pool_size(netcheck, faulty_server, tmp_path):
    faulty_server.reset_counters()
    result, _ = run(netcheck, faulty_server, "metadata", DOCS, connections=2)
    assert faulty_server.counters()["connections"] == 1
    faulty_server.reset_counters()
    faulty_server.set_faults(latency_ms=50)
    result, _ = run(netcheck, faulty_server, "blocks", DOCS, "/README.md", connections=2,
                    parallel=6, repeat=30)
    assert result["ok"] and result["requests"] >= 30
    assert faulty_server.counters()["connections"] <= 2
    assert result["connections_opened"] <= 2
