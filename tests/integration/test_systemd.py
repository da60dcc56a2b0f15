"""The systemd units of packaging/systemd/ and what seafs does for them, tested without systemd
as init: `systemd-analyze verify` accepts both units; the daemon started exactly as the user
unit's ExecStart line says (specifiers filled in, its config file written here) with a
NOTIFY_SOCKET of the test's own sends READY=1 only once the mount point lists the libraries,
never when the mount cannot come up, and STOPPING=1 on SIGTERM, after which it unmounts and
exits 0 with a file written just before still there (and uploaded) at the next start. Under the
journal (JOURNAL_STREAM) its log lines carry "<N>" levels. A restart after a crash clears the
dead mount (Restart=on-failure)."""

import errno
import hashlib
import os
import pathlib
import re
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from mount_fixture import (MOUNT_TIMEOUT_S, PASSWORD, UNMOUNT_TIMEOUT_S, USER, ctl,  # noqa: E402
                           is_mounted, log_tail, seafs_binary, small_demo_server, unmount,
                           fuse_for_everyone, write_credentials)
from seafserver.testing import signal_with_parent  # noqa: E402
from uploadkit import head_of, lib_server, server_tree  # noqa: E402

assert small_demo_server and lib_server  # fixtures, used by name
ROOT = pathlib.Path(__file__).resolve().parents[2]
UNITS = ROOT / "packaging" / "systemd"
USER_UNIT = UNITS / "user" / "seafs@.service"
SYSTEM_UNIT = UNITS / "system" / "seafs@.service"
INSTALLED_SEAFS = "/usr/bin/seafs"  # where the units expect the binary (the Debian package's)
INSTANCE = "work"
# Settings that give the service a mount namespace of its own (the mount would not be seen
# outside it) or hide /dev/fuse: none may be in a seafs unit.
NAMESPACING = ("ProtectSystem", "ProtectHome", "PrivateTmp", "PrivateDevices", "PrivateMounts",
               "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
               "ProtectControlGroups", "ProtectProc", "ProcSubset", "ReadOnlyPaths",
               "ReadWritePaths", "InaccessiblePaths", "TemporaryFileSystem", "BindPaths",
               "PrivateUsers", "DeviceAllow", "DevicePolicy", "ProtectClock", "RootDirectory")
# In a user unit these imply NoNewPrivileges=, which stops the setuid fusermount3.
NO_NEW_PRIVILEGES = ("NoNewPrivileges", "SystemCallFilter", "SystemCallArchitectures",
                     "RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime",
                     "LockPersonality", "MemoryDenyWriteExecute", "RestrictSUIDSGID")


def unit_settings(unit):
    """{(section, key): [values]} of a unit file."""
    settings, section = {}, None
    for line in unit.read_text().splitlines():
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        settings.setdefault((section, key.strip()), []).append(value.strip())
    return settings


def exec_start(unit, home):
    """The unit's ExecStart command as argv, its specifiers filled in as systemd does for
    instance INSTANCE of a user whose home is `home`, and the installed binary replaced by the
    one under test."""
    lines = unit_settings(unit)[("Service", "ExecStart")]
    assert len(lines) == 1, lines
    specifiers = {"i": INSTANCE, "I": INSTANCE, "h": str(home), "%": "%",
                  "n": "seafs@%s.service" % INSTANCE, "N": "seafs@%s" % INSTANCE, "p": "seafs"}
    line = re.sub(r"%(.)", lambda m: specifiers[m.group(1)], lines[0])
    argv = shlex.split(line)
    assert argv[0] == INSTALLED_SEAFS, argv
    return [str(seafs_binary())] + argv[1:]


