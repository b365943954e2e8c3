"""The Dovecot backend fixtures themselves: real IMAP, POP3 and LMTP on
each backend, authentication, the log lines the oracle needs, forwarding of
the client address from trusted networks, and clean stop/kill."""
import imaplib
import os
import poplib
import smtplib
import socket
import time

import pytest

from harness import dovecot, netutil, oracle, procutil

PASS = dovecot.USER_PASSWORD


def imap_login(backend, user, password=PASS):
    m = imaplib.IMAP4(backend.ip, backend.imap_port, timeout=10)
    m.login(user, password)
    return m


def make_message(subject, body_lines=20):
    lines = ["From: sender@example.com", "To: someone@example.com",
             "Subject: " + subject, "Message-ID: <%s@test>" % subject, ""]
    lines += ["line %d of %s \u00e4" % (i, subject) for i in range(body_lines)]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


@pytest.mark.parametrize("index", [0, 1, 2])
def test_imap_select_append_fetch(backends, index):
    b = backends[index]
    user = "user%d" % (100 + index)
    msg = make_message("append-%s" % b.name)
    m = imap_login(b, user)
    try:
        typ, data = m.select("INBOX")
        assert typ == "OK" and data == [b"0"]
        typ, _ = m.append("INBOX", None, None, msg)
        assert typ == "OK"
        typ, data = m.select("INBOX")
        assert data == [b"1"]
        typ, data = m.fetch("1", "(RFC822)")
        assert typ == "OK"
        assert data[0][1] == msg
    finally:
        m.logout()
    # the mail lives on this backend only
    assert os.path.isdir(b.mail_dir(user))
    for other in backends:
        if other is not b:
            assert not os.path.exists(other.mail_dir(user))


def test_pop3_user_pass_stat(backends):
    b = backends[1]
    user = "user110"
    p = poplib.POP3(b.ip, b.pop3_port, timeout=10)
    try:
        assert p.user(user).startswith(b"+OK")
        assert p.pass_(PASS).startswith(b"+OK")
        assert p.stat() == (0, 0)
    finally:
        p.quit()
    msg = make_message("pop3")
    m = imap_login(b, user)
    m.append("INBOX", None, None, msg)
    m.logout()
    p = poplib.POP3(b.ip, b.pop3_port, timeout=10)
    try:
        p.user(user)
        p.pass_(PASS)
        count, size = p.stat()
        assert count == 1 and size == len(msg)
        _, lines, _ = p.retr(1)
        assert b"\r\n".join(lines) + b"\r\n" == msg
    finally:
        p.quit()


def test_lmtp_delivery_read_back_byte_for_byte(backends):
    b = backends[2]
    user = "user120"
    msg = make_message("lmtp", body_lines=500)
    lmtp = smtplib.LMTP(b.ip, b.lmtp_port, timeout=10)
    try:
        refused = lmtp.sendmail("sender@example.com", [user], msg)
        assert refused == {}
        # an unknown recipient is refused, a known one accepted
        with pytest.raises(smtplib.SMTPRecipientsRefused) as ei:
            lmtp.sendmail("sender@example.com", ["nosuchuser"], msg)
        assert ei.value.recipients["nosuchuser"][0] == 550
    finally:
        lmtp.quit()
    m = imap_login(b, user)
    try:
        typ, data = m.select("INBOX", readonly=True)
        assert data == [b"1"]
        typ, data = m.fetch("1", "(BODY.PEEK[TEXT] BODY.PEEK[HEADER])")
        assert typ == "OK"
        parts = {}
        for item in data:
            if isinstance(item, tuple):
                key = b"TEXT" if b"[TEXT]" in item[0] else b"HEADER"
                parts[key] = item[1]
        header, body = msg.split(b"\r\n\r\n", 1)
        assert parts[b"TEXT"] == body
        # Dovecot prepends Return-Path/Delivered-To; ours follow unchanged
        assert parts[b"HEADER"].endswith(header + b"\r\n\r\n")
        assert b"Delivered-To: <%s>" % user.encode() in parts[b"HEADER"] \
            or b"Delivered-To: " + user.encode() in parts[b"HEADER"]
    finally:
        m.logout()
    line = b.wait_log(r"lmtp\(%s\)<\d+><[^>]*>: Info: .*saved mail to INBOX"
                      % user)
    assert line
    ss = oracle.sessions_of(backends.sessions(), user, "lmtp")
    assert len(ss) == 1 and ss[0].backend == b.name
    assert ss[0].start == ss[0].end


