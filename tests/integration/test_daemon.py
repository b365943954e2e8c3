"""The directord process contract: configuration check (-n), start and
readiness (pid file), SIGTERM, SIGHUP reloads, privilege drop, the
temporary-failure answer of every listener before proxying exists, and the
pid-file lock against a second instance.

The director_factory fixture fails a test at teardown if the daemon did
not exit 0 or if its stderr holds a sanitizer report."""
import os
import pwd
import socket
import time

import pytest

from harness import directord, netutil, procutil

GREETING = {
    "imap": b"* OK ",
    "pop3": b"+OK ",
    "lmtp": b"220 ",
}


def append_line(text, line):
    """text with line appended; returns (new text, line number of line)."""
    lines = text.rstrip("\n").split("\n")
    lines.append(line)
    return "\n".join(lines) + "\n", len(lines)


def replace_line(text, old, new):
    """text with the line that equals old (stripped) replaced by new;
    returns (new text, line number)."""
    lines = text.rstrip("\n").split("\n")
    for i, l in enumerate(lines):
        if l.strip() == old:
            lines[i] = new
            return "\n".join(lines) + "\n", i + 1
    raise AssertionError("no line %r in config" % old)


def test_check_config_ok(director_factory):
    d = director_factory(start=False)
    r = d.check_config()
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "%s: configuration OK" % d.config_path


def _bad_key(d, text):
    return append_line(text, "no_such_setting = 1")


def _bad_value(d, text):
    return replace_line(text, "log_level = debug", "log_level = loud")


def _bad_port(d, text):
    return replace_line(text, "imap_port = %d" % d.imap_port,
                        "  imap_port = 70000")


def _missing_include(d, text):
    return append_line(text, "!include %s/nonexistent.conf" % d.workdir)


@pytest.mark.parametrize("breaker", [_bad_key, _bad_value, _bad_port,
                                     _missing_include],
                         ids=["bad-key", "bad-value", "bad-port",
                              "missing-include"])
def test_check_config_error_names_file_and_line(director_factory, breaker):
    d = director_factory(start=False)
    text, lineno = breaker(d, d.render_config())
    path = d.write_config(text, os.path.join(d.workdir, "bad.conf"))
    r = d.check_config(path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "%s:%d:" % (path, lineno) in r.stderr, r.stderr
    assert "configuration OK" not in r.stdout
    assert directord.sanitizer_reports(r.stderr) == []


def test_check_config_error_in_included_file(director_factory):
    d = director_factory(start=False)
    inc = d.write_config("# included\nno_such_setting = 2\n",
                         os.path.join(d.workdir, "inc.conf"))
    text, _ = append_line(d.render_config(), "!include " + inc)
    path = d.write_config(text, os.path.join(d.workdir, "main.conf"))
    r = d.check_config(path)
    assert r.returncode == 1
    assert "%s:2:" % inc in r.stderr, r.stderr


def test_check_config_missing_file(director_factory):
    d = director_factory(start=False)
    path = os.path.join(d.workdir, "does-not-exist.conf")
    r = d.check_config(path)
    assert r.returncode == 1
    assert path in r.stderr


def test_start_ready_and_sigterm(director_factory):
    d = director_factory()
    assert d.running
    assert d.read_pid_file() == d.pid
    assert d.stop() == 0
    assert not os.path.exists(d.pid_file)
    # a start and a stop say what happened in a few lines, and nothing of
    # libevent's (making its descriptor map at start once logged a
    # refusal for every descriptor number: 20,000 lines a thread)
    text = d.log_text()
    assert "libevent" not in text, text[:2000]
    assert len(text.splitlines()) < 20, text[:2000]


def test_runs_as_director_user(director):
    uid = pwd.getpwnam(directord.DIRECTOR_USER).pw_uid
    assert procutil.proc_uids(director.pid) == (uid, uid, uid, uid)


@pytest.mark.parametrize("proto", ["imap", "pop3", "lmtp"])
def test_listener_greets(director, proto):
    ip, port = director.listeners()[proto]
    with socket.create_connection((ip, port), timeout=5) as s:
        assert netutil.read_line(s).startswith(GREETING[proto])


def test_sighup_reload_good_and_bad(director):
    d = director
    # good: one more mail server
    d.mail_servers.append("127.0.1.9")
    d.write_config()
    off = d.log_offset()
    d.reload()
    d.wait_log(r"configuration reloaded", offset=off)
    # bad: the old configuration keeps running
    text, _ = append_line(d.render_config(), "no_such_setting = 1")
    d.write_config(text)
    off = d.log_offset()
    d.reload()
    d.wait_log(r"reload failed", offset=off)
    time.sleep(0.2)
    assert d.running
    assert d.read_pid_file() == d.pid
    ip, port = d.listeners()["imap"]
    with socket.create_connection((ip, port), timeout=5) as s:
        assert netutil.read_line(s).startswith(GREETING["imap"])
    # and a good file is taken again
    d.write_config()
    off = d.log_offset()
    d.reload()
    d.wait_log(r"configuration reloaded", offset=off)
    assert d.running


def test_second_instance_refused_while_first_runs(director_factory):
    d1 = director_factory(1)
    d2 = director_factory(2, start=False, pid_file=d1.pid_file)
    d2.expect_exit = None
    d2.spawn()
    rc = d2.wait_exit(10)
    assert rc not in (0, None) and rc > 0, rc
    assert "pid" in d2.log_text().lower()
    assert d2.sanitizer_reports() == []
    assert d1.running
    assert d1.read_pid_file() == d1.pid
    assert d1.stop() == 0
    assert not os.path.exists(d1.pid_file)
