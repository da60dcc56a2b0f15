"""Replays every request captured from the real seaf-server (http/REQUESTS.tsv) against the
reference server serving the same storage with the captured tokens, and compares the answers:
status codes, reason phrases, Content-Type, and byte-identical bodies (Seahub answers compared
as JSON, except the freshly minted sync token of download-info)."""
import json
import pathlib
import re

import pytest

from replay import load_captures, send
from seafserver.testing import VECTORS_DIR
from seafserver.vectors import DOCS_REPO_ID, captured_ids, web_token_entry

CAPTURES = load_captures(pathlib.Path(VECTORS_DIR))
IDS = captured_ids(VECTORS_DIR)
DOCS = DOCS_REPO_ID
# The one-time web token is used up by its first download; it is re-armed before each replay.
ONE_TIME_WEB_DOWNLOAD = "web-files-download"
# Headers whose captured value depends on the time of the capture.
TIME_HEADERS = {"last-modified", "date", "server"}
# Captured while the owner's quota was set to 1000 bytes (see the TSV note).
QUOTA_FOR = {"quota-check-over": ("other@example.com", 1000)}


def _replay(server, capture, bare_fileserver):
    if capture.via_seahub_port:
        port, target = server.port, capture.target
    elif bare_fileserver:
        port, target = server.ports["fileserver_port"], capture.target
    else:
        port, target = server.port, "/seafhttp" + capture.target
    if capture.name == ONE_TIME_WEB_DOWNLOAD:
        server.set_web_token(IDS["WT"], web_token_entry(IDS, DOCS))
    quota = QUOTA_FOR.get(capture.name)
    if quota:
        server.set_account(quota[0], quota=quota[1])
    try:
        return send(port, capture.method, target, capture.headers, capture.body)
    finally:
        if quota:
            server.set_account(quota[0], quota=-2)


def _is_seahub_json(capture):
    return capture.response_headers.get("content-type", "").startswith("application/json")


def _cases():
    """Seahub captures once; file-server captures on the bare port and under /seafhttp."""
    for capture in CAPTURES:
        if capture.via_seahub_port:
            yield pytest.param(capture, False, id=capture.name)
        else:
            yield pytest.param(capture, True, id=capture.name + "-bare-port")
            yield pytest.param(capture, False, id=capture.name + "-seafhttp")


@pytest.mark.parametrize("capture,bare_fileserver", list(_cases()))
def test_replay_matches_capture(vectors_server, capture, bare_fileserver):
    status, reason, headers, body = _replay(vectors_server, capture, bare_fileserver)
    assert status == capture.status
    if status in (443, 444):
        assert reason == "DERP"
    assert headers.get("content-type") == capture.response_headers.get("content-type")
    assert int(headers["content-length"]) == len(body)
    if _is_seahub_json(capture):
        expected, got = json.loads(capture.response_body), json.loads(body)
        if capture.name.startswith("shim-download-info"):
            assert re.fullmatch(r"[0-9a-f]{40}", got.pop("token"))
            expected.pop("token")
        assert got == expected
        for header in ("www-authenticate", "enable_encrypted_library"):
            assert headers.get(header) == capture.response_headers.get(header)
    else:
        assert body == capture.response_body
        expected_headers = {k: v for k, v in capture.response_headers.items() if k not in TIME_HEADERS}
        assert {k: v for k, v in headers.items() if k not in TIME_HEADERS} == expected_headers


def test_every_capture_is_replayed():
    """Every captured response (http/*.http) has its request loaded, once; Seahub ones are
    replayed once, file-server ones on both ports."""
    captured = {p.stem for p in pathlib.Path(VECTORS_DIR, "http").glob("*.http")}
    names = [c.name for c in CAPTURES]
    assert sorted(names) == sorted(captured) and len(captured) >= 60
    seahub = sum(1 for c in CAPTURES if c.via_seahub_port)
    assert 0 < seahub < len(CAPTURES)
    case_ids = [case.id for case in _cases()]
    assert len(case_ids) == len(set(case_ids)) == seahub + 2 * (len(CAPTURES) - seahub)


def test_download_info_mints_a_working_token_each_call(vectors_server):
    docs = DOCS_REPO_ID
    auth = {"Authorization": "Token c7c9bdccbe007033b1d232dd8fcae2e4a6bdec79"}
    tokens = []
    for _ in range(2):
        status, _r, _h, body = send(vectors_server.port, "GET", "/api2/repos/%s/download-info/" % docs, auth)
        assert status == 200
        tokens.append(json.loads(body)["token"])
    assert tokens[0] != tokens[1]
    for token in tokens:
        status, _r, _h, body = send(vectors_server.port, "GET", "/seafhttp/repo/%s/commit/HEAD" % docs,
                                    {"Seafile-Repo-Token": token})
        assert status == 200 and b"549115324a52afbcae8894c85814f1b3723b07c5" in body
