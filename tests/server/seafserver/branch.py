"""update-branch (PUT commit/HEAD/?head=<id>): seaf-server's put_update_branch_cb after the token
and permission checks -- the commit (500) and its parent (400), a '..' path (400), quota (443),
the blocks of the changed files (446), then fast-forward when HEAD is still the parent, else a
server-side merge (merge.py), even when the uploaded commit already is the head."""
from .merge import merge_commit
from .messages import compact_json
from .objects import EMPTY_SHA1, ObjectFormatError
from .trees import MissingObject, diff_trees, dirent_same

MAX_RETRY_COUNT = 3  # head moved again during a merge: retries after the first attempt


def has_invalid_path(storage, repo_id, base_root, new_root):
    """include_invalid_path: a path added, changed or removed from base_root to new_root (added
    or removed directories not entered) has a '..' component. A failed diff counts as no such
    path; the block check then fails on the same missing object."""
    paths = []

    def files(basedir, entries):
        old, new = entries
        if not (old and new and dirent_same(old, new)):
            paths.append(basedir + (new or old)["name"])

    def dirs(basedir, entries):
        old, new = entries
        if old and new:
            return True
        paths.append(basedir + (new or old)["name"])
        return False

    try:
        diff_trees(storage, repo_id, [base_root, new_root], files, dirs)
    except MissingObject:
        return False
    return any(".." in path.split("/") for path in paths)


def files_missing_blocks(storage, repo_id, base_root, new_root):
    """check_blocks: base names of the files added or changed (by id) from base_root to new_root
    that lack a block, the last one visited first (the C code prepends). MissingObject when a
    directory or file object needed is absent or corrupt."""
    names = []

    def files(_basedir, entries):
        old, new = entries
        if not new or new["id"] == EMPTY_SHA1 or (old and old["id"] == new["id"]):
            return
        obj = storage.read_fs_json(repo_id, new["id"])
        if obj is None or not isinstance(obj.get("block_ids"), list):
            raise MissingObject(new["id"])
        if not all(storage.exists("blocks", repo_id, b) for b in obj["block_ids"]):
            names.insert(0, new["name"])

    def dirs(_basedir, entries):
        old, new = entries
        return bool(new) and new["id"] != EMPTY_SHA1 and not (old and old["id"] == new["id"])

    diff_trees(storage, repo_id, [base_root, new_root], files, dirs)
    return names


def update_branch(catalog, repo_id, new_head):
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
    if has_invalid_path(storage, repo_id, base["root_id"], commit["root_id"]):
        return 400, b""
    if catalog.over_quota(state.library(repo_id)["owner"]):
        return 443, b""
    try:
        missing = files_missing_blocks(storage, repo_id, base["root_id"], commit["root_id"])
    except MissingObject:
        return 446, b""
    if missing:
        return 446, compact_json(missing)
    for _attempt in range(1 + MAX_RETRY_COUNT):
        current = state.library(repo_id)["head"]
        if current == base["commit_id"]:
            target = commit
        else:
            head = storage.read_commit(repo_id, current)
            if head is None:
                return 500, b""
            head["commit_id"] = current
            try:
                target = merge_commit(storage, repo_id, base, head, commit).to_dict()
            except (MissingObject, ObjectFormatError):
                return 500, b""
        if state.compare_and_set_head(repo_id, current, target["commit_id"], target.get("repo_name")):
            return 200, b""
    return 500, b""
