"""A minimal sync-protocol client for tests of the reference server: downloads trees (fs-id-list,
pack-fs with the 1 MiB cut-off handled, blocks) and uploads changes in SeaDrive's order (PUT commit,
check-fs, recv-fs, check-blocks, PUT block, update-branch). One block per file, no encryption."""
import hashlib
import json
import time
import zlib

from replay import send
from seafserver.objects import EMPTY_SHA1, MODE_DIR, MODE_FILE, Commit, Dirent, SeafDir, SeafFile, compress
from seafserver.packfs import encode_record, parse_packed_objects

PACK_BATCH = 100


def parse_pack(body):
    """[(id, stored bytes)] of a pack-fs body (the framing is checked against the real server's
    captured pack-fs answers by test_server_replay)."""
    records = parse_packed_objects(body) if body else []
    if records is None:
        raise ProtocolError("malformed pack-fs body")
    return records


def pack(records):
    return b"".join(encode_record(obj_id, data) for obj_id, data in records)


class ProtocolError(AssertionError):
    pass


class SyncClient:
    def __init__(self, port, repo_id, token, prefix="/seafhttp", email="user@example.com"):
        self.port = port
        self.repo_id = repo_id
        self.token = token
        self.prefix = prefix
        self.email = email
        self.objects = {}  # fs id -> parsed JSON dict

    def call(self, method, endpoint, body=b"", expect=200):
        path = "%s/repo/%s/%s" % (self.prefix, self.repo_id, endpoint)
        status, _reason, _headers, data = send(self.port, method, path, {"Seafile-Repo-Token": self.token}, body)
        if expect is not None and status != expect:
            raise ProtocolError("%s %s -> %d %r" % (method, endpoint, status, data[:200]))
        return status, data

    # --- download ------------------------------------------------------------------------

    def head(self):
        return json.loads(self.call("GET", "commit/HEAD")[1])["head_commit_id"]

    def commit(self, commit_id):
        return json.loads(self.call("GET", "commit/" + commit_id)[1])

    def fetch_objects(self, ids):
        """Download fs objects (re-requesting what a cut-off pack-fs left out); checks ids."""
        wanted = [i for i in dict.fromkeys(ids) if i not in self.objects]
        requests = 0
        while wanted:
            batch = wanted[:PACK_BATCH]
            records = parse_pack(self.call("POST", "pack-fs/", json.dumps(batch).encode())[1])
            requests += 1
            for obj_id, stored in records:
                data = zlib.decompress(stored)
                if hashlib.sha1(data).hexdigest() != obj_id:
                    raise ProtocolError("fs object %s has a wrong id" % obj_id)
                self.objects[obj_id] = json.loads(data)
            received = {obj_id for obj_id, _ in records}
            if not received:
                raise ProtocolError("pack-fs returned nothing")
            wanted = [i for i in wanted if i not in received]
        return requests

    def tree(self, commit_id):
        """{path: dirent} of every file and directory of a commit ('a/b.txt', 'a')."""
        root = self.commit(commit_id)["root_id"]
        ids = json.loads(self.call("GET", "fs-id-list/?server-head=" + commit_id)[1])
        self.fetch_objects(ids)
        entries = {}
        pending = [("", root)]
        while pending:
            prefix, dir_id = pending.pop()
            if dir_id == EMPTY_SHA1:
                continue
            for dirent in self.objects[dir_id]["dirents"]:
                path = prefix + dirent["name"]
                entries[path] = dirent
                if dirent["mode"] == MODE_DIR:
                    pending.append((path + "/", dirent["id"]))
        return entries

    def read_file(self, dirent):
        if dirent["id"] == EMPTY_SHA1:
            return b""
        blocks = self.objects[dirent["id"]]["block_ids"]
        return b"".join(self.call("GET", "block/" + b)[1] for b in blocks)

    # --- upload ----------------------------------------------------------------------------

    def build_commit(self, parent_id, changes, description="test change", ctime=None):
        """(commit, {fs id: stored bytes}, {block id: bytes}) for `changes` ({path: bytes to write,
        None to delete, "dir" to create an empty directory}) applied to the parent's tree."""
        now = int(time.time()) if ctime is None else ctime
        entries = self.tree(parent_id)
        fs_objects, blocks = {}, {}
        for path, content in changes.items():
            if content is None:
                for p in [p for p in entries if p == path or p.startswith(path + "/")]:
                    del entries[p]
            elif content == "dir":
                entries[path] = {"name": path.rsplit("/", 1)[-1], "id": EMPTY_SHA1, "mode": MODE_DIR,
                                 "mtime": now}
            else:
                block_ids = []
                if content:
                    block_id = hashlib.sha1(content).hexdigest()
                    blocks[block_id] = content
                    block_ids = [block_id]
                seaf_file = SeafFile(block_ids, len(content))
                if seaf_file.id != EMPTY_SHA1:
                    fs_objects[seaf_file.id] = compress(seaf_file.to_json())
                entries[path] = {"name": path.rsplit("/", 1)[-1], "id": seaf_file.id, "mode": MODE_FILE,
                                 "mtime": now, "modifier": self.email, "size": len(content)}
                parts = path.split("/")
                for depth in range(1, len(parts)):
                    parent = "/".join(parts[:depth])
                    entries.setdefault(parent, {"name": parts[depth - 1], "id": EMPTY_SHA1,
                                                "mode": MODE_DIR, "mtime": now})
        touched = {p.rsplit("/", 1)[0] for p in changes if "/" in p}
        root_id = self._build_dir("", entries, touched, now, fs_objects)
        parent = self.commit(parent_id)
        commit = Commit(root_id, self.repo_id, "1" * 40, description, now, parent_id=parent_id,
                        repo_name=parent["repo_name"], repo_desc=parent.get("repo_desc", ""),
                        creator_name=self.email, version=1)
        return commit, fs_objects, blocks

    def _build_dir(self, prefix, entries, touched, now, fs_objects):
        start = prefix + "/" if prefix else ""
        children = [p for p in entries if p.startswith(start) and "/" not in p[len(start):]]
        dirents = []
        for path in children:
            dirent = dict(entries[path])
            if dirent["mode"] == MODE_DIR:
                dirent["id"] = self._build_dir(path, entries, touched, now, fs_objects)
                if any(t == path or t.startswith(path + "/") for t in touched):
                    dirent["mtime"] = now
            dirents.append(Dirent.from_dict(dirent))
        seaf_dir = SeafDir(dirents)
        if seaf_dir.id != EMPTY_SHA1:
            fs_objects[seaf_dir.id] = compress(seaf_dir.to_json())
        return seaf_dir.id

    def upload(self, parent_id, changes, description="test change", ctime=None, skip_blocks=(),
               skip_fs=()):
        """Upload a change on top of parent_id in SeaDrive's order; (update-branch status, body,
        commit id). skip_blocks/skip_fs leave chosen objects out (to provoke 446)."""
        commit, fs_objects, blocks = self.build_commit(parent_id, changes, description, ctime)
        self.call("PUT", "commit/" + commit.commit_id, commit.to_json())
        needed = json.loads(self.call("POST", "check-fs/", json.dumps(list(fs_objects)).encode())[1])
        records = [(i, fs_objects[i]) for i in needed if i not in skip_fs]
        if records:
            self.call("POST", "recv-fs/", pack(records))
        if blocks:
            missing = json.loads(self.call("POST", "check-blocks/", json.dumps(list(blocks)).encode())[1])
            for block_id in missing:
                if block_id not in skip_blocks:
                    self.call("PUT", "block/" + block_id, blocks[block_id])
        status, body = self.call("PUT", "commit/HEAD/?head=" + commit.commit_id, expect=None)
        return status, body, commit.commit_id
