"""Library management done through Seahub: create (plain, server-side encrypted with a password,
or client-side encrypted with the client's parameters), rename (a new head commit carrying the
new name, as seaf-server's edit_repo does) and delete."""
import uuid

from . import clock
from .crypto import commit_fields, parameters_from_commit, state_fields, v2_parameters
from .objects import EMPTY_SHA1, is_repo_id

MAX_CLIENT_ENC_VERSION = 2  # server-info announces encrypted_library_version 2
_ENC_FIELDS = ("magic", "random_key", "salt")


class LibraryError(Exception):
    """A request to create or change a library is invalid; carries (status, message)."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def _store_commit(storage, **fields):
    """Write a server-made library commit (no_local_history, version 1) now; return its id."""
    return storage.write_server_commit(clock.now(), no_local_history=1, version=1, **fields).commit_id


def _encryption(form, repo_id):
    """Encryption fields of a new library from the create form, or {} for a plain library."""
    if form.get("passwd"):
        return v2_parameters(repo_id, form["passwd"])
    if not form.get("enc_version"):
        return {}
    try:
        enc_version = int(form["enc_version"])
    except ValueError:
        enc_version = -1
    if not 1 <= enc_version <= MAX_CLIENT_ENC_VERSION:
        raise LibraryError(400, "Invalid enc_version param.")
    fields = {key: form.get(key, "") for key in _ENC_FIELDS}
    if len(fields["magic"]) != 64 or len(fields["random_key"]) != 96:
        raise LibraryError(400, "Invalid encryption params.")
    return dict(fields, enc_version=enc_version)


def create_library(state, storage, owner, form):
    """Create a library from Seahub's create form; returns its repo id."""
    name = form.get("name", "")
    if not name:
        raise LibraryError(400, "Library name is required.")
    if "/" in name:
        raise LibraryError(400, "name invalid.")
    repo_id = form.get("repo_id") or str(uuid.uuid4())
    if not is_repo_id(repo_id) or state.library(repo_id) is not None:
        raise LibraryError(400, "Invalid repo_id param.")
    enc = _encryption(form, repo_id)
    head = _store_commit(storage, root_id=EMPTY_SHA1, repo_id=repo_id, creator_name=owner,
                         description="Created library", repo_name=name,
                         repo_desc=form.get("desc", ""), **commit_fields(enc))
    state.update_library(repo_id, {
        "name": name, "desc": form.get("desc", ""), "owner": owner, "head": head, "version": 1,
        "status": "normal", **state_fields(enc), "shares": {}})
    return repo_id


def rename_library(catalog, repo_id, email, name, desc=None):
    """Give the library a new name through a new head commit (owner only)."""
    state, storage = catalog.state, catalog.storage
    lib = state.library(repo_id)
    if lib["owner"] != email:
        raise LibraryError(403, "Permission denied.")
    if not name or "/" in name:
        raise LibraryError(400, "name invalid.")
    for _attempt in range(3):
        head = catalog.head_commit(repo_id)
        if head is None:
            raise LibraryError(520, "Failed to rename library.")
        inherited = commit_fields(parameters_from_commit(head))
        new_head = _store_commit(
            storage, root_id=head["root_id"], repo_id=repo_id, creator_name=email,
            description="Changed library name or description", parent_id=lib["head"],
            repo_name=name, repo_desc=head.get("repo_desc", "") if desc is None else desc,
            **inherited)
        if state.compare_and_set_head(repo_id, lib["head"], new_head, name):
            if desc is not None:
                state.update_library(repo_id, {"desc": desc})
            return
        lib = state.library(repo_id)
    raise LibraryError(520, "Failed to rename library.")


def delete_library(state, repo_id, email):
    lib = state.library(repo_id)
    if lib["owner"] != email:
        raise LibraryError(403, "Permission denied.")
    state.delete_library(repo_id)
