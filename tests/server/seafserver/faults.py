"""Fault injection switched at run time through the control API (never applied to control).

Spec (JSON object, merged into the current configuration; a key set to null removes it):
  latency_ms     added delay before every response
  bandwidth_bps  cap on the rate at which response bodies are written
  error          {"status": 500|503, ...selector}      answer matching requests with that status
  reset          {"at": 0.5, ...selector}              send that fraction of the body, then RST
  stall          {"after_bytes": N, ...selector}       send headers + N body bytes (default half),
                                                        then hang until faults are cleared/server stops
  truncate       {"at": 0.5, ...selector}              send that fraction of the body, then close
                                                        cleanly (FIN): a body shorter than its
                                                        Content-Length
  corrupt_block  {"block_id": id|null, ...selector}    flip one byte of served blocks
  ignore_range   {...selector}                         drop the Range header of matching requests
                                                        before they are handled (some proxies do:
                                                        a download link answers 200 with the
                                                        whole file)
  range_answer   {"total_delta": N, "shift": N,        alter matching 206 answers: add N to the
                  "cut_bytes": N, ...selector}          total of their Content-Range, move its
                                                        range by N bytes, drop N bytes off the
                                                        end of the body (Content-Length follows)
  seed           seed of the random generator used by "probability" selectors
Selector keys: "match" (regex searched in the request path), "count" (only the next N matching
requests), "probability" (share of matching requests, seeded). Without count/probability a fault
applies to every matching request.
"""
import random
import re
import threading

_KINDS = ("error", "reset", "truncate", "stall", "corrupt_block", "ignore_range", "range_answer")
_ANY = 1 << 62
# Extra numeric parameters per fault kind: name -> (minimum, maximum or None, integer only).
_PARAMETERS = {"error": {"status": (100, 599, True)}, "reset": {"at": (0, 1, False)},
               "truncate": {"at": (0, 1, False)}, "stall": {"after_bytes": (0, None, True)},
               "corrupt_block": {}, "ignore_range": {},
               "range_answer": {"total_delta": (-_ANY, _ANY, True), "shift": (-_ANY, _ANY, True),
                                "cut_bytes": (0, None, True)}}
_TEXT_PARAMETERS = {"corrupt_block": {"block_id"}}


def _is_number(value, low, high, integer=False):
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        return False
    return value >= low and (high is None or value <= high)


class FaultSpecError(ValueError):
    """The control API received an invalid fault specification."""


class Selector:
    """Decides which requests a fault applies to."""

    def __init__(self, spec, kind):
        if not isinstance(spec, dict):
            raise FaultSpecError("fault selector must be a JSON object")
        allowed = {"match", "count", "probability"} | set(_PARAMETERS[kind]) | _TEXT_PARAMETERS.get(kind, set())
        unknown = set(spec) - allowed
        if unknown:
            raise FaultSpecError("unknown %s keys: %s" % (kind, ", ".join(sorted(unknown))))
        self.spec = dict(spec)
        try:
            self.match = re.compile(spec.get("match") or "")
        except (re.error, TypeError) as exc:
            raise FaultSpecError("bad match regex: %s" % exc) from exc
        self.count = spec.get("count")
        self.probability = spec.get("probability")
        if self.count is not None and not _is_number(self.count, 0, None, integer=True):
            raise FaultSpecError("count must be a non-negative integer")
        if self.probability is not None and not _is_number(self.probability, 0, 1):
            raise FaultSpecError("probability must be a number within [0, 1]")
        for key, (low, high, integer) in _PARAMETERS[kind].items():
            if key in spec and not _is_number(spec[key], low, high, integer):
                raise FaultSpecError("%s.%s must be a number within [%s, %s]" % (kind, key, low, high))

    def take(self, path, rng):
        """True if the fault applies to this request (consumes one of `count`)."""
        if not self.match.search(path):
            return False
        if self.count is not None:
            if self.count == 0:
                return False
            self.count -= 1
            return True
        if self.probability is not None:
            return rng.random() < float(self.probability)
        return True

    def describe(self):
        return dict(self.spec, count=self.count) if self.count is not None else dict(self.spec)


