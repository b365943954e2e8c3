"""One mailbox, several names: an LMTP recipient with a detail
(alice+lists@...) goes to the backend of the user who logs in without
it, and directorctl status shows the key a name is hashed as."""
import imaplib
import subprocess

from harness import adminclient, directord, dovecot
from test_lmtp import Lmtp, delivered_to, lmtp_director, message, read_back

PASS = dovecot.USER_PASSWORD


def _hashed(d, name):
    with adminclient.AdminClient(d.admin_socket) as a:
        return a.command("USER-LOOKUP", name).split("\t")[2]


def _detail_user(d):
    """A user whose name with a detail would hash elsewhere unstripped."""
    for i in range(620, 700):
        user = "user%d" % i
        if _hashed(d, user) != _hashed(d, user + "+lists"):
            return user
    raise AssertionError("no user whose detail changes its backend")


def test_detail_reaches_the_users_backend(proxy_director, backends):
    d = lmtp_director(proxy_director)
    user = _detail_user(d)
    ip, port = d.listeners()["imap"]
    imap = imaplib.IMAP4(ip, port)
    imap.login(user, PASS)
    login_backend = d.wait_log(
        r"login: user=<%s>, client=[^,]*, backend=([\d.]+):" % user).group(1)
    msg = message("detail-%s" % user)
    with Lmtp(d) as c:
        at_rcpt, at_data = c.deliver([user + "+lists"], msg)
    assert at_data[user + "+lists"].startswith("250"), at_data
    assert delivered_to(d, user + "+lists") == login_backend
    imap.logout()
    # the backend stored it in the user's own mailbox
    b = backends.by_ip(login_backend)
    assert read_back(b, user, "detail-%s" % user) is not None


def test_status_shows_the_hash_key(proxy_director):
    d = proxy_director(settings={"director_username_hash": "%Ln"})
    out = subprocess.run(
        [directord.binary_path("directorctl"), "-c", d.config_path,
         "status", "Alice@Example.COM"],
        capture_output=True, text=True, timeout=60,
        env=directord.sanitizer_env())
    assert out.returncode == 0, out.stderr
    assert "hashed as:      alice\n" in out.stdout, out.stdout
