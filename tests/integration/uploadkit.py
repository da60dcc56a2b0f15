"""Helpers for the upload tests (test_mount_upload*.py, test_mount_crash.py): a writable reference
server with one library of the test's own, what that library holds on the server (read from the
server's storage, independently of seafs), what a mount shows, and bounded waits for uploads
(there is no `seafs sync` yet: the tests poll the server's head and request log).

Trees are compared as {path: (kind, size, sha1, mode, mtime)} with paths relative to the
library's root ("a/b.txt"); directories have size, sha1 and mtime None (the mount shows a
directory's mtime from its dirent, but seafs may set it to the upload time for directories that
changed inside: not compared), files the mode Seafile stores (0o100644 or 0o100755)."""

import hashlib
import json
import os
import pathlib
import stat
import time

import pytest

from mount_fixture import PASSWORD, USER
from seafserver import builder
from seafserver.objects import EMPTY_SHA1, MODE_EXECUTABLE, MODE_FILE, parse_stored_fs_object
from seafserver.testing import SeafServer

LIBRARY = "Lib"
# Bound for an upload that should happen at once (upload_delay=0): generous for a loaded machine.
UPLOAD_BOUND_S = 60


def write_tree(root, files, dirs=()):
    """Writes {relative path: bytes} and empty dirs under root (made if missing)."""
    root = pathlib.Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(content)
    for rel in dirs:
        (root / rel).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def lib_server(tmp_path):
    """make(files=None, dirs=(), name=LIBRARY, quota=None, block_size=None) -> (server, repo id):
    a started reference server over a private, writable data directory with user@example.com
    owning one library that holds `files` ({path: bytes}) and empty `dirs`. Stopped in
    teardown."""
    started = []

    def make(files=None, dirs=(), name=LIBRARY, quota=None, block_size=None, subdir="server"):
        data = tmp_path / subdir
        builder.add_account(str(data), USER, PASSWORD)
        source = None
        if files or dirs:
            source = write_tree(tmp_path / (subdir + "-source"), files or {}, dirs)
        repo_id = builder.create_library(str(data), name, USER, source, block_size=block_size)
        server = SeafServer(str(data))
        started.append(server)
        server.start()
        if quota is not None:
            server.set_account(USER, quota=quota)
        return server, repo_id

    yield make
    for server in started:
        server.stop()


# --- the server's side ---------------------------------------------------------------------------

def storage_of(server):
    return server.open_storage()


def head_of(server, repo_id):
    return server.state()["libraries"][repo_id]["head"]


def commit_of(server, repo_id, commit_id):
    return json.loads(storage_of(server).read("commits", repo_id, commit_id))


def history(server, repo_id, since=None):
    """Commits from the head back to (not including) `since`, newest first (first parents and
    second parents, each once)."""
    commits, seen, pending = [], set(), [head_of(server, repo_id)]
    while pending:
        cid = pending.pop(0)
        if not cid or cid == since or cid in seen:
            continue
        seen.add(cid)
        commit = commit_of(server, repo_id, cid)
        commits.append(commit)
        pending += [commit.get("parent_id"), commit.get("second_parent_id")]
    return commits


def file_content(server, repo_id, file_id):
    if file_id == EMPTY_SHA1:
        return b""
    storage = storage_of(server)
    seafile = parse_stored_fs_object(storage.read("fs", repo_id, file_id))
    return b"".join(storage.read("blocks", repo_id, b) for b in seafile.block_ids)


def server_tree(server, repo_id, commit_id=None, contents=True):
    """{path: (kind, size, sha1, mode, mtime)} of a commit (default: the head) of the library,
    read from the server's storage. contents=False leaves sha1 None (no block reads)."""
    storage = storage_of(server)
    commit_id = commit_id or head_of(server, repo_id)
    root = json.loads(storage.read("commits", repo_id, commit_id))["root_id"]
    out = {}
    for path, dirent in builder.tree_entries(storage, repo_id, root).items():
        rel = path.lstrip("/")
        if dirent.is_dir:
            out[rel] = ("dir", None, None, None, None)
        else:
            sha1 = (hashlib.sha1(file_content(server, repo_id, dirent.id)).hexdigest()
                    if contents else None)
            out[rel] = ("file", dirent.size, sha1, dirent.mode, dirent.mtime)
    return out


def update_branch_requests(server):
    """Log entries of update-branch (PUT commit/HEAD) requests."""
    return [e for e in server.log() if e["method"] == "PUT" and "/commit/HEAD" in e["path"]]


def block_puts(server):
    return [e for e in server.log() if e["method"] == "PUT" and "/block/" in e["path"]]


# --- the mount's side ----------------------------------------------------------------------------

def file_sha1(path):
    digest = hashlib.sha1()
    with open(path, "rb") as f:
        for data in iter(lambda: f.read(1 << 20), b""):
            digest.update(data)
    return digest.hexdigest()


