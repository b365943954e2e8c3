#!/usr/bin/python3
"""Generate golden test vectors from a real Dovecot 2.3 director.

Usage: /usr/bin/python3 scripts/gen-golden-vectors.py [--out tests/vectors]
       [--keep-tmp] [--skip-ring]

Needs root, Debian's dovecot-core 2.3 (which still ships the director) and
strace.  Everything runs in a private temporary directory; only addresses in
127.0.77.0/24 are listened on (ring port 9090).  Every process started here
is stopped again, also on failure or SIGINT/SIGTERM.

Writes three tab-separated files (formats are described in their headers):

  userhash.tsv        template, username -> hash, from
                      "doveadm director map -u USER" (no director needed).
  dovecot_select.tsv  backend sets and, per user and tag, the backend that
                      USER-LOOKUP reports as "Hashed" on a standalone
                      director (a ring of one, synced at once).
  hosts_hash.tsv      the hosts_hash that a director puts in its ring SYNC
                      line, traced with strace on a ring of two directors,
                      recorded after every change of the host list.

The username lists and backend sets are fixed, so two runs give the same
vectors (only the date in the headers differs).
"""

import argparse
import bisect
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE_DIR = os.path.join(HERE, "golden")

RING_PORT = 9090
STANDALONE_IP = "127.0.77.21"
RING_IPS = ("127.0.77.11", "127.0.77.12")
ADMIN_TIMEOUT_SECS = 20
START_TIMEOUT_SECS = 15
SYNC_TIMEOUT_SECS = 10
LOOKUP_BATCH = 200
# director_mail_servers may not be empty; this host is removed at once.
INITIAL_MAIL_SERVER = "10.255.255.1"

# The templates of userhash.tsv (director_username_hash values).
HASH_TEMPLATES = ("%u", "%Lu", "%n", "%Ln", "%d", "%Ld", "%Ln@%Ld", "x%uy")
SELECT_TEMPLATE = "%Lu"

# Backend sets.  Each host: (ip, tag, vhosts or None for the default, up).
# The default vhost count of a 2.3 director is 100.
SELECT_SETS = [
    ("h3", [("10.0.0.1", "", None, True),
            ("10.0.0.2", "", None, True),
            ("10.0.0.3", "", None, True)]),
    ("mixed10", [("192.168.10.%d" % (i + 1), "", v, True)
                 for i, v in enumerate((1, 7, 50, 100, 1000, 0, 100, 3,
                                        250, 20))]),
    ("down1", [("172.16.0.1", "", 100, True),
               ("172.16.0.2", "", 100, True),
               ("172.16.0.3", "", 100, False),
               ("172.16.0.4", "", 100, True)]),
    ("tags", [("10.1.0.1", "", 100, True),
              ("10.1.0.2", "", 50, True),
              ("10.1.0.3", "alpha", 100, True),
              ("10.1.0.4", "alpha", 100, True),
              ("10.1.0.5", "alpha", 10, True),
              ("10.1.0.6", "beta", 100, True),
              ("10.1.0.7", "beta", 100, False),
              ("10.1.0.8", "beta", 30, True)]),
    ("ipv6", [("2001:db8::1", "", 100, True),
              ("2001:db8::2", "", 100, True),
              ("2001:db8::a:1", "", 100, True),
              ("fd00::1", "", 20, True),
              ("10.2.0.1", "", 100, True)]),
    ("h50", [("10.50.0.%d" % (i + 1), "", None, True) for i in range(50)]),
    ("single", [("10.60.0.1", "", 100, True)]),
    ("nousable", [("10.3.0.1", "", 100, False),
                  ("10.3.0.2", "", 0, True)]),
]
# Tags queried per set; "gamma" has no hosts at all.
SELECT_TAGS = {"tags": ("", "alpha", "beta", "gamma")}
DEFAULT_VHOSTS = 100


def log(msg):
    print("gen-golden-vectors: " + msg, file=sys.stderr, flush=True)


def fail(msg):
    raise RuntimeError(msg)


# ---------------------------------------------------------------- names


