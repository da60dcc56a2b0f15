"""Measures what a cold 4 KiB read at the middle of the largest encrypted demo file
(multi-block.bin of "Encrypted v4 pbkdf2", 4 blocks) downloads: block GETs and their bytes, on a
first mount (empty cache) and after a remount whose block files were deleted (the metadata
cache kept), with read-ahead off and on. Not a test (pytest does not collect it): run

  SEAFS_BUILD_DIR=$PWD/build SEAFS_MOUNT_TEST_DATA=/var/tmp/mountsuite-x \\
      /usr/bin/python3 tests/integration/measure_encrypted_middle_read.py
"""
import os
import pathlib
import shutil
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[0] / "server"))

from mount_fixture import SeafsMount, demo_data, demo_server, unlock  # noqa: E402

LIBRARY = "Encrypted v4 pbkdf2"
FILE = "multi-block.bin"
READ = 4096


def block_traffic(server):
    """(block GETs, bytes sent for them) since the last counter reset."""
    entries = [e for e in server.log() if e["route"] == "block" and e["method"] == "GET"]
    return len(entries), sum(e["bytes_sent"] for e in entries)


def cold_middle_read(server, mount):
    assert unlock(mount, LIBRARY).returncode == 0
    path = mount.path(LIBRARY, FILE)
    size = path.stat().st_size
    server.reset_counters()
    with open(path, "rb", buffering=0) as f:
        f.seek(size // 2)
        assert len(f.read(READ)) == READ
    return block_traffic(server)


def main():
    data, _ = demo_data(small=True)
    with tempfile.TemporaryDirectory(prefix="enc-middle-") as work:
        server = demo_server(data, pathlib.Path(work) / "server")
        try:
            for readahead in ("0", "64M"):
                mount = SeafsMount(server.url, pathlib.Path(work) / ("m" + readahead),
                                   readahead=readahead)
                mount.start()
                try:
                    first = cold_middle_read(server, mount)
                finally:
                    mount.stop()
                shutil.rmtree(mount.cache_dir / "blocks", ignore_errors=True)
                mount.start()
                try:
                    again = cold_middle_read(server, mount)
                finally:
                    mount.stop()
                for label, (gets, sent) in (("first mount", first), ("remount", again)):
                    print("readahead=%-3s %-12s block GETs %d, %.2f MiB"
                          % (readahead, label, gets, sent / 2**20))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
