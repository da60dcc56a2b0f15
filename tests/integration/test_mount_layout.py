"""Where libraries appear in a seafs mount: layout=seadrive sorts them into "My Libraries" and
"Shared with me" as SeaDrive does; libraries with the same name get distinct, visible names that
stay the same on every mount (checked through user.seafs.library_id)."""

import os
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import OTHER, PASSWORD, USER, mount_factory  # noqa: E402
from seafserver import builder  # noqa: E402
from seafserver.testing import VECTORS_DIR, SeafServer  # noqa: E402
from seafserver.vectors import state_from_vectors  # noqa: E402

assert mount_factory  # a fixture, used by name


def test_seadrive_layout(vectors_server, mount_factory):
    state = state_from_vectors(VECTORS_DIR)
    own = sorted(lib["name"] for lib in state["libraries"].values() if lib["owner"] == USER)
    shared = sorted(lib["name"] for lib in state["libraries"].values()
                    if lib["owner"] != USER and USER in lib.get("shares", {}))
    mount = mount_factory(vectors_server, layout="seadrive")
    top = os.listdir(mount.mountpoint)
    assert {"My Libraries", "Shared with me"} <= set(top), top
    assert sorted(os.listdir(mount.path("My Libraries"))) == own
    assert sorted(os.listdir(mount.path("Shared with me"))) == shared
    readme = mount.path("Shared with me", shared[0])
    assert any(readme.iterdir())


@pytest.fixture
def clashing_server(tmp_path):
    """Three libraries called "Same": two of the user's, one of another user shared with them."""
    data = tmp_path / "server"
    builder.add_account(str(data), USER, PASSWORD)
    builder.add_account(str(data), OTHER, "secret2")
    ids = []
    for owner, content in ((USER, b"mine 1\n"), (USER, b"mine 2\n"), (OTHER, b"theirs\n")):
        source = tmp_path / ("source-%d" % len(ids))
        source.mkdir()
        (source / "which.txt").write_bytes(content)
        shares = {USER: "r"} if owner == OTHER else None
        ids.append(builder.create_library(str(data), "Same", owner, source, shares=shares))
    server = SeafServer(str(data)).start()
    yield server, ids
    server.stop()


def names_to_ids(mount):
    return {name: os.getxattr(mount.path(name), "user.seafs.library_id").decode()
            for name in os.listdir(mount.mountpoint)}


def test_name_clashes_are_resolved_visibly_and_deterministically(clashing_server,
                                                                 mount_factory):
    server, ids = clashing_server
    mount = mount_factory(server)
    first = names_to_ids(mount)
    assert sorted(first.values()) == sorted(ids), first
    assert all("Same" in name for name in first), first
    assert any(OTHER in name for name in first), first
    assert mount.stop() == ""
    mount.forget()
    mount.start()
    assert names_to_ids(mount) == first
