"""A private desktop session for the desktop test and the file-manager benchmark: an empty $HOME
(XDG directories inside it), a D-Bus session bus of our own whose activated services (tumblerd,
gvfsd, xfconfd, GVfs's volume monitor) get that environment, and optionally an X server (Xvfb).
Each bus runs under reaper.py, which keeps what it activates below it and stops and reaps all
of it when the session ends, so nothing is left behind."""

import contextlib
import os
import pathlib
import subprocess
import sys
import time

STOP_TIMEOUT_S = 30  # reaper.py needs up to 2 x its own 10 s
REAPER = pathlib.Path(__file__).resolve().parent / "reaper.py"


@contextlib.contextmanager
def desktop_session(home, screen=None, system_bus=False):
    """An environment dict for commands of the session (HOME=home, DBUS_SESSION_BUS_ADDRESS,
    DISPLAY when screen, e.g. "1600x1000x24", asks for an Xvfb). system_bus=True adds a second
    private bus as DBUS_SYSTEM_BUS_ADDRESS: GVfs's volume monitor (the one that reads the
    x-gvfs-* options of /etc/fstab) declares itself unsupported without a system bus, and this
    machine runs none; no service on it is needed."""
    home = pathlib.Path(home)
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"),
               XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_RUNTIME_DIR=str(home), NO_AT_BRIDGE="1", GTK_A11Y="none")
    for name in ("DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "DBUS_SYSTEM_BUS_ADDRESS"):
        env.pop(name, None)
    started = []
    try:
        if screen:
            xvfb = _start(started, ["Xvfb", "-displayfd", "1", "-screen", "0", screen,
                                    "-nolisten", "tcp", "-auth", "/dev/null"], env)
            env["DISPLAY"] = ":" + _first_line(xvfb, "Xvfb")
        if system_bus:
            env["DBUS_SYSTEM_BUS_ADDRESS"] = _start_bus(started, home / "system-bus", env)
        env["DBUS_SESSION_BUS_ADDRESS"] = _start_bus(started, home / "bus", env)
        yield env
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _start(started, command, env):
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    started.append(process)
    return process


def _start_bus(started, socket, env):
    """Starts a dbus-daemon (session configuration) on a socket under reaper.py; returns its
    address."""
    bus = _start(started, [sys.executable, str(REAPER), "dbus-daemon", "--session", "--nofork",
                           "--print-address=1", "--address=unix:path=%s" % socket], env)
    return _first_line(bus, "dbus-daemon")


def _first_line(process, name):
    line = process.stdout.readline().strip()
    if not line:
        raise RuntimeError("%s did not start (exit status %s)" % (name, process.poll()))
    return line


def wait_for_bus_name(env, name, timeout=30):
    """Waits until `name` has an owner on the session bus of env."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = subprocess.run(["gdbus", "call", "--session", "--dest", "org.freedesktop.DBus",
                               "--object-path", "/org/freedesktop/DBus", "--method",
                               "org.freedesktop.DBus.NameHasOwner", name], env=env,
                              capture_output=True, text=True)
        if "true" in done.stdout:
            return
        time.sleep(0.1)
    raise RuntimeError("%s did not appear on the session bus within %d s" % (name, timeout))
