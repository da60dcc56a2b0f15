"""What an idle mount costs the server (not a test): requests by endpoint while a mount of the
small demo sits idle after listing a library, counted from the reference server's request log
and scaled to one hour at the default poll interval (30 s).

  /usr/bin/python3 tests/bench/idle_bench.py [--seconds 60] [--poll 2]

The mount polls every --poll seconds for --seconds seconds (a short interval, so that a minute
shows many polls); the per-hour figure is requests per poll x 120 polls. Needs root (FUSE)."""

import argparse
import collections
import os
import pathlib
import re
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "bench"))

from fs_bench import bench_session  # noqa: E402
from mount_fixture import demo_data, wait_prefetched  # noqa: E402

DEFAULT_POLL_S = 30
ID = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}|[0-9a-f]{40}")


def endpoint(path):
    """The request's path without query, ids replaced by placeholders."""
    return ID.sub("<id>", path.split("?")[0])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--poll", type=int, default=2)
    args = parser.parse_args()
    with bench_session("idle_bench", data=lambda: demo_data(small=True),
                       poll_interval=args.poll) as (_, server, mounts):
        mount = mounts.mount()
        os.listdir(mount.path("Demo"))
        wait_prefetched(mount, "Demo")
        start = time.time()
        time.sleep(args.seconds)
        counts = collections.Counter(endpoint(e["path"]) for e in server.log()
                                     if e["time"] >= start)
        mounts.unmount(mount)
    polls = args.seconds / args.poll
    print("idle %.0f s at poll_interval=%d (%.0f polls); per idle hour at the default %d s:"
          % (args.seconds, args.poll, polls, DEFAULT_POLL_S))
    print("%-50s %8s %14s" % ("endpoint", "requests", "per idle hour"))
    for path, n in counts.most_common():
        print("%-50s %8d %14.0f" % (path, n, n / polls * 3600 / DEFAULT_POLL_S))


if __name__ == "__main__":
    main()
