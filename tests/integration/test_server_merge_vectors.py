"""Replays the server-side merges and error answers captured from the real seaf-server
(vectors/real-server/merge/, INDEX.md "Server-side merges of concurrent uploads") against the
reference server.

Scenarios S1..S14: a library at the captured "Created library" commit gets the captured base
commit, then X (S1: its captured requests; the others, whose X requests were not kept, uploaded
the same way from scenarios.json), then Y's captured requests verbatim. Every answer must match
the capture (status, reason, Content-Type, body); with the server clock fixed at the captured
merge ctime the merge commit is byte-identical to S<k>/commits/head.json (and the captured
GET commit/HEAD and GET commit/<merge> answers are too); with the real clock it differs only in
ctime, commit_id and the time in directory conflict names. The merged tree (paths, ids, modes,
mtimes, sizes, modifiers, contents) must be scenarios.json's.

Errors: the captured base upload of the MergeLab library, then every probe of errors.json /
http-errors/ in the captured order, with the MergeLab library and a read-only share set up as
captured; each answer (or its absence) and whether the head moved must match."""
import calendar
import hashlib
import json
import pathlib
import re
import time

import pytest

from replay import load_exchanges, send
from syncclient import SyncClient, pack
from seafserver.objects import (EMPTY_SHA1, MODE_DIR, Commit, Dirent, SeafDir, SeafFile, compress,
                                compute_commit_id)
from seafserver.packfs import parse_packed_objects
from seafserver.storage import Storage
from seafserver.testing import VECTORS_DIR, SeafServer, write_state
from seafserver.vectors import USERS

MERGE = pathlib.Path(VECTORS_DIR) / "merge"
SCENARIOS = json.loads((MERGE / "scenarios.json").read_text(encoding="utf-8"))
ERRORS = json.loads((MERGE / "errors.json").read_text(encoding="utf-8"))
BASE_UPLOAD = load_exchanges(MERGE / "http-base-upload")  # MergeLab's, before the error probes
PROBES = load_exchanges(MERGE / "http-errors")
USER, OTHER = SCENARIOS["users"]["X"], SCENARIOS["users"]["Y"]
SERVER_ENV = {"TZ": SCENARIOS["server_timezone"]}  # conflict names use the server's local time
FRONT_HEADERS = {"server", "date", "connection"}  # added by the capture's nginx front
NO_ANSWER_WAIT = 3  # seconds to wait for an answer that must not come
CONFLICT_STAMP = re.compile(r"(?<= \(SFConflict )(\S+) (\d{4}(?:-\d\d){5})(?=\))")
OK = {"status": 200, "reason": "OK", "body": ""}


def all_ok(steps):
    """Every status of an upload's {step: status or [statuses]} is 200."""
    return all(status == 200 for value in steps.values()
               for status in (value if isinstance(value, list) else [value]))


def by_id(items):
    return [pytest.param(item, id=item["id"]) for item in items]


# --- captured data -----------------------------------------------------------------------------

def commit_file(scenario, name):
    return (MERGE / scenario["commit_files"][name]).read_bytes()


def token_of(exchange):
    return exchange.headers["Seafile-Repo-Token"]


def tree_objects(tree):
    """(root id, {fs id: stored bytes}, {block id: bytes}) of a scenarios.json tree, one block per
    file as the capture's uploader made them; every id is checked against the tree's."""
    objects, blocks = {}, {}

    def build(prefix):
        dirents = []
        for path, entry in tree.items():
            name = path[len(prefix):].rstrip("/")
            if not path.startswith(prefix) or not name or "/" in name:
                continue
            if entry["type"] == "dir":
                dir_id = build(path)
                assert dir_id == entry["id"], path
                dirents.append(Dirent(name, dir_id, MODE_DIR, entry["mtime"]))
                continue
            content = entry["content"].encode("utf-8")
            assert hashlib.sha1(content).hexdigest() == entry["sha1"] and len(content) == entry["size"]
            seaf_file = SeafFile([entry["sha1"]] if content else [], len(content))
            assert seaf_file.id == entry["id"], path
            if content:
                objects[seaf_file.id] = compress(seaf_file.to_json())
                blocks[entry["sha1"]] = content
            dirents.append(Dirent(name, entry["id"], entry["mode"], entry["mtime"], entry["modifier"],
                                  entry["size"]))
        seaf_dir = SeafDir(dirents)
        if seaf_dir.id != EMPTY_SHA1:
            objects[seaf_dir.id] = compress(seaf_dir.to_json())
        return seaf_dir.id

    return build(""), objects, blocks


