"""Admin arguments are sanitised before they are logged: a user name (or
any other argument) that carries an escaped LF or another control
character cannot forge a line of its own in the director's log."""
import re

import pytest

from harness import adminclient

FORGED = "FORGED admin root: HOST-REMOVE 10.0.0.1"


def test_admin_arguments_cannot_forge_log_lines(proxy_director, backends):
    d = proxy_director()
    off = d.log_offset()
    evil = "user1\n" + FORGED + "\r\x1b[2K"
    with adminclient.AdminClient(d.admin_socket) as a:
        # escape() turns the LF into \x01n, which the director decodes
        assert a.command("USER-MOVE", evil, backends.ips[0]) == "OK"
        assert a.command("USER-KICK", evil) == "OK"
        assert a.command("USER-KICK-ALT", evil, "x") == "OK"
        # not an IP address: logged and closed, as Dovecot does
        a.send("DIRECTOR-ADD", evil)
        with pytest.raises(EOFError):
            a.line()
    d.wait_log(r"DIRECTOR-ADD", offset=off)
    text = d.log_text(off)
    forged = [l for l in text.splitlines() if l.startswith("FORGED")]
    assert forged == [], text
    assert "\x1b" not in text and "\r" not in text, text
    # each command's line is still there, with the name escaped
    for cmd in ("USER-MOVE", "USER-KICK", "USER-KICK-ALT", "DIRECTOR-ADD"):
        assert re.search(r"admin [^:]*: %s user1\\x0aFORGED" % cmd, text), \
            (cmd, text)
