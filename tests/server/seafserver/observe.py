"""Request log and counters for tests: every answered (or dropped) request of the main ports is
recorded with method, path, status, bytes sent (for a client that went away while the body went
out in pieces -- a bandwidth fault, a cut body --, what did go out), and when it arrived ("start") and was answered
("time"); counters aggregate per route and per block, and count the byte-range answers of
download links (range_gets, range_bytes: 206 answers of /files/ and the bytes sent for them,
headers included). sequential_round_trips() tells how many of a set of logged requests had to
wait for one another."""
import collections
import threading
import time


class Recorder:
    def __init__(self, log_path=None, max_entries=200000):
        self._lock = threading.Lock()
        self._log_path = log_path
        self._entries = collections.deque(maxlen=max_entries)
        self._zero()

    def _zero(self):
        self._entries.clear()
        self._requests = 0
        self._connections = 0
        self._bytes_sent = 0
        self._by_route = collections.Counter()
        self._by_status = collections.Counter()
        self._block_gets = collections.Counter()
        self._range_gets = 0
        self._range_bytes = 0
        self._outcomes = collections.Counter()

    def connection_opened(self):
        with self._lock:
            self._connections += 1

    def record(self, method, path, route, status, bytes_sent, outcome="ok", start=None):
        """Log one request and count it; returns the log entry (see set_outcome). start: when
        the request arrived (default: now)."""
        now = time.time()
        entry = {"time": round(now, 6), "start": round(now if start is None else start, 6),
                 "method": method, "path": path, "route": route, "status": status,
                 "bytes_sent": bytes_sent, "outcome": outcome}
        with self._lock:
            self._entries.append(entry)
            self._requests += 1
            self._bytes_sent += bytes_sent
            self._by_route["%s %s" % (method, route)] += 1
            self._by_status[str(status)] += 1
            self._outcomes[outcome] += 1
            if route == "block" and method == "GET":
                self._block_gets[path.rstrip("/").rsplit("/", 1)[-1]] += 1
            if route == "files" and method == "GET" and status == 206:
                self._range_gets += 1
                self._range_bytes += bytes_sent
            if self._log_path:
                with open(self._log_path, "a", encoding="utf-8") as f:
                    f.write("%(time).3f %(method)s %(path)s %(status)s %(bytes_sent)s %(route)s "
                            "%(outcome)s\n" % entry)
        return entry

    def set_outcome(self, entry, outcome, bytes_sent=None):
        """Correct the outcome of a recorded request (e.g. the client went away mid-send) and,
        when known, the bytes that did go out (counters included)."""
        with self._lock:
            self._outcomes[entry["outcome"]] -= 1
            self._outcomes[outcome] += 1
            entry["outcome"] = outcome
            if bytes_sent is not None and bytes_sent < entry["bytes_sent"]:
                less = entry["bytes_sent"] - bytes_sent
                self._bytes_sent -= less
                if entry["route"] == "files" and entry["method"] == "GET" and entry["status"] == 206:
                    self._range_bytes -= less
                entry["bytes_sent"] = bytes_sent

    def log(self):
        with self._lock:
            return list(self._entries)

    def counters(self):
        with self._lock:
            return {"requests": self._requests, "connections": self._connections,
                    "bytes_sent": self._bytes_sent, "by_route": dict(self._by_route),
                    "by_status": dict(self._by_status), "block_gets": dict(self._block_gets),
                    "range_gets": self._range_gets, "range_bytes": self._range_bytes,
                    "outcomes": dict(self._outcomes)}

    def reset(self):
        with self._lock:
            self._zero()


def sequential_round_trips(entries):
    """The longest chain of logged requests in which each one arrived after the one before it
    was answered: the round trips a client made one after another (requests that overlap in time
    were in flight together and count once)."""
    chain = []  # (answered, chain length ending there), by answer time
    longest = 0
    for entry in sorted(entries, key=lambda e: e["start"]):
        before = max((n for answered, n in chain if answered <= entry["start"]), default=0)
        chain.append((entry["time"], before + 1))
        longest = max(longest, before + 1)
    return longest
