"""A far, slow link between a client and a server on this machine, as a TCP proxy (for
link_bench.py): every byte crosses one shared link of --mbit Mbit/s in each direction (all
connections queue for it, in arrival order) and arrives --rtt-ms / 2 later; a new connection
carries data only one RTT after it was accepted (the TCP handshake). Each connection keeps at
most --window bytes read but not yet delivered (its TCP window: the rest waits in the sender's
socket). No loss, no slow start. `tc netem` would slow every user of the machine's loopback
(and needs a kernel module this machine may lack); the reference server's faults delay each
response and cap each connection separately, which lets N connections share N links.

  /usr/bin/python3 tests/bench/link_proxy.py --target PORT --rtt-ms 150 --mbit 10

Listens on 127.0.0.1 (--port, default any free port) and prints "listening PORT" once ready.
The byte counts (delivered to the client / to the server) are printed on SIGTERM or SIGINT."""

import argparse
import asyncio
import signal
import sys

CHUNK = 16 * 1024


class Link:
    """One direction of the link: when each chunk arrives at the far end."""

    def __init__(self, bytes_per_second, delay):
        self.rate = bytes_per_second
        self.delay = delay
        self.busy_until = 0.0
        self.delivered = 0

    def arrival(self, size, now):
        start = max(now, self.busy_until)
        self.busy_until = start + (size / self.rate if self.rate else 0.0)
        return self.busy_until + self.delay


class Pipe:
    """One direction of one connection through a Link."""

    def __init__(self, link, reader, writer, not_before, window):
        self.link = link
        self.reader = reader
        self.writer = writer
        self.not_before = not_before
        self.window = window
        self.queue = asyncio.Queue()
        self.in_flight = 0
        self.drained = asyncio.Event()
        self.broken = False  # the receiving side is gone: stop reading

    async def read(self):
        loop = asyncio.get_running_loop()
        try:
            while True:
                while self.in_flight >= self.window and not self.broken:
                    self.drained.clear()
                    await self.drained.wait()
                data = b"" if self.broken else await self.reader.read(CHUNK)
                if not data:
                    break
                self.in_flight += len(data)
                now = max(loop.time(), self.not_before)
                await self.queue.put((self.link.arrival(len(data), now), data))
        except (ConnectionError, OSError):
            pass
        await self.queue.put((None, None))

    async def deliver(self):
        loop = asyncio.get_running_loop()
        try:
            while True:
                when, data = await self.queue.get()
                if data is None:
                    if self.writer.can_write_eof():
                        self.writer.write_eof()
                    break
                delay = when - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                self.writer.write(data)
                await self.writer.drain()
                self.in_flight -= len(data)
                self.link.delivered += len(data)
                self.drained.set()
        except (ConnectionError, OSError):
            self.broken = True
            self.drained.set()
            self.writer.transport.abort()


class Proxy:
    def __init__(self, target, rtt_ms, mbit, window):
        rate = mbit * 1e6 / 8 if mbit else 0.0
        self.target = target
        self.rtt = rtt_ms / 1000.0
        self.up = Link(rate, self.rtt / 2)
        self.down = Link(rate, self.rtt / 2)
        self.window = window or max(256 * 1024, int(2 * rate * self.rtt) + CHUNK)

    async def serve(self, client_reader, client_writer):
        loop = asyncio.get_running_loop()
        ready = loop.time() + self.rtt  # SYN, SYN-ACK: the client's first byte leaves then
        try:
            server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            client_writer.transport.abort()
            return
        pipes = (Pipe(self.up, client_reader, server_writer, ready, self.window),
                 Pipe(self.down, server_reader, client_writer, 0.0, self.window))
        await asyncio.gather(*(task for pipe in pipes for task in (pipe.read(), pipe.deliver())))
        for writer in (client_writer, server_writer):
            writer.close()

    async def run(self, port):
        server = await asyncio.start_server(self.serve, "127.0.0.1", port)
        print("listening %d" % server.sockets[0].getsockname()[1], flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        server.close()
        print("delivered %d to clients, %d to the server" % (self.down.delivered,
                                                             self.up.delivered), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", type=int, required=True, help="the server's port")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--rtt-ms", type=float, default=0)
    parser.add_argument("--mbit", type=float, default=0, help="0: no cap")
    parser.add_argument("--window", type=int, default=0,
                        help="bytes per connection in flight (default: 2 x bandwidth-delay "
                             "product, at least 256 KiB)")
    args = parser.parse_args()
    asyncio.run(Proxy(args.target, args.rtt_ms, args.mbit, args.window).run(args.port))


if __name__ == "__main__":
    sys.exit(main())
