"""Start/stop a reference server process on free ports and drive its control API (for pytest).

    with SeafServer(data_dir, storage=...) as server:
        server.url, server.seafhttp_url, server.fileserver_url
        server.set_faults(latency_ms=100); server.clear_faults(); server.counters(); server.log()
        server.fix_clock(1796623889); server.fix_clock(None)
        server.unreachable(); server.reachable(); server.restart()
"""
import ctypes
import json
import os
import select
import signal
import subprocess
import tempfile
import urllib.request

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = "/usr/bin/python3"
VECTORS_DIR = os.environ.get("SEAFS_VECTORS") or os.path.normpath(
    os.path.join(PACKAGE_PARENT, "..", "..", "..", "shared", "vectors", "real-server"))


PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def signal_with_parent(sig):
    """A preexec_fn for subprocess.Popen: the child gets `sig` when the test process dies (even
    killed, without teardown), so no server, daemon or mount outlives a test run."""
    def preexec():
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0)
    return preexec


class ServerError(RuntimeError):
    """The server process did not start, or the control API refused a request."""


def write_json(path, value):
    """Writes value as JSON to path atomically (a temporary file in the same directory, synced,
    then renamed over it): a reader, such as a running server, never sees a partly written
    file."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path) or ".", prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(value, f, indent=1, sort_keys=True, ensure_ascii=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def write_state(data_dir, state):
    """Writes state (the state.json shape) into data_dir, atomically."""
    os.makedirs(data_dir, exist_ok=True)
    write_json(os.path.join(data_dir, "state.json"), state)


class SeafServer:
    def __init__(self, data_dir, storage=None, fileserver_port=False, log=None, start_timeout=15,
                 readonly_storage=False, env=None, base_storage=None):
        self.data_dir = data_dir
        self.storage = storage
        self.base_storage = base_storage  # read for objects the storage lacks, never written
        self.want_fileserver_port = fileserver_port
        self.log_path = log
        self.start_timeout = start_timeout
        self.readonly_storage = readonly_storage
        self.env = dict(env or {})  # extra environment of the process, e.g. {"TZ": "UTC"}
        self.ports = {}
        self.process = None

    # --- process lifecycle ---------------------------------------------------------------

    def _command(self):
        cmd = [PYTHON, "-m", "seafserver", "--data", self.data_dir,
               "--port", str(self.ports.get("port", 0)),
               "--control-port", str(self.ports.get("control_port", 0))]
        if self.storage:
            cmd += ["--storage", self.storage]
        if self.want_fileserver_port:
            cmd += ["--fileserver-port", str(self.ports.get("fileserver_port", 0))]
        if self.log_path:
            cmd += ["--log", self.log_path]
        if self.readonly_storage:
            cmd.append("--readonly-storage")
        if self.base_storage:
            cmd += ["--base-storage", self.base_storage]
        return cmd

    def open_storage(self, writable=False):
        """The server's storage as it reads it (over its base storage, if any)."""
        from .storage import Storage

        return Storage(self.storage or os.path.join(self.data_dir, "storage"), writable,
                       self.base_storage)

    def start(self):
        """Start the process (same ports as before on a restart) and wait until it serves."""
        env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT, **self.env)
        os.makedirs(self.data_dir, exist_ok=True)
        stderr = open(os.path.join(self.data_dir, "server.stderr"), "ab")
        self.process = subprocess.Popen(self._command(), stdout=subprocess.PIPE, stderr=stderr, env=env,
                                        preexec_fn=signal_with_parent(signal.SIGTERM))
        stderr.close()
        ready, _, _ = select.select([self.process.stdout], [], [], self.start_timeout)
        line = self.process.stdout.readline() if ready else b""
        if not line:
            self.stop()
            raise ServerError("server did not start; see %s/server.stderr" % self.data_dir)
        info = json.loads(line)
        self.ports = {k: v for k, v in info.items() if k.endswith("port")}
        return self

    def stop(self, timeout=10):
        """Terminate the process (SIGTERM, then SIGKILL); safe to call twice."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process.stdout.close()
        self.process = None

    def restart(self):
        self.stop()
        return self.start()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # --- addresses -------------------------------------------------------------------------

    @property
    def port(self):
        return self.ports["port"]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.ports["port"]

    @property
    def seafhttp_url(self):
        return self.url + "/seafhttp"

    @property
    def fileserver_url(self):
        """The bare file-server port (only with fileserver_port=True)."""
        return "http://127.0.0.1:%d" % self.ports["fileserver_port"]

    @property
    def control_url(self):
        return "http://127.0.0.1:%d" % self.ports["control_port"]

    # --- control API -----------------------------------------------------------------------

    def control(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.control_url + path, data=data, method=method)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            raise ServerError("control %s %s: %s %s" % (method, path, exc.code, exc.read())) from exc

    def log(self):
        return self.control("GET", "/log")["entries"]

    def counters(self):
        return self.control("GET", "/counters")

    def reset_counters(self):
        return self.control("POST", "/reset")

    def set_faults(self, **spec):
        """e.g. set_faults(error={"status": 503, "count": 2, "match": "/block/"})."""
        return self.control("POST", "/faults", spec)

    def clear_faults(self):
        return self.control("DELETE", "/faults")

    def unreachable(self):
        return self.control("POST", "/unreachable")

    def reachable(self):
        return self.control("POST", "/reachable")

    def state(self):
        return self.control("GET", "/state")

    def set_account(self, email, **fields):
        return self.control("POST", "/accounts/" + urllib.parse.quote(email), fields)

    def set_library(self, repo_id, **fields):
        return self.control("POST", "/libraries/" + repo_id, fields)

    def delete_library(self, repo_id):
        return self.control("DELETE", "/libraries/" + repo_id)

    def set_web_token(self, token, entry):
        return self.control("POST", "/web-tokens/" + token, entry)

    def fix_clock(self, seconds):
        """Freeze the server clock (ctime of server-made commits) at `seconds`; None frees it."""
        return self.control("POST", "/clock", {"fixed": seconds})
