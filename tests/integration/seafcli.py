"""Driver for Debian's official Seafile client (seaf-cli + seaf-daemon) in a private directory.

Integration tests use it to prove that the reference server works with the real client: it
creates a client config under one directory, runs the daemon in the foreground as a child of the
test (so its pid is known and it is always killed), starts downloads with `seaf-cli download`,
and polls `seaf-cli status` / `seaf-cli list --json` until every library is synchronized, failed,
or a deadline passes. Failures carry the client's status output and the tail of its log.
"""

import json
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile
import time

from seafserver.testing import signal_with_parent  # noqa: E402

SEAF_CLI = "/usr/bin/seaf-cli"
SEAF_DAEMON = "seaf-daemon"
PYTHON = "/usr/bin/python3"
CLI_TIMEOUT_S = 60          # one seaf-cli invocation (RPC or HTTP login); never waits for transfers
DAEMON_READY_TIMEOUT_S = 30
DAEMON_STOP_TIMEOUT_S = 10
POLL_INTERVAL_S = 1.0
SYNCED_STATE = "synchronized"


class SeafCliError(Exception):
    """The official client failed, reported an error, or did not finish in time."""


def missing_client_reason():
    """Why the official client cannot be used here, or None when seaf-cli and seaf-daemon exist."""
    if not os.path.exists(SEAF_CLI):
        return "seaf-cli is not installed (Debian package seafile-cli)"
    if shutil.which(SEAF_DAEMON) is None:
        return "seaf-daemon is not installed (Debian package seafile-daemon)"
    return None


def parse_status(text):
    """Rows of `seaf-cli status` output as (name, state, detail) with padding stripped.

    seaf-cli prints a '# Name ...' header, then one tab-separated line per clone task and per
    local library: name, state, and for transfers a progress column."""
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        fields = [field.strip() for field in line.split("\t")]
        fields += [""] * (3 - len(fields))
        rows.append((fields[0], fields[1], fields[2]))
    return rows


