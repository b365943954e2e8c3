"""The systemd unit (etc/systemd/directord.service): systemd's own checker
accepts it, and its sandbox does not break the daemon's privilege drop.

systemd does not run here, so the sandbox is rebuilt with setpriv(1): the
unit's CapabilityBoundingSet and NoNewPrivileges around a directord whose
state and run directories belong to the director user, mode 0750, as the
package makes them.  Under those limits it must start, drop to director,
answer on its admin socket, reload and stop; without any one capability
of the set it must fail to start, so the set holds nothing it does not
need."""
import os
import re
import shutil
import pwd
import signal
import socket
import subprocess

import pytest

from harness import adminclient, directord, netutil, procutil
from harness.notifysock import NotifySocket

ROOT = directord.ROOT
UNIT = os.path.join(ROOT, "etc", "systemd", "directord.service")
LOW_PORT = 143          # a listener only CAP_NET_BIND_SERVICE may bind


def unit_settings(path=UNIT):
    """{key: [values]} of the unit's [Service] section."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith(("#", ";")):
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            if section == "Service":
                key, _, value = line.partition("=")
                out.setdefault(key.strip(), []).append(value.strip())
    return out


def _need(tool):
    path = shutil.which(tool)
    if path is None:
        pytest.skip("%s is not installed here" % tool)
    return path


def _verify(unit_path, manpath):
    env = dict(os.environ, MANPATH=manpath)
    return subprocess.run(["systemd-analyze", "verify", unit_path],
                          capture_output=True, text=True, env=env,
                          timeout=60)


def test_systemd_analyze_verify(tmp_path):
    _need("systemd-analyze")
    # the commands must exist: point them at the build, and the manual
    # pages of Documentation= at the repository's
    text = open(UNIT).read().replace("/usr/sbin/directord",
                                     directord.binary_path())
    unit = tmp_path / "directord.service"
    unit.write_text(text)
    man = tmp_path / "man"
    for page in os.listdir(os.path.join(ROOT, "man")):
        section = man / ("man" + page.rsplit(".", 1)[1])
        section.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.join(ROOT, "man", page), section)
    r = _verify(str(unit), str(man))
    # verify exits 0 on unknown keys and bad values: it must say nothing
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr
    # and the check has teeth: a bad value is reported
    unit.write_text(text.replace("ProtectSystem=strict",
                                 "ProtectSystem=stricter"))
    r = _verify(str(unit), str(man))
    assert "stricter" in r.stdout + r.stderr


def test_systemd_analyze_security(tmp_path):
    _need("systemd-analyze")
    r = subprocess.run(["systemd-analyze", "security", "--offline=true",
                        "--no-pager", UNIT], capture_output=True, text=True,
                       timeout=60)
    m = re.search(r"Overall exposure level for directord\.service: "
                  r"([0-9.]+)", r.stdout)
    if m is None:
        pytest.skip("systemd-analyze security --offline is not supported: "
                    + (r.stderr.strip() or r.stdout[-200:]))
    # 2.9 when written ("OK"); more means a hardening option got lost
    assert float(m.group(1)) <= 3.0, r.stdout


def test_unit_shape():
    s = unit_settings()
    assert s["Type"] == ["notify"]
    assert s["ExecStart"] == [
        "/usr/sbin/directord -F -c /etc/director/directord.conf"]
    assert s["ExecReload"][-1] == "/bin/kill -HUP $MAINPID"
    assert s["NoNewPrivileges"] == ["yes"]
    assert s["ProtectSystem"] == ["strict"]
    # every directory the default configuration writes to
    conf = open(os.path.join(ROOT, "etc", "directord.conf")).read()
    writable = " ".join(s["ReadWritePaths"]).split()
    for key in ("state_dir", "admin_socket", "pid_file"):
        value = re.search(r"^%s = (\S+)" % key, conf, re.M).group(1)
        if key != "state_dir":
            value = os.path.dirname(value)
        assert value in writable, (key, value, writable)


def bounding_set():
    """The capabilities of the unit, as setpriv names them."""
    caps = " ".join(unit_settings()["CapabilityBoundingSet"]).split()
    return [c.lower().replace("cap_", "", 1) for c in caps]


def sandboxed(director_factory, caps):
    """A directord (not started) whose binary runs under setpriv with
    bounding set caps and no_new_privs, with the package's directory
    modes and an extra IMAP listener on LOW_PORT."""
    setpriv = _need("setpriv")
    d = director_factory(start=False)
    wrapper = os.path.join(d.workdir, "sandboxed-directord")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec %s --bounding-set=-all%s --no-new-privs "
                "%s \"$@\"\n" % (setpriv, "".join(",+" + c for c in caps),
                                   directord.binary_path()))
    os.chmod(wrapper, 0o755)
    d.binary = wrapper
    if not netutil.port_is_free(d.ip, LOW_PORT):
        pytest.skip("%s:%d is taken" % (d.ip, LOW_PORT))
    d.extra_listeners["imap-low"] = {"protocol": "imap", "port": LOW_PORT}
    d.write_config()
    # as the package leaves them: the user's own, closed to others
    for path in (d.run_dir, d.state_dir):
        os.chmod(path, 0o750)
    return d


def test_runs_under_the_unit_limits(director_factory):
    uid = pwd.getpwnam(directord.DIRECTOR_USER).pw_uid
    d = sandboxed(director_factory, bounding_set())
    ns = NotifySocket(os.path.join(d.workdir, "notify"))
    try:
        d.env.update(ns.env())
        d.spawn()
        ready = ns.expect("READY", timeout=directord.START_TIMEOUT)
        assert ready["STATUS"] == "ready: 4 listeners"
        assert procutil.proc_uids(d.pid) == (uid, uid, uid, uid)
        # the kernel agrees: nothing is left of root
        with open("/proc/%d/status" % d.pid) as f:
            status = f.read()
        assert re.search(r"^CapEff:\s+0+$", status, re.M), status
        assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), status
        # made by root in the user's directory, handed to the user
        assert os.stat(os.path.join(d.state_dir, "lmtp")).st_uid == uid
        with adminclient.AdminClient(d.admin_socket) as a:
            assert len(a.list("HOST-LIST")) == 3
        with socket.create_connection((d.ip, LOW_PORT), timeout=5) as s:
            assert netutil.read_line(s).startswith(b"* OK ")
        d.reload()
        ns.expect("RELOADING")
        assert ns.expect("READY")["STATUS"] == "configuration reloaded"
        d.signal(signal.SIGTERM)
        ns.expect("STOPPING")
        assert d.wait_exit() == 0
    finally:
        ns.close()


@pytest.mark.parametrize("cap", bounding_set())
def test_each_capability_is_needed(director_factory, cap):
    d = sandboxed(director_factory, [c for c in bounding_set() if c != cap])
    d.expect_exit = 1
    d.spawn()
    assert d.wait_exit(directord.START_TIMEOUT) == 1, d.log_tail()
    assert re.search(r"error: .*(Permission denied|Operation not permitted)",
                     d.log_text()), d.log_tail()
