"""Connections of a cold read over HTTPS on a far link (issue #12, "Fewer round trips"): seafs
behind tests/bench/tls_front.py's nginx (HTTP/2, TLS 1.3, a self-signed CA as ca_file), the
reference server answering every request late (its latency fault), so that seafs measures a
far link. A block download used to open a connection of its own, whose TCP and TLS handshakes
made a cold read of a small file cost 4-5 round trips for its 2 requests; now, with no warm
connection of its own at hand, it goes over the HTTP/2 connection already open. nginx logs the
serial number of each request's connection."""
import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "bench"))

from mount_fixture import SeafsMount, small_demo_server  # noqa: E402,F401
from tls_front import nginx_front  # noqa: E402

LATENCY_MS = 30
LIBRARY = "Demo"
FOLDER = "Documents"
SMALL_FILE = "README.txt"


def connections(log):
    """Serial numbers of the connections the requests logged so far came over."""
    return [line.split()[1] for line in log.read_text().splitlines()]


def test_cold_small_file_read_over_https_opens_no_connection(small_demo_server, tmp_path):
    server, _ = small_demo_server
    with nginx_front(server.url, tmp_path / "tls") as (url, cert):
        log = tmp_path / "tls" / "access.log"
        mount = SeafsMount(url, tmp_path / "m", ca_file=str(cert), poll_interval=0)
        server.set_faults(latency_ms=LATENCY_MS)
        try:
            mount.start()
            assert FOLDER in os.listdir(mount.path(LIBRARY))
            open_before = set(connections(log))
            logged_before = len(connections(log))
            server.reset_counters()
            data = mount.path(LIBRARY, SMALL_FILE).read_bytes()
            blocks = [e for e in server.log() if "/block/" in e["path"]]
            read_over = connections(log)[logged_before:]
        finally:
            server.clear_faults()
            problem = mount.stop()
        assert not problem, problem
    assert data and len(blocks) == 1, blocks  # the read fetched its block from the server
    assert read_over and set(read_over) <= open_before, (read_over, open_before)
