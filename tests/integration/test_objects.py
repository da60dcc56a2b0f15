"""Seafile object format checks of seafserver.objects against the real server's stored objects
(every commit and fs object in the vectors) and the protocol doc's test vectors (§4.6)."""

import json
import pathlib
import zlib

import pytest

from seafserver import objects
from seafserver.testing import VECTORS_DIR
from seafserver.objects import (
    EMPTY_SHA1, Commit, Dirent, ObjectFormatError, SeafDir, SeafFile, MODE_DIR, MODE_FILE)

STORAGE = pathlib.Path(VECTORS_DIR) / "storage"


def stored_objects(kind):
    """(repo_id, object id, path) of every stored object of a kind ('commits' or 'fs')."""
    found = []
    for repo_dir in sorted((STORAGE / kind).iterdir()):
        for path in sorted(repo_dir.glob("??/*")):
            found.append((repo_dir.name, path.parent.name + path.name, path))
    return found


COMMITS = stored_objects("commits")
FS_OBJECTS = stored_objects("fs")


def test_vectors_hold_all_objects_the_index_promises():
    assert len(COMMITS) == 51
    assert len(FS_OBJECTS) == 306


@pytest.mark.parametrize("repo_id,commit_id,path", COMMITS, ids=[c[1][:8] for c in COMMITS])
def test_real_commit_id_and_bytes(repo_id, commit_id, path):
    stored = path.read_bytes()
    commit = Commit.from_json(stored)
    assert commit.commit_id == commit_id
    assert commit.repo_id == repo_id
    assert commit.compute_id() == commit_id
    assert commit.to_json() == stored


@pytest.mark.parametrize("repo_id,fs_id,path", FS_OBJECTS, ids=[f[1][:8] for f in FS_OBJECTS])
def test_real_fs_object_id_and_bytes(repo_id, fs_id, path):
    stored = path.read_bytes()
    assert stored[:2] == b"\x78\x9c"
    json_bytes = zlib.decompress(stored)
    assert objects.sha1_hex(json_bytes) == fs_id
    parsed = objects.parse_stored_fs_object(stored)
    assert parsed.to_json() == json_bytes
    assert parsed.id == fs_id
    # jansson/zlib level 6 in the real server gives the same compressed bytes as ours.
    assert objects.compress(json_bytes) == stored


def test_real_storage_has_no_empty_objects():
    ids = {fs_id for _, fs_id, _ in FS_OBJECTS} | {cid for _, cid, _ in COMMITS}
    assert EMPTY_SHA1 not in ids


def test_real_client_commit_layout_keeps_device_and_client_version():
    _, _, path = next(c for c in COMMITS if c[1] == "549115324a52afbcae8894c85814f1b3723b07c5")
    commit = Commit.from_json(path.read_bytes())
    assert commit.device_name == "unknown"
    assert commit.client_version == "8.0.10"
    assert commit.creator == "baf9de77efb5fff9eff415235495b61ee112d052"
    assert commit.no_local_history == 1


# --- protocol doc §4.6 ---------------------------------------------------------------------------

HELLO_BLOCK = "22596363b3de40b06f981fb85d82312e8c0ed511"
HELLO_FILE_JSON = (b'{"block_ids": ["22596363b3de40b06f981fb85d82312e8c0ed511"], "size": 12, '
                   b'"type": 1, "version": 1}')
HELLO_ZLIB_HEX = (
    "789cab564acac94fce8ecf4c2956b2528856323232b5343336334e324e4935314832304bb3b4304c4bb2304db1"
    "303236344ab54836484d313534548ad551502aceac4a05ea323402b24b2a0bc06c20b32cb5a838333f0fc4ab05"
    "001b5c1aa2")
DIR_JSON = (
    '{"dirents": [{"id": "a2223a08dae418d78cd1070b674325969cfbef75", "mode": 33188, '
    '"modifier": "alice@example.com", "mtime": 1700000000, "name": "hello.txt", "size": 12}, '
    '{"id": "0000000000000000000000000000000000000000", "mode": 33188, '
    '"modifier": "alice@example.com", "mtime": 1700000200, "name": "empty.txt", "size": 0}, '
    '{"id": "0000000000000000000000000000000000000000", "mode": 16384, "mtime": 1700000100, '
    '"name": "Docs"}], "type": 3, "version": 1}').encode()


def test_doc_file_object_vector():
    assert objects.sha1_hex(b"hello world\n") == HELLO_BLOCK
    seaf_file = SeafFile([HELLO_BLOCK], 12)
    assert seaf_file.to_json() == HELLO_FILE_JSON
    assert seaf_file.id == "a2223a08dae418d78cd1070b674325969cfbef75"
    assert objects.compress(HELLO_FILE_JSON).hex() == HELLO_ZLIB_HEX


def test_doc_directory_vector_sorts_entries_descending():
    # Given in ascending order on purpose: the object must sort them itself.
    entries = [
        Dirent("Docs", EMPTY_SHA1, MODE_DIR, 1700000100),
        Dirent("empty.txt", EMPTY_SHA1, MODE_FILE, 1700000200, "alice@example.com", 0),
        Dirent("hello.txt", "a2223a08dae418d78cd1070b674325969cfbef75", MODE_FILE, 1700000000,
               "alice@example.com", 12),
    ]
    directory = SeafDir(entries)
    assert directory.to_json() == DIR_JSON
    assert directory.id == "f62960f33df86f9795cc6c661f0f235402f880b9"
    assert objects.parse_fs_json(DIR_JSON).to_json() == DIR_JSON


