"""Benchmark of net/ (not a test): fetches every block of a big file from the reference server
through seafs' HTTP pool + Seafile client (tests/tools/seafs-netcheck, SHA-1 verified while
streaming) and with plain curl (no verification), sequentially and with N parallel fetches, and
prints throughput medians over several runs, their ratio, and the TCP connections the server
accepted per run (from its counters).

  /usr/bin/python3 tests/bench/net_bench.py [--size-mib 256] [--parallel 4] [--runs 3]
                                            [--demo-data DIR]

The file is the 256 MiB file of the demo library "Big File" when --demo-data (or
$SEAFS_DEMO_DATA) names a demo data directory built by `python3 -m seafserver.demo`; otherwise a
library holding one file of --size-mib MiB of seeded random bytes is built with
seafserver.builder into a cache directory under /tmp (reused on later runs)."""
import argparse
import json
import os
import pathlib
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "server"))

from seafserver import builder  # noqa: E402
from seafserver.testing import SeafServer  # noqa: E402

USER, PASSWORD = "user@example.com", "secret"
BUILD = pathlib.Path(os.environ.get("SEAFS_BUILD_DIR") or ROOT / "build")
NETCHECK = BUILD / "tests" / "tools" / "seafs-netcheck"


def build_library(size_mib):
    """A cached data dir with library "Bench" holding /random.bin; returns (data dir, path)."""
    data = pathlib.Path(tempfile.gettempdir()) / ("seafs-net-bench-%d" % size_mib)
    if (data / "ready").exists():
        return data, "/random.bin"
    os.environ.setdefault("SEAFS_CDC_TOOL", str(BUILD / "tests" / "tools" / "seafs-cdc"))
    with tempfile.TemporaryDirectory() as src:
        rng = random.Random(20261129)
        with open(os.path.join(src, "random.bin"), "wb") as f:
            for _ in range(size_mib):
                f.write(rng.randbytes(1 << 20))
        if data.exists():
            subprocess.run(["rm", "-rf", str(data)], check=True)
        data.mkdir()
        builder.add_account(str(data), USER, PASSWORD)
        builder.create_library(str(data), "Bench", USER, src_dir=src,
                               repo_id="5eaf5be0-0000-4000-8000-000000000256", ctime=1767225600)
    (data / "ready").write_text("ok\n")
    return data, "/random.bin"


def find_repo(server, name):
    token = api_token(server)
    request = urllib.request.Request(server.url + "/api2/repos/",
                                     headers={"Authorization": "Token " + token})
    with urllib.request.urlopen(request) as response:
        repos = json.loads(response.read())
    return next(r["id"] for r in repos if r["name"] == name), token


def api_token(server):
    body = urllib.parse.urlencode({"username": USER, "password": PASSWORD}).encode()
    with urllib.request.urlopen(server.url + "/api2/auth-token/", data=body) as response:
        return json.loads(response.read())["token"]


def sync_token(server, repo_id, token):
    request = urllib.request.Request(server.url + "/api2/repos/%s/download-info/" % repo_id,
                                     headers={"Authorization": "Token " + token})
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read())["token"]


def netcheck(server, *args):
    done = subprocess.run([str(NETCHECK), "--server", server.url, "--user", USER, "--password",
                           PASSWORD] + [str(a) for a in args], capture_output=True, text=True)
    result = json.loads(done.stdout)
    if not result["ok"]:
        raise RuntimeError("seafs-netcheck failed: %s" % done.stdout)
    return result


def seafs_run(server, repo_id, path, parallel):
    """MiB/s of fetching all blocks through net/, and the connections the server accepted."""
    server.reset_counters()
    result = netcheck(server, "--parallel", parallel, "--connections", parallel, "blocks",
                      repo_id, path)
    return result["bytes"] / result["fetch_seconds"] / (1 << 20), server.counters()["connections"]


def curl_run(server, repo_id, blocks, token, parallel):
    """MiB/s of fetching the same blocks with one curl process (connection reuse, -Z for N)."""
    seconds, size, connections = curl_fetch(server, repo_id, blocks, token, parallel)
    return size / seconds / (1 << 20), connections


def curl_fetch(server, repo_id, blocks, token, parallel, url=None, ca_file=None, options=()):
    """(seconds, bytes, server connections) of fetching the blocks with one curl process, from
    the server or through the front or proxy at url (https: HTTP/2, trusting ca_file); options:
    more curl options."""
    with tempfile.NamedTemporaryFile("w", suffix=".curl", delete=False) as config:
        for block in blocks:
            config.write('url = "%s/seafhttp/repo/%s/block/%s"\noutput = "/dev/null"\n'
                         % (url or server.url, repo_id, block))
    args = ["curl", "-sS", "--fail", "-H", "Seafile-Repo-Token: " + token, "-K", config.name,
            "-w", "%{size_download}\n", *options]
    if ca_file:
        args[1:1] = ["--cacert", str(ca_file)]
    if parallel > 1:
        args[1:1] = ["--parallel", "--parallel-max", str(parallel)]
    server.reset_counters()
    started = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    os.unlink(config.name)
    size = sum(int(line) for line in done.stdout.split())
    return seconds, size, server.counters()["connections"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--parallel", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--demo-data", default=os.environ.get("SEAFS_DEMO_DATA"))
    args = parser.parse_args()
    if not NETCHECK.exists():
        sys.exit("build first: cmake -S . -B build && cmake --build build (no %s)" % NETCHECK)

    if args.demo_data and (pathlib.Path(args.demo_data) / "state.json").exists():
        data, library, path = pathlib.Path(args.demo_data), "Big File", "/random-256MiB.bin"
    else:
        started = time.perf_counter()
        data, path = build_library(args.size_mib)
        library = "Bench"
        print("library ready in %.1f s (%s)" % (time.perf_counter() - started, data))

    with SeafServer(str(data)) as server:
        repo_id, token = find_repo(server, library)
        meta = netcheck(server, "metadata", repo_id)
        entry = meta["files"][path]
        repo_token = sync_token(server, repo_id, token)
        print("file %s: %.1f MiB in %d blocks; %d runs each, medians"
              % (path, entry["size"] / (1 << 20), len(entry["blocks"]), args.runs))
        print("%-12s %14s %14s %8s %12s %12s" % ("mode", "seafs MiB/s", "curl MiB/s", "ratio",
                                                 "seafs conns", "curl conns"))
        for parallel in (1, args.parallel):
            seafs = [seafs_run(server, repo_id, path, parallel) for _ in range(args.runs)]
            curl = [curl_run(server, repo_id, entry["blocks"], repo_token, parallel)
                    for _ in range(args.runs)]
            seafs_speed = statistics.median(s for s, _ in seafs)
            curl_speed = statistics.median(s for s, _ in curl)
            print("%-12s %14.1f %14.1f %8.2f %12s %12s"
                  % ("sequential" if parallel == 1 else "parallel %d" % parallel, seafs_speed,
                     curl_speed, seafs_speed / curl_speed,
                     "/".join(str(c) for _, c in seafs), "/".join(str(c) for _, c in curl)))


if __name__ == "__main__":
    main()
