"""A media library for the file-manager benchmark (fm_bench.py): one folder, "Camera Roll", of
real photos and videos as a phone or camera leaves them, built into a reference-server data
directory of its own (never the shared demo's).

  80 JPEGs (IMG_0001.jpg ...), 3000x2000 to 4000x3000, quality 85, 2-5 MiB, with EXIF (make,
     model, date, orientation); the first 60 also carry an embedded 160x120 EXIF thumbnail, as
     camera JPEGs do, the other 20 none (exported or edited photos)
  20 PNGs (PNG_0081.png ...), 1600x1200 to 2000x1500, 3-6 MiB, with an eXIf chunk
  12 H.264/AAC MP4 videos (VID_0001.mp4 ...), 1280x720, 12 to 30 s, tens of MiB each; the odd
     ones written with the moov index at the end (ffmpeg's default, like most cameras), the
     even ones with it at the start (-movflags +faststart, like files prepared for streaming)

Pixels come from a seeded PRNG (and ffmpeg's seeded noise filter), so every build gives the same
files. Needs python3-pil, ffmpeg and exiftool (libimage-exiftool-perl), which
tests/desktop/install-deps.sh installs. The built data directory is kept (a stamp records the
generator's digest)."""

import hashlib
import json
import os
import pathlib
import random
import shutil
import subprocess
import tempfile
import uuid

from seafserver import builder
from seafserver.testing import write_json
from seafserver.vectors import USERS

LIBRARY = "Media"
FOLDER = "Camera Roll"
REPO_ID = str(uuid.uuid5(uuid.UUID("5eaf5000-0000-4000-8000-000000000000"), "seafs-fm/Media"))
OWNER = "user@example.com"
CTIME = 1767225600  # 2026-01-01T00:00:00Z
MTIME = 1764547200
JPEGS, JPEGS_WITH_THUMBNAIL, PNGS, VIDEOS = 80, 60, 20, 12
STAMP = "fm-media-stamp.json"