def test_doc_commit_id_vector():
    commit_id = objects.compute_commit_id(
        "f62960f33df86f9795cc6c661f0f235402f880b9", EMPTY_SHA1, "alice@example.com",
        'Added "hello.txt".', 1700000300)
    assert commit_id == "fe8b09fa039ee681bc6a9b0d69a2c9ec0bfc75fb"


def test_new_commit_gets_its_id_and_c_layout():
    commit = Commit(root_id="f62960f33df86f9795cc6c661f0f235402f880b9",
                    repo_id="8c0bbbd9-5d0d-4c4f-9a7a-6b5b2d9a6a0e", creator=EMPTY_SHA1,
                    creator_name="alice@example.com", description='Added "hello.txt".',
                    ctime=1700000300, repo_name="Documents", device_name="laptop",
                    client_version="seadrive_3.0.23")
    assert commit.commit_id == "fe8b09fa039ee681bc6a9b0d69a2c9ec0bfc75fb"
    text = commit.to_json().decode()
    assert text.startswith('{"commit_id": "fe8b09fa039ee681bc6a9b0d69a2c9ec0bfc75fb", '
                           '"root_id": ')
    assert ('"parent_id": null, "second_parent_id": null, "repo_name": "Documents", '
            '"repo_desc": "", "repo_category": null, "device_name": "laptop", '
            '"client_version": "seadrive_3.0.23", "version": 1}') in text
    assert "encrypted" not in text
    assert Commit.from_json(commit.to_json()).to_json() == commit.to_json()


# --- jansson string escaping -------------------------------------------------------------------

def test_control_characters_escape_like_jansson():
    text = 'a"b\\c/d\x7fé😀\b\f\n\r\t\x00\x01\x1f'
    expected = '"a\\"b\\\\c/d\x7fé😀\\b\\f\\n\\r\\t\\u0000\\u0001\\u001F"'
    assert objects.json_string(text) == expected
    # A literal backslash followed by "u001b" is not an escape and keeps its lowercase text.
    assert objects.json_string("\\u001b\x1b") == '"\\\\u001b\\u001B"'


def test_name_with_control_character_gets_uppercase_escape_in_dirent():
    directory = SeafDir([Dirent("x\x1bz", EMPTY_SHA1, MODE_DIR, 5)])
    assert b'"name": "x\\u001Bz"' in directory.to_json()
    assert objects.parse_fs_json(directory.to_json()).dirents[0].name == "x\x1bz"


def test_dirents_sorted_descending_by_utf8_bytes():
    # strcmp order: uppercase before lowercase, multi-byte UTF-8 after ASCII.
    names = ["b", "B", "é", "z", "😀", "a b", "ab"]
    directory = SeafDir([Dirent(n, EMPTY_SHA1, MODE_DIR, 1) for n in names])
    got = [d.name for d in directory.dirents]
    assert got == sorted(names, key=lambda n: n.encode(), reverse=True)
    assert got[0] == "😀" and got[-1] == "B"


# --- bad input ---------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [
    b"not json",
    b"[1, 2]",
    b'{"block_ids": [], "size": 1.5, "type": 1, "version": 1}',
    b'{"block_ids": ["xyz"], "size": 1, "type": 1, "version": 1}',
    b'{"block_ids": [], "size": 1, "type": 2, "version": 1}',
    b'{"block_ids": [], "size": 1, "type": 1, "version": 0}',
    b'{"dirents": [{"id": "0000000000000000000000000000000000000000", "mode": 16384, '
    b'"mtime": 1, "name": "a", "size": 3}], "type": 3, "version": 1}',
    b'{"dirents": [{"id": "0000000000000000000000000000000000000000", "mode": 33188, '
    b'"mtime": 1, "name": "a"}], "type": 3, "version": 1}',
    b'{"dirents": [], "type": 3, "version": 1, "extra": 1}',
    b'{"size": 1, "size": 2, "block_ids": [], "type": 1, "version": 1}',
    b"\xff\xfe",
])
def test_bad_fs_objects_are_rejected(data):
    with pytest.raises(ObjectFormatError):
        objects.parse_fs_json(data)


def test_bad_stored_bytes_are_rejected():
    with pytest.raises(ObjectFormatError):
        objects.parse_stored_fs_object(HELLO_FILE_JSON)  # not compressed


@pytest.mark.parametrize("change", [
    {"root_id": "short"},
    {"repo_id": "C4910F68-4419-472D-8790-7D453CCA13F4"},
    {"encrypted": True},
    {"ctime": "1"},
    {"parent_id": 5},
    {"unknown_key": 1},
])
def test_bad_commits_are_rejected(change):
    _, _, path = COMMITS[0]
    obj = json.loads(path.read_bytes())
    obj.update(change)
    with pytest.raises(ObjectFormatError):
        Commit.from_json(json.dumps(obj).encode())
