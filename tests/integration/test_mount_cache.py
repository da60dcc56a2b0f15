"""The cache_size= limit of a seafs mount: with a cache smaller than the files read, every file
still reads byte-identical (blocks are evicted, not refused) and the cache directory stays
within the limit (plus slack for its metadata)."""

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import assert_same_tree, mount_factory, small_demo_server  # noqa: E402
from seafserver import demo  # noqa: E402

assert mount_factory and small_demo_server  # fixtures, used by name
CACHE_SIZE = 8 << 20  # below the Demo library's 12 MiB file
METADATA_SLACK = 4 << 20


def disk_usage(root):
    return sum(p.lstat().st_blocks * 512 for p in pathlib.Path(root).rglob("*"))


def test_cache_smaller_than_the_data_still_reads_everything(small_demo_server, mount_factory,
                                                             tmp_path):
    server, _ = small_demo_server
    mount = mount_factory(server, poll_interval=0, cache_size="8M")
    source = tmp_path / "source"
    demo.write_source("Demo", source)
    assert_same_tree(source, mount.path("Demo"))
    assert_same_tree(source, mount.path("Demo"))  # again, after evictions
    used = disk_usage(mount.cache_dir)
    assert used <= CACHE_SIZE + METADATA_SLACK, "cache holds %d bytes, limit %d" % (
        used, CACHE_SIZE)
    assert os.path.getsize(source / "large" / "twelve-MiB.bin") > CACHE_SIZE
