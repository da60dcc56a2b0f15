"""Web file access, the non-sync read path: Seahub's GET /api2/repos/<id>/file/?p=<path> hands out
a download URL carrying an access token (one-time unless reuse=1), and the file server's
GET /files/<token>/<name> serves that file like seaf-server's access-file.c: ETag = file id,
`Range: bytes=a-b` answered with 206 + Content-Range, unknown/used token 403."""
import re
import time
import uuid
from email.utils import formatdate
from urllib.parse import quote

from .messages import Response
from .objects import EMPTY_SHA1
from .trees import MissingObject, is_file, load_dir

_RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")


def resolve_path(storage, repo_id, root_id, path):
    """The dirent at an absolute library path ('/a/b.txt'), or None."""
    names = [n for n in path.split("/") if n]
    if not names:
        return None
    dir_id = root_id
    for depth, name in enumerate(names):
        try:
            entries = load_dir(storage, repo_id, dir_id)
        except MissingObject:
            return None
        match = next((d for d in entries if d["name"] == name), None)
        if match is None or depth == len(names) - 1:
            return match
        dir_id = match["id"]
    return None


def mint_download_url(state, catalog, request, email, repo_id):
    """(status, JSON value) of GET /api2/repos/<id>/file/?p=<path>[&reuse=1]."""
    path = request.query.get("p")
    if not path:
        return 400, {"error_msg": "Path is missing."}
    info = catalog.info(repo_id)
    if info is None:
        return 404, {"error_msg": "Library not found."}
    if state.permission(repo_id, email) is None:
        return 403, {"error_msg": "Permission denied."}
    if info["encrypted"]:
        return 440, {"error_msg": "Library password is needed."}
    dirent = resolve_path(catalog.storage, repo_id, info["root_id"], path)
    if not is_file(dirent):
        return 404, {"error_msg": "File not found"}
    token = str(uuid.uuid4())
    state.set_web_token(token, {"repo_id": repo_id, "file_id": dirent["id"], "name": dirent["name"],
                                "email": email, "one_time": request.query.get("reuse") != "1"})
    host = request.header("Host") or "127.0.0.1"
    return 200, "http://%s/seafhttp/files/%s/%s" % (host, token, quote(dirent["name"]))


def parse_range(header, size):
    """(start, end) inclusive for a single `bytes=` range; None to ignore; ValueError if
    unsatisfiable."""
    m = _RANGE_RE.match((header or "").strip())
    if not m:
        return None
    first, last = m.groups()
    if not first and not last:
        raise ValueError("empty range")
    if not first:
        start, end = max(0, size - int(last)), size - 1
    else:
        start = int(first)
        end = min(int(last), size - 1) if last else size - 1
    if start > end or start >= size:
        raise ValueError("unsatisfiable range")
    return start, end


def read_range(storage, repo_id, block_ids, start, end):
    """Bytes [start, end] of the file made of block_ids (reads only the blocks needed)."""
    parts = []
    offset = 0
    for block_id in block_ids:
        size = storage.size("blocks", repo_id, block_id)
        if size is None:
            raise MissingObject(block_id)
        if offset + size > start and offset <= end:
            data = storage.read("blocks", repo_id, block_id)
            parts.append(data[max(0, start - offset):end - offset + 1])
        offset += size
        if offset > end:
            break
    return b"".join(parts)


def serve_file(state, storage, request, token):
    """GET /files/<token>/<name>."""
    entry = state.use_web_token(token)
    if entry is None:
        return Response(403, b"Access token not found\n", "text/plain")
    repo_id, file_id, name = entry["repo_id"], entry["file_id"], entry["name"]
    obj = {"block_ids": [], "size": 0} if file_id == EMPTY_SHA1 else storage.read_fs_json(repo_id, file_id)
    if obj is None:
        return Response(404)
    size = int(obj["size"])
    headers = [("ETag", file_id), ("Last-Modified", formatdate(time.time(), usegmt=True)),
               ("Cache-Control", "max-age=3600"), ("Access-Control-Allow-Origin", "*"),
               ("Content-Disposition", "attachment;filename*=utf-8''%s;filename=\"%s\"" % (quote(name), name)),
               ("X-Content-Type-Options", "nosniff")]
    try:
        wanted = parse_range(request.header("Range"), size)
    except ValueError:
        return Response(416, b"", None, [("Content-Range", "bytes */%d" % size)])
    start, end = wanted if wanted else (0, size - 1)
    try:
        body = read_range(storage, repo_id, obj["block_ids"], start, end) if size else b""
    except MissingObject:
        return Response(500)
    if wanted is None:
        return Response(200, body, "application/octet-stream", headers)
    headers.append(("Content-Range", "bytes %d-%d/%d" % (start, end, size)))
    return Response(206, body, "application/octet-stream", headers)
