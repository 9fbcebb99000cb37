"""A TCP proxy in front of a local HTTP/1.1 server that counts the requests passing
through it (request lines sent by the client side), for tests of how many store requests
the gateway makes."""

import socket
import threading

MARK = b" HTTP/1.1\r\n"


class CountingProxy:
    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.requests = 0
        self.lines = []
        self._lock = threading.Lock()
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        with self._lock:
            self.requests, self.lines = 0, []

    def _accept(self):
        while True:
            try:
                client, _ = self._sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, src, dst, count):
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
