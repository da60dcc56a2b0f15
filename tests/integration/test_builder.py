"""Library builder (seafserver.builder / seafserver.build): libraries built from local directories
are read back from storage object by object and compared with the source; commits on top;
determinism; bad input."""

import hashlib
import json
import os
import pathlib
import subprocess
import sys

import pytest

SERVER_DIR = pathlib.Path(__file__).resolve().parents[1] / "server"
from library_tree import local_tree, read_library
from seafserver import builder, cdc
from seafserver.objects import (
    EMPTY_SHA1, MODE_DIR, MODE_EXECUTABLE, MODE_FILE, Commit, parse_stored_fs_object)

REPO_ID = "0badc0de-1234-4abc-8def-0123456789ab"
OWNER = "user@example.com"
CTIME = 1700000000
MTIME = 1690000000

TRICKY_FILES = {
    "Résumé ü.txt": b"accents\n",
    "中文文件.txt": "中文内容\n".encode(),
    "emoji 😀/smile.txt": b":-)\n",
    "file with spaces.txt": b"spaces\n",
    " leading and trailing space ": b"blank\n",
    'quote " and back\\slash': b"escapes\n",
    "new\nline and\ttab": b"control characters in a name\n",
    "UPPER.txt": b"upper\n",
    "lower.txt": b"lower\n",
    "ä" * 127: b"a 254-byte name\n",
    "empty.txt": b"",
    "a/b/c/d/e/deep.txt": b"deep\n",
    "same/one.txt": b"identical content\n",
    "same/two.txt": b"identical content\n",
}
EMPTY_DIRS = ["empty-dir", "a/empty-subdir", "nested-empty/inner"]