class SeafileClient:
    """One official client instance: config dir, data dir and daemon, all under `root`.

    Use as a context manager, or call `stop()` in a finally block: the daemon is killed even
    when a test fails half-way."""

    def __init__(self, root=None):
        # The daemon's RPC socket lives under the data dir and must fit in sun_path (108 bytes),
        # so the default root is a short private directory in /tmp.
        self._owns_root = root is None
        self.root = pathlib.Path(root or tempfile.mkdtemp(prefix="seafcli-", dir="/tmp"))
        self.conf_dir = self.root / "conf"
        self.parent_dir = self.root / "client"
        self.data_dir = self.parent_dir / "seafile-data"
        self.worktree_dir = self.parent_dir / "seafile"
        self.log_path = self.conf_dir / "logs" / "seafile.log"
        self.daemon_output_path = self.root / "seaf-daemon.out"
        self._daemon = None
        self._daemon_output = None

    def __enter__(self):
        self.init()
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _env(self):
        env = dict(os.environ)
        env["HOME"] = str(self.root)   # no ~/.ccnet or ~/.seafile.conf of the real user is read
        env.pop("PYTHONPATH", None)    # seaf-cli imports Debian's python3-seafile only
        return env

    def _cli(self, *args, check=True):
        """Run one seaf-cli subcommand; returns its stdout, raises SeafCliError on failure."""
        cmd = [PYTHON, SEAF_CLI, *args]
        try:
            done = subprocess.run(cmd, env=self._env(), capture_output=True, text=True,
                                  timeout=CLI_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired as exc:
            raise SeafCliError(f"`seaf-cli {' '.join(args)}` did not return within "
                               f"{CLI_TIMEOUT_S} s{self.diagnostics()}") from exc
        if check and done.returncode != 0:
            raise SeafCliError(f"`seaf-cli {' '.join(args)}` exited with {done.returncode}\n"
                               f"stdout: {done.stdout}\nstderr: {done.stderr}{self.diagnostics()}")
        return done.stdout

    def init(self):
        """`seaf-cli init`: writes the config dir and creates the data dir."""
        self.parent_dir.mkdir(parents=True, exist_ok=True)
        self._cli("init", "-c", str(self.conf_dir), "-d", str(self.parent_dir))
        if not (self.conf_dir / "seafile.ini").is_file():
            raise SeafCliError(f"seaf-cli init did not create {self.conf_dir}/seafile.ini")

    def start(self):
        """Runs seaf-daemon with the arguments `seaf-cli start` uses, minus --daemon, so the
        daemon stays our child in its own process group; waits until its RPC answers."""
        self._daemon_output = open(self.daemon_output_path, "wb")
        self._daemon = subprocess.Popen(
            [SEAF_DAEMON, "-c", str(self.conf_dir), "-d", str(self.data_dir),
             "-w", str(self.worktree_dir)],
            env=self._env(), stdin=subprocess.DEVNULL, stdout=self._daemon_output,
            stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=signal_with_parent(signal.SIGKILL))
        deadline = time.monotonic() + DAEMON_READY_TIMEOUT_S
        while True:
            if self._daemon.poll() is not None:
                raise SeafCliError(f"seaf-daemon exited with {self._daemon.returncode} at start"
                                   f"{self.diagnostics()}")
            if (self.data_dir / "seafile.sock").exists():
                try:
                    self._cli("status", "-c", str(self.conf_dir))
                    return
                except SeafCliError:
                    pass
            if time.monotonic() > deadline:
                raise SeafCliError(f"seaf-daemon RPC not ready after {DAEMON_READY_TIMEOUT_S} s"
                                   f"{self.diagnostics()}")
            time.sleep(0.2)

    def download(self, repo_id, server_url, dest_dir, username, password, library_password=None):
        """`seaf-cli download`: logs in, fetches download-info and queues the clone task.
        Returns at once; the transfer runs in the daemon (see `wait_synchronized`)."""
        args = ["download", "-c", str(self.conf_dir), "-l", repo_id, "-s", server_url,
                "-d", str(dest_dir), "-u", username, "-p", password]
        if library_password is not None:
            args += ["-e", library_password]
        return self._cli(*args)

    def status(self):
        """Clone tasks and local libraries as (name, state, detail) rows."""
        return parse_status(self._cli("status", "-c", str(self.conf_dir)))

    def local_libraries(self):
        """{repo id: worktree path} of the libraries the client has checked out."""
        listed = json.loads(self._cli("list", "-c", str(self.conf_dir), "--json") or "[]")
        return {repo["id"]: pathlib.Path(repo["path"]) for repo in listed}

    def wait_synchronized(self, libraries, timeout_s, server_log=None, progress=None,
                          stall_timeout_s=None):
        """Waits until every library {repo id: name} is checked out and 'synchronized'.

        Returns {repo id: worktree path}. Raises SeafCliError as soon as the client reports an
        error for one of them, when `timeout_s` passes, or when neither the status output nor
        `progress()` (e.g. the server's request count) changed for `stall_timeout_s`. The
        message holds the last status, the daemon log tail and, if given, `server_log()`."""
        started = time.monotonic()
        deadline = started + timeout_s
        names = set(libraries.values())
        last_seen, last_change = None, started
        while True:
            if self._daemon is not None and self._daemon.poll() is not None:
                raise SeafCliError(f"seaf-daemon died with {self._daemon.returncode}"
                                   f"{self.diagnostics(server_log)}")
            rows = self.status()
            failed = [row for row in rows if row[0] in names and row[1] == "error"]
            if failed:
                raise SeafCliError(f"client reported errors: {failed}"
                                   f"{self.diagnostics(server_log, rows)}")
            synced = {row[0] for row in rows if row[1] == SYNCED_STATE}
            still_busy = {row[0] for row in rows if row[1] != SYNCED_STATE}
            local = self.local_libraries()
            if all(repo_id in local for repo_id in libraries) and names <= synced - still_busy:
                return {repo_id: local[repo_id] for repo_id in libraries}
            now = time.monotonic()
            seen = (rows, progress() if progress else None)
            if seen != last_seen:
                last_seen, last_change = seen, now
            if stall_timeout_s is not None and now - last_change > stall_timeout_s:
                raise SeafCliError(f"no progress for {stall_timeout_s} s after "
                                   f"{now - started:.0f} s (checked out: {sorted(local)})"
                                   f"{self.diagnostics(server_log, rows)}")
            if now > deadline:
                raise SeafCliError(f"libraries not synchronized after {timeout_s} s "
                                   f"(checked out: {sorted(local)})"
                                   f"{self.diagnostics(server_log, rows)}")
            time.sleep(POLL_INTERVAL_S)

    def log_tail(self, lines=60):
        """The last lines of the daemon's seafile.log (empty when there is none yet)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def diagnostics(self, server_log=None, status_rows=None):
        """Text appended to failures: client status, daemon log tail, server request log tail."""
        parts = []
        if status_rows is not None:
            parts.append("seaf-cli status:\n" + "\n".join("  " + " | ".join(r)
                                                         for r in status_rows))
        parts.append(f"seaf-daemon log tail ({self.log_path}):\n{self.log_tail()}")
        if server_log is not None:
            parts.append("server request log tail:\n" + server_log())
        return "\n\n" + "\n\n".join(parts)

    def stop(self):
        """Asks the daemon to shut down, then kills its process group and any other seaf-daemon
        whose command line names this client's config dir. Safe to call more than once."""
        if self._daemon is not None and self._daemon.poll() is None:
            try:
                self._cli("stop", "-c", str(self.conf_dir), check=False)
            except SeafCliError:
                pass
            try:
                self._daemon.wait(timeout=DAEMON_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        if self._daemon is not None:
            self._kill_group(self._daemon.pid)
            self._daemon.wait()
            self._daemon = None
        for pid in self._stray_daemon_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._daemon_output is not None:
            self._daemon_output.close()
            self._daemon_output = None

    @staticmethod
    def _kill_group(pid):
        """SIGKILL the process group led by `pid` (the daemon runs in its own session)."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _stray_daemon_pids(self):
        """Pids of seaf-daemon processes started for this config dir (e.g. by `seaf-cli start`)."""
        pids = []
        marker = str(self.conf_dir).encode()
        for entry in pathlib.Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(SEAF_DAEMON.encode()) and marker in argv:
                pids.append(int(entry.name))
        return pids

    def remove(self):
        """Deletes the client's directory if this object created it (call after `stop`)."""
        if self._owns_root:
            shutil.rmtree(self.root, ignore_errors=True)
