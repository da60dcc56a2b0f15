"""A real file manager on a seafs mount, headless: Thunar under Xvfb opens a folder of the small
demo, copies a file into it itself (its org.xfce.FileManager D-Bus API, the one its "Paste" and
other Xfce programs use), and a screenshot read back with tesseract must show the folder's files,
the copied one included; the copied bytes must be on the mount and, after `seafs sync`, on the
server. And GIO's volume monitor (GVfs) must list the mount when its /etc/fstab line carries
x-gvfs-show, with the x-gvfs-name and x-gvfs-icon it gives (the test adds the line and restores
/etc/fstab afterwards). Slow and needs a desktop: run by tests/desktop/run.sh only."""

import contextlib
import fcntl
import os
import pathlib
import random
import re
import subprocess
import time

from mount_fixture import block_bytes, ctl, file_layout
from session import desktop_session, wait_for_bus_name

LIBRARY, FOLDER = "Demo", "copies"
EXISTING = ("one.txt", "two.txt")  # the demo folder's files
COPIED = "copied-notes.txt"
FSTAB = pathlib.Path("/etc/fstab")
STEP_TIMEOUT_S = 60
QUIET = 3600  # upload_delay: nothing goes up before seafs sync


def notes(size=300 * 1024):
    """Text of about `size` bytes (seeded lines), the file the file manager copies."""
    rng = random.Random(11)
    lines, total = [], 0
    while total < size:
        line = "note %06d: %s\n" % (len(lines), " ".join(
            rng.choice(("seafs", "thunar", "copy", "block", "library")) for _ in range(8)))
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()


def thunar_settings(env, **properties):
    """Writes Thunar's xfconf channel ({name: (type, value)}) into the session's config dir;
    xfconfd (D-Bus activated) serves it to Thunar."""
    channel = pathlib.Path(env["XDG_CONFIG_HOME"], "xfce4", "xfconf", "xfce-perchannel-xml")
    channel.mkdir(parents=True, exist_ok=True)
    rows = "".join('  <property name="%s" type="%s" value="%s"/>\n' % (n, t, v)
                   for n, (t, v) in properties.items())
    (channel / "thunar.xml").write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                                        '<channel name="thunar" version="1.0">\n%s</channel>\n'
                                        % rows)


