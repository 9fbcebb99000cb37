"""A TCP proxy that adds latency and, optionally, a bandwidth cap (this kernel has no netem).

Each direction of each connection delays every chunk by `delay_ms` (one way, so 10 ms gives a
20 ms round trip) without serialising: a chunk is stamped when it arrives and forwarded when its
time comes, so throughput is not one chunk per delay. With `rate_mbit` > 0 each direction of each
connection is also paced by a token bucket (64 KiB burst). A new connection's first bytes wait one
extra round trip, as the TCP handshake would. At most 8 MiB is queued per direction;
beyond that the proxy stops reading (TCP backpressure).

    python bench/delayproxy.py --listen 127.0.0.1:P --upstream 127.0.0.1:Q --delay-ms 10 --rate-mbit 200
    python bench/delayproxy.py --selftest [--delay-ms 10 --rate-mbit 200]

From Python: `port, stop = start_proxy(upstream_port, delay_ms, rate_mbit)`; `stop()` when done.
"""

import argparse
import asyncio
import collections
import socket
import statistics
import threading
import time

CHUNK = 64 * 1024
MAX_QUEUED = 8 * 1024 * 1024
BURST = 64 * 1024


def _nodelay(writer):
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass


class _Direction:
    """reader -> (delay queue, token bucket) -> writer."""

    def __init__(self, reader, writer, delay, rate_bps):
        self.reader, self.writer = reader, writer
        self.delay, self.rate = delay, rate_bps  # seconds, bytes per second (0 = no cap)
        self.queue = collections.deque()  # (due time, bytes); b"" marks EOF
        self.queued = 0
        self.ready = asyncio.Event()  # something queued
        self.room = asyncio.Event()  # queue below the bound
        self.room.set()
        self.tokens, self.stamp = float(BURST), None

    async def read_loop(self):
        loop = asyncio.get_running_loop()
        try:
            while True:
                await self.room.wait()
                data = await self.reader.read(CHUNK)
                self.queue.append((loop.time() + self.delay, data))
                self.ready.set()
                if not data:
                    return
                self.queued += len(data)
                if self.queued > MAX_QUEUED:
                    self.room.clear()
        except (ConnectionError, OSError):
            self.queue.append((0.0, None))  # error: tear down now
            self.ready.set()

    async def _pace(self, n):
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self.stamp is None:
            self.stamp = now
        self.tokens = min(float(BURST), self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= n
        if self.tokens < 0:
            await asyncio.sleep(-self.tokens / self.rate)

    async def write_loop(self):
        loop = asyncio.get_running_loop()
        while True:
            while not self.queue:
                self.ready.clear()
                await self.ready.wait()
            due, data = self.queue.popleft()
            if data is None:
                raise ConnectionError("peer reset")
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if self.writer.can_write_eof():
                    self.writer.write_eof()
                return
            if self.rate:
                await self._pace(len(data))
            self.writer.write(data)
            await self.writer.drain()
            self.queued -= len(data)
            if self.queued <= MAX_QUEUED:
                self.room.set()

    async def run(self):
        reader = asyncio.ensure_future(self.read_loop())
        try:
            await self.write_loop()
        finally:
            reader.cancel()


class Proxy:
    def __init__(self, upstream_host, upstream_port, delay_ms, rate_mbit):
        self.up = (upstream_host, upstream_port)
        self.delay = delay_ms / 1000.0
        self.rate = rate_mbit * 1e6 / 8 if rate_mbit else 0
        self.tasks = set()

    async def handle(self, c_reader, c_writer):
        task = asyncio.current_task()
        self.tasks.add(task)
        u_writer = None
        try:
            u_reader, u_writer = await asyncio.open_connection(*self.up)
            await asyncio.sleep(2 * self.delay)  # the handshake's round trip, which the kernel skipped
            _nodelay(c_writer)
            _nodelay(u_writer)
            down = _Direction(u_reader, c_writer, self.delay, self.rate)
            up = _Direction(c_reader, u_writer, self.delay, self.rate)
            pending = {asyncio.ensure_future(up.run()), asyncio.ensure_future(down.run())}
            try:
                while pending:  # a clean EOF ends one direction; an error ends both
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    if any(t.exception() for t in done):
                        break
            finally:
                for t in pending:
                    t.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass  # cancelled: stop() is shutting the proxy down
        finally:
            writers = [w for w in (c_writer, u_writer) if w is not None]
            for w in writers:
                w.close()
            await asyncio.gather(*(w.wait_closed() for w in writers), return_exceptions=True)
            self.tasks.discard(task)

    async def serve(self, host, port):
        return await asyncio.start_server(self.handle, host, port, reuse_address=True)


def start_proxy(upstream_port, delay_ms, rate_mbit=0, upstream_host="127.0.0.1", listen_port=0):
    """Runs the proxy on its own event loop in a daemon thread. Returns (port, stop)."""
    proxy = Proxy(upstream_host, upstream_port, delay_ms, rate_mbit)
    loop = asyncio.new_event_loop()
    started = threading.Event()
    box = {}

    def run():
        asyncio.set_event_loop(loop)
        try:
            box["server"] = loop.run_until_complete(proxy.serve("127.0.0.1", listen_port))
        except BaseException as e:  # noqa: BLE001 - handed to the caller
            box["error"] = e
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, name="delayproxy", daemon=True)
    thread.start()
    started.wait(10)
    if "error" in box:
        raise box["error"]

    async def shutdown():
        box["server"].close()
        for t in list(proxy.tasks):
            t.cancel()
        await asyncio.gather(*proxy.tasks, return_exceptions=True)
        await box["server"].wait_closed()

    def stop():
        if not thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)

    return box["server"].sockets[0].getsockname()[1], stop


