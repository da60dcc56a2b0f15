"""Fixtures of the desktop tests (tests/desktop/run.sh, never run by tests/run.sh or CI): the
integration suite's reference server and mount fixtures, and a private desktop session (Xvfb,
D-Bus session bus, empty $HOME) from session.py."""

import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
for path in (HERE.parent / "server", HERE.parent / "integration", HERE):
    sys.path.insert(0, str(path))

from mount_fixture import fresh_small_demo_server, mount_factory  # noqa: E402,F401
from session import desktop_session  # noqa: E402

SCREEN = "1280x800x24"


@pytest.fixture
def desktop(tmp_path):
    """The environment of a desktop session with an X server; stopped in teardown with
    everything it started."""
    with desktop_session(tmp_path / "home", screen=SCREEN) as env:
        yield env
