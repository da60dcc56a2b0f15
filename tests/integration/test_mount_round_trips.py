"""Round trips of a library's first listing (issue #12, "Fewer round trips"), under a latency
fault on every request so that requests in flight together overlap in the server's log: right
after the mount, every library's root folder is warmed in the background (sync token, head
commit, root folder), and once that is done listing any library's root asks the server for
nothing; a library opened before its turn (no sync token yet) lists after two requests in
sequence (the library's info beside download-info, then its root folder) instead of three
(download-info, commit, pack-fs); and a mount in the background returns once the library list
came, without waiting for the quota."""
import json
import os
import pathlib
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "server"))

from mount_fixture import (PASSWORD, USER, ctl, is_mounted, mount_factory,  # noqa: E402,F401
                           small_demo_server)
from seafserver import builder  # noqa: E402
from seafserver.observe import sequential_round_trips  # noqa: E402

LATENCY_MS = 100
WAIT_S = 30


def server_libraries(server):
    """The plaintext libraries as the server lists them (its order is the warming's order)."""
    body = ("username=%s&password=%s" % (USER, PASSWORD)).encode()
    with urllib.request.urlopen(server.url + "/api2/auth-token/", data=body) as response:
        token = json.loads(response.read())["token"]
    request = urllib.request.Request(server.url + "/api2/repos/",
                                     headers={"Authorization": "Token " + token})
    with urllib.request.urlopen(request) as response:
        return [r for r in json.loads(response.read()) if not r["encrypted"]]


def root_names(server, repo_id):
    storage = server.open_storage()
    head = server.state()["libraries"][repo_id]["head"]
    root_id = json.loads(storage.read("commits", repo_id, head))["root_id"]
    return sorted(p.lstrip("/") for p in builder.tree_entries(storage, repo_id, root_id)
                  if p.count("/") == 1)


def roots_status(mount):
    done = ctl("status", mount.mountpoint, "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    return status["library_roots"], len(status["libraries"])


def test_library_opened_before_its_turn_lists_after_two_round_trips(small_demo_server,
                                                                      mount_factory):
    server, _ = small_demo_server
    last = server_libraries(server)[-1]  # warmed last: still waiting when it is opened
    server.set_faults(latency_ms=LATENCY_MS)
    try:
        mount = mount_factory(server, poll_interval=0)  # a fresh state: no sync token yet
        server.reset_counters()
        names = sorted(os.listdir(mount.path(last["name"])))
        done = time.time()
        log = [e for e in server.log() if e["time"] <= done and last["id"] in e["path"]]
    finally:
        server.clear_faults()
    assert names == root_names(server, last["id"])
    paths = [e["path"] for e in log]
    assert any("download-info" in p for p in paths), paths
    assert sequential_round_trips(log) <= 2, log


def test_every_library_root_is_warm_after_the_mount(small_demo_server, mount_factory):
    server, _ = small_demo_server
    mount = mount_factory(server, poll_interval=0)
    deadline = time.monotonic() + WAIT_S
    while True:
        roots, libraries = roots_status(mount)
        if roots["warmed"] + roots["failed"] >= libraries:
            break
        assert time.monotonic() < deadline, (roots, mount.log_tail())
        time.sleep(0.05)
    assert roots == {"warmed": libraries, "failed": 0}
    server.set_faults(latency_ms=LATENCY_MS)
    try:
        server.reset_counters()
        for library in server_libraries(server):
            began = time.monotonic()
            names = sorted(os.listdir(mount.path(library["name"])))
            took = time.monotonic() - began
            assert names == root_names(server, library["id"])
            assert took < LATENCY_MS / 1000.0, (library["name"], took)  # no request waited for
        paths = [e["path"] for e in server.log()]
    finally:
        server.clear_faults()
    assert not any("download-info" in p or "/commit/" in p for p in paths), paths


def test_background_mount_returns_after_the_list_alone(small_demo_server, mount_factory):
    """`seafs` without -f returns (and systemd hears READY=1) once the mount answers: with a
    stored token that takes the library list and nothing else (the daemon's own check of the
    mount, a statfs, does not ask Seahub for the quota)."""
    server, _ = small_demo_server
    mount = mount_factory(server, poll_interval=0)
    assert mount.stop() == ""  # the API token is stored now
    command = [c for c in mount.command() if c != "-f"]
    server.set_faults(latency_ms=LATENCY_MS)
    try:
        server.reset_counters()
        subprocess.run(command, check=True, timeout=WAIT_S, stdin=subprocess.DEVNULL,
                       capture_output=True)
        returned = time.time()
        paths = [e["path"] for e in server.log() if e["start"] <= returned]
    finally:
        server.clear_faults()
        subprocess.run(["fusermount3", "-u", str(mount.mountpoint)], capture_output=True)
        deadline = time.monotonic() + WAIT_S
        while is_mounted(mount.mountpoint) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert sum(p.split("?")[0] == "/api2/repos/" for p in paths) == 1, paths
    assert not any("account/info" in p for p in paths), paths
