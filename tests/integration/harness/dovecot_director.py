"""A real Dovecot 2.3 director (Debian's dovecot-core) for ring interop
tests: only its director service runs (no login or LMTP listeners), on
its own loopback address, ring port and admin socket, as in
../shared/reference/dovecot-2.3-lab."""
import os
import signal
import subprocess
import time

from harness import procutil

DIRECTOR_BINARY = "/usr/lib/dovecot/director"
START_TIMEOUT = 15.0

CONF = """# Dovecot 2.3 director {name} (written by the test harness)
instance_name = dit-{name}-{pid}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/dovecot.log
info_log_path = {dir}/dovecot.log
debug_log_path = {dir}/dovecot.log
listen = {ip}
protocols = none
ssl = no
director_servers = {servers}
director_mail_servers = {mail_servers}
director_user_expire = {expire}
director_user_kick_delay = {kick_delay}
director_username_hash = %Lu

service director {{
  unix_listener login/director {{
    mode = 0600
  }}
  unix_listener director-admin {{
    mode = 0600
  }}
  inet_listener {{
    address = {ip}
    port = {port}
  }}
}}

passdb {{
  driver = static
  args = proxy=y nopassword=y
}}
"""


def available():
    return os.path.exists(DIRECTOR_BINARY)


class DovecotDirector(procutil.LogFollower):
    """One Dovecot 2.3 director instance in workdir."""

    def __init__(self, name, ip, port, workdir, servers, mail_servers,
                 expire="15 min", kick_delay="2 s"):
        self.name = name
        self.ip = ip
        self.port = port
        self.workdir = os.path.abspath(workdir)
        self.conf_path = os.path.join(self.workdir, "dovecot.conf")
        self._log_file = os.path.join(self.workdir, "dovecot.log")
        self.master_pid = None
        for sub in ("run", "state"):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)
        with open(self.conf_path, "w") as f:
            f.write(CONF.format(name=name, pid=os.getpid(), dir=self.workdir,
                                ip=ip, port=port, servers=servers,
                                mail_servers=" ".join(mail_servers),
                                expire=expire, kick_delay=kick_delay))

    @property
    def admin_socket(self):
        return os.path.join(self.workdir, "run", "director-admin")

    def start(self):
        out = os.path.join(self.workdir, "startup.out")
        with open(out, "wb") as f:
            # the daemonised master keeps stdout/stderr: a file, never a pipe
            rc = subprocess.call(["dovecot", "-c", self.conf_path],
                                 stdin=subprocess.DEVNULL, stdout=f,
                                 stderr=subprocess.STDOUT)
        pidfile = os.path.join(self.workdir, "run", "master.pid")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.master_pid is None and os.path.exists(pidfile):
                with open(pidfile) as f:
                    text = f.read().strip()
                if text.isdigit():
                    self.master_pid = int(text)
                    procutil.register(self)
            if self.master_pid is not None and \
                    os.path.exists(self.admin_socket):
                return self
            time.sleep(0.05)
        raise RuntimeError("dovecot director %s did not start (rc %d): %s"
                           % (self.name, rc, self.log_text()[-2000:]))

    def stop(self, timeout=10.0):
        if self.master_pid is None:
            return
        pid, self.master_pid = self.master_pid, None
        procutil.unregister(self)
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)

    kill = stop

    def doveadm(self, *args, timeout=60):
        """`doveadm director ARGS -a ADMIN`; returns stdout (raises on a
        non-zero exit)."""
        res = subprocess.run(["doveadm", "director"] + list(args) +
                             ["-a", self.admin_socket],
                             capture_output=True, text=True, timeout=timeout)
        if res.returncode != 0:
            raise RuntimeError("doveadm director %s: %d %s %s" % (
                " ".join(args), res.returncode, res.stdout, res.stderr))
        return res.stdout

    def __repr__(self):
        return "DovecotDirector(%s, %s)" % (self.name, self.ip)
