"""Command line entry: python3 -m seafserver --data DIR [--storage DIR] --port P --control-port C
[--fileserver-port F] [--host 127.0.0.1] [--log FILE] [--readonly-storage] [--base-storage DIR]. Prints one JSON line
with the bound ports once it is serving, and runs until SIGTERM/SIGINT or POST /shutdown on the
control port."""
import argparse
import json
import signal
import sys

from .runtime import ServerRuntime
from .state import StateError


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="seafserver", description="Reference Seafile server for tests")
    parser.add_argument("--data", required=True, help="data dir holding state.json (and storage/)")
    parser.add_argument("--storage", help="storage root (default DATA/storage); may be read-only")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, required=True, help="Seahub + /seafhttp port (0 = any)")
    parser.add_argument("--control-port", type=int, required=True, help="control API port (0 = any)")
    parser.add_argument("--fileserver-port", type=int, help="optional bare file-server port (like 8082)")
    parser.add_argument("--log", help="append the request log to this file")
    parser.add_argument("--readonly-storage", action="store_true",
                        help="never write to the storage (uploads then fail with 500)")
    parser.add_argument("--base-storage",
                        help="storage root read, never written, for objects the storage lacks")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        runtime = ServerRuntime(args.data, args.storage, args.host, args.port, args.control_port,
                                args.fileserver_port, args.log, args.readonly_storage,
                                args.base_storage)
        runtime.start()
    except (StateError, OSError) as exc:
        print("seafserver: %s" % exc, file=sys.stderr)
        return 2
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: runtime.stopped.set())
    print(json.dumps(dict(event="ready", **runtime.ports)), flush=True)
    runtime.stopped.wait()
    runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
