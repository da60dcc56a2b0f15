"""Turns the output of link_bench.py runs into the Markdown table of README "Far and slow links"
(not a test): one line per row and link, the four columns HTTP/HTTPS x auto/off, the reference and
the target verdict of `auto`. Rows of a later file replace those of an earlier one (a rerun of
some rows over a full run).

  /usr/bin/python3 tests/bench/link_table.py FULL_RUN.log [RERUN.log ...]"""

import re
import sys

LINE = re.compile(r"(.{28}) (.{18}) (auto|off)\s+([\d.]+)\s+([\d.]+ [KMG]?i?B)\s*(.*)$")
REFERENCE = re.compile(r"(read [\d.]+ [KMG]?i?B|curl [\d.]+ s, [\d.]+ [KMG]?i?B)?\s*(.*)$")


def parse(text, rows, order):
    """Adds the rows of one link_bench output to rows {(row, link): {(transport, mode): cells}}."""
    transport = None
    for line in text.splitlines():
        if line.startswith("plain HTTP/1.1"):
            transport = "http"
        elif line.startswith("HTTPS, HTTP/2"):
            transport = "https"
        match = LINE.match(line)
        if not match or not transport:
            continue
        row, link, mode, seconds, size, rest = match.groups()
        reference, target = REFERENCE.match(rest.rstrip()).groups()
        key = (row.strip(), link.strip().replace(", ", " "))
        if key not in rows:
            rows[key] = {}
            order.append(key)
        rows[key][(transport, mode)] = ("%s s, %s" % (seconds, size), reference or "",
                                        target.replace(" MISS", " miss"))


def both(cells, index):
    """The HTTP and HTTPS values of one column of `auto`, once when they are the same."""
    http, https = (cells.get((t, "auto"), ("", "", ""))[index] for t in ("http", "https"))
    return http if http == https or not https else "%s / %s" % (http, https)


def main(paths):
    rows, order = {}, []
    for path in paths:
        with open(path) as f:
            parse(f.read(), rows, order)
    print("| row | link | HTTP auto | HTTP off | HTTPS/h2 auto | HTTPS/h2 off "
          "| reference (HTTP / HTTPS) | target, auto (HTTP / HTTPS) |")
    print("|---|---|---|---|---|---|---|---|")
    for key in order:
        cells = rows[key]
        measured = [cells.get(k, ("",))[0] for k in
                    (("http", "auto"), ("http", "off"), ("https", "auto"), ("https", "off"))]
        print("| %s |" % " | ".join([*key, *measured, both(cells, 1), both(cells, 2)]))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    main(sys.argv[1:])
