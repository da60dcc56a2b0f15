"""Library builder: turns a local directory into a Seafile library (repo version 1) inside a data
directory served by the reference server, and adds commits on top of a library's head to
simulate changes made by another client.

Blocks are cut with Seafile's content-defined chunking (cdc.py), so block ids match the official
clients, or in fixed-size blocks (block_size=N, as the server's web upload API does; small
values give multi-block files for tests); fs objects and commits are serialized by objects.py.
Only objects missing from storage are written. Given fixed repo ids, ctimes and mtimes,
rebuilding gives identical ids.

Encrypted libraries (password=...): every commit carries the library's encryption fields
(crypto.py) and every plaintext chunk is stored encrypted (block id = SHA-1 of the ciphertext,
sizes stay plaintext sizes), as a client of a real server stores them. The library secret and
salt are random unless a seed is given, which makes the whole library reproducible.

The head is moved in <data>/state.json. While a server is running on that data directory it
holds the state in memory: pass move_head=False and move the head through the server's control
API (POST /libraries/<repo_id> {"head": <commit id>}) instead.
"""

import hashlib
import os
import stat
import sys
import time
import uuid

from . import cdc, crypto
from .objects import (EMPTY_SHA1, MODE_DIR, MODE_EXECUTABLE, MODE_FILE, Commit, Dirent,
                      ObjectFormatError, SeafDir, SeafFile, compress, parse_stored_fs_object)
from .state import UNLIMITED_QUOTA, State
from .storage import Storage

# Device id the builder uses as `creator` of the commits it adds on top ("another client").
BUILDER_DEVICE_ID = hashlib.sha1(b"seafserver.builder").hexdigest()
BUILDER_DEVICE_NAME = "seafserver-builder"
_READ_SIZE = 1 << 20


class BuildError(Exception):
    """The source directory or the library cannot be turned into a commit."""


