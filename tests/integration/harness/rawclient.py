"""A small raw-socket mail client for tests that need exact bytes on the
wire (pipelining, hostile input, slow writers), a PROXY protocol v1/v2
header builder, self-signed TLS material made with the `openssl` CLI, and
a fake backend that accepts connections and never says anything.

Nothing here imports pytest.
"""
import base64
import os
import socket
import ssl
import struct
import subprocess
import threading

DEFAULT_TIMEOUT = 10.0


def b64(text):
    """base64 of text (str or bytes) as str."""
    if isinstance(text, str):
        text = text.encode()
    return base64.b64encode(text).decode()


def sasl_plain(user, password, authzid=""):
    """The base64 SASL PLAIN response for user/password."""
    return b64("%s\0%s\0%s" % (authzid, user, password))


def client_tls_context():
    """A TLS client context that accepts the tests' self-signed cert."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


class RawClient:
    """One TCP (optionally TLS) connection with line helpers.

    source: local address to bind (the "real client address" the backend
    must see); tls: wrap the socket in TLS right away (imaps/pop3s).
    """

    def __init__(self, ip, port, timeout=DEFAULT_TIMEOUT, source=None,
                 tls=False):
        src = (source, 0) if source else None
        self.sock = socket.create_connection((ip, port), timeout=timeout,
                                             source_address=src)
        self.timeout = timeout
        self.pending = b""
        if tls:
            self.starttls()

    def starttls(self):
        """Wrap the socket in TLS (after the server agreed to STARTTLS).
        Bytes already read past the server's answer would be lost: the
        caller reads exactly the answer line first."""
        assert self.pending == b"", "unread plaintext before TLS"
        self.sock = client_tls_context().wrap_socket(self.sock)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed; unread %r" % self.pending)
        self.pending += chunk

    def line(self, timeout=None):
        """The next line (bytes, CRLF stripped); EOFError if closed."""
        while b"\n" not in self.pending:
            self._fill(self.timeout if timeout is None else timeout)
        line, self.pending = self.pending.split(b"\n", 1)
        return line.rstrip(b"\r")

    def until(self, prefix, timeout=None):
        """Lines up to and including the first that starts with prefix
        (bytes or str); returns them all, the matching one last."""
        if isinstance(prefix, str):
            prefix = prefix.encode()
        out = []
        while True:
            out.append(self.line(timeout))
            if out[-1].startswith(prefix):
                return out

    def command(self, tag, text):
        """Send "<tag> <text>" and return the tagged reply line."""
        self.send("%s %s\r\n" % (tag, text))
        return self.until(tag + " ")[-1]

    def read_exact(self, n, timeout=None):
        while len(self.pending) < n:
            self._fill(self.timeout if timeout is None else timeout)
        data, self.pending = self.pending[:n], self.pending[n:]
        return data

    def closed(self, timeout=None):
        """True if the peer closes within timeout (everything it sends
        before is kept in self.pending); False if it stays open."""
        try:
            while True:
                self._fill(self.timeout if timeout is None else timeout)
        except EOFError:
            return True
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False

    def rest(self):
        """Everything received and not yet consumed, as lines."""
        return self.pending.split(b"\r\n")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def imap_connect(ip, port, **kwargs):
    """A RawClient that has read the IMAP greeting (checked)."""
    c = RawClient(ip, port, **kwargs)
    greeting = c.line()
    assert greeting.startswith(b"* OK"), greeting
    return c


def pop3_connect(ip, port, **kwargs):
    """A RawClient that has read the POP3 greeting (checked)."""
    c = RawClient(ip, port, **kwargs)
    greeting = c.line()
    assert greeting.startswith(b"+OK"), greeting
    return c


# -- PROXY protocol -------------------------------------------------------

PROXY_V2_SIGNATURE = b"\r\n\r\n\0\r\nQUIT\n"


def proxy_v1(src_ip, src_port, dst_ip, dst_port):
    """A PROXY protocol v1 header for TCP over IPv4."""
    return ("PROXY TCP4 %s %s %d %d\r\n" %
            (src_ip, dst_ip, src_port, dst_port)).encode()


def proxy_v2(src_ip, src_port, dst_ip, dst_port, local=False, tlvs=b""):
    """A PROXY protocol v2 header (PROXY command, TCP over IPv4; LOCAL
    command with no address when local is set: the addresses are then
    ignored and may be None)."""
    if local:
        return PROXY_V2_SIGNATURE + bytes([0x20, 0x00]) + struct.pack(
            "!H", 0)
    addrs = (socket.inet_aton(src_ip) + socket.inet_aton(dst_ip) +
             struct.pack("!HH", src_port, dst_port)) + tlvs
    return (PROXY_V2_SIGNATURE + bytes([0x21, 0x11]) +
            struct.pack("!H", len(addrs)) + addrs)


# -- TLS material ---------------------------------------------------------

def make_cert(directory, name="director"):
    """A self-signed EC certificate and key in directory (made once);
    returns (cert_path, key_path), both readable by everyone."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                        "-pkeyopt", "ec_paramgen_curve:prime256v1",
                        "-nodes", "-days", "2", "-subj",
                        "/CN=director.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=30)
        os.chmod(cert, 0o644)
        os.chmod(key, 0o644)
    return cert, key


# -- a backend that never greets ------------------------------------------

class SilentServer:
    """Listens on ip:port, accepts every connection and never writes.
    stop() closes the listener and every accepted socket."""

    def __init__(self, ip, port):
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((ip, port))
        self.listener.listen(16)
        self.accepted = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        self.listener.settimeout(0.1)
        while not self._stop:
            try:
                conn, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted.append(conn)

    def stop(self):
        self._stop = True
        self._thread.join(2)
        self.listener.close()
        for c in self.accepted:
            c.close()
