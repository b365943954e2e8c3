"""A fake mail backend for the health check tests: it listens on one
loopback address on the IMAP, POP3 and LMTP ports and greets (or does not)
as the test wants.

Modes:
  "ok"      greets at once (IMAP `* OK`, POP3 `+OK`, LMTP `220`)
  "silent"  accepts and never says a word
  "slow"    greets after `delay` seconds
  "closed"  nothing listens: connections are refused

set_mode() changes the mode; the listening sockets are opened or closed
as needed (so "closed" really refuses).  Every connection is counted.
"""
import socket
import threading
import time

GREETINGS = {"imap": b"* OK fake ready\r\n", "pop3": b"+OK fake ready\r\n",
             "lmtp": b"220 fake LMTP ready\r\n"}


class FakeBackend:
    def __init__(self, ip, ports, mode="ok", delay=0.0):
        """ports: {"imap": 1143, "pop3": 1110, "lmtp": 1024}."""
        self.ip = ip
        self.ports = dict(ports)
        self.mode = mode
        self.delay = delay
        self.connections = 0
        self._lock = threading.Lock()
        self._listeners = {}
        self._conns = []
        self._stop = False
        if mode != "closed":
            self._open()

    def _open(self):
        for proto, port in self.ports.items():
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((self.ip, port))
            s.listen(64)
            self._listeners[proto] = s
            threading.Thread(target=self._accept, args=(proto, s),
                             daemon=True).start()

    def _close_listeners(self):
        for s in self._listeners.values():
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self._listeners = {}

    def _accept(self, proto, s):
        while True:
            try:
                c, _ = s.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._conns.append(c)
            threading.Thread(target=self._serve, args=(proto, c),
                             daemon=True).start()

    def _serve(self, proto, c):
        mode, delay = self.mode, self.delay
        try:
            if mode == "slow":
                time.sleep(delay)
            if mode in ("ok", "slow"):
                c.sendall(GREETINGS[proto])
            # read until the peer closes (its goodbye, or nothing)
            c.settimeout(30)
            while c.recv(4096):
                pass
        except OSError:
            pass
        finally:
            c.close()

    def set_mode(self, mode, delay=None):
        if delay is not None:
            self.delay = delay
        if mode == "closed" and self._listeners:
            self._close_listeners()
        elif mode != "closed" and not self._listeners:
            self._open()
        self.mode = mode

    def close(self):
        self._close_listeners()
        with self._lock:
            for c in self._conns:
                try:
                    c.close()
                except OSError:
                    pass
            self._conns = []
