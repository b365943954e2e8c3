"""A scripted director-doveadm v1.0 admin server, for testing clients.

FakeAdmin listens on a UNIX socket (or on TCP 127.0.0.1) and speaks the
admin protocol of Dovecot 2.3's director (the reference's section 3):
it sends `VERSION\tdirector-doveadm\t1\t0`, expects the same from the
client, then answers one reply per command line, in order, from a small
scripted state (backend hosts, user mappings, lookups, directors).  Every
command line it receives is recorded, unescaped, so that a test can check
exactly what a client sent.

Knobs for failure tests:
  handshake    the line sent on accept (a wrong one tests the client's check)
  replies      {command: reply} forced answers ("NOTFOUND", "TRYAGAIN", any
               text), or the special values CLOSE (hang up without a reply)
               and STALL (never answer)
  list_rows    {command: [raw escaped lines]} forced list replies (for
               malformed rows)

It is a plain threaded server: one thread accepts, one per connection.
Nothing here imports pytest; stop() is safe to call twice.
"""
import os
import socket
import threading
import time

from .adminclient import escape, unescape  # noqa: F401 (re-exported)

HANDSHAKE = "VERSION\tdirector-doveadm\t1\t0"
CLOSE = object()
STALL = object()
MAX_VHOSTS = 1000
DEFAULT_VHOSTS = 100

def line(*fields):
    return "\t".join(escape(str(f)) for f in fields)


