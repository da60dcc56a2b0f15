"""Library facts derived from state + storage: head commit, size/file count/mtime of the head
tree (cached per head id), the libraries a user can access, and quota usage of an owner."""
import threading

from .objects import EMPTY_SHA1
from .trees import MissingObject, tree_stats


class Catalog:
    def __init__(self, state, storage):
        self.state = state
        self.storage = storage
        self._stats_cache = {}
        self._cache_lock = threading.Lock()

    def head_commit(self, repo_id):
        lib = self.state.library(repo_id)
        if lib is None or not lib["head"]:
            return None
        return self.storage.read_commit(repo_id, lib["head"])

    def info(self, repo_id):
        """State record of a library extended with head-derived facts, or None if unknown.

        Adds: root_id, mtime (head ctime), modifier (head creator_name), size, file_count.
        """
        lib = self.state.library(repo_id)
        if lib is None:
            return None
        commit = self.head_commit(repo_id) or {}
        lib["id"] = repo_id
        lib["root_id"] = commit.get("root_id", EMPTY_SHA1)
        lib["mtime"] = int(commit.get("ctime", 0))
        lib["modifier"] = (commit.get("creator_name") or lib["owner"]).lower()
        lib["size"], lib["file_count"] = self._stats(repo_id, lib["head"], lib["root_id"])
        return lib

    def _stats(self, repo_id, head, root_id):
        key = (repo_id, head)
        with self._cache_lock:
            if key in self._stats_cache:
                return self._stats_cache[key]
        try:
            stats = tree_stats(self.storage, repo_id, root_id)
        except MissingObject:
            stats = (0, 0)
        with self._cache_lock:
            self._stats_cache[key] = stats
        return stats

    def accessible(self, email):
        """[(info, type, permission)] for the user: owned ('repo') first, then shares ('srepo');
        each group newest first (mtime descending, then repo id), as seaf-server lists them."""
        owned, shared = [], []
        for repo_id in self.state.library_ids():
            perm = self.state.permission(repo_id, email)
            if perm is None:
                continue
            info = self.info(repo_id)
            if info["owner"] == email:
                owned.append((info, "repo", "rw"))
            else:
                shared.append((info, "srepo", perm))
        order = lambda item: (-item[0]["mtime"], item[0]["id"])  # noqa: E731
        return sorted(owned, key=order) + sorted(shared, key=order)

    def usage(self, email):
        """Bytes used by the libraries `email` owns (the quota counts the owner's libraries)."""
        total = 0
        for repo_id in self.state.library_ids():
            lib = self.state.library(repo_id)
            if lib["owner"] == email:
                total += self.info(repo_id)["size"]
        return total

    def over_quota(self, owner, delta=0):
        """True when the owner's usage + delta reaches the quota (negative quota = unlimited)."""
        account = self.state.account(owner) or {}
        quota = int(account.get("quota", -2))
        if quota < 0:
            return False
        return self.usage(owner) + delta >= quota
