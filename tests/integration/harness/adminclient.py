"""A small client of the director-doveadm v1 admin protocol, for tests
that check exact replies (doveadm and directorctl are the real clients)."""
import socket

HANDSHAKE = b"VERSION\tdirector-doveadm\t1\t0\n"
_ESC = {"\x01": "\x011", "\t": "\x01t", "\r": "\x01r", "\n": "\x01n",
        "\0": "\x010"}
_UNESC = {v[1]: k for k, v in _ESC.items()}


def escape(field):
    """Dovecot's tab-escaping of one field."""
    return "".join(_ESC.get(c, c) for c in field)


def unescape(field):
    """Undoes escape(); a 0x01 not followed by an escape letter stays."""
    out, i = [], 0
    while i < len(field):
        if field[i] == "\x01" and field[i + 1:i + 2] in _UNESC:
            out.append(_UNESC[field[i + 1]])
            i += 2
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


class AdminClient:
    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.pending = b""
        self.greeting = self.line()
        self.sock.sendall(HANDSHAKE)

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, *fields):
        self.sock.sendall(("\t".join(escape(f) for f in fields) +
                           "\n").encode())

    def line(self):
        """The next reply line (escaped fields, without LF); EOFError if
        the server closed."""
        while b"\n" not in self.pending:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("admin connection closed")
            self.pending += data
        line, self.pending = self.pending.split(b"\n", 1)
        return line.decode()

    def fields(self):
        return [unescape(f) for f in self.line().split("\t")]

    def command(self, *fields):
        """Sends a command answered by one line; returns it."""
        self.send(*fields)
        return self.line()

    def rows(self):
        """The rows of a list reply, up to its empty line."""
        out = []
        while True:
            line = self.line()
            if line == "":
                return out
            out.append([unescape(f) for f in line.split("\t")])

    def list(self, *fields):
        self.send(*fields)
        return self.rows()
