"""What the director logs about proxied sessions: one line per login
(session id, protocol, client, user, backend, result, time to login) and
one per disconnect (bytes each way, duration, who closed), and never a
password, not even at log_level = debug."""
import base64
import imaplib
import poplib
import re

from harness import dovecot

PASS = dovecot.USER_PASSWORD
WRONG = "Wr0ng-Zq9x7"


def _secrets():
    """Every form in which a password could leak into a log."""
    forms = [PASS, WRONG]
    for user in ("user60", "user61"):
        for pw in (PASS, WRONG):
            forms.append(base64.b64encode(
                ("\0%s\0%s" % (user, pw)).encode()).decode())
            forms.append(base64.b64encode(pw.encode()).decode())
    return forms


def test_login_and_disconnect_lines_without_passwords(proxy_director,
                                                     backends):
    d = proxy_director(settings={"log_level": "debug"})
    off = d.log_offset()
    host, port = d.listeners()["imap"]
    c = imaplib.IMAP4(host, port, timeout=10)
    try:
        c.login("user60", WRONG)
    except imaplib.IMAP4.error:
        pass
    else:
        raise AssertionError("a wrong password was accepted")
    c.authenticate("PLAIN", lambda _: "\0user60\0%s" % PASS)
    c.select("INBOX")
    c.logout()
    host, port = d.listeners()["pop3"]
    p = poplib.POP3(host, port, timeout=10)
    p.user("user61")
    p.pass_(PASS)
    p.quit()
    disc = d.wait_log(r"pop3\(([^)]+)\): disconnect: user=<user61>[^\n]*",
                      offset=off)
    text = d.log_text(off)

    rejected = re.search(
        r"imap\(([^)]+)\): login: user=<user60>, client=127\.0\.0\.1:\d+, "
        r"backend=([\d.]+):\d+, result=rejected, time=\d+ms", text)
    assert rejected, text
    ok = re.search(
        r"imap\(([^)]+)\): login: user=<user60>, client=127\.0\.0\.1:\d+, "
        r"backend=([\d.]+):\d+, result=ok, time=\d+ms", text)
    assert ok, text
    assert ok.group(2) == rejected.group(2)     # same backend both times
    sid = ok.group(1)
    m = re.search(r"imap\(%s\): disconnect: user=<user60>, backend=%s:\d+, "
                  r"in=(\d+), out=(\d+), duration=\d+ms, closed_by=(\w+)" %
                  (re.escape(sid), re.escape(ok.group(2))), text)
    assert m, text
    assert int(m.group(1)) > 0 and int(m.group(2)) > 0
    assert m.group(3) in ("client", "backend")
    assert "closed_by=" in disc.group(0)
    assert re.search(r"pop3\([^)]+\): login: user=<user61>, [^\n]*result=ok",
                     text), text
    # the backend logs the director's session id (forwarded in ID)
    assert any("session=<%s>" % sid in b.log_text() for b in backends)
    for secret in _secrets():
        assert secret not in text, "password material in the log"
