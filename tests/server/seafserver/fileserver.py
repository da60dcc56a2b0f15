"""The /seafhttp file server (sync protocol), behaving like seaf-server's C http-server.

Paths handed to FileServer.handle() have the /seafhttp prefix already stripped. Status codes,
check order, trailing-slash rules and bodies follow the captures in vectors/real-server/http/.
"""
import json
import re

from .branch import update_branch
from .messages import Response, compact_json
from .objects import EMPTY_SHA1, is_object_id, is_repo_id
from .packfs import PACK_HEADER, encode_record, split_records
from .trees import MissingObject, fs_id_list
from .validation import commit_is_valid
from .webaccess import serve_file

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
OBJ = r"[0-9a-f]{40}"
MAX_OBJECT_PACK_SIZE = 1 << 20
# A record announcing more than this past the end of a recv-fs body is not stored (the C server
# would allocate and write it all, or abort beyond 2 GiB).
MAX_PADDED_RECORD = 64 << 20
_CLIENT_VER_RE = re.compile(r"^\d+\.\d+\.\d+$")

# (route name, path regex, {method: handler name} or a handler name for any method)
ROUTES = [
    ("protocol-version", r"^/protocol-version$", "protocol_version"),
    ("permission-check", r"^/repo/(%s)/permission-check/.*$" % UUID, "permission_check"),
    ("quota-check", r"^/repo/(%s)/quota-check/.*$" % UUID, "quota_check"),
    ("head-commits-multi", r"^/repo/head-commits-multi/?$", "head_commits_multi"),
    ("commit-head", r"^/repo/(%s)/commit/HEAD/?$" % UUID, {"GET": "get_head", "PUT": "put_head"}),
    ("commit", r"^/repo/(%s)/commit/(%s)/?$" % (UUID, OBJ), {"GET": "get_commit", "PUT": "put_commit"}),
    ("fs-id-list", r"^/repo/(%s)/fs-id-list/.*$" % UUID, "get_fs_id_list"),
    ("pack-fs", r"^/repo/(%s)/pack-fs/?$" % UUID, "pack_fs"),
    ("check-fs", r"^/repo/(%s)/check-fs/?$" % UUID, "check_fs"),
    ("check-blocks", r"^/repo/(%s)/check-blocks/?$" % UUID, "check_blocks"),
    ("recv-fs", r"^/repo/(%s)/recv-fs/?$" % UUID, "recv_fs"),
    ("block", r"^/repo/(%s)/block/(%s)/?$" % (UUID, OBJ), {"GET": "get_block", "PUT": "put_block"}),
    ("block-map", r"^/repo/(%s)/block-map/(%s)/?$" % (UUID, OBJ), "block_map"),
    ("jwt-token", r"^/repo/(%s)/jwt-token/?$" % UUID, "jwt_token"),
    ("accessible-repos", r"^/accessible-repos/?$", "accessible_repos"),
    ("files", r"^/files/([^/]+)/[^/]+$", {"GET": "web_file"}),
]
_COMPILED = [(name, re.compile(regex), target) for name, regex, target in ROUTES]


def reply(status, body=b""):
    """A file-server reply: libevhtp labels every non-empty body `Content-Type: text/plain`."""
    return Response(status, body, "text/plain" if body else None)


def match_route(path):
    """(route name, regex match, handler target) for a file-server path, or (None, None, None)."""
    for name, regex, target in _COMPILED:
        m = regex.match(path)
        if m:
            return name, m, target
    return None, None, None


def parse_id_array(body):
    """The JSON array in a request body; None when the body is empty or not a JSON array or
    object. An object counts as an empty array, as jansson's json_array_size() makes it."""
    if not body:
        return None
    try:
        value = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if isinstance(value, dict):
        return []
    return value if isinstance(value, list) else None


def repo_token_of(request):
    """Seafile-Repo-Token wins; otherwise the part of Authorization after its first space."""
    token = request.header("Seafile-Repo-Token")
    if token is not None:
        return token
    auth = request.header("Authorization")
    if auth is None or " " not in auth:
        return None
    return auth.split(" ", 1)[1]


