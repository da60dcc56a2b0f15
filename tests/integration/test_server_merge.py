"""The server-side 3-way merge (seafserver.merge) on small trees written straight into a
temporary store: each rule of protocol doc §6.4, conflict names, and the merge commit."""
import hashlib
import time

import pytest

from seafserver.merge import conflict_name, merge_commit
from seafserver.objects import EMPTY_SHA1, MODE_DIR, MODE_FILE, Commit, Dirent, SeafDir, SeafFile, compress
from seafserver.storage import Storage
from seafserver.trees import load_dir

REPO = "5e5e5e5e-1111-2222-3333-444444444444"


@pytest.fixture
def store(tmp_path):
    return Storage(str(tmp_path))


def put_tree(store, spec, mtime=1000):
    """Write a tree {name: bytes (file) | dict (dir)}; return its root id."""
    dirents = []
    for name, value in spec.items():
        if isinstance(value, dict):
            dirents.append(Dirent(name, put_tree(store, value, mtime), MODE_DIR, mtime))
        else:
            seaf_file = SeafFile([hashlib.sha1(value).hexdigest()] if value else [], len(value))
            if seaf_file.id != EMPTY_SHA1:
                store.write("fs", REPO, seaf_file.id, compress(seaf_file.to_json()))
            dirents.append(Dirent(name, seaf_file.id, MODE_FILE, mtime, "bob@example.com", len(value)))
    seaf_dir = SeafDir(dirents)
    if seaf_dir.id != EMPTY_SHA1:
        store.write("fs", REPO, seaf_dir.id, compress(seaf_dir.to_json()))
    return seaf_dir.id


def read_tree(store, dir_id):
    """{name: size (file) | dict (dir)} of a stored tree."""
    result = {}
    for d in load_dir(store, REPO, dir_id):
        result[d["name"]] = read_tree(store, d["id"]) if d["mode"] == MODE_DIR else d["size"]
    return result


def commit_of(store, root_id, description):
    commit = Commit(root_id, REPO, "1" * 40, description, 1700000000, creator_name="bob@example.com",
                    repo_name="Lib", version=1)
    store.write("commits", REPO, commit.commit_id, commit.to_json())
    return commit.to_dict()


def merge(store, base, head, remote):
    commits = [commit_of(store, put_tree(store, t), str(i)) for i, t in enumerate((base, head, remote))]
    merged = merge_commit(store, REPO, *commits)
    return merged, read_tree(store, merged.root_id)


def test_one_sided_changes_and_deletions_are_taken(store):
    base = {"keep": b"k", "h-edit": b"1", "r-edit": b"1", "h-del": b"d", "r-del": b"d", "d": {"x": b"x"}}
    head = {"keep": b"k", "h-edit": b"22", "r-edit": b"1", "r-del": b"d", "new-h": b"h", "d": {"x": b"x", "y": b"yy"}}
    remote = {"keep": b"k", "h-edit": b"1", "r-edit": b"333", "h-del": b"d", "new-r": b"r", "d": {"x": b"x", "z": b"z"}}
    merged, tree = merge(store, base, head, remote)
    assert tree == {"keep": 1, "h-edit": 2, "r-edit": 3, "new-h": 1, "new-r": 1, "d": {"x": 1, "y": 2, "z": 1}}
    assert merged.new_merge == 1 and merged.conflict == 0 and merged.description == "Auto merge by system"
    assert merged.creator == EMPTY_SHA1 and merged.repo_name == "Lib"
    assert store.read_commit(REPO, merged.commit_id)["second_parent_id"] is not None


def test_changed_versus_deleted_keeps_the_changed_version(store):
    _, tree = merge(store, {"a": b"1", "b": b"1"}, {"a": b"22"}, {"b": b"333"})
    assert tree == {"a": 2, "b": 3}


def test_same_change_on_both_sides_is_not_a_conflict(store):
    merged, tree = merge(store, {"a": b"1"}, {"a": b"22", "n": b"n"}, {"a": b"22", "n": b"n"})
    assert tree == {"a": 2, "n": 1} and merged.conflict == 0


def test_different_changes_keep_both_with_a_conflict_name(store):
    merged, tree = merge(store, {"r.txt": b"1"}, {"r.txt": b"22"}, {"r.txt": b"333"})
    copy = conflict_name("r.txt", "bob@example.com", 1000)
    assert tree == {"r.txt": 2, copy: 3}
    assert merged.conflict == 1 and copy in merged.description


def test_file_versus_directory_keeps_head_and_renames_the_upload(store):
    _, tree = merge(store, {}, {"x": b"file"}, {"x": {"inner": b"i"}})
    assert tree["x"] == 4
    [copy] = [name for name in tree if name != "x"]
    assert copy.startswith("x (SFConflict bob@example.com ") and tree[copy] == {"inner": 1}


def test_conflict_name_splits_at_the_last_dot():
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.localtime(0))
    assert conflict_name("a.tar.gz", "w", 0) == "a.tar (SFConflict w %s).gz" % stamp
    assert conflict_name("Makefile", "w", 0) == "Makefile (SFConflict w %s)" % stamp
    assert conflict_name("a.txt", None, 0) == "a (SFConflict %s).txt" % stamp


def test_identical_changes_and_merged_directories_keep_the_head_dirent(store):
    base = commit_of(store, put_tree(store, {"a": b"1", "d": {"x": b"x"}}, 1000), "base")
    head = commit_of(store, put_tree(store, {"a": b"22", "d": {"x": b"x", "y": b"y"}}, 2000), "head")
    remote = commit_of(store, put_tree(store, {"a": b"22", "d": {"x": b"x", "z": b"z"}}, 3000), "remote")
    merged = merge_commit(store, REPO, base, head, remote)
    entries = {d["name"]: d for d in load_dir(store, REPO, merged.root_id)}
    assert (entries["a"]["mtime"], entries["d"]["mtime"]) == (2000, 2000)
    assert read_tree(store, merged.root_id) == {"a": 2, "d": {"x": 1, "y": 1, "z": 1}}


def test_directory_deleted_on_one_side_keeps_only_what_the_other_side_changed(store):
    _, tree = merge(store, {"d": {"x": b"x", "y": b"y"}}, {}, {"d": {"x": b"x", "y": b"yy"}})
    assert tree == {"d": {"y": 2}}
    _, tree = merge(store, {"d": {"x": b"x", "y": b"y"}}, {"d": {"x": b"xx", "y": b"y"}}, {})
    assert tree == {"d": {"x": 2}}


def test_the_merge_commit_names_the_uploader_in_lower_case(store):
    base, head = (commit_of(store, put_tree(store, t), d) for t, d in (({}, "base"), ({"x": b"h"}, "head")))
    remote = Commit(put_tree(store, {"x": {"in": b"r"}}), REPO, "1" * 40, "remote", 1700000000,
                    creator_name="Bob@Example.COM", repo_name="Lib", version=1)
    store.write("commits", REPO, remote.commit_id, remote.to_json())
    merged = merge_commit(store, REPO, base, head, remote.to_dict())
    assert merged.creator_name == "bob@example.com" and merged.conflict == 1
    assert any(name.startswith("x (SFConflict bob@example.com ") for name in read_tree(store, merged.root_id))
