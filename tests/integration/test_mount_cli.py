"""How seafs is started and stopped: in the background it returns only once the mount is live;
mount(8) finds it as `mount -t fuse.seafs` and through an fstab line (`mount --fstab FILE`);
bad options, a wrong password and a credentials file others can read fail with a clear message
and a non-zero exit, leaving nothing mounted; SIGTERM unmounts cleanly."""

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (MOUNT_UNAVAILABLE, PASSWORD, USER, cleanup_mountpoint,  # noqa: E402
                           daemon_pids, is_mounted, mount_entry, mount_factory, options_string,
                           seafs_binary, write_credentials)
from seafserver.testing import VECTORS_DIR  # noqa: E402

assert mount_factory  # a fixture, used by name
VECTORS = pathlib.Path(VECTORS_DIR)
ROOT = pathlib.Path(__file__).resolve().parents[2]
# Generous bound for a command that must fail or succeed on its own (never hang).
COMMAND_TIMEOUT_S = 60


@pytest.fixture
def place(tmp_path):
    """A mountpoint, credentials and private dirs; whatever gets mounted there is unmounted and
    its daemon stopped in teardown."""
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    (tmp_path / "cache").mkdir()
    (tmp_path / "state").mkdir()
    write_credentials(tmp_path / "credentials")
    yield tmp_path
    problem = cleanup_mountpoint(mountpoint)
    assert not problem, problem


def base_options(place, **extra):
    options = {"user": USER, "credentials": place / "credentials", "cache_dir": place / "cache",
               "state_dir": place / "state"}
    options.update(extra)
    return options


def run_seafs(server, place, options, env=None, foreground=False):
    args = [str(seafs_binary()), server.url, str(place / "mnt"), "-o", options_string(options)]
    done = subprocess.run(args + (["-f"] if foreground else []), capture_output=True, text=True,
                          timeout=COMMAND_TIMEOUT_S, env=env, stdin=subprocess.DEVNULL)
    skip_while_unavailable(done)
    return done


def skip_while_unavailable(done):
    unavailable = MOUNT_UNAVAILABLE.search(done.stderr)
    if unavailable:
        pytest.skip("seafs reports that %s (no FUSE mount to test yet)" % unavailable.group(0))


def assert_clear_failure(done, *words):
    """Non-zero exit, one of `words` in the message, nothing mounted."""
    assert done.returncode != 0, done
    message = done.stderr.lower()
    assert any(w in message for w in words), "message should mention %s: %r" % (words,
                                                                                 done.stderr)
    assert len(done.stderr) < 2000, "a clear message, not a dump: %r" % done.stderr


def test_background_start_returns_once_mounted(vectors_server, place):
    done = run_seafs(vectors_server, place, base_options(place))
    assert done.returncode == 0, done.stderr
    assert is_mounted(place / "mnt")
    assert "Docs" in os.listdir(place / "mnt")
    assert mount_entry(place / "mnt")["fstype"] == "fuse.seafs"
    pids = daemon_pids(place / "mnt")
    assert len(pids) == 1
    subprocess.run(["fusermount3", "-u", str(place / "mnt")], check=True)
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    while pathlib.Path("/proc", str(pids[0])).exists():
        assert time.monotonic() < deadline, "the daemon outlived its unmount"
        time.sleep(0.05)


def test_sigterm_unmounts_cleanly(vectors_server, mount_factory):
    mount = mount_factory(vectors_server)
    mount.process.send_signal(signal.SIGTERM)
    assert mount.process.wait(COMMAND_TIMEOUT_S) == 0, mount.log_tail()
    assert not is_mounted(mount.mountpoint)


def test_works_without_home_and_path(vectors_server, place):
    done = run_seafs(vectors_server, place, base_options(place), env={})
    assert done.returncode == 0, done.stderr
    assert "Docs" in os.listdir(place / "mnt")