# --- self-test -------------------------------------------------------------------------------

def _test_server():
    """Echoes; a line 'SEND n' is answered with n bytes instead. Returns (port, stop)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def conn(s):
        with s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                data = s.recv(CHUNK)
                if not data:
                    return
                if data.startswith(b"SEND "):
                    left, block = int(data.split()[1]), b"x" * (1 << 20)
                    while left > 0:
                        s.sendall(block[:left])
                        left -= len(block)
                    s.shutdown(socket.SHUT_WR)
                else:
                    s.sendall(data)

    def accept():
        while True:
            try:
                s, _ = srv.accept()
            except OSError:
                return
            threading.Thread(target=conn, args=(s,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return srv.getsockname()[1], srv.close


def _rtt_ms(port, n=20):
    with socket.create_connection(("127.0.0.1", port)) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        times = []
        for _ in range(n):
            t = time.perf_counter()
            s.sendall(b"p")
            assert s.recv(16) == b"p"
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times)


def _download_mbit(port, size):
    with socket.create_connection(("127.0.0.1", port)) as s:
        t = time.perf_counter()
        s.sendall(b"SEND %d\n" % size)
        got = 0
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got += len(b)
        dt = time.perf_counter() - t
    assert got == size, (got, size)
    return size * 8 / dt / 1e6, dt


def selftest(delay_ms, rate_mbit):
    port, stop_srv = _test_server()
    try:
        med, worst = _rtt_ms(port)
        print(f"loopback without proxy: RTT median {med:.2f} ms (max {worst:.2f})")
        p, stop = start_proxy(port, delay_ms, 0)
        for rate in (0, rate_mbit):
            p, stop = start_proxy(port, delay_ms, rate)
            try:
                what = f"proxy {delay_ms:g} ms each way, cap {rate or 'none'} Mbit/s"
                med, worst = _rtt_ms(p)
                print(f"{what}: RTT median {med:.2f} ms (max {worst:.2f}), expect ~{2 * delay_ms:g} ms")
                size = int(rate * 1e6 / 8 * 2) if rate else 256 << 20  # ~2 s worth with a cap
                mbit, dt = _download_mbit(p, size)
                print(f"{what}: {size / (1 << 20):.0f} MiB in {dt:.2f} s = {mbit:.0f} Mbit/s")
            finally:
                stop()
    finally:
        stop_srv()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--upstream")
    ap.add_argument("--delay-ms", type=float, default=10)
    ap.add_argument("--rate-mbit", type=float, default=0)
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args()
    if a.selftest:
        selftest(a.delay_ms, a.rate_mbit or 200)
        return
    if not a.upstream:
        ap.error("--upstream is required")
    uh, up = a.upstream.rsplit(":", 1)
    lh, lp = a.listen.rsplit(":", 1)
    proxy = Proxy(uh, int(up), a.delay_ms, a.rate_mbit)

    async def run():
        server = await proxy.serve(lh, int(lp))
        print(f"listening on {lh}:{server.sockets[0].getsockname()[1]} -> {a.upstream}, "
              f"delay {a.delay_ms} ms each way, cap {a.rate_mbit or 'none'} Mbit/s", flush=True)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
