"""Uploads to the reference server through the sync protocol: fast-forward, block/fs verification
(446), unknown parent (400), quota (443), read-only access (403), the server-side merge when HEAD
moved (disjoint changes and conflicts), persistence of heads and tokens across a restart, '..' in
a path (400) and how recv-fs treats bad records."""
import hashlib
import json

import pytest

from replay import send
from syncclient import SyncClient
from seafserver.vectors import DOCS_REPO_ID, captured_ids

DOCS = DOCS_REPO_ID
SHARED_RO = "ffcb8cab-919c-42fc-acb5-8811e70ece5b"


@pytest.fixture
def server(server_factory):
    return server_factory(copy_vectors=True)


@pytest.fixture
def ids(vectors_dir):
    return captured_ids(str(vectors_dir))


def client(server, ids, repo_id=DOCS, token_key="TD"):
    return SyncClient(server.port, repo_id, ids[token_key])


def test_fast_forward_upload_becomes_head_and_is_downloadable(server, ids):
    c = client(server, ids)
    base = c.head()
    status, body, new_id = c.upload(base, {"new dir/hello.txt": b"hello world\n", "empty-dir": None,
                                           "emptied.txt": b""})
    assert (status, body) == (200, b"")
    assert c.head() == new_id
    tree = c.tree(new_id)
    assert c.read_file(tree["new dir/hello.txt"]) == b"hello world\n"
    assert tree["emptied.txt"]["size"] == 0
    assert "empty-dir" not in tree and "README.md" in tree
    repos = json.loads(send(server.port, "GET", "/api2/repos/",
                            {"Authorization": "Token " + ids["API"]})[3])
    docs = next(r for r in repos if r["id"] == DOCS)
    assert docs["head_commit_id"] == new_id
    assert docs["size"] == 4105151 + len(b"hello world\n")


def test_missing_block_gives_446_with_file_names(server, ids):
    c = client(server, ids)
    base = c.head()
    status, body, _ = c.upload(base, {"a/x.txt": b"block never sent"},
                               skip_blocks={hashlib.sha1(b"block never sent").hexdigest()})
    assert status == 446 and json.loads(body) == ["x.txt"]
    assert c.head() == base


def test_missing_fs_object_gives_446_with_empty_body(server, ids):
    c = client(server, ids)
    base = c.head()
    commit, fs_objects, _ = c.build_commit(base, {"y.txt": b"y"})
    file_id = next(i for i in fs_objects if i != commit.root_id)
    status, body, _ = c.upload(base, {"y.txt": b"y"}, skip_fs={file_id})
    assert (status, body) == (446, b"")


def test_unknown_parent_gives_400_and_unknown_commit_500(server, ids):
    c = client(server, ids)
    commit, _, _ = c.build_commit(c.head(), {"z.txt": b"z"})
    orphan = json.loads(commit.to_json())
    orphan["parent_id"] = "f" * 40
    c.call("PUT", "commit/" + "e" * 40, json.dumps(orphan).encode())
    assert c.call("PUT", "commit/HEAD/?head=" + "e" * 40, expect=None)[0] == 400
    assert c.call("PUT", "commit/HEAD/?head=" + "d" * 40, expect=None)[0] == 500
    assert c.call("PUT", "commit/HEAD/?head=XYZ", expect=None)[0] == 400


def test_over_quota_owner_gives_443_even_for_deletions(server, ids):
    c = client(server, ids)
    server.set_account("user@example.com", quota=1000)
    status, _, _ = c.upload(c.head(), {"README.md": None})
    assert status == 443
    assert c.call("GET", "quota-check/?delta=0", expect=None)[0] == 443
    server.set_account("user@example.com", quota=-2)
    assert c.call("GET", "quota-check/?delta=1000000", expect=None)[0] == 200
    assert c.call("GET", "quota-check/?delta=abc", expect=None) == (400, b"Invalid delta parameter.\n")


def test_read_only_share_and_read_only_library_refuse_uploads(server, ids):
    ro = client(server, ids, SHARED_RO, "TR")
    head = ro.head()
    commit, fs_objects, blocks = ro.build_commit(head, {"mine.txt": b"mine"})
    assert ro.call("PUT", "commit/" + commit.commit_id, commit.to_json(), expect=None)[0] == 403
    assert ro.call("PUT", "block/" + next(iter(blocks)), b"mine", expect=None)[0] == 403
    assert ro.call("PUT", "commit/HEAD/?head=" + head, expect=None)[0] == 403
    assert ro.call("POST", "check-fs/", json.dumps(list(fs_objects)).encode())[0] == 200
    c = client(server, ids)
    commit, _, _ = c.build_commit(c.head(), {"n.txt": b"n"})
    server.set_library(DOCS, status="read-only")
    assert c.call("GET", "permission-check/?op=upload", expect=None)[0] == 403
    assert c.call("GET", "permission-check/?op=download", expect=None)[0] == 200
    assert c.call("PUT", "commit/" + commit.commit_id, commit.to_json(), expect=None)[0] == 403
    server.set_library(DOCS, status="normal")
    assert c.call("PUT", "commit/" + commit.commit_id, commit.to_json(), expect=None)[0] == 200


