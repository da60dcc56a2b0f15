"""The checks seaf-server's C file server makes on an uploaded commit (protocol doc §3.7)."""
from .objects import is_object_id

_ENC_LENGTHS = {1: {"magic": 32}, 2: {"magic": 64, "key": 96},
                3: {"magic": 64, "key": 96, "salt": 64}, 4: {"magic": 64, "key": 96, "salt": 64}}


def commit_is_valid(commit, repo_id):
    """The C server's checks on an uploaded commit (§3.7 of the protocol doc)."""
    if not isinstance(commit, dict):
        return False
    if commit.get("repo_id") != repo_id or not is_object_id(commit.get("root_id")):
        return False
    creator = commit.get("creator")
    if not isinstance(creator, str) or len(creator) != 40:
        return False
    for key in ("parent_id", "second_parent_id"):
        if commit.get(key) is not None and not is_object_id(commit.get(key)):
            return False
    if commit.get("encrypted") == "true":
        enc_version = commit.get("enc_version")
        if not isinstance(enc_version, int) or not 0 <= enc_version <= 4:
            return False
        lengths = dict(_ENC_LENGTHS.get(enc_version, {}))
        if "magic" not in commit and "pwd_hash" in commit:
            lengths.pop("magic", None)
        for key, length in lengths.items():
            value = commit.get(key)
            if not isinstance(value, str) or len(value) != length:
                return False
    return True
