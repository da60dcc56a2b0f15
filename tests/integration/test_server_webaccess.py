"""Web file access of the reference server: Seahub's file download link (/api2/repos/<id>/file/)
and the file server's /files/<token>/<name> with one-time tokens and byte ranges."""
import json
from urllib.parse import urlsplit

import pytest

from replay import send
from seafserver.storage import Storage
from seafserver.testing import VECTORS_DIR
from seafserver.vectors import DOCS_REPO_ID, captured_ids
from seafserver.webaccess import parse_range, read_range

IDS = captured_ids(VECTORS_DIR)
API = {"Authorization": "Token " + IDS["API"]}
DOCS = DOCS_REPO_ID
SECRET = "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46"
README = b"# Docs library\n\nTest content for a Seafile FUSE client.\n"


def link(server, repo_id, query):
    status, _r, _h, body = send(server.port, "GET", "/api2/repos/%s/file/?%s" % (repo_id, query), API)
    return status, json.loads(body)


def fetch(server, url, headers=None):
    parts = urlsplit(url)
    assert parts.port == server.port and parts.path.startswith("/seafhttp/files/")
    return send(server.port, "GET", parts.path, headers or {})


def test_one_time_link_serves_a_range_once(vectors_server):
    status, url = link(vectors_server, DOCS, "p=/README.md")
    assert status == 200 and url.endswith("/README.md")
    status, _r, headers, body = fetch(vectors_server, url, {"Range": "bytes=2-9"})
    assert (status, body, headers["content-range"]) == (206, README[2:10], "bytes 2-9/56")
    assert headers["etag"] == IDS["FID"]
    assert fetch(vectors_server, url)[:2] == (403, "Forbidden")


def test_reusable_link_and_whole_file(vectors_server):
    _, url = link(vectors_server, DOCS, "p=%2FREADME.md&reuse=1")
    for _ in range(2):
        status, _r, headers, body = fetch(vectors_server, url)
        assert (status, body, headers["content-type"]) == (200, README, "application/octet-stream")
    assert fetch(vectors_server, url, {"Range": "bytes=-6"})[3] == README[-6:]
    assert fetch(vectors_server, url, {"Range": "bytes=100-"})[0] == 416


@pytest.mark.parametrize("repo_id,query,expected", [
    (DOCS, "", (400, {"error_msg": "Path is missing."})),
    (DOCS, "p=/nope.txt", (404, {"error_msg": "File not found"})),
    (DOCS, "p=/docs", (404, {"error_msg": "File not found"})),
    (SECRET, "p=/hello.txt", (440, {"error_msg": "Library password is needed."})),
])
def test_link_errors(vectors_server, repo_id, query, expected):
    assert link(vectors_server, repo_id, query) == expected


def test_ranges_across_blocks(tmp_path):
    storage = Storage(str(tmp_path))
    blocks = {"%040x" % i: bytes([65 + i]) * 10 for i in range(3)}
    for block_id, data in blocks.items():
        storage.write("blocks", "r", block_id, data)
    whole = b"".join(blocks.values())
    for start, end in [(0, 29), (5, 14), (10, 19), (9, 10), (29, 29)]:
        assert read_range(storage, "r", list(blocks), start, end) == whole[start:end + 1]
    assert parse_range("bytes=5-", 30) == (5, 29)
    assert parse_range("bytes=0-100", 30) == (0, 29)
    assert parse_range("items=1-2", 30) is None
    with pytest.raises(ValueError):
        parse_range("bytes=-", 30)
