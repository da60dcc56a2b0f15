"""Error behaviour of the reference server matching the real seaf-server facts of INDEX.md
("Fileserver facts checked by hand") and protocol doc §2/§3: token rules, trailing slashes,
methods, parameter validation, Seahub authentication and login errors."""
import json

import pytest

from replay import send
from seafserver.packfs import parse_packed_objects
from seafserver.testing import VECTORS_DIR
from seafserver.vectors import DOCS_REPO_ID, captured_ids

IDS = captured_ids(VECTORS_DIR)
DOCS = DOCS_REPO_ID
SECRET = "c8d1b0af-b71e-4f9c-8c07-9aa91e318d46"
HEAD = IDS["HEAD"]
TD = {"Seafile-Repo-Token": IDS["TD"]}
API = {"Authorization": "Token " + IDS["API"]}


def fs(server, method, path, headers=TD, body=b""):
    """Status and body of a file-server request on the bare port (like the captures)."""
    status, _reason, _headers, data = send(server.ports["fileserver_port"], method, path, headers, body)
    return status, data


def repo(path):
    return "/repo/%s/%s" % (DOCS, path)


@pytest.mark.parametrize("headers,expected", [
    ({"Authorization": "Bearer " + IDS["TD"]}, 200),
    ({"Authorization": "anything " + IDS["TD"]}, 200),
    ({"Authorization": IDS["TD"]}, 400),
    ({"Seafile-Repo-Token": "0" * 40, "Authorization": "Token " + IDS["TD"]}, 403),
    ({"Seafile-Repo-Token": IDS["TD"], "Authorization": "Token " + "0" * 40}, 200),
    ({"Seafile-Repo-Token": IDS["TS"]}, 403),
])
def test_token_extraction_rules(vectors_server, headers, expected):
    assert fs(vectors_server, "GET", repo("commit/" + HEAD), headers)[0] == expected


def test_unknown_library_is_444_before_the_token_is_checked(vectors_server):
    unknown = "/repo/11111111-2222-3333-4444-555555555555/"
    assert fs(vectors_server, "GET", unknown + "commit/HEAD", {})[0] == 444
    assert fs(vectors_server, "GET", unknown + "permission-check/?op=download", {})[0] == 444
    assert fs(vectors_server, "GET", unknown + "commit/" + HEAD)[0] == 403


@pytest.mark.parametrize("path,expected", [
    ("permission-check?op=download", 404), ("quota-check?delta=1", 404),
    ("fs-id-list?server-head=" + HEAD, 404), ("commit/HEAD/", 200), ("commit/%s/" % HEAD, 200),
    ("block/36ec5985dac28bd7c7f60fb66a61b84125080d28/", 200), ("jwt-token/", 404),
    ("block-map/db74a666bf4468692fca46bd5cdf575a1952fc37/", 200),
    ("commit/" + HEAD.upper(), 404), ("block/" + "A" * 40, 404),
])
def test_trailing_slash_and_lowercase_rules(vectors_server, path, expected):
    assert fs(vectors_server, "GET", repo(path))[0] == expected


def test_protocol_version_path_is_exact_and_any_method_works(vectors_server):
    assert fs(vectors_server, "GET", "/protocol-version/")[0] == 404
    assert fs(vectors_server, "POST", "/protocol-version", {}, b"x") == (200, b'{"version": 2}')


@pytest.mark.parametrize("endpoint", ["pack-fs/", "check-fs/", "check-blocks/"])
def test_get_on_post_endpoints_is_400(vectors_server, endpoint):
    assert fs(vectors_server, "GET", repo(endpoint))[0] == 400


def test_object_id_lists_are_validated(vectors_server):
    """As seaf-server's handlers: a JSON object counts as an empty list (jansson's
    json_array_size), a scalar is refused; pack-fs answers an invalid id with 400 and what it
    packed before; check-fs skips invalid ids and always has the empty id, check-blocks not."""
    assert fs(vectors_server, "POST", repo("pack-fs/"), TD, b'["xyz"]') == (400, b"")
    root = json.loads(fs(vectors_server, "GET", repo("commit/" + HEAD))[1])["root_id"]
    status, body = fs(vectors_server, "POST", repo("pack-fs/"), TD, json.dumps([root, "xyz"]).encode())
    assert status == 400 and body.startswith(root.encode()) and len(parse_packed_objects(body)) == 1
    assert fs(vectors_server, "POST", repo("pack-fs/"), TD, b'{"a": 1}') == (200, b"")
    assert fs(vectors_server, "POST", repo("pack-fs/"), TD, b'5')[0] == 400
    body = json.dumps(["0" * 40, "not an id", 5, "f" * 40]).encode()
    assert fs(vectors_server, "POST", repo("check-fs/"), TD, body) == (200, json.dumps(["f" * 40]).replace(" ", "").encode())
    assert fs(vectors_server, "POST", repo("check-fs/"), TD, b"{}") == (200, b"[]")
    assert fs(vectors_server, "POST", repo("check-blocks/"), TD, b"[]") == (200, b"[]")
    assert fs(vectors_server, "POST", repo("check-blocks/"), TD, b'["%s"]' % (b"0" * 40)) == \
        (200, b'["%s"]' % (b"0" * 40))


