"""A TCP proxy in front of a local HTTP/1.1 server that counts the requests passing
through it (request lines sent by the client side), for tests of how many store requests
the gateway makes, and what each asked: `heads` holds every request's line and headers."""

import socket
import threading

MARK = b" HTTP/1.1\r\n"


class CountingProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.requests = 0
        self.lines = []
        self.heads = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        with self._lock:
            self.requests, self.lines, self.heads = 0, [], []

    def _accept(self):
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, _Heads(self._head)), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, None), daemon=True).start()

    def _head(self, line, headers):
        with self._lock:
            self.heads.append((line, headers))

    def _pump(self, src, dst, heads):
        count = heads is not None
        tail = b""
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    seen = tail + data
                    n = seen.count(MARK)
                    if n:
                        with self._lock:
                            self.requests += n
                            for line in seen.split(b"\r\n"):
                                if line.endswith(b" HTTP/1.1"):
                                    self.lines.append(line.decode(errors="replace"))
                    tail = seen[-(len(MARK) - 1):]
                    heads.feed(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self._sock.close()


class _Heads:
    """Splits the bytes a client sends on one connection into requests: hands each
    request's line and headers (names in lower case) to `record`, and skips its body
    (Content-Length or chunked). Bytes it cannot parse end the recording for the
    connection (never the forwarding): a test can compare `heads` with `requests`."""

    def __init__(self, record):
        self.record, self.buf, self.skip, self.chunked, self.broken = record, b"", 0, False, False

    def feed(self, data):
        if self.broken:
            return
        self.buf += data
        try:
            self._parse()
        except ValueError:
            self.broken, self.buf = True, b""

    def _parse(self):
        while True:
            if self.skip:
                n = min(self.skip, len(self.buf))
                self.buf, self.skip = self.buf[n:], self.skip - n
                if self.skip:
                    return
            if self.chunked:
                if not self._chunk():
                    return
                continue
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            line, *fields = self.buf[:end].decode(errors="replace").split("\r\n")
            self.buf = self.buf[end + 4:]
            headers = {}
            for f in fields:
                name, _, value = f.partition(":")
                headers[name.strip().lower()] = value.strip()
            self.record(line, headers)
            self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
            self.skip = 0 if self.chunked else int(headers.get("content-length", "0"))

    def _chunk(self):
        """Consumes one chunk (the last, of size 0, with its trailers ends the body); false
        when more bytes are needed."""
        end = self.buf.find(b"\r\n")
        if end < 0:
            return False
        size = int(self.buf[:end].split(b";")[0], 16)
        rest = self.buf[end + 2:]
        if size:
            self.buf, self.skip = rest, size + 2
            return True
        stop = 2 if rest.startswith(b"\r\n") else rest.find(b"\r\n\r\n") + 4
        if stop < 4 and not rest.startswith(b"\r\n"):
            return False
        self.buf, self.chunked = rest[stop:], False
        return True
