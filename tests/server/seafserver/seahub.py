"""The Seahub REST API subset a sync client needs (/api2/..., library deletion also under
/api/v2.1/), shaped like the captured responses (vectors/real-server/http/shim-*.http) and
protocol doc §2."""
import email
import email.policy
import json
import re
from email.utils import formatdate
from urllib.parse import parse_qs

from .libraries import LibraryError, create_library, delete_library, rename_library
from .messages import Response
from .webaccess import mint_download_url

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
RELAY_ID = "44e8f253849ad910dc142247227c8ece8ec0f971"
SERVER_VERSION = "11.0.0"

# (route name, path regex, {method: handler name}, needs an API token)
ROUTES = [
    ("ping", r"^/api2/ping/$", {"GET": "ping"}, False),
    ("auth-ping", r"^/api2/auth/ping/$", {"GET": "ping"}, True),
    ("auth-token", r"^/api2/auth-token/$", {"POST": "auth_token"}, False),
    ("server-info", r"^/api2/server-info/$", {"GET": "server_info"}, False),
    ("account-info", r"^/api2/account/info/$", {"GET": "account_info"}, True),
    ("repos", r"^/api2/repos/$", {"GET": "repos", "POST": "create_repo"}, True),
    ("repo", r"^/api2/repos/(%s)/$" % UUID, {"GET": "repo", "POST": "repo_op", "DELETE": "delete_repo"},
     True),
    ("repo-v2.1", r"^/api/v2\.1/repos/(%s)/$" % UUID, {"DELETE": "delete_repo_v21"}, True),
    ("download-info", r"^/api2/repos/(%s)/download-info/$" % UUID, {"GET": "download_info"}, True),
    ("file", r"^/api2/repos/(%s)/file/$" % UUID, {"GET": "file_link"}, True),
]
_COMPILED = [(n, re.compile(r), m, a) for n, r, m, a in ROUTES]


def json_response(status, value, headers=None):
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    extra = [("Date", formatdate(usegmt=True))] + list(headers or [])
    return Response(status, body, "application/json; charset=utf-8", extra)


def unauthorized(detail):
    return json_response(401, {"detail": detail}, [("WWW-Authenticate", "Token")])


def filesizeformat(size):
    """Seahub's human readable size (decimal units): '114 bytes', '4.1 MB'."""
    if size < 1000:
        return "%d bytes" % size
    value = float(size)
    for unit in ("KB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 1000 or unit == "PB":
            return "%.1f %s" % (value, unit)
    raise AssertionError("unreachable")


def _multipart_fields(content_type, body):
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + body,
                                       policy=email.policy.HTTP)
    fields = {}
    for part in message.iter_parts() if message.is_multipart() else []:
        name = part.get_param("name", header="content-disposition")
        if name and name not in fields:
            fields[name] = part.get_payload(decode=True).decode("utf-8", "replace")
    return fields


def parse_form(request):
    """Fields of a form-urlencoded, multipart or JSON request body (first value of each field)."""
    content_type = request.header("Content-Type") or ""
    if content_type.startswith("multipart/form-data"):
        return _multipart_fields(content_type, request.body)
    body = request.body.decode("utf-8", "replace")
    if "json" in content_type:
        try:
            value = json.loads(body)
        except ValueError:
            return {}
        return {k: str(v) for k, v in value.items()} if isinstance(value, dict) else {}
    return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}


PWD_HASH_FIELDS = ("pwd_hash", "pwd_hash_algo", "pwd_hash_params")


def pwd_hash_fields(info):
    """pwd_hash, pwd_hash_algo, pwd_hash_params of a library created with password hashing
    (whose magic is then ""); {} for the others, whose answers match the captured ones."""
    if not info.get("pwd_hash"):
        return {}
    return {key: info.get(key, "") for key in PWD_HASH_FIELDS}


