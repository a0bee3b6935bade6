"""Slow clients for tests and measurements: connections that send a request a byte a second, forever.

Loopback only: a test of a server sends its traffic to this machine and to nothing else.
"""

from __future__ import annotations

import ipaddress
import socket
import threading

START = b"POST /hooks/typeform HTTP/1.1\r\nHost: hub\r\nX-Slow: "


class SlowClients:
    """`count` connections to a loopback port, each sending `start` and then one more byte a second."""

    def __init__(self, host: str, port: int, count: int, *, start: bytes = START, interval: float = 1.0) -> None:
        if not ipaddress.ip_address(socket.gethostbyname(host)).is_loopback:
            raise ValueError(f"slow clients go to loopback addresses only, got {host!r}")
        self.sockets = []
        for _ in range(count):
            sock = socket.create_connection((host, port), timeout=20)
            sock.sendall(start)
            self.sockets.append(sock)
        self.bytes_sent = 0
        self.interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._trickle, name="slow-clients", daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        while not self._stopped.wait(self.interval):
            for sock in self.sockets:
                try:
                    sock.send(b"a")
                    self.bytes_sent += 1
                except OSError:
                    pass  # closed by the server: open_count() tells

    def open_count(self) -> int:
        """How many the server has not closed (a closed one reads b"" at once, or fails)."""
        still = 0
        for sock in self.sockets:
            sock.setblocking(False)
            try:
                still += sock.recv(1) != b""
            except BlockingIOError:
                still += 1
            except OSError:
                pass
            finally:
                sock.settimeout(20)
        return still

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        for sock in self.sockets:
            sock.close()
