"""HTTP/2 multiplexing in net/'s HTTP pool, through tests/tools/seafs-httpfetch against nghttpd
(Debian's nghttp2-server) serving files over TLS with a self-signed certificate: parallel
fetches share one connection (and with multiplexing off, or for requests that ask for their
own connection, each takes its own), bodies arrive intact, and a stalled https transfer still
ends with a timeout."""
import hashlib
import http.server
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time

import pytest
from seafserver.testing import signal_with_parent
from test_net_tls import self_signed

FILES = 8
CONNECTIONS = 4
TIMED_OUT = "timed out"  # seaf_strerror(SEAF_ERR_TIMEOUT)


@pytest.fixture(scope="module")
def httpfetch(netcheck):
    tool = netcheck.parent / "seafs-httpfetch"
    assert tool.exists(), "seafs-httpfetch is built next to seafs-netcheck"
    return tool


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, process, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "nghttpd exited early"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail("nghttpd did not start listening")


@pytest.fixture(scope="module")
def h2_server(tmp_path_factory):
    nghttpd = shutil.which("nghttpd") or "/usr/sbin/nghttpd"
    if not os.path.exists(nghttpd):
        pytest.fail("nghttpd missing: run packaging/install-deps.sh (nghttp2-server)")
    base = tmp_path_factory.mktemp("h2")
    cert, key = self_signed(base)
    htdocs = base / "htdocs"
    htdocs.mkdir()
    digests = {}
    for i in range(FILES):
        data = os.urandom(300_000 + 997 * i)
        (htdocs / ("f%d" % i)).write_bytes(data)
        digests["f%d" % i] = hashlib.sha1(data).hexdigest()
    port = free_port()
    process = subprocess.Popen([nghttpd, "--address=127.0.0.1", "--htdocs=%s" % htdocs,
                                str(port), str(key), str(cert)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               preexec_fn=signal_with_parent(signal.SIGKILL))
    try:
        wait_listening(port, process)
        yield "https://127.0.0.1:%d" % port, cert, digests
    finally:
        process.kill()
        process.wait()


def fetch(tool, cert, urls, *options):
    done = subprocess.run([str(tool), "--ca-file", str(cert), "--threads", str(len(urls)),
                           "--connections", str(CONNECTIONS), *options, *urls],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    results = {}
    for line in lines[:-1]:
        url, status, length, digest, outcome = line.split(" ", 4)
        results[url.rsplit("/", 1)[1]] = (outcome, int(status), int(length), digest)
    name, connections = lines[-1].split()
    assert name == "connections_opened"
    return results, int(connections)


def fetch_all_intact(tool, h2_server, *options):
    """Fetches every file of the server in parallel, checks each body, returns the connections
    the pool opened."""
    url, cert, digests = h2_server
    results, connections = fetch(tool, cert, ["%s/%s" % (url, n) for n in digests], *options)
    for name, (outcome, status, _, digest) in results.items():
        assert (outcome, status, digest) == ("ok", 200, digests[name]), name
    assert set(results) == set(digests)
    return connections


def test_parallel_fetches_share_one_http2_connection(httpfetch, h2_server):
    assert fetch_all_intact(httpfetch, h2_server) == 1


def test_requests_for_their_own_connection_are_not_multiplexed(httpfetch, h2_server):
    """Block downloads ask for a connection of their own: as many as run at once."""
    assert 1 < fetch_all_intact(httpfetch, h2_server, "--own-connection") <= CONNECTIONS


def test_without_multiplexing_each_request_in_flight_has_its_connection(httpfetch, h2_server):
    assert 1 < fetch_all_intact(httpfetch, h2_server, "--no-multiplex") <= CONNECTIONS


class StallingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (http.server naming)
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"x" * 1000)
        self.wfile.flush()
        self.server.release.wait(30)

    def log_message(self, *args):
        pass


def test_stalled_https_transfer_times_out(httpfetch, tmp_path):
    cert, key = self_signed(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StallingHandler)
    server.daemon_threads = True
    server.release = threading.Event()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = "https://127.0.0.1:%d/stall" % server.server_address[1]
        results, _ = fetch(httpfetch, cert, [url], "--low-speed-time", "1")
        assert results["stall"][0] == TIMED_OUT
        assert results["stall"][2] == 1000
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        thread.join()
