"""seafs mounted by an ordinary user, as on a desktop: an unprivileged account made for the
module (useradd, home in a temporary directory, removed with userdel -r in teardown) mounts
on a folder in its home through the setuid fusermount3 with /dev/fuse at 0666 (what the fuse3
package's udev rule sets; these machines have no udev, so the module sets it and restores the
old mode). With a login's environment (HOME, XDG_RUNTIME_DIR, no other XDG variable) the user
reads a library and compares it with the demo's source, writes and `seafs sync`s a file and
finds it on the server, runs `seafs status` (which lists this user's mounts and no one
else's), unlocks and locks an encrypted library, and unmounts with `fusermount3 -u`. The cache,
state and control socket land in the user's XDG directories with private modes and nothing
of that user appears under /var or /run. Without XDG_RUNTIME_DIR the socket goes to a private
/tmp/seafs-<uid>; XDG_CACHE_HOME and XDG_STATE_HOME move the cache and state. allow_other
without user_allow_other in /etc/fuse.conf is refused with one line naming that file, before
anything is done.

Needs root (to create the user). Every mount left behind is unmounted in teardown (the user's
fusermount3 -u, then fusermount3 -uz / umount -l as root) and the user's processes stopped."""

import ctypes
import hashlib
import json
import os
import pathlib
import pwd
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (COMMAND_TIMEOUT_S, OTHER, PASSWORD, UNMOUNT_TIMEOUT_S,  # noqa: E402
                           USER, block_bytes, file_layout, is_mounted, mount_entry,
                           mount_factory, options_string, seafs_binary, small_demo_server,
                           fuse_for_everyone, write_credentials)
from seafserver import demo  # noqa: E402

assert mount_factory and small_demo_server  # fixtures, used by name

OTHER_PASSWORD = "secret2"  # the vectors' password of other@example.com
ENCRYPTED = "Encrypted v4 pbkdf2"  # quick to unlock (1000 PBKDF2 rounds)
FUSE_DEVICE = "/dev/fuse"
FUSE_CONF = "/etc/fuse.conf"
PR_SET_CHILD_SUBREAPER = 36  # <linux/prctl.h>
# What a user may not leave behind: seafs's root defaults and the system's runtime directory.
SYSTEM_DIRS = ("/var", "/run")
# Prints {relative path: sha256} of the files under argv[1] (run as the user: root cannot read
# a FUSE mount of another user without allow_other).
DIGESTS = r"""
import hashlib, json, os, sys
root, out = sys.argv[1], {}
for d, _, files in os.walk(root):
    for name in files:
        path = os.path.join(d, name)
        with open(path, "rb") as f:
            out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
print(json.dumps(out))
"""


def digests(root):
    root = pathlib.Path(root)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in root.rglob("*") if p.is_file()}


def account_dir(account, server):
    """The per-account directory name seafs uses (state_dirs_account_name)."""
    host = server.url.split("://", 1)[1].rstrip("/").replace(":", "_")
    return "%s@%s" % (account, host)


# --- the user ------------------------------------------------------------------------------------