@contextlib.contextmanager
def thunar(env, folder, log):
    """Thunar showing folder (our child, stopped on exit), once it serves its D-Bus API."""
    with open(log, "ab") as out:
        process = subprocess.Popen(["thunar", str(folder)], env=env, stdout=out, stderr=out)
    try:
        wait_for_bus_name(env, "org.xfce.FileManager", STEP_TIMEOUT_S)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def file_manager_call(env, method, *args):
    done = subprocess.run(["gdbus", "call", "--session", "--dest", "org.xfce.FileManager",
                           "--object-path", "/org/xfce/FileManager",
                           "--method", "org.xfce.FileManager." + method, *args],
                          env=env, capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    return done.stdout


def wait_for(predicate, what, timeout=STEP_TIMEOUT_S):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "%s: not within %d s" % (what, timeout)
        time.sleep(0.2)


def screen_text(env, picture):
    """The words tesseract reads on a screenshot of the whole X screen (saved to picture)."""
    subprocess.run(["import", "-window", "root", str(picture)], env=env, check=True,
                   timeout=STEP_TIMEOUT_S)
    done = subprocess.run(["tesseract", str(picture), "-"], capture_output=True, text=True,
                          timeout=STEP_TIMEOUT_S, check=True)
    return done.stdout


def server_file(server, repo_id, path):
    """The bytes of a file at the library's head on the server."""
    _, blocks = file_layout(server, repo_id, path)
    return b"".join(block_bytes(server, repo_id, block_id) for block_id, _, _ in blocks)


def test_thunar_copies_into_a_library_folder_and_shows_it(fresh_small_demo_server,
                                                          mount_factory, desktop, tmp_path):
    server, ids = fresh_small_demo_server
    mount = mount_factory(server, upload_delay=QUIET)
    folder = mount.path(LIBRARY, FOLDER)
    assert sorted(os.listdir(folder)) == list(EXISTING)
    source = tmp_path / "source"
    source.mkdir()
    content = notes()
    (source / COPIED).write_bytes(content)
    thunar_settings(desktop, **{"last-view": ("string", "ThunarDetailsView"),
                                "last-window-width": ("int", 1200),
                                "last-window-height": ("int", 800),
                                "last-details-view-zoom-level":
                                    ("string", "THUNAR_ZOOM_LEVEL_150_PERCENT")})

    with thunar(desktop, folder, tmp_path / "thunar.log"):
        file_manager_call(desktop, "CopyInto", str(source), "['%s']" % COPIED, str(folder),
                          "", "")
        copied = folder / COPIED
        wait_for(lambda: copied.exists() and copied.stat().st_size == len(content),
                 "Thunar's copy reaching the mount")
        picture = tmp_path / "thunar.png"
        text = ""

        def all_names_shown():
            nonlocal text
            text = screen_text(desktop, picture)
            return all(name in text for name in EXISTING + (COPIED,))

        wait_for(all_names_shown, "the names on the screenshot %s (OCR read: %r)"
                 % (picture, text), timeout=30)
        total = len(content) + sum(os.path.getsize(folder / n) for n in EXISTING)
        assert "3 files: " in text and "(%d bytes)" % total in text, text  # the status bar

    assert copied.read_bytes() == content
    done = ctl("sync", mount.mountpoint)
    assert done.returncode == 0, done.stderr
    assert server_file(server, ids[LIBRARY], "/%s/%s" % (FOLDER, COPIED)) == content


# --- gio mount -l and /etc/fstab ------------------------------------------------------------------

@contextlib.contextmanager
def fstab_line(line):
    """/etc/fstab with `line` added; afterwards the line is taken out again: the file is
    restored byte for byte unless someone else changed it meanwhile (then only our line goes)."""
    original = FSTAB.read_bytes()
    added = original + (b"" if original.endswith(b"\n") or not original else b"\n") + \
        line.encode() + b"\n"
    with open(FSTAB, "r+b") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.write(added)
        f.truncate()
    try:
        yield
    finally:
        with open(FSTAB, "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            now = f.read()
            restored = original if now == added else now.replace(line.encode() + b"\n", b"", 1)
            f.seek(0)
            f.write(restored)
            f.truncate()


def gio_mounts(home, detailed=False):
    """`gio mount -l` (-li when detailed) in a fresh session with GVfs's volume monitor."""
    with desktop_session(home, system_bus=True) as env:
        done = subprocess.run(["gio", "mount", "-li" if detailed else "-l"], env=env,
                              capture_output=True, text=True, timeout=STEP_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    assert "not supported" not in done.stderr, done.stderr  # the monitor ran
    return done.stdout


def test_gio_lists_the_mount_by_its_fstab_name_and_icon(fresh_small_demo_server,
                                                         mount_factory, tmp_path):
    server, _ = fresh_small_demo_server
    mount = mount_factory(server)
    point = os.path.realpath(mount.mountpoint)
    uri = pathlib.Path(point).as_uri()
    base = "%s %s fuse.seafs user=%s,credentials=%s,noauto" % (server.url, point, mount.user,
                                                               mount.credentials)

    with fstab_line(base):  # outside /media and $HOME, not shown unless asked for
        assert uri not in gio_mounts(tmp_path / "home-1")
    with fstab_line(base + ",x-gvfs-show"):
        listed = gio_mounts(tmp_path / "home-2")
        assert "Mount(0): %s -> %s" % (os.path.basename(point), uri) in listed, listed
    with fstab_line(base + ",x-gvfs-show,x-gvfs-name=Seafile%20(demo),"
                    "x-gvfs-icon=folder-remote,x-gvfs-symbolic-icon=folder-remote-symbolic"):
        listed = gio_mounts(tmp_path / "home-3")
        assert "Mount(0): Seafile (demo) -> %s" % uri in listed, listed
        assert "Volume(0): Seafile (demo)" in listed, listed
        detailed = gio_mounts(tmp_path / "home-4", detailed=True)
        assert re.search(r"^    themed icons:  \[folder-remote\]", detailed, re.M), detailed
        print(listed)
    # the mount itself still works while GIO looks at it
    assert os.listdir(mount.path(LIBRARY))
