"""Seafile objects of repo version 1: commits and fs objects (files, directories).

Parses them and serializes them back to exactly the bytes the official C code (jansson) writes,
and computes their ids: fs object id = SHA-1 of the uncompressed JSON, commit id = SHA-1 over
root_id, creator, creator_name, description (each NUL-terminated) and ctime (protocol doc §4).
"""

import hashlib
import json
import re
import struct
import zlib

EMPTY_SHA1 = "0" * 40

MODE_FILE = 0o100644  # 33188
MODE_EXECUTABLE = 0o100755  # 33261
MODE_DIR = 0o040000  # 16384
FILE_MODES = (MODE_FILE, MODE_EXECUTABLE)

TYPE_FILE = 1
TYPE_DIR = 3
FS_VERSION = 1
ZLIB_LEVEL = 6

_ID_RE = re.compile(r"[0-9a-f]{40}\Z")
_REPO_ID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")


class ObjectFormatError(ValueError):
    """An object's bytes or fields do not follow the Seafile format."""


def is_object_id(value):
    """True when value is a 40-digit lowercase hex id."""
    return isinstance(value, str) and _ID_RE.match(value) is not None


def _is_int(value):
    """True for a JSON integer (Python bool is an int subclass but a JSON true/false)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_repo_id(value):
    """True when value is a lowercase UUID, the form of Seafile repo ids."""
    return isinstance(value, str) and _REPO_ID_RE.match(value) is not None


# --- jansson-compatible JSON output -----------------------------------------------------------
#
# jansson and Python's json module (ensure_ascii=False) agree on everything these objects use
# (raw UTF-8, `"` `\` \b \f \n \r \t escapes, "/" and DEL raw) except one detail: jansson writes
# other control characters as \u00XX with UPPERCASE hex, Python with lowercase. Every backslash
# in JSON output starts an escape, so scanning escapes left to right fixes exactly those.

_CONTROL_ESCAPE = re.compile(r"\\(\\|u00[0-9a-f]{2})")


def _uppercase_control_escape(match):
    escape = match.group(1)
    return "\\\\" if escape == "\\" else "\\u" + escape[1:].upper()


def json_text(value, sort_keys):
    """Serializes value like jansson json_dumps with flags 0 (sort_keys False: insertion order)
    or JSON_SORT_KEYS (keys in byte order): separators ", " and ": ", no newline."""
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, allow_nan=False,
                          separators=(", ", ": "))
        text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ObjectFormatError(f"cannot serialize a Seafile object: {exc}") from exc
    return _CONTROL_ESCAPE.sub(_uppercase_control_escape, text) if "\\u" in text else text


def json_string(text):
    """A JSON string literal as jansson writes it."""
    if not isinstance(text, str):
        raise ObjectFormatError(f"not a string: {text!r}")
    return json_text(text, sort_keys=False)


def _reject_constant(name):
    raise ObjectFormatError(f"JSON constant {name} is not allowed")


def _reject_float(text):
    raise ObjectFormatError(f"JSON number {text} is not an integer")


def parse_json_object(data, what):
    """Parses bytes holding one JSON object, keeping key order; ObjectFormatError if invalid."""
    try:
        text = data.decode("utf-8")
        value = json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_reject_constant,
                           parse_float=_reject_float)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ObjectFormatError(f"{what}: not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ObjectFormatError(f"{what}: JSON is not an object")
    return value


def _unique_keys(pairs):
    result = {}
    for key, value in pairs:
        if key in result:
            raise ObjectFormatError(f"duplicate JSON key {key!r}")
        result[key] = value
    return result


def _require(obj, key, kind, what):
    """obj[key] checked to be of kind ('str', 'int', 'id', 'str?' = string or null)."""
    if key not in obj:
        raise ObjectFormatError(f"{what}: missing key {key!r}")
    value = obj[key]
    ok = {
        "str": isinstance(value, str),
        "str?": value is None or isinstance(value, str),
        "int": _is_int(value),
        "id": is_object_id(value),
        "id?": value is None or is_object_id(value),
    }[kind]
    if not ok:
        raise ObjectFormatError(f"{what}: key {key!r} has a bad value {value!r}")
    return value


def _check_keys(obj, allowed, what):
    unknown = set(obj) - set(allowed)
    if unknown:
        raise ObjectFormatError(f"{what}: unexpected keys {sorted(unknown)}")


# --- fs objects --------------------------------------------------------------------------------


def sha1_hex(data):
    return hashlib.sha1(data).hexdigest()


def compress(json_bytes):
    """The stored/transferred form of an fs object: a zlib stream (level 6, as the C code)."""
    return zlib.compress(json_bytes, ZLIB_LEVEL)


def decompress(stored):
    try:
        return zlib.decompress(stored)
    except zlib.error as exc:
        raise ObjectFormatError(f"fs object is not a zlib stream: {exc}") from exc


class SeafFile:
    """A file object: the ordered block ids and the (plaintext) size of the file."""

    def __init__(self, block_ids, size):
        if not all(is_object_id(b) for b in block_ids):
            raise ObjectFormatError("file object: bad block id")
        if not _is_int(size) or size < 0:
            raise ObjectFormatError(f"file object: bad size {size!r}")
        self.block_ids = list(block_ids)
        self.size = size

    def to_json(self):
        obj = {"block_ids": self.block_ids, "size": self.size, "type": TYPE_FILE,
               "version": FS_VERSION}
        return json_text(obj, sort_keys=True).encode("utf-8")

    @property
    def is_empty(self):
        """A 0-byte file: its id is EMPTY_SHA1 and it has no stored object."""
        return self.size == 0 and not self.block_ids

    @property
    def id(self):
        return EMPTY_SHA1 if self.is_empty else sha1_hex(self.to_json())

    @classmethod
    def from_dict(cls, obj):
        _check_keys(obj, ("block_ids", "size", "type", "version"), "file object")
        block_ids = obj.get("block_ids")
        if not isinstance(block_ids, list):
            raise ObjectFormatError("file object: block_ids is not a list")
        return cls(block_ids, _require(obj, "size", "int", "file object"))


class Dirent:
    """One directory entry. Files carry modifier and size; directories carry neither."""

    def __init__(self, name, id, mode, mtime, modifier=None, size=None):
        if not isinstance(name, str) or not name or "/" in name or "\0" in name:
            raise ObjectFormatError(f"dirent: bad name {name!r}")
        if not is_object_id(id):
            raise ObjectFormatError(f"dirent {name!r}: bad id {id!r}")
        if mode == MODE_DIR:
            if modifier is not None or size is not None:
                raise ObjectFormatError(f"dirent {name!r}: directory with modifier or size")
        elif mode in FILE_MODES:
            if not isinstance(modifier, str) or not _is_int(size) or size < 0:
                raise ObjectFormatError(f"dirent {name!r}: file needs modifier and size")
        else:
            raise ObjectFormatError(f"dirent {name!r}: unknown mode {mode!r}")
        if not _is_int(mtime):
            raise ObjectFormatError(f"dirent {name!r}: bad mtime {mtime!r}")
        self.name = name
        self.id = id
        self.mode = mode
        self.mtime = mtime
        self.modifier = modifier
        self.size = size

    @property
    def is_dir(self):
        return self.mode == MODE_DIR

    def to_dict(self):
        obj = {"id": self.id, "mode": self.mode, "mtime": self.mtime, "name": self.name}
        if not self.is_dir:
            obj["modifier"] = self.modifier
            obj["size"] = self.size
        return obj

    @classmethod
    def from_dict(cls, obj):
        if not isinstance(obj, dict):
            raise ObjectFormatError("dirent is not an object")
        what = f"dirent {obj.get('name')!r}"
        mode = _require(obj, "mode", "int", what)
        if mode == MODE_DIR:
            _check_keys(obj, ("id", "mode", "mtime", "name"), what)
            modifier = size = None
        else:
            _check_keys(obj, ("id", "mode", "mtime", "name", "modifier", "size"), what)
            modifier = _require(obj, "modifier", "str", what)
            size = _require(obj, "size", "int", what)
        return cls(_require(obj, "name", "str", what), _require(obj, "id", "id", what), mode,
                   _require(obj, "mtime", "int", what), modifier, size)


def dirent_sort_key(dirent):
    """Dirents are stored in DESCENDING strcmp order of their UTF-8 names; sort with reverse."""
    return dirent.name.encode("utf-8")


class SeafDir:
    """A directory object: its entries, kept in the canonical descending-name order."""

    def __init__(self, dirents):
        self.dirents = sorted(dirents, key=dirent_sort_key, reverse=True)
        names = [d.name for d in self.dirents]
        if len(set(names)) != len(names):
            raise ObjectFormatError("directory object: duplicate names")

    def to_json(self):
        obj = {"dirents": [d.to_dict() for d in self.dirents], "type": TYPE_DIR,
               "version": FS_VERSION}
        return json_text(obj, sort_keys=True).encode("utf-8")

    @property
    def is_empty(self):
        """An empty directory: its id is EMPTY_SHA1 and it has no stored object."""
        return not self.dirents

    @property
    def id(self):
        return EMPTY_SHA1 if self.is_empty else sha1_hex(self.to_json())

    @classmethod
    def from_dict(cls, obj):
        _check_keys(obj, ("dirents", "type", "version"), "directory object")
        dirents = obj.get("dirents")
        if not isinstance(dirents, list):
            raise ObjectFormatError("directory object: dirents is not a list")
        return cls([Dirent.from_dict(d) for d in dirents])


def parse_fs_json(json_bytes):
    """A SeafFile or SeafDir from the uncompressed JSON of a version-1 fs object."""
    obj = parse_json_object(json_bytes, "fs object")
    kind = _require(obj, "type", "int", "fs object")
    if _require(obj, "version", "int", "fs object") != FS_VERSION:
        raise ObjectFormatError(f"fs object: version {obj['version']} is not 1")
    if kind == TYPE_FILE:
        return SeafFile.from_dict(obj)
    if kind == TYPE_DIR:
        return SeafDir.from_dict(obj)
    raise ObjectFormatError(f"fs object: unknown type {kind}")


def parse_stored_fs_object(stored):
    """A SeafFile or SeafDir from the stored (zlib-compressed) bytes."""
    return parse_fs_json(decompress(stored))


# --- commits -----------------------------------------------------------------------------------

# Keys in the order the C code (commit_to_json_object) inserts them; json_dumps keeps that order.
COMMIT_KEYS = ("commit_id", "root_id", "repo_id", "creator_name", "creator", "description",
               "ctime", "parent_id", "second_parent_id", "repo_name", "repo_desc",
               "repo_category", "device_name", "client_version", "encrypted", "enc_version",
               "magic", "key", "salt", "pwd_hash", "pwd_hash_algo", "pwd_hash_params",
               "no_local_history", "version", "conflict", "new_merge", "repaired")
_OPTIONAL_STRINGS = ("device_name", "client_version", "magic", "key", "salt",
                     "pwd_hash", "pwd_hash_algo", "pwd_hash_params")
_FLAGS = ("no_local_history", "conflict", "new_merge", "repaired")


def _nul_terminated(text):
    """The bytes C hashes for a string: up to its first NUL, plus the NUL."""
    return text.encode("utf-8").split(b"\0", 1)[0] + b"\0"


def compute_commit_id(root_id, creator, creator_name, description, ctime):
    """Commit id as the C clients and C server compute it (with the NUL terminators)."""
    h = hashlib.sha1()
    h.update(_nul_terminated(root_id))
    h.update(_nul_terminated(creator))
    if creator_name is not None:
        h.update(_nul_terminated(creator_name))
    h.update(_nul_terminated(description))
    h.update(struct.pack(">q", ctime))
    return h.hexdigest()


class Commit:
    """A commit object. Attributes are named like the JSON keys; optional ones are None (strings)
    or 0 (flags) when absent. `encrypted` is a bool (JSON: the string "true" or no key)."""

    def __init__(self, root_id, repo_id, creator, description, ctime, parent_id=None,
                 repo_name="", repo_desc="", creator_name=None, commit_id=None, **fields):
        self.root_id = root_id
        self.repo_id = repo_id
        self.creator = creator
        self.description = description
        self.ctime = ctime
        self.parent_id = parent_id
        self.second_parent_id = fields.pop("second_parent_id", None)
        self.repo_name = repo_name
        self.repo_desc = repo_desc
        self.repo_category = fields.pop("repo_category", None)
        self.creator_name = creator_name
        self.encrypted = bool(fields.pop("encrypted", False))
        self.enc_version = fields.pop("enc_version", 0)
        self.version = fields.pop("version", 1)
        for key in _OPTIONAL_STRINGS:
            setattr(self, key, fields.pop(key, None))
        for key in _FLAGS:
            setattr(self, key, fields.pop(key, 0))
        if fields:
            raise ObjectFormatError(f"commit: unknown fields {sorted(fields)}")
        self.commit_id = commit_id or self.compute_id()
        self.validate()

    def compute_id(self):
        return compute_commit_id(self.root_id, self.creator, self.creator_name,
                                 self.description, self.ctime)

    def validate(self):
        checks = [
            (is_object_id(self.commit_id), "commit_id"),
            (is_object_id(self.root_id), "root_id"),
            (is_repo_id(self.repo_id), "repo_id"),
            (isinstance(self.creator, str) and len(self.creator) == 40, "creator"),
            (isinstance(self.description, str), "description"),
            (_is_int(self.ctime), "ctime"),
            (self.parent_id is None or is_object_id(self.parent_id), "parent_id"),
            (self.second_parent_id is None or is_object_id(self.second_parent_id),
             "second_parent_id"),
            (isinstance(self.repo_name, str) and isinstance(self.repo_desc, str), "repo_name"),
            (self.enc_version in (0, 1, 2, 3, 4), "enc_version"),
        ]
        for ok, key in checks:
            if not ok:
                raise ObjectFormatError(f"commit: bad {key}")

    def to_dict(self):
        """The JSON members in the C server's order; absent optional members are left out."""
        obj = {}
        for key in COMMIT_KEYS:
            value = getattr(self, key)
            if key in ("repo_category", "parent_id", "second_parent_id"):
                obj[key] = value  # always present, string or null
            elif key == "encrypted":
                if value:
                    obj[key] = "true"
            elif key == "enc_version":
                if self.encrypted:
                    obj[key] = value
            elif key == "version":
                if value != 0:
                    obj[key] = value
            elif key in _FLAGS:
                if value:
                    obj[key] = value
            elif value is not None:
                obj[key] = value
        return obj

    def to_json(self):
        """The exact stored bytes (uncompressed JSON, jansson json_dumps with flags 0)."""
        return json_text(self.to_dict(), sort_keys=False).encode("utf-8")

    @classmethod
    def from_json(cls, data):
        obj = parse_json_object(data, "commit")
        _check_keys(obj, COMMIT_KEYS, "commit")
        encrypted = obj.get("encrypted")
        if encrypted not in (None, "true", "false"):
            raise ObjectFormatError(f"commit: encrypted must be the string true, not {encrypted!r}")
        for key in ("creator_name",) + _OPTIONAL_STRINGS:
            if key in obj and not isinstance(obj[key], str):
                raise ObjectFormatError(f"commit: {key} is not a string")
        fields = {key: obj[key] for key in obj if key not in ("encrypted",)}
        fields["encrypted"] = encrypted == "true"
        for key in ("commit_id", "root_id", "repo_id", "creator", "description", "ctime"):
            if key not in fields:
                raise ObjectFormatError(f"commit: missing key {key!r}")
        for key in _FLAGS + ("enc_version", "version"):
            if key in fields and not _is_int(fields[key]):
                raise ObjectFormatError(f"commit: {key} is not an integer")
        fields.setdefault("version", 0)
        return cls(**fields)
