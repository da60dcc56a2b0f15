"""Light on the server when idle (protocol doc §7.1): a mount polls the file server's cheap
accessible-repos with a sync token, never Seahub's Django views, and still sees every change;
Seahub's full library list is asked only when the set of libraries changed (or the file server
lacks the endpoint or refuses the token); the quota only when statfs needs it, at most once a
minute."""

import os
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import USER, mount_factory, wait_prefetched  # noqa: E402
from seafserver import builder  # noqa: E402
from uploadkit import LIBRARY, lib_server, remote_change, wait_for, write_tree  # noqa: E402

assert mount_factory and lib_server  # fixtures, used by name
POLL_S = 1
IDLE_S = 4.5
APPEAR_BOUND_S = POLL_S + 20  # one poll interval plus slack for a loaded machine
REPOS = "/api2/repos/"
ACCOUNT = "/api2/account/info/"
ACCESSIBLE = "/seafhttp/accessible-repos/"


def requests_since(server, since):
    """Paths (without query) of the requests the server answered after time `since`."""
    return [e["path"].split("?")[0] for e in server.log() if e["time"] >= since]


def count(paths, path):
    return sum(1 for p in paths if p == path)


def idle_requests(server, mount, seconds=IDLE_S):
    """What an idle mount asked the server for during `seconds` (after its first listing and
    the bulk fetch of the library's folders that the listing started)."""
    os.listdir(mount.path(LIBRARY))
    wait_prefetched(mount, LIBRARY)
    start = time.time()
    time.sleep(seconds)
    return requests_since(server, start)


def test_an_idle_mount_polls_only_the_file_server(lib_server, mount_factory):
    server, _ = lib_server({"a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=POLL_S)
    paths = idle_requests(server, mount)
    assert count(paths, ACCESSIBLE) >= 2, paths  # one a second, give or take a loaded machine
    assert not [p for p in paths if p.startswith("/api2/")], paths
    assert len(paths) == count(paths, ACCESSIBLE), paths  # nothing else either


def test_a_change_by_another_client_is_seen_through_the_cheap_poll(lib_server, mount_factory):
    server, repo_id = lib_server({"a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=POLL_S)
    assert mount.path(LIBRARY, "a.txt").read_bytes() == b"a\n"
    start = time.time()
    remote_change(server, repo_id, {"new.txt": b"from elsewhere\n", "a.txt": b"changed\n"})
    new = mount.path(LIBRARY, "new.txt")
    wait_for(new.exists, APPEAR_BOUND_S, "the other client's file appearing")
    assert new.read_bytes() == b"from elsewhere\n"
    assert mount.path(LIBRARY, "a.txt").read_bytes() == b"changed\n"
    assert count(requests_since(server, start), REPOS) == 0


def test_a_new_library_is_listed_through_seahub_once(lib_server, mount_factory, tmp_path):
    server, _ = lib_server({"a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=POLL_S)
    os.listdir(mount.mountpoint)
    start = time.time()
    source = write_tree(tmp_path / "later-source", {"hello.txt": b"hello\n"})
    builder.create_library(str(tmp_path / "server"), "Arrived Later", USER, source)
    later = mount.path("Arrived Later")
    wait_for(later.exists, APPEAR_BOUND_S, "the new library appearing")
    assert (later / "hello.txt").read_bytes() == b"hello\n"
    time.sleep(3 * POLL_S)  # later polls see the same libraries again: no more full lists
    assert count(requests_since(server, start), REPOS) == 1


def test_without_accessible_repos_the_library_list_is_polled(lib_server, mount_factory):
    server, repo_id = lib_server({"a.txt": b"a\n"})
    server.set_faults(error={"status": 404, "match": "accessible-repos"})
    mount = mount_factory(server, poll_interval=POLL_S)
    paths = idle_requests(server, mount)
    assert count(paths, REPOS) >= 2, paths
    # a missing endpoint is remembered (as SeaDrive does): asked once, at the first poll
    everything = requests_since(server, 0)
    assert count(everything, ACCESSIBLE) == 1, everything
    remote_change(server, repo_id, {"new.txt": b"still seen\n"})
    new = mount.path(LIBRARY, "new.txt")
    wait_for(new.exists, APPEAR_BOUND_S, "the other client's file appearing")
    assert new.read_bytes() == b"still seen\n"


def test_a_refused_token_falls_back_to_the_library_list(lib_server, mount_factory):
    server, repo_id = lib_server({"a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=POLL_S)
    os.listdir(mount.path(LIBRARY))
    start = time.time()
    server.set_faults(error={"status": 403, "match": "accessible-repos", "count": 1})
    remote_change(server, repo_id, {"new.txt": b"seen anyway\n"})
    new = mount.path(LIBRARY, "new.txt")
    wait_for(new.exists, APPEAR_BOUND_S, "the other client's file appearing")
    assert new.read_bytes() == b"seen anyway\n"
    paths = requests_since(server, start)
    assert count(paths, REPOS) >= 1, paths  # the poll the token was refused in


def test_statfs_asks_for_the_quota_at_most_once_a_minute(lib_server, mount_factory):
    server, _ = lib_server({"a.txt": b"a\n"})
    mount = mount_factory(server, poll_interval=POLL_S)
    first = os.statvfs(mount.mountpoint)
    for _ in range(5):
        again = os.statvfs(mount.mountpoint)
    time.sleep(2 * POLL_S)  # polls do not ask for it either
    paths = requests_since(server, 0)  # the mount's own statfs (is it live?) included
    assert count(paths, ACCOUNT) == 1, paths
    assert (again.f_blocks, again.f_bfree) == (first.f_blocks, first.f_bfree)
    assert first.f_blocks > 0 and first.f_bfree <= first.f_blocks
