"""Server-side 3-way merge, as update-branch does when HEAD moved: seaf-server's merge-new.c
(the 3-way case) and the merge commit of http-server.c's fast_forward_or_merge (protocol doc
§6.4), checked against the captured merges in vectors/real-server/merge/.

Per name of each directory, with base B, head H (the server's head) and remote R (the uploaded
commit), walked in the C order (greatest name first); files are compared by id only:
* files: H == R -> H's dirent; H == B -> R's; R == B -> H's; otherwise both stay and R's is
  renamed. Deleted on one side: gone if the other side is unchanged, else the changed version
  stays (renamed when the other side holds a directory of that name, unless that directory is
  unchanged since B). File vs directory: H's entry keeps the name; R's entry is renamed.
* directories: one side only -> kept as is; changed vs deleted, or changed on both sides ->
  merged recursively into H's dirent (R's when H deleted it) with the merged id; H == R -> H's.
Renamed copies are `name (SFConflict <who> <local time>).ext`, split at the LAST dot: for a file
R's modifier and mtime, for a directory the uploaded commit's creator_name (lower-cased, as the C
code loads commits) and the server clock.
Merged directory objects are written unless identical to H's or R's. The merge commit: creator
EMPTY_SHA1, that creator_name, ctime from the server clock, new_merge 1, conflict 1 when
something was renamed, library fields from H; description "Auto merge by system", or, with a
conflict, the files of the merged tree that differ from both parents.

A merge commit whose id is already stored (same tree, description, creator and second) is not
written again: the stored one becomes the head, as in seaf-server. One deliberate difference: a
renamed copy whose name is already taken gets " (1)" appended (seaf-server would write a
directory with two entries of the same name).
"""
import posixpath
import time

from . import clock
from .objects import EMPTY_SHA1, Commit, Dirent, SeafDir, compress
from .trees import diff_trees, dirent_same, is_dir, is_file, load_dir, lockstep

AUTO_MERGE = "Auto merge by system"
# Commit fields that seaf_repo_to_commit copies from the library, i.e. from the current head.
_INHERITED = ("repo_name", "repo_desc", "enc_version", "magic", "key", "salt", "pwd_hash",
              "pwd_hash_algo", "pwd_hash_params", "no_local_history", "repaired")


def conflict_name(name, who, when):
    """gen_conflict_path: the name split at its LAST dot, `when` in the server's local time;
    without `who` (None) the tag only has the time."""
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.localtime(when))
    tag = "SFConflict %s" % stamp if who is None else "SFConflict %s %s" % (who, stamp)
    dot = name.rfind(".")
    if dot < 0:
        return "%s (%s)" % (name, tag)
    return "%s (%s)%s" % (name[:dot], tag, name[dot:])


def loaded_creator_name(commit):
    """creator_name as seaf-server reads a commit: ASCII letters in lower case (g_ascii_strdown)."""
    name = commit.get("creator_name")
    return None if name is None else "".join(c.lower() if c.isascii() else c for c in name)


