"""POP3 through the director against real Dovecot backends: USER/PASS,
AUTH PLAIN and LOGIN with an initial response and with the "+ "
continuation, cancel, master-user logins, poplib and curl, failures
(wrong password, unknown user; backend down and backend that never greets
are in test_proxy_hostile.py), pipelining after login, idle timeout."""
import poplib
import subprocess

import pytest

from harness import dovecot, rawclient

PASS = dovecot.USER_PASSWORD


def pop3(d):
    return rawclient.pop3_connect(*d.listeners()["pop3"])


def backend_of(d, user, offset=0):
    m = d.wait_log(r"pop3\([^)]*\): login: user=<%s>, client=[^,]*, "
                   r"backend=([^,]+), result=ok" % user, offset=offset)
    return m.group(1)


def _steps(user, password):
    p64 = rawclient.sasl_plain(user, password)
    u64, w64 = rawclient.b64(user), rawclient.b64(password)
    return {
        "user-pass": [("USER %s\r\n" % user, "+OK"),
                      ("PASS %s\r\n" % password, "+OK")],
        "plain-ir": [("AUTH PLAIN %s\r\n" % p64, "+OK")],
        "plain-continuation": [("AUTH PLAIN\r\n", "+ "),
                               (p64 + "\r\n", "+OK")],
        "login-ir": [("AUTH LOGIN %s\r\n" % u64, "+ "),
                     (w64 + "\r\n", "+OK")],
        "login-continuation": [("AUTH LOGIN\r\n", "+ "),
                               (u64 + "\r\n", "+ "),
                               (w64 + "\r\n", "+OK")],
    }


FORMS = sorted(_steps("u", "p"))


def run_steps(c, steps):
    last = None
    for send, expect in steps:
        c.send(send)
        last = c.line()
        assert last.startswith(expect.encode()), (send, last)
    return last


def assert_pop3_session(c):
    c.send("STAT\r\n")
    reply = c.line()
    assert reply.startswith(b"+OK "), reply


@pytest.mark.parametrize("form", FORMS)
def test_login_forms(proxy_director, backends, form):
    d = proxy_director()
    user = "user%d" % (60 + FORMS.index(form))
    with pop3(d) as c:
        run_steps(c, _steps(user, PASS)[form])
        assert_pop3_session(c)
    ip = backend_of(d, user).split(":")[0]
    backends.by_ip(ip).wait_log(r"pop3-login: Info: Login: user=<%s>" %
                                user)


@pytest.mark.parametrize("form", ["user-pass", "plain-ir",
                                  "login-continuation"])
def test_master_user_routes_as_user(proxy_director, backends, form):
    d = proxy_director(settings={"auth_master_user_separator":
                                 dovecot.MASTER_SEPARATOR})
    user = "user70"
    with pop3(d) as c:
        run_steps(c, _steps(user, PASS)["user-pass"])
    first = backend_of(d, user)
    off = d.log_offset()
    master = user + dovecot.MASTER_SEPARATOR + dovecot.MASTER_USER
    with pop3(d) as c:
        run_steps(c, _steps(master, dovecot.MASTER_PASSWORD)[form])
        assert_pop3_session(c)
    m = d.wait_log(r"login: user=<[^>]*>, client=[^,]*, backend=([^,]+), "
                   r"result=ok", offset=off)
    assert m.group(1) == first


def test_auth_cancel_and_retry(proxy_director):
    d = proxy_director()
    with pop3(d) as c:
        for mech in ("PLAIN", "LOGIN"):
            run_steps(c, [("AUTH %s\r\n" % mech, "+ "), ("*\r\n", "-ERR")])
        run_steps(c, _steps("user71", PASS)["user-pass"])


def test_capa_lists_sasl(proxy_director):
    d = proxy_director()
    with pop3(d) as c:
        c.send("CAPA\r\n")
        lines = c.until(".")
        assert b"USER" in lines
        assert any(l.startswith(b"SASL") and b"PLAIN" in l for l in lines)


def test_poplib_and_curl(proxy_director):
    d = proxy_director()
    ip, port = d.listeners()["pop3"]
    p = poplib.POP3(ip, port, timeout=10)
    try:
        p.user("user72")
        p.pass_(PASS)
        assert p.stat() == (0, 0)
    finally:
        p.quit()
    r = subprocess.run(["curl", "-sS", "--max-time", "10", "-u",
                        "user73:" + PASS, "pop3://%s:%d/" % (ip, port)],
                       capture_output=True, text=True, timeout=20)
    assert r.returncode == 0, r.stderr


def test_wrong_password_relays_backend_err(proxy_director):
    d = proxy_director()
    with pop3(d) as c:
        run_steps(c, [("USER user74\r\n", "+OK"),
                      ("PASS wrong\r\n", "-ERR [AUTH]")])
        run_steps(c, _steps("user74", PASS)["plain-ir"])


def test_unknown_user(proxy_director):
    d = proxy_director()
    with pop3(d) as c:
        c.send("AUTH PLAIN %s\r\n" % rawclient.sasl_plain("nosuch", PASS))
        reply = c.line()
        assert reply.startswith(b"-ERR [AUTH]"), reply


def test_pipelined_after_login(proxy_director):
    d = proxy_director()
    with pop3(d) as c:
        c.send("USER user75\r\nPASS %s\r\nSTAT\r\nQUIT\r\n" % PASS)
        lines = [c.line() for _ in range(4)]
        assert [l[:3] for l in lines] == [b"+OK"] * 4, lines
        assert lines[2].startswith(b"+OK 0 0"), lines
        assert c.closed(timeout=5)


def test_idle_timeout(proxy_director):
    d = proxy_director(backend_settings={"idle_timeout": "2 s"})
    with pop3(d) as c:
        run_steps(c, _steps("user76", PASS)["user-pass"])
        assert c.closed(timeout=6)
    d.wait_log(r"disconnect: user=<user76>.*closed_by=idle-timeout")
