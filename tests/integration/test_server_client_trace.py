"""Replays the official Seafile client's whole session (vectors/real-server/client-trace: login,
three library downloads, then an upload to Scratch and an encrypted upload to Secret) against
the reference server, starting from the heads the libraries had when the trace began and with
the objects the client uploaded removed from a copy of the storage. Every answer must match the
captured one: status, Content-Type and body (Seahub JSON compared as JSON, apart from the newly
minted sync token)."""
import hashlib
import json
import pathlib
import re
import shutil

import pytest

from replay import load_exchanges, send
from seafserver.testing import VECTORS_DIR, SeafServer, write_state
from seafserver.vectors import state_from_vectors

TRACE = pathlib.Path(VECTORS_DIR) / "client-trace"
# The shim answered the client's notification-server probe itself (401); a Seafile deployment
# without a notification server answers 404, as the reference server does.
NOT_REPLAYED = {"notification/ping"}
OMITTED = re.compile(rb"^\[body omitted: (\d+) bytes, sha1 ([0-9a-f]{40})\]$")


def exchanges():
    return [(c.name, c.method, c.target, c.headers, c.body, c.status, c.response_headers, c.response_body)
            for c in load_exchanges(TRACE)]


EXCHANGES = exchanges()


def _downloads():
    """{repo_id: (head at download time, sync token handed out)} from the traced download-infos."""
    result = {}
    for _name, _m, target, _h, _b, _s, _rh, body in EXCHANGES:
        if target.endswith("/download-info/"):
            info = json.loads(body)
            result.setdefault(info["repo_id"], (info["head_commit_id"], info["token"]))
    return result


def _uploaded_objects():
    """(kind, repo_id, id) of every object the traced client uploaded."""
    uploaded = []
    for _name, method, target, _h, body, _s, _rh, response in EXCHANGES:
        repo_id = target.split("/")[3] if target.startswith("/seafhttp/repo/") else None
        if target.endswith("/check-fs/"):
            uploaded += [("fs", repo_id, i) for i in json.loads(response)]
        elif target.endswith("/check-blocks/"):
            uploaded += [("blocks", repo_id, i) for i in json.loads(response)]
        elif method == "PUT" and "/commit/" in target and "HEAD" not in target:
            uploaded.append(("commits", repo_id, target.rstrip("/").rsplit("/", 1)[1]))
    return uploaded


@pytest.fixture(scope="module")
def trace_server(tmp_path_factory):
    data = tmp_path_factory.mktemp("trace-server")
    shutil.copytree(pathlib.Path(VECTORS_DIR) / "storage", data / "storage")
    for kind, repo_id, obj_id in _uploaded_objects():
        (data / "storage" / kind / repo_id / obj_id[:2] / obj_id[2:]).unlink()
    state = state_from_vectors(VECTORS_DIR)
    for repo_id, (head, token) in _downloads().items():
        state["libraries"][repo_id]["head"] = head
        state["repo_tokens"][token] = {"repo_id": repo_id, "email": "user@example.com", "peer_id": None}
    write_state(str(data), state)
    server = SeafServer(str(data))
    server.start()
    yield server
    server.stop()


def test_trace_covers_download_and_upload():
    assert len(EXCHANGES) == 65
    assert len(_downloads()) == 3 and len(_uploaded_objects()) >= 10


def test_official_client_session_replays_identically(trace_server):
    mismatches = []
    for name, method, target, headers, body, status, response_headers, expected in EXCHANGES:
        if any(part in target for part in NOT_REPLAYED):
            continue
        got_status, _reason, got_headers, got = send(trace_server.port, method, target, headers, body)
        if got_status != status or got_headers.get("content-type") != response_headers.get("content-type"):
            mismatches.append((name, got_status, status))
            continue
        omitted = OMITTED.match(expected)
        if omitted:
            same = len(got) == int(omitted.group(1)) and hashlib.sha1(got).hexdigest() == omitted.group(2).decode()
        elif target.endswith("/download-info/"):
            got_json, expected_json = json.loads(got), json.loads(expected)
            same = re.fullmatch(r"[0-9a-f]{40}", got_json.pop("token")) and \
                expected_json.pop("token") and got_json == expected_json
        elif response_headers.get("content-type", "").startswith("application/json"):
            same = json.loads(got) == json.loads(expected)
        else:
            same = got == expected
        if not same:
            mismatches.append((name, got[:120], expected[:120]))
    assert mismatches == []
