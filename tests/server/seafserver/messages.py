"""Request and Response values passed between the HTTP connection layer and the handlers."""
import http
import json
from urllib.parse import parse_qs, urlsplit


def reason_phrase(status):
    """Standard reason phrase; libevhtp prints "DERP" for codes it does not know (443, 444, ...)."""
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "DERP"


class Request:
    def __init__(self, method, target, headers, body, client_address=None):
        self.method = method
        self.target = target
        parts = urlsplit(target)
        self.path = parts.path
        self.query_string = parts.query
        self.query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body
        self.client_address = client_address

    def header(self, name):
        return self.headers.get(name)


class Response:
    """A complete response. `no_reply` makes the server close the connection without answering
    (what seaf-server does for unimplemented methods on block/commit routes); with `hang` too it
    keeps the connection open, unanswered, until the client gives up (what seaf-server does when
    a recv-fs record runs past the end of the body)."""

    def __init__(self, status, body=b"", content_type=None, headers=None):
        self.status = status
        self.body = body
        self.headers = []
        if content_type is not None:
            self.headers.append(("Content-Type", content_type))
        self.headers.extend(headers or [])
        self.no_reply = False
        self.hang = False
        self.block_id = None

    @classmethod
    def no_answer(cls, hang=False):
        response = cls(0)
        response.no_reply = True
        response.hang = hang
        return response

    def head_bytes(self):
        lines = ["HTTP/1.1 %d %s" % (self.status, reason_phrase(self.status))]
        lines.append("Content-Length: %d" % len(self.body))
        lines.extend("%s: %s" % (name, value) for name, value in self.headers)
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def compact_json(value):
    """jansson JSON_COMPACT output: no spaces, raw UTF-8."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