def make_tree(root, files, empty_dirs=(), big_size=0):
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    for rel in empty_dirs:
        (root / rel).mkdir(parents=True, exist_ok=True)
    if big_size:
        # Several content-defined chunks: pseudo-random bytes, reproducible.
        seed = hashlib.sha256(b"builder test").digest()
        blocks = (hashlib.sha256(seed + i.to_bytes(8, "big")).digest()
                  for i in range(-(-big_size // 32)))
        (root / "big.bin").write_bytes(b"".join(blocks)[:big_size])
    return root


def stored_files(data_dir):
    """{relative path: bytes} of everything under storage/."""
    root = data_dir / "storage"
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def source(tmp_path):
    src = make_tree(tmp_path / "src", TRICKY_FILES, EMPTY_DIRS, big_size=cdc.MAX_SIZE + (1 << 20))
    (src / "run.sh").write_bytes(b"#!/bin/sh\necho hi\n")
    (src / "run.sh").chmod(0o755)
    return src


def build(data_dir, src, **kwargs):
    kwargs.setdefault("repo_id", REPO_ID)
    return builder.create_library(data_dir, "Tricky", OWNER, src, ctime=CTIME, mtime=MTIME,
                                  **kwargs)


def test_library_reads_back_identical(tmp_path, source):
    data = tmp_path / "data"
    assert build(data, source, shares={"other@example.com": "r"}, desc="d") == REPO_ID
    tree, dirents = read_library(data, REPO_ID)
    assert tree == local_tree(source)
    assert dirents["run.sh"].mode == MODE_EXECUTABLE
    assert dirents["lower.txt"].mode == MODE_FILE
    assert dirents["empty-dir"].mode == MODE_DIR and dirents["empty-dir"].id == EMPTY_SHA1
    assert dirents["empty.txt"].id == EMPTY_SHA1 and dirents["empty.txt"].size == 0
    assert dirents["same/one.txt"].id == dirents["same/two.txt"].id
    assert all(d.mtime == MTIME for d in dirents.values())
    assert all(d.modifier == OWNER for d in dirents.values() if not d.is_dir)

    library = json.loads((data / "state.json").read_text())["libraries"][REPO_ID]
    assert library["name"] == "Tricky" and library["owner"] == OWNER and library["desc"] == "d"
    assert library["shares"] == {"other@example.com": "r"}
    assert library["encrypted"] is False and library["version"] == 1
    head = Commit.from_json(builder.storage_for(data).read("commits", REPO_ID, library["head"]))
    first = Commit.from_json(builder.storage_for(data).read("commits", REPO_ID, head.parent_id))
    assert (first.root_id, first.parent_id, first.description) == (EMPTY_SHA1, None,
                                                                   "Created library")
    for commit in (head, first):
        assert commit.creator == EMPTY_SHA1 and commit.creator_name == OWNER
        assert commit.repo_name == "Tricky" and commit.version == 1 and commit.ctime == CTIME
    assert head.description.startswith('Added "')


def test_blocks_follow_content_defined_chunking(tmp_path, source):
    data = tmp_path / "data"
    build(data, source)
    _, dirents = read_library(data, REPO_ID)
    storage = builder.storage_for(data)
    big = parse_stored_fs_object(storage.read("fs", REPO_ID, dirents["big.bin"].id))
    content = (source / "big.bin").read_bytes()
    expected = [hashlib.sha1(content[o:o + n]).hexdigest()
                for o, n in cdc.chunks(source / "big.bin")]
    assert big.block_ids == expected and len(expected) >= 2
    # empty files and directories have no stored object
    assert not list((data / "storage").glob(f"*/{REPO_ID}/00/{EMPTY_SHA1[2:]}"))


def test_rebuild_is_identical(tmp_path, source):
    build(tmp_path / "one", source)
    build(tmp_path / "two", source)
    assert stored_files(tmp_path / "one") == stored_files(tmp_path / "two")
    state_one = json.loads((tmp_path / "one" / "state.json").read_text())
    state_two = json.loads((tmp_path / "two" / "state.json").read_text())
    assert state_one == state_two


def test_commit_on_top_writes_only_new_objects(tmp_path, source):
    data = tmp_path / "data"
    build(data, source)
    old_head = json.loads((data / "state.json").read_text())["libraries"][REPO_ID]["head"]
    before = stored_files(data)

    (source / "lower.txt").write_bytes(b"changed by another client\n")
    (source / "UPPER.txt").unlink()
    (source / "added dir").mkdir()
    (source / "added dir" / "new.txt").write_bytes(b"new\n")
    (source / "empty-dir").rmdir()
    new_head = builder.commit_directory(data, REPO_ID, source, ctime=CTIME + 60, mtime=MTIME,
                                        creator_name="other@example.com")

    assert json.loads((data / "state.json").read_text())["libraries"][REPO_ID]["head"] == new_head
    tree, dirents = read_library(data, REPO_ID)
    assert tree == local_tree(source)
    assert dirents["lower.txt"].modifier == "other@example.com"
    commit = Commit.from_json(builder.storage_for(data).read("commits", REPO_ID, new_head))
    assert commit.parent_id == old_head and commit.creator == builder.BUILDER_DEVICE_ID
    assert commit.device_name == builder.BUILDER_DEVICE_NAME
    assert commit.description == ('Added "new.txt".\nDeleted "UPPER.txt".\n'
                                  'Modified "lower.txt".\nAdded directory "added dir".\n'
                                  'Removed directory "empty-dir".\n')

    after = stored_files(data)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing rewritten
    new_objects = sorted(k.split("/")[0] for k in after.keys() - before.keys())
    # new blocks: lower.txt, new.txt; new fs: lower.txt, new.txt, "added dir", root; 1 commit
    assert new_objects == ["blocks"] * 2 + ["commits"] + ["fs"] * 4
    # the old commit still reads back as before
    assert read_library(data, REPO_ID, old_head)[0]["UPPER.txt"] == b"upper\n"


def test_unchanged_tree_adds_no_commit(tmp_path, source):
    data = tmp_path / "data"
    build(data, source)
    head = json.loads((data / "state.json").read_text())["libraries"][REPO_ID]["head"]
    before = stored_files(data)
    assert builder.commit_directory(data, REPO_ID, source, mtime=MTIME, ctime=CTIME + 5) == head
    assert stored_files(data) == before


def test_reverting_gets_a_fresh_commit_id(tmp_path):
    data = tmp_path / "data"
    src = make_tree(tmp_path / "src", {"f.txt": b"one\n"})
    build(data, src)
    first = json.loads((data / "state.json").read_text())["libraries"][REPO_ID]["head"]
    (src / "f.txt").write_bytes(b"two\n")
    second = builder.commit_directory(data, REPO_ID, src, "edit", ctime=CTIME, mtime=MTIME)
    (src / "f.txt").write_bytes(b"one\n")
    # Same root, creator, description and time as `first`: the id must still be new (ids
    # ignore the parent), or the history would get a cycle.
    third = builder.commit_directory(data, REPO_ID, src, "Added \"f.txt\".", ctime=CTIME,
                                     mtime=MTIME, device_id=EMPTY_SHA1)
    assert len({first, second, third}) == 3
    commit = Commit.from_json(builder.storage_for(data).read("commits", REPO_ID, third))
    assert commit.parent_id == second and commit.ctime > CTIME


def test_keep_head_leaves_state_alone(tmp_path, source):
    data = tmp_path / "data"
    build(data, source)
    head = json.loads((data / "state.json").read_text())["libraries"][REPO_ID]["head"]
    (source / "extra.txt").write_bytes(b"x")
    new = builder.commit_directory(data, REPO_ID, source, move_head=False)
    assert new != head
    assert json.loads((data / "state.json").read_text())["libraries"][REPO_ID]["head"] == head
    assert read_library(data, REPO_ID, new)[0]["extra.txt"] == b"x"


def test_bad_input_is_a_clear_error(tmp_path):
    data = tmp_path / "data"
    src = make_tree(tmp_path / "src", {"f.txt": b"1"})
    (src / "link").symlink_to("f.txt")
    with pytest.raises(builder.BuildError, match="only regular files and directories"):
        build(data, src)
    (src / "link").unlink()
    build(data, src)
    with pytest.raises(builder.BuildError, match="already exists"):
        build(data, src)
    with pytest.raises(builder.BuildError, match="no library"):
        builder.commit_directory(data, "00000000-0000-0000-0000-000000000000", src)


def test_command_line(tmp_path):
    data = tmp_path / "data"
    src = make_tree(tmp_path / "src", {"hello.txt": b"hello world\n"})
    env = dict(os.environ, PYTHONPATH=str(SERVER_DIR))

    def run(*args):
        return subprocess.run([sys.executable, "-m", "seafserver.build", "--data", str(data),
                               *args], capture_output=True, text=True, env=env, check=False)

    assert run("account", OWNER, "secret").returncode == 0
    created = run("create", "--name", "CLI", "--owner", OWNER, "--src", str(src), "--repo-id",
                  REPO_ID, "--ctime", str(CTIME), "--mtime", str(MTIME), "--share",
                  "other@example.com=rw")
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == REPO_ID
    state = json.loads((data / "state.json").read_text())
    assert state["accounts"][OWNER]["password"] == "secret"
    assert state["libraries"][REPO_ID]["shares"] == {"other@example.com": "rw"}
    (src / "hello.txt").write_bytes(b"changed\n")
    committed = run("commit", "--repo-id", REPO_ID, "--src", str(src), "--ctime", "1700000100")
    assert committed.returncode == 0, committed.stderr
    assert json.loads((data / "state.json").read_text())["libraries"][REPO_ID]["head"] == \
        committed.stdout.strip()
    bad = run("create", "--name", "X", "--owner", OWNER, "--share", "nobody")
    assert bad.returncode == 2 and "EMAIL=r" in bad.stderr
    missing = run("create", "--name", "Y", "--owner", OWNER, "--src", str(tmp_path / "nope"))
    assert missing.returncode == 1 and "cannot list" in missing.stderr