def userhash_names():
    """Fixed username list for userhash.tsv (no TAB/CR/LF/backslash)."""
    names = [
        "", "@", "@@", "@example.com", "user@", "a@b@c", "@b@c",
        "user100", "User100", "USER100", "user100@example.com",
        "User100@Example.COM", "USER100@EXAMPLE.COM",
        "alice", "Alice", "ALICE", "alice@example.com",
        "Alice@Example.Com", "alice@EXAMPLE.com", "ALICE@example.com",
        "bob@sub.example.org", "Bob.Smith@Sub.Example.ORG",
        "john.doe+tag@example.net", "John.Doe+Tag@Example.NET",
        "a", "A", "z", "Z", "0", "1", "42", "12345", "4294967295",
        "4294967296", "-1", "-x", "--", " ", "  ", " leading",
        "trailing ", "a b", "a b@c d", "%u", "%%", "%Lu@%d", "$user",
        "user%40example.com", "x@y", "X@Y", "x@", "@y",
        "user@localhost", "root", "postmaster@example.com",
        "\u00fcmlaut@ex\u00e4mple.de", "\u00dcMLAUT@EX\u00c4MPLE.DE",
        "\u00c4\u00d6\u00dc@EXAMPLE.COM", "\u00e4\u00f6\u00fc@example.com",
        "Stra\u00dfe@X.DE", "\u0130stanbul@Example.TR",
        "\u65e5\u672c\u8a9e@\u4f8b\u3048.jp",
        "\u041f\u0440\u0438\u0432\u0435\u0442@\u041f\u0440\u0438\u043c"
        "\u0435\u0440.\u0420\u0424",
        "emoji\U0001F600@Example.com", "caf\u00e9", "CAF\u00c9",
        "a" * 64, "B" * 64 + "@" + "C" * 63 + ".com",
        "x" * 255 + "@example.com", "Long" * 250,
        "MiXeD.CaSe.User@MiXeD.CaSe.Example",
        "user@EXAMPLE.com@other.ORG",
    ]
    for i in range(40):
        names.append("user%d" % i)
        names.append("User%d@Example.COM" % i)
        names.append("test.user%d@domain%d.example.org" % (i, i % 7))
        names.append("T%dX@D%d" % (i * 7919, i))
    return names


def select_names():
    """Fixed username list for dovecot_select.tsv (at least 300).

    Purely numeric names are left out: USER-LOOKUP takes a digit string as
    a username hash, not as a name."""
    names = ["user%d" % i for i in range(200)]
    names += ["User%d@Example.COM" % i for i in range(60)]
    names += ["person.%d@mail%d.example.net" % (i, i % 5) for i in range(40)]
    for name in userhash_names():
        if name != "" and not name.isdigit() and name not in names \
           and not name.startswith("user") and len(name) < 200:
            names.append(name)
    return names


# ---------------------------------------------------------------- helpers


def fill_template(name, values):
    with open(os.path.join(TEMPLATE_DIR, name), encoding="utf-8") as f:
        text = f.read()
    for key, value in values.items():
        text = text.replace("@" + key + "@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        fail("template %s: unfilled %s" % (name, left))
    return text


def run(argv, **kwargs):
    """Run a short command and return its stdout; fail on non-zero exit."""
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=60, **kwargs)
    if proc.returncode != 0:
        fail("%s: exit %d: %s" % (" ".join(argv), proc.returncode,
                                  proc.stderr.decode(errors="replace")))
    return proc.stdout.decode("utf-8", errors="surrogateescape")


def dovecot_version():
    return run(["dovecot", "--version"]).strip()


