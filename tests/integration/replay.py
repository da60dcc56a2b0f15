"""Reads the captured real-server requests (vectors/real-server/http/REQUESTS.tsv, bodies from
request-bodies/ as listed in INDEX.md) and their raw responses (http/NAME.http), or directories
of raw NNNN-METHOD-name.req/.resp pairs (client-trace/, merge/), and sends a captured request to
a running reference server."""
import http.client
import re
from urllib.parse import urlsplit

SEAHUB_PORT = 8000


class Captured:
    """One captured exchange: the request as sent and the raw response as received."""

    def __init__(self, name, method, url, headers, body, status, response_headers, response_body,
                 reason=None):
        self.name = name
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.status = status
        self.response_headers = response_headers
        self.response_body = response_body
        self.reason = reason

    @property
    def via_seahub_port(self):
        return urlsplit(self.url).port == SEAHUB_PORT

    @property
    def target(self):
        parts = urlsplit(self.url)
        return parts.path + ("?" + parts.query if parts.query else "")


def split_raw_message(raw):
    """(start line, [(header name, stripped value)], body) of a raw HTTP request or response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        fields.append((name, value.strip()))
    return lines[0], fields, body


def parse_raw_request(raw):
    """(method, target, {header: value} without Host and Content-Length, body) of a raw request."""
    start, fields, body = split_raw_message(raw)
    method, target, _version = start.split(" ")
    headers = {name: value for name, value in fields if name.lower() not in ("host", "content-length")}
    return method, target, headers, body


def parse_response(raw):
    """(status, reason, {lowercase header: value}, body) of a raw HTTP response."""
    start, fields, body = split_raw_message(raw)
    _version, status, reason = start.split(" ", 2)
    headers = {name.strip().lower(): value for name, value in fields}
    return int(status), reason, headers, body


def parse_raw_response(raw):
    """(status, {lowercase header: value}, body) of a raw HTTP response."""
    status, _reason, headers, body = parse_response(raw)
    return status, headers, body


def load_exchanges(directory):
    """The exchanges of a directory of raw NNNN-METHOD-name.req/.resp files, in order. Where the
    .resp file is a note that no answer came, status, reason and response headers are None."""
    exchanges = []
    for req in sorted(directory.glob("*.req")):
        method, target, headers, body = parse_raw_request(req.read_bytes())
        raw = req.with_suffix(".resp").read_bytes()
        status = reason = response_headers = None
        response_body = b""
        if raw.startswith(b"HTTP/"):
            status, reason, response_headers, response_body = parse_response(raw)
        exchanges.append(Captured(req.stem, method, target, headers, body, status, response_headers,
                                  response_body, reason))
    return exchanges


def _body_files(vectors_dir):
    """{capture name: request body file} from the INDEX.md table rows."""
    text = (vectors_dir / "INDEX.md").read_text(encoding="utf-8")
    files = {}
    for m in re.finditer(r"^\| `([^`]+)\.http` \|.*?\| (request-bodies/[^ |]+) \|", text, re.M):
        files[m.group(1)] = m.group(2)
    return files


def load_captures(vectors_dir):
    http_dir = vectors_dir / "http"
    body_files = _body_files(vectors_dir)
    captures = []
    rows = (http_dir / "REQUESTS.tsv").read_text(encoding="utf-8").splitlines()[1:]
    for row in rows:
        name, method, url, header_text, inline_body = (row.split("\t") + [""] * 5)[:5]
        headers = {}
        for item in header_text.split("; "):
            if ":" in item:
                key, _, value = item.partition(":")
                headers[key.strip()] = value.strip()
        if name in body_files:
            body = (http_dir / body_files[name]).read_bytes()
        elif method in ("POST", "PUT") and inline_body:
            body = inline_body.encode("utf-8")
        else:
            body = b""
        status, response_headers, response_body = parse_raw_response((http_dir / (name + ".http")).read_bytes())
        captures.append(Captured(name, method, url, headers, body, status, response_headers, response_body))
    return captures


def send(port, method, target, headers=None, body=b"", timeout=10):
    """(status, reason, {lowercase header: value}, body) of one request to 127.0.0.1:port."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for key, value in (headers or {}).items():
            conn.putheader(key, value)
        if body or method in ("POST", "PUT"):
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        response = conn.getresponse()
        data = response.read()
        return response.status, response.reason, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()
