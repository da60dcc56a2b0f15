"""Server-side 3-way merge of trees, as update-branch does when HEAD moved (protocol doc §6.4).

Per name in each directory (base B, server head H, uploaded commit C):
unchanged on one side -> the other side's version (including deletion); changed identically ->
kept; both changed and both directories -> merged recursively; otherwise (two different files,
or file vs directory, or changed vs deleted) H keeps the name and C's entry is kept under a
C-server style conflict name "<stem> (SFConflict <who> <YYYY-MM-DD-HH-MM-SS>).<ext>"; a side
deleted while the other changed keeps the changed version. New directory objects are written
to storage; merge_commit() then writes the merge commit (new_merge=1, conflict=1 if needed).
Its description is "Auto merge by system", or with conflicts a summary of the conflict copies in
the C server's style ('Added "<copy>".' / 'Added "<copy>" and N more files.'); the real server
summarizes the whole merged diff there.
"""
import time

from .objects import EMPTY_SHA1, Commit, Dirent, SeafDir, compress
from .trees import is_dir, load_dir

# Library-level fields a server-made commit copies from the current head.
_INHERITED = ("repo_name", "repo_desc", "encrypted", "enc_version", "magic", "key", "salt",
              "pwd_hash", "pwd_hash_algo", "pwd_hash_params")


class MergeContext:
    def __init__(self, storage, repo_id, uploader):
        self.storage = storage
        self.repo_id = repo_id
        self.uploader = uploader
        self.conflicts = []  # conflict names created


def _same(a, b):
    if a is None or b is None:
        return a is b
    return a["id"] == b["id"] and a["mode"] == b["mode"]


def conflict_name(name, who, when):
    """C server conflict copy name: split at the LAST dot, local time of `when`."""
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.localtime(when))
    suffix = " (SFConflict %s %s)" % (who, stamp)
    dot = name.rfind(".")
    if dot < 0:
        return name + suffix
    return name[:dot] + suffix + name[dot:]


def _merge_entry(ctx, base, head, remote):
    """Entries (0, 1 or 2) that replace one name in the merged directory."""
    if _same(base, remote):
        return [head] if head else []
    if _same(base, head):
        return [remote] if remote else []
    if head is None:
        return [remote]
    if remote is None:
        return [head]
    if _same(head, remote):
        return [dict(head, mtime=max(head["mtime"], remote["mtime"]))]
    if is_dir(head) and is_dir(remote):
        base_id = base["id"] if is_dir(base) else EMPTY_SHA1
        merged_id = merge_trees(ctx, base_id, head["id"], remote["id"])
        return [dict(head, id=merged_id, mtime=max(head["mtime"], remote["mtime"]))]
    if is_dir(remote):
        who, when = ctx.uploader, int(time.time())
    else:
        who, when = remote.get("modifier") or ctx.uploader, remote["mtime"]
    renamed = dict(remote, name=conflict_name(remote["name"], who, when))
    ctx.conflicts.append(renamed["name"])
    return [head, renamed]


def merge_trees(ctx, base_id, head_id, remote_id):
    """Id of the merged directory of three directory ids (objects written to storage)."""
    if head_id == remote_id or base_id == remote_id:
        return head_id
    if base_id == head_id:
        return remote_id
    sides = [{d["name"]: d for d in load_dir(ctx.storage, ctx.repo_id, i)}
             for i in (base_id, head_id, remote_id)]
    merged = {}
    for name in set().union(*sides):
        for entry in _merge_entry(ctx, *(side.get(name) for side in sides)):
            while entry["name"] in merged:  # a conflict name already taken
                entry = dict(entry, name=entry["name"] + " (1)")
            merged[entry["name"]] = entry
    seaf_dir = SeafDir([Dirent.from_dict(d) for d in merged.values()])
    if seaf_dir.id != EMPTY_SHA1:
        ctx.storage.write("fs", ctx.repo_id, seaf_dir.id, compress(seaf_dir.to_json()))
    return seaf_dir.id


def merge_commit(storage, repo_id, base, head, remote, uploader):
    """Merge the trees of commit dicts base/head/remote; write and return the merge Commit."""
    ctx = MergeContext(storage, repo_id, uploader)
    root_id = merge_trees(ctx, base["root_id"], head["root_id"], remote["root_id"])
    if len(ctx.conflicts) == 1:
        description = 'Added "%s".\n' % ctx.conflicts[0]
    elif ctx.conflicts:
        description = 'Added "%s" and %d more files.\n' % (ctx.conflicts[0], len(ctx.conflicts) - 1)
    else:
        description = "Auto merge by system"
    fields = {key: head[key] for key in _INHERITED if key in head}
    fields["encrypted"] = head.get("encrypted") == "true"
    ctime = int(time.time())
    while True:
        commit = Commit(root_id, repo_id, EMPTY_SHA1, description, ctime, parent_id=head["commit_id"],
                        second_parent_id=remote["commit_id"],
                        creator_name=remote.get("creator_name") or uploader,
                        no_local_history=1, version=1, new_merge=1,
                        conflict=1 if ctx.conflicts else 0, **fields)
        if not storage.exists("commits", repo_id, commit.commit_id):
            break
        ctime += 1  # identical inputs would give the same id; keep merge commits unique
    storage.write("commits", repo_id, commit.commit_id, commit.to_json())
    return commit