def process_exists(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def child_pid_named(ppid, title):
    """The pid of a child of ppid whose command line starts with title."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
            with open("/proc/%s/cmdline" % entry, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(
                    errors="replace")
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2:].split()
        if int(fields[1]) == ppid and cmd.startswith(title):
            return int(entry)
    return None


class Director:
    """One real Dovecot director instance in its own directory."""

    def __init__(self, tmp, name, ip, servers, mail_servers, template):
        self.name = name
        self.ip = ip
        self.dir = os.path.join(tmp, name)
        self.instance = "gv%d-%s" % (os.getpid(), name)
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.master_pid = None
        for sub in ("run", "state", "log"):
            os.makedirs(os.path.join(self.dir, sub))
        text = fill_template("director.conf.in", {
            "INSTANCE": self.instance, "DIR": self.dir, "IP": ip,
            "NAME": name, "RING_PORT": str(RING_PORT),
            "DIRECTOR_SERVERS": " ".join("%s:%d" % (s, RING_PORT)
                                         for s in servers),
            "MAIL_SERVERS": mail_servers,
            "USERNAME_HASH": template})
        with open(self.conf, "w", encoding="utf-8") as f:
            f.write(text)

    @property
    def admin_path(self):
        return os.path.join(self.dir, "run", "director-admin")

    def start(self):
        # the daemonized master keeps stdout/stderr: never a pipe
        out = os.path.join(self.dir, "log", "startup.out")
        with open(out, "wb") as f:
            rc = subprocess.call(["dovecot", "-c", self.conf],
                                 stdin=subprocess.DEVNULL, stdout=f,
                                 stderr=subprocess.STDOUT)
        pidfile = os.path.join(self.dir, "run", "master.pid")
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            if os.path.exists(pidfile) and self.master_pid is None:
                with open(pidfile) as f:
                    text = f.read().strip()
                if text.isdigit():
                    self.master_pid = int(text)
            if self.master_pid is not None and \
               os.path.exists(self.admin_path):
                return
            time.sleep(0.05)
        fail("director %s did not start (rc %d), see %s" %
             (self.name, rc, self.dir))

    def director_pid(self):
        deadline = time.monotonic() + START_TIMEOUT_SECS
        while time.monotonic() < deadline:
            pid = child_pid_named(self.master_pid, "dovecot-%s/director"
                                  % self.instance)
            if pid is not None:
                return pid
            # the director process starts on first use
            Admin(self.admin_path).close()
            time.sleep(0.1)
        fail("no director process under master %d" % self.master_pid)

    def stop(self):
        if self.master_pid is None:
            return
        pid, self.master_pid = self.master_pid, None
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and process_exists(pid):
            time.sleep(0.05)
        if process_exists(pid):
            log("master %d ignored SIGTERM, killing it" % pid)
            os.kill(pid, signal.SIGKILL)

    def doveadm(self, *args):
        return run(["doveadm", "-c", self.conf] + list(args))


class Admin:
    """A client of the director-admin socket (director-doveadm v1)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(ADMIN_TIMEOUT_SECS)
        self.sock.connect(path)
        self.rfile = self.sock.makefile("rb")
        self.send("VERSION\tdirector-doveadm\t1\t0")
        line = self.readline()
        if not line.startswith("VERSION\tdirector-doveadm\t1\t"):
            fail("bad admin handshake: %r" % line)

    def close(self):
        self.rfile.close()
        self.sock.close()

    def send(self, *lines):
        data = "".join(line + "\n" for line in lines)
        self.sock.sendall(data.encode("utf-8"))

    def readline(self):
        raw = self.rfile.readline()
        if not raw.endswith(b"\n"):
            fail("director-admin closed the connection")
        return raw[:-1].decode("utf-8", errors="surrogateescape")

    def command(self, line, want="OK"):
        self.send(line)
        reply = self.readline()
        if want is not None and reply != want:
            fail("%r: got %r" % (line, reply))
        return reply

    def listing(self, line):
        self.send(line)
        rows = []
        while True:
            reply = self.readline()
            if reply == "":
                return rows
            rows.append(reply.split("\t"))

    def host_list(self):
        """[(ip, tag, vhosts, up)] sorted as the director lists them."""
        hosts = []
        for row in self.listing("HOST-LIST"):
            # ip vhosts users tag U|D last-updown
            if len(row) < 6:
                fail("bad HOST-LIST row %r" % row)
            hosts.append((row[0], row[3], int(row[1]), row[4] == "U"))
        return hosts

    def wait_ring_synced(self, n_directors):
        deadline = time.monotonic() + START_TIMEOUT_SECS
        rows = []
        while time.monotonic() < deadline:
            rows = self.listing("DIRECTOR-LIST")
            synced = any(r[2] == "self" and "ring synced" in r[4]
                         for r in rows if len(r) > 4)
            peers = [r for r in rows if len(r) > 2 and
                     r[2] in ("left", "right")]
            if synced and (n_directors == 1 or len(peers) == 2):
                return
            time.sleep(0.1)
        fail("ring not synced: %r" % rows)

    def lookup_many(self, queries):
        """USER-LOOKUP each (user_or_hash, tag); returns hashed hosts."""
        result = []
        for start in range(0, len(queries), LOOKUP_BATCH):
            batch = queries[start:start + LOOKUP_BATCH]
            self.send(*["USER-LOOKUP\t%s\t%s" % q for q in batch])
            for query in batch:
                row = self.readline().split("\t")
                if len(row) != 4:
                    fail("bad USER-LOOKUP reply for %r: %r" %
                         (query, row))
                result.append(row[2])
        return result


# ---------------------------------------------------------------- 1. hashes


def dovecot_user_hashes(tmp, template, names):
    """Hash every name with "doveadm director map -u" under template."""
    conf = os.path.join(tmp, "hash-%08x.conf" % zlib.crc32(
        template.encode("utf-8")))
    with open(conf, "w", encoding="utf-8") as f:
        f.write(fill_template("hashonly.conf.in", {
            "DIR": os.path.join(tmp, "no-such-dir"),
            "USERNAME_HASH": template}))
    hashes = {}
    for name in names:
        out = run(["doveadm", "-c", conf, "director", "map", "-u",
                   "--", name])
        lines = [ln.strip() for ln in out.splitlines() if ln.strip()]
        if len(lines) != 1 or not lines[0].isdigit():
            fail("map -u %r under %s: %r" % (name, template, out))
        hashes[name] = int(lines[0])
    return hashes


def check_name(name):
    if any(c in name for c in "\t\r\n\\"):
        fail("username %r cannot be written to a vector file" % name)


def gen_userhash(tmp, header):
    names = userhash_names()
    if len(set(names)) != len(names):
        fail("duplicate names in userhash list")
    lines = header + [
        "# Username hash as Dovecot computes it: director_username_hash",
        "# (the template) is expanded for the user name, then the first",
        "# 4 bytes of MD5 of the result are read as a big-endian uint32",
        "# (Dovecot maps 0 to 1).  Produced with",
        "#   doveadm -c CONF director map -u -- USERNAME",
        "# with only director_username_hash set in CONF (no director runs).",
        "# %L lowercases ASCII only; %n is the part before the first '@',",
        "# %d the part after it (empty without '@').",
        "# Usernames are raw UTF-8 and contain no TAB, CR, LF or backslash;",
        "# the empty username is the line 'TEMPLATE<TAB><TAB>HASH'.",
        "# Format: template<TAB>username<TAB>hash (decimal uint32)",
    ]
    count = 0
    for template in HASH_TEMPLATES:
        hashes = dovecot_user_hashes(tmp, template, names)
        for name in names:
            check_name(name)
            lines.append("%s\t%s\t%d" % (template, name, hashes[name]))
            count += 1
    log("userhash: %d vectors (%d names x %d templates)" %
        (count, len(names), len(HASH_TEMPLATES)))
    return lines


# ---------------------------------------------------------------- 2. select


def host_ip_arg(ip, tag):
    return ip + ("@" + tag if tag else "")


def expected_hosts(hosts):
    return [(ip, tag, DEFAULT_VHOSTS if v is None else v, up)
            for ip, tag, v, up in hosts]


def apply_set(admin, hosts):
    """Replace the director's host list with hosts; returns the commands."""
    for ip, _tag, _v, _up in admin.host_list():
        admin.command("HOST-REMOVE\t%s" % ip)
    for ip, tag, vhosts, up in hosts:
        if vhosts is None:
            admin.command("HOST-SET\t%s" % host_ip_arg(ip, tag))
        else:
            admin.command("HOST-SET\t%s\t%d" %
                      (host_ip_arg(ip, tag), vhosts))
        if not up:
            admin.command("HOST-DOWN\t%s" % ip)


def same_hosts(a, b):
    return sorted(a) == sorted(b)


def verify_with_doveadm(director, want):
    """Check "doveadm director status" shows exactly the wanted hosts."""
    out = director.doveadm("-f", "tab", "director", "status", "-a",
                           director.admin_path)
    rows = [ln.split("\t") for ln in out.splitlines()[1:] if ln]
    got = [(r[0], r[1], int(r[2]), r[3] == "up") for r in rows]
    if not same_hosts(got, want):
        fail("doveadm director status shows %r, want %r" % (got, want))


def check_doveadm_status(director, name, tag, want_ip):
    """Check that "doveadm director status USER [TAG]" agrees."""
    argv = ["director", "status", "-a", director.admin_path, "--", name]
    if tag:
        argv.append(tag)
    out = director.doveadm(*argv)
    hashed = re.search(r"^Hashed: (.*)$", out, re.M)
    if hashed is None or hashed.group(1).strip() != want_ip:
        fail("doveadm %s: %r, want %r" % (" ".join(argv), out, want_ip))


def host_lines(set_name, hosts):
    return ["host\t%s\t%s\t%s\t%d\t%s" % (set_name, ip, tag, vhosts,
                                          "up" if up else "down")
            for ip, tag, vhosts, up in hosts]


def gen_select(tmp, header):
    names = select_names()
    for name in names:
        check_name(name)
    hashes = dovecot_user_hashes(tmp, SELECT_TEMPLATE, names)
    director = Director(tmp, "standalone", STANDALONE_IP, [STANDALONE_IP],
                        INITIAL_MAIL_SERVER, SELECT_TEMPLATE)
    cleanup.append(director)
    director.start()
    admin = Admin(director.admin_path)
    admin.wait_ring_synced(1)
    lines = header + [
        "# Backend selection of a real director: one standalone 2.3",
        "# director (director_servers = itself, director_username_hash =",
        "# %Lu), hosts set with HOST-SET/HOST-DOWN on its admin socket and",
        "# checked with 'doveadm director status'; then per user and tag",
        "# the 'Hashed:' host of USER-LOOKUP (what 'doveadm director",
        "# status USER TAG' prints; it creates no user mapping).  Every",
        "# answer was also checked by looking up the numeric hash.",
        "# host<TAB>SET<TAB>ip<TAB>tag<TAB>vhosts<TAB>up|down",
        "#   one line per backend of SET (tag empty = default tag)",
        "# user<TAB>SET<TAB>tag<TAB>username<TAB>hash<TAB>expected_ip",
        "#   hash = %Lu username hash (decimal); expected_ip empty when",
        "#   the director has no usable host for that tag.",
        "# IPs are written as Dovecot prints them.",
        "# Model (checked by the script): per tag, every up host with",
        "# vhosts > 0 puts points MD5(\"<ip>-<i>\")[0..3] (big-endian,",
        "# i < vhosts) on a ring; the user goes to the first point >= its",
        "# hash, wrapping to the lowest point.",
    ]
    total = 0
    for set_name, hosts in SELECT_SETS:
        want = expected_hosts(hosts)
        apply_set(admin, hosts)
        listed = admin.host_list()
        if not same_hosts(listed, want):
            fail("set %s: director lists %r" % (set_name, listed))
        verify_with_doveadm(director, want)
        lines += host_lines(set_name, listed)
        for tag in SELECT_TAGS.get(set_name, ("",)):
            by_name = admin.lookup_many([(n, tag) for n in names])
            by_hash = admin.lookup_many([(str(hashes[n]), tag)
                                         for n in names])
            if by_name != by_hash:
                fail("set %s tag %r: lookup by name and by hash differ"
                     % (set_name, tag))
            for name, ip in zip(names, by_name):
                lines.append("user\t%s\t%s\t%s\t%d\t%s" %
                             (set_name, tag, name, hashes[name], ip))
                total += 1
            # a few spot checks through doveadm itself
            for name, ip in list(zip(names, by_name))[:3]:
                check_doveadm_status(director, name, tag, ip)
    admin.close()
    director.stop()
    log("dovecot_select: %d user vectors in %d sets" %
        (total, len(SELECT_SETS)))
    return lines


# ---------------------------------------------------------------- 3. ring


SYNC_RE = re.compile(r'"SYNC\\t([0-9a-f.:]+)\\t(\d+)\\t(\d+)\\t(\d+)'
                     r'\\t(\d+)\\t(\d+)\\n')


class SyncTrace:
    """strace of a director process, parsed for SYNC lines it writes."""

    def __init__(self, tmp, pid, self_ip):
        self.path = os.path.join(tmp, "strace.out")
        self.self_ip = self_ip
        self.proc = subprocess.Popen(
            ["strace", "-f", "-qq", "-e", "trace=write,writev,sendmsg",
             "-s", "65536", "-o", self.path, "-p", str(pid)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL)
        self.last_seq = -1
        self.offset = 0

    def syncs(self):
        """New (seq, hash) of SYNCs this director originated."""
        found = []
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return found
        cut = data.rfind(b"\n") + 1
        self.offset += cut
        text = data[:cut].decode(errors="replace")
        for m in SYNC_RE.finditer(text):
            if m.group(1) == self.self_ip:
                found.append((int(m.group(3)), int(m.group(6))))
        return found

    def wait_new_sync(self):
        """Hash of the next SYNC originated after the last one seen."""
        deadline = time.monotonic() + SYNC_TIMEOUT_SECS
        pending = []
        while time.monotonic() < deadline:
            pending += [s for s in self.syncs() if s[0] > self.last_seq]
            if pending:
                # settle: take the newest one that is written
                time.sleep(0.05)
                pending += [s for s in self.syncs()
                            if s[0] > self.last_seq]
                seq, value = max(pending)
                self.last_seq = seq
                return value
            time.sleep(0.02)
        fail("no SYNC seen in %s" % self.path)

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def ring_steps(set_name, hosts):
    """Commands building set_name step by step, with vhost/up changes."""
    steps = []
    for ip, tag, vhosts, up in hosts:
        cmd = "HOST-SET\t%s" % host_ip_arg(ip, tag)
        if vhosts is not None:
            cmd += "\t%d" % vhosts
        steps.append(cmd)
        if not up:
            steps.append("HOST-DOWN\t%s" % ip)
    # extra changes that end in the same set: vhosts change and back,
    # down and up again
    ip, tag, vhosts, up = hosts[0]
    orig = DEFAULT_VHOSTS if vhosts is None else vhosts
    steps.append("HOST-SET\t%s\t%d" % (host_ip_arg(ip, tag), orig + 1))
    steps.append("HOST-SET\t%s\t%d" % (host_ip_arg(ip, tag), orig))
    if up:
        steps.append("HOST-DOWN\t%s" % ip)
        steps.append("HOST-UP\t%s" % ip)
    return steps


def gen_hosts_hash(tmp, header):
    directors = []
    for i, ip in enumerate(RING_IPS):
        d = Director(tmp, "ring%d" % i, ip, RING_IPS, INITIAL_MAIL_SERVER,
                     SELECT_TEMPLATE)
        cleanup.append(d)
        directors.append(d)
    for d in directors:
        d.start()
    admin = Admin(directors[0].admin_path)
    admin.wait_ring_synced(2)
    trace = SyncTrace(tmp, directors[0].director_pid(), RING_IPS[0])
    cleanup.append(trace)
    time.sleep(0.5)  # let strace attach
    lines = header + [
        "# hosts_hash of the ring SYNC line",
        "#   SYNC<TAB>ip<TAB>port<TAB>seq<TAB>minor<TAB>timestamp<TAB>"
        "hosts_hash",
        "# that a 2.3 director writes to its ring connection.  Two real",
        "# directors (%s, %s, port %d) formed a ring; the" %
        (RING_IPS[0], RING_IPS[1], RING_PORT),
        "# first one was traced with strace while its host list was",
        "# changed through its admin socket (HOST-SET/DOWN/UP/REMOVE);",
        "# after each change the SYNC it originated was recorded with the",
        "# host list it then reported (HOST-LIST).",
        "# host<TAB>SET<TAB>ip<TAB>tag<TAB>vhosts<TAB>up|down",
        "#   the backends of SET (no host lines: the empty list)",
        "# hostshash<TAB>SET<TAB>value (decimal)",
        "# SET names equal to those in dovecot_select.tsv are the same",
        "# host lists; NAME.N are intermediate states while building NAME.",
        "# NAME.rN are states while the previous set was being removed.",
        "# Model (checked by the script): hosts sorted by address (IPv4",
        "# before IPv6, bytewise); CRC-32 (zlib's) chained over, per host,",
        "# uint32 little-endian (vhosts XOR (down ? 1 : 0)), uint32",
        "# little-endian net_ip_hash(ip) (IPv4: the 4 address bytes as",
        "# stored; IPv6: h = (h << 4) + byte, then if g = h & 0xf0000000:",
        "# h ^= g >> 24, h ^= g), then the tag bytes; a result 0 becomes 1.",
    ]
    count = 0
    state_no = 0

    def record(name):
        nonlocal count
        value = trace.wait_new_sync()
        listed = admin.host_list()
        lines.extend(host_lines(name, listed))
        lines.append("hostshash\t%s\t%d" % (name, value))
        count += 1
        return listed

    for set_name, hosts in SELECT_SETS:
        for ip, _tag, _v, _up in admin.host_list():
            admin.command("HOST-REMOVE\t%s" % ip)
            state_no += 1
            record("%s.r%d" % (set_name, state_no))
        steps = ring_steps(set_name, hosts)
        for i, cmd in enumerate(steps):
            admin.command(cmd)
            name = set_name if i == len(steps) - 1 else \
                "%s.%d" % (set_name, i + 1)
            listed = record(name)
        if not same_hosts(listed, expected_hosts(hosts)):
            fail("ring set %s ended as %r" % (set_name, listed))
    admin.close()
    trace.stop()
    for d in directors:
        d.stop()
    log("hosts_hash: %d vectors" % count)
    return lines


# ---------------------------------------------------------------- model
#
# An independent model of what the vectors show, used only to cross-check
# the recorded files (a mismatch is reported, the vectors stay as Dovecot
# produced them).  It is also the plain description of the algorithms.


def model_hash(data):
    """First 4 bytes of MD5 as big-endian uint32; 0 becomes 1."""
    value = int.from_bytes(hashlib.md5(data).digest()[:4], "big")
    return value if value != 0 else 1


def model_lcase(text):
    return "".join(c.lower() if c.isascii() else c for c in text)


def model_expand(template, user):
    """%u/%n/%d with optional L, as far as HASH_TEMPLATES use them."""
    local, _sep, domain = user.partition("@")
    values = {"u": user, "n": local, "d": domain}
    out = []
    i = 0
    while i < len(template):
        if template[i] != "%":
            out.append(template[i])
            i += 1
            continue
        lower = template[i + 1] == "L"
        key = template[i + 2] if lower else template[i + 1]
        value = values[key]
        out.append(model_lcase(value) if lower else value)
        i += 3 if lower else 2
    return "".join(out)


def model_select(hosts, tag, user_hash):
    """Successor of user_hash on the ring of MD5("ip-i") points."""
    points = []
    for ip, host_tag, vhosts, up in hosts:
        if host_tag == tag and up:
            points += [(model_hash(("%s-%d" % (ip, i)).encode()), ip)
                       for i in range(vhosts)]
    if not points:
        return ""
    points.sort()
    idx = bisect.bisect_left(points, (user_hash, ""))
    return points[idx % len(points)][1]


def model_ip_key(ip):
    if ":" in ip:
        return (1, socket.inet_pton(socket.AF_INET6, ip))
    return (0, socket.inet_pton(socket.AF_INET, ip))


def model_ip_hash(ip):
    """Dovecot's net_ip_hash(): IPv4 s_addr, IPv6 an ELF-style hash."""
    family, raw = model_ip_key(ip)
    if family == 0:
        return struct.unpack("<I", raw)[0]
    value = 0
    for byte in raw:
        value = ((value << 4) + byte) & 0xffffffff
        high = value & 0xf0000000
        if high:
            value ^= high >> 24
            value ^= high
    return value


def model_hosts_hash(hosts):
    """CRC-32 chained over the hosts sorted by address; 0 becomes 1."""
    crc = 0
    for ip, tag, vhosts, up in sorted(hosts, key=lambda h: model_ip_key(h[0])):
        crc = zlib.crc32(struct.pack("<I", vhosts ^ (0 if up else 1)), crc)
        crc = zlib.crc32(struct.pack("<I", model_ip_hash(ip)), crc)
        crc = zlib.crc32(tag.encode("utf-8"), crc)
    return crc if crc != 0 else 1


def model_check(files):
    """Count vectors the model disagrees with; logs the result."""
    checked = bad = 0
    for name, lines in files:
        sets = {}
        for line in lines:
            if line.startswith("#"):
                continue
            f = line.split("\t")
            if f[0] == "host":
                sets.setdefault(f[1], []).append(
                    (f[2], f[3], int(f[4]), f[5] == "up"))
            elif f[0] == "hostshash":
                ok = model_hosts_hash(sets.get(f[1], [])) == int(f[2])
            elif f[0] == "user":
                ok = (model_hash(model_lcase(f[3]).encode()) == int(f[4])
                      and model_select(sets[f[1]], f[2], int(f[4])) == f[5])
            else:
                ok = model_hash(model_expand(f[0], f[1]).encode()) == \
                    int(f[2])
            if f[0] != "host":
                checked += 1
                if not ok:
                    bad += 1
                    log("model disagrees (%s): %r" % (name, line))
    log("model check: %d vectors, %d disagree" % (checked, bad))
    return bad


# ---------------------------------------------------------------- main


cleanup = []


def stop_all():
    for obj in reversed(cleanup):
        try:
            obj.stop()
        except Exception as e:  # keep stopping the others
            log("cleanup: %s" % e)
    cleanup.clear()


def on_signal(signum, _frame):
    raise KeyboardInterrupt("signal %d" % signum)


def write_file(path, lines):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(tmp, path)
    log("wrote %s" % path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="tests/vectors",
                        help="output directory (default tests/vectors)")
    parser.add_argument("--keep-tmp", action="store_true",
                        help="keep the temporary directory (logs, traces)")
    parser.add_argument("--skip-ring", action="store_true",
                        help="do not regenerate hosts_hash.tsv")
    args = parser.parse_args()
    if os.geteuid() != 0:
        fail("must run as root (dovecot drops privileges itself)")
    if not args.skip_ring and shutil.which("strace") is None:
        fail("strace is missing (apt-get install strace)")
    signal.signal(signal.SIGTERM, on_signal)
    os.makedirs(args.out, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix="golden-vectors-")
    os.chmod(tmp, 0o755)  # dovecot's unprivileged processes need access
    version = dovecot_version()
    header = [
        "# Golden vectors from a real Dovecot director, generated by",
        "# scripts/gen-golden-vectors.py; do not edit by hand.",
        "# dovecot --version: %s" % version,
        "# date: %s" % time.strftime("%Y-%m-%d %H:%M:%S UTC",
                                     time.gmtime()),
        "# Lines starting with '#' are comments; fields are TAB-separated.",
    ]
    ok = False
    try:
        started = time.monotonic()
        files = [("userhash.tsv", gen_userhash(tmp, header)),
             ("dovecot_select.tsv", gen_select(tmp, header))]
        if not args.skip_ring:
            files.append(("hosts_hash.tsv",
                          gen_hosts_hash(tmp, header)))
        for name, lines in files:
            write_file(os.path.join(args.out, name), lines)
        if model_check(files) != 0:
            log("warning: the vectors are Dovecot's; the model is wrong")
        log("done in %.1f s" % (time.monotonic() - started))
        ok = True
    finally:
        stop_all()
        if args.keep_tmp or not ok:
            log("temporary files kept in %s" % tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt as e:
        log("interrupted: %s" % e)
        sys.exit(130)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        log("error: %s" % e)
        sys.exit(1)
