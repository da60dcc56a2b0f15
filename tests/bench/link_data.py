"""The data of the far-and-slow-link benchmark (link_bench.py): one reference-server data
directory of its own (never the shared demo's), built on first use into
$SEAFS_MOUNT_TEST_DATA (default /var/tmp/mountsuite)/link-bench and kept (a stamp records the
generators' digests).

  "Big"          random-256MiB.bin, random-64MiB.bin, random-32MiB.bin (seeded random bytes,
                 content-defined blocks like the demo's 256 MiB file)
  "Media"        Camera Roll: a subset of fm_media's folder: 3 JPEGs with EXIF (2 with an
                 embedded thumbnail), 4 H.264 MP4s (2 with the moov index at the end, 2 at the
                 start); real files made with PIL/exiftool and ffmpeg
  "Small Files"  1,000 files of 2-16 KiB in 10 folders (what `tar` reads)
  "Tree 15k"     15,000 files in 1,000 folders (10 x 100 folders of 15 files)
  "Tree 150k"    the same ten times: 150,000 files in 10,000 folders

  /usr/bin/python3 tests/bench/link_data.py     builds it (or says it is there)"""

import fcntl
import hashlib
import json
import pathlib
import random
import shutil
import sys
import tempfile
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[2]
for part in ("server", "integration", "bench"):
    sys.path.insert(0, str(ROOT / "tests" / part))

import fm_media  # noqa: E402
import mount_fixture  # noqa: E402
from meta_bench import write_tree  # noqa: E402
from seafserver import builder, demo  # noqa: E402
from seafserver.testing import write_json  # noqa: E402

BIG, MEDIA, SMALL, TREE, TREE10 = "Big", "Media", "Small Files", "Tree 15k", "Tree 150k"
BIG_FILES = {256: "random-256MiB.bin", 64: "random-64MiB.bin", 32: "random-32MiB.bin"}
MEDIA_PHOTOS = (0, 1, 60)  # fm_media numbers: 0-59 JPEG with thumbnail, 60-79 without
MEDIA_VIDEOS = (0, 1, 2, 3)  # even: moov at the end, odd: moov at the start
SMALL_FOLDERS, SMALL_PER_FOLDER = 10, 100
# write_tree shapes: (top folders, subfolders each, files in each subfolder, wide folder files)
TREE_SHAPES = {TREE: (10, 100, 15, 0), TREE10: (100, 100, 15, 0)}
LIBRARIES = (BIG, MEDIA, SMALL, TREE, TREE10)
DATA_DIR = mount_fixture.DEMO_CACHE / "link-bench"
STAMP = "link-bench-stamp.json"


def repo_id(name):
    return str(uuid.uuid5(uuid.UUID("5eaf5000-0000-4000-8000-00000000115c"), name))


def _write_big(root):
    for mib, name in BIG_FILES.items():
        rng = random.Random(mib)
        with open(root / name, "wb") as f:
            for _ in range(mib):
                f.write(rng.randbytes(1 << 20))


def _write_media(root):
    fm_media.write_source(root, photos=MEDIA_PHOTOS, videos=MEDIA_VIDEOS)


def _write_small(root):
    rng = random.Random(1000)
    for d in range(SMALL_FOLDERS):
        folder = root / ("folder-%02d" % d)
        folder.mkdir()
        for f in range(SMALL_PER_FOLDER):
            (folder / ("file-%03d.bin" % f)).write_bytes(rng.randbytes(rng.randint(2048, 16384)))


WRITERS = {BIG: _write_big, MEDIA: _write_media, SMALL: _write_small,
           TREE: lambda root: write_tree(root, TREE_SHAPES[TREE]),
           TREE10: lambda root: write_tree(root, TREE_SHAPES[TREE10])}


def _stamp():
    sources = (__file__, fm_media.__file__, builder.__file__, sys.modules["meta_bench"].__file__)
    return {pathlib.Path(s).name: hashlib.sha1(pathlib.Path(s).read_bytes()).hexdigest()
            for s in sources}


def bench_data(log=print):
    """(data dir, {library: repo id}), built on first use (a lock keeps two runs from building
    it at once)."""
    ids = {name: repo_id(name) for name in LIBRARIES}
    DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    with open(str(DATA_DIR) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = DATA_DIR / STAMP
        if stamp.is_file() and json.loads(stamp.read_text()) == _stamp():
            return DATA_DIR, ids
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        DATA_DIR.mkdir()
        write_json(str(DATA_DIR / "state.json"), {"accounts": json.loads(json.dumps(demo.USERS)),
                                                  "libraries": {}, "api_tokens": {},
                                                  "repo_tokens": {}})
        for name in LIBRARIES:
            log("link_data: building %s" % name)
            with tempfile.TemporaryDirectory(dir=str(DATA_DIR), prefix=".src-") as src:
                WRITERS[name](pathlib.Path(src))
                builder.create_library(str(DATA_DIR), name, demo.USER, src, repo_id=ids[name],
                                       ctime=demo.DEMO_CTIME, mtime=demo.DEMO_CTIME)
        write_json(str(stamp), _stamp())
    return DATA_DIR, ids


if __name__ == "__main__":
    print(bench_data())