@pytest.mark.parametrize("option", ["no_such_option", "poll_interval=soon", "layout=tree",
                                    "cache_size=lots", "umask=999"])
def test_bad_option_is_a_clear_error(option, vectors_server, place):
    name = option.split("=")[0]
    options = base_options(place)
    options[option] = True
    done = run_seafs(vectors_server, place, options, foreground=True)
    assert_clear_failure(done, name)
    assert not is_mounted(place / "mnt")


def test_wrong_password_is_a_clear_error(vectors_server, place):
    write_credentials(place / "credentials", "not-the-password")
    done = run_seafs(vectors_server, place, base_options(place))
    assert_clear_failure(done, "password", "authentication", "login")
    assert not is_mounted(place / "mnt") and not daemon_pids(place / "mnt")


def test_credentials_readable_by_others_are_refused(vectors_server, place):
    write_credentials(place / "credentials", mode=0o644)
    done = run_seafs(vectors_server, place, base_options(place))
    assert_clear_failure(done, "credentials", str(place / "credentials"))
    assert not is_mounted(place / "mnt")


def test_missing_user_is_a_clear_error(vectors_server, place):
    options = base_options(place)
    del options["user"]
    done = run_seafs(vectors_server, place, options)
    assert_clear_failure(done, "user")
    assert not is_mounted(place / "mnt")


# mount(8) (util-linux 2.38) runs mount.fuse3 without PATH, whose /bin/sh then looks for
# `seafs` in its default path (/usr/local/sbin first). So the mount(8) checks run in a private
# mount namespace in which a temporary directory holding a `seafs` symlink is bind-mounted over
# /usr/local/sbin: nothing on the host changes, and the mount vanishes with the namespace.
# For `-t seafs`, mount(8) runs /sbin/mount.seafs: with HELPER set, /usr/sbin (= /sbin) is
# replaced in the namespace by a view of itself plus that helper and `seafs` next to it.
MOUNT8_SCRIPT = """set -u
mount --bind "$BIN" /usr/local/sbin || exit 90
if [ -n "${HELPER:-}" ]; then
    mkdir "$VIEW" "$VIEW/orig" "$VIEW/sbin" || exit 90
    mount --bind /usr/sbin "$VIEW/orig" || exit 90
    for f in "$VIEW"/orig/*; do ln -s "$f" "$VIEW/sbin/${f##*/}"; done
    ln -s "$HELPER" "$VIEW/sbin/mount.seafs" && ln -s "$BIN/seafs" "$VIEW/sbin/seafs" || exit 90
    mount --bind "$VIEW/sbin" /usr/sbin || exit 90
fi
export PATH="$BIN:${PATH:-/usr/bin:/bin}"
"$@" 2> "$OUT/mount.stderr"
echo $? > "$OUT/mount.rc"
grep " $MNT " /proc/self/mountinfo > "$OUT/mountinfo"
ls "$MNT" > "$OUT/listing"
cp "$MNT/Docs/exact-4096.bin" "$OUT/copy" 2> "$OUT/copy.stderr"
umount "$MNT" 2> "$OUT/umount.stderr"
echo $? > "$OUT/umount.rc"
"""


def run_mount8(place, mount_args, helper=None):
    """Runs `mount ARGS...` in a private mount namespace as described above (with the
    mount.seafs `helper` in /sbin when given); returns the outputs {name: text} the script
    left in place/out."""
    bindir, out = place / "bin", place / "out"
    bindir.mkdir()
    out.mkdir()
    (bindir / "seafs").symlink_to(seafs_binary())
    env = dict(os.environ, BIN=str(bindir), OUT=str(out), MNT=str(place / "mnt"),
               VIEW=str(place / "sbin-view"), HELPER=str(helper or ""))
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           MOUNT8_SCRIPT, "mount8", "mount"] + mount_args,
                          capture_output=True, text=True, env=env, timeout=COMMAND_TIMEOUT_S)
    assert done.returncode != 90, "cannot set up the mount namespace: %s" % done.stderr
    results = {p.name: p.read_bytes() if p.name == "copy" else p.read_text()
               for p in out.iterdir()}
    skip_while_unavailable(subprocess.CompletedProcess([], 0, "", results["mount.stderr"]))
    return results


