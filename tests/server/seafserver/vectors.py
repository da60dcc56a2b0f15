"""State for the captured real-server vectors (vectors/real-server): the three users of INDEX.md,
every library of repos.json with its head and encryption fields, SharedRO owned by
other@example.com and shared read-only to user@example.com, and the CAPTURED tokens, so that the
requests of http/REQUESTS.tsv can be replayed verbatim against the reference server."""
import json
import os

USERS = {
    "user@example.com": {"password": "secret", "name": "user", "quota": -2, "is_staff": False},
    "other@example.com": {"password": "secret2", "name": "other", "quota": -2, "is_staff": False},
    "admin@example.com": {"password": "adminpw", "name": "admin", "quota": -2, "is_staff": True},
}
# The repo id of the vectors' "Docs" library (repos.json).
DOCS_REPO_ID = "c4910f68-4419-472d-8790-7d453cca13f4"
# File keys (hex key, hex iv) of the encrypted vector libraries for their password (INDEX.md,
# "Encryption"); the blocks of these libraries are encrypted with them.
FILE_KEYS = {
    "Secret": ("2c5c08abc37c1faa02e3ef7294e53ef6cbc41c0b99e97e9f57f3849d98f0fed3",
               "8938bafc4590cb809460c1c59b867da8"),
    "Secret4": ("ea821b922a8c56a152c4f61fa66345e7f6e60dac40e0ef916ce5db398301c97e",
                "8466b62fca898acf91bf61e93510a72b"),
}
# Keys of http/request-bodies/captured-ids-and-tokens.txt holding repo tokens, by library name.
TOKEN_KEYS = {"TD": "Docs", "TS": "Secret", "TR": "SharedRO"}
API_TOKEN_KEY = "API"
API_TOKEN_USER = "user@example.com"
WEB_TOKEN_KEY = "WT"


def captured_ids(vectors_dir):
    """{KEY: value} of http/request-bodies/captured-ids-and-tokens.txt (HEAD, TD, API, ...)."""
    path = os.path.join(vectors_dir, "http", "request-bodies", "captured-ids-and-tokens.txt")
    with open(path, encoding="utf-8") as f:
        return dict(item.split("=", 1) for item in f.read().split())


def _repo_desc(vectors_dir, repo_id, head):
    path = os.path.join(vectors_dir, "storage", "commits", repo_id, head[:2], head[2:])
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("repo_desc", "")


def state_from_vectors(vectors_dir):
    """The state dict (state.json shape) serving vectors_dir/storage with the captured tokens."""
    with open(os.path.join(vectors_dir, "repos.json"), encoding="utf-8") as f:
        repos = json.load(f)
    ids = captured_ids(vectors_dir)
    libraries = {}
    for name, repo in repos.items():
        libraries[repo["repo_id"]] = {
            "name": repo["name"], "desc": _repo_desc(vectors_dir, repo["repo_id"], repo["head_commit_id"]),
            "owner": repo["owner"], "head": repo["head_commit_id"], "version": repo["version"],
            "status": "normal", "encrypted": repo["encrypted"], "enc_version": repo["enc_version"],
            "magic": repo["magic"], "random_key": repo["random_key"], "salt": repo["salt"],
            "shares": dict(repo["shared_to"]),
        }
    by_name = {repo["name"]: repo for repo in repos.values()}
    repo_tokens = {}
    for key, lib_name in TOKEN_KEYS.items():
        repo_tokens[ids[key]] = {"repo_id": by_name[lib_name]["repo_id"], "email": API_TOKEN_USER,
                                 "peer_id": None}
    return {
        "accounts": json.loads(json.dumps(USERS)),
        "libraries": libraries,
        "api_tokens": {ids[API_TOKEN_KEY]: API_TOKEN_USER},
        "repo_tokens": repo_tokens,
        "web_tokens": {ids[WEB_TOKEN_KEY]: web_token_entry(ids, by_name["Docs"]["repo_id"])},
    }


def web_token_entry(ids, docs_repo_id):
    """The captured one-time web access token (key WT): README.md of Docs (file id FID)."""
    return {"repo_id": docs_repo_id, "file_id": ids["FID"], "name": "README.md", "email": API_TOKEN_USER,
            "one_time": True}
