"""HTTP/1.1 keep-alive listener for the Seahub and file-server routes, with the fault hooks.

Responses are written by hand (status line, Content-Length, handler headers) so that they look
like libevhtp's: no Server/Date headers on file-server replies, reason "DERP" for 443/444/...
A Listener can be stopped (socket closed, open connections dropped) and started again on the
same port, which is how the "server unreachable" fault works.
"""
import socket
import struct
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .messages import Request, Response

MAX_BODY = 1 << 31
POLL_INTERVAL = 0.05  # seconds; bounds how long stop() waits for the accept loop


class BodyError(Exception):
    """The request body framing is invalid."""


class ConnectionHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # Head and body go out in separate writes; without this Nagle's algorithm and the
        # peer's delayed ACK add ~40 ms to every small response.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):  # the Recorder keeps the log
        pass

    def handle(self):
        """Serve requests until the peer closes; a peer that vanishes is not an error."""
        try:
            super().handle()
        except OSError:  # reset, broken pipe, timeout, or a connection dropped by stop()
            self.close_connection = True

    def handle_one_request(self):
        self.raw_requestline = self.rfile.readline(65537)
        self._started = time.time()  # the request's arrival, for the log's round-trip analysis
        if not self.raw_requestline:
            self.close_connection = True
            return
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        try:
            body = self._read_body()
        except BodyError:
            self._send_and_record(self.command, self.path, "bad-request", Response(400))
            self.close_connection = True
            return
        request = Request(self.command, self.path, self.headers, body, self.client_address)
        self._respond(request)

    def _read_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError as exc:
                    raise BodyError("bad chunk size") from exc
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                chunk = self.rfile.read(size)
                if len(chunk) != size:
                    raise BodyError("truncated chunk")
                parts.append(chunk)
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            length = int(length)
        except ValueError as exc:
            raise BodyError("bad Content-Length") from exc
        if not 0 <= length <= MAX_BODY:
            raise BodyError("bad Content-Length")
        data = self.rfile.read(length)
        if len(data) != length:
            raise BodyError("truncated body")
        return data

    def _respond(self, request):
        server = self.server
        full_path = request.path
        route = server.app.route_name(request)
        delay = server.faults.latency_seconds()
        if delay:
            time.sleep(delay)
        status = server.faults.injected_status(full_path)
        if request.header("Range") is not None and server.faults.ignores_range(full_path):
            del request.headers["Range"]
        try:
            response = Response(status) if status else server.app.handle(request)
        except Exception as exc:  # a handler bug must not kill the connection silently
            if isinstance(exc, OSError):  # e.g. a write to a read-only storage: like a disk error
                print("seafserver: %s %s: %s" % (request.method, full_path, exc), file=sys.stderr)
            else:
                traceback.print_exc(file=sys.stderr)
            response = Response(500)
        if response.no_reply:
            server.recorder.record(request.method, full_path, route, 0, 0,
                                   "hang" if response.hang else "no-reply", start=self._started)
            self.close_connection = True
            if response.hang:
                self._wait_for_peer_close()
            return
        response.body = server.faults.corrupt(full_path, response.block_id, response.body)
        server.faults.alter_range_answer(full_path, response)
        self._send_and_record(request.method, full_path, route, response)

    def _wait_for_peer_close(self):
        """Read and drop whatever the peer sends until it closes the connection (or stop() and
        the unreachable mode shut the socket down)."""
        try:
            while self.connection.recv(65536):
                pass
        except OSError:
            pass

    def _send_and_record(self, method, path, route, response):
        """Record, then send. Recording first means that a client which has read a complete
        response always finds it in the log and counters."""
        server = self.server
        plan = server.faults.body_fault(path, len(response.body))
        head = response.head_bytes()
        body = response.body if plan is None else response.body[:plan[1]]
        if method == "HEAD":  # HTTP: the headers of a GET, never a body
            body = b""
        entry = server.recorder.record(method, path, route, response.status, len(head) + len(body),
                                       "ok" if plan is None else plan[0], start=self._started)
        written = [0]  # bytes handed to the socket, when the body goes out in pieces
        bandwidth = server.faults.bandwidth()
        pieces = bool(bandwidth or plan is not None)
        try:
            if pieces:
                self.wfile.write(head)
                written[0] = len(head)
                self._write_throttled(body, bandwidth, written)
            else:
                self.wfile.write(head + body)
            if plan is not None and plan[0] == "stall":
                server.faults.stall_event().wait()
        except OSError:
            server.recorder.set_outcome(entry, "client-gone", written[0] if pieces else None)
        if plan is not None:
            self._abort(reset=plan[0] == "reset")

    def _write_throttled(self, data, bytes_per_second, written):
        """Writes data at bytes_per_second (0: at once), adding to written[0] as it goes."""
        if not bytes_per_second:
            self.wfile.write(data)
            written[0] += len(data)
            return
        step = max(1, int(bytes_per_second) // 20)
        for offset in range(0, len(data), step):
            piece = data[offset:offset + step]
            self.wfile.write(piece)
            written[0] += len(piece)
            time.sleep(len(piece) / float(bytes_per_second))

    def _abort(self, reset):
        """Close the connection; with reset=True the peer gets a TCP RST (SO_LINGER 0)."""
        self.close_connection = True
        try:
            if reset:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            else:
                self.connection.shutdown(socket.SHUT_RDWR)
            self.connection.close()
        except OSError:
            pass


class TrackingServer(ThreadingHTTPServer):
    """A threaded HTTP server that knows its open connections, so it can drop them."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, app, faults, recorder):
        self.app = app
        self.faults = faults
        self.recorder = recorder
        self._connections = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, ConnectionHandler)

    def process_request(self, request, client_address):
        with self._conn_lock:
            self._connections.add(request)
        self.recorder.connection_opened()
        super().process_request(request, client_address)

    def shutdown_request(self, request):
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self):
        with self._conn_lock:
            connections = list(self._connections)
            self._connections.clear()
        for sock in connections:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Listener:
    """One listening port serving `app`; stop() and start() keep the same port number."""

    def __init__(self, host, port, app, faults, recorder):
        self.host = host
        self.port = port
        self._args = (app, faults, recorder)
        self._server = None
        self._thread = None

    @property
    def running(self):
        return self._server is not None

    def start(self):
        if self._server is not None:
            return
        self._server = TrackingServer((self.host, self.port), *self._args)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(POLL_INTERVAL,),
                                        name="listener-%d" % self.port, daemon=True)
        self._thread.start()

    def stop(self):
        """Close the listening socket and drop every open connection."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server.drop_connections()
        self._thread.join()
        self._server = None
        self._thread = None
