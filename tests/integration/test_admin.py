"""The admin socket with real clients: Debian's own `doveadm director`
(Dovecot 2.3) pointed at directord's socket, directorctl, and exact
protocol replies; real moves, kicks and safe flushes of users with live
IMAP sessions on real Dovecot backends (the invariant oracle checks the
backends' logs at the end of the module); pipelining, bad input,
permissions, and the state file across restarts."""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

from harness import adminclient, directord, dovecot, rawclient

PASS = dovecot.USER_PASSWORD
KICK_DELAY = {"director_user_kick_delay": "1 s"}


def doveadm(d, verb, *args, expect=0):
    """Runs `doveadm director VERB -a SOCKET ARGS`; returns stdout."""
    if shutil.which("doveadm") is None:
        pytest.skip("doveadm (dovecot-core) is not installed")
    cmd = ["doveadm", "director"] + verb.split() + ["-a", d.admin_socket]
    res = subprocess.run(cmd + list(args), capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == expect, (cmd, args, res.returncode, res.stdout,
                                      res.stderr)
    return res.stdout if expect == 0 else res.stderr


def ctl(d, *args, expect=0):
    cmd = [directord.binary_path("directorctl"), "-a", d.admin_socket]
    res = subprocess.run(cmd + list(args), capture_output=True, text=True,
                         timeout=60)
    assert res.returncode == expect, (args, res.returncode, res.stdout,
                                      res.stderr)
    return res.stdout


def admin(d):
    return adminclient.AdminClient(d.admin_socket)


def status_rows(d):
    """{ip: [tag, vhosts, state, changed, users]} from doveadm status."""
    rows = {}
    for line in doveadm(d, "status").splitlines()[1:]:
        f = line.split()
        # ip [tag] vhosts state changed(- or date time) users
        ip, rest = f[0], f[1:]
        tag = "" if rest[0].isdigit() else rest.pop(0)
        rows[ip] = [tag] + rest
    return rows


def imap_login(d, user):
    c = rawclient.imap_connect(*d.listeners()["imap"])
    reply = c.command("a", "LOGIN %s %s" % (user, PASS))
    assert reply.startswith(b"a OK"), reply
    return c


def login_once(d, user):
    with imap_login(d, user) as c:
        c.command("z", "LOGOUT")


def backend_of(d, user, offset=0):
    ms = d.wait_log(r"login: user=<%s>, client=[^,]*, backend=([^:]+):\d+, "
                    r"result=ok" % user, offset=offset)
    return ms.group(1)


def lookup(d, user):
    with admin(d) as a:
        return a.command("USER-LOOKUP", user).split("\t")


# -- doveadm director ------------------------------------------------------

def test_doveadm_host_commands(proxy_director, backends):
    d = proxy_director()
    rows = status_rows(d)
    assert sorted(rows) == sorted(backends.ips)
    for ip in backends.ips:
        assert rows[ip][1:3] == ["100", "up"], rows
    extra = "127.0.9.77"
    doveadm(d, "add", extra, "50")
    assert status_rows(d)[extra][1:3] == ["50", "up"]
    doveadm(d, "update", extra, "20")
    assert status_rows(d)[extra][1] == "20"
    doveadm(d, "down", extra)
    row = status_rows(d)[extra]
    assert row[2] == "down" and re.match(r"\d{4}-\d\d-\d\d", row[3]), row
    doveadm(d, "up", extra)
    assert status_rows(d)[extra][2] == "up"
    doveadm(d, "add", "-t", "archive", "127.0.9.78", "10")
    assert status_rows(d)["127.0.9.78"][:2] == ["archive", "10"]
    doveadm(d, "remove", extra)
    doveadm(d, "remove", "127.0.9.78")
    assert sorted(status_rows(d)) == sorted(backends.ips)
    # NOTFOUND: doveadm says so and fails
    assert "doesn't exist" in doveadm(d, "update", extra, "5", expect=75)
    assert "doesn't exist" in doveadm(d, "remove", extra, expect=68)
    with admin(d) as a:
        assert a.command("HOST-SET", extra, "1001") == "vhost count too large"
        assert a.command("HOST-SET", backends.ips[0] + "@x") == \
            "host tag can't be changed"
        assert a.list("HOST-LIST-REMOVED") == []


def test_doveadm_user_status_map_move_kick(proxy_director, backends):
    d = proxy_director(settings=KICK_DELAY)
    user = "user401"
    live = imap_login(d, user)
    old = backend_of(d, user)
    out = doveadm(d, "status", user)
    assert re.search(r"Current: %s \(expires " % re.escape(old), out), out
    assert re.search(r"Hashed: [\d.]+", out) and "Initial config:" in out
    users_file = os.path.join(d.workdir, "users")
    with open(users_file, "w") as f:
        f.write("%s\nuser402\n" % user)
    out = doveadm(d, "map", "-f", users_file)
    assert re.search(r"^%s\s+\d+\s+%s\s" % (user, re.escape(old)), out,
                     re.M), out
    new = next(ip for ip in backends.ips if ip != old)
    off = d.log_offset()
    doveadm(d, "move", user, new)
    # the move kicked the live session, and the next login goes to new
    assert live.closed(timeout=5)
    login_once(d, user)
    assert backend_of(d, user, off) == new
    assert lookup(d, user)[0] == new
    doveadm(d, "move", user, "127.0.9.99", expect=68)
    # kick: the session ends, the assignment stays
    live = imap_login(d, user)
    doveadm(d, "kick", user)
    assert live.closed(timeout=5)
    assert lookup(d, user)[0] == new
    backends.check_no_overlap()


def test_doveadm_flush_dump_ring(proxy_director, backends):
    d = proxy_director(settings=KICK_DELAY)
    for i in range(410, 420):
        login_once(d, "user%d" % i)
    with admin(d) as a:
        before = a.list("USER-LIST")
    assert len(before) == 10
    victim = before[0][2]
    doveadm(d, "flush", "-F", victim)
    assert "unsafe" in d.log_text()
    with admin(d) as a:
        after = a.list("USER-LIST")
        assert all(row[2] != victim for row in after)
        assert len(after) == len([r for r in before if r[2] != victim])
    doveadm(d, "flush", "all")
    doveadm(d, "flush", "-F", "all")
    with admin(d) as a:
        assert a.list("USER-LIST") == []
    out = doveadm(d, "dump")
    for ip in backends.ips:
        assert re.search(r"^doveadm director add .*%s 100$" % re.escape(ip),
                         out, re.M), out
    out = doveadm(d, "ring status")
    assert re.search(r"^%s\s+9090\s+self\s+never\s+ring synced" %
                     re.escape(d.ip), out, re.M), out


# -- exact protocol ---------------------------------------------------------

def test_pipelined_commands_and_bad_input(proxy_director, backends):
    d = proxy_director()
    with admin(d) as a:
        assert a.greeting == "VERSION\tdirector-doveadm\t1\t0"
        a.sock.sendall(b"HOST-LIST\nHOST-UP\t%s\nUSER-LOOKUP\tuser1\n"
                       b"HOST-UPDATE\t127.0.9.1\t5\nDIRECTOR-LIST\n"
                       b"HOST-DOWN\t%s\nHOST-UP\t%s\n" %
                       ((backends.ips[0].encode(),) * 3))
        hosts = a.rows()
        assert [r[0] for r in hosts] == sorted(backends.ips)
        assert hosts[0][1:5] == ["100", "0", "", "U"]
        assert a.line() == "OK"
        current, expire, hashed, initial = a.line().split("\t")
        assert (current, expire) == ("", "0") and hashed == initial
        assert a.line() == "NOTFOUND"
        assert a.rows() == [[d.ip, "9090", "self", "0", "ring synced",
                             "0"]]
        assert a.line() == "OK"
        assert a.line() == "OK"
        # an unknown command or bad arguments: closed without a reply
        a.send("NO-SUCH-COMMAND")
        with pytest.raises(EOFError):
            a.line()
    with admin(d) as a:
        a.send("HOST-UP", "not-an-ip")
        with pytest.raises(EOFError):
            a.line()
    with admin(d) as a:
        a.sock.sendall(b"\x01\xff\x00garbage\t\t\t\n")
        with pytest.raises(EOFError):
            a.line()
    with admin(d) as a:
        # an over-long line
        try:
            a.sock.sendall(b"HOST-LIST" + b"x" * 100000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        with pytest.raises((EOFError, ConnectionResetError)):
            a.line()
    # a bad handshake is refused, and the daemon serves others throughout
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(d.admin_socket)
    s.sendall(b"VERSION\tdirector\t1\t9\nHOST-LIST\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data == b"VERSION\tdirector-doveadm\t1\t0\n"
    s.close()
    with admin(d) as a:
        assert len(a.list("HOST-LIST")) == 3


def test_permission_denied_for_other_uid(proxy_director):
    d = proxy_director()
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            os.setgid(65534)
            os.setuid(65534)
            try:
                adminclient.AdminClient(d.admin_socket, timeout=5)
                code = 1
            except (PermissionError, EOFError, ConnectionError):
                code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    st = os.stat(d.admin_socket)
    assert st.st_mode & 0o777 == 0o600


def test_directorctl_against_directord(proxy_director, backends):
    d = proxy_director(settings=KICK_DELAY)
    out = ctl(d, "status")
    for ip in backends.ips:
        assert re.search(r"^%s\s" % re.escape(ip), out, re.M), out
    login_once(d, "user430")
    old = backend_of(d, "user430")
    new = next(ip for ip in backends.ips if ip != old)
    ctl(d, "move", "user430", new)
    assert '"current": "%s"' % new in ctl(d, "--json", "status", "user430")
    ctl(d, "move", "user430", "127.0.9.99", expect=68)
    ctl(d, "down", backends.ips[0])
    assert "down" in ctl(d, "status")
    ctl(d, "up", backends.ips[0])


# -- safe flush with many users ----------------------------------------------

def test_safe_flush_of_200_users(proxy_director, backends):
    d = proxy_director(settings=KICK_DELAY)
    users = ["user%d" % i for i in range(500, 700)]
    for u in users:
        with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
            c.send("USER %s\r\nPASS %s\r\nQUIT\r\n" % (u, PASS))
            assert [c.line()[:3] for _ in range(3)] == [b"+OK"] * 3
    with admin(d) as a:
        rows = a.list("USER-LIST")
        assert len(rows) == 200
        counts = {}
        for _, _, ip in rows:
            counts[ip] = counts.get(ip, 0) + 1
        victim = max(counts, key=counts.get)
        assert a.command("HOST-UPDATE", victim, "0") == "OK"
        # nothing moves before the flush: assignments stick
        assert len(a.list("USER-LIST", victim)) == counts[victim]
        started = time.monotonic()
        assert a.command("HOST-RESET-USERS", victim, "50") == "OK"
        took = time.monotonic() - started
        assert a.list("USER-LIST", victim) == []
        assert len(a.list("USER-LIST")) == 200
    # more users than one batch: at least two kick delays passed
    if counts[victim] > 50:
        assert took >= 1.9, took
    moved = [r[0] for r in rows if r[2] == victim][:3]
    off = d.log_offset()
    for h in moved:
        user = next(u for u in users if lookup(d, u)[0] != victim and
                    _hash_of(d, u) == h)
        login_once(d, user)
        assert backend_of(d, user, off) != victim
    with admin(d) as a:
        assert a.command("HOST-DOWN", victim) == "OK"
        assert a.command("HOST-UP", victim) == "OK"
        assert a.command("HOST-REMOVE", victim) == "OK"
        assert victim not in [r[0] for r in a.list("HOST-LIST")]
        assert a.list("HOST-LIST-REMOVED") == [[victim]]
    backends.check_no_overlap()


def _hash_of(d, user):
    out = subprocess.run([directord.binary_path("directorctl"), "-c",
                          d.config_path, "hash", user], capture_output=True,
                         text=True, check=True).stdout
    return re.search(r"\b(\d+)\b", out).group(1)


# -- state file --------------------------------------------------------------

def test_state_survives_restart_and_corruption(proxy_director, backends):
    d = proxy_director()
    with admin(d) as a:
        assert a.command("HOST-SET", "127.0.9.50@arch", "7") == "OK"
        assert a.command("HOST-DOWN", backends.ips[1]) == "OK"
        assert a.command("HOST-UPDATE", backends.ips[2], "33") == "OK"
        assert a.command("HOST-REMOVE", backends.ips[0]) == "OK"
        before = a.list("HOST-LIST")
    assert d.stop() == 0
    off = d.log_offset()
    d.start()
    d.wait_log(r"state file .*: 4 records applied", offset=off)
    with admin(d) as a:
        assert a.list("HOST-LIST") == before
        assert a.list("HOST-LIST-REMOVED") == [[backends.ips[0]]]
    assert d.stop() == 0
    state = os.path.join(d.state_dir, "hosts.state")
    with open(state, "w") as f:
        f.write("director-hosts 1\nhost 10.0.0.1 5000 up 0\n")
    off = d.log_offset()
    d.start()
    d.wait_log(r"state file .*: line 2: invalid vhost count; ignoring it",
               offset=off)
    with admin(d) as a:
        rows = a.list("HOST-LIST")
    assert [r[0] for r in rows] == sorted(backends.ips)
    assert all(r[1] == "100" and r[4] == "U" for r in rows)


def test_tcp_admin_listener_restricted_to_admin_networks(proxy_director,
                                                         address_plan):
    d = proxy_director(settings={"admin_networks": "127.0.0.1/32"},
                       extra_listeners={"adm": {"protocol": "admin",
                                                "port": 1990}})
    endpoint = "%s:1990" % d.ip
    # Dovecot's doveadm over TCP, from an allowed address
    res = subprocess.run(["doveadm", "director", "status", "-a", endpoint],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert len(res.stdout.splitlines()) == 4
    # any other source address is refused before the handshake
    other = "127.%d.2.9" % address_plan.slot
    s = socket.create_connection((d.ip, 1990), timeout=5,
                                 source_address=(other, 0))
    assert s.recv(100) == b""
    s.close()
    d.wait_log(r"admin: connection from %s:\d+ refused \(not in "
               r"admin_networks\)" % re.escape(other))


def test_kick_alt_and_ring_commands(proxy_director, backends):
    d = proxy_director()
    live = imap_login(d, "user440")
    with admin(d) as a:
        assert a.command("USER-KICK-ALT", "vip", "yes") == "OK"
        assert not live.closed(timeout=0.5)
        assert a.command("USER-KICK-ALT", "user", "user440") == "OK"
        assert live.closed(timeout=5)
        assert a.command("USER-KICK", "user440", "nowait") == "OK"
        assert a.command("DIRECTOR-REMOVE", "127.0.9.1") == "NOTFOUND"
        assert a.command("DIRECTOR-REMOVE", d.ip) == "can't remove self"
        assert a.command("DIRECTOR-ADD", "127.0.9.1", "9090") != "OK"
        assert len(a.list("DIRECTOR-LIST")) == 1
