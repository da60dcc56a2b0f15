"""What a seafs mount shows of the small demo (seafserver.demo --small, which also holds the
captured vector libraries): every library of the account as a top-level folder, and every file
of every library byte-identical to its source (the demo builder's regenerated trees, the
vectors' plain/ files), with the same sizes, mtimes, empty files and empty directories and the
unicode, emoji and space names. Encrypted libraries appear but refuse reads."""

import errno
import json
import os
import pathlib
import stat
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (USER, assert_same_tree, file_sha1, mount_factory,  # noqa: E402
                           small_demo_server, vector_empty_dirs)
from seafserver import demo  # noqa: E402
from seafserver.testing import VECTORS_DIR  # noqa: E402

assert mount_factory and small_demo_server  # fixtures, used by name
VECTORS = pathlib.Path(VECTORS_DIR)
MANIFEST = json.loads((VECTORS / "plain-manifest.json").read_text())
PLAIN_VECTOR_LIBRARIES = ("Docs", "SharedRO", "Scratch")
ENCRYPTED_VECTOR_LIBRARIES = ("Secret", "Secret4")


@pytest.fixture
def mounted(small_demo_server, mount_factory):
    server, _ = small_demo_server
    return mount_factory(server)


def visible_library_names(state):
    return sorted(lib["name"] for lib in state["libraries"].values()
                  if lib["owner"] == USER or USER in lib.get("shares", {}))


def test_every_library_is_a_top_level_folder(small_demo_server, mounted):
    server, _ = small_demo_server
    names = sorted(os.listdir(mounted.mountpoint))
    assert names == visible_library_names(server.state())
    for name in names:
        assert stat.S_ISDIR(os.stat(mounted.path(name)).st_mode), name


@pytest.mark.parametrize("library", demo.library_names(small=True))
def test_demo_library_reads_byte_identical(library, mounted, tmp_path):
    source = tmp_path / "source"
    demo.write_source(library, source)
    count = assert_same_tree(source, mounted.path(library))
    assert count > 0


@pytest.mark.parametrize("library", PLAIN_VECTOR_LIBRARIES)
def test_vector_library_reads_byte_identical(library, mounted):
    # plain/ is a reconstruction whose mtimes are not the server's, so only bytes are compared.
    count = assert_same_tree(VECTORS / "plain" / library, mounted.path(library),
                             check_mtimes=False, extra_empty_dirs=vector_empty_dirs(library))
    expected = [k for k in MANIFEST if k.startswith(library + "/")]
    assert count >= len(expected)


def test_vector_big_library_matches_the_manifest(mounted):
    """Big's blocks are not shipped; the demo regenerates them, the manifest has the digests."""
    files = {k[len("Big/"):]: v for k, v in MANIFEST.items() if k.startswith("Big/")}
    assert sorted(os.listdir(mounted.path("Big"))) == sorted(files)
    for name, entry in files.items():
        assert file_sha1(mounted.path("Big", name)) == entry["sha1"], name
        assert os.stat(mounted.path("Big", name)).st_size == entry["size"]


@pytest.mark.parametrize("library", ENCRYPTED_VECTOR_LIBRARIES)
def test_encrypted_library_appears_but_refuses_reads(library, mounted):
    folder = mounted.path(library)
    assert folder.is_dir()
    name = next(k for k in sorted(MANIFEST) if k.startswith(library + "/")
                and not k.endswith("/") and MANIFEST[k]["size"] > 0)
    with pytest.raises(OSError) as error:
        with open(mounted.path(name), "rb") as f:
            f.read()
    assert error.value.errno == errno.EACCES, error.value