def test_wrong_password_and_unknown_user_rejected(backends):
    b = backends[0]
    for user, password in (("user1", "wrong"), ("nosuchuser", PASS),
                           (dovecot.SPECIAL_USER, PASS)):
        m = imaplib.IMAP4(b.ip, b.imap_port, timeout=10)
        try:
            with pytest.raises(imaplib.IMAP4.error) as ei:
                m.login(user, password)
            assert b"AUTHENTICATIONFAILED" in str(ei.value).encode()
        finally:
            m.shutdown()
    p = poplib.POP3(b.ip, b.pop3_port, timeout=10)
    try:
        p.user("user1")
        with pytest.raises(poplib.error_proto):
            p.pass_("wrong")
    finally:
        p.close()
    # the special user has its own password; the failures above did not
    # slow down later logins (no auth penalty)
    t0 = time.monotonic()
    imap_login(b, dovecot.SPECIAL_USER, dovecot.SPECIAL_PASSWORD).logout()
    assert time.monotonic() - t0 < 1.0


def test_master_user_login(backends):
    b = backends[0]
    off = b.log_offset()
    login = "user130" + dovecot.MASTER_SEPARATOR + dovecot.MASTER_USER
    m = imap_login(b, login, dovecot.MASTER_PASSWORD)
    m.select("INBOX")
    m.logout()
    b.wait_log(r"imap-login: Info: Login: user=<user130>", offset=off)
    m = imaplib.IMAP4(b.ip, b.imap_port, timeout=10)
    with pytest.raises(imaplib.IMAP4.error):
        m.login(login, PASS)
    m.shutdown()


def test_login_logged_and_seen_by_oracle(backends):
    b = backends[1]
    user = "user140"
    off = b.log_offset()
    t0 = time.time()
    m = imap_login(b, user)
    m.select("INBOX")
    t1 = time.time()
    mid = oracle.sessions_of(backends.sessions(), user)
    assert len(mid) == 1 and mid[0].is_open
    m.logout()
    b.wait_log(r"imap\(%s\)<\d+><[^>]*>: Info: Disconnected: Logged out"
               % user, offset=off)
    t2 = time.time()
    text = b.log_text(off)
    assert "imap-login: Info: Login: user=<%s>" % user in text
    assert "lip=%s" % b.ip in text
    (s,) = oracle.sessions_of(backends.sessions(), user)
    assert s.backend == b.name and s.protocol == "imap"
    assert s.client_ip == "127.0.0.1"
    assert t0 - 0.5 <= s.start <= t1 + 0.5
    assert s.end is not None and s.start <= s.end <= t2 + 0.5
    assert s.session_id


def test_pop3_login_seen_by_oracle(backends):
    b = backends[2]
    user = "user141"
    p = poplib.POP3(b.ip, b.pop3_port, timeout=10)
    p.user(user)
    p.pass_(PASS)
    p.quit()
    b.wait_log(r"pop3\(%s\)<\d+><[^>]*>: Info: Disconnected" % user)
    (s,) = oracle.sessions_of(backends.sessions(), user)
    assert (s.backend, s.protocol) == (b.name, "pop3")
    assert not s.is_open


def test_forwarded_client_ip_via_imap_id(backends):
    b = backends[2]
    user = "user150"
    off = b.log_offset()
    m = imaplib.IMAP4(b.ip, b.imap_port, timeout=10)
    try:
        typ, _ = m.xatom("ID", '("x-originating-ip" "192.0.2.7" '
                         '"x-originating-port" "40007" '
                         '"x-connected-ip" "127.0.0.11" '
                         '"x-connected-port" "1143")')
        assert typ == "OK"
        m.login(user, PASS)
    finally:
        m.logout()
    line = b.wait_log(r"imap-login: Info: Login: user=<%s>.*" % user,
                      offset=off).group(0)
    assert "rip=192.0.2.7," in line
    (s,) = oracle.sessions_of(backends.sessions(), user)
    assert s.client_ip == "192.0.2.7"


