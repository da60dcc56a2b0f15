"""Runs a daemon (dbus-daemon) as a child subreaper, so that what it starts (the services a bus
activates, which fork away from it) stays below this process instead of going to PID 1, which on
this machine does not reap them. On SIGTERM: the daemon is terminated, the services it leaves
get STOP_TIMEOUT_S to exit on their own (a bus's services end when the bus goes away), then
SIGTERM, then SIGKILL; every one of them is reaped, then this exits.

  python3 reaper.py COMMAND [ARGS...]     (stdin, stdout and stderr are the command's)"""

import ctypes
import os
import signal
import subprocess
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
STOP_TIMEOUT_S = 10


def children():
    """PIDs of this process's children (those reparented to it included)."""
    me = str(os.getpid())
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = open("/proc/%s/stat" % entry).read()
        except OSError:
            continue
        if stat.rsplit(")", 1)[1].split()[1] == me:  # the field after the state: ppid
            found.append(int(entry))
    return found


def reap_all():
    """Reaps every child that has exited; returns False once there are none left."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return False
        if pid == 0:
            return True


def main(argv):
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("reaper: prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(ctypes.get_errno()))
    daemon = subprocess.Popen(argv)
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(time.monotonic()))
    while not stopping:
        time.sleep(0.1)
        for pid in children():  # services that ended while the daemon runs
            if pid != daemon.pid:
                os.waitpid(pid, os.WNOHANG)
        if daemon.poll() is not None and not children():
            return daemon.returncode
    daemon.terminate()
    while reap_all():
        waited = time.monotonic() - stopping[0]
        if waited > STOP_TIMEOUT_S:
            for pid in children():
                try:
                    os.kill(pid, signal.SIGKILL if waited > 2 * STOP_TIMEOUT_S else signal.SIGTERM)
                except ProcessLookupError:
                    pass
        time.sleep(0.05)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
