"""Tree algorithms over stored directory objects: the C server's lock-step walk (also used by
merge.py) and diff (diff-simple.c), the fs-id-list computation built on it, and library
statistics (size, file count).

Directory entries are sorted by name in descending byte order; walking two or three such lists
together by taking the greatest current name reproduces the real server's traversal order.
"""
import stat

from .objects import EMPTY_SHA1


class MissingObject(Exception):
    """A directory or file object needed by a tree walk is absent from the store."""


def _name_key(dirent):
    return dirent["name"].encode("utf-8")


def is_dir(dirent):
    return dirent is not None and stat.S_ISDIR(dirent["mode"])


def is_file(dirent):
    return dirent is not None and stat.S_ISREG(dirent["mode"])


def dirent_same(a, b):
    """The C server's dirent_same: equal id, mode and mtime."""
    return a["id"] == b["id"] and a["mode"] == b["mode"] and a.get("mtime") == b.get("mtime")


def load_dir(storage, repo_id, dir_id):
    obj = storage.read_fs_json(repo_id, dir_id)
    if obj is None or not isinstance(obj.get("dirents"), list):
        raise MissingObject(dir_id)
    return obj["dirents"]


def diff_trees(storage, repo_id, roots, file_cb, dir_cb):
    """Walk 2 or 3 trees in lock-step like diff_trees() of seafile-server.

    For every name whose entries are not all the same, file_cb(basedir, files) is called with the
    per-tree file entries (None where absent or not a file), then dir_cb(basedir, dirs) likewise for
    directories; the walk recurses into those directories when dir_cb returns True.
    """
    trees = [load_dir(storage, repo_id, root) for root in roots]
    _diff_recursive(storage, repo_id, trees, "", file_cb, dir_cb)


def lockstep(trees):
    """Walk dirent lists (each sorted by descending name) together as the C code does: per name,
    greatest first, the list of each tree's dirent of that name (None where it has none)."""
    positions = [0] * len(trees)
    while True:
        heads = [tree[pos] if pos < len(tree) else None for tree, pos in zip(trees, positions)]
        present = [h for h in heads if h is not None]
        if not present:
            return
        first = max(_name_key(h) for h in present)
        dents = [None] * len(trees)
        for i, head in enumerate(heads):
            if head is not None and _name_key(head) == first:
                dents[i] = head
                positions[i] += 1
        yield dents


def _diff_recursive(storage, repo_id, trees, basedir, file_cb, dir_cb):
    for dents in lockstep(trees):
        if all(d is not None for d in dents) and all(dirent_same(dents[0], d) for d in dents[1:]):
            continue
        files = [d if is_file(d) else None for d in dents]
        if any(files):
            file_cb(basedir, files)
        dirs = [d if is_dir(d) else None for d in dents]
        if any(dirs) and dir_cb(basedir, dirs):
            subtrees = [load_dir(storage, repo_id, d["id"]) if d else [] for d in dirs]
            name = next(d["name"] for d in dirs if d)
            _diff_recursive(storage, repo_id, subtrees, basedir + name + "/", file_cb, dir_cb)


def fs_id_list(storage, repo_id, server_root, client_root, dir_only):
    """Ids of fs objects of `server_root` the holder of `client_root` may lack, in the real
    server's order (reverse of the traversal, so the root comes last), duplicates kept."""
    found = []
    if server_root != EMPTY_SHA1 and server_root != client_root:
        found.append(server_root)

    def collect(_basedir, entries):
        new, old = entries[0], entries[1]
        if new and (not old or new["id"] != old["id"]) and new["id"] != EMPTY_SHA1:
            found.append(new["id"])
        return True

    file_cb = (lambda _basedir, _files: None) if dir_only else collect
    diff_trees(storage, repo_id, [server_root, client_root], file_cb, collect)
    found.reverse()
    return found


def tree_stats(storage, repo_id, root_id):
    """(total size in bytes, number of files) of the tree under `root_id`."""
    size = 0
    count = 0
    pending = [root_id]
    while pending:
        for dirent in load_dir(storage, repo_id, pending.pop()):
            if is_dir(dirent):
                if dirent["id"] != EMPTY_SHA1:
                    pending.append(dirent["id"])
            else:
                size += int(dirent.get("size", 0))
                count += 1
    return size, count