class Faults:
    def __init__(self):
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._reset_config()

    def _reset_config(self):
        self.latency_ms = 0
        self.bandwidth_bps = 0
        self.selectors = {}
        self.rng = random.Random(0)

    # --- configuration --------------------------------------------------------------------

    def configure(self, spec):
        """Validate the whole spec, then apply it at once (nothing changes on error)."""
        if not isinstance(spec, dict):
            raise FaultSpecError("fault spec must be a JSON object")
        unknown = set(spec) - set(_KINDS) - {"latency_ms", "bandwidth_bps", "seed"}
        if unknown:
            raise FaultSpecError("unknown fault keys: %s" % ", ".join(sorted(unknown)))
        rates = {}
        for key in ("latency_ms", "bandwidth_bps"):
            if key in spec:
                rates[key] = spec[key] or 0
                if not _is_number(rates[key], 0, None):
                    raise FaultSpecError("%s must be a non-negative number" % key)
        selectors = {kind: Selector(spec[kind], kind) if spec[kind] is not None else None
                     for kind in _KINDS if kind in spec}
        with self._lock:
            if "seed" in spec:
                self.rng = random.Random(spec["seed"])
            for key, value in rates.items():
                setattr(self, key, value)
            for kind, selector in selectors.items():
                if selector is None:
                    self.selectors.pop(kind, None)
                else:
                    self.selectors[kind] = selector
            if "stall" in selectors and selectors["stall"] is None:
                self._release_stalls()

    def clear(self):
        """Remove every fault and release stalled responses."""
        with self._lock:
            self._reset_config()
            self._release_stalls()

    def release_all(self):
        with self._lock:
            self._release_stalls()

    def _release_stalls(self):
        self._release.set()
        self._release = threading.Event()

    def describe(self):
        with self._lock:
            desc = {"latency_ms": self.latency_ms, "bandwidth_bps": self.bandwidth_bps}
            desc.update({kind: sel.describe() for kind, sel in self.selectors.items()})
            return desc

    # --- decisions for one request -----------------------------------------------------

    def _take(self, kind, path):
        with self._lock:
            selector = self.selectors.get(kind)
            if selector is None or not selector.take(path, self.rng):
                return None
            return selector.spec

    def latency_seconds(self):
        return self.latency_ms / 1000.0

    def bandwidth(self):
        return self.bandwidth_bps

    def injected_status(self, path):
        spec = self._take("error", path)
        return int(spec.get("status", 500)) if spec is not None else None

    def body_fault(self, path, body_length):
        """None, ("reset", offset), ("truncate", offset) or ("stall", offset): where to cut the
        response body."""
        for kind in ("reset", "truncate"):
            spec = self._take(kind, path)
            if spec is not None:
                return kind, int(body_length * float(spec.get("at", 0.5)))
        spec = self._take("stall", path)
        if spec is not None:
            return "stall", min(body_length, int(spec.get("after_bytes", body_length // 2)))
        return None

    def corrupt(self, path, block_id, body):
        """The body with one byte flipped when the corrupt_block fault applies to this block."""
        with self._lock:
            selector = self.selectors.get("corrupt_block")
            if selector is None or not body or block_id is None:
                return body
            wanted = selector.spec.get("block_id")
            if wanted not in (None, block_id) or not selector.take(path, self.rng):
                return body
        flipped = bytearray(body)
        flipped[len(flipped) // 2] ^= 0xFF
        return bytes(flipped)

    def ignores_range(self, path):
        """True when the Range header of this request is to be dropped (ignore_range)."""
        return self._take("ignore_range", path) is not None

    def alter_range_answer(self, path, response):
        """Alters a 206 answer in place as the range_answer fault says, if it applies."""
        names = [name.lower() for name, _ in response.headers]
        if response.status != 206 or "content-range" not in names:
            return
        spec = self._take("range_answer", path)
        if spec is None:
            return
        index = names.index("content-range")
        span, total = response.headers[index][1].split(" ", 1)[1].split("/")
        first, last = (int(n) + int(spec.get("shift", 0)) for n in span.split("-"))
        total = int(total) + int(spec.get("total_delta", 0))
        response.headers[index] = ("Content-Range", "bytes %d-%d/%d" % (first, last, total))
        cut = int(spec.get("cut_bytes", 0))
        if cut:
            response.body = response.body[:max(0, len(response.body) - cut)]

    def stall_event(self):
        """The event a stalled response waits on (set when faults are cleared or at shutdown)."""
        with self._lock:
            return self._release
