"""Backend TLS identity (issue #13 item 6): with ssl_verify = yes the
backend's certificate must name the backend (its IP address, or the
backend block's ssl_name), not merely chain to a trusted CA.  Real Dovecot
backends with STARTTLS, certificates made here; IMAP and LMTP."""
import os
import smtplib
import subprocess

import pytest

from harness import dovecot, rawclient

PASS = dovecot.USER_PASSWORD


def _cert(directory, name, san):
    """A self-signed certificate with subjectAltName san; returns (cert,
    key) paths readable by everyone (Dovecot reads them as root)."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=" + name,
                    "-addext", "subjectAltName=" + san,
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=30)
    os.chmod(cert, 0o644)
    os.chmod(key, 0o644)
    return cert, key


@pytest.fixture
def tls_setup(backend_factory, director_factory, workroot, address_plan):
    """make(san, ssl_name=None) -> (director, backend): one Dovecot backend
    whose STARTTLS certificate has subjectAltName san, and a director that
    verifies backends against a bundle holding that certificate."""

    def make(san, ssl_name=None):
        ip = address_plan.backend_ip(4)
        tag = "b%d" % abs(hash(san))
        cert, key = _cert(workroot, tag, san)
        extra = "ssl = yes\nssl_cert = <%s\nssl_key = <%s\n" % (cert, key)
        b = backend_factory(1, first=4, extra_conf=extra)[0]
        assert b.ip == ip
        backend = {"tls": "starttls", "ssl_verify": "yes"}
        if ssl_name is not None:
            backend["ssl_name"] = ssl_name
        d = director_factory(1, mail_servers=[b.ip],
                             settings={"disable_plaintext_auth": "no",
                                       "ssl_ca": cert},
                             backend_settings=backend)
        return d, b

    return make


def _imap_login(d, user):
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        return c.command("a", "LOGIN %s %s" % (user, PASS))


def test_certificate_for_another_ip_is_refused(tls_setup):
    d, b = tls_setup("IP:127.0.0.254")
    reply = _imap_login(d, "user1")
    assert reply.startswith(b"a NO"), reply
    assert b"UNAVAILABLE" in reply, reply
    d.wait_log(r"user=<user1>.*result=tempfail.*IP address mismatch")


def test_certificate_for_another_name_is_refused(tls_setup):
    d, b = tls_setup("DNS:other.test", ssl_name="backend.test")
    reply = _imap_login(d, "user2")
    assert reply.startswith(b"a NO"), reply
    d.wait_log(r"user=<user2>.*result=tempfail.*hostname mismatch")


def test_certificate_for_the_backend_ip_works(tls_setup, address_plan):
    d, b = tls_setup("IP:" + address_plan.backend_ip(4))
    assert _imap_login(d, "user3").startswith(b"a OK")
    d.wait_log(r"login: user=<user3>.*result=ok")


def test_certificate_for_ssl_name_works(tls_setup):
    d, b = tls_setup("DNS:backend.test", ssl_name="backend.test")
    assert _imap_login(d, "user4").startswith(b"a OK")


def test_lmtp_refuses_a_certificate_for_another_ip(tls_setup):
    d, b = tls_setup("IP:127.0.0.254")
    with smtplib.LMTP(*d.listeners()["lmtp"], timeout=10) as s:
        s.ehlo("client.test")
        s.mail("sender@example.test")
        code, _ = s.rcpt("user5")
        assert 400 <= code < 500, code
    d.wait_log(r"IP address mismatch")


def test_lmtp_delivers_with_the_right_certificate(tls_setup, address_plan):
    d, b = tls_setup("IP:" + address_plan.backend_ip(4))
    with smtplib.LMTP(*d.listeners()["lmtp"], timeout=10) as s:
        s.ehlo("client.test")
        s.mail("sender@example.test")
        assert s.rcpt("user6")[0] == 250
        assert s.data(b"Subject: x\r\n\r\nbody\r\n")[0] == 250


def test_ssl_verify_without_ssl_ca_is_refused(director_factory):
    d = director_factory(1, start=False,
                         backend_settings={"tls": "starttls",
                                           "ssl_verify": "yes"})
    proc = d.check_config()
    assert proc.returncode != 0
    assert "ssl_verify = yes requires ssl_ca" in proc.stderr, proc.stderr