class NotifySocket:
    """The test's own NOTIFY_SOCKET: an AF_UNIX datagram socket; every datagram is one sd_notify
    message of "KEY=value" lines."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def next(self, timeout):
        """The next message as a dict, or None after timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(4096)
        except socket.timeout:
            return None
        message = dict(line.split("=", 1) for line in data.decode().splitlines() if "=" in line)
        self.messages.append(message)
        return message

    def wait_for(self, key, daemon, timeout=MOUNT_TIMEOUT_S):
        """The first message setting `key`; fails when the daemon exits or time runs out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.next(0.1)
            if message and key in message:
                return message
            if message is None and daemon.process.poll() is not None:
                pytest.fail("seafs exited with %s before %s\n%s"
                            % (daemon.process.returncode, key, daemon.log_tail()))
        pytest.fail("no %s within %d s\n%s" % (key, timeout, daemon.log_tail()))

    def drain(self):
        while self.next(0.05) is not None:
            pass
        return self.messages

    def close(self):
        self.sock.close()


class UnitDaemon:
    """seafs run as the user unit runs it: ExecStart with HOME=home, the config file
    ~/.config/seafs/INSTANCE.conf, NOTIFY_SOCKET and (journal=True) a JOURNAL_STREAM that names
    its stderr, as systemd sets up for StandardError=journal."""

    def __init__(self, home, notify_path, prefix=(), owner=None):
        self.home = pathlib.Path(home)
        self.prefix = list(prefix)  # e.g. setpriv: run as another user
        self.owner = owner  # that user's uid (owns home and the files written here)
        self.config = self.home / ".config" / "seafs" / ("%s.conf" % INSTANCE)
        self.credentials = self.home / ".config" / "seafs" / "credentials"
        self.mountpoint = self.home / "Seafile"
        self.log_path = self.home / "seafs.log"
        self.runtime_dir = self.home / "run"
        self.notify_path = notify_path
        self.process = None

    def write_config(self, server_url, password=PASSWORD, **options):
        """The config file of INSTANCE (paths under ~, as a user would write them) and the
        credentials file it names."""
        self.config.parent.mkdir(parents=True, exist_ok=True)
        write_credentials(self.credentials, password)
        lines = ["# written by test_systemd.py", "server = %s" % server_url,
                 "mountpoint = ~/Seafile", "user = %s" % USER,
                 "credentials = ~/.config/seafs/credentials", "cache_dir = ~/cache",
                 "state_dir = ~/state"] + ["%s = %s" % kv for kv in options.items()]
        self.config.write_text("\n".join(lines) + "\n")
        if self.owner is not None:
            for path in [self.home / ".config", self.config.parent, self.config,
                         self.credentials]:
                os.chown(path, self.owner, self.owner)

    def env(self):
        self.runtime_dir.mkdir(mode=0o700, exist_ok=True)
        return dict(os.environ, HOME=str(self.home), XDG_RUNTIME_DIR=str(self.runtime_dir),
                    NOTIFY_SOCKET=str(self.notify_path))

    def start(self, unit=USER_UNIT, journal=False):
        env = self.env()
        log = open(self.log_path, "ab")
        if journal:
            st = os.fstat(log.fileno())
            env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        log.write(b"\n--- start\n")
        log.flush()
        self.process = subprocess.Popen(self.prefix + exec_start(unit, self.home), env=env,
                                        stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=signal_with_parent(signal.SIGTERM))
        log.close()
        return self

    def listing(self):
        """The mount point's names, listed as the daemon's user (FUSE lets only that user in)."""
        if not self.prefix:
            return sorted(os.listdir(self.mountpoint))
        done = subprocess.run(self.prefix + ["ls", "-1A", str(self.mountpoint)],
                              capture_output=True, text=True, timeout=MOUNT_TIMEOUT_S)
        assert done.returncode == 0, done.stderr
        return sorted(done.stdout.splitlines())

    def terminate(self):
        """SIGTERM as systemctl stop sends it (KillSignal=); returns the exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(UNMOUNT_TIMEOUT_S * 2)

    def log_tail(self):
        return log_tail(self.log_path)

    def cleanup(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(UNMOUNT_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            return unmount(self.mountpoint)
        except subprocess.TimeoutExpired:
            subprocess.run(["fusermount3", "-uz", str(self.mountpoint)], capture_output=True)
            return "fusermount3 hung"


@pytest.fixture
def notify(tmp_path):
    sock = NotifySocket(tmp_path / "notify.sock")
    yield sock
    sock.close()


@pytest.fixture
def daemon(tmp_path, notify):
    """A UnitDaemon with its home in tmp_path; killed and unmounted in teardown."""
    unit_daemon = UnitDaemon(tmp_path / "home", notify.path)
    yield unit_daemon
    problem = unit_daemon.cleanup()
    print("--- seafs log (tail) ---\n" + unit_daemon.log_tail())
    assert not problem, problem


NOBODY = 65534


@pytest.fixture
def nobody_daemon(fuse_for_everyone):
    """(UnitDaemon, NotifySocket) running as nobody, the user unit's case (fusermount3 mounts
    and unmounts), with its home and notify socket in a directory of nobody's under /tmp
    (pytest's directories are root's and closed to others); killed, unmounted and removed in
    teardown."""
    if os.getuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run seafs as another user")
    home = pathlib.Path(tempfile.mkdtemp(prefix="seafs-systemd-"))
    os.chown(home, NOBODY, NOBODY)
    sock = NotifySocket(home / "notify.sock")
    os.chmod(sock.path, 0o666)
    unit_daemon = UnitDaemon(home, sock.path, owner=NOBODY,
                             prefix=["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                                     "--clear-groups"])
    try:
        yield unit_daemon, sock
    finally:
        problem = unit_daemon.cleanup()
        print("--- seafs log (tail) ---\n" + unit_daemon.log_tail())
        sock.close()
        shutil.rmtree(home, ignore_errors=True)
    assert not problem, problem


def visible_library_names(server):
    state = server.state()
    return sorted(lib["name"] for lib in state["libraries"].values()
                  if lib["owner"] == USER or USER in lib.get("shares", {}))


# --- the unit files ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def installed_view(tmp_path_factory):
    """A directory holding `seafs` and a man page tree with seafs(8), for a view of /usr/bin in
    which the units' ExecStart exists and a MANPATH in which their Documentation= does."""
    view = tmp_path_factory.mktemp("installed")
    (view / "bin").mkdir()
    (view / "bin" / "seafs").write_bytes(seafs_binary().read_bytes())
    (view / "bin" / "seafs").chmod(0o755)
    (view / "man" / "man8").mkdir(parents=True)
    (view / "man" / "man8" / "seafs.8").write_bytes((ROOT / "packaging" / "seafs.8").read_bytes())
    return view


# systemd-analyze verify checks that ExecStart's binary exists: it runs in a private mount
# namespace in which /usr/bin is an overlay of itself and a directory holding `seafs`.
VERIFY_SCRIPT = """set -u
mount -t overlay overlay -o "lowerdir=$VIEW/bin:/usr/bin" /usr/bin || exit 90
exec systemd-analyze "$@"
"""


@pytest.mark.parametrize("unit", [USER_UNIT, SYSTEM_UNIT], ids=["user", "system"])
def test_systemd_analyze_verify_passes(unit, installed_view, tmp_path):
    if not pathlib.Path("/usr/bin/systemd-analyze").exists():
        pytest.fail("systemd-analyze is missing: packaging/install-deps.sh installs systemd")
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    mode = ["--user"] if unit == USER_UNIT else []
    env = dict(os.environ, VIEW=str(installed_view), MANPATH=str(installed_view / "man"),
               XDG_RUNTIME_DIR=str(runtime))
    done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                           VERIFY_SCRIPT, "verify"] + mode + ["verify", str(unit)],
                          capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode != 90, "cannot set up the overlay of /usr/bin: %s" % done.stderr
    # Unknown keys and bad values are only warnings: the output must be empty too.
    assert done.returncode == 0 and not done.stderr.strip() and not done.stdout.strip(), done


@pytest.mark.parametrize("unit", [USER_UNIT, SYSTEM_UNIT], ids=["user", "system"])
def test_units_run_seafs_in_the_foreground_and_stop_it_with_sigterm(unit):
    settings = unit_settings(unit)
    assert settings[("Service", "Type")] == ["notify"]
    argv = exec_start(unit, "/home/u")
    assert "-f" in argv and "--config" in argv
    assert settings.get(("Service", "KillSignal"), ["SIGTERM"]) == ["SIGTERM"]
    assert settings[("Service", "KillMode")] == ["mixed"]
    assert settings[("Service", "Restart")] == ["on-failure"]
    forbidden = NAMESPACING + (NO_NEW_PRIVILEGES if unit == USER_UNIT else ())
    present = sorted(key for (section, key) in settings if key in forbidden)
    assert not present, "settings that break the FUSE mount: %s" % present


@pytest.mark.parametrize("unit, config", [(USER_UNIT, "/home/u/.config/seafs/%s.conf"),
                                          (SYSTEM_UNIT, "/etc/seafs/%s.conf")],
                         ids=["user", "system"])
def test_units_read_the_config_file_of_their_instance(unit, config):
    argv = exec_start(unit, "/home/u")
    assert argv[argv.index("--config") + 1] == config % INSTANCE


# --- the daemon as the unit runs it -------------------------------------------------------------

def test_ready_comes_once_the_mount_lists_the_libraries(small_demo_server, daemon, notify):
    server, _ = small_demo_server
    daemon.write_config(server.url)
    assert not daemon.mountpoint.exists()  # seafs makes the mount point of a config file
    daemon.start(journal=True)
    ready = notify.wait_for("READY", daemon)
    listing = sorted(os.listdir(daemon.mountpoint))  # right now, no waiting
    assert listing == visible_library_names(server)
    assert ready["READY"] == "1"
    assert ready["STATUS"] == "Serving %d libraries on %s" % (len(listing), daemon.mountpoint)
    statuses = [m["STATUS"] for m in notify.messages if "STATUS" in m]
    assert statuses[0] == "Logging in to %s as %s" % (server.url, USER), statuses
    assert "Mounting on %s" % daemon.mountpoint in statuses
    assert daemon.terminate() == 0
    stopping = [m for m in notify.drain() if "STOPPING" in m]
    assert stopping and stopping[0]["STOPPING"] == "1"
    assert not is_mounted(daemon.mountpoint)
    # Under the journal every line starts with its syslog level: <6> info, <3> error...
    lines = [line for line in daemon.log_path.read_text().splitlines()
             if line and not line.startswith("--- start")]
    assert lines and all(re.match(r"<[0-7]>", line) for line in lines), lines
    assert any(line.startswith("<6>info: mounted ") for line in lines), lines


@pytest.mark.parametrize("failure", ["wrong password", "unreachable server"])
def test_no_ready_when_the_mount_cannot_come_up(failure, small_demo_server, daemon, notify):
    server, _ = small_demo_server
    if failure == "wrong password":
        daemon.write_config(server.url, password="not-the-password")
    else:
        with socket.socket() as unused:  # a port nothing listens on
            unused.bind(("127.0.0.1", 0))
            port = unused.getsockname()[1]
        daemon.write_config("http://127.0.0.1:%d" % port, timeout=2, connect_timeout=2)
    daemon.start()
    try:
        code = daemon.process.wait(MOUNT_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        pytest.fail("seafs still runs after %d s\n%s" % (MOUNT_TIMEOUT_S, daemon.log_tail()))
    messages = notify.drain()
    assert code != 0, daemon.log_tail()
    assert not any("READY" in m for m in messages), messages
    assert not is_mounted(daemon.mountpoint)
    # Not under the journal: today's format.
    assert re.search(r"^seafs: error: ", daemon.log_path.read_text(), re.M), daemon.log_tail()


def test_sigterm_unmounts_and_keeps_a_file_written_just_before(lib_server, daemon, notify):
    server, repo_id = lib_server({"old.txt": b"old\n"})
    # Uploads wait a minute: the file is surely not on the server yet when SIGTERM comes.
    daemon.write_config(server.url, upload_delay=60)
    daemon.start()
    notify.wait_for("READY", daemon)
    head = head_of(server, repo_id)
    content = os.urandom(100000)
    with open(daemon.mountpoint / "Lib" / "new.bin", "wb") as f:
        f.write(content)
    assert daemon.terminate() == 0, daemon.log_tail()
    assert any(m.get("STOPPING") == "1" for m in notify.drain()), notify.messages
    assert not is_mounted(daemon.mountpoint)
    assert head_of(server, repo_id) == head, "uploaded before SIGTERM: the test proves nothing"

    daemon.start()  # the same config, cache and state
    notify.wait_for("READY", daemon)
    assert (daemon.mountpoint / "Lib" / "new.bin").read_bytes() == content
    done = ctl("sync", daemon.mountpoint, env=daemon.env())
    assert done.returncode == 0, done.stderr
    tree = server_tree(server, repo_id)
    assert tree["new.bin"][2] == hashlib.sha1(content).hexdigest(), tree
    assert tree["old.txt"][2] == hashlib.sha1(b"old\n").hexdigest(), tree
    assert daemon.terminate() == 0, daemon.log_tail()


def check_restart_after_a_crash(server, daemon, notify):
    daemon.write_config(server.url)
    daemon.start()
    notify.wait_for("READY", daemon)
    assert daemon.listing() == visible_library_names(server)
    daemon.process.kill()  # a crash: the mount stays, dead
    daemon.process.wait()
    dead = subprocess.run(daemon.prefix + ["stat", "-f", str(daemon.mountpoint)],
                          capture_output=True, text=True, timeout=MOUNT_TIMEOUT_S)
    assert dead.returncode != 0 and os.strerror(errno.ENOTCONN) in dead.stderr, dead
    daemon.start()  # what Restart=on-failure does
    notify.wait_for("READY", daemon)
    assert daemon.listing() == visible_library_names(server)
    assert "a seafs that died" in daemon.log_path.read_text()
    assert daemon.terminate() == 0, daemon.log_tail()
    assert not is_mounted(daemon.mountpoint)


def test_restart_after_a_crash_clears_the_dead_mount(small_demo_server, daemon, notify):
    check_restart_after_a_crash(small_demo_server[0], daemon, notify)


def test_restart_after_a_crash_clears_the_dead_mount_of_a_user(small_demo_server, nobody_daemon):
    check_restart_after_a_crash(small_demo_server[0], *nobody_daemon)
