"""The metrics endpoint: scraped with curl after known traffic (IMAP and
POP3 logins, a wrong password, an LMTP delivery), the text parsed by
Python's Prometheus client parser, the figures checked; 404, 405 and 403
(a client outside metrics_networks); the backends' health figures once
checks run."""
import smtplib
import subprocess

from prometheus_client.parser import text_string_to_metric_families

from harness import dovecot, rawclient

PASS = dovecot.USER_PASSWORD
METRICS_PORT = 9901


def metrics_director(director_factory, settings=None, nets=None,
                     mail_servers=None):
    top = {"disable_plaintext_auth": "no"}
    top.update(settings or {})
    d = director_factory(1, start=False, settings=top,
                         mail_servers=mail_servers,
                         extra_listeners={"metrics": {"port": METRICS_PORT}})
    d.settings["metrics_networks"] = nets or (d.ip + "/32")
    d.write_config()
    d.start()
    return d


def curl(d, path="/metrics", method="GET", source=None):
    """(status, body) of one request with curl."""
    cmd = ["curl", "-sS", "-m", "20", "-X", method, "-o", "-", "-w",
           "\n%{http_code}", "http://%s:%d%s" % (d.ip, METRICS_PORT, path)]
    # from the director's own address unless told: that is the one
    # network the tests allow
    cmd[1:1] = ["--interface", source or d.ip]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=30,
                         check=True).stdout
    body, _, status = out.rpartition("\n")
    return int(status), body


def scrape(d):
    """{(name, sorted label items): value} of every sample."""
    status, body = curl(d)
    assert status == 200, (status, body)
    out = {}
    for fam in text_string_to_metric_families(body):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples, name, **labels):
    return samples[(name, tuple(sorted(labels.items())))]


def imap_login(d, user, password=PASS):
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        reply = c.command("a", "LOGIN %s %s" % (user, password))
        c.command("b", "LOGOUT")
    return reply


def pop3_login(d, user):
    with rawclient.pop3_connect(*d.listeners()["pop3"]) as c:
        c.send("USER %s\r\nPASS %s\r\nQUIT\r\n" % (user, PASS))
        assert [c.line()[:3] for _ in range(3)] == [b"+OK"] * 3


def test_metrics_after_known_traffic(director_factory, backends):
    d = metrics_director(director_factory)
    for u in ("user501", "user502", "user503"):
        assert imap_login(d, u).startswith(b"a OK")
    assert imap_login(d, "user504", "wrong").startswith(b"a NO")
    for u in ("user505", "user506"):
        pop3_login(d, u)
    lmtp = smtplib.LMTP(d.ip, d.lmtp_port, timeout=20)
    try:
        lmtp.sendmail("sender@example.com", ["user507"],
                      b"Subject: metrics\r\n\r\nbody\r\n")
    finally:
        lmtp.quit()
    m = scrape(d)
    assert value(m, "director_logins_total", protocol="imap",
                 result="ok") == 3
    assert value(m, "director_logins_total", protocol="imap",
                 result="auth_failed") == 1
    assert value(m, "director_logins_total", protocol="pop3",
                 result="ok") == 2
    assert value(m, "director_requests_failed_total") == 0
    assert value(m, "director_lmtp_deliveries_total",
                 result="delivered") == 1
    assert value(m, "director_build_info", version="0.1") == 1
    ok = 0
    for ip in backends.ips:
        assert value(m, "director_backend_healthy", backend=ip, tag="") == 1
        assert value(m, "director_backend_admin_up", backend=ip,
                     tag="") == 1
        assert value(m, "director_backend_weight", backend=ip,
                     tag="") == 100
        for proto in ("imap", "pop3"):
            ok += value(m, "director_backend_logins_total", backend=ip,
                        protocol=proto, result="ok")
    assert ok == 5
    users = sum(value(m, "director_backend_users", backend=ip, tag="")
                for ip in backends.ips)
    assert users == value(m, "director_users") >= 5
    assert value(m, "director_ring_synced") == 1
    # a live session shows in the session figures
    with rawclient.imap_connect(*d.listeners()["imap"]) as c:
        assert c.command("a", "LOGIN user508 %s" % PASS).startswith(b"a OK")
        m = scrape(d)
        assert value(m, "director_sessions", protocol="imap",
                     state="proxying") == 1
        assert sum(value(m, "director_backend_sessions", backend=ip,
                         protocol="imap") for ip in backends.ips) == 1


def test_metrics_http_errors_and_access_list(director_factory, backends,
                                             address_plan):
    d = metrics_director(director_factory)
    assert curl(d, "/other")[0] == 404
    assert curl(d, "/metrics", method="POST")[0] == 405
    assert curl(d, "/metrics?x=1")[0] == 200
    # a client from another address is not in metrics_networks
    status, _ = curl(d, source=address_plan.director_ip(2))
    assert status == 403
    d.wait_log(r"metrics: connection from [0-9.]+:\d+ refused")


def test_metrics_show_health_checks(director_factory, fresh_backends):
    d = metrics_director(director_factory, settings={
        "health_check": "yes", "health_check_interval": "1 s",
        "health_check_timeout": "1 s", "health_check_fall": "2",
        "health_check_recheck_interval": "300 ms"},
        nets="127.0.0.0/8", mail_servers=fresh_backends)
    victim = fresh_backends[0]
    off = d.log_offset()
    victim.stop()
    d.wait_log(r"backend %s health check: down" % victim.ip.replace(
        ".", r"\."), timeout=30, offset=off)
    m = scrape(d)
    assert value(m, "director_backend_healthy", backend=victim.ip,
                 tag="") == 0
    assert value(m, "director_backend_check_success",
                 backend=victim.ip, tag="") == 0
    for b in fresh_backends[1:]:
        assert value(m, "director_backend_healthy", backend=b.ip,
                     tag="") == 1
        assert value(m, "director_backend_check_success", backend=b.ip,
                     tag="") == 1
        assert value(m, "director_backend_check_duration_seconds",
                     backend=b.ip, tag="") >= 0
