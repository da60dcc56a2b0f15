"""Request routing between Seahub (/api2/...) and the file server (/seafhttp/... on the main
port, like the standard nginx layout; every path on the optional bare file-server port)."""
import copy

from .fileserver import FileServer, reply
from .seahub import Seahub, json_response

FILESERVER_PREFIX = "/seafhttp"


class MainApp:
    """The main port: /seafhttp/* goes to the file server (prefix stripped), the rest to Seahub."""

    def __init__(self, seahub: Seahub, fileserver: FileServer):
        self.seahub = seahub
        self.fileserver = fileserver

    @staticmethod
    def _fileserver_path(path):
        if path == FILESERVER_PREFIX or path.startswith(FILESERVER_PREFIX + "/"):
            return path[len(FILESERVER_PREFIX):] or "/"
        return None

    def route_name(self, request):
        inner = self._fileserver_path(request.path)
        if inner is not None:
            return self.fileserver.route_name(_with_path(request, inner))
        return "api2/" + self.seahub.route_name(request)

    def handle(self, request):
        inner = self._fileserver_path(request.path)
        if inner is not None:
            return self.fileserver.handle(_with_path(request, inner))
        if request.path.startswith(("/api2/", "/api/")):
            return self.seahub.handle(request)
        return json_response(404, {"detail": "Not found."})


class FileServerApp:
    """The optional bare file-server port (like seaf-server's port 8082): no prefix."""

    def __init__(self, fileserver: FileServer):
        self.fileserver = fileserver

    def route_name(self, request):
        return self.fileserver.route_name(request)

    def handle(self, request):
        return self.fileserver.handle(request) if request.path else reply(404)


def _with_path(request, path):
    """The same request with its path replaced (the fault/log layer keeps the original)."""
    clone = copy.copy(request)
    clone.path = path
    return clone
