"""Web file access, the non-sync read path (protocol doc §2.9): Seahub's
GET /api2/repos/<id>/file/?p=<path>[&reuse=1] hands out a download URL carrying an access token
for the file id the path holds now (one-time unless reuse=1; both expire after an hour, like
seaf-server's web_token_expire_time), with that file id in an `oid` header (seahub
api2/views.py get_repo_file). The file server's GET /files/<token>/<name> serves that file id
like seaf-server's access-file.c (access_cb, do_file_range, parse_range_val): ETag = file id,
any Range header answered with 206 + Content-Range, or 416 + `Content-Range: bytes */size` when
it does not parse or is not satisfiable; an empty file is a 200 whatever the Range; unknown,
used or expired token 403; encrypted libraries 400, since this client never gives the server
a library password (with one, seaf-server would send the decrypted whole file, ignoring Range).
"""
import stat
import time
import uuid
from email.utils import formatdate
from urllib.parse import quote

from .messages import Response
from .objects import EMPTY_SHA1
from .trees import MissingObject, is_file, load_dir

TOKEN_LIFETIME_S = 3600  # seaf-server's default web_token_expire_time
REUSE_ERROR = ("If you want to reuse file server access token for download file, you should set "
               "'reuse' argument as '1'.")
ENCRYPTED_ERROR = b"Repo is encrypted. Please provide password to view it.\n"


def resolve_path(storage, repo_id, root_id, path):
    """The dirent at an absolute library path ('/a/b.txt'), or None; MissingObject when a
    directory object on the way is missing."""
    names = [n for n in path.split("/") if n]
    if not names:
        return None
    dir_id = root_id
    for depth, name in enumerate(names):
        entries = [] if dir_id == EMPTY_SHA1 else load_dir(storage, repo_id, dir_id)
        match = next((d for d in entries if d["name"] == name), None)
        if match is None or depth == len(names) - 1:
            return match
        if not stat.S_ISDIR(match["mode"]):
            return None
        dir_id = match["id"]
    return None


def mint_download_url(state, catalog, request, email, repo_id):
    """(status, JSON value, extra headers) of GET /api2/repos/<id>/file/?p=<path>[&reuse=1],
    checked in seahub's order: library, path, permission, file, reuse."""
    info = catalog.info(repo_id)
    if info is None:
        return 404, {"error_msg": "Library not found."}, []
    path = request.query.get("p")
    if not path:
        return 400, {"error_msg": "Path is missing."}, []
    if state.permission(repo_id, email) is None:
        return 403, {"error_msg": "You do not have permission to access this file."}, []
    try:
        dirent = resolve_path(catalog.storage, repo_id, info["root_id"], path)
    except MissingObject:  # seahub: a SearpcError from get_file_id_by_path
        return 520, {"error_msg": "Failed to get file id by path."}, []
    if not is_file(dirent):
        return 404, {"error_msg": "File not found"}, []
    reuse = request.query.get("reuse", "0")
    if reuse not in ("0", "1"):
        return 400, {"error_msg": REUSE_ERROR}, []
    token = str(uuid.uuid4())  # seaf-server's gen_new_token
    state.set_web_token(token, {"repo_id": repo_id, "file_id": dirent["id"], "name": dirent["name"],
                                "email": email, "one_time": reuse != "1",
                                "expires": int(time.time()) + TOKEN_LIFETIME_S})
    host = request.header("Host") or "127.0.0.1"
    # Seahub answers with its FILE_SERVER_ROOT: https behind a TLS front (nghttpx says so).
    scheme = "https" if request.header("X-Forwarded-Proto") == "https" else "http"
    url = "%s://%s/seafhttp/files/%s/%s" % (scheme, host, token, quote(dirent["name"]))
    return 200, url, [("oid", dirent["id"])]


def _number(text):
    """A non-negative decimal (strtoll's digits), or None."""
    return int(text) if text.isdigit() else None


def parse_range(header, size):
    """(start, end) inclusive of a Range header value as seaf-server's parse_range_val reads it:
    the text after the first '=' (any unit) as "-N" (the last N bytes, N > 0), "N-" or "N-M"
    (M capped at the last byte). ValueError when it does not parse or is not satisfiable."""
    _unit, equals, spec = (header or "").partition("=")
    first, minus, last = spec.partition("-")
    if not equals or not minus:
        raise ValueError("malformed range")
    if not first:
        count = _number(last)
        if not count or count > size:
            raise ValueError("bad suffix range")
        start, end = size - count, size - 1
    else:
        start = _number(first)
        end = size - 1 if last == "" else _number(last)
        if start is None or end is None:
            raise ValueError("malformed range")
        end = min(end, size - 1)
    if start > end:
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


def _error(status, text):
    return Response(status, text, "text/plain")


def serve_file(state, catalog, request, token):
    """GET /files/<token>/<name>."""
    entry = state.use_web_token(token, int(time.time()))
    if entry is None:
        return _error(403, b"Access token not found\n")
    repo_id, file_id, name = entry["repo_id"], entry["file_id"], entry["name"]
    if request.header("If-Modified-Since") is not None:
        return Response(304, b"", None, [("ETag", file_id)])
    headers = [("ETag", file_id), ("Last-Modified", formatdate(time.time(), usegmt=True)),
               ("Cache-Control", "max-age=3600"), ("Access-Control-Allow-Origin", "*"),
               ("Content-Disposition", "attachment;filename*=utf-8''%s;filename=\"%s\"" % (quote(name), name)),
               ("X-Content-Type-Options", "nosniff")]
    info = catalog.info(repo_id)
    if info is None:
        return _error(400, b"Bad repo id\n\n")
    if info["encrypted"]:
        return _error(400, ENCRYPTED_ERROR)
    storage = catalog.storage
    obj = {"block_ids": [], "size": 0} if file_id == EMPTY_SHA1 else storage.read_fs_json(repo_id, file_id)
    if obj is None:
        return _error(400, b"Invalid file id\n\n")
    size = int(obj["size"])
    ranged = request.header("Range") is not None and size > 0
    try:
        start, end = parse_range(request.header("Range"), size) if ranged else (0, size - 1)
    except ValueError:
        return Response(416, b"", None, [("Content-Range", "bytes */%d" % size)])
    try:
        body = read_range(storage, repo_id, obj["block_ids"], start, end) if size else b""
    except MissingObject:
        return Response(500)
    if not ranged:
        return Response(200, body, "application/octet-stream", headers)
    headers += [("Accept-Ranges", "bytes"), ("Content-Range", "bytes %d-%d/%d" % (start, end, size))]
    return Response(206, body, "application/octet-stream", headers)
