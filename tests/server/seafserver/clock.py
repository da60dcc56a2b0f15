"""The server's clock: the time, in whole seconds, that goes into the commits and names the
server makes itself (merge commits and their directory conflict names, "Created library" and
rename commits), like seaf-server's time(NULL). Tests can fix it through the control API
(POST /clock) so that such commits come out byte-identical to captured ones; one server per
process, so the setting is process-wide."""
import threading
import time

_lock = threading.Lock()
_fixed = None


def now():
    """The fixed time if one is set, else the current time."""
    with _lock:
        return _fixed if _fixed is not None else int(time.time())


def fix(seconds):
    """Freeze the clock at `seconds` (an int), or let it run again with None."""
    global _fixed
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, int)):
        raise ValueError("the clock takes whole seconds or null")
    with _lock:
        _fixed = seconds


def describe():
    with _lock:
        fixed = _fixed
    return {"now": fixed if fixed is not None else int(time.time()), "fixed": fixed}