def assert_mounted_by_mount8(results):
    assert results["mount.rc"].strip() == "0", results["mount.stderr"]
    assert " - fuse.seafs " in results["mountinfo"], results["mountinfo"]
    assert "Docs" in results["listing"].split("\n")
    assert results["copy"] == (VECTORS / "plain" / "Docs" / "exact-4096.bin").read_bytes()
    assert results["umount.rc"].strip() == "0", results["umount.stderr"]


def test_mount_t_fuse_seafs(vectors_server, place):
    options = options_string(base_options(place, _netdev=True, nofail=True))
    assert_mounted_by_mount8(run_mount8(place, ["-t", "fuse.seafs", vectors_server.url,
                                                str(place / "mnt"), "-o", options]))


@pytest.mark.parametrize("how", ["mountpoint", "all"])
def test_fstab_line(how, vectors_server, place):
    options = options_string(base_options(place, _netdev=True, nofail=True))
    fstab = place / "fstab"
    fstab.write_text("%s %s fuse.seafs %s 0 0\n" % (vectors_server.url, place / "mnt", options))
    target = [str(place / "mnt")] if how == "mountpoint" else ["-a"]
    assert_mounted_by_mount8(run_mount8(place, ["--fstab", str(fstab)] + target))


# What an fstab line for systemd carries (its fstab generator turns it into a .mount or, with
# x-systemd.automount, an .automount unit, whose mount(8) then runs mount.fuse3 and seafs).
SYSTEMD_FSTAB_OPTIONS = {"_netdev": True, "nofail": True, "x-systemd.automount": True,
                         "x-systemd.mount-timeout": 30, "x-gvfs-show": True}


@pytest.mark.parametrize("how", ["mount -t fuse.seafs", "fstab line"])
def test_options_of_systemd_fstab_lines_are_accepted(how, vectors_server, place):
    options = options_string(base_options(place, **SYSTEMD_FSTAB_OPTIONS))
    assert options.endswith(",_netdev,nofail,x-systemd.automount,x-systemd.mount-timeout=30,"
                            "x-gvfs-show")
    if how == "fstab line":
        fstab = place / "fstab"
        fstab.write_text("%s %s fuse.seafs %s 0 0\n" % (vectors_server.url, place / "mnt",
                                                        options))
        args = ["--fstab", str(fstab), str(place / "mnt")]
    else:
        args = ["-t", "fuse.seafs", vectors_server.url, str(place / "mnt"), "-o", options]
    assert_mounted_by_mount8(run_mount8(place, args))


def test_mount_t_seafs_through_the_mount_seafs_helper(vectors_server, place):
    helper = ROOT / "packaging" / "mount.seafs"
    options = options_string(base_options(place, _netdev=True))
    assert_mounted_by_mount8(run_mount8(place, ["-t", "seafs", vectors_server.url,
                                                str(place / "mnt"), "-o", options],
                                        helper=helper))


def test_debug_log_never_shows_credentials(vectors_server, mount_factory):
    mount = mount_factory(vectors_server, debug=True)
    assert (mount.path("Docs", "exact-4096.bin").read_bytes()
            == (VECTORS / "plain" / "Docs" / "exact-4096.bin").read_bytes())
    assert mount.stop() == ""
    log = mount.log_path.read_text(errors="replace")
    assert "exact-4096.bin" in log or "GET" in log, "-d logged nothing useful"
    state = vectors_server.state()
    secrets = [PASSWORD] + list(state["api_tokens"]) + list(state["repo_tokens"])
    leaked = [s[:6] + "..." for s in secrets if s in log]
    assert not leaked, "credentials in the debug log: %s" % leaked
