"""Server state kept in <data>/state.json: accounts, libraries (head, encryption, shares), tokens.

All access goes through State, which holds a re-entrant lock (the server is threaded) and persists
every mutation atomically (temp file + rename), so a stop/start of the server loses nothing.
Changes written to the file by another process while the server runs are picked up on the next
access.
"""
import contextlib
import copy
import json
import os
import secrets
import sys
import threading

from .testing import write_json

UNLIMITED_QUOTA = -2

_LIBRARY_DEFAULTS = {
    "name": "",
    "desc": "",
    "owner": "",
    "head": "",
    "version": 1,
    "status": "normal",
    "encrypted": False,
    "enc_version": 0,
    "magic": "",
    "random_key": "",
    "salt": "",
    "shares": {},
}
_ACCOUNT_DEFAULTS = {"password": "", "name": "", "quota": UNLIMITED_QUOTA, "is_staff": False}


def empty_state():
    return {"accounts": {}, "libraries": {}, "api_tokens": {}, "repo_tokens": {}, "web_tokens": {}}


def new_token():
    """A fresh 40-hex token (Seafile uses SHA-1 hex strings for API and sync tokens)."""
    return secrets.token_hex(20)


class StateError(ValueError):
    """state.json cannot be read or does not have the documented shape."""


def _normalized(data):
    if not isinstance(data, dict) or not all(isinstance(data.get(k, {}), dict) for k in empty_state()):
        raise StateError("state must be a JSON object whose sections are objects")
    state = empty_state()
    state.update(copy.deepcopy(data))
    for email, account in state["accounts"].items():
        state["accounts"][email] = {**_ACCOUNT_DEFAULTS, **account}
    for repo_id, lib in state["libraries"].items():
        state["libraries"][repo_id] = {**copy.deepcopy(_LIBRARY_DEFAULTS), **lib}
    return state


class State:
    """Thread-safe view of state.json. Methods return copies; mutations are persisted at once."""

    def __init__(self, data_dir):
        self.path = os.path.join(data_dir, "state.json")
        self.lock = threading.RLock()
        self._load()

    # --- persistence --------------------------------------------------------------------

    def _file_stamp(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _load(self):
        stamp = self._file_stamp()
        if stamp is None:
            self._data = empty_state()
        else:
            try:
                with open(self.path, encoding="utf-8") as f:
                    self._data = _normalized(json.load(f))
            except (OSError, ValueError, TypeError) as exc:
                raise StateError("%s: %s" % (self.path, exc)) from exc
        self._stamp = stamp

    @contextlib.contextmanager
    def _current(self):
        """Hold the lock with the state as on disk: changes another process wrote since the
        last load or save (e.g. the library builder moving a head) are picked up. A broken file
        written meanwhile is reported once and the previous state kept."""
        with self.lock:
            if self._file_stamp() != self._stamp:
                try:
                    self._load()
                except StateError as exc:
                    print("seafserver: keeping the previous state: %s" % exc, file=sys.stderr)
                    self._stamp = self._file_stamp()
            yield

    def save(self):
        with self.lock:
            os.makedirs(os.path.dirname(self.path), exist_ok=True)
            write_json(self.path, self._data)
            self._stamp = self._file_stamp()

    def snapshot(self):
        with self._current():
            return copy.deepcopy(self._data)

    # --- accounts -----------------------------------------------------------------------

    def account(self, email):
        with self._current():
            return copy.deepcopy(self._data["accounts"].get(email))

    def update_account(self, email, fields):
        with self._current():
            current = self._data["accounts"].get(email, dict(_ACCOUNT_DEFAULTS))
            self._data["accounts"][email] = {**current, **fields}
            self.save()

    def api_token_for(self, email):
        """The user's API token, minted on first use (Seahub's per-user token)."""
        with self._current():
            for token, owner in sorted(self._data["api_tokens"].items()):
                if owner == email:
                    return token
            token = new_token()
            self._data["api_tokens"][token] = email
            self.save()
            return token

    def email_for_api_token(self, token):
        with self._current():
            return self._data["api_tokens"].get(token)

    # --- libraries ----------------------------------------------------------------------

    def library(self, repo_id):
        with self._current():
            return copy.deepcopy(self._data["libraries"].get(repo_id))

    def library_ids(self):
        with self._current():
            return list(self._data["libraries"])

    def update_library(self, repo_id, fields):
        with self._current():
            current = self._data["libraries"].get(repo_id, copy.deepcopy(_LIBRARY_DEFAULTS))
            self._data["libraries"][repo_id] = {**current, **fields}
            self.save()

    def delete_library(self, repo_id):
        """Forget a library and its sync tokens (its objects stay in storage). False if unknown."""
        with self._current():
            if self._data["libraries"].pop(repo_id, None) is None:
                return False
            tokens = self._data["repo_tokens"]
            for token in [t for t, entry in tokens.items() if entry["repo_id"] == repo_id]:
                del tokens[token]
            self.save()
            return True

    def permission(self, repo_id, email):
        """'rw' for the owner, the share permission ('r'/'rw') for a share, else None."""
        with self._current():
            lib = self._data["libraries"].get(repo_id)
            if lib is None or email is None:
                return None
            if lib["owner"] == email:
                return "rw"
            return lib["shares"].get(email)

    def compare_and_set_head(self, repo_id, expected_head, new_head, new_name=None):
        """Move the library head from `expected_head` to `new_head`; False if it moved meanwhile."""
        with self._current():
            lib = self._data["libraries"].get(repo_id)
            if lib is None or lib["head"] != expected_head:
                return False
            lib["head"] = new_head
            if new_name is not None:
                lib["name"] = new_name
            self.save()
            return True

    # --- sync (repo) tokens ---------------------------------------------------------------

    def mint_repo_token(self, repo_id, email):
        with self._current():
            token = new_token()
            self._data["repo_tokens"][token] = {"repo_id": repo_id, "email": email, "peer_id": None}
            self.save()
            return token

    def repo_token(self, token):
        with self._current():
            return copy.deepcopy(self._data["repo_tokens"].get(token))

    def set_token_peer(self, token, peer_id):
        with self._current():
            entry = self._data["repo_tokens"].get(token)
            if entry is not None and entry.get("peer_id") != peer_id:
                entry["peer_id"] = peer_id
                self.save()

    # --- web access tokens (one-time download links of /seafhttp/files/) -----------------

    def set_web_token(self, token, entry):
        """Store a web access token: {"repo_id", "file_id", "name", "email", "one_time",
        "expires" (Unix seconds; optional)}."""
        with self._current():
            self._data["web_tokens"][token] = dict(entry)
            self.save()

    def use_web_token(self, token, now):
        """The token's entry (removed when it is one-time), or None if unknown or expired at
        `now` (entries without "expires" never expire)."""
        with self._current():
            entry = self._data["web_tokens"].get(token)
            if entry is not None and now >= entry.get("expires", now + 1):
                return None
            if entry is not None and entry.get("one_time", True):
                del self._data["web_tokens"][token]
                self.save()
            return copy.deepcopy(entry)
