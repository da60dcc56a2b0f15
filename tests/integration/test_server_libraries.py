"""Library management through the reference server's Seahub API: create (plain, with a password,
with client-side encryption parameters), rename, delete; and the password-based encryption
parameters checked against the real server's encrypted vector library."""
import json
import pathlib

import pytest

from replay import send
from syncclient import SyncClient
from seafserver import crypto
from seafserver.testing import VECTORS_DIR
from seafserver.vectors import DOCS_REPO_ID, FILE_KEYS, captured_ids

IDS = captured_ids(VECTORS_DIR)
API = {"Authorization": "Token " + IDS["API"], "Content-Type": "application/x-www-form-urlencoded"}
SECRET = "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46"
DOCS = DOCS_REPO_ID
SHARED_RO = "ffcb8cab-919c-42fc-acb5-8811e70ece5b"


@pytest.fixture
def server(server_factory):
    return server_factory(copy_vectors=True)


def api(server, method, path, body=b""):
    status, _r, _h, data = send(server.port, method, path, API, body)
    return status, json.loads(data) if data else None


def test_v2_parameters_match_the_real_servers_library():
    repo = json.loads(pathlib.Path(VECTORS_DIR, "repos.json").read_text())["Secret"]
    password = repo["password"]
    assert crypto.magic(SECRET, password) == repo["magic"]
    key = crypto.file_key({"enc_version": 2, "random_key": repo["random_key"]}, password)
    assert (key.version, key.key.hex(), key.iv.hex()) == (2,) + FILE_KEYS["Secret"]
    fresh = crypto.v2_parameters(SECRET, password, secret=b"\x01" * 32)
    assert fresh["magic"] == repo["magic"] and len(fresh["random_key"]) == 96
    key = crypto.file_key(fresh, password)
    assert (key.key, key.iv) == crypto.derive(b"\x01" * 32)


def test_create_plain_library_then_upload_to_it(server):
    status, info = api(server, "POST", "/api2/repos/", b"name=New%20Lib&desc=made%20by%20test")
    assert status == 200 and info["repo_name"] == "New Lib" and info["encrypted"] == ""
    assert info["repo_desc"] == "made by test" and info["permission"] == "rw"
    client = SyncClient(server.port, info["repo_id"], info["token"])
    head = client.head()
    assert head == info["head_commit_id"] and client.commit(head)["description"] == "Created library"
    assert client.upload(head, {"first.txt": b"first"})[0] == 200
    assert [r["name"] for r in api(server, "GET", "/api2/repos/")[1]][0] == "New Lib"


def test_create_encrypted_libraries(server):
    status, info = api(server, "POST", "/api2/repos/", b"name=Vault&passwd=pw")
    assert status == 200 and info["encrypted"] == 1 and info["enc_version"] == 2
    assert info["magic"] == crypto.magic(info["repo_id"], "pw")
    commit = SyncClient(server.port, info["repo_id"], info["token"]).commit(info["head_commit_id"])
    assert (commit["encrypted"], commit["key"]) == ("true", info["random_key"])
    client_side = ("name=Mine&repo_id=%s&enc_version=2&magic=%s&random_key=%s"
                   % ("12345678-1234-1234-1234-123456789abc", "a" * 64, "b" * 96)).encode()
    status, info = api(server, "POST", "/api2/repos/", client_side)
    assert status == 200 and (info["repo_id"], info["magic"]) == ("12345678-1234-1234-1234-123456789abc", "a" * 64)


@pytest.mark.parametrize("body,message", [
    (b"desc=x", "Library name is required."),
    (b"name=a%2Fb", "name invalid."),
    (b"name=x&enc_version=4&magic=" + b"a" * 64 + b"&random_key=" + b"b" * 96, "Invalid enc_version param."),
    (b"name=x&enc_version=2&magic=short&random_key=" + b"b" * 96, "Invalid encryption params."),
    (b"name=x&repo_id=" + DOCS.encode(), "Invalid repo_id param."),
])
def test_create_library_errors(server, body, message):
    assert api(server, "POST", "/api2/repos/", body) == (400, {"error_msg": message})


def test_rename_moves_the_head_with_the_new_name(server):
    before = api(server, "GET", "/api2/repos/%s/" % DOCS)[1]
    assert api(server, "POST", "/api2/repos/%s/?op=rename" % DOCS, b"repo_name=Documents") == (200, "success")
    after = api(server, "GET", "/api2/repos/%s/" % DOCS)[1]
    assert after["name"] == "Documents" and after["root"] == before["root"]
    client = SyncClient(server.port, DOCS, IDS["TD"])
    commit = client.commit(client.head())
    assert (commit["repo_name"], commit["parent_id"]) == ("Documents", before["head_commit_id"])
    assert api(server, "POST", "/api2/repos/%s/?op=rename" % DOCS, b"repo_name=") == (400, {"error_msg": "name invalid."})
    assert api(server, "POST", "/api2/repos/%s/?op=rename" % SHARED_RO, b"repo_name=x")[0] == 403


def test_delete_library_owner_only(server):
    assert api(server, "DELETE", "/api/v2.1/repos/%s/" % SHARED_RO) == (403, {"error_msg": "Permission denied."})
    assert api(server, "DELETE", "/api/v2.1/repos/%s/" % SECRET) == (200, {"success": True})
    assert api(server, "DELETE", "/api2/repos/%s/" % DOCS) == (200, "success")
    assert api(server, "DELETE", "/api2/repos/%s/" % DOCS)[0] == 404
    assert SyncClient(server.port, DOCS, IDS["TD"]).call("GET", "commit/HEAD", expect=None)[0] == 444
    assert {r["name"] for r in api(server, "GET", "/api2/repos/")[1]} == {"Big", "Secret4", "Scratch", "SharedRO"}
