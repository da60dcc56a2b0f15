"""Reading a library back from a reference-server data directory object by object, checking
every id on the way, and the same {path: bytes or None} view of a local directory; used by the
builder and demo tests."""

import hashlib
import json
import os
import pathlib

from seafserver import builder
from seafserver.objects import EMPTY_SHA1, Commit, SeafDir, SeafFile, parse_stored_fs_object


def read_library(data_dir, repo_id, commit_id=None):
    """{path: bytes for files, None for directories} of a stored commit, checking every object's
    id and the entry metadata on the way. Returns (tree, dirents by path)."""
    storage = builder.storage_for(data_dir)
    if commit_id is None:
        state = json.loads(pathlib.Path(data_dir, "state.json").read_text())
        commit_id = state["libraries"][repo_id]["head"]
    raw_commit = storage.read("commits", repo_id, commit_id)
    commit = Commit.from_json(raw_commit)
    assert commit.commit_id == commit_id == commit.compute_id()
    assert commit.to_json() == raw_commit
    tree, dirents = {}, {}

    def walk(dir_id, prefix):
        if dir_id == EMPTY_SHA1:
            return
        stored = storage.read("fs", repo_id, dir_id)
        seaf_dir = parse_stored_fs_object(stored)
        assert isinstance(seaf_dir, SeafDir) and seaf_dir.id == dir_id
        for dirent in seaf_dir.dirents:
            path = f"{prefix}{dirent.name}"
            dirents[path] = dirent
            if dirent.is_dir:
                tree[path] = None
                walk(dirent.id, path + "/")
            else:
                tree[path] = read_file(storage, repo_id, dirent.id)
                assert len(tree[path]) == dirent.size

    walk(commit.root_id, "")
    return tree, dirents


def read_file(storage, repo_id, file_id):
    if file_id == EMPTY_SHA1:
        return b""
    seaf_file = parse_stored_fs_object(storage.read("fs", repo_id, file_id))
    assert isinstance(seaf_file, SeafFile) and seaf_file.id == file_id
    blocks = [storage.read("blocks", repo_id, block_id) for block_id in seaf_file.block_ids]
    for block, block_id in zip(blocks, seaf_file.block_ids):
        assert hashlib.sha1(block).hexdigest() == block_id
    data = b"".join(blocks)
    assert len(data) == seaf_file.size
    return data


def local_tree(root):
    """The same {path: bytes or None} view of a local directory."""
    tree = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        prefix = "" if rel == "." else rel + "/"
        for name in dirnames:
            tree[prefix + name] = None
        for name in filenames:
            tree[prefix + name] = pathlib.Path(dirpath, name).read_bytes()
    return tree