def test_fs_id_list_parameters(vectors_server):
    assert fs(vectors_server, "GET", repo("fs-id-list/?server-head=" + "f" * 40))[0] == 500
    assert fs(vectors_server, "GET", repo("fs-id-list/?server-head=%s&client-head=zz" % HEAD)) == \
        (400, b"Invalid client-head parameter.\n")
    status, body = fs(vectors_server, "GET", repo("fs-id-list/?server-head=%s&client-head=%s" % (HEAD, HEAD)))
    assert (status, body) == (200, b"[]")


def test_block_map_and_commit_of_unknown_objects(vectors_server):
    assert fs(vectors_server, "GET", repo("block-map/" + "f" * 40))[0] == 404
    assert fs(vectors_server, "GET", repo("commit/" + "f" * 40))[0] == 404


@pytest.mark.parametrize("query", ["op=delete", "op=download&client_id=short",
                                   "op=download&client_ver=1.2"])
def test_permission_check_parameters(vectors_server, query):
    assert fs(vectors_server, "GET", repo("permission-check/?" + query))[0] == 400


def test_permission_check_records_the_client_id_as_peer(vectors_server):
    client_id = "ab" * 20
    path = repo("permission-check/?op=download&client_id=%s&client_name=laptop&client_ver=8.0.10" % client_id)
    assert fs(vectors_server, "GET", path)[0] == 200
    assert vectors_server.state()["repo_tokens"][IDS["TD"]]["peer_id"] == client_id


def test_invalid_commit_uploads_are_rejected_without_writing(vectors_server):
    put = lambda body: fs(vectors_server, "PUT", repo("commit/" + "e" * 40), TD, body)[0]  # noqa: E731
    good = json.loads(fs(vectors_server, "GET", repo("commit/" + HEAD))[1])
    assert put(b"") == 400
    assert put(b"not json") == 400
    assert put(json.dumps(dict(good, repo_id=SECRET)).encode()) == 400
    assert put(json.dumps(dict(good, creator="short")).encode()) == 400
    assert put(json.dumps(dict(good, parent_id="xyz")).encode()) == 400
    assert put(json.dumps(dict(good, encrypted="true", enc_version=2, magic="ab")).encode()) == 400
    assert fs(vectors_server, "PUT", repo("block/" + "e" * 40), TD, b"")[0] == 400
    assert fs(vectors_server, "POST", repo("recv-fs/"), TD, b"short")[0] == 400
    assert fs(vectors_server, "POST", repo("recv-fs/"), TD, b"E" * 40 + b"\x00\x00\x00\x01x")[0] == 400


def test_accessible_repos_and_head_commits_multi_validation(vectors_server):
    assert fs(vectors_server, "GET", "/accessible-repos/?repo_id=nope")[0] == 400
    assert fs(vectors_server, "GET", "/accessible-repos/?repo_id=" + SECRET)[0] == 403
    multi = lambda body: fs(vectors_server, "POST", "/repo/head-commits-multi", {}, body)  # noqa: E731
    assert multi(b"[]")[0] == 400
    assert multi(b'["not-a-uuid"]')[0] == 400
    assert multi(json.dumps(["11111111-2222-3333-4444-555555555555", DOCS]).encode()) == \
        (200, ('{"%s":"%s"}' % (DOCS, HEAD)).encode())


def test_jwt_token_checks_the_token_first(vectors_server):
    assert fs(vectors_server, "GET", repo("jwt-token"), {"Seafile-Repo-Token": "0" * 40})[0] == 403


# --- Seahub ------------------------------------------------------------------------------------

def seahub(server, method, path, headers=None, body=b""):
    status, _reason, response_headers, data = send(server.port, method, path, headers or {}, body)
    return status, json.loads(data) if data else None


FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_login_errors_and_json_login(vectors_server):
    login = lambda body, headers=FORM: seahub(vectors_server, "POST", "/api2/auth-token/", headers, body)  # noqa: E731
    assert login(b"username=user%40example.com&password=wrong") == \
        (400, {"non_field_errors": ["Unable to login with provided credentials."]})
    assert login(b"password=secret") == (400, {"username": ["This field is required."]})
    assert login(b"username=user%40example.com&password=secret&platform=linux") == \
        (400, {"non_field_errors": ["invalid params"]})
    body = json.dumps({"username": "user@example.com", "password": "secret"}).encode()
    assert login(body, {"Content-Type": "application/json"}) == (200, {"token": IDS["API"]})
    status, other = login(b"username=other%40example.com&password=secret2&platform=linux"
                          b"&device_id=" + b"1" * 40 + b"&device_name=box")
    assert status == 200 and other["token"] != IDS["API"]


