"""Every fault of the reference server, observed from a client: latency, bandwidth cap, injected
500/503 (counted, seeded probability, route pattern), connection reset mid-body, stalled
response, corrupted block, server unreachable; plus the request log and counters. Timing
assertions are lower bounds only."""
import hashlib
import http.client
import socket
import threading
import time

import pytest

from replay import send
from seafserver.testing import VECTORS_DIR, ServerError
from seafserver.vectors import DOCS_REPO_ID, captured_ids

DOCS = DOCS_REPO_ID
BIG_BLOCK = "d69fb62bc316eb134d8781aacea308955a9ce970"  # 1 MiB block of Docs
SMALL_BLOCK = "36ec5985dac28bd7c7f60fb66a61b84125080d28"  # README.md, 56 bytes
TOKEN = captured_ids(VECTORS_DIR)["TD"]


def get_block(server, block_id, timeout=10):
    return send(server.port, "GET", "/seafhttp/repo/%s/block/%s" % (DOCS, block_id),
                {"Seafile-Repo-Token": TOKEN}, timeout=timeout)


def test_latency_delays_each_response(fault_server):
    fault_server.set_faults(latency_ms=300)
    start = time.monotonic()
    assert send(fault_server.port, "GET", "/seafhttp/protocol-version")[0] == 200
    assert time.monotonic() - start >= 0.25
    assert fault_server.control("GET", "/faults")["latency_ms"] == 300


def test_bandwidth_cap_slows_bodies_but_keeps_them_intact(fault_server):
    fault_server.set_faults(bandwidth_bps=4 << 20)
    start = time.monotonic()
    status, _r, _h, body = get_block(fault_server, BIG_BLOCK)
    assert time.monotonic() - start >= 0.2
    assert status == 200 and hashlib.sha1(body).hexdigest() == BIG_BLOCK


def test_next_n_matching_requests_get_the_injected_status(fault_server):
    fault_server.set_faults(error={"status": 503, "count": 2, "match": "/block/"})
    assert send(fault_server.port, "GET", "/seafhttp/protocol-version")[0] == 200
    assert [get_block(fault_server, SMALL_BLOCK)[0] for _ in range(3)] == [503, 503, 200]


def test_probability_errors_are_seeded_and_reproducible(fault_server):
    def run():
        fault_server.set_faults(seed=7, error={"status": 500, "probability": 0.5})
        return [send(fault_server.port, "GET", "/seafhttp/protocol-version")[0] for _ in range(30)]

    first = run()
    assert set(first) == {200, 500}
    assert run() == first
    fault_server.clear_faults()
    assert send(fault_server.port, "GET", "/seafhttp/protocol-version")[0] == 200


def test_reset_cuts_the_body(fault_server):
    fault_server.set_faults(reset={"count": 1, "match": BIG_BLOCK, "at": 0.25})
    with pytest.raises((http.client.IncompleteRead, ConnectionResetError)):
        get_block(fault_server, BIG_BLOCK)
    status, _r, _h, body = get_block(fault_server, BIG_BLOCK)
    assert status == 200 and len(body) == 1 << 20
    outcomes = [e["outcome"] for e in fault_server.log() if BIG_BLOCK in e["path"]]
    assert outcomes == ["reset", "ok"]


def test_stall_times_out_the_client_and_is_released_by_clearing(fault_server):
    fault_server.set_faults(stall={"match": "/block/", "after_bytes": 1000})
    with pytest.raises((TimeoutError, socket.timeout)):
        get_block(fault_server, BIG_BLOCK, timeout=0.5)
    errors = []

    def stalled_reader():
        try:
            get_block(fault_server, BIG_BLOCK, timeout=30)
        except Exception as exc:  # the release closes the connection mid-body
            errors.append(exc)

    reader = threading.Thread(target=stalled_reader)
    reader.start()
    time.sleep(0.3)
    fault_server.clear_faults()
    reader.join(10)
    assert not reader.is_alive()
    assert errors and isinstance(errors[0], (http.client.IncompleteRead, ConnectionError))
    assert get_block(fault_server, BIG_BLOCK)[0] == 200