# --- the server --------------------------------------------------------------------------------

def lab_state(libraries, tokens):
    """State with the captured users, `libraries` ({repo_id: fields}) and sync tokens
    ({token: (repo_id, email)})."""
    return {
        "accounts": json.loads(json.dumps(USERS)),
        "libraries": libraries,
        "repo_tokens": {token: {"repo_id": repo_id, "email": email, "peer_id": None}
                        for token, (repo_id, email) in tokens.items()},
    }


def fileserver(server, method, repo_id, token, endpoint, body=b"", timeout=10):
    return send(server.port, method, "/seafhttp/repo/%s/%s" % (repo_id, endpoint),
                {"Seafile-Repo-Token": token}, body, timeout=timeout)


def head_of(server, repo_id, token):
    return json.loads(fileserver(server, "GET", repo_id, token, "commit/HEAD")[3])["head_commit_id"]


def replay(server, exchange, timeout=10):
    """(status, reason, headers, body) of a captured request sent again exactly as captured."""
    return send(server.port, exchange.method, exchange.target, exchange.headers, exchange.body,
                timeout=timeout)


def assert_answer_as_captured(exchange, answer):
    status, reason, headers, body = answer
    assert (status, reason, body) == (exchange.status, exchange.reason, exchange.response_body), exchange.name
    expected = {k: v for k, v in exchange.response_headers.items() if k not in FRONT_HEADERS}
    assert headers == expected, exchange.name


def upload(server, repo_id, token, commit_raw, tree, known_tree=None):
    """Upload a commit in the official client's order, as the capture's uploader did: only the fs
    objects and blocks `known_tree` lacks. ({step: status}, update-branch {status, reason, body})
    in the shape of scenarios.json's x_steps / x_update_branch."""
    commit = json.loads(commit_raw)
    root_id, objects, blocks = tree_objects(tree)
    assert root_id == commit["root_id"]
    _root, known_objects, known_blocks = tree_objects(known_tree or {})
    new_objects = [i for i in objects if i not in known_objects]
    new_blocks = [b for b in blocks if b not in known_blocks]

    def call(method, endpoint, body=b""):
        return fileserver(server, method, repo_id, token, endpoint, body)

    delta = sum(len(blocks[b]) for b in new_blocks)
    steps = {"permission_check": call("GET", "permission-check/?op=upload")[0],
             "quota_check": call("GET", "quota-check/?delta=%d" % delta)[0],
             "put_commit": call("PUT", "commit/" + commit["commit_id"], commit_raw)[0]}
    status, _reason, _headers, needed = call("POST", "check-fs/", json.dumps(new_objects).encode())
    steps["check_fs"] = status
    steps["recv_fs"] = call("POST", "recv-fs/", pack([(i, objects[i]) for i in json.loads(needed)]))[0]
    if new_blocks:
        status, _reason, _headers, needed = call("POST", "check-blocks/", json.dumps(new_blocks).encode())
        steps["check_blocks"] = status
        steps["put_block"] = [call("PUT", "block/" + b, blocks[b])[0] for b in json.loads(needed)]
    status, reason, _headers, body = call("PUT", "commit/HEAD/?head=" + commit["commit_id"])
    return steps, {"status": status, "reason": reason, "body": body.decode()}


def server_tree(client, commit_id):
    """The tree of a commit as the server serves it, in scenarios.json's shape."""
    tree = {}
    for path, dirent in client.tree(commit_id).items():
        if dirent["mode"] == MODE_DIR:
            tree[path + "/"] = {"type": "dir", "id": dirent["id"], "mtime": dirent["mtime"]}
            continue
        content = client.read_file(dirent)
        tree[path] = {"type": "file", "id": dirent["id"], "size": dirent["size"], "mtime": dirent["mtime"],
                      "modifier": dirent["modifier"], "mode": dirent["mode"],
                      "sha1": hashlib.sha1(content).hexdigest(), "content": content.decode("utf-8")}
    return tree


# --- scenarios ---------------------------------------------------------------------------------

