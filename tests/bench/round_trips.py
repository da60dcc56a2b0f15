"""Requests and round trips of seafs's first steps on a far link (not a test: prints figures,
asserts nothing): mount to the first listing of the mount point (with a stored API token and
with a password), the first listing of a library's root, of one of its folders, and the first
read of a small file. Each step runs at once after the one before, as a user would, on a
fresh cache, over plain HTTP and over HTTPS with HTTP/2 (tls_front.py's nginx).

  SEAFS_BUILD_DIR=build /usr/bin/python3 tests/bench/round_trips.py [--rtt-ms 100] [--runs 3]

Per step, from runs with the server's latency fault (every answer --rtt-ms late, so requests in
flight together overlap in its log): the requests the server answered during it (for the
library steps: those naming the library, then all, background work included) and the longest
chain of them that had to wait for one another (sequential_round_trips; connection set-ups are
not requests). From runs through tests/bench/link_proxy.py (one RTT per request and one per new
connection: TCP, and TLS's handshake round trips): the step's time in RTT, connection set-ups
and local work included."""

import argparse
import contextlib
import os
import pathlib
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
for part in ("server", "integration", "bench"):
    sys.path.insert(0, str(ROOT / "tests" / part))

import mount_fixture  # noqa: E402
from mount_fixture import SeafsMount, demo_data, demo_server, is_mounted  # noqa: E402
from seafserver.demo import demo_repo_id  # noqa: E402
from seafserver.observe import sequential_round_trips  # noqa: E402
from tls_front import free_port, nginx_front, wait_listening  # noqa: E402

LIBRARY = "Demo"
FOLDER = "Documents"
SMALL_FILE = "README.txt"
STEPS = ("mount (stored token)", "mount (password)", "library root", "a folder of it",
         "small file read")


def start_proxy(target, rtt_ms, workdir):
    port = free_port()
    log = workdir / ("proxy-%d.log" % port)
    with open(log, "ab") as out:
        process = subprocess.Popen(["/usr/bin/python3", str(ROOT / "tests/bench/link_proxy.py"),
                                    "--target", str(target), "--port", str(port),
                                    "--rtt-ms", str(rtt_ms)], stdin=subprocess.DEVNULL,
                                   stdout=out, stderr=out)
    wait_listening(port, process, log)
    return port, process


def start_daemon(mount):
    """Starts mount's daemon and returns when the mount point is a mount (polled every 5 ms)."""
    mount.workdir.mkdir(parents=True, exist_ok=True)
    mount.mountpoint.mkdir(exist_ok=True)
    for path in (mount.cache_dir, mount.state_dir):
        path.mkdir(mode=0o700, exist_ok=True)
    mount_fixture.write_credentials(mount.credentials, mount.password)
    log = open(mount.log_path, "ab")
    mount.process = subprocess.Popen(mount.command(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
    log.close()
    deadline = time.monotonic() + 60
    while not is_mounted(mount.mountpoint):
        if mount.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("seafs did not mount:\n" + mount.log_tail())
        time.sleep(0.005)


def step(server, action, library_step):
    """(requests, all requests, requests in sequence, seconds, log) of action(), by the
    server's log; the first and the third count the library's own requests on a library
    step."""
    server.reset_counters()
    began = time.time()
    action()
    ended = time.time()
    log = [e for e in server.log() if e["time"] <= ended]
    own = [e for e in log if demo_repo_id(LIBRARY) in e["path"]] if library_step else log
    return len(own), len(log), sequential_round_trips(own), ended - began, own


def one_run(server, url, options, workdir, stored_token):
    """{step: (requests, in sequence, seconds, log)} of one cold run."""
    mount = SeafsMount(url, workdir, poll_interval=0, **options)
    results = {}
    try:
        if stored_token:  # a first mount stores the token; the second starts cold without it
            start_daemon(mount)
            mount.stop()
            shutil.rmtree(mount.cache_dir)
        else:
            mount.password = mount_fixture.PASSWORD
        name = STEPS[0] if stored_token else STEPS[1]
        results[name] = step(server, lambda: (start_daemon(mount), os.listdir(mount.mountpoint)),
                              False)
        results[STEPS[2]] = step(server, lambda: os.listdir(mount.path(LIBRARY)), True)
        results[STEPS[3]] = step(server, lambda: os.listdir(mount.path(LIBRARY, FOLDER)), True)
        results[STEPS[4]] = step(server, lambda: mount.path(LIBRARY, SMALL_FILE).read_bytes(),
                                 True)
    finally:
        mount.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rtt-ms", type=float, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--transports", default="http,https")
    parser.add_argument("--show-log", action="store_true", help="print the requests of run 1")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("round_trips: needs root (FUSE mounts)")
    data, _ = demo_data(small=True)
    work = pathlib.Path(tempfile.mkdtemp(prefix="round_trips-", dir=str(mount_fixture.DEMO_CACHE)))
    server = demo_server(data, work / "server")
    proxies = []
    rtt = args.rtt_ms / 1000.0
    print("seafs: %s; RTT %.0f ms (link_proxy.py); load average %.1f" % (
        mount_fixture.seafs_binary(), args.rtt_ms, os.getloadavg()[0]))
    try:
        with contextlib.ExitStack() as stack:
            for transport in args.transports.split(","):
                options = {}
                target = server.port
                if transport == "https":
                    front_url, cert = stack.enter_context(nginx_front(server.url, work / "tls"))
                    target = int(front_url.rsplit(":", 1)[1])
                    options["ca_file"] = cert
                port, proxy = start_proxy(target, args.rtt_ms, work)
                proxies.append(proxy)
                timed, counted = [], []
                for run in range(args.runs):
                    for stored in (True, False):
                        url = "%s://127.0.0.1:%d" % (transport, port)
                        timed.append(one_run(server, url, options, work / ("m-%d" % run), stored))
                        url = "%s://127.0.0.1:%d" % (transport, target)
                        server.set_faults(latency_ms=args.rtt_ms)
                        try:
                            counted.append(one_run(server, url, options, work / ("m-%d" % run),
                                                   stored))
                        finally:
                            server.clear_faults()
                print("\n%s\n| step | requests (all) | in sequence | time (RTT) |\n"
                      "|---|---|---|---|" % transport)
                for name in STEPS:
                    got = [r[name] for r in counted if name in r]
                    took = [r[name][3] for r in timed if name in r]
                    print("| %s | %s (%s) | %s | %.1f |" % (
                        name, statistics.median(g[0] for g in got),
                        statistics.median(g[1] for g in got),
                        statistics.median(g[2] for g in got), statistics.median(took) / rtt))
                if args.show_log:
                    for name in STEPS:
                        got = [r[name] for r in counted if name in r][0]
                        print("-- %s" % name)
                        t0 = min((e["start"] for e in got[4]), default=0)
                        for e in sorted(got[4], key=lambda e: e["start"]):
                            print("   %6.0f-%6.0f ms %s %s" % ((e["start"] - t0) * 1000,
                                                             (e["time"] - t0) * 1000,
                                                             e["method"], e["path"][:90]))
    finally:
        for proxy in proxies:
            proxy.send_signal(signal.SIGTERM)
            proxy.wait(10)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
