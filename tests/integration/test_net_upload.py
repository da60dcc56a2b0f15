"""The upload side of net/ (seaf_objwrite + fileserver_upload) end to end against the reference
server, through `seafs-netcheck upload`: a one-file change put into a library in SeaDrive's
request order becomes the head, and the server's stored tree, objects and commit are exactly
what was meant (read back object by object with every id checked)."""
import hashlib
import json
import os
import pathlib
import random

import pytest

from library_tree import read_library
from seafserver.objects import Commit
from test_net_client import USER, run

SCRATCH = "8ad15dc3-5605-4cd9-962d-b5f7d1b1a303"
DEVICE_ID = "5eaf5000000000000000000000000000000000fe"


@pytest.fixture
def server(server_factory):
    """A server over a private copy of the vectors (uploads write to it)."""
    return server_factory(copy_vectors=True)


def upload(netcheck, server, tmp_path, name, content):
    source = tmp_path / ("content-" + hashlib.sha1(name.encode()).hexdigest())
    source.write_bytes(content)
    result, stderr = run(netcheck, server, "upload", SCRATCH, name, source)
    assert result["ok"], stderr
    return result


def stored_commit(server, commit_id):
    raw = pathlib.Path(server.data_dir, "storage", "commits", SCRATCH, commit_id[:2],
                       commit_id[2:]).read_bytes()
    return json.loads(raw), raw


def test_upload_one_file_becomes_head(netcheck, server, tmp_path):
    before, _ = read_library(server.data_dir, SCRATCH)
    content = random.Random(7).randbytes(100_000)
    result = upload(netcheck, server, tmp_path, "uploaded by seafs.bin", content)
    # Fast-forward: the uploaded commit is the head, on top of the previous head.
    assert result["head"] == result["commit"]
    assert result["blocks"] == 1 and result["sent_fs"] == 2
    after, dirents = read_library(server.data_dir, SCRATCH, result["head"])
    assert after == {**before, "uploaded by seafs.bin": content}
    entry = dirents["uploaded by seafs.bin"]
    assert (entry.id, entry.size, entry.modifier) == (result["file_id"], len(content), USER)
    # The commit as stored: C id, library fields from the parent, this client's device.
    commit, raw = stored_commit(server, result["commit"])
    assert Commit.from_json(raw).compute_id() == result["commit"]
    parent, _ = stored_commit(server, result["parent"])
    assert commit["parent_id"] == result["parent"] and commit["second_parent_id"] is None
    assert commit["root_id"] == result["root"]
    assert (commit["repo_name"], commit["repo_desc"]) == (parent["repo_name"],
                                                          parent["repo_desc"])
    assert (commit["creator"], commit["creator_name"]) == (DEVICE_ID, USER)
    assert commit["description"] == 'Added "uploaded by seafs.bin".\n'
    assert commit["version"] == 1 and "encrypted" not in commit


def test_replace_a_file_with_several_blocks(netcheck, server, tmp_path):
    content = random.Random(8).randbytes(9 * 1024 * 1024 + 5)
    first = upload(netcheck, server, tmp_path, "big.bin", content)
    assert first["blocks"] == 2
    tree, _ = read_library(server.data_dir, SCRATCH)
    assert tree["big.bin"] == content
    # Replaced by a smaller version: one new block; the first upload's commit is the parent.
    second = upload(netcheck, server, tmp_path, "big.bin", b"small now\n")
    assert second["parent"] == first["head"] and second["head"] == second["commit"]
    tree, _ = read_library(server.data_dir, SCRATCH)
    assert tree["big.bin"] == b"small now\n"
    # The same content again: the file object is not sent again; only the root if the mtime
    # (seconds) moved, and nothing at all (no commit) when it did not.
    third = upload(netcheck, server, tmp_path, "big.bin", b"small now\n")
    assert third["file_id"] == second["file_id"]
    if third.get("unchanged"):
        assert third["head"] == second["head"] and third["sent_fs"] == 0
    else:
        assert third["sent_fs"] == 1 and third["head"] == third["commit"]


def test_unicode_and_quoted_names(netcheck, server, tmp_path):
    names = ['Résumé "final" ü.txt', "中文 \\ back.txt", "tab\tname.txt"]
    for i, name in enumerate(names):
        upload(netcheck, server, tmp_path, name, b"content %d\n" % i)
    tree, _ = read_library(server.data_dir, SCRATCH)
    for i, name in enumerate(names):
        assert tree[name] == b"content %d\n" % i


def test_read_only_library_is_refused(netcheck, server, tmp_path):
    source = tmp_path / "x"
    source.write_bytes(b"x")
    result, _ = run(netcheck, server, "upload", "ffcb8cab-919c-42fc-acb5-8811e70ece5b", "x",
                    source)
    assert not result["ok"] and result["during"] == "permission-check"
    assert os.path.exists(source)
