"""The Debian package (packaging/build-deb.sh), built from this tree into a temporary directory:
its file list (binary, mount helper, man page, example fstab, every systemd unit of
packaging/systemd), its dependencies (computed from the binary's shared libraries, plus fuse3),
lintian without errors; then installed with apt-get, the INSTALLED binary mounts the small demo
through `mount -t fuse.seafs` (and `mount -t seafs` through the installed mount.seafs), a folder
lists and a file reads back the demo's bytes, and `apt-get remove --purge` leaves none of the
package's files behind.

Installing needs root: as another user the install test is skipped. Teardown unmounts and
purges the package also when an assertion failed, so no other test ever sees it (they run the
binary of SEAFS_BUILD_DIR). A dpkg/apt that is locked or broken fails the test, with apt's
message."""

import contextlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (PASSWORD, USER, cleanup_mountpoint, daemon_pids,  # noqa: E402
                           mount_entry, options_string, small_demo_server, write_credentials)
from seafserver import demo  # noqa: E402

assert small_demo_server  # a fixture, used by name
ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 1200
APT_TIMEOUT_S = 600
# apt waits this long for another apt/dpkg run holding the lock before it gives up.
APT_LOCK_WAIT_S = 120
COMMAND_TIMEOUT_S = 60
LIB, FILE = "Demo", "photos 2024/img 001.jpg"
# What the package must install besides the systemd units (paths as `dpkg-deb -c` shows them).
INSTALLED_FILES = ["./usr/bin/seafs", "./usr/sbin/mount.seafs",
                   "./usr/share/man/man8/seafs.8.gz", "./usr/share/man/man8/mount.seafs.8.gz",
                   "./usr/share/doc/seafs/examples/fstab", "./usr/share/doc/seafs/copyright"]
# Packages of the shared libraries the binary links (Debian 12 names) and of fusermount3.
REQUIRED_DEPENDS = ["libfuse3-3", "libcurl4", "libssl3", "libsqlite3-0", "liblz4-1",
                    "libjansson4", "libargon2-1", "zlib1g", "libc6", "libsystemd0", "fuse3"]


def run(args, timeout=COMMAND_TIMEOUT_S, **kwargs):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, **kwargs)


def checkout_status():
    """`git status` of the checkout, ignored files included (bytecode aside)."""
    done = run(["git", "-C", ROOT, "status", "--porcelain", "--ignored", "--untracked-files=all"])
    return sorted(line for line in done.stdout.splitlines() if "__pycache__" not in line)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(the package built by packaging/build-deb.sh into a temporary directory, the checkout's
    git status before the build, and after it)."""
    outdir = tmp_path_factory.mktemp("deb")
    before = checkout_status()
    done = run(["bash", ROOT / "packaging" / "build-deb.sh", outdir], timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, "build-deb.sh failed:\n%s" % done.stderr[-4000:]
    debs = sorted(outdir.glob("seafs_*.deb"))
    assert [str(d) for d in debs] == [done.stdout.strip()], (debs, done.stdout)
    return debs[0], before, checkout_status()


@pytest.fixture(scope="module")
def deb(built):
    return built[0]


def unit_paths():
    """Where every systemd unit of packaging/systemd/{system,user} goes in the package."""
    source = ROOT / "packaging" / "systemd"
    return sorted("./usr/lib/systemd/%s/%s" % (unit.parent.name, unit.name)
                  for unit in source.glob("**/*.service"))


def test_build_leaves_the_checkout_unchanged(built):
    _, before, after = built
    assert after == before, "the build changed the checkout"


def test_package_holds_binary_helper_man_page_units_and_examples(deb, tmp_path):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    modes = {line.split()[5]: line.split()[0] for line in listing.splitlines()}
    missing = [p for p in INSTALLED_FILES + unit_paths() if p not in modes]
    assert not missing, "missing from the package: %s\n%s" % (missing, listing)
    assert modes["./usr/bin/seafs"] == "-rwxr-xr-x"
    assert modes["./usr/sbin/mount.seafs"] == "-rwxr-xr-x"
    tree = tmp_path / "tree"
    assert run(["dpkg-deb", "-x", deb, tree]).returncode == 0
    assert (tree / "usr/share/man/man8/mount.seafs.8.gz").resolve() == (
        tree / "usr/share/man/man8/seafs.8.gz")
    fstab = (tree / "usr/share/doc/seafs/examples/fstab").read_text()
    lines = [line for line in fstab.splitlines() if " fuse.seafs " in line]
    assert lines and all(line.startswith("#") for line in lines), fstab
    for option in ("_netdev", "nofail", "x-systemd.automount", "x-systemd.mount-timeout=30",
                   "x-gvfs-show", "credentials="):
        assert option in lines[0], (option, lines[0])


def test_depends_are_the_libraries_packages_and_fuse3(deb):
    depends = run(["dpkg-deb", "-f", deb, "Depends"]).stdout.strip()
    names = {alternative.split()[0] for relation in depends.split(",")
             for alternative in relation.split("|")}
    missing = [p for p in REQUIRED_DEPENDS if p not in names]
    assert not missing, "Depends lacks %s: %s" % (missing, depends)
    # Versions come from the libraries' symbols files (dh_shlibdeps), not by hand.
    assert "libfuse3-3 (>= " in depends, depends


def test_lintian_reports_no_errors(deb):
    done = run(["lintian", "--tag-display-limit", "0", deb], timeout=300)
    errors = [line for line in done.stdout.splitlines() if line.startswith("E:")]
    assert not errors, "lintian errors:\n%s" % done.stdout
    assert done.returncode == 0, "lintian failed: %s%s" % (done.stdout, done.stderr)


# --- installing, mounting with the installed binary, purging ------------------------------------

def package_status():
    """dpkg's status word of the seafs package ('installed', 'config-files', ...; '' if unknown)."""
    done = run(["dpkg-query", "-W", "-f=${db:Status-Status}", "seafs"])
    return done.stdout.strip() if done.returncode == 0 else ""


