"""Control API on its own port (faults never apply here). JSON in, JSON out:

  GET  /health                 {"ok": true, "reachable": bool, "port": P, "control_port": C, ...}
  GET  /log                    {"entries": [{method, path, route, status, bytes_sent, outcome, time}]}
  GET  /counters               {requests, connections, bytes_sent, by_route, by_status, block_gets,
                                range_gets, range_bytes, outcomes}
  POST /reset                  clear log and counters
  GET  /faults                 current fault configuration
  POST /faults                 merge a fault spec (see faults.py)
  DELETE /faults               remove all faults, release stalled responses
  POST /unreachable            close the listening sockets, drop connections
  POST /reachable              listen again on the same ports
  GET  /state                  the state (accounts, libraries, tokens)
  GET  /clock                  {"now": seconds, "fixed": seconds or null}
  POST /clock                  {"fixed": seconds} freezes the server clock, {"fixed": null} frees it
  POST /accounts/<email>       merge fields into an account (e.g. {"quota": 1000})
  POST /libraries/<repo_id>    merge fields into a library (e.g. {"status": "read-only"})
  DELETE /libraries/<repo_id>  delete a library (and its sync tokens), as if removed in Seahub
  POST /web-tokens/<token>     set a web access token {"repo_id", "file_id", "name", "email", "one_time"}
  POST /shutdown               stop the server process
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from . import clock
from .faults import FaultSpecError
from .httpserver import POLL_INTERVAL


class _ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def _reply(self, status, value):
        body = json.dumps(value, ensure_ascii=False, sort_keys=True).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw.decode("utf-8")) if raw.strip() else {}

    def _dispatch(self):
        runtime = self.server.runtime
        path = self.path.split("?", 1)[0].rstrip("/")
        key = (self.command, path)
        try:
            body = self._json_body() if self.command in ("POST", "PUT") else {}
        except ValueError:
            return self._reply(400, {"error": "body is not JSON"})
        simple = {
            ("GET", "/health"): lambda: dict(ok=True, reachable=runtime.reachable, **runtime.ports),
            ("GET", "/log"): lambda: {"entries": runtime.recorder.log()},
            ("GET", "/counters"): runtime.recorder.counters,
            ("POST", "/reset"): lambda: runtime.recorder.reset() or {"ok": True},
            ("GET", "/faults"): runtime.faults.describe,
            ("DELETE", "/faults"): lambda: runtime.faults.clear() or runtime.faults.describe(),
            ("POST", "/unreachable"): lambda: runtime.set_reachable(False) or {"reachable": False},
            ("POST", "/reachable"): lambda: runtime.set_reachable(True) or {"reachable": True},
            ("GET", "/state"): runtime.state.snapshot,
            ("GET", "/clock"): clock.describe,
        }
        if key in simple:
            return self._reply(200, simple[key]())
        if key == ("POST", "/faults"):
            try:
                runtime.faults.configure(body)
            except FaultSpecError as exc:
                return self._reply(400, {"error": str(exc)})
            return self._reply(200, runtime.faults.describe())
        if key == ("POST", "/clock"):
            try:
                clock.fix(body.get("fixed") if isinstance(body, dict) else body)
            except ValueError as exc:
                return self._reply(400, {"error": str(exc)})
            return self._reply(200, clock.describe())
        if key == ("POST", "/shutdown"):
            self._reply(200, {"ok": True})
            threading.Thread(target=runtime.stop, daemon=True).start()
            return None
        if self.command == "DELETE" and path.startswith("/libraries/"):
            deleted = runtime.state.delete_library(unquote(path[len("/libraries/"):]))
            return self._reply(200 if deleted else 404, {"deleted": deleted})
        if self.command == "POST" and path.startswith("/web-tokens/"):
            runtime.state.set_web_token(unquote(path[len("/web-tokens/"):]), body)
            return self._reply(200, body)
        if self.command == "POST" and path.startswith(("/accounts/", "/libraries/")):
            if not isinstance(body, dict):
                return self._reply(400, {"error": "body must be a JSON object"})
            kind, name = path[1:].split("/", 1)
            name = unquote(name)
            if kind == "accounts":
                runtime.state.update_account(name, body)
                return self._reply(200, runtime.state.account(name))
            runtime.state.update_library(name, body)
            return self._reply(200, runtime.state.library(name))
        return self._reply(404, {"error": "unknown control endpoint %s %s" % key})

    do_GET = do_POST = do_PUT = do_DELETE = _dispatch


class ControlServer:
    def __init__(self, host, port, runtime):
        self._server = ThreadingHTTPServer((host, port), _ControlHandler)
        self._server.daemon_threads = True
        self._server.runtime = runtime
        self.port = self._server.server_address[1]
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_INTERVAL,),
                                        name="control", daemon=True)
        self._thread.start()

    def stop(self):
        if self._thread is not None and threading.current_thread() is not self._thread:
            self._server.shutdown()
        self._server.server_close()
