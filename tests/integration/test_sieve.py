"""ManageSieve through the director (issue #15): a `listen sieve` listener
takes RFC 5804 logins and proxies them to the user's backend, the one its
IMAP logins reach, under the same moves and kicks.  The backends are real
Dovecot 2.3 with Pigeonhole's managesieve (dovecot-managesieved); the
client is sieve-connect (Debian's package), driven non-interactively:
upload, list, activate and download a script, then the script is read
back from the owning backend's own files."""
import imaplib
import os
import subprocess
import time

import pytest

from harness import dovecot, netutil, rawclient
from harness.ring import admin_cmd, backend_of

PASS = dovecot.USER_PASSWORD
SIEVE_CONNECT = "/usr/bin/sieve-connect"
SCRIPT = b'require "fileinto";\nif header :contains "subject" "x" ' \
         b'{ fileinto "INBOX"; }\n'


@pytest.fixture
def sieve_director(director_factory, backends):
    return director_factory(
        1, settings={"disable_plaintext_auth": "no"},
        extra_listeners={"sieve": {"protocol": "sieve",
                                   "port": netutil.SIEVE_PORT}})


def sieve_connect(d, user, password, *args, tls=False, timeout=60):
    """Runs sieve-connect against d's sieve listener, in plaintext or
    with STARTTLS (tls); returns the CompletedProcess (text output)."""
    host, port = d.listeners()["sieve"]
    how = ["--notlsverify", "--noclearauth"] if tls else ["--clearchan"]
    r, w = os.pipe()
    os.write(w, password.encode() + b"\n")
    os.close(w)
    try:
        return subprocess.run(
            [SIEVE_CONNECT, "--server", host, "--port", str(port),
             "--user", user, "--passwordfd", str(r), "--authmech",
             "PLAIN"] + how + list(args),
            pass_fds=(r,), capture_output=True, text=True,
            timeout=timeout)
    finally:
        os.close(r)


def imap_backend(d, user):
    off = d.log_offset()
    c = imaplib.IMAP4(*d.listeners()["imap"], timeout=30)
    try:
        c.login(user, PASS)
    finally:
        c.logout()
    return backend_of(d, user, off)


def test_script_lands_on_the_users_backend(sieve_director, backends,
                                           workroot):
    d = sieve_director
    user = "user410"
    local = os.path.join(workroot, "filter-410.sieve")
    with open(local, "wb") as f:
        f.write(SCRIPT)
    up = sieve_connect(d, user, PASS, "--upload", "--localsieve", local,
                       "--remotesieve", "filters")
    assert up.returncode == 0, (up.stdout, up.stderr)
    act = sieve_connect(d, user, PASS, "--activate",
                        "--remotesieve", "filters")
    assert act.returncode == 0, (act.stdout, act.stderr)
    ls = sieve_connect(d, user, PASS, "--list")
    assert ls.returncode == 0, (ls.stdout, ls.stderr)
    assert "\"filters\" ACTIVE" in ls.stdout, ls.stdout
    back = os.path.join(workroot, "filter-410.back")
    down = sieve_connect(d, user, PASS, "--download", "--remotesieve",
                         "filters", "--localsieve", back)
    assert down.returncode == 0, (down.stdout, down.stderr)
    with open(back, "rb") as f:
        assert f.read() == SCRIPT
    # the same backend as the user's IMAP logins, and the script is there
    ip = imap_backend(d, user)
    (owner,) = [b for b in backends if b.ip == ip]
    path = os.path.join(owner.mail_dir(user), "sieve", "filters.sieve")
    with open(path, "rb") as f:
        assert f.read() == SCRIPT
    assert os.path.islink(os.path.join(owner.mail_dir(user),
                                       ".dovecot.sieve"))
    others = [b for b in backends if b.ip != ip]
    for b in others:
        assert not os.path.exists(os.path.join(b.mail_dir(user), "sieve"))
    d.wait_log(r"login: user=<%s>.*backend=%s:%d.*result=ok" %
               (user, ip.replace(".", r"\."), netutil.SIEVE_PORT))


def test_wrong_password_is_refused(sieve_director):
    d = sieve_director
    r = sieve_connect(d, "user411", "wrong", "--list")
    assert r.returncode != 0, (r.stdout, r.stderr)
    d.wait_log(r"sieve\(\S+\): login: user=<user411>.*result=rejected")


def _sieve_login(d, user):
    c = rawclient.RawClient(*d.listeners()["sieve"], timeout=30)
    c.until(b"OK")
    ir = rawclient.sasl_plain(user, PASS)
    c.send('AUTHENTICATE "PLAIN" "%s"\r\n' % ir)
    reply = c.line()
    assert reply.startswith(b"OK"), reply
    return c


def test_move_kicks_a_live_session(sieve_director, backends):
    d = sieve_director
    user = "user412"
    ip = imap_backend(d, user)
    other = [b.ip for b in backends if b.ip != ip][0]
    c = _sieve_login(d, user)
    try:
        c.send("NOOP\r\n")
        assert c.line().startswith(b"OK")
        assert admin_cmd(d, "USER-MOVE", user, other, timeout=30) == "OK"
        # the session was kicked before the move answered
        assert c.closed(timeout=10)
    finally:
        c.close()
    time.sleep(0.2)
    assert imap_backend(d, user) == other


def test_starttls(director_factory, backends, tls_cert):
    # sieve-connect's default: STARTTLS, then the capabilities again,
    # then the login, all through the director
    cert, key = tls_cert
    d = director_factory(
        1, settings={"ssl_cert": cert, "ssl_key": key},
        extra_listeners={"sieve": {"protocol": "sieve", "tls": "starttls",
                                   "port": netutil.SIEVE_PORT}})
    ls = sieve_connect(d, "user413", PASS, "--list", tls=True)
    assert ls.returncode == 0, (ls.stdout, ls.stderr)
    d.wait_log(r"sieve\(\S+\): login: user=<user413>.*result=ok")