def test_corrupted_block_fails_the_sha1_check(fault_server):
    fault_server.set_faults(corrupt_block={"block_id": BIG_BLOCK})
    status, _r, _h, body = get_block(fault_server, BIG_BLOCK)
    assert status == 200 and len(body) == 1 << 20
    assert hashlib.sha1(body).hexdigest() != BIG_BLOCK
    assert hashlib.sha1(get_block(fault_server, SMALL_BLOCK)[3]).hexdigest() == SMALL_BLOCK


def test_unreachable_refuses_connections_then_comes_back_on_the_same_port(fault_server):
    idle = http.client.HTTPConnection("127.0.0.1", fault_server.port, timeout=5)
    idle.request("GET", "/seafhttp/protocol-version")
    assert idle.getresponse().read() == b'{"version": 2}'
    fault_server.unreachable()
    with pytest.raises(ConnectionRefusedError):
        send(fault_server.port, "GET", "/seafhttp/protocol-version")
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        idle.request("GET", "/seafhttp/protocol-version")
        idle.getresponse()
    idle.close()
    assert fault_server.control("GET", "/health")["reachable"] is False
    fault_server.reachable()
    status, _r, _h, body = get_block(fault_server, SMALL_BLOCK)
    assert status == 200 and hashlib.sha1(body).hexdigest() == SMALL_BLOCK


def test_unimplemented_method_gets_no_answer_but_does_not_hang(fault_server):
    start = time.monotonic()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError)):
        send(fault_server.port, "DELETE", "/seafhttp/repo/%s/commit/%s" % (DOCS, "0" * 40),
             {"Seafile-Repo-Token": TOKEN}, timeout=5)
    assert time.monotonic() - start < 4
    assert fault_server.log()[-1]["outcome"] == "no-reply"


def test_log_and_counters_record_requests_blocks_and_connections(fault_server):
    fault_server.reset_counters()
    conn = http.client.HTTPConnection("127.0.0.1", fault_server.port, timeout=5)
    for block_id in (SMALL_BLOCK, SMALL_BLOCK, BIG_BLOCK):
        conn.request("GET", "/seafhttp/repo/%s/block/%s" % (DOCS, block_id),
                     headers={"Seafile-Repo-Token": TOKEN})
        conn.getresponse().read()
    conn.close()
    counters = fault_server.counters()
    assert counters["block_gets"] == {SMALL_BLOCK: 2, BIG_BLOCK: 1}
    assert counters["by_route"] == {"GET block": 3}
    assert counters["connections"] == 1
    log = fault_server.log()
    assert [(e["method"], e["status"]) for e in log] == [("GET", 200)] * 3
    assert log[-1]["bytes_sent"] > 1 << 20
    fault_server.reset_counters()
    assert fault_server.counters()["requests"] == 0 and fault_server.log() == []


@pytest.mark.parametrize("spec", [{"nonsense": 1}, {"error": {"match": "("}},
                                  {"error": {"status": "x"}}, {"reset": {"at": 2}},
                                  {"stall": {"count": -1}}, {"error": {"probability": "half"}},
                                  {"latency_ms": -5}, {"corrupt_block": {"blok_id": "x"}}])
def test_bad_fault_spec_is_rejected(fault_server, spec):
    with pytest.raises(ServerError):
        fault_server.control("POST", "/faults", spec)
    assert fault_server.control("GET", "/faults") == {"latency_ms": 0, "bandwidth_bps": 0}


def test_handler_errors_and_bad_headers_get_clear_answers(fault_server):
    assert send(fault_server.port, "GET", "/api2/repos/", {"Authorization": "   "})[0] == 401
    assert send(fault_server.port, "POST", "/seafhttp/repo/head-commits-multi", {},
                b"\xff\xfe")[0] == 400


def test_parallel_keep_alive_clients_are_served_and_counted(fault_server):
    fault_server.reset_counters()
    blocks = [BIG_BLOCK, SMALL_BLOCK]
    failures = []

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", fault_server.port, timeout=20)
        try:
            for i in range(10):
                block_id = blocks[i % 2]
                conn.request("GET", "/seafhttp/repo/%s/block/%s" % (DOCS, block_id),
                             headers={"Seafile-Repo-Token": TOKEN})
                if hashlib.sha1(conn.getresponse().read()).hexdigest() != block_id:
                    failures.append(block_id)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert failures == []
    counters = fault_server.counters()
    assert counters["connections"] == 6
    assert counters["block_gets"] == {BIG_BLOCK: 30, SMALL_BLOCK: 30}