def test_head_moved_disjoint_changes_are_merged(server, ids):
    first, second = client(server, ids), client(server, ids)
    base = first.head()
    assert first.upload(base, {"from-first.txt": b"first"})[0] == 200
    status, _, second_id = second.upload(base, {"docs/from-second.txt": b"second", "README.md": None})
    assert status == 200
    merged = second.head()
    assert merged not in (base, second_id)
    commit = second.commit(merged)
    assert commit["second_parent_id"] == second_id and commit["new_merge"] == 1
    assert "conflict" not in commit and commit["creator"] == "0" * 40
    tree = second.tree(merged)
    assert second.read_file(tree["from-first.txt"]) == b"first"
    assert second.read_file(tree["docs/from-second.txt"]) == b"second"
    assert "README.md" not in tree and "docs/sub1" in tree


def test_head_moved_conflicting_edits_keep_both_versions(server, ids):
    first, second = client(server, ids), client(server, ids)
    base = first.head()
    assert first.upload(base, {"README.md": b"edited by first"})[0] == 200
    assert second.upload(base, {"README.md": b"edited by second"})[0] == 200
    commit = second.commit(second.head())
    assert commit["conflict"] == 1
    tree = second.tree(second.head())
    assert second.read_file(tree["README.md"]) == b"edited by first"
    copies = [p for p in tree if p.startswith("README (SFConflict user@example.com ") and p.endswith(").md")]
    assert len(copies) == 1 and second.read_file(tree[copies[0]]) == b"edited by second"


def test_heads_and_minted_tokens_survive_restart(server, ids):
    c = client(server, ids)
    _, _, new_id = c.upload(c.head(), {"persist.txt": b"persist"})
    status, _r, _h, body = send(server.port, "GET", "/api2/repos/%s/download-info/" % DOCS,
                                {"Authorization": "Token " + ids["API"]})
    token = json.loads(body)["token"]
    server.restart()
    fresh = SyncClient(server.port, DOCS, token)
    assert fresh.head() == new_id
    assert fresh.read_file(fresh.tree(new_id)["persist.txt"]) == b"persist"


def test_deleted_library_answers_444_and_disappears_from_lists(server, ids):
    c = client(server, ids)
    server.delete_library(DOCS)
    assert c.call("GET", "commit/HEAD", expect=None)[0] == 444
    assert c.call("GET", "permission-check/?op=download", expect=None)[0] == 444
    assert c.call("GET", "commit/" + ids["HEAD"], expect=None)[0] == 403
    auth = {"Authorization": "Token " + ids["API"]}
    repos = json.loads(send(server.port, "GET", "/api2/repos/", auth)[3])
    assert DOCS not in [r["id"] for r in repos]
    assert send(server.port, "GET", "/api2/repos/%s/download-info/" % DOCS, auth)[0] == 404


def test_dotdot_in_a_changed_path_gives_400(server, ids):
    c = client(server, ids)
    base = c.head()
    assert c.upload(base, {"..": b"up"})[:2] == (400, b"")
    assert c.upload(base, {"../escape.txt": b"up"})[:2] == (400, b"")
    assert c.head() == base


def record(obj_id, data, length=None):
    """One recv-fs record; `length` overrides the announced length."""
    return obj_id.encode("ascii") + (len(data) if length is None else length).to_bytes(4, "big") + data


def test_recv_fs_stores_records_until_a_bad_one(server, ids):
    """Like seaf-server: records before a bad one are stored; an empty record gives 500; a record
    running past the end of the body is stored padded with NULs and never answered."""
    c = client(server, ids)
    good, other = "a1" * 20, "b2" * 20
    assert c.call("POST", "recv-fs/", record(good, b"x") + record("Z" * 40, b"y"), expect=None)[0] == 400
    assert c.call("POST", "recv-fs/", record(other, b""), expect=None)[0] == 500
    assert json.loads(c.call("POST", "check-fs/", json.dumps([good, other]).encode())[1]) == [other]
    with pytest.raises(TimeoutError):
        send(server.port, "POST", "/seafhttp/repo/%s/recv-fs/" % DOCS, {"Seafile-Repo-Token": ids["TD"]},
             record(other, b"abc", 6), timeout=1)
    assert c.call("POST", "pack-fs/", json.dumps([other]).encode())[1] == record(other, b"abc\0\0\0")
    assert [e["path"] for e in server.log() if e["outcome"] == "hang"] == ["/seafhttp/repo/%s/recv-fs/" % DOCS]


def test_a_stored_commit_id_keeps_its_first_object(server, ids):
    """seaf-server's save_commit never overwrites a commit: neither an uploaded one nor a merge
    commit that comes out with the id of a stored one (same tree, description and second)."""
    c = client(server, ids)
    base = c.head()
    _status, _body, new_id = c.upload(base, {"again.txt": b"again"})
    stored = c.call("GET", "commit/" + new_id)[1]
    assert c.call("PUT", "commit/" + new_id, stored.replace(b"test change", b"other change"))[0] == 200
    assert c.call("GET", "commit/" + new_id)[1] == stored
    server.fix_clock(1800000000)
    assert c.call("PUT", "commit/HEAD/?head=" + new_id)[0] == 200  # merged with itself
    merge = c.head()
    assert c.commit(merge)["parent_id"] == c.commit(merge)["second_parent_id"] == new_id
    assert c.call("PUT", "commit/HEAD/?head=" + new_id)[0] == 200  # the same merge commit again
    assert c.head() == merge and c.commit(merge)["parent_id"] == new_id