def test_seahub_authentication_errors(vectors_server):
    assert seahub(vectors_server, "GET", "/api2/account/info/", {"Authorization": "Token"})[0] == 401
    assert seahub(vectors_server, "GET", "/api2/repos/", {"Authorization": "Token " + IDS["TD"]}) == \
        (401, {"detail": "Invalid token"})
    assert seahub(vectors_server, "GET", "/api2/auth/ping/", API) == (200, "pong")
    assert seahub(vectors_server, "GET", "/api2/ping/") == (200, "pong")
    assert seahub(vectors_server, "PUT", "/api2/repos/", API, b"name=x")[0] == 405
    assert seahub(vectors_server, "GET", "/api2/nothing/", API)[0] == 404


def test_repo_info_and_permissions_per_user(vectors_server):
    status, info = seahub(vectors_server, "GET", "/api2/repos/%s/" % SECRET, API)
    assert status == 200
    assert (info["owner"], info["encrypted"], info["enc_version"], info["file_count"]) == ("self", True, 2, 8)
    assert len(info["magic"]) == 64 and len(info["random_key"]) == 96 and info["size"] == 300182
    status, login = seahub(vectors_server, "POST", "/api2/auth-token/", FORM,
                           b"username=other%40example.com&password=secret2")
    other = {"Authorization": "Token " + login["token"]}
    assert seahub(vectors_server, "GET", "/api2/repos/%s/" % DOCS, other)[0] == 403
    assert seahub(vectors_server, "GET", "/api2/repos/%s/download-info/" % DOCS, other) == \
        (403, {"error_msg": "You do not have permission to access this library."})
    unknown = "11111111-2222-3333-4444-555555555555"
    assert seahub(vectors_server, "GET", "/api2/repos/%s/download-info/" % unknown, API) == \
        (404, {"error_msg": "Library %s not found." % unknown})
    status, account = seahub(vectors_server, "GET", "/api2/account/info/", other)
    assert (account["email"], account["usage"], account["total"]) == ("other@example.com", 12410, -2)
    assert [r["name"] for r in seahub(vectors_server, "GET", "/api2/repos/", other)[1]] == ["SharedRO"]


def test_repo_list_filters(vectors_server):
    shared = seahub(vectors_server, "GET", "/api2/repos/?type=shared", API)[1]
    assert [(r["type"], r["name"], r["permission"]) for r in shared] == [("srepo", "SharedRO", "r")]
    mine = seahub(vectors_server, "GET", "/api2/repos/?type=mine&nameContains=secret", API)[1]
    assert sorted(r["name"] for r in mine) == ["Secret", "Secret4"]


def test_chunked_request_bodies_are_read(vectors_server):
    import socket
    body = b'["%s"]' % ("f" * 40).encode()
    request = (b"POST /seafhttp/repo/%s/check-fs/ HTTP/1.1\r\nHost: x\r\nSeafile-Repo-Token: %s\r\n"
               b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%x\r\n%s\r\n0\r\n\r\n"
               % (DOCS.encode(), IDS["TD"].encode(), len(body), body))
    with socket.create_connection(("127.0.0.1", vectors_server.port), timeout=5) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b'["' + b"f" * 40 + b'"]')


def test_multipart_login(vectors_server):
    boundary = "XyZ"
    body = "".join('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k, v)
                   for k, v in (("username", "user@example.com"), ("password", "secret")))
    body = (body + "--%s--\r\n" % boundary).encode()
    headers = {"Content-Type": "multipart/form-data; boundary=" + boundary}
    assert seahub(vectors_server, "POST", "/api2/auth-token/", headers, body) == (200, {"token": IDS["API"]})


def test_head_request_gets_headers_without_body_and_keeps_the_connection(vectors_server):
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", vectors_server.ports["fileserver_port"], timeout=5)
    conn.request("HEAD", "/protocol-version")
    response = conn.getresponse()
    assert (response.status, response.getheader("Content-Length"), response.read()) == (200, "14", b"")
    conn.request("GET", "/protocol-version")
    assert conn.getresponse().read() == b'{"version": 2}'
    conn.close()


def test_readonly_storage_refuses_uploads_with_500(vectors_server):
    assert fs(vectors_server, "PUT", repo("block/" + "e" * 40), TD, b"data")[0] == 500
    assert fs(vectors_server, "POST", repo("recv-fs/"), TD, b"e" * 40 + b"\x00\x00\x00\x01x")[0] == 500
    assert fs(vectors_server, "GET", repo("block/" + "e" * 40))[0] == 500
