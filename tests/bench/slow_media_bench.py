"""What probing a media folder costs over a slow link (not a test: prints figures, asserts
nothing): `head -c 4096`, `ffprobe`, `identify` and `exiftool` run file after file on a cold
seafs mount of fm_media.py's "Media/Camera Roll", the link made slow by the reference server's
faults (default 10 Mbit/s per transfer and 150 ms added to every request, as range_bench.py).

  /usr/bin/python3 tests/bench/slow_media_bench.py [--range-reads auto|off|always]
      [--latency-ms 150] [--bandwidth-bps 1250000] [--files 12]

Each row runs one tool on each of the first --files files of the folder in listing order
(readdir's, as tar or grep -r open them; a mix of JPEGs, PNGs and MP4s) on a fresh mount with an
empty cache, the folder listed before the clock starts. Columns: bytes the tool read from the
files (read calls, strace); bytes the server sent meanwhile (blocks, ranges, links, listings;
folder-scan prefetch of later files included); their ratio (issue #12's target: within 4x);
seconds for the row; the worst file's seconds over its bound, 2 round trips + the bytes the tool
read at the link's bandwidth (target: at most 1), and how many files met it. Needs root (FUSE),
strace, ffprobe, identify (imagemagick) and exiftool; the media data is built on first use
(fm_media.py, kept in $SEAFS_MOUNT_TEST_DATA/fm-media)."""

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[2]
for part in ("server", "integration", "bench", "desktop"):
    sys.path.insert(0, str(ROOT / "tests" / part))

import fm_media  # noqa: E402
from fm_bench import TRACED, media_data, traced_bytes  # noqa: E402
from fs_bench import bench_session  # noqa: E402

MIB = 1 << 20
TOOLS = {"head -c 4096": ["head", "-c", "4096"],
         "ffprobe": ["ffprobe", "-v", "error", "-show_format", "-show_streams"],
         "identify": ["identify"],
         "exiftool": ["exiftool", "-fast"]}
FORMAT = "%-14s %5s %10s %10s %7s %9s %9s %6s"


def probe(tool, path, trace_dir):
    """(seconds, bytes the tool read of path) of one run of tool on path under strace."""
    trace_dir.mkdir()
    command = ["strace", "-ff", "-y", "-qq", "-s", "0", "-e", "trace=" + TRACED,
               "-o", str(trace_dir / "t")] + TOOLS[tool] + [str(path)]
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    seconds = time.perf_counter() - started
    read, _mapped = traced_bytes(trace_dir, str(path))
    return seconds, read


def run_row(tool, server, mounts, names, faults, workdir):
    server.set_faults(**faults)  # from the start: the mount measures the link as it goes
    mount = mounts.mount()
    folder = mount.path(fm_media.LIBRARY, fm_media.FOLDER)
    order = [n for n in os.listdir(folder) if n in names]  # readdir order, as tar opens them
    server.reset_counters()
    results = []
    started = time.perf_counter()
    for i, name in enumerate(order):
        results.append((name,) + probe(tool, folder / name, workdir / ("%s-%d" % (tool[:4], i))))
    seconds = time.perf_counter() - started
    sent = server.counters()["bytes_sent"]
    server.clear_faults()
    mounts.unmount(mount)
    return seconds, sent, results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--range-reads", choices=("auto", "off", "always"), default="auto")
    parser.add_argument("--latency-ms", type=int, default=150)
    parser.add_argument("--bandwidth-bps", type=int, default=1_250_000)
    parser.add_argument("--files", type=int, default=12)
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument("--verbose", action="store_true", help="a line per file too")
    args = parser.parse_args()
    missing = [t for t in ("strace", "ffprobe", "identify", "exiftool") if not shutil.which(t)]
    if missing:
        sys.exit("slow_media_bench: missing %s" % ", ".join(missing))
    faults = {"latency_ms": args.latency_ms, "bandwidth_bps": args.bandwidth_bps}
    started = time.perf_counter()
    with bench_session("slow_media_bench", data=media_data, poll_interval=0,
                       range_reads=args.range_reads) as (_, server, mounts):
        mount = mounts.mount()
        folder = mount.path(fm_media.LIBRARY, fm_media.FOLDER)
        listing = [n for n in os.listdir(folder)]
        # Every kind of file: the first files of each kind, in listing order.
        per_kind = max(1, args.files // len(fm_media.KINDS))
        names = set()
        for kind in fm_media.KINDS:
            names.update([n for n in listing if fm_media.kind(n) == kind][:per_kind])
        sizes = {n: (folder / n).stat().st_size for n in names}
        mounts.unmount(mount)
        print("%d files, %.1f MiB; link %d ms + %.1f Mbit/s; range_reads=%s" % (
            len(names), sum(sizes.values()) / MIB, args.latency_ms,
            args.bandwidth_bps * 8 / 1e6, args.range_reads))
        print(FORMAT % ("tool", "files", "read MiB", "sent MiB", "ratio", "seconds",
                        "worst/bnd", "in bnd"))
        rtt = args.latency_ms / 1000
        for tool in args.tools.split(","):
            wanted = {n for n in names if tool != "identify" or not n.startswith("VID_")}
            seconds, sent, results = run_row(tool, server, mounts, wanted, faults,
                                             mounts.workdir)
            read = sum(r[2] for r in results)
            bounds = [s / (2 * rtt + b / args.bandwidth_bps) for _, s, b in results]
            print(FORMAT % (tool, len(results), "%.2f" % (read / MIB), "%.2f" % (sent / MIB),
                            "%.1f" % (sent / read if read else float("nan")),
                            "%.1f" % seconds, "%.2f" % max(bounds),
                            "%d" % sum(b <= 1 for b in bounds)), flush=True)
            for (name, s, b), bound in zip(results, bounds) if args.verbose else ():
                print("    %-14s %9.1f KiB read %6.2f s %5.2f of bound" % (name, b / 1024, s,
                                                                         bound))
    print("total %.0f s" % (time.perf_counter() - started))


if __name__ == "__main__":
    main()