class Lab:
    """A scenario's library on a fresh server, at the captured base commit, X not yet uploaded."""

    def __init__(self, server_factory, tmp_path, scenario):
        self.scenario = scenario
        self.repo_id = scenario["repo_id"]
        captured_x = scenario["http_files"]["x"]
        self.x_exchanges = load_exchanges(MERGE / captured_x) if captured_x else None
        self.y_exchanges = load_exchanges(MERGE / scenario["http_files"]["y"])
        # The X uploads without captured requests get a sync token of their own.
        self.x_token = (token_of(self.x_exchanges[0]) if self.x_exchanges
                        else hashlib.sha1(("X " + self.repo_id).encode()).hexdigest())
        self.y_token = token_of(self.y_exchanges[0])
        commits = scenario["commits"]
        storage = tmp_path / "storage"
        Storage(str(storage)).write("commits", self.repo_id, commits["init"], commit_file(scenario, "init"))
        base = json.loads(commit_file(scenario, "base"))
        library = {"name": scenario["library"], "desc": base["repo_desc"], "owner": USER,
                   "head": commits["init"], "shares": {OTHER: "rw"}}
        state = lab_state({self.repo_id: library}, {self.x_token: (self.repo_id, USER),
                                                    self.y_token: (self.repo_id, OTHER)})
        self.server = server_factory(state=state, storage=str(storage), env=SERVER_ENV)
        steps, update = upload(self.server, self.repo_id, self.x_token, commit_file(scenario, "base"),
                               scenario["trees"]["base"])
        assert update == OK and all_ok(steps)
        assert self.head() == commits["base"]

    def head(self):
        return head_of(self.server, self.repo_id, self.y_token)

    def upload_x(self):
        """X: its captured requests (answers compared) or the same upload built from the trees."""
        scenario = self.scenario
        if self.x_exchanges:
            for exchange in self.x_exchanges:
                assert_answer_as_captured(exchange, replay(self.server, exchange))
        else:
            steps, update = upload(self.server, self.repo_id, self.x_token, commit_file(scenario, "x"),
                                   scenario["trees"]["x"], scenario["trees"]["base"])
            assert (steps, update) == (scenario["x_steps"], scenario["x_update_branch"])
        assert self.head() == scenario["commits"]["x"] == scenario["x_head_after"]

    def commit(self, commit_id):
        return fileserver(self.server, "GET", self.repo_id, self.y_token, "commit/" + commit_id)[3]

    def merged_tree(self, head):
        return server_tree(SyncClient(self.server.port, self.repo_id, self.y_token), head)

    def assert_uploaded_commits_stored_as_sent(self):
        for name in ("init", "base", "x", "y"):
            assert self.commit(self.scenario["commits"][name]) == commit_file(self.scenario, name), name


@pytest.mark.parametrize("scenario", by_id(SCENARIOS["scenarios"]))
def test_merge_is_byte_identical_with_the_captured_clock(server_factory, tmp_path, scenario):
    lab = Lab(server_factory, tmp_path, scenario)
    lab.upload_x()
    lab.server.fix_clock(scenario["merge_commit"]["ctime"])
    for exchange in lab.y_exchanges:  # ends with GET commit/HEAD and GET commit/<merge commit>
        assert_answer_as_captured(exchange, replay(lab.server, exchange))
    head = lab.head()
    assert head == scenario["commits"]["head_after_y"] == scenario["y_head_after"]
    assert lab.commit(head) == commit_file(scenario, "head")
    assert lab.merged_tree(head) == scenario["trees"]["merged"]
    lab.assert_uploaded_commits_stored_as_sent()


def stamps_to_now(tree, is_now):
    """`tree` with the time of every conflict name for which is_now(seconds since the epoch)
    holds replaced by NOW (the server's time zone is UTC)."""
    def replace(match):
        seconds = calendar.timegm(time.strptime(match.group(2), "%Y-%m-%d-%H-%M-%S"))
        return match.group(1) + " " + ("NOW" if is_now(seconds) else match.group(2))
    return {CONFLICT_STAMP.sub(replace, path): entry for path, entry in tree.items()}