def run_command(prog, action):
    """Runs a command-line action: exit status 0, or 1 with the error on stderr when the build
    fails (BuildError, or an OSError such as a missing source directory)."""
    try:
        action()
    except (BuildError, OSError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    return 0


def storage_for(data_dir):
    return Storage(os.path.join(data_dir, "storage"))


class _TreeWriter:
    """Writes the blocks and fs objects of a directory tree into one library's storage.
    Files whose content is unchanged from `previous` ({path: Dirent} of the parent commit)
    keep their modifier, as with a real client."""

    def __init__(self, storage, repo_id, modifier, mtime, previous=None, file_key=None,
                 block_size=None):
        self.storage = storage
        self.repo_id = repo_id
        self.modifier = modifier
        self.fixed_mtime = mtime
        self.previous = previous or {}
        self.file_key = file_key  # crypto.FileKey of an encrypted library, else None
        self.block_size = block_size
        self.entries = {}  # library path -> Dirent of everything below the root

    def _store(self, kind, obj_id, data):
        if not self.storage.exists(kind, self.repo_id, obj_id):
            self.storage.write(kind, self.repo_id, obj_id, data)

    def _store_fs(self, fs_object):
        """Stores a SeafFile or SeafDir (serialized once) unless empty; returns its id."""
        if fs_object.is_empty:
            return EMPTY_SHA1
        json_bytes = fs_object.to_json()
        fs_id = hashlib.sha1(json_bytes).hexdigest()
        self._store("fs", fs_id, compress(json_bytes))
        return fs_id

    def _mtime(self, st):
        return self.fixed_mtime if self.fixed_mtime is not None else int(st.st_mtime)

    def _chunks(self, path):
        if self.block_size is None:
            return cdc.chunks(path)
        size = os.path.getsize(path)
        return [(offset, min(self.block_size, size - offset))
                for offset in range(0, size, self.block_size)]

    def write_file(self, path):
        """(file object id, plaintext size) of a local file, its blocks stored."""
        block_ids = []
        size = 0
        with open(path, "rb") as f:
            for offset, length in self._chunks(path):
                f.seek(offset)
                data = f.read(length)
                if len(data) != length:
                    raise BuildError(f"{path} changed while it was read")
                block = data if self.file_key is None else crypto.encrypt_block(self.file_key,
                                                                                 data)
                block_id = hashlib.sha1(block).hexdigest()
                self._store("blocks", block_id, block)
                block_ids.append(block_id)
                size += length
        return self._store_fs(SeafFile(block_ids, size)), size

    def write_dir(self, local_dir, library_path=""):
        """The directory object id of a local directory, everything below it stored."""
        dirents = []
        try:
            names = sorted(os.listdir(local_dir))
        except OSError as exc:
            raise BuildError(f"cannot list {local_dir}: {exc}") from exc
        for name in names:
            local = os.path.join(local_dir, name)
            child_path = f"{library_path}/{name}"
            try:
                name.encode("utf-8")
            except UnicodeEncodeError:
                raise BuildError(f"{local!r}: file name is not valid UTF-8") from None
            st = os.lstat(local)
            if stat.S_ISDIR(st.st_mode):
                dirent = Dirent(name, self.write_dir(local, child_path), MODE_DIR,
                                self._mtime(st))
            elif stat.S_ISREG(st.st_mode):
                file_id, size = self.write_file(local)
                mode = MODE_EXECUTABLE if st.st_mode & stat.S_IXUSR else MODE_FILE
                old = self.previous.get(child_path)
                unchanged = old is not None and (old.id, old.mode) == (file_id, mode)
                modifier = old.modifier if unchanged else self.modifier
                dirent = Dirent(name, file_id, mode, self._mtime(st), modifier, size)
            else:
                raise BuildError(f"{local}: only regular files and directories can be stored")
            self.entries[child_path] = dirent
            dirents.append(dirent)
        try:
            return self._store_fs(SeafDir(dirents))
        except ObjectFormatError as exc:
            raise BuildError(f"{local_dir}: {exc}") from exc


def tree_entries(storage, repo_id, root_id):
    """{path: Dirent} of everything in a stored tree (paths start with "/")."""
    entries = {}
    pending = [("", root_id)]
    while pending:
        path, dir_id = pending.pop()
        if dir_id == EMPTY_SHA1:
            continue
        stored = storage.read("fs", repo_id, dir_id)
        if stored is None:
            raise BuildError(f"library {repo_id}: directory object {dir_id} is missing")
        for dirent in parse_stored_fs_object(stored).dirents:
            child = f"{path}/{dirent.name}"
            entries[child] = dirent
            if dirent.is_dir:
                pending.append((child, dirent.id))
    return entries


def _summary(verb, paths, is_dir=False):
    """One line of a commit description: files by base name, directories by path."""
    if not paths:
        return ""
    first = min(paths)
    shown = first.lstrip("/") if is_dir else first.rsplit("/", 1)[1]
    label, plural = ("directory ", "directories") if is_dir else ("", "files")
    more = f" and {len(paths) - 1} more {plural}" if len(paths) > 1 else ""
    return f'{verb} {label}"{shown}"{more}.\n'


def describe_change(old_entries, new_entries):
    """A commit description in the style of the Seafile client ('Added "a.txt" and 2 more
    files.\\nDeleted "b.txt".\\n') from two {path: Dirent} trees, "" when nothing changed."""
    old_files = {p: d.id for p, d in old_entries.items() if not d.is_dir}
    new_files = {p: d.id for p, d in new_entries.items() if not d.is_dir}
    old_dirs = {p for p, d in old_entries.items() if d.is_dir}
    new_dirs = {p for p, d in new_entries.items() if d.is_dir}
    added = new_files.keys() - old_files.keys()
    deleted = old_files.keys() - new_files.keys()
    modified = {p for p in new_files.keys() & old_files.keys() if new_files[p] != old_files[p]}
    lines = [_summary("Added", added), _summary("Deleted", deleted),
             _summary("Modified", modified),
             _summary("Added", new_dirs - old_dirs, is_dir=True),
             _summary("Removed", old_dirs - new_dirs, is_dir=True)]
    return "".join(lines)


def _unique_commit(storage, **fields):
    """A Commit whose id is not taken yet in the library (ids ignore the parent, so an identical
    tree, description and time would repeat an older id): ctime moves on a second at a time."""
    while True:
        commit = Commit(**fields)
        if not storage.exists("commits", commit.repo_id, commit.commit_id):
            return commit
        fields["ctime"] += 1


def _store_commit(storage, commit):
    storage.write("commits", commit.repo_id, commit.commit_id, commit.to_json())
    return commit.commit_id


def add_account(data_dir, email, password, name=None, quota=UNLIMITED_QUOTA, is_staff=False):
    """Creates or updates a user account in state.json."""
    fields = {"password": password, "name": name or email.split("@")[0], "quota": quota,
              "is_staff": is_staff}
    State(data_dir).update_account(email, fields)


def seeded_bytes(seed, purpose, size=32):
    """Bytes derived from a seed, for reproducible library secrets and salts."""
    return hashlib.sha256(f"seafserver.builder/{purpose}/{seed}".encode("utf-8")).digest()[:size]


def _encryption(repo_id, password, enc_version, pwd_hash_algo, pwd_hash_params, seed):
    """(parameters, FileKey) of a new encrypted library, or ({}, None) without a password."""
    if password is None:
        return {}, None
    secret = salt = None
    if seed is not None:
        secret, salt = seeded_bytes(seed, "secret"), seeded_bytes(seed, "salt")
    try:
        params = crypto.new_parameters(repo_id, password, enc_version, pwd_hash_algo,
                                       pwd_hash_params, secret=secret, salt=salt)
    except crypto.EncryptionError as exc:
        raise BuildError(f"library {repo_id}: {exc}") from exc
    return params, crypto.file_key(params, password)


def create_library(data_dir, name, owner, src_dir=None, repo_id=None, desc="", shares=None,
                   mtime=None, ctime=None, description=None, password=None, enc_version=2,
                   pwd_hash_algo=None, pwd_hash_params=None, seed=None, block_size=None):
    """Creates a library owned by `owner` holding a copy of src_dir (None: empty library) and
    returns its repo id. Like the real server: a "Created library" commit with an empty root,
    then (for a non-empty src_dir) one commit with the content. repo_id, ctime (commit time) and
    mtime (dirent mtimes; default: the local files' mtimes) make the result reproducible.
    shares: {email: "r" or "rw"}. password makes it an encrypted library of enc_version 1 to 4,
    with pwd_hash instead of magic when pwd_hash_algo ("pbkdf2_sha256" or "argon2id") is given;
    seed fixes its secret and salt. block_size: fixed-size blocks instead of CDC."""
    repo_id = repo_id or str(uuid.uuid4())
    ctime = int(time.time()) if ctime is None else ctime
    storage = storage_for(data_dir)
    state = State(data_dir)
    if state.library(repo_id) is not None:
        raise BuildError(f"library {repo_id} already exists")
    if block_size is not None and block_size <= 0:
        raise BuildError(f"block size must be positive, not {block_size}")
    params, key = _encryption(repo_id, password, enc_version, pwd_hash_algo, pwd_hash_params, seed)
    root_id = EMPTY_SHA1
    if src_dir is not None:
        writer = _TreeWriter(storage, repo_id, owner, mtime, file_key=key, block_size=block_size)
        root_id = writer.write_dir(src_dir)
    common = dict(repo_id=repo_id, creator=EMPTY_SHA1, creator_name=owner, repo_name=name,
                  repo_desc=desc, no_local_history=1,
                  **crypto.commit_fields(params))
    head = _store_commit(storage, _unique_commit(
        storage, root_id=EMPTY_SHA1, description="Created library", ctime=ctime, **common))
    if root_id != EMPTY_SHA1:
        summary = describe_change({}, writer.entries)
        head = _store_commit(storage, _unique_commit(
            storage, root_id=root_id, description=description or summary.rstrip("\n"),
            ctime=ctime, parent_id=head, **common))
    state.update_library(repo_id, {
        "name": name, "desc": desc, "owner": owner, "head": head, "version": 1,
        "status": "normal", **crypto.state_fields(params), "shares": dict(shares or {})})
    return repo_id


def _encryption_of(parent, password):
    """(parameters, FileKey) for a commit on top of `parent`: ({}, None) for a plain library;
    for an encrypted one the password must be given and right."""
    params = crypto.parameters_from_commit(parent.to_dict())
    if not params:
        return {}, None
    if password is None:
        raise BuildError(f"library {parent.repo_id} is encrypted: a password is needed")
    try:
        if not crypto.verify_password(parent.repo_id, params, password):
            raise BuildError(f"library {parent.repo_id}: wrong password")
        return params, crypto.file_key(params, password)
    except crypto.EncryptionError as exc:
        raise BuildError(f"library {parent.repo_id}: {exc}") from exc


def commit_directory(data_dir, repo_id, src_dir, description=None, creator_name=None, ctime=None,
                     mtime=None, device_id=BUILDER_DEVICE_ID, device_name=BUILDER_DEVICE_NAME,
                     client_version=None, move_head=True, password=None, block_size=None):
    """Adds a commit on top of the library's head whose tree is a copy of src_dir, as another
    client would (parent = current head, creator = device_id); only new objects are written.
    Returns the new commit id, or the current head when the tree did not change. creator_name
    defaults to the library owner. With move_head=False the head in state.json stays put.
    An encrypted library needs its password; the commit keeps the head's encryption fields."""
    state = State(data_dir)
    library = state.library(repo_id)
    if library is None:
        raise BuildError(f"no library {repo_id} in {data_dir}")
    storage = storage_for(data_dir)
    raw = storage.read("commits", repo_id, library["head"])
    if raw is None:
        raise BuildError(f"library {repo_id}: head commit {library['head']} is missing")
    parent = Commit.from_json(raw)
    params, key = _encryption_of(parent, password)
    creator_name = creator_name or library["owner"]
    previous = tree_entries(storage, repo_id, parent.root_id)
    writer = _TreeWriter(storage, repo_id, creator_name, mtime, previous, file_key=key,
                         block_size=block_size)
    root_id = writer.write_dir(src_dir)
    if root_id == parent.root_id:
        return parent.commit_id
    text = description if description is not None else describe_change(previous,
                                                                        writer.entries)
    commit = _unique_commit(
        storage, root_id=root_id, repo_id=repo_id, creator=device_id, creator_name=creator_name,
        description=text, ctime=int(time.time()) if ctime is None else ctime,
        parent_id=parent.commit_id, repo_name=parent.repo_name, repo_desc=parent.repo_desc,
        device_name=device_name, client_version=client_version,
        no_local_history=parent.no_local_history,
        **crypto.commit_fields(params))
    _store_commit(storage, commit)
    if move_head:
        if not state.compare_and_set_head(repo_id, parent.commit_id, commit.commit_id):
            raise BuildError(f"library {repo_id}: head moved while the commit was built")
    return commit.commit_id