class _Merge:
    """One merge into the store of `repo_id`; `remote` is the uploaded commit."""

    def __init__(self, storage, repo_id, remote):
        self.storage = storage
        self.repo_id = repo_id
        self.remote_creator = loaded_creator_name(remote)
        self.conflict = False

    def _rename_file(self, dirent):
        """merge_conflict_filename: the uploaded file's own modifier and mtime."""
        self.conflict = True
        dirent["name"] = conflict_name(dirent["name"], dirent.get("modifier"), dirent["mtime"])

    def _rename_dir(self, dirent):
        """merge_conflict_dirname: the uploaded commit's creator and the current time."""
        self.conflict = True
        dirent["name"] = conflict_name(dirent["name"], self.remote_creator, clock.now())

    def _files(self, dents, out):
        """threeway_merge: the file entries of one name. Renames change the dirents in place, so
        that _dirs sees a renamed directory, as in the C code."""
        base, head, remote = (d if is_file(d) else None for d in dents)
        if head and remote:
            if head["id"] == remote["id"] or (base and base["id"] == remote["id"]):
                out.append(head)
            elif base and base["id"] == head["id"]:
                out.append(remote)
            else:
                self._rename_file(remote)
                out += [head, remote]
        elif base and remote:  # head deleted the file or put a directory there
            if base["id"] != remote["id"]:
                if dents[1] is not None:
                    self._rename_file(remote)
                out.append(remote)
        elif base and head:  # remote deleted the file or put a directory there
            if base["id"] != head["id"]:
                if dents[2] is not None:
                    self._rename_dir(dents[2])
                out.append(head)
        elif remote:  # added by remote; head may have a directory of that name
            if dents[1] is not None and not (dents[0] and dents[0]["id"] == dents[1]["id"]):
                self._rename_file(remote)
            out.append(remote)
        elif head:  # added by head; remote may have a directory of that name
            if dents[2] is not None and not (dents[0] and dents[0]["id"] == dents[2]["id"]):
                self._rename_dir(dents[2])
            out.append(head)

    def _dirs(self, dents, out):
        """merge_directories: the directory entries of one name."""
        base, head, remote = (d if is_dir(d) else None for d in dents)
        mask = sum(1 << i for i, d in enumerate((base, head, remote)) if d)
        if mask in (2, 4):
            out.append(head or remote)
            return
        if mask == 1 or (mask == 3 and base["id"] == head["id"]) or \
                (mask == 5 and base["id"] == remote["id"]):
            return
        if mask in (6, 7):
            if head["id"] == remote["id"] or (base and base["id"] == remote["id"]):
                out.append(head)
                return
            if base and base["id"] == head["id"]:
                out.append(remote)
                return
        merged_id = self.tree(*(d["id"] if d else None for d in (base, head, remote)))
        out.append(dict(remote if mask == 5 else head, id=merged_id))

    def tree(self, base_id, head_id, remote_id):
        """merge_trees_recursive: the id of the merged directory (None = absent on that side)."""
        trees = [load_dir(self.storage, self.repo_id, i) if i else [] for i in (base_id, head_id, remote_id)]
        out = []
        for dents in lockstep(trees):
            dents = [dict(d) if d else None for d in dents]
            if any(is_file(d) for d in dents):
                self._files(dents, out)
            if any(is_dir(d) for d in dents):
                self._dirs(dents, out)
        merged = SeafDir([Dirent.from_dict(d) for d in _unique_names(out)])
        if merged.id not in (EMPTY_SHA1, head_id, remote_id):
            self.storage.write("fs", self.repo_id, merged.id, compress(merged.to_json()))
        return merged.id


def _unique_names(dirents):
    taken = set()
    for dirent in dirents:
        while dirent["name"] in taken:
            dirent = dict(dirent, name=dirent["name"] + " (1)")
        taken.add(dirent["name"])
        yield dirent


def merge_description(storage, repo_id, merged_root, head_root, remote_root):
    """gen_merge_description: the files of the merged tree that differ from both parents
    (threeway_diff_files; a name both parents have always stays, so there are no deletions or
    renames), as diff_results_to_description words them. The C code prepends each entry, so the
    file named is the LAST one visited. None when no file differs."""
    paths = []

    def files(basedir, entries):
        merged = entries[0]
        if merged and not any(p and dirent_same(merged, p) for p in entries[1:]):
            paths.append(basedir + merged["name"])

    diff_trees(storage, repo_id, [merged_root, head_root, remote_root], files, lambda _b, _d: True)
    if not paths:
        return None
    first = posixpath.basename(paths[-1])
    if len(paths) == 1:
        return 'Added or modified "%s".\n' % first
    return 'Added or modified "%s" and %d more files.\n' % (first, len(paths) - 1)


def merge_commit(storage, repo_id, base, head, remote):
    """Merge the trees of commit dicts base/head/remote; write and return the merge Commit."""
    merge = _Merge(storage, repo_id, remote)
    root_id = merge.tree(base["root_id"], head["root_id"], remote["root_id"])
    description = AUTO_MERGE
    if merge.conflict:
        description = merge_description(storage, repo_id, root_id, head["root_id"],
                                        remote["root_id"]) or AUTO_MERGE
    fields = {key: head[key] for key in _INHERITED if key in head}
    commit = Commit(root_id, repo_id, EMPTY_SHA1, description, clock.now(), parent_id=head["commit_id"],
                    second_parent_id=remote["commit_id"], creator_name=merge.remote_creator,
                    encrypted=head.get("encrypted") == "true", version=head.get("version", 0),
                    new_merge=1, conflict=int(merge.conflict), **fields)
    storage.add_commit(repo_id, commit.commit_id, commit.to_json())
    return commit
