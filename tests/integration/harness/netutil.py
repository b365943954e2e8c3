"""Loopback address plans, port probes and small socket helpers.

Several test runs (other engineers, CI) may share one machine.  Each run
reserves a "slot" with an flock()ed file under /tmp; a slot is a set of
loopback addresses that nobody else in a cooperating run uses:

  slot 0:  backends 127.0.1.1 .. 127.0.1.9,  directors 127.0.0.11 .. 127.0.0.19
  slot s:  backends 127.s.1.1 .. 127.s.1.9,  directors 127.s.0.11 .. 127.s.0.19

Slot 0 is the layout of the Dovecot lab notes; later slots are used only
when slot 0 is busy.  A slot is taken only if its lock is free and every
port the tests use can be bound on its addresses.
"""
import errno
import fcntl
import os
import socket
import time

IMAP_PORT = 1143
POP3_PORT = 1110
LMTP_PORT = 1024
SIEVE_PORT = 5190
RING_PORT = 9090
ALL_PORTS = (IMAP_PORT, POP3_PORT, LMTP_PORT, RING_PORT)

MAX_BACKENDS = 9
MAX_DIRECTORS = 9
SLOT_COUNT = 200
LOCK_DIR = "/tmp"


class AddressPlan:
    """The loopback addresses one test run may use."""

    def __init__(self, slot, lock_fd=None):
        self.slot = slot
        self._lock_fd = lock_fd

    def backend_ip(self, index):
        """Address of backend number index (1-based)."""
        if not 1 <= index <= MAX_BACKENDS:
            raise ValueError("backend index out of range: %r" % index)
        return "127.%d.1.%d" % (self.slot, index)

    def director_ip(self, index):
        """Address of director number index (1-based)."""
        if not 1 <= index <= MAX_DIRECTORS:
            raise ValueError("director index out of range: %r" % index)
        return "127.%d.0.%d" % (self.slot, 10 + index)

    def all_ips(self):
        return ([self.backend_ip(i) for i in range(1, MAX_BACKENDS + 1)] +
                [self.director_ip(i) for i in range(1, MAX_DIRECTORS + 1)])

    def release(self):
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __repr__(self):
        return "AddressPlan(slot=%d)" % self.slot


def port_is_free(ip, port):
    """True if a TCP listener could bind ip:port right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _slot_is_usable(slot):
    plan = AddressPlan(slot)
    for ip in plan.all_ips():
        for port in ALL_PORTS:
            if not port_is_free(ip, port):
                return False
    return True


def allocate_plan(first_slot=0):
    """Reserve a free slot for this process and return its AddressPlan.

    The reservation lasts until plan.release() or process exit.  Raises
    RuntimeError if every slot is busy.
    """
    forced = os.environ.get("DIRECTOR_TEST_SLOT")
    slots = [int(forced)] if forced else range(first_slot, SLOT_COUNT)
    for slot in slots:
        path = os.path.join(LOCK_DIR, "director-it-slot-%d.lock" % slot)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            os.close(fd)
            if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                continue
            raise
        if _slot_is_usable(slot):
            os.ftruncate(fd, 0)
            os.write(fd, b"%d\n" % os.getpid())
            return AddressPlan(slot, fd)
        os.close(fd)
    raise RuntimeError("no free loopback address slot for the tests")


# A PROXY v2 LOCAL header (the proxy's own connection): what a listener
# that takes only PROXY connections (Dovecot's haproxy = yes) needs first.
PROXY_V2_LOCAL = (b"\r\n\r\n\x00\r\nQUIT\n" + bytes([0x20, 0, 0, 0]))


def wait_for_port(ip, port, timeout=10.0, greeting_prefix=None, first=b""):
    """Wait until ip:port accepts a connection (and, if greeting_prefix is
    given, sends a first line starting with it, after first was sent).
    Returns the greeting line (bytes) or b"" and raises TimeoutError with
    the last error otherwise."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((ip, port), timeout=2.0) as s:
                if first:
                    s.sendall(first)
                if greeting_prefix is None:
                    return b""
                line = read_line(s, timeout=2.0)
                if line.startswith(greeting_prefix):
                    return line
                last = "unexpected greeting %r" % line
        except OSError as e:
            last = str(e)
        time.sleep(0.05)
    raise TimeoutError("%s:%d not ready after %.1fs: %s" %
                       (ip, port, timeout, last))


def read_line(sock, timeout=5.0, limit=65536):
    """Read one line (up to and including LF) from a socket.  Returns what
    was read before EOF if the peer closes first."""
    sock.settimeout(timeout)
    buf = bytearray()
    while len(buf) < limit:
        c = sock.recv(1)
        if not c:
            break
        buf += c
        if c == b"\n":
            break
    return bytes(buf)


def read_until_eof(sock, timeout=5.0, limit=1 << 20):
    """Read everything the peer sends until it closes the connection.
    Raises socket.timeout if it does not close within timeout."""
    sock.settimeout(timeout)
    buf = bytearray()
    while len(buf) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        buf += chunk
    return bytes(buf)