@pytest.mark.parametrize("scenario", by_id(SCENARIOS["scenarios"]))
def test_merge_with_the_real_clock_differs_only_in_time(server_factory, tmp_path, scenario):
    lab = Lab(server_factory, tmp_path, scenario)
    lab.upload_x()
    *uploads, _get_head, _get_merge = lab.y_exchanges
    started = int(time.time())
    for exchange in uploads:
        assert_answer_as_captured(exchange, replay(lab.server, exchange))
    finished = int(time.time())
    head = lab.head()
    got = json.loads(lab.commit(head))
    expected = json.loads(commit_file(scenario, "head"))
    assert list(got) == list(expected) == scenario["merge_commit"]["keys_in_order"]
    assert started <= got["ctime"] <= finished
    assert got["commit_id"] == head == compute_commit_id(got["root_id"], got["creator"], got["creator_name"],
                                                         got["description"], got["ctime"])
    tree = lab.merged_tree(head)
    merged = stamps_to_now(tree, lambda t: started <= t <= finished)
    assert merged == stamps_to_now(scenario["trees"]["merged"], lambda t: t == expected["ctime"])
    time_dependent = {"ctime", "commit_id"}
    if merged != tree:  # a directory conflict copy: the root directory holds the time
        time_dependent.add("root_id")
    assert {k: v for k, v in got.items() if k not in time_dependent} == \
        {k: v for k, v in expected.items() if k not in time_dependent}


def test_scenarios_cover_the_index():
    """17 scenarios, each with its five commits and Y's capture; only S1 kept X's requests."""
    ids = [s["id"] for s in SCENARIOS["scenarios"]]
    assert ids == ["S%d" % k for k in range(1, 9)] + ["S9a", "S9b", "S9c", "S9d"] + \
        ["S%d" % k for k in range(10, 15)]
    for scenario in SCENARIOS["scenarios"]:
        assert all((MERGE / path).is_file() for path in scenario["commit_files"].values())
        head = json.loads(commit_file(scenario, "head"))
        summary = dict(scenario["merge_commit"])
        assert summary.pop("keys_in_order") == list(head)
        assert summary == {key: head.get(key) for key in summary}
        assert head["commit_id"] == scenario["commits"]["head_after_y"]
    assert [s["id"] for s in SCENARIOS["scenarios"] if s["http_files"]["x"]] == ["S1"]


def test_trees_rebuild_the_captured_uploads():
    """The fs objects and blocks rebuilt from scenarios.json's trees are byte for byte those the
    capture's uploader sent: the base upload's recv-fs records and blocks, and every record of
    Y's recv-fs. So the X uploads built from the trees send what the real server got."""
    sent = {e.name.split("-", 2)[2]: e for e in BASE_UPLOAD}
    _root_id, objects, blocks = tree_objects(SCENARIOS["scenarios"][0]["trees"]["base"])
    assert dict(parse_packed_objects(sent["recv-fs"].body)) == objects
    sent_blocks = {e.target.rsplit("/", 1)[1]: e.body for name, e in sent.items() if name.startswith("block_")}
    assert sent_blocks == blocks
    for scenario in SCENARIOS["scenarios"]:
        _root_id, objects, _blocks = tree_objects(scenario["trees"]["y"])
        y_upload = load_exchanges(MERGE / scenario["http_files"]["y"])
        [recv] = [e for e in y_upload if e.name.endswith("recv-fs")]
        assert all(objects[i] == data for i, data in parse_packed_objects(recv.body)), scenario["id"]


def created_library_commit(repo_id, owner, name, desc, ctime):
    """The "Created library" commit seaf-server makes for a new library."""
    return Commit(EMPTY_SHA1, repo_id, EMPTY_SHA1, "Created library", ctime, creator_name=owner,
                  repo_name=name, repo_desc=desc, no_local_history=1, version=1)


def test_created_library_commits_are_rebuilt_byte_for_byte():
    for scenario in SCENARIOS["scenarios"]:
        init = json.loads(commit_file(scenario, "init"))
        commit = created_library_commit(scenario["repo_id"], USER, init["repo_name"], init["repo_desc"],
                                        init["ctime"])
        assert commit.to_json() == commit_file(scenario, "init")


# --- error probes ------------------------------------------------------------------------------

# The ctimes of MergeLab's "Created library" commit and of the merge commit the last probe made:
# the only ones that give errors.json's init_commit and head_at_end ids.
MERGELAB_INIT_CTIME = 1796623912
MERGELAB_MERGE_CTIME = 1796623922


def repo_of(exchange):
    return exchange.target.split("/")[3]