class Seahub:
    def __init__(self, state, catalog):
        self.state = state
        self.catalog = catalog

    @staticmethod
    def route_name(request):
        for name, regex, _methods, _auth in _COMPILED:
            if regex.match(request.path):
                return name
        return "unknown"

    def handle(self, request):
        for _name, regex, methods, needs_auth in _COMPILED:
            m = regex.match(request.path)
            if not m:
                continue
            handler = methods.get(request.method)
            if handler is None:
                return json_response(405, {"detail": 'Method "%s" not allowed.' % request.method})
            args = m.groups()
            if needs_auth:
                email, error = self.authenticate(request)
                if error:
                    return error
                args = (email,) + args
            return getattr(self, handler)(request, *args)
        return json_response(404, {"detail": "Not found."})

    def authenticate(self, request):
        auth = request.header("Authorization")
        if not auth:
            return None, unauthorized("Authentication credentials were not provided.")
        parts = auth.split()
        if len(parts) != 2 or parts[0].lower() != "token":
            return None, unauthorized("Invalid token header. No credentials provided.")
        email = self.state.email_for_api_token(parts[1])
        if email is None or self.state.account(email) is None:
            return None, unauthorized("Invalid token")
        return email, None

    # --- endpoints ----------------------------------------------------------------------

    def ping(self, request, *_email):
        return json_response(200, "pong")

    def auth_token(self, request):
        form = parse_form(request)
        missing = {k: ["This field is required."] for k in ("username", "password") if not form.get(k)}
        if missing:
            return json_response(400, missing)
        device = [form.get(k) for k in ("platform", "device_id", "device_name")]
        if any(device) and not all(device):
            return json_response(400, {"non_field_errors": ["invalid params"]})
        account = self.state.account(form["username"])
        if account is None or account["password"] != form["password"]:
            return json_response(400, {"non_field_errors": ["Unable to login with provided credentials."]})
        return json_response(200, {"token": self.state.api_token_for(form["username"])})

    def server_info(self, request):
        return json_response(200, {"version": SERVER_VERSION, "encrypted_library_version": 2,
                                   "features": ["seafile-basic"]})

    def account_info(self, request, email):
        account = self.state.account(email)
        total = int(account["quota"])
        usage = self.catalog.usage(email)
        space = "%.4f%%" % (usage * 100.0 / total) if total > 0 else "0%"
        return json_response(200, {
            "space_usage": space, "avatar_url": "", "email": email, "name": account["name"],
            "total": total, "usage": usage, "login_id": "", "department": "",
            "contact_email": email, "institution": "", "is_staff": bool(account["is_staff"]),
            "enable_subscription": False, "file_updates_email_interval": 0,
            "collaborate_email_interval": 0})

    def _display_name(self, email):
        account = self.state.account(email) or {}
        return account.get("name") or email.split("@")[0]

    def _list_entry(self, info, kind, perm):
        owner = info["owner"]
        entry = {
            "type": kind, "id": info["id"], "owner": owner, "owner_name": self._display_name(owner),
            "owner_contact_email": owner, "name": info["name"], "desc": info["desc"],
            "mtime": info["mtime"], "mtime_relative": "", "modifier_email": info["modifier"],
            "modifier_contact_email": info["modifier"],
            "modifier_name": self._display_name(info["modifier"]), "size": info["size"],
            "size_formatted": filesizeformat(info["size"]), "encrypted": bool(info["encrypted"]),
            "permission": perm, "virtual": False, "root": "", "head_commit_id": info["head"],
            "head_cmmt_id": info["head"], "version": info["version"],
            "salt": info["salt"] if info["enc_version"] >= 3 else ""}
        if info["encrypted"]:
            entry.update(enc_version=info["enc_version"], magic=info["magic"],
                         random_key=info["random_key"], **pwd_hash_fields(info))
        if kind == "srepo":
            entry.update(owner_nickname=self._display_name(owner), share_type="personal",
                         group_name="", is_admin=False)
        return entry

    def repos(self, request, email):
        types = set((request.query.get("type") or "mine,shared,group,org").split(","))
        wanted = {"repo": "mine" in types, "srepo": "shared" in types}
        needle = (request.query.get("nameContains") or "").lower()
        entries = [self._list_entry(info, kind, perm)
                   for info, kind, perm in self.catalog.accessible(email)
                   if wanted[kind] and needle in info["name"].lower()]
        return json_response(200, entries, [("enable_encrypted_library", "True")])

    def create_repo(self, request, email):
        try:
            repo_id = create_library(self.state, self.catalog.storage, email, parse_form(request))
        except LibraryError as exc:
            return json_response(exc.status, {"error_msg": exc.message})
        return self.download_info(request, email, repo_id)

    def repo_op(self, request, email, repo_id):
        """POST /api2/repos/<id>/?op=rename (form repo_name[, repo_desc])."""
        info, _perm, error = self._visible(repo_id, email)
        if error:
            return error
        if request.query.get("op", "setpassword") != "rename":
            return json_response(400, {"error_msg": "op can only be rename here."})
        form = parse_form(request)
        try:
            rename_library(self.catalog, repo_id, email, form.get("repo_name", ""), form.get("repo_desc"))
        except LibraryError as exc:
            return json_response(exc.status, {"error_msg": exc.message})
        return json_response(200, "success")

    def _delete(self, repo_id, email):
        if self.state.library(repo_id) is None:
            return json_response(404, {"error_msg": "Library %s not found." % repo_id})
        try:
            delete_library(self.state, repo_id, email)
        except LibraryError as exc:
            return json_response(exc.status, {"error_msg": exc.message})
        return None

    def delete_repo(self, request, email, repo_id):
        return self._delete(repo_id, email) or json_response(200, "success")

    def delete_repo_v21(self, request, email, repo_id):
        return self._delete(repo_id, email) or json_response(200, {"success": True})

    def _visible(self, repo_id, email):
        """(library info, permission, None) or (None, None, error response)."""
        info = self.catalog.info(repo_id)
        if info is None:
            return None, None, json_response(404, {"error_msg": "Library not found."})
        perm = self.state.permission(repo_id, email)
        if perm is None:
            return None, None, json_response(403, {"error_msg": "Permission denied."})
        return info, perm, None

    def repo(self, request, email, repo_id):
        info, perm, error = self._visible(repo_id, email)
        if error:
            return error
        entry = {
            "type": "repo", "id": repo_id, "owner": "self" if info["owner"] == email else "share",
            "name": info["name"], "desc": info["desc"], "mtime": info["mtime"],
            "size": info["size"], "encrypted": bool(info["encrypted"]), "root": info["root_id"],
            "permission": perm, "modifier_email": info["modifier"],
            "modifier_contact_email": info["modifier"],
            "modifier_name": self._display_name(info["modifier"]),
            "file_count": info["file_count"], "head_commit_id": info["head"]}
        if info["encrypted"]:
            entry.update(enc_version=info["enc_version"], salt=info["salt"], magic=info["magic"],
                         random_key=info["random_key"], **pwd_hash_fields(info))
        return json_response(200, entry)

    def download_info(self, request, email, repo_id):
        info = self.catalog.info(repo_id)
        if info is None:
            return json_response(404, {"error_msg": "Library %s not found." % repo_id})
        perm = self.state.permission(repo_id, email)
        if perm is None:
            return json_response(403, {"error_msg": "You do not have permission to access this library."})
        token = self.state.mint_repo_token(repo_id, email)
        encrypted = bool(info["encrypted"])
        return json_response(200, {
            "relay_id": RELAY_ID, "relay_addr": "127.0.0.1", "relay_port": "80", "email": email,
            "token": token, "repo_id": repo_id, "repo_name": info["name"],
            "repo_desc": info["desc"], "repo_size": info["size"],
            "repo_size_formatted": filesizeformat(info["size"]), "mtime": info["mtime"],
            "mtime_relative": "", "encrypted": 1 if encrypted else "",
            "enc_version": info["enc_version"], "salt": info["salt"] if encrypted else "",
            "magic": info["magic"] if encrypted else "",
            "random_key": info["random_key"] if encrypted else "", "repo_version": info["version"],
            "head_commit_id": info["head"], "permission": perm, **pwd_hash_fields(info)})

    def file_link(self, request, email, repo_id):
        status, value, headers = mint_download_url(self.state, self.catalog, request, email, repo_id)
        return json_response(status, value, headers)