class DesktopUser:
    """An unprivileged account: name, uid, gid, home, its own copy of the seafs binary (the
    build directory may not be reachable by other users) and the environment of a login."""

    def __init__(self, name, base):
        entry = pwd.getpwnam(name)
        self.name, self.uid, self.gid = name, entry.pw_uid, entry.pw_gid
        self.home = pathlib.Path(entry.pw_dir)
        self.base = base
        self.seafs = base / "bin" / "seafs"
        # What pam_systemd gives a login: XDG_RUNTIME_DIR, a 0700 directory of the user (here
        # outside /run, which must stay untouched); the other XDG variables stay unset.
        self.runtime_dir = base / "runtime" / str(self.uid)
        # What the uid owns under /var and /run already (useradd's mail spool, files of a
        # removed user whose uid was given out again) is not the test's doing.
        self.system_files = files_of(self.uid)

    def env(self, **xdg):
        """A clean environment: HOME, USER, LOGNAME, SHELL, PATH, LANG plus the given XDG_*."""
        env = {"HOME": str(self.home), "USER": self.name, "LOGNAME": self.name,
               "SHELL": "/bin/sh", "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}
        env.update({key: str(value) for key, value in xdg.items()})
        return env

    def login_env(self):
        return self.env(XDG_RUNTIME_DIR=self.runtime_dir)

    def run(self, *args, env=None, stdin="", timeout=COMMAND_TIMEOUT_S, text=True):
        """Runs args as this user (setpriv: real and effective ids, its groups, no capabilities)
        in its home with env (default: a login's); returns the CompletedProcess (text, or bytes
        with text=False)."""
        command = ["setpriv", "--reuid=%d" % self.uid, "--regid=%d" % self.gid,
                   "--init-groups", "--"] + [str(a) for a in args]
        return subprocess.run(command, capture_output=True, text=text,
                              input=stdin if text else stdin.encode(),
                              env=env or self.login_env(), cwd=self.home, timeout=timeout)

    def make_private(self, path, mode=0o700):
        """path as a directory of the user's with mode (made when missing)."""
        path = pathlib.Path(path)
        path.mkdir(parents=True, exist_ok=True)
        os.chown(path, self.uid, self.gid)
        os.chmod(path, mode)
        return path

    def credentials(self, name, password):
        path = write_credentials(self.home / name, password)
        os.chown(path, self.uid, self.gid)
        return path


def user_mounts(uid):
    """Mount points of the FUSE mounts made by uid (user_id= in /proc/self/mountinfo)."""
    points = []
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            fields = line.split()
            rest = fields[fields.index("-") + 1:]
            if rest[0].startswith("fuse") and "user_id=%d" % uid in rest[2].split(","):
                points.append(fields[4].encode().decode("unicode_escape"))
    return points


def processes_of(uid):
    """PIDs of the processes whose real uid is uid (zombies included)."""
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = pathlib.Path("/proc", entry, "status").read_text()
        except OSError:
            continue
        uids = [line.split()[1] for line in status.splitlines() if line.startswith("Uid:")]
        if uids == [str(uid)]:
            pids.append(int(entry))
    return pids


def reap(pid, timeout=UNMOUNT_TIMEOUT_S):
    """Waits for pid (a daemon re-parented to us, the subreaper) to exit; its exit code, or
    None when it is still running after timeout or is not our child."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return None
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def stop_processes_of(uid):
    """SIGTERM, then SIGKILL, to what the test user still runs (all started by this module);
    zombies re-parented to us are reaped."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in processes_of(uid):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            for pid in processes_of(uid):
                reap(pid, timeout=0)
            if not processes_of(uid):
                return
            time.sleep(0.05)


def force_unmount(mountpoint):
    for command in (["fusermount3", "-u", "-z", mountpoint], ["umount", "-l", mountpoint]):
        if not is_mounted(mountpoint):
            return
        subprocess.run(command, capture_output=True, timeout=UNMOUNT_TIMEOUT_S)


def set_subreaper(on):
    """Daemons that leave their starting process are re-parented to us while on, so that
    their exit status can be read (and no zombie is left under a PID 1 that does not reap)."""
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


@pytest.fixture(scope="module")
def desktop_user(fuse_for_everyone):
    """A fresh unprivileged user with its home in a temporary directory; in teardown (also
    after a failure) its mounts are taken away, its processes stopped, and the user removed
    with userdel -r."""
    if os.geteuid() != 0:
        pytest.skip("needs root to create a user")
    for tool in ("useradd", "userdel", "setpriv", "fusermount3"):
        if not shutil.which(tool):
            pytest.skip("%s is not installed" % tool)
    if not os.stat(shutil.which("fusermount3")).st_mode & stat.S_ISUID:
        pytest.skip("fusermount3 is not setuid root")
    binary = seafs_binary()
    base = pathlib.Path(tempfile.mkdtemp(prefix="usermount-", dir="/tmp"))
    os.chmod(base, 0o755)
    name = "seafsu%d" % os.getpid()
    set_subreaper(True)
    user = None
    try:
        subprocess.run(["useradd", "--create-home", "--home-dir", str(base / "home"),
                        "--shell", "/bin/sh", "--user-group", name],
                       check=True, capture_output=True, timeout=COMMAND_TIMEOUT_S)
        user = DesktopUser(name, base)
        (base / "bin").mkdir(mode=0o755)
        shutil.copy2(binary, user.seafs)
        os.chmod(user.seafs, 0o755)
        (base / "runtime").mkdir(mode=0o755)
        user.make_private(user.runtime_dir)
        yield user
    finally:
        if user is not None:
            for point in user_mounts(user.uid):
                user.run("fusermount3", "-u", point, timeout=UNMOUNT_TIMEOUT_S)
                force_unmount(point)
            stop_processes_of(user.uid)
            # The socket directory made without XDG_RUNTIME_DIR is not in the home.
            shutil.rmtree("/tmp/seafs-%d" % user.uid, ignore_errors=True)
        subprocess.run(["userdel", "--remove", name], capture_output=True,
                       timeout=COMMAND_TIMEOUT_S)
        if name in {entry.pw_name for entry in pwd.getpwall()}:
            subprocess.run(["userdel", "--force", "--remove", name], capture_output=True,
                           timeout=COMMAND_TIMEOUT_S)
        set_subreaper(False)
        shutil.rmtree(base, ignore_errors=True)


# --- the user's mounts ---------------------------------------------------------------------------

class UserMount:
    """A mount of the user's, started in the background as a user starts it:
    `seafs URL ~/NAME -o user=ACCOUNT,credentials=FILE` (no cache_dir/state_dir: the defaults)."""

    def __init__(self, user, server, name, account=USER, password=PASSWORD, env=None, **extra):
        self.user, self.server, self.env = user, server, env or user.login_env()
        self.mountpoint = user.make_private(user.home / name, 0o755)
        self.account = account
        options = {"user": account, "credentials": user.credentials(name + ".credentials",
                                                                     password)}
        options.update(extra)
        self.args = [server.url, self.mountpoint, "-o", options_string(options)]
        self.pid = None

    def start(self):
        done = self.user.run(self.user.seafs, *self.args, env=self.env)
        assert done.returncode == 0, "seafs as %s failed: %s" % (self.user.name, done.stderr)
        assert is_mounted(self.mountpoint), done.stderr
        self.pid = self.status()["pid"]
        return self

    def seafs(self, *args, stdin=""):
        return self.user.run(self.user.seafs, *args, env=self.env, stdin=stdin)

    def status(self):
        done = self.seafs("status", self.mountpoint, "--json")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def path(self, *parts):
        return self.mountpoint.joinpath(*parts)

    def read(self, *parts):
        """(exit code, bytes or the error text) of `cat` as the user."""
        done = self.user.run("cat", self.path(*parts), env=self.env, text=False)
        return done.returncode, done.stdout if done.returncode == 0 else done.stderr.decode()

    def unmount(self):
        """`fusermount3 -u` as the user; returns the daemon's exit code (None: still running)
        after asserting the mount is gone."""
        done = self.user.run("fusermount3", "-u", self.mountpoint, env=self.env,
                             timeout=UNMOUNT_TIMEOUT_S)
        assert done.returncode == 0, done.stderr
        assert not is_mounted(self.mountpoint)
        return reap(self.pid)

    def cleanup(self):
        if is_mounted(self.mountpoint):
            self.user.run("fusermount3", "-u", self.mountpoint, timeout=UNMOUNT_TIMEOUT_S)
            force_unmount(self.mountpoint)
        if self.pid:
            reap(self.pid)


@pytest.fixture
def user_mounts_factory(desktop_user, small_demo_server):
    server, _ = small_demo_server
    mounts = []

    def make(name, **kwargs):
        mount = UserMount(desktop_user, server, name, **kwargs)
        mounts.append(mount)
        return mount.start()

    yield make
    for mount in mounts:
        mount.cleanup()


@pytest.fixture(scope="module")
def seafile_folder(desktop_user, small_demo_server):
    """The user's ~/Seafile mount (login environment), for the module."""
    server, _ = small_demo_server
    mount = UserMount(desktop_user, server, "Seafile")
    try:
        yield mount.start()
    finally:
        mount.cleanup()


# --- tests -----------------------------------------------------------------------------------

def test_the_user_reads_a_library_as_the_demo_wrote_it(seafile_folder, tmp_path):
    # Mounted through fusermount3: the kernel records the user as the mount's owner.
    assert str(seafile_folder.mountpoint) in user_mounts(seafile_folder.user.uid)
    assert mount_entry(seafile_folder.mountpoint)["fstype"] == "fuse.seafs"
    demo.write_source("Demo", tmp_path / "Demo")
    expected = digests(tmp_path / "Demo")
    done = seafile_folder.user.run("/usr/bin/python3", "-c", DIGESTS, seafile_folder.path("Demo"))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected
    # The files are the user's (uid= defaults to the mounting user).
    done = seafile_folder.user.run("stat", "-c", "%u %g", seafile_folder.path("Demo",
                                                                              "README.txt"))
    assert done.stdout.split() == [str(seafile_folder.user.uid), str(seafile_folder.user.gid)]


def test_a_write_goes_to_the_server_with_seafs_sync(seafile_folder, small_demo_server):
    server, _ = small_demo_server
    status = seafile_folder.status()
    scratch = [lib for lib in status["libraries"] if lib["path"] == "Scratch"][0]
    content = "written by %s through fusermount3\n" % seafile_folder.user.name
    target = seafile_folder.path("Scratch", "from-a-user.txt")
    done = seafile_folder.user.run("/bin/sh", "-c", 'printf "%s" "$1" > "$2"', "sh", content,
                                   target)
    assert done.returncode == 0, done.stderr
    # Without a mount point: every mount of this user, found in its own socket directories.
    done = seafile_folder.seafs("sync", "--timeout", "60")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(os.path.realpath(seafile_folder.mountpoint) + ": 1 change ")
    assert "on the server: Scratch" in done.stdout, done.stdout
    _, blocks = file_layout(server, scratch["id"], "/from-a-user.txt")
    stored = b"".join(block_bytes(server, scratch["id"], block) for block, _, _ in blocks)
    assert stored == content.encode()


def test_status_lists_this_users_mounts_and_no_one_elses(seafile_folder, small_demo_server,
                                                         mount_factory):
    server, _ = small_demo_server
    roots = mount_factory(server, name="root-mount")
    mine = os.path.realpath(seafile_folder.mountpoint)
    done = seafile_folder.seafs("status", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)
    assert [m["mountpoint"] for m in listed] == [mine]
    assert listed[0]["pid"] == seafile_folder.pid and listed[0]["account"] == USER
    human = seafile_folder.seafs("status", seafile_folder.mountpoint)
    assert human.returncode == 0, human.stderr
    assert human.stdout.startswith(mine + ": seafs "), human.stdout
    # Root's own listing has root's mount, not the user's.
    done = subprocess.run([str(seafs_binary()), "status", "--json"], capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT_S)
    root_listed = [m["mountpoint"] for m in json.loads(done.stdout or "[]")]
    assert os.path.realpath(roots.mountpoint) in root_listed, done.stderr
    assert mine not in root_listed


def test_unlock_and_lock_an_encrypted_library(seafile_folder, tmp_path):
    demo.write_source(ENCRYPTED, tmp_path / "plain")
    marker = (tmp_path / "plain" / "marker.txt").read_bytes()
    code, text = seafile_folder.read(ENCRYPTED, "marker.txt")
    assert code != 0 and "Permission denied" in text, text
    done = seafile_folder.seafs("unlock", seafile_folder.mountpoint, ENCRYPTED,
                                "--password-stdin", stdin=demo.DEMO_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert seafile_folder.read(ENCRYPTED, "marker.txt") == (0, marker)
    locked = [lib["locked"] for lib in seafile_folder.status()["libraries"]
              if lib["path"] == ENCRYPTED]
    assert locked == [False]
    done = seafile_folder.seafs("lock", seafile_folder.mountpoint, ENCRYPTED)
    assert done.returncode == 0, done.stderr
    code, text = seafile_folder.read(ENCRYPTED, "marker.txt")
    assert code != 0 and "Permission denied" in text, text


def assert_private_tree(root, uid):
    """Every directory under root (root included) is 0700 and every file 0600, all of uid's;
    returns the relative paths of the files."""
    files = []
    for dirpath, dirnames, filenames in os.walk(root):
        st = os.lstat(dirpath)
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (uid, 0o700), dirpath
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            assert stat.S_ISREG(st.st_mode), path
            assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (uid, 0o600), path
            files.append(os.path.relpath(path, root))
    return files


def assert_private_socket(path, uid, parent):
    assert path.parent == parent, path
    st = path.lstat()
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, path
    st = parent.lstat()
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (uid, 0o700), parent


def files_of(uid, dirs=SYSTEM_DIRS):
    """The paths under dirs owned by uid."""
    done = subprocess.run(["find"] + list(dirs) + ["-xdev", "-uid", str(uid)],
                          capture_output=True, text=True, timeout=COMMAND_TIMEOUT_S)
    return set(done.stdout.split("\n")[:-1])


def test_cache_state_and_socket_are_private_in_the_users_xdg_dirs(seafile_folder):
    user = seafile_folder.user
    account = account_dir(USER, seafile_folder.server)
    for parent in (".cache", ".local", ".local/state"):  # made by seafs, as the XDG spec says
        st = (user.home / parent).lstat()
        assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (user.uid, 0o700), parent
    cache = assert_private_tree(user.home / ".cache" / "seafs", user.uid)
    state = assert_private_tree(user.home / ".local" / "state" / "seafs", user.uid)
    assert account + "/journal.db" in cache, cache
    assert account + "/device-id" in state, state
    assert [f for f in state if f.startswith(account + "/tokens/api-")], state
    socket = pathlib.Path(seafile_folder.status()["socket"])
    assert_private_socket(socket, user.uid, user.runtime_dir / "seafs")
    assert files_of(user.uid) == user.system_files


def test_without_xdg_runtime_dir_the_socket_is_in_a_private_tmp_dir(desktop_user,
                                                                    user_mounts_factory):
    # Another account: its own cache and state, so ~/Seafile's stay untouched.
    bare = desktop_user.env()
    mount = user_mounts_factory("Bare", account=OTHER, password=OTHER_PASSWORD, env=bare)
    code, data = mount.read("Shared Read-Only", "shared-readme.txt")
    assert (code, data) == (0, b"Owned by %s, shared read-only with %s.\n"
                            % (OTHER.encode(), USER.encode()))
    socket = pathlib.Path(mount.status()["socket"])
    assert_private_socket(socket, desktop_user.uid, pathlib.Path("/tmp/seafs-%d"
                                                                 % desktop_user.uid))
    assert (desktop_user.home / ".cache" / "seafs" / account_dir(OTHER, mount.server)).is_dir()
    assert mount.unmount() == 0
    assert not socket.exists()
    assert files_of(desktop_user.uid) == desktop_user.system_files


def test_xdg_cache_and_state_homes_and_unmounting_with_fusermount3(desktop_user,
                                                                   user_mounts_factory):
    xdg_cache = desktop_user.home / "xdg-cache"
    xdg_state = desktop_user.home / "xdg-state"
    env = desktop_user.env(XDG_RUNTIME_DIR=desktop_user.runtime_dir, XDG_CACHE_HOME=xdg_cache,
                           XDG_STATE_HOME=xdg_state)
    mount = user_mounts_factory("Custom", env=env)
    code, data = mount.read("Demo", "README.txt")
    assert (code, data) == (0, b"seafs demo library: nested directories, unicode names, "
                            b"empty entries.\n")
    account = account_dir(USER, mount.server)
    assert "journal.db" in assert_private_tree(xdg_cache / "seafs" / account, desktop_user.uid)
    assert "device-id" in assert_private_tree(xdg_state / "seafs" / account, desktop_user.uid)
    socket = pathlib.Path(mount.status()["socket"])
    assert_private_socket(socket, desktop_user.uid, desktop_user.runtime_dir / "seafs")
    assert mount.unmount() == 0  # the daemon ends cleanly after fusermount3 -u
    assert not socket.exists()
    done = mount.seafs("status", mount.mountpoint)
    assert done.returncode == 1 and "no seafs mount" in done.stderr, done.stderr


def fuse_conf_allows_other():
    try:
        lines = pathlib.Path(FUSE_CONF).read_text().splitlines()
    except FileNotFoundError:
        return False
    return any(line.split("#", 1)[0].strip() == "user_allow_other" for line in lines)


@pytest.mark.parametrize("option", ["allow_other", "allow_root"])
def test_sharing_without_user_allow_other_is_refused_before_mounting(desktop_user,
                                                                     small_demo_server, option):
    if fuse_conf_allows_other():
        pytest.skip("%s has user_allow_other: %s is permitted here" % (FUSE_CONF, option))
    server, _ = small_demo_server
    never_cache, never_state = desktop_user.home / "never-cache", desktop_user.home / "never-state"
    env = desktop_user.env(XDG_RUNTIME_DIR=desktop_user.runtime_dir,
                           XDG_CACHE_HOME=never_cache, XDG_STATE_HOME=never_state)
    mountpoint = desktop_user.make_private(desktop_user.home / "Shared", 0o755)
    credentials = desktop_user.credentials("shared.credentials", PASSWORD)
    options = options_string({"user": USER, "credentials": credentials, option: True})
    started = time.monotonic()
    done = desktop_user.run(desktop_user.seafs, server.url, mountpoint, "-o", options, env=env)
    assert done.returncode == 1
    assert done.stderr == ("seafs: error: %s needs the line user_allow_other in /etc/fuse.conf, which "
                           "only root can add (or mount without %s)\n" % (option, option))
    assert time.monotonic() - started < 5
    assert not is_mounted(mountpoint)
    # Refused before anything was done: no cache or state directory.
    assert not never_cache.exists() and not never_state.exists()


def test_a_fuse_device_closed_to_users_is_named_with_the_fix(desktop_user, small_demo_server):
    """/dev/fuse at 0600 (no udev rule): libfuse would fail with "fuse: failed to open
    /dev/fuse: Permission denied" after the login; seafs says what to do before anything."""
    server, _ = small_demo_server
    never_cache = desktop_user.home / "closed-cache"
    env = desktop_user.env(XDG_CACHE_HOME=never_cache)
    mountpoint = desktop_user.make_private(desktop_user.home / "Closed", 0o755)
    credentials = desktop_user.credentials("closed.credentials", PASSWORD)
    os.chmod(FUSE_DEVICE, 0o600)
    try:
        done = desktop_user.run(desktop_user.seafs, server.url, mountpoint, "-o",
                                options_string({"user": USER, "credentials": credentials}),
                                env=env)
    finally:
        os.chmod(FUSE_DEVICE, 0o666)
    assert done.returncode == 1
    assert done.stderr == ("seafs: error: cannot open /dev/fuse: Permission denied; ordinary users need "
                           "it at mode 0666 (the fuse3 package's udev rule sets that; without "
                           "udev, root runs chmod 0666 /dev/fuse)\n")
    assert not is_mounted(mountpoint) and not never_cache.exists()
