"""Storage-level guarantees of the reference server: serving the shared vectors never writes to
them, pack-fs stops after the object that brings the data to 1 MiB (clients re-request the rest),
and fs-id-list keeps the real server's duplicates."""
import json
import os
import pathlib
import random
import struct
import subprocess

from replay import load_captures, send
from syncclient import SyncClient, parse_pack
from seafserver.objects import EMPTY_SHA1, Commit, SeafFile, compress
from seafserver.storage import Storage
from seafserver.testing import PACKAGE_PARENT, PYTHON, VECTORS_DIR, write_state
from seafserver.vectors import DOCS_REPO_ID, captured_ids

REPO = "0a0a0a0a-1111-2222-3333-444444444444"
TOKEN = "ab" * 20


def snapshot(root):
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            st = os.stat(os.path.join(directory, name))
            found[os.path.join(directory, name)] = (st.st_size, st.st_mtime_ns)
    return found


def test_serving_the_vectors_never_writes_to_them(vectors_server):
    storage = os.path.join(VECTORS_DIR, "storage")
    before = snapshot(storage)
    for capture in load_captures(pathlib.Path(VECTORS_DIR)):
        port = vectors_server.port if capture.via_seahub_port else vectors_server.ports["fileserver_port"]
        send(port, capture.method, capture.target, capture.headers, capture.body)
    assert snapshot(storage) == before


def synthetic_state():
    return {"accounts": {"u@example.com": {"password": "p", "name": "u", "quota": -2}},
            "libraries": {REPO: {"name": "Synthetic", "owner": "u@example.com", "head": ""}},
            "api_tokens": {}, "repo_tokens": {TOKEN: {"repo_id": REPO, "email": "u@example.com",
                                                      "peer_id": None}}}


def test_pack_fs_stops_at_one_mebibyte_and_the_rest_can_be_fetched(server_factory, tmp_path):
    storage = Storage(str(tmp_path / "store"))
    rng = random.Random(5)
    ids, sizes = [], {}
    for _ in range(60):  # file objects of ~21 KiB compressed each: ~1.3 MiB in total
        blocks = ["%040x" % rng.getrandbits(160) for _ in range(1000)]
        seaf_file = SeafFile(blocks, 1000)
        data = compress(seaf_file.to_json())
        storage.write("fs", REPO, seaf_file.id, data)
        ids.append(seaf_file.id)
        sizes[seaf_file.id] = len(data)
    head = Commit(EMPTY_SHA1, REPO, "0" * 40, "empty", 1700000000, repo_name="Synthetic", version=1)
    storage.write("commits", REPO, head.commit_id, head.to_json())
    state = synthetic_state()
    state["libraries"][REPO]["head"] = head.commit_id
    server = server_factory(state=state, storage=storage.root)
    status, _r, _h, body = send(server.port, "POST", "/seafhttp/repo/%s/pack-fs/" % REPO,
                                {"Seafile-Repo-Token": TOKEN}, json.dumps(ids).encode())
    assert status == 200
    returned = [obj_id for obj_id, _data in parse_pack(body)]
    assert returned == ids[:len(returned)] and len(returned) < len(ids)
    total = sum(sizes[i] for i in returned)
    assert total >= 1 << 20 and total - sizes[returned[-1]] < 1 << 20
    assert struct.unpack(">I", body[40:44])[0] == sizes[ids[0]]
    client = SyncClient(server.port, REPO, TOKEN)
    assert client.fetch_objects(ids) == 2
    assert set(client.objects) == set(ids)
    status, _r, _h, body = send(server.port, "GET", "/seafhttp/repo/%s/fs-id-list/?server-head=%s"
                                % (REPO, head.commit_id), {"Seafile-Repo-Token": TOKEN})
    assert (status, body) == (200, b"[]")


def test_fs_id_list_keeps_duplicates_of_objects_at_several_paths(vectors_server):
    ids = json.loads(send(vectors_server.ports["fileserver_port"], "GET",
                          "/repo/%s/fs-id-list/?server-head="
                          "549115324a52afbcae8894c85814f1b3723b07c5" % DOCS_REPO_ID,
                          {"Seafile-Repo-Token": captured_ids(VECTORS_DIR)["TD"]})[3])
    assert len(ids) > len(set(ids))


def test_invalid_state_file_is_a_clear_startup_error(tmp_path):
    (tmp_path / "state.json").write_text('{"accounts": []}')
    result = subprocess.run([PYTHON, "-m", "seafserver", "--data", str(tmp_path), "--port", "0",
                             "--control-port", "0"], env=dict(os.environ, PYTHONPATH=PACKAGE_PARENT),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "state.json" in result.stderr and "Traceback" not in result.stderr


def test_state_written_by_another_process_is_picked_up(server_factory):
    server = server_factory(state=synthetic_state(), storage=None)
    api = {"Authorization": "Token " + "cd" * 20}
    assert send(server.port, "GET", "/api2/repos/", api)[0] == 401
    changed = synthetic_state()
    changed["libraries"][REPO]["name"] = "Renamed"
    changed["api_tokens"]["cd" * 20] = "u@example.com"
    write_state(server.data_dir, changed)
    status, _r, _h, body = send(server.port, "GET", "/api2/repos/", api)
    assert status == 200 and [r["name"] for r in json.loads(body)] == ["Renamed"]
    with open(os.path.join(server.data_dir, "state.json"), "w") as f:
        f.write("{broken")
    assert send(server.port, "GET", "/api2/repos/", api)[0] == 200
