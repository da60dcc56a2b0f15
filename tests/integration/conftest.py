"""Shared pytest fixtures: the reference Seafile server (tests/server/seafserver) serving the
captured real-server vectors, and a factory for servers over temporary data directories.
Every server started here is stopped in teardown, also when the test fails."""
import os
import pathlib
import shutil
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "server"))

from seafserver.testing import VECTORS_DIR, SeafServer, write_state  # noqa: E402
from seafserver.vectors import state_from_vectors  # noqa: E402


ROOT = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def netcheck():
    """The seafs-netcheck driver (tests/tools/netcheck.c) from the build under test."""
    build = pathlib.Path(os.environ.get("SEAFS_BUILD_DIR") or ROOT / "build")
    tool = build / "tests" / "tools" / "seafs-netcheck"
    if not tool.exists():
        if os.environ.get("SEAFS_BUILD_DIR"):
            pytest.fail("SEAFS_BUILD_DIR is set but seafs-netcheck was not built there")
        pytest.skip("seafs-netcheck is not built (cmake --build build)")
    return tool


@pytest.fixture(scope="session")
def vectors_dir():
    return pathlib.Path(VECTORS_DIR)


@pytest.fixture(scope="session")
def vectors_server(tmp_path_factory, vectors_dir):
    """A server over the shared vectors storage (opened read-only: uploads fail with 500 instead
    of changing the shared files), with the captured users and tokens, and the bare file-server
    port enabled. Tests that change its state must restore it."""
    data = tmp_path_factory.mktemp("vectors-server")
    write_state(str(data), state_from_vectors(str(vectors_dir)))
    server = SeafServer(str(data), storage=str(vectors_dir / "storage"), fileserver_port=True,
                        readonly_storage=True)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fault_server(server_factory):
    """A server of the test's own over the shared vectors storage (read-only) with the vectors
    state, free to get faults injected, be stopped or made unreachable; stopped in teardown."""
    return server_factory(state=state_from_vectors(VECTORS_DIR),
                          storage=str(pathlib.Path(VECTORS_DIR) / "storage"))


@pytest.fixture
def server_factory(tmp_path):
    """make(state=None, storage=None, copy_vectors=False, **kw) -> a started SeafServer.

    copy_vectors=True copies the vectors storage into the data dir (for tests that write) and
    uses the vectors state unless `state` is given. A server given the shared vectors storage
    itself opens it read-only unless readonly_storage=False is passed."""
    started = []

    def make(state=None, storage=None, copy_vectors=False, name="server", **kwargs):
        data = tmp_path / name
        data.mkdir()
        if copy_vectors:
            shutil.copytree(pathlib.Path(VECTORS_DIR) / "storage", data / "storage")
            state = state if state is not None else state_from_vectors(VECTORS_DIR)
        write_state(str(data), state or {})
        shared = pathlib.Path(VECTORS_DIR, "storage").resolve()
        if storage is not None and pathlib.Path(storage).resolve() == shared:
            kwargs.setdefault("readonly_storage", True)
        server = SeafServer(str(data), storage=storage, **kwargs)
        started.append(server)
        return server.start()

    yield make
    for server in started:
        server.stop()
