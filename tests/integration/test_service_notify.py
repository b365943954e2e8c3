"""directord and the service manager (sd_notify): with NOTIFY_SOCKET set,
READY=1 comes once the listeners accept and the pid file exists,
RELOADING=1 ... READY=1 frames every SIGHUP (a refused file included),
STOPPING=1 comes at SIGTERM; "@name" addresses work, an unusable address
only costs a warning, and a daemonised directord names its own pid.

The test is the service manager: it binds the datagram socket the daemon
reports to (harness.notifysock)."""
import os
import signal
import socket
import subprocess
import time

import pytest

from harness import directord, netutil, procutil
from harness.notifysock import NotifySocket

GREETING = {"imap": b"* OK ", "pop3": b"+OK ", "lmtp": b"220 "}


@pytest.fixture
def notified(director_factory):
    """make(address=None) -> (Directord not yet started, NotifySocket);
    address defaults to a socket in the director's work directory."""
    sockets = []

    def make(address=None, **kwargs):
        d = director_factory(start=False, **kwargs)
        ns = NotifySocket(address or os.path.join(d.workdir, "notify"))
        sockets.append(ns)
        d.env.update(ns.env())
        return d, ns

    yield make
    for ns in sockets:
        ns.close()


def assert_serving(d):
    for proto, (ip, port) in d.listeners().items():
        with socket.create_connection((ip, port), timeout=5) as s:
            assert netutil.read_line(s).startswith(GREETING[proto]), proto


def start_notified(d, ns):
    """Spawn d and wait for its READY=1; returns that message."""
    d.spawn()
    return ns.expect("READY", timeout=directord.START_TIMEOUT)


def test_ready_only_once_serving_then_stopping(notified):
    d, ns = notified()
    msg = start_notified(d, ns)
    # READY=1 is the first word: nothing was announced before it
    assert ns.messages == [msg]
    assert msg["MAINPID"] == str(d.pid)
    assert msg["STATUS"] == "ready: 3 listeners"
    # by now the pid file exists and every listener greets
    assert d.read_pid_file() == d.pid
    assert_serving(d)
    ns.assert_quiet()
    d.signal(signal.SIGTERM)
    msg = ns.expect("STOPPING")
    assert msg["STATUS"] == "shutting down"
    assert d.wait_exit() == 0
    ns.assert_quiet()


def _expect_reload(ns, d):
    """RELOADING=1 (with the monotonic time it began), then READY=1;
    returns the READY message."""
    msg = ns.expect("RELOADING")
    assert msg["STATUS"] == "reloading " + d.config_path
    began = int(msg["MONOTONIC_USEC"]) / 1e6
    # CLOCK_MONOTONIC, as time.monotonic() on Linux
    assert abs(time.monotonic() - began) < 30, (began, time.monotonic())
    done = ns.expect("READY")
    assert done["MAINPID"] == str(d.pid)
    return done


def test_reload_good_and_bad(notified):
    d, ns = notified()
    start_notified(d, ns)
    d.mail_servers.append("127.0.1.9")
    d.write_config()
    d.reload()
    assert _expect_reload(ns, d)["STATUS"] == "configuration reloaded"
    # a refused file: still RELOADING=1 ... READY=1, and the reason
    d.write_config(d.render_config() + "no_such_setting = 1\n")
    d.reload()
    status = _expect_reload(ns, d)["STATUS"]
    assert status.startswith("reload failed, old configuration kept: %s:" %
                             d.config_path), status
    assert "no_such_setting" in status
    assert_serving(d)
    d.write_config()
    d.reload()
    assert _expect_reload(ns, d)["STATUS"] == "configuration reloaded"
    ns.assert_quiet()


def test_abstract_address(notified):
    d, ns = notified(address="@directord-test-%d-%d" % (os.getpid(),
                                                         time.monotonic_ns()))
    msg = start_notified(d, ns)
    assert msg["MAINPID"] == str(d.pid)
    d.signal(signal.SIGTERM)
    ns.expect("STOPPING")
    assert d.wait_exit() == 0


@pytest.mark.parametrize("value", ["relative/notify", "@", "",
                                   "/nonexistent-dir/notify"],
                         ids=["relative", "bare-at", "empty", "missing"])
def test_unusable_address_only_warns(director_factory, value):
    d = director_factory(start=False, env={"NOTIFY_SOCKET": value})
    d.start()
    d.wait_log(r"warning: NOTIFY_SOCKET=.*not notifying")
    assert_serving(d)


def test_without_notify_socket_nothing_changes(director):
    assert "NOTIFY_SOCKET" not in director.log_text()
    assert_serving(director)


def test_daemonised_ready_names_the_daemon(notified):
    """Without -F the process that started exits at once; READY=1 comes
    from the detached daemon, with its pid as MAINPID (for
    NotifyAccess=all units)."""
    d, ns = notified()
    env = dict(directord.sanitizer_env(), **d.env)
    with open(d.stderr_path, "ab") as err:
        first = subprocess.Popen([d.binary, "-c", d.config_path], env=env,
                                 stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=err)
    assert first.wait(directord.START_TIMEOUT) == 0, d.log_tail()
    msg = ns.expect("READY", timeout=directord.START_TIMEOUT)
    pid = d.read_pid_file()
    try:
        assert pid is not None and pid != first.pid
        assert msg["MAINPID"] == str(pid)
        assert_serving(d)
        os.kill(pid, signal.SIGTERM)
        ns.expect("STOPPING")
        assert procutil.wait_pids_gone([pid], directord.STOP_TIMEOUT) == []
    finally:
        procutil.kill_pids([p for p in [pid] if p and procutil.pid_alive(p)])