@pytest.fixture(scope="module")
def error_lab(tmp_path_factory):
    """A server with MergeLab (at its "Created library" commit, owned by user@, as captured) and
    a library shared read-only to user@ (the probes' SharedRO), its clock fixed at the time of
    the captured merge; the base upload and every probe replayed in the captured order.
    Yields (server, {exchange name: (exchange, answer or None, whether the head moved)})."""
    lab, shared = ERRORS["repo_id"], repo_of(PROBES[-1])
    desc = json.loads(BASE_UPLOAD[2].body)["repo_desc"]
    inits = {lab: created_library_commit(lab, USER, ERRORS["library"], desc, MERGELAB_INIT_CTIME),
             shared: created_library_commit(shared, OTHER, "SharedRO", "", MERGELAB_INIT_CTIME)}
    assert inits[lab].commit_id == ERRORS["init_commit"]
    tmp = tmp_path_factory.mktemp("merge-error-lab")
    store = Storage(str(tmp / "storage"))
    for repo_id, commit in inits.items():
        store.write("commits", repo_id, commit.commit_id, commit.to_json())
    libraries = {lab: {"name": ERRORS["library"], "desc": desc, "owner": USER, "head": inits[lab].commit_id},
                 shared: {"name": "SharedRO", "owner": OTHER, "head": inits[shared].commit_id,
                          "shares": {USER: "r"}}}
    tokens = {token_of(BASE_UPLOAD[0]): (lab, USER), token_of(PROBES[-1]): (shared, USER)}
    write_state(str(tmp / "data"), lab_state(libraries, tokens))
    server = SeafServer(str(tmp / "data"), storage=str(tmp / "storage"), env=SERVER_ENV)
    server.start()
    try:
        server.fix_clock(MERGELAB_MERGE_CTIME)
        results = {}
        for exchange in BASE_UPLOAD + PROBES:
            repo_id, token = repo_of(exchange), token_of(exchange)
            before = head_of(server, repo_id, token)
            try:
                answer = replay(server, exchange, NO_ANSWER_WAIT if exchange.status is None else 10)
            except TimeoutError:
                answer = None
            results[exchange.name] = (exchange, answer, head_of(server, repo_id, token) != before)
        yield server, results
    finally:
        server.stop()


@pytest.mark.parametrize("exchange", [pytest.param(e, id=e.name) for e in BASE_UPLOAD])
def test_error_library_base_upload_answers_as_captured(error_lab, exchange):
    _server, results = error_lab
    _exchange, answer, moved = results[exchange.name]
    assert_answer_as_captured(exchange, answer)
    assert moved == exchange.target.startswith("/seafhttp/repo/%s/commit/HEAD/?head=" % ERRORS["repo_id"])


@pytest.mark.parametrize("probe", by_id(ERRORS["probes"]))
def test_error_probe_answers_as_captured(error_lab, probe):
    server, results = error_lab
    exchange, answer, moved = results[probe["file"]]
    assert moved == probe["head_changed"]
    if probe["status"] == 0:  # the real server never answered; the client gave up
        assert exchange.status is None and answer is None
        assert [e["path"] for e in server.log() if e["outcome"] == "hang"] == [exchange.target]
        return
    assert (exchange.status, exchange.reason, exchange.response_body) == \
        (probe["status"], probe["reason"], probe["body"].encode())
    assert_answer_as_captured(exchange, answer)


def test_every_error_capture_is_a_probe():
    assert [p["file"] for p in ERRORS["probes"]] == [e.name for e in PROBES]


def test_update_branch_to_the_head_again_makes_a_merge_commit(error_lab):
    """ub-current-head: the commit that already is the head is merged with itself."""
    server, _results = error_lab
    lab, token = ERRORS["repo_id"], token_of(BASE_UPLOAD[0])
    again = next(e for e in PROBES if e.name.endswith("ub-current-head")).target.rsplit("=", 1)[1]
    head = head_of(server, lab, token)
    assert head == ERRORS["head_at_end"] != again
    merge = json.loads(fileserver(server, "GET", lab, token, "commit/" + head)[3])
    uploaded = json.loads(fileserver(server, "GET", lab, token, "commit/" + again)[3])
    assert merge["parent_id"] == merge["second_parent_id"] == again
    assert (merge["root_id"], merge["description"], merge["creator"], merge["creator_name"]) == \
        (uploaded["root_id"], "Auto merge by system", EMPTY_SHA1, USER)
    assert merge["new_merge"] == 1 and "conflict" not in merge
