"""Process bookkeeping shared by the Dovecot and directord wrappers.

Every object that starts processes registers itself here; an atexit hook
stops whatever is still registered, so that an interrupted or crashed test
run leaves no daemons behind.  Registered objects have a stop() method that
is safe to call twice.
"""
import atexit
import os
import re
import signal
import threading
import time

_live = []
_lock = threading.Lock()


def register(obj):
    with _lock:
        if obj not in _live:
            _live.append(obj)


def unregister(obj):
    with _lock:
        if obj in _live:
            _live.remove(obj)


def stop_all():
    """Stop every registered object, newest first, ignoring errors."""
    with _lock:
        objs = list(reversed(_live))
    for obj in objs:
        try:
            obj.stop()
        except Exception:
            pass
        unregister(obj)


atexit.register(stop_all)


def pid_alive(pid):
    """True if pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return False
    # the state letter follows the ")" that closes the command name
    return stat[stat.rindex(")") + 2] not in "ZX"


def _stat_fields(pid):
    with open("/proc/%d/stat" % pid) as f:
        stat = f.read()
    return stat[stat.rindex(")") + 2:].split()


def session_pids(sid):
    """Pids of every live process whose session id is sid."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        try:
            fields = _stat_fields(pid)
        except (OSError, ValueError):
            continue
        # fields[0] is the state, [1] ppid, [2] pgrp, [3] session
        if int(fields[3]) == sid and fields[0] not in "ZX":
            out.append(pid)
    return out


def wait_pids_gone(pids, timeout):
    """Wait until none of pids is alive; returns the ones still alive."""
    deadline = time.monotonic() + timeout
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if pid_alive(p)]
    return alive


def kill_pids(pids, sig=signal.SIGKILL):
    for pid in pids:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def cpu_seconds(pid):
    """User + system CPU seconds that pid has used so far."""
    fields = _stat_fields(pid)
    # fields[0] is the state: utime and stime are fields 14 and 15
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_uids(pid):
    """The (real, effective, saved, fs) uids of pid from /proc/PID/status."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return tuple(int(x) for x in line.split()[1:5])
    raise RuntimeError("no Uid line for pid %d" % pid)


class LogFollower:
    """Reading a process's log file as it grows.  The class using it sets
    self._log_file (the path) and self.name."""

    def log_text(self, offset=0):
        """The log from byte offset on ("" if there is none yet)."""
        try:
            with open(self._log_file, "rb") as f:
                f.seek(offset)
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_offset(self):
        """Current size of the log, to read only what comes after."""
        try:
            return os.path.getsize(self._log_file)
        except OSError:
            return 0

    def wait_log(self, pattern, timeout=5.0, offset=0):
        """Wait until the log (after offset) matches the regex pattern;
        returns the match.  Raises TimeoutError with the log's tail."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            text = self.log_text(offset)
            m = rx.search(text)
            if m:
                return m
            if time.monotonic() >= deadline:
                raise TimeoutError("%s: no log line matching %r within "
                                   "%.1fs; log tail:\n%s" %
                                   (self.name, pattern, timeout,
                                    text[-3000:]))
            time.sleep(0.05)