def apt_get(*args):
    """Runs apt-get non-interactively; fails the test with apt's message (lock included)."""
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        done = run(["apt-get", "-o", "DPkg::Lock::Timeout=%d" % APT_LOCK_WAIT_S, "-y", *args],
                   timeout=APT_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail("apt-get %s did not finish within %d s" % (" ".join(map(str, args)),
                                                               APT_TIMEOUT_S))
    if done.returncode != 0:
        locked = "lock" in done.stderr.lower()
        pytest.fail("apt-get %s failed%s:\n%s" % (
            " ".join(map(str, args)),
            " (dpkg/apt is locked by another process)" if locked else "", done.stderr[-3000:]))
    return done


def purge():
    if package_status() not in ("", "not-installed"):
        apt_get("remove", "--purge", "seafs")


@pytest.fixture
def installed(deb, tmp_path):
    """The package installed with apt-get (from a copy in a directory apt's sandbox user can
    read); yields the paths it installed. Teardown unmounts whatever is mounted under tmp_path
    and purges the package."""
    if os.geteuid() != 0:
        pytest.skip("installing a Debian package needs root")
    if package_status() not in ("", "not-installed"):
        pytest.fail("a seafs package is already installed (%s); this test installs and purges "
                    "its own build: remove it first (apt-get remove --purge seafs)"
                    % package_status())
    problems = []
    with contextlib.ExitStack() as cleanup:  # every step runs, also when an earlier one failed
        local = pathlib.Path(tempfile.mkdtemp(prefix="package-test-", dir="/var/tmp"))
        cleanup.callback(shutil.rmtree, local, ignore_errors=True)
        cleanup.callback(purge)
        cleanup.callback(lambda: problems.extend(
            cleanup_mountpoint(m) for m in tmp_path.glob("*/mnt")))
        local.chmod(0o755)
        copy = local / deb.name
        shutil.copy(deb, copy)
        copy.chmod(0o644)
        apt_get("install", "--no-install-recommends", copy)
        assert package_status() == "installed", package_status()
        files = run(["dpkg-query", "-L", "seafs"]).stdout.split("\n")
        yield [f for f in files if f]
    assert not any(problems), problems


def mount_place(tmp_path, name):
    """A mountpoint and private credentials, cache and state directories; the -o options."""
    place = tmp_path / name
    for sub in ("mnt", "cache", "state"):
        (place / sub).mkdir(parents=True)
    write_credentials(place / "credentials", PASSWORD)
    options = {"user": USER, "credentials": place / "credentials", "cache_dir": place / "cache",
               "state_dir": place / "state", "_netdev": True}
    return place / "mnt", options_string(options)


def mount_and_read(fstype, server, mountpoint, options, source):
    """`mount -t FSTYPE` (mount(8) with its usual minimal environment), then checks that the
    installed /usr/bin/seafs serves it, a listing and one file's bytes; unmounts with umount."""
    done = run(["mount", "-t", fstype, server.url, mountpoint, "-o", options], env={})
    assert done.returncode == 0, "mount -t %s failed: %s" % (fstype, done.stderr)
    entry = mount_entry(mountpoint)
    assert entry and entry["fstype"] == "fuse.seafs", entry
    daemons = daemon_pids(mountpoint)
    assert len(daemons) == 1, daemons
    assert os.readlink("/proc/%d/exe" % daemons[0]) == "/usr/bin/seafs"
    assert LIB in os.listdir(mountpoint)
    assert sorted(os.listdir(mountpoint / LIB)) == sorted(os.listdir(source))
    assert (mountpoint / LIB / FILE).read_bytes() == (source / FILE).read_bytes()
    done = run(["umount", mountpoint])
    assert done.returncode == 0, done.stderr
    assert mount_entry(mountpoint) is None
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    while pathlib.Path("/proc", str(daemons[0])).exists():
        assert time.monotonic() < deadline, "the daemon outlived its unmount"
        time.sleep(0.05)


def test_installed_package_mounts_and_purges_cleanly(deb, installed, small_demo_server, tmp_path):
    server, _ = small_demo_server
    deb_version = run(["dpkg-deb", "-f", deb, "Version"]).stdout.strip()
    source = tmp_path / "source" / LIB
    demo.write_source(LIB, source)
    for path in ["/usr/bin/seafs", "/usr/sbin/mount.seafs",
                 "/usr/share/man/man8/seafs.8.gz", "/usr/share/doc/seafs/examples/fstab"]:
        assert path in installed and os.path.exists(path), path
    version = run(["/usr/bin/seafs", "--version"])
    assert version.stdout.startswith("seafs %s\n" % deb_version), version

    # fuse.seafs: mount(8) runs mount.fuse3, whose shell finds seafs in its default PATH.
    mountpoint, options = mount_place(tmp_path, "fuse")
    mount_and_read("fuse.seafs", server, mountpoint, options, source)
    # seafs: mount(8) runs the installed /sbin/mount.seafs (= /usr/sbin on merged /usr).
    mountpoint, options = mount_place(tmp_path, "helper")
    mount_and_read("seafs", server, mountpoint, options, source)

    apt_get("remove", "--purge", "seafs")
    assert package_status() in ("", "not-installed"), package_status()
    left = [f for f in installed if os.path.lexists(f) and not os.path.isdir(f)]
    assert not left, "left behind by the purge: %s" % left
    assert not os.path.exists("/usr/share/doc/seafs")