def local_tree(root, contents=True, skip=lambda rel: False):
    """The same form as server_tree for a directory (the mounted library, or a local copy)."""
    root = pathlib.Path(root)
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = pathlib.Path(dirpath, name)
            rel = str(path.relative_to(root))
            if skip(rel):
                continue
            st = path.lstat()
            if stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", None, None, None, None)
            else:
                mode = MODE_EXECUTABLE if st.st_mode & 0o100 else MODE_FILE
                out[rel] = ("file", st.st_size, file_sha1(path) if contents else None, mode,
                            int(st.st_mtime))
    return out


def tree_difference(want, got):
    """'' when equal, else a short description."""
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    changed = sorted(p for p in set(want) & set(got) if want[p] != got[p])
    if not (missing or extra or changed):
        return ""
    return "missing %s; unexpected %s; different %s" % (
        missing[:8], extra[:8], ["%s: want %s got %s" % (p, want[p], got[p]) for p in changed[:8]])


# --- waiting -------------------------------------------------------------------------------------

def wait_for(condition, bound_s, what, interval=0.1):
    """Polls condition() until true; fails the test after bound_s. Returns its last value."""
    deadline = time.monotonic() + bound_s
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, "%s did not happen within %d s" % (what, bound_s)
        time.sleep(interval)


def wait_head_moves(server, repo_id, old_head, bound_s=UPLOAD_BOUND_S):
    return wait_for(lambda: head_of(server, repo_id) != old_head and head_of(server, repo_id),
                    bound_s, "an upload (head still %s)" % old_head[:8])


def wait_server_has(server, repo_id, want, bound_s=UPLOAD_BOUND_S, contents=True):
    """Waits until the server's head tree equals want (a tree as server_tree returns); fails
    with the last difference."""
    last = {"diff": ""}

    def same():
        try:
            last["diff"] = tree_difference(want, server_tree(server, repo_id, contents=contents))
        except (OSError, TypeError, ValueError) as exc:  # an object still arriving
            last["diff"] = repr(exc)
        return not last["diff"]

    deadline = time.monotonic() + bound_s
    while not same():
        assert time.monotonic() < deadline, (
            "the server did not get the mount's tree within %d s: %s" % (bound_s, last["diff"]))
        time.sleep(0.2)


UPLOAD_ROUTES = ("permission-check", "quota-check", "check-fs", "recv-fs", "check-blocks")


def upload_requests(server):
    """Log entries of the upload protocol (not the polling of heads and library lists)."""
    return [e for e in server.log()
            if e["method"] == "PUT" or any(r in e["path"] for r in UPLOAD_ROUTES)]


def wait_quiet(server, bound_s=UPLOAD_BOUND_S, quiet_s=2.0):
    """Waits until the server saw no upload request for quiet_s seconds (an upload round in
    progress has finished); returns the number of upload requests seen."""
    deadline = time.monotonic() + bound_s
    count, since = len(upload_requests(server)), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "uploads did not stop within %d s" % bound_s
        time.sleep(0.2)
        now = len(upload_requests(server))
        if now != count:
            count, since = now, time.monotonic()
    return count


# --- another client --------------------------------------------------------------------------------

def api_token(server, user=USER, password=PASSWORD):
    import urllib.parse
    import urllib.request
    login = urllib.request.Request(server.url + "/api2/auth-token/", method="POST",
                                   data=urllib.parse.urlencode({"username": user,
                                                                "password": password}).encode())
    with urllib.request.urlopen(login, timeout=10) as response:
        return json.loads(response.read())["token"]


def sync_client(server, repo_id):
    """A syncclient.SyncClient for the library with a sync token from download-info (another
    client of the same account, as the official client would be)."""
    import urllib.request

    from syncclient import SyncClient
    request = urllib.request.Request(server.url + "/api2/repos/%s/download-info/" % repo_id,
                                     headers={"Authorization": "Token " + api_token(server)})
    with urllib.request.urlopen(request, timeout=10) as response:
        token = json.loads(response.read())["token"]
    return SyncClient(server.port, repo_id, token)


def remote_change(server, repo_id, changes, description="change from another client"):
    """Commits `changes` ({path: bytes, None to delete}) on top of the server's head as another
    client; returns the new head."""
    client = sync_client(server, repo_id)
    status, body, commit_id = client.upload(client.head(), changes, description)
    assert status == 200, "update-branch of the other client: %d %r" % (status, body)
    return commit_id


CONFLICT_NAME = r" \(SFConflict %s \d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\)" % USER.replace(".", r"\.")


def conflict_copies(tree, name):
    """Paths of the tree that are conflict copies of name ("dir/a.txt" -> "dir/a (SFConflict
    user@example.com YYYY-MM-DD-HH-MM-SS).txt")."""
    import re
    directory, _, base = name.rpartition("/")
    stem, dot, ext = base.rpartition(".") if "." in base.lstrip(".") else (base, "", "")
    pattern = re.compile(re.escape((directory + "/" if directory else "") + stem) + CONFLICT_NAME
                         + re.escape(dot + ext) + "$")
    return [p for p in tree if pattern.match(p)]
