"""The service manager's side of the sd_notify protocol, for tests.

A NotifySocket binds an AF_UNIX datagram socket (a path, or an abstract
name given as "@name"), is handed to a daemon through NOTIFY_SOCKET, and
returns what the daemon sent, one datagram at a time, as a dict of its
assignments.  Nothing here imports pytest.
"""
import os
import socket
import time


def parse(datagram):
    """{"READY": "1", "STATUS": "..."} from b"READY=1\\nSTATUS=..."; a
    line without "=" maps to None so that a test sees it."""
    out = {}
    for line in datagram.decode("utf-8", "replace").split("\n"):
        if line == "":
            continue
        key, sep, value = line.partition("=")
        out[key] = value if sep else None
    return out


class NotifySocket:
    """address: a file system path, or "@name" for the abstract
    namespace.  env() is what the daemon needs; recv() the next message."""

    def __init__(self, address):
        self.address = address
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if address.startswith("@"):
            self.sock.bind("\0" + address[1:])
        else:
            if os.path.exists(address):
                os.unlink(address)
            self.sock.bind(address)
        self.messages = []      # every message received, in order

    def env(self):
        return {"NOTIFY_SOCKET": self.address}

    def recv(self, timeout=10.0):
        """The next message as a dict; raises TimeoutError."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            raise TimeoutError("no notification on %s within %.1fs "
                               "(so far: %r)" % (self.address, timeout,
                                                 self.messages))
        msg = parse(data)
        self.messages.append(msg)
        return msg

    def expect(self, key, timeout=10.0):
        """The next message; fails unless it carries key=1."""
        msg = self.recv(timeout)
        if msg.get(key) != "1":
            raise AssertionError("expected %s=1, got %r" % (key, msg))
        return msg

    def assert_quiet(self, seconds=0.3):
        """Fails if a message arrives within seconds."""
        deadline = time.monotonic() + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return
            raise AssertionError("unexpected notification %r" % parse(data))

    def close(self):
        self.sock.close()
        if not self.address.startswith("@"):
            try:
                os.unlink(self.address)
            except FileNotFoundError:
                pass
