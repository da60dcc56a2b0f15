"""On-disk object store in seafile-server's layout: <storage>/{commits,fs,blocks}/<repo_id>/<id[:2]>/<id[2:]>.

Commits are stored as plain JSON text, fs objects as zlib-compressed JSON, blocks as raw bytes.
Reads never write; writes go through a temp file + rename so readers never see partial objects.
A storage may lie over a base storage that it never writes: objects missing from it are read from
the base (so that a test's server can start from shared demo data without changing it).
"""
import json
import os
import tempfile
import zlib

from .objects import EMPTY_SHA1, Commit, is_object_id


class ReadOnlyStorage(OSError):
    """A write was attempted on a storage opened read-only."""


class Storage:
    """Reads and writes commits, fs objects and blocks of libraries under one storage root.
    With writable=False every write raises ReadOnlyStorage (protects shared test vectors).
    base: a storage root read (never written) for objects this one does not have."""

    def __init__(self, root, writable=True, base=None):
        self.root = os.path.abspath(root)
        self.writable = writable
        self.base = os.path.abspath(base) if base else None

    def path(self, kind, repo_id, obj_id):
        """Where this storage writes the object."""
        return os.path.join(self.root, kind, repo_id, obj_id[:2], obj_id[2:])

    def _stored_path(self, kind, repo_id, obj_id):
        """Where the object is read from: this storage, else the base."""
        path = self.path(kind, repo_id, obj_id)
        if self.base and not os.path.lexists(path):
            return os.path.join(self.base, kind, repo_id, obj_id[:2], obj_id[2:])
        return path

    def exists(self, kind, repo_id, obj_id):
        return is_object_id(obj_id) and os.path.isfile(self._stored_path(kind, repo_id, obj_id))

    def read(self, kind, repo_id, obj_id):
        """Stored bytes of an object, or None when it does not exist (or the id is invalid)."""
        if not is_object_id(obj_id):
            return None
        try:
            with open(self._stored_path(kind, repo_id, obj_id), "rb") as f:
                return f.read()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def size(self, kind, repo_id, obj_id):
        try:
            return os.path.getsize(self._stored_path(kind, repo_id, obj_id))
        except OSError:
            return None

    def write(self, kind, repo_id, obj_id, data):
        """Store `data` under `obj_id` atomically (overwrites, as the real server does)."""
        if not is_object_id(obj_id):
            raise ValueError("invalid object id %r" % (obj_id,))
        if not self.writable:
            raise ReadOnlyStorage("storage %s is read-only" % self.root)
        target = self.path(kind, repo_id, obj_id)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    # --- typed helpers -------------------------------------------------------------------

    def add_commit(self, repo_id, commit_id, data):
        """Store a commit as seaf-server's save_commit does: an id that is already stored keeps
        its first object. True when `data` was written."""
        if self.exists("commits", repo_id, commit_id):
            return False
        self.write("commits", repo_id, commit_id, data)
        return True

    def write_server_commit(self, ctime, **fields):
        """Write a library commit the server makes itself (creator EMPTY_SHA1) and return it. The
        same fields in the same second would repeat a stored id, which seaf-server would keep,
        losing the change; the ctime moves on a second instead."""
        while True:
            commit = Commit(ctime=ctime, creator=EMPTY_SHA1, **fields)
            if self.add_commit(commit.repo_id, commit.commit_id, commit.to_json()):
                return commit
            ctime += 1

    def read_commit(self, repo_id, commit_id):
        """Parsed commit JSON, or None when missing or unparsable."""
        raw = self.read("commits", repo_id, commit_id)
        if raw is None:
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    def read_fs_json(self, repo_id, fs_id):
        """Parsed fs object (dir or file), None when missing or corrupt. EMPTY_SHA1 is an empty dir."""
        if fs_id == EMPTY_SHA1:
            return {"dirents": [], "type": 3, "version": 1}
        raw = self.read("fs", repo_id, fs_id)
        if raw is None:
            return None
        try:
            return json.loads(zlib.decompress(raw).decode("utf-8"))
        except (zlib.error, UnicodeDecodeError, ValueError):
            return None
