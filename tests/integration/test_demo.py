"""Demo data (seafserver.demo): the small demo built through its command line holds the vector
libraries (Big's blocks regenerated) and the generated libraries, each reading back from storage
exactly as its regenerated source tree; the stamp makes a second run a no-op."""

import hashlib
import json
import os
import pathlib
import subprocess
import sys

import pytest

SERVER_DIR = pathlib.Path(__file__).resolve().parents[1] / "server"
from library_tree import local_tree, read_library
from seafserver import builder, demo
from seafserver.objects import parse_stored_fs_object
from seafserver.vectors import USERS

SMALL = ["Demo", "Many Files", "Shared Read-Only", "Shared Read-Write"]


def run_demo(data_dir, *args):
    env = dict(os.environ, PYTHONPATH=str(SERVER_DIR))
    return subprocess.run([sys.executable, "-m", "seafserver.demo", "--data", str(data_dir),
                           *args], capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory, vectors_dir):
    data = tmp_path_factory.mktemp("small-demo")
    result = run_demo(data, "--small", "--vectors", str(vectors_dir))
    assert result.returncode == 0, result.stderr
    return data, result.stdout


@pytest.fixture(scope="module")
def state(small_demo):
    return json.loads((small_demo[0] / "state.json").read_text())


def test_small_demo_lists_its_libraries_and_timing(small_demo):
    output = small_demo[1]
    for name in SMALL:
        assert f"demo: {name} {demo.demo_repo_id(name)} (" in output
    assert "Big File" not in output and "Wide Directory" not in output
    assert "demo: built in " in output and " MiB in " in output
    assert demo.library_names(small=True) == SMALL


def test_accounts_and_sharing(state):
    assert state["accounts"] == USERS
    libraries = state["libraries"]
    for name in SMALL:
        library = libraries[demo.demo_repo_id(name)]
        owner, shares, _, _ = demo.DEMO_LIBRARIES[name]
        assert (library["name"], library["owner"], library["shares"]) == (name, owner, shares)
    shared_ro = libraries[demo.demo_repo_id("Shared Read-Only")]
    assert shared_ro["owner"] == demo.OTHER and shared_ro["shares"] == {demo.USER: "r"}


def test_vector_libraries_are_included(state, vectors_dir):
    repos = json.loads((vectors_dir / "repos.json").read_text())
    for name, repo in repos.items():
        library = state["libraries"][repo["repo_id"]]
        assert (library["name"], library["head"]) == (name, repo["head_commit_id"])


def test_big_vector_library_is_complete(small_demo, vectors_dir):
    repo_id = json.loads((vectors_dir / "repos.json").read_text())["Big"]["repo_id"]
    manifest = json.loads((vectors_dir / "plain-manifest.json").read_text())
    tree, _ = read_library(small_demo[0], repo_id)
    assert {path: hashlib.sha1(data).hexdigest() for path, data in tree.items()} == {
        "big-64MiB.bin": manifest["Big/big-64MiB.bin"]["sha1"],
        "five-MiB.bin": manifest["Big/five-MiB.bin"]["sha1"]}


@pytest.mark.parametrize("name", SMALL)
def test_demo_library_reads_back_as_its_source(small_demo, tmp_path, name):
    source = tmp_path / "source"
    demo.write_source(name, source)
    tree, dirents = read_library(small_demo[0], demo.demo_repo_id(name))
    assert tree == local_tree(source)
    for path, dirent in dirents.items():
        assert dirent.mtime == int((source / path).stat().st_mtime)


def test_demo_library_has_the_promised_shapes(small_demo):
    data = small_demo[0]
    _, many = read_library(data, demo.demo_repo_id("Many Files"))
    files = [p for p, d in many.items() if not d.is_dir]
    leaf_dirs = {p.rsplit("/", 1)[0] for p in files}
    assert len(files) == 10000 and len(leaf_dirs) == 1000
    tree, dirents = read_library(data, demo.demo_repo_id("Demo"))
    assert tree["empty.txt"] == b"" and tree["empty-dir"] is None
    assert "emoji \U0001f600/smile \U0001f600.txt" in tree
    assert "Documents/file with spaces.txt" in tree
    stored = builder.storage_for(data).read("fs", demo.demo_repo_id("Demo"),
                                            dirents["large/twelve-MiB.bin"].id)
    assert len(parse_stored_fs_object(stored).block_ids) >= 2


def test_second_run_is_a_no_op(small_demo, vectors_dir):
    data = small_demo[0]
    before = (data / "state.json").stat().st_mtime_ns
    result = run_demo(data, "--small", "--vectors", str(vectors_dir))
    assert result.returncode == 0 and "up to date" in result.stdout
    assert (data / "state.json").stat().st_mtime_ns == before


def test_wide_directory_source_has_20000_entries(tmp_path):
    demo.write_source("Wide Directory", tmp_path / "wide")
    assert len(os.listdir(tmp_path / "wide" / "20000 entries")) == 20000
