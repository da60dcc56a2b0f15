"""Asks the freedesktop thumbnailer service (org.freedesktop.thumbnails.Thumbnailer1 on the
session bus: Debian's tumbler, D-Bus activated) for thumbnails of files, as a file manager does,
and waits until it has answered for every one of them.

  python3 thumbnails.py [--flavor normal] [--timeout 300] FILE...

Prints one line per file, "ready URI" or "error URI: message", and exits 0 when every file got
a thumbnail, 1 when some failed, 2 on a timeout. Needs python3-gi."""

import argparse
import sys

from gi.repository import Gio, GLib

BUS_NAME = "org.freedesktop.thumbnails.Thumbnailer1"
OBJECT = "/org/freedesktop/thumbnails/Thumbnailer1"
BATCH = 50  # URIs per Queue call


def content_types(files):
    """The MIME type of each file as GIO guesses it from its name (no read of the file)."""
    return [Gio.content_type_get_mime_type(Gio.content_type_guess(f.get_path(), None)[0])
            for f in files]


def request(paths, flavor="normal", timeout=300):
    """{uri: None (thumbnail ready) or error message}, for every path; raises TimeoutError."""
    files = [Gio.File.new_for_path(p) for p in paths]
    uris = [f.get_uri() for f in files]
    mimes = content_types(files)
    bus = Gio.bus_get_sync(Gio.BusType.SESSION, None)
    outcome, pending, loop = {}, set(), GLib.MainLoop()

    def on_signal(_conn, _sender, _path, _iface, name, params):
        if name == "Ready":
            for uri in params[1]:
                outcome.setdefault(uri, None)
        elif name == "Error":
            for uri in params[1]:
                outcome[uri] = params[3]
        elif name == "Finished":
            pending.discard(params[0])
            if not pending:
                loop.quit()

    bus.signal_subscribe(BUS_NAME, BUS_NAME, None, OBJECT, None, Gio.DBusSignalFlags.NONE,
                         on_signal)
    for start in range(0, len(uris), BATCH):
        reply = bus.call_sync(BUS_NAME, OBJECT, BUS_NAME, "Queue",
                              GLib.Variant("(asasssu)", (uris[start:start + BATCH],
                                                         mimes[start:start + BATCH], flavor,
                                                         "foreground", 0)),
                              GLib.VariantType("(u)"), Gio.DBusCallFlags.NONE, 30000, None)
        pending.add(reply.unpack()[0])
    timed_out = []

    def on_timeout():
        timed_out.append(True)
        loop.quit()
        return False

    GLib.timeout_add_seconds(timeout, on_timeout)
    if pending:
        loop.run()
    if timed_out:
        raise TimeoutError("the thumbnailer did not finish within %d s" % timeout)
    return {uri: outcome.get(uri, "no answer") for uri in uris}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flavor", default="normal")
    parser.add_argument("--timeout", type=int, default=300)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    try:
        results = request(args.files, args.flavor, args.timeout)
    except TimeoutError as exc:
        print(exc, file=sys.stderr)
        return 2
    for uri, error in results.items():
        print("ready %s" % uri if error is None else "error %s: %s" % (uri, error))
    return 0 if all(e is None for e in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