def test_stop_and_kill_leave_no_process(fresh_backends):
    b4, b5, b6 = fresh_backends
    # an open IMAP session on each while the instance ends
    m4 = imap_login(b4, "user160")
    m4.select("INBOX")
    m5 = imap_login(b5, "user161")
    m5.select("INBOX")
    assert b4.mail_pids() and b5.mail_pids()
    pids4, pids5 = b4.pids(), b5.pids()
    b4.stop()
    b5.kill()
    assert b4.pids() == [] and b5.pids() == []
    assert procutil.wait_pids_gone(pids4 + pids5, 0.1) == []
    ss = fresh_backends.sessions()
    (s4,) = oracle.sessions_of(ss, "user160")
    (s5,) = oracle.sessions_of(ss, "user161")
    assert s4.end_reason.startswith("Disconnected: Server shutting down")
    assert s5.end_reason == "instance killed"
    for m in (m4, m5):
        m.shutdown()
    # a stopped backend starts again on the same address
    b4.start()
    imap_login(b4, "user160").logout()
    assert b6.running


def test_oracle_sees_real_overlap(fresh_backends):
    b4, b5, _ = fresh_backends
    fresh_backends.check_invariant = False      # the overlap is on purpose
    m4 = imap_login(b4, "user170")
    m5 = imap_login(b5, "user170")
    # both "Login" lines are logged before either session ends: Dovecot
    # writes that line a little after the client has its OK
    b4.wait_log(r"Login: user=<user170>")
    b5.wait_log(r"Login: user=<user170>")
    m4.logout()
    m5.logout()
    # each log is written by its own log process: wait for both
    b4.wait_log(r"imap\(user170\).*Disconnected")
    b5.wait_log(r"imap\(user170\).*Disconnected")
    with pytest.raises(oracle.InvariantViolation) as ei:
        fresh_backends.check_no_overlap()
    assert "user170" in str(ei.value)
    assert "imap on b4" in str(ei.value) and "imap on b5" in str(ei.value)


def test_forwarded_client_ip_via_pop3_xclient(backends):
    b = backends[0]
    user = "user151"
    off = b.log_offset()
    with socket.create_connection((b.ip, b.pop3_port), timeout=10) as s:
        assert b"[XCLIENT]" in netutil.read_line(s)
        s.sendall(b"XCLIENT ADDR=192.0.2.8 PORT=40008 "
                  b"SESSION=harnessPop3Sess01\r\n")
        assert netutil.read_line(s).startswith(b"+OK")
        s.sendall(b"USER %s\r\nPASS %s\r\n" % (user.encode(), PASS.encode()))
        assert netutil.read_line(s).startswith(b"+OK")
        assert netutil.read_line(s).startswith(b"+OK")
        s.sendall(b"QUIT\r\n")
        netutil.read_until_eof(s)
    b.wait_log(r"pop3\(%s\).*Disconnected" % user, offset=off)
    (s,) = oracle.sessions_of(backends.sessions(), user)
    assert s.client_ip == "192.0.2.8"
    assert s.session_id == "harnessPop3Sess01"


def test_forwarded_client_ip_via_lmtp_xclient(backends):
    b = backends[1]
    off = b.log_offset()
    with socket.create_connection((b.ip, b.lmtp_port), timeout=10) as s:
        assert netutil.read_line(s).startswith(b"220 ")
        s.sendall(b"LHLO harness\r\n")
        caps = [netutil.read_line(s)]
        while caps[-1].startswith(b"250-"):
            caps.append(netutil.read_line(s))
        caps = b"".join(caps)
        assert b"XCLIENT ADDR" in caps
        s.sendall(b"XCLIENT ADDR=192.0.2.9 PORT=40009\r\n")
        assert netutil.read_line(s).startswith(b"220 ")
        s.sendall(b"QUIT\r\n")
        netutil.read_until_eof(s)
    b.wait_log(r"lmtp\(\d+\): Info: Disconnect from 192\.0\.2\.9:",
               offset=off)