class FileServer:
    def __init__(self, state, storage, catalog):
        self.state = state
        self.storage = storage
        self.catalog = catalog

    @staticmethod
    def route_name(request):
        name, _m, _t = match_route(request.path)
        return name or "unknown"

    def handle(self, request):
        name, m, target = match_route(request.path)
        if name is None:
            return reply(404)
        if isinstance(target, dict):
            target = target.get(request.method)
            if target is None:
                return Response.no_answer()
        return getattr(self, target)(request, *m.groups())

    # --- authentication and permission ----------------------------------------------------

    def authorize(self, request, repo_id, op=None):
        """(email, None) when the sync token is valid for repo_id (and allows `op`), else
        (None, error response): 400 without a usable token, 403 otherwise."""
        token = repo_token_of(request)
        if token is None:
            return None, reply(400)
        entry = self.state.repo_token(token)
        if entry is None or entry["repo_id"] != repo_id:
            return None, reply(403)
        email = entry["email"]
        if op is not None and not self.allowed(repo_id, email, op):
            return None, reply(403)
        return email, None

    def allowed(self, repo_id, email, op):
        perm = self.state.permission(repo_id, email)
        if op == "download":
            return perm in ("r", "rw")
        lib = self.state.library(repo_id)
        return perm == "rw" and lib is not None and lib["status"] == "normal"

    # --- endpoints --------------------------------------------------------------------------

    def protocol_version(self, request):
        return reply(200, b'{"version": 2}')

    def permission_check(self, request, repo_id):
        q = request.query
        op = q.get("op")
        if op not in ("upload", "download"):
            return reply(400)
        client_id = q.get("client_id")
        if client_id is not None and len(client_id) != 40:
            return reply(400)
        client_ver = q.get("client_ver")
        if client_ver is not None and not _CLIENT_VER_RE.match(client_ver):
            return reply(400)
        lib = self.state.library(repo_id)
        if lib is None:
            return reply(444)
        if lib["status"] == "corrupted":
            return reply(445)
        _email, error = self.authorize(request, repo_id, op)
        if error:
            return error
        if client_id is not None and q.get("client_name") is not None:
            self.state.set_token_peer(repo_token_of(request), client_id)
        return reply(200)

    def quota_check(self, request, repo_id):
        _email, error = self.authorize(request, repo_id)
        if error:
            return error
        try:
            delta = int(request.query.get("delta", ""))
        except ValueError:
            return reply(400, b"Invalid delta parameter.\n")
        lib = self.state.library(repo_id)
        if lib is None:
            return reply(403)
        if self.catalog.over_quota(lib["owner"], delta):
            return reply(443)
        return reply(200)

    def head_commits_multi(self, request):
        ids = parse_id_array(request.body)
        if not ids or not all(is_repo_id(i) for i in ids):
            return reply(400)
        heads = {}
        for repo_id in ids:
            lib = self.state.library(repo_id)
            if lib is not None and lib["head"]:
                heads[repo_id] = lib["head"]
        return reply(200, json.dumps(heads, sort_keys=True, separators=(",", ":")).encode())

    def get_head(self, request, repo_id):
        lib = self.state.library(repo_id)
        if lib is None:
            return reply(444)
        _email, error = self.authorize(request, repo_id)
        if error:
            return error
        if not lib["head"]:
            return reply(444)
        body = '{"is_corrupted": 0, "head_commit_id": "%s"}' % lib["head"]
        return reply(200, body.encode())

    def put_head(self, request, repo_id):
        new_head = request.query.get("head")
        if not is_object_id(new_head):
            return reply(400)
        _email, error = self.authorize(request, repo_id, "upload")
        if error:
            return error
        status, body = update_branch(self.catalog, repo_id, new_head)
        return reply(status, body)

    def get_commit(self, request, repo_id, commit_id):
        _email, error = self.authorize(request, repo_id, "download")
        if error:
            return error
        raw = self.storage.read("commits", repo_id, commit_id)
        if raw is None:
            return reply(404)
        return reply(200, raw)

    def put_commit(self, request, repo_id, commit_id):
        _email, error = self.authorize(request, repo_id, "upload")
        if error:
            return error
        if not request.body:
            return reply(400)
        try:
            commit = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return reply(400)
        if not commit_is_valid(commit, repo_id):
            return reply(400)
        self.storage.add_commit(repo_id, commit_id, request.body)
        return reply(200)

    def get_fs_id_list(self, request, repo_id):
        _email, error = self.authorize(request, repo_id, "download")
        if error:
            return error
        q = request.query
        server_head = q.get("server-head")
        if not is_object_id(server_head):
            return reply(400, b"Invalid server-head parameter.\n")
        client_head = q.get("client-head")
        if client_head is not None and not is_object_id(client_head):
            return reply(400, b"Invalid client-head parameter.\n")
        server_commit = self.storage.read_commit(repo_id, server_head)
        client_commit = self.storage.read_commit(repo_id, client_head) if client_head else None
        if server_commit is None or (client_head and client_commit is None):
            return reply(500)
        client_root = client_commit["root_id"] if client_commit else EMPTY_SHA1
        try:
            ids = fs_id_list(self.storage, repo_id, server_commit["root_id"], client_root,
                             bool(q.get("dir-only")))
        except MissingObject:
            return reply(500)
        return reply(200, compact_json(ids))

    def pack_fs(self, request, repo_id):
        _email, error = self.authorize(request, repo_id, "download")
        if error:
            return error
        ids = parse_id_array(request.body)
        if ids is None:
            return reply(400)
        packed = bytearray()  # an error answer still carries what was packed before it
        total = 0
        for obj_id in ids:
            if not is_object_id(obj_id):
                return reply(400, bytes(packed))
            data = self.storage.read("fs", repo_id, obj_id)
            if data is None:
                return reply(500, bytes(packed))
            packed += encode_record(obj_id, data)
            total += len(data)
            if total >= MAX_OBJECT_PACK_SIZE:
                break
        return reply(200, bytes(packed))

    def _missing(self, request, repo_id, kind):
        _email, error = self.authorize(request, repo_id, "download")
        if error:
            return error
        ids = parse_id_array(request.body)
        if ids is None:
            return reply(400)
        needed = [i for i in ids if is_object_id(i) and not self._has(kind, repo_id, i)]
        return reply(200, compact_json(needed))

    def _has(self, kind, repo_id, obj_id):
        """Whether the store has the object; the empty file/directory id always counts as an fs
        object (seaf_fs_manager_object_exists), but not as a block."""
        return (kind == "fs" and obj_id == EMPTY_SHA1) or self.storage.exists(kind, repo_id, obj_id)

    def check_fs(self, request, repo_id):
        return self._missing(request, repo_id, "fs")

    def check_blocks(self, request, repo_id):
        return self._missing(request, repo_id, "blocks")

    def recv_fs(self, request, repo_id):
        """post_recv_fs_cb: every record is stored as sent, in order, until one is bad: a short
        header or a bad id gives 400, an empty record 500 (g_new0 of 0 bytes is NULL); a record
        running past the end of the body is stored padded with NUL bytes to its announced length
        and the request then gets no answer at all."""
        _email, error = self.authorize(request, repo_id, "upload")
        if error:
            return error
        if len(request.body) < PACK_HEADER:
            return reply(400)
        for obj_id, length, data in split_records(request.body):
            if obj_id is None or not is_object_id(obj_id):
                return reply(400)
            if length == 0:
                return reply(500)
            if len(data) < length:
                if length <= MAX_PADDED_RECORD:
                    self.storage.write("fs", repo_id, obj_id, data + bytes(length - len(data)))
                return Response.no_answer(hang=True)
            self.storage.write("fs", repo_id, obj_id, data)
        return reply(200)

    def get_block(self, request, repo_id, block_id):
        _email, error = self.authorize(request, repo_id, "download")
        if error:
            return error
        data = self.storage.read("blocks", repo_id, block_id)
        if not data:
            return reply(500)
        response = reply(200, data)
        response.block_id = block_id
        return response

    def put_block(self, request, repo_id, block_id):
        _email, error = self.authorize(request, repo_id, "upload")
        if error:
            return error
        if not request.body:
            return reply(400)
        self.storage.write("blocks", repo_id, block_id, request.body)
        return reply(200)

    def block_map(self, request, repo_id, file_id):
        _email, error = self.authorize(request, repo_id, "download")
        if error:
            return error
        obj = self.storage.read_fs_json(repo_id, file_id)
        if obj is None or file_id == EMPTY_SHA1 or not isinstance(obj.get("block_ids"), list):
            return reply(404)
        sizes = []
        for block_id in obj["block_ids"]:
            size = self.storage.size("blocks", repo_id, block_id)
            if size is None:
                return reply(500)
            sizes.append(size)
        return reply(200, compact_json(sizes))

    def jwt_token(self, request, repo_id):
        _email, error = self.authorize(request, repo_id)
        if error:
            return error
        return reply(404)  # no notification server is configured, as in the capture

    def web_file(self, request, token):
        return serve_file(self.state, self.catalog, request, token)

    def accessible_repos(self, request):
        repo_id = request.query.get("repo_id")
        if not is_repo_id(repo_id):
            return reply(400)
        email, error = self.authorize(request, repo_id)
        if error:
            return error
        entries = []
        for info, kind, perm in self.catalog.accessible(email):
            entry = {"version": info["version"], "id": info["id"], "head_commit_id": info["head"],
                     "name": info["name"], "mtime": info["mtime"], "permission": perm}
            if kind == "repo":
                entry.update(type=kind, owner=info["owner"])
            else:
                entry.update(owner=info["owner"], type=kind)
            entries.append(entry)
        return reply(200, compact_json(entries))
