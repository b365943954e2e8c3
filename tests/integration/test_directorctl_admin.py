"""directorctl's admin verbs against an admin endpoint.

The `admin` fixture gives "an admin endpoint and a way to set its state":
an object with .address (what -a takes), add_host(), add_user(),
set_lookup(), .directors, .removed, .moving, and received() (the command
lines it got, unescaped).  Today it is harness.fakeadmin.FakeAdmin, a
scripted server that speaks director-doveadm v1.0; the test bodies only
use that interface, so they can be pointed at directord's admin socket
once it exists.  The failure tests (bad handshake, stalls, forced replies)
need the fake's knobs and say so.

The last test runs directorctl against a real Dovecot 2.3 director.
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time

import pytest

from harness import directord, fakeadmin
from harness import dovecot_director as dovecot_director_harness

EX_USAGE = 64
EX_DATAERR = 65
EX_NOTFOUND = 68
EX_UNAVAILABLE = 69
EX_TEMPFAIL = 75
EX_PROTOCOL = 76
EX_NOPERM = 77
EX_CONFIG = 78
NOBODY = 65534


def _binary():
    path = directord.binary_path("directorctl")
    if not os.access(path, os.X_OK):
        pytest.fail("no directorctl at %s (set DIRECTOR_BUILD)" % path)
    return path


def ctl(*args, timeout=30, binary=None, **kw):
    env = directord.sanitizer_env()
    env["TZ"] = "UTC"
    return subprocess.run([binary or _binary()] + list(args),
                          capture_output=True, text=True, errors="replace",
                          timeout=timeout, stdin=subprocess.DEVNULL, env=env,
                          **kw)


def ctl_ok(admin, *args):
    res = ctl("-a", admin.address, *args)
    assert res.returncode == 0, (args, res.stdout, res.stderr)
    return res.stdout


@pytest.fixture
def admin(tmp_path):
    srv = fakeadmin.FakeAdmin(str(tmp_path / "admin")).start()
    yield srv
    srv.stop()


@pytest.fixture
def tcp_admin():
    srv = fakeadmin.FakeAdmin(tcp=True).start()
    yield srv
    srv.stop()


def three_hosts(admin):
    admin.add_host("10.0.0.1", 100, users=12)
    admin.add_host("10.0.0.2", 50, tag="archive", users=3)
    admin.add_host("10.0.0.10", 0, up=False, users=0, changed=1700000000)


# -- status, map ------------------------------------------------------------

def test_status_table(admin):
    three_hosts(admin)
    out = ctl_ok(admin, "status")
    # a director that sends no health (2.3) gets "-" there
    assert out == (
        "host       name  tag      vhosts  users  state  changed            "
        "  health  check  latency_ms\n"
        "10.0.0.1   -     -           100     12  up     -                  "
        "  -       -      -\n"
        "10.0.0.2   -     archive      50      3  up     -                  "
        "  -       -      -\n"
        "10.0.0.10  -     -             0      0  down   2023-11-14 22:13:20"
        "  -       -      -\n")
    assert admin.received() == [["HOST-LIST"]]


def test_status_json(admin):
    three_hosts(admin)
    admin.add_host("10.0.0.11", name="mail11.example.com")
    doc = json.loads(ctl_ok(admin, "--json", "status"))
    assert doc[0] == {"host": "10.0.0.1", "name": None, "tag": None,
                      "vhosts": 100, "users": 12, "state": "up",
                      "changed": None, "health": None, "check": None,
                      "latency_ms": None}
    assert doc[2]["state"] == "down" and doc[2]["changed"] == 1700000000
    assert doc[1]["tag"] == "archive"
    assert doc[3]["name"] == "mail11.example.com"
    # --json is accepted after the verb too
    assert json.loads(ctl_ok(admin, "status", "--json")) == doc


def test_status_empty(admin):
    assert ctl_ok(admin, "status").splitlines() == [
        "host  name  tag  vhosts  users  state  changed  health  check  "
        "latency_ms"]
    assert json.loads(ctl_ok(admin, "--json", "status")) == []


def test_status_user(admin):
    three_hosts(admin)
    admin.set_lookup("alice", "10.0.0.1", 1700000900, "10.0.0.2",
                     "10.0.0.10")
    out = ctl_ok(admin, "status", "alice")
    assert out == ("user:           alice\n"
                   "current:        10.0.0.1 (expires 2023-11-14 "
                   "22:28:20)\n"
                   "hashed:         10.0.0.2\n"
                   "initial config: 10.0.0.10\n")
    doc = json.loads(ctl_ok(admin, "--json", "status", "alice", "archive"))
    assert doc == {"user": "alice", "tag": "archive",
                   "current": "10.0.0.1", "expires": 1700000900,
                   "hashed": "10.0.0.2", "initial_config": "10.0.0.10"}
    assert admin.received() == [["USER-LOOKUP", "alice"],
                                ["USER-LOOKUP", "alice", "archive"]]


def test_status_user_unassigned(admin):
    three_hosts(admin)
    out = ctl_ok(admin, "status", "bob")
    assert "current:        none\n" in out
    doc = json.loads(ctl_ok(admin, "--json", "status", "bob"))
    assert doc["current"] is None and doc["expires"] is None
    assert doc["tag"] is None
    assert doc["hashed"] == "10.0.0.1"


def test_map(admin):
    three_hosts(admin)
    admin.add_user(708027221, "10.0.0.1", 1700000000)
    admin.add_user(5, "10.0.0.2", 1700000060)
    out = ctl_ok(admin, "map")
    assert out == ("     hash  host      expires\n"
                   "708027221  10.0.0.1  2023-11-14 22:13:20\n"
                   "        5  10.0.0.2  2023-11-14 22:14:20\n")
    doc = json.loads(ctl_ok(admin, "--json", "map", "10.0.0.2"))
    assert doc == [{"hash": 5, "host": "10.0.0.2", "expires": 1700000060}]
    assert admin.received() == [["USER-LIST"], ["USER-LIST", "10.0.0.2"]]


# -- changes ----------------------------------------------------------------

@pytest.mark.parametrize("args,sent,out", [
    (["add", "10.0.0.5"], ["HOST-SET", "10.0.0.5"], "10.0.0.5: added\n"),
    (["add", "10.0.0.5", "50"], ["HOST-SET", "10.0.0.5", "50"],
     "10.0.0.5: added\n"),
    (["add", "10.0.0.5@archive", "7"], ["HOST-SET", "10.0.0.5@archive", "7"],
     "10.0.0.5: added\n"),
    (["add", "-t", "archive", "10.0.0.5"], ["HOST-SET", "10.0.0.5@archive"],
     "10.0.0.5: added\n"),
    (["add", "2001:db8::5"], ["HOST-SET", "2001:db8::5"],
     "2001:db8::5: added\n"),
    (["update", "10.0.0.1", "20"], ["HOST-UPDATE", "10.0.0.1", "20"],
     "10.0.0.1: updated\n"),
    (["up", "10.0.0.10"], ["HOST-UP", "10.0.0.10"], "10.0.0.10: up\n"),
    (["down", "10.0.0.1"], ["HOST-DOWN", "10.0.0.1"], "10.0.0.1: down\n"),
    (["remove", "10.0.0.2"], ["HOST-REMOVE", "10.0.0.2"],
     "10.0.0.2: removed\n"),
    (["move", "alice", "10.0.0.2"], ["USER-MOVE", "alice", "10.0.0.2"],
     "alice: moved to 10.0.0.2\n"),
    (["kick", "alice"], ["USER-KICK", "alice"], "alice: kicked\n"),
    (["kick", "-f", "master", "bob"], ["USER-KICK-ALT", "master", "bob"],
     "bob: kicked\n"),
    (["flush", "10.0.0.1"], ["HOST-RESET-USERS", "10.0.0.1"],
     "10.0.0.1: flushed\n"),
    (["flush", "--max-parallel", "5", "10.0.0.1"],
     ["HOST-RESET-USERS", "10.0.0.1", "5"], "10.0.0.1: flushed\n"),
    (["flush", "all"], ["HOST-RESET-USERS"], "all: flushed\n"),
    (["flush", "--max-parallel", "5", "all"], ["HOST-RESET-USERS", "", "5"],
     "all: flushed\n"),
    (["flush", "--force", "10.0.0.1"], ["HOST-FLUSH", "10.0.0.1"],
     "10.0.0.1: flushed (unsafe, no kicks)\n"),
    (["flush", "-F", "all"], ["HOST-FLUSH"],
     "all: flushed (unsafe, no kicks)\n"),
    (["ring", "add", "10.0.1.2"], ["DIRECTOR-ADD", "10.0.1.2"],
     "10.0.1.2: added\n"),
    (["ring", "add", "10.0.1.2:9091"], ["DIRECTOR-ADD", "10.0.1.2", "9091"],
     "10.0.1.2:9091: added\n"),
    (["ring", "add", "10.0.1.2", "9091"],
     ["DIRECTOR-ADD", "10.0.1.2", "9091"], "10.0.1.2:9091: added\n"),
    (["ring", "add", "[2001:db8::7]:9090"],
     ["DIRECTOR-ADD", "2001:db8::7", "9090"],
     "[2001:db8::7]:9090: added\n"),
])
def test_change_verbs(admin, args, sent, out):
    three_hosts(admin)
    assert ctl_ok(admin, *args) == out
    assert admin.received() == [sent]


def test_change_json(admin):
    three_hosts(admin)
    doc = json.loads(ctl_ok(admin, "--json", "down", "10.0.0.1"))
    assert doc == [{"target": "10.0.0.1", "result": "down"}]
    assert json.loads(ctl_ok(admin, "status", "--json"))[0]["state"] == \
        "down"


@pytest.mark.parametrize("args,sent", [
    (["up", "10.9.9.9"], "HOST-UP 10.9.9.9"),
    (["down", "10.9.9.9"], "HOST-DOWN 10.9.9.9"),
    (["remove", "10.9.9.9"], "HOST-REMOVE 10.9.9.9"),
    (["update", "10.9.9.9", "5"], "HOST-UPDATE 10.9.9.9 5"),
    (["move", "alice", "10.9.9.9"], "USER-MOVE alice 10.9.9.9"),
    (["flush", "10.9.9.9"], "HOST-RESET-USERS 10.9.9.9"),
    (["flush", "-F", "10.9.9.9"], "HOST-FLUSH 10.9.9.9"),
])
def test_notfound(admin, args, sent):
    three_hosts(admin)
    res = ctl("-a", admin.address, *args)
    assert res.returncode == EX_NOTFOUND, res.stderr
    assert res.stderr == "directorctl: %s: %s: NOTFOUND (no such " \
        "backend)\n" % (admin.address, sent)
    assert res.stdout == ""
    res = ctl("-a", admin.address, "--json", *args)
    assert res.returncode == EX_NOTFOUND and res.stdout == ""


def test_ring_remove_notfound(admin):
    res = ctl("-a", admin.address, "ring", "remove", "10.0.1.9")
    assert res.returncode == EX_NOTFOUND
    assert "no such director" in res.stderr
    assert admin.received() == [["DIRECTOR-REMOVE", "10.0.1.9"]]


def test_move_already_moving(admin):
    three_hosts(admin)
    admin.moving.add("alice")
    res = ctl("-a", admin.address, "move", "alice", "10.0.0.2")
    assert res.returncode == EX_TEMPFAIL
    assert res.stderr == (
        "directorctl: %s: USER-MOVE alice 10.0.0.2: TRYAGAIN (the user is "
        "already being moved; wait for that move to end)\n" % admin.address)


@pytest.mark.parametrize("reply,code", [
    ("vhost count too large", EX_DATAERR),
    ("host tag can't be changed", EX_DATAERR),
    ("host is already being updated - try again later", EX_TEMPFAIL),
    ("Ring sync timed out", EX_TEMPFAIL),
    ("TRYAGAIN", EX_TEMPFAIL),
])
def test_error_replies(admin, reply, code):
    admin.replies["HOST-SET"] = reply
    res = ctl("-a", admin.address, "add", "10.0.0.5", "2000")
    assert res.returncode == code
    assert admin.address in res.stderr and reply in res.stderr
    assert res.stderr.count("\n") == 1


def test_server_checks_vhosts(admin):
    res = ctl("-a", admin.address, "add", "10.0.0.5", "1001")
    assert res.returncode == EX_DATAERR
    assert "vhost count too large" in res.stderr


# -- dump ---------------------------------------------------------------------

def test_dump_replays(admin, tmp_path):
    three_hosts(admin)
    admin.add_host("10.0.0.12", 30, tag="odd tag'x")
    admin.removed.append("10.0.0.99")
    out = ctl_ok(admin, "dump")
    prefix = "directorctl -a %s " % admin.address
    assert out.splitlines() == [
        prefix + "add 10.0.0.1 100",
        prefix + "add 10.0.0.2@archive 50",
        prefix + "add 10.0.0.10 0",
        prefix + "add '10.0.0.12@odd tag'\\''x' 30",
        prefix + "down 10.0.0.10",
        prefix + "remove 10.0.0.99",
    ]
    assert admin.received() == [["HOST-LIST"], ["HOST-LIST-REMOVED"]]
    doc = json.loads(ctl_ok(admin, "--json", "dump"))
    assert [h["host"] for h in doc["hosts"]] == [
        "10.0.0.1", "10.0.0.2", "10.0.0.10", "10.0.0.12"]
    assert doc["removed"] == ["10.0.0.99"]

    # replaying the dump against an empty director rebuilds the list
    fresh = fakeadmin.FakeAdmin(str(tmp_path / "fresh")).start()
    try:
        fresh.add_host("10.0.0.99")
        script = out.replace(admin.address, fresh.address)
        env = directord.sanitizer_env()
        env["PATH"] = os.path.dirname(os.path.abspath(_binary())) + \
            os.pathsep + env.get("PATH", "")
        res = subprocess.run(["/bin/sh", "-e"], input=script, text=True,
                             capture_output=True, env=env, timeout=30)
        assert res.returncode == 0, res.stderr
        want = {ip: (h["vhosts"], h["tag"], h["up"])
                for ip, h in admin.hosts.items()}
        got = {ip: (h["vhosts"], h["tag"], h["up"])
               for ip, h in fresh.hosts.items()}
        assert got == want
    finally:
        fresh.stop()


# -- ring status ----------------------------------------------------------------

def test_ring_status(admin):
    admin.directors = [
        ["10.0.1.1", "9090", "self", "0", "ring synced"],
        ["10.0.1.2", "9090", "right", "1700000000", "synced", "3", "1000",
         "2000", "0", "512", "1700000100", "1700000101"],
        ["10.0.1.3", "9090", "", "0", ""],
    ]
    out = ctl_ok(admin, "ring", "status").splitlines()
    assert out[0].split() == [
        "director", "port", "type", "last", "failed", "status", "ping",
        "ms", "input", "output", "buffered", "peak", "last", "read", "last",
        "write"]
    assert out[1].split()[:4] == ["10.0.1.1", "9090", "self", "-"]
    assert "ring synced" in out[1]
    assert "2023-11-14 22:13:20" in out[2] and "1000" in out[2]
    doc = json.loads(ctl_ok(admin, "--json", "ring", "status"))
    assert doc[0]["type"] == "self" and doc[0]["ping_ms"] is None
    assert doc[1] == {
        "director": "10.0.1.2", "port": 9090, "type": "right",
        "last_failed": 1700000000, "status": "synced", "ping_ms": 3,
        "input": 1000, "output": 2000, "buffered": 0, "buffered_peak": 512,
        "last_read": 1700000100, "last_write": 1700000101}
    assert doc[2]["type"] is None and doc[2]["last_failed"] is None
    assert admin.received() == [["DIRECTOR-LIST"]] * 2


# -- escaping -------------------------------------------------------------------

def test_escaping_of_odd_names(admin):
    odd = "we\tird\nuser\x01x\rz"
    three_hosts(admin)
    ctl_ok(admin, "kick", odd)
    ctl_ok(admin, "move", odd, "10.0.0.1")
    ctl_ok(admin, "add", "-t", "t\tab", "10.0.0.7")
    assert admin.received() == [["USER-KICK", odd],
                                ["USER-MOVE", odd, "10.0.0.1"],
                                ["HOST-SET", "10.0.0.7@t\tab"]]


def test_odd_names_in_replies(admin):
    admin.add_host("10.0.0.1", tag="a\tb\x01c", name="n\x1b[31m")
    out = ctl_ok(admin, "status")
    # control characters never reach the terminal raw
    assert "\x1b" not in out and "\x01" not in out
    assert "a\\x09b\\x01c" in out and "n\\x1b[31m" in out
    doc = json.loads(ctl_ok(admin, "--json", "status"))
    assert doc[0]["tag"] == "a\tb\x01c" and doc[0]["name"] == "n\x1b[31m"


def test_utf8_alignment_and_json(admin):
    admin.add_host("10.0.0.1", tag="\u00e4\u00f6\u00fc")
    admin.add_host("10.0.0.2", tag="abcd")
    out = ctl_ok(admin, "status").splitlines()
    # the vhosts column lines up although the tag has multi-byte chars
    assert out[1].index("100") == out[2].index("100")
    assert json.loads(ctl_ok(admin, "--json", "status"))[0]["tag"] == \
        "\u00e4\u00f6\u00fc"


# -- connection problems ----------------------------------------------------------

def test_missing_socket(tmp_path):
    path = str(tmp_path / "nothing")
    res = ctl("-a", path, "status")
    assert res.returncode == EX_UNAVAILABLE
    assert path in res.stderr and "no admin socket" in res.stderr


def test_refused(tmp_path):
    path = str(tmp_path / "dead")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)            # bound but never listening: ECONNREFUSED
    try:
        res = ctl("-a", path, "status")
    finally:
        s.close()
    assert res.returncode == EX_TEMPFAIL
    assert path in res.stderr and "refused" in res.stderr


def test_tcp_refused():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    res = ctl("-a", "127.0.0.1:%d" % port, "status")
    assert res.returncode == EX_TEMPFAIL


def test_bad_handshake(admin):
    admin.handshake = "* OK IMAP4rev1 ready"
    res = ctl("-a", admin.address, "status")
    assert res.returncode == EX_PROTOCOL
    assert "not a director-doveadm v1 admin socket" in res.stderr


def test_wrong_major_version(admin):
    admin.handshake = "VERSION\tdirector-doveadm\t2\t0"
    assert ctl("-a", admin.address, "status").returncode == EX_PROTOCOL


def test_timeout(admin):
    """Needs the fake: a server that never answers."""
    admin.replies["HOST-LIST"] = fakeadmin.STALL
    start = time.monotonic()
    res = ctl("-a", admin.address, "-t", "1", "status")
    assert res.returncode == EX_TEMPFAIL
    assert time.monotonic() - start < 5
    assert "no reply within 1 s" in res.stderr


def test_closed_without_reply(admin):
    admin.replies["HOST-UP"] = fakeadmin.CLOSE
    res = ctl("-a", admin.address, "up", "10.0.0.1")
    assert res.returncode == EX_TEMPFAIL
    assert "closed" in res.stderr and admin.address in res.stderr


@pytest.mark.parametrize("rows", [
    ["10.0.0.1\tx\t0\t\tU\t0"],          # vhosts not a number
    ["10.0.0.1\t1\t0\t\tX\t0"],          # state neither U nor D
    ["10.0.0.1\t1\t0"],                  # too few fields
    ["10.0.0.1\t1\t0\t\x01z\tU\t0"],     # bad escape
    ["10.0.0.1\t99999999999\t0\t\tU\t0"],
])
def test_malformed_host_list(admin, rows):
    admin.list_rows["HOST-LIST"] = rows
    res = ctl("-a", admin.address, "status")
    assert res.returncode == EX_PROTOCOL, res.stderr
    assert "malformed" in res.stderr
    assert res.stdout == ""


def test_malformed_lookup(admin):
    admin.replies["USER-LOOKUP"] = "10.0.0.1\tsoon"
    res = ctl("-a", admin.address, "status", "alice")
    assert res.returncode == EX_PROTOCOL


def test_tcp_endpoint(tcp_admin):
    three_hosts(tcp_admin)
    doc = json.loads(ctl_ok(tcp_admin, "--json", "status"))
    assert len(doc) == 3


def test_socket_from_config(admin, tmp_path):
    conf = tmp_path / "directord.conf"
    conf.write_text("director_mail_servers = 10.0.0.1\n"
                    "admin_socket = %s\n"
                    "listen imap {\n  address = 127.0.0.1\n"
                    "  port = 1143\n}\n" % admin.address)
    three_hosts(admin)
    res = ctl("-c", str(conf), "--json", "status")
    assert res.returncode == 0, res.stderr
    assert len(json.loads(res.stdout)) == 3


def test_config_missing(tmp_path):
    path = str(tmp_path / "missing.conf")
    res = ctl("-c", path, "status")
    assert res.returncode == EX_CONFIG
    assert path in res.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to switch uid")
def test_permission_denied(workroot):
    """A uid other than the socket's owner is refused by the socket's mode.

    The checkout may lie under a home of mode 0700 (/root), which uid 65534
    cannot traverse, and pytest's tmp_path is below a 0700 directory too:
    so the binary is copied, and the socket made, in a directory of the
    work root that every uid can reach.  Mode 0666 first shows that the
    other uid gets through when the mode lets it, so the refusal that
    follows comes from the socket's mode and nothing else.
    """
    where = tempfile.mkdtemp(prefix="nobody-", dir=workroot)
    os.chmod(where, 0o755)
    binary = os.path.join(where, "directorctl")
    shutil.copyfile(_binary(), binary)
    os.chmod(binary, 0o755)
    srv = fakeadmin.FakeAdmin(os.path.join(where, "admin")).start()
    nobody = dict(user=NOBODY, group=NOBODY, extra_groups=[], cwd=where,
                  binary=binary)
    try:
        three_hosts(srv)
        os.chmod(srv.address, 0o666)
        res = ctl("-a", srv.address, "status", **nobody)
        assert res.returncode == 0, res.stderr
        assert res.stdout.startswith("host ")
        os.chmod(srv.address, 0o600)
        res = ctl("-a", srv.address, "status", **nobody)
        assert res.returncode == EX_NOPERM, res.stderr
        assert "permission denied" in res.stderr
    finally:
        srv.stop()


@pytest.mark.parametrize("args", [
    ["status", "a", "b", "c"],
    ["status", "-x"],
    ["map", "a", "b"],
    ["add"],
    ["add", "10.0.0.1", "many"],
    ["add", "10.0.0.1", "-5"],
    ["add", "-t", "x", "10.0.0.1@y"],
    ["update", "10.0.0.1"],
    ["up"],
    ["down", "a", "b"],
    ["remove"],
    ["move", "alice"],
    ["kick"],
    ["kick", "-f", "", "bob"],
    ["flush"],
    ["flush", "--max-parallel", "0", "all"],
    ["flush", "--max-parallel", "x", "all"],
    ["flush", "-F", "--max-parallel", "3", "all"],
    ["dump", "x"],
    ["ring"],
    ["ring", "add"],
    ["ring", "frob", "10.0.0.1"],
    ["ring", "add", "10.0.0.1:0"],
    ["ring", "add", "10.0.0.1", "70000"],
    ["-t", "x", "status"],
])
def test_usage_errors(tmp_path, args):
    """Usage errors win over connecting: the socket does not exist."""
    res = ctl("-a", str(tmp_path / "none"), *args)
    assert res.returncode == EX_USAGE, (res.stdout, res.stderr)
    assert "usage:" in res.stderr


# -- a real Dovecot 2.3 director --------------------------------------------------

@pytest.fixture
def dovecot_director(address_plan, workroot):
    """A real Dovecot 2.3 director (only its ring port and admin socket)
    with backends 10.0.0.1, 10.0.0.2 and 10.0.0.3@tagx."""
    if not dovecot_director_harness.available():
        pytest.skip("dovecot-core's director is missing")
    ip = address_plan.director_ip(9)
    d = dovecot_director_harness.DovecotDirector(
        "dvc", ip, 9090, os.path.join(workroot, "dvc%d" % os.getpid()),
        "%s:9090" % ip, ["10.0.0.1", "10.0.0.2", "10.0.0.3@tagx"])
    try:
        yield d.start().admin_socket
    finally:
        d.stop()


def test_real_dovecot_director(dovecot_director):
    a = ["-a", dovecot_director]

    def run(*args):
        res = ctl(*(a + list(args)))
        assert res.returncode == 0, (args, res.stdout, res.stderr)
        return res.stdout

    hosts = json.loads(run("--json", "status"))
    assert [(h["host"], h["tag"], h["vhosts"], h["state"]) for h in hosts] \
        == [("10.0.0.1", None, 100, "up"), ("10.0.0.2", None, 100, "up"),
            ("10.0.0.3", "tagx", 100, "up")]
    assert run("status").splitlines()[0].split() == [
        "host", "name", "tag", "vhosts", "users", "state", "changed",
        "health", "check", "latency_ms"]
    run("add", "10.0.0.4", "50")
    run("update", "10.0.0.4", "60")
    run("down", "10.0.0.1")
    hosts = {h["host"]: h for h in json.loads(run("--json", "status"))}
    assert hosts["10.0.0.4"]["vhosts"] == 60
    assert hosts["10.0.0.1"]["state"] == "down"
    assert hosts["10.0.0.1"]["changed"] is not None
    res = ctl(*(a + ["up", "10.9.9.9"]))
    assert res.returncode == EX_NOTFOUND
    res = ctl(*(a + ["update", "10.0.0.4", "1001"]))
    assert res.returncode == EX_DATAERR
    assert "vhost count too large" in res.stderr

    run("move", "user100", "10.0.0.2")
    lookup = json.loads(run("--json", "status", "user100"))
    assert lookup["current"] == "10.0.0.2" and lookup["expires"] > 0
    assert lookup["hashed"] in ("10.0.0.2", "10.0.0.4")
    users = json.loads(run("--json", "map"))
    assert {"hash": 708027221, "host": "10.0.0.2"} == \
        {k: users[0][k] for k in ("hash", "host")}
    assert json.loads(run("--json", "map", "10.0.0.4")) == []
    run("kick", "user100")
    dump = run("dump").splitlines()
    prefix = "directorctl -a %s " % dovecot_director
    assert prefix + "add 10.0.0.3@tagx 100" in dump
    assert prefix + "down 10.0.0.1" in dump
    ring = json.loads(run("--json", "ring", "status"))
    assert ring[0]["type"] == "self" and ring[0]["status"] == "ring synced"
    run("flush", "10.0.0.2")
    run("flush", "-F", "all")
    assert json.loads(run("--json", "map")) == []
    run("remove", "10.0.0.4")
    assert "10.0.0.4" not in run("status")
