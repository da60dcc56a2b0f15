"""Throughput benchmark of the reference server over the captured vectors (not a test):
PYTHONPATH=tests/server /usr/bin/python3 -m seafserver.bench  -> one JSON line of figures."""
import http.client
import json
import os
import tempfile
import time

from .testing import VECTORS_DIR, SeafServer, write_state
from .vectors import DOCS_REPO_ID, captured_ids, state_from_vectors

DOCS = DOCS_REPO_ID
BIG_BLOCK = "d69fb62bc316eb134d8781aacea308955a9ce970"


def timed(conn, method, path, headers, body=None, repeat=1):
    """Seconds per request and bytes per response of `repeat` requests on one connection."""
    start = time.perf_counter()
    size = 0
    for _ in range(repeat):
        conn.request(method, path, body=body, headers=headers)
        size = len(conn.getresponse().read())
    return (time.perf_counter() - start) / repeat, size


def main():
    token = {"Seafile-Repo-Token": captured_ids(VECTORS_DIR)["TD"]}
    ids = captured_ids(VECTORS_DIR)
    with tempfile.TemporaryDirectory() as data:
        write_state(data, state_from_vectors(VECTORS_DIR))
        with SeafServer(data, storage=os.path.join(VECTORS_DIR, "storage")) as server:
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
            repo = "/seafhttp/repo/%s/" % DOCS
            small, _ = timed(conn, "GET", "/seafhttp/protocol-version", {}, repeat=500)
            block, size = timed(conn, "GET", repo + "block/" + BIG_BLOCK, token, repeat=50)
            fs_list, _ = timed(conn, "GET", repo + "fs-id-list/?server-head=" + ids["HEAD"], token, repeat=20)
            with open(os.path.join(VECTORS_DIR, "http", "request-bodies", "packfs-all.json"), "rb") as f:
                pack_body = f.read()
            pack, pack_size = timed(conn, "POST", repo + "pack-fs/", token, pack_body, repeat=20)
            conn.close()
    print(json.dumps({
        "small_requests_per_s": round(1 / small),
        "block_1MiB_MB_per_s": round(size / block / 1e6, 1),
        "fs_id_list_docs_215_ids_ms": round(fs_list * 1000, 2),
        "pack_fs_docs_215_objects_ms": round(pack * 1000, 2),
        "pack_fs_bytes": pack_size,
    }))


if __name__ == "__main__":
    main()
