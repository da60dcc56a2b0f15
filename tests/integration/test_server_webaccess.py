"""Web file access of the reference server as protocol doc §2.9 and seahub/seaf-server have it:
Seahub's file download link (/api2/repos/<id>/file/, with the file id in an `oid` header,
one-time or reusable tokens that expire) and the file server's /files/<token>/<name> with byte
ranges parsed like seaf-server's parse_range_val."""
import json
import time
from urllib.parse import urlsplit

import pytest

from replay import send
from seafserver.storage import Storage
from seafserver.testing import VECTORS_DIR
from seafserver.vectors import DOCS_REPO_ID, captured_ids
from seafserver.webaccess import REUSE_ERROR, parse_range, read_range

IDS = captured_ids(VECTORS_DIR)
API = {"Authorization": "Token " + IDS["API"]}
DOCS = DOCS_REPO_ID
SECRET = "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46"
README = b"# Docs library\n\nTest content for a Seafile FUSE client.\n"


def link(server, repo_id, query):
    """(status, JSON answer, headers) of a download-link request."""
    status, _r, headers, body = send(server.port, "GET", "/api2/repos/%s/file/?%s" % (repo_id, query), API)
    return status, json.loads(body), headers


def fetch(server, url, headers=None):
    parts = urlsplit(url)
    assert parts.port == server.port and parts.path.startswith("/seafhttp/files/")
    return send(server.port, "GET", parts.path, headers or {})


def test_one_time_link_serves_a_range_once(vectors_server):
    status, url, headers = link(vectors_server, DOCS, "p=/README.md")
    assert status == 200 and url.endswith("/README.md")
    assert headers["oid"] == IDS["FID"]
    status, _r, headers, body = fetch(vectors_server, url, {"Range": "bytes=2-9"})
    assert (status, body, headers["content-range"]) == (206, README[2:10], "bytes 2-9/56")
    assert headers["etag"] == IDS["FID"] and headers["accept-ranges"] == "bytes"
    assert fetch(vectors_server, url)[::3] == (403, b"Access token not found\n")


def test_reusable_link_whole_file_and_ranges(vectors_server):
    _, url, _ = link(vectors_server, DOCS, "p=%2FREADME.md&reuse=1")
    for _ in range(2):
        status, _r, headers, body = fetch(vectors_server, url)
        assert (status, body, headers["content-type"]) == (200, README, "application/octet-stream")
    assert fetch(vectors_server, url, {"Range": "bytes=-6"})[3] == README[-6:]
    assert fetch(vectors_server, url, {"Range": "items=1-2"})[3] == README[1:3]  # unit not read
    for bad in ("bytes=100-", "bytes=-0", "bytes=-57", "bytes=0-1,4-5", "bytes=9-2", "nonsense"):
        status, _r, headers, body = fetch(vectors_server, url, {"Range": bad})
        assert (status, headers["content-range"], body) == (416, "bytes */56", b""), bad
    assert fetch(vectors_server, url, {"If-Modified-Since": "Sun, 29 Nov 2026 08:11:01 GMT"})[0] == 304


def test_link_is_https_behind_a_tls_front(vectors_server):
    """Seahub answers with its FILE_SERVER_ROOT; behind a TLS proxy (X-Forwarded-Proto) that is
    https, on the host the client asked for."""
    headers = dict(API, **{"X-Forwarded-Proto": "https"})
    status, _r, _h, body = send(vectors_server.port, "GET",
                                "/api2/repos/%s/file/?p=/README.md" % DOCS, headers)
    origin = "127.0.0.1:%d/seafhttp/files/" % vectors_server.port
    assert status == 200 and json.loads(body).startswith("https://" + origin)
    assert link(vectors_server, DOCS, "p=/README.md")[1].startswith("http://" + origin)


def test_empty_file_ignores_range(vectors_server):
    _, url, headers = link(vectors_server, DOCS, "p=/empty.txt&reuse=1")
    assert headers["oid"] == "0" * 40
    assert fetch(vectors_server, url, {"Range": "bytes=0-9"})[::3] == (200, b"")


def test_expired_token_is_refused(vectors_server):
    _, url, _ = link(vectors_server, DOCS, "p=/README.md&reuse=1")
    token = urlsplit(url).path.split("/")[3]
    assert fetch(vectors_server, url, {"Range": "bytes=0-1"})[0] == 206
    vectors_server.set_web_token(token, {"repo_id": DOCS, "file_id": IDS["FID"], "name": "README.md",
                                         "email": "user@example.com", "one_time": False,
                                         "expires": int(time.time()) - 1})
    assert fetch(vectors_server, url, {"Range": "bytes=0-1"})[0] == 403


def test_encrypted_library_link_serves_no_range(vectors_server):
    """Seahub makes the link; without the library password on the server the file server
    refuses the download (seaf-server would otherwise send the whole decrypted file)."""
    status, url, headers = link(vectors_server, SECRET, "p=/hello.txt&reuse=1")
    assert status == 200 and len(headers["oid"]) == 40
    status, _r, _h, body = fetch(vectors_server, url, {"Range": "bytes=0-3"})
    assert (status, body) == (400, b"Repo is encrypted. Please provide password to view it.\n")


@pytest.mark.parametrize("repo_id,query,expected", [
    (DOCS, "", (400, {"error_msg": "Path is missing."})),
    (DOCS, "p=/nope.txt", (404, {"error_msg": "File not found"})),
    (DOCS, "p=/docs", (404, {"error_msg": "File not found"})),
    (DOCS, "p=/README.md/x", (404, {"error_msg": "File not found"})),
    (DOCS, "p=/empty-dir/x", (404, {"error_msg": "File not found"})),
    (DOCS, "p=/README.md&reuse=yes", (400, {"error_msg": REUSE_ERROR})),
    ("00000000-0000-0000-0000-000000000000", "p=/a", (404, {"error_msg": "Library not found."})),
])
def test_link_errors(vectors_server, repo_id, query, expected):
    assert link(vectors_server, repo_id, query)[:2] == expected


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
    assert parse_range("bytes=-30", 30) == (0, 29)
    for bad in ("bytes=-", "bytes=-31", "bytes", "bytes=a-3", "bytes=30-"):
        with pytest.raises(ValueError):
            parse_range(bad, 30)