def _noise_image(rng, width, height):
    """A photo-like RGB image: smooth colour areas (upscaled coarse noise) with fine grain, so
    that it compresses like a photo (a few MiB as a 12 MP JPEG), not like a flat test card."""
    from PIL import Image

    coarse = Image.frombytes("RGB", (width // 16, height // 16),
                             rng.randbytes((width // 16) * (height // 16) * 3))
    coarse = coarse.resize((width, height), Image.BICUBIC)
    grain = Image.frombytes("L", (width, height), rng.randbytes(width * height)).convert("RGB")
    return Image.blend(coarse, grain, 0.12)


def _exif(index, size):
    from PIL import Image

    exif = Image.Exif()
    exif[0x010F] = "SeafsCam"  # Make
    exif[0x0110] = "Model %d" % (1 + index % 3)  # Model
    exif[0x0112] = 1  # Orientation
    stamp = "2025:%02d:%02d %02d:%02d:00" % (1 + index % 12, 1 + index % 28, index % 24,
                                             index % 60)
    exif[0x0132] = stamp  # DateTime
    sub = exif.get_ifd(0x8769)
    sub[0x9003] = stamp  # DateTimeOriginal
    sub[0xA002], sub[0xA003] = size  # PixelXDimension, PixelYDimension
    return exif


def _embed_thumbnail(path, image):
    """Writes a 160x120 JPEG thumbnail into the EXIF IFD1 of path (exiftool)."""
    thumb = image.copy()
    thumb.thumbnail((160, 120))
    with tempfile.NamedTemporaryFile(suffix=".jpg") as f:
        thumb.save(f.name, "JPEG", quality=80)
        subprocess.run(["exiftool", "-q", "-overwrite_original", "-ThumbnailImage<=" + f.name,
                        str(path)], check=True)


def write_photos(folder, indices=None):
    """The photos numbered `indices` (default: all; 0.. JPEGS-1 are JPEGs, then PNGs)."""
    for i in range(JPEGS + PNGS) if indices is None else indices:
        rng = random.Random(7000 + i)
        if i < JPEGS:
            size = rng.choice(((3000, 2000), (3264, 2448), (4000, 3000)))
            image = _noise_image(rng, *size)
            path = folder / ("IMG_%04d.jpg" % (i + 1))
            image.save(path, "JPEG", quality=85, exif=_exif(i, size).tobytes())
            if i < JPEGS_WITH_THUMBNAIL:
                _embed_thumbnail(path, image)
        else:
            size = rng.choice(((1600, 1200), (2000, 1500)))
            image = _noise_image(rng, *size)
            image.save(folder / ("PNG_%04d.png" % (i + 1)), "PNG",
                       exif=_exif(i, size).tobytes())


def write_videos(folder, indices=None):
    """The videos numbered `indices` (default: all; odd ones with the moov at the start)."""
    for i in range(VIDEOS) if indices is None else indices:
        seconds = 12 + (i * 7) % 19
        command = ["ffmpeg", "-v", "error", "-y",
                   "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=25",
                   "-f", "lavfi", "-i", "sine=frequency=%d:sample_rate=48000" % (220 + 40 * i),
                   "-t", str(seconds), "-vf", "noise=alls=12:allf=t:all_seed=%d" % (100 + i),
                   "-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-pix_fmt",
                   "yuv420p", "-threads", "2", "-c:a", "aac", "-b:a", "128k",
                   "-metadata", "title=Clip %d" % (i + 1),
                   "-metadata", "creation_time=2025-06-%02dT12:00:00Z" % (1 + i)]
        if i % 2 == 1:
            command += ["-movflags", "+faststart"]
        subprocess.run(command + [str(folder / ("VID_%04d.mp4" % (i + 1)))], check=True)


def write_source(root, photos=None, videos=None):
    """Writes the library's tree (root/FOLDER/...) and fixes every mtime; photos, videos: the
    numbers of a subset (default: all)."""
    folder = pathlib.Path(root) / FOLDER
    folder.mkdir(parents=True)
    write_photos(folder, photos)
    write_videos(folder, videos)
    for path in [folder, *folder.iterdir()]:
        os.utime(path, (MTIME, MTIME))


def _stamp():
    return {"code": hashlib.sha1(pathlib.Path(__file__).read_bytes()).hexdigest(),
            "builder": hashlib.sha1(pathlib.Path(builder.__file__).read_bytes()).hexdigest()}


def build(data_dir, log=print):
    """Builds (or keeps, when its stamp matches) the data directory of a server holding the
    "Media" library, owned by user@example.com. Returns the repo id."""
    data_dir = pathlib.Path(data_dir)
    stamp_path = data_dir / STAMP
    if stamp_path.is_file() and json.loads(stamp_path.read_text()) == _stamp():
        return REPO_ID
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    write_json(data_dir / "state.json", {"accounts": json.loads(json.dumps(USERS)),
                                         "libraries": {}, "api_tokens": {}, "repo_tokens": {}})
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".src-") as src:
        log("fm_media: writing %d photos and %d videos" % (JPEGS + PNGS, VIDEOS))
        write_source(src)
        log("fm_media: building the library")
        builder.create_library(data_dir, LIBRARY, OWNER, src, repo_id=REPO_ID,
                               desc="seafs file-manager benchmark", ctime=CTIME)
    write_json(stamp_path, _stamp())
    return REPO_ID


KINDS = ("JPEG with EXIF thumbnail", "JPEG without", "PNG", "MP4 moov at end",
         "MP4 moov at start")


def kind(name):
    """Which of KINDS the folder's file `name` is."""
    number = int(name[4:8])
    if name.startswith("IMG_"):
        return KINDS[0] if number <= JPEGS_WITH_THUMBNAIL else KINDS[1]
    if name.startswith("PNG_"):
        return KINDS[2]
    return KINDS[3] if number % 2 == 1 else KINDS[4]  # VID_0001 is i = 0: no faststart


def folder_files(root):
    """{name: size} of the files of FOLDER in a tree (mounted or local) holding the library."""
    folder = pathlib.Path(root) / FOLDER
    return {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}
