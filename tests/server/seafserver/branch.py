"""update-branch (PUT commit/HEAD/?head=<id>): validation in the C server's order, block
verification (446), quota (443), then fast-forward or a server-side merge when HEAD moved."""
import posixpath

from .merge import merge_commit
from .messages import compact_json
from .objects import EMPTY_SHA1, ObjectFormatError
from .trees import MissingObject, diff_trees

MERGE_ATTEMPTS = 3


def changed_entries(storage, repo_id, base_root, new_root):
    """[(path, dirent)] of files and directories added or changed from base_root to new_root."""
    changes = []

    def collect(basedir, entries):
        new, old = entries[0], entries[1]
        if new and (not old or new["id"] != old["id"]):
            changes.append((basedir + new["name"], new))
        return True

    diff_trees(storage, repo_id, [new_root, base_root], collect, collect)
    return changes


def files_missing_blocks(storage, repo_id, changes):
    """Base names of changed files with absent blocks; MissingObject if a file object is absent."""
    names = []
    for path, dirent in changes:
        if dirent["mode"] == 0o40000 or dirent["id"] == EMPTY_SHA1:
            continue
        obj = storage.read_fs_json(repo_id, dirent["id"])
        if obj is None or not isinstance(obj.get("block_ids"), list):
            raise MissingObject(dirent["id"])
        if not all(storage.exists("blocks", repo_id, b) for b in obj["block_ids"]):
            names.append(posixpath.basename(path))
    return names


def update_branch(catalog, repo_id, new_head, uploader):
    """(status, body) of update-branch for an authorized upload of commit `new_head`."""
    storage, state = catalog.storage, catalog.state
    commit = storage.read_commit(repo_id, new_head)
    if commit is None:
        return 500, b""
    commit["commit_id"] = new_head
    base = storage.read_commit(repo_id, commit.get("parent_id")) if commit.get("parent_id") else None
    if base is None:
        return 400, b""
    base["commit_id"] = commit["parent_id"]
    try:
        changes = changed_entries(storage, repo_id, base["root_id"], commit["root_id"])
    except MissingObject:
        return 446, b""
    if any(".." in path.split("/") for path, _dirent in changes):
        return 400, b""
    if catalog.over_quota(state.library(repo_id)["owner"]):
        return 443, b""
    try:
        missing = files_missing_blocks(storage, repo_id, changes)
    except MissingObject:
        return 446, b""
    if missing:
        return 446, compact_json(missing)
    for _attempt in range(MERGE_ATTEMPTS):
        current = state.library(repo_id)["head"]
        if current == base["commit_id"] or current == new_head:
            target = commit
        else:
            head = storage.read_commit(repo_id, current)
            if head is None:
                return 500, b""
            head["commit_id"] = current
            try:
                target = merge_commit(storage, repo_id, base, head, commit, uploader).to_dict()
            except (MissingObject, ObjectFormatError):
                return 500, b""
        if state.compare_and_set_head(repo_id, current, target["commit_id"], target.get("repo_name")):
            return 200, b""
    return 500, b""