class FakeAdmin:
    """path: UNIX socket to create; tcp=True listens on 127.0.0.1 instead
    (see .address for what a client passes to -a)."""

    def __init__(self, path=None, tcp=False):
        self.path = path
        self.tcp = tcp
        self.handshake = HANDSHAKE
        self.replies = {}
        self.list_rows = {}
        # ip -> {"vhosts", "users", "tag", "up", "changed", "name"}
        self.hosts = {}
        self.removed = []        # HOST-LIST-REMOVED
        self.users = []          # [(hash, expires, ip)]
        self.lookups = {}        # user -> (current, expires, hashed, initial)
        self.directors = []      # DIRECTOR-LIST rows (lists of fields)
        self.moving = set()      # users a USER-MOVE answers TRYAGAIN for
        self._received = []      # [fields] of every command, in order
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._conns = []
        self._threads = []
        self.sock = None
        self.address = None

    # -- state set-up -----------------------------------------------------

    def add_host(self, ip, vhosts=DEFAULT_VHOSTS, tag="", up=True,
                 users=0, changed=0, name=""):
        with self._lock:
            self.hosts[ip] = {"vhosts": vhosts, "users": users, "tag": tag,
                              "up": up, "changed": changed, "name": name}

    def add_user(self, user_hash, ip, expires):
        with self._lock:
            self.users.append((user_hash, expires, ip))

    def set_lookup(self, user, current, expires, hashed, initial):
        with self._lock:
            self.lookups[user] = (current, expires, hashed, initial)

    def received(self):
        """The commands received so far, each a list of unescaped fields;
        the handshake is not included."""
        with self._lock:
            return [list(f) for f in self._received]

    def clear(self):
        with self._lock:
            self._received.clear()

    # -- life cycle -------------------------------------------------------

    def start(self):
        if self.tcp:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(("127.0.0.1", 0))
            self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.bind(self.path)
            self.address = self.path
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        for t in self._threads:
            t.join(timeout=2)
        if not self.tcp and self.path and os.path.exists(self.path):
            os.unlink(self.path)

    def _accept_loop(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,),
                                 daemon=True)
            t.start()
            self._threads.append(t)

    # -- one connection -----------------------------------------------------

    def _serve(self, conn):
        try:
            conn.sendall((self.handshake + "\n").encode())
            rfile = conn.makefile("rb")
            first = rfile.readline().decode("utf-8", "surrogateescape")
            if not first.startswith("VERSION\tdirector-doveadm\t1\t"):
                return
            while not self._stop.is_set():
                raw = rfile.readline()
                if not raw.endswith(b"\n"):
                    return
                text = raw[:-1].decode("utf-8", "surrogateescape")
                fields = [unescape(f) for f in text.split("\t")]
                with self._lock:
                    self._received.append(fields)
                reply = self._answer(fields)
                if reply is CLOSE:
                    return
                if reply is STALL:
                    self._stop.wait()
                    return
                conn.sendall("".join(r + "\n" for r in reply)
                             .encode("utf-8", "surrogateescape"))
        except OSError:
            pass
        finally:
            conn.close()

    def _answer(self, fields):
        """The reply lines (escaped) for one command."""
        cmd, args = fields[0], fields[1:]
        forced = self.replies.get(cmd)
        if forced is CLOSE or forced is STALL:
            return forced
        if forced is not None:
            return [forced]
        if cmd in self.list_rows:
            return list(self.list_rows[cmd]) + [""]
        handler = getattr(self, "_cmd_" + cmd.replace("-", "_").lower(),
                          None)
        if handler is None:
            return CLOSE      # Dovecot closes on an unknown command
        with self._lock:
            return handler(args)

    @staticmethod
    def _arg(args, i):
        return args[i] if len(args) > i else ""

    def _cmd_host_list(self, args):
        rows = [line(ip, h["vhosts"], h["users"], h["tag"],
                     "U" if h["up"] else "D", h["changed"])
                + ("\t" + escape(h["name"]) if h["name"] else "")
                for ip, h in self.hosts.items()]
        return rows + [""]

    def _cmd_host_list_removed(self, args):
        return [line(ip) for ip in self.removed] + [""]

    def _cmd_host_set(self, args):
        spec = self._arg(args, 0)
        ip, _, tag = spec.partition("@")
        vhosts = int(args[1]) if len(args) > 1 else None
        if vhosts is not None and vhosts > MAX_VHOSTS:
            return ["vhost count too large"]
        h = self.hosts.get(ip)
        if h is None:
            self.hosts[ip] = {"vhosts": DEFAULT_VHOSTS if vhosts is None
                              else vhosts, "users": 0, "tag": tag,
                              "up": True, "changed": 0, "name": ""}
        elif h["tag"] != tag and "@" in spec:
            return ["host tag can't be changed"]
        elif vhosts is not None:
            h["vhosts"] = vhosts
        return ["OK"]

    def _cmd_host_update(self, args):
        if self._arg(args, 0) not in self.hosts:
            return ["NOTFOUND"]
        vhosts = int(self._arg(args, 1))
        if vhosts > MAX_VHOSTS:
            return ["vhost count too large"]
        self.hosts[args[0]]["vhosts"] = vhosts
        return ["OK"]

    def _set_up(self, args, up):
        h = self.hosts.get(self._arg(args, 0))
        if h is None:
            return ["NOTFOUND"]
        if h["up"] != up:
            h["up"] = up
            h["changed"] = int(time.time())
        return ["OK"]

    def _cmd_host_up(self, args):
        return self._set_up(args, True)

    def _cmd_host_down(self, args):
        return self._set_up(args, False)

    def _cmd_host_remove(self, args):
        if self.hosts.pop(self._arg(args, 0), None) is None:
            return ["NOTFOUND"]
        self.users = [u for u in self.users if u[2] != args[0]]
        return ["OK"]

    def _flush(self, ip):
        if ip and ip not in self.hosts:
            return ["NOTFOUND"]
        self.users = [u for u in self.users if ip and u[2] != ip]
        return ["OK"]

    def _cmd_host_flush(self, args):
        return self._flush(self._arg(args, 0))

    def _cmd_host_reset_users(self, args):
        if len(args) > 1 and int(args[1]) == 0:
            return CLOSE
        return self._flush(self._arg(args, 0))

    def _cmd_user_lookup(self, args):
        user = self._arg(args, 0)
        if user in self.lookups:
            return [line(*self.lookups[user])]
        first = next(iter(self.hosts), "")
        return [line("", 0, first, first)]

    def _cmd_user_list(self, args):
        ip = self._arg(args, 0)
        return [line(h, e, i) for h, e, i in self.users
                if not ip or i == ip] + [""]

    def _cmd_user_move(self, args):
        user, ip = self._arg(args, 0), self._arg(args, 1)
        if ip not in self.hosts:
            return ["NOTFOUND"]
        if user in self.moving:
            return ["TRYAGAIN"]
        return ["OK"]

    def _cmd_user_kick(self, args):
        return ["OK"]

    def _cmd_user_kick_alt(self, args):
        return ["OK"]

    def _cmd_director_list(self, args):
        return [line(*r) for r in self.directors] + [""]

    def _cmd_director_add(self, args):
        self.directors.append([self._arg(args, 0),
                               self._arg(args, 1) or "9090", "", "0", ""])
        return ["OK"]

    def _cmd_director_remove(self, args):
        ip, port = self._arg(args, 0), self._arg(args, 1)
        for r in self.directors:
            if r[0] == ip and (not port or str(r[1]) == port):
                self.directors.remove(r)
                return ["OK"]
        return ["NOTFOUND"]
