"""Faults between the directors of a ring, for the chaos and soak tests.

Directors know a ring peer by the source address of its connection and
check that the ME it sends matches the address they dialled, so no
user-space relay can sit between two of them on loopback.  The faults are
made by the kernel and by signals instead, each probed when it starts: an
injection the machine cannot do is skipped and named in `skipped` with
the reason (the others still run); nothing is skipped silently.

  delay       every ring packet between the given directors is held for
              0..max_delay_ms (re-drawn every few seconds) in user space:
              an iptables-legacy rule of our own chain (mangle OUTPUT,
              TCP, the ring port, source and destination among the
              directors' addresses) hands it to an NFQUEUE, and a thread
              here gives its verdict when the time has come, in order
              within each connection.  The rule has --queue-bypass (no
              listener: packets pass) and stop() removes it, also after a
              failure (atexit is the last resort).  Why not tc netem: it
              needs sch_netem and a root qdisc on lo shared by every test
              run of the machine; this rule touches only our addresses.
  disconnect  `ss -K` aborts the ring connections of one director, or the
              one between two directors (the kernel's SOCK_DESTROY: the
              process gets ECONNABORTED, its peer a reset).
  pause       SIGSTOP, then SIGCONT after 20..400 ms: a director that
              stalls (an overloaded CPU, paging) but not long enough for
              its peers to drop it.
  restart     kill -9 of a director, started again 1..5 s later (only
              when asked for: the soak run).

Nothing here imports pytest.
"""
import atexit
import errno
import heapq
import ipaddress
import os
import random
import select
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time

from . import netutil

IPTABLES = "iptables-legacy"
QUEUE_BASE = 4100               # + the address plan's slot
MAX_DELAY_MS = 100
DELAY_PERIOD = (2.0, 6.0)       # seconds between new maximum delays
FAULT_INTERVAL = (1.0, 4.0)     # seconds between disconnects and pauses
PAUSE_MS = (20, 400)

# netlink and nfnetlink_queue (linux/netfilter/nfnetlink_queue.h)
_NETLINK_NETFILTER = 12
_NLM_F_REQUEST, _NLM_F_ACK = 1, 4
_NLMSG_ERROR = 2
_NFNL_SUBSYS_QUEUE = 3
_NFQNL_MSG_PACKET, _NFQNL_MSG_VERDICT, _NFQNL_MSG_CONFIG = 0, 1, 2
_NFQA_PACKET_HDR, _NFQA_VERDICT_HDR, _NFQA_PAYLOAD = 1, 2, 10
_NFQA_CFG_CMD, _NFQA_CFG_PARAMS = 1, 2
_NFQA_CFG_MASK, _NFQA_CFG_FLAGS = 4, 5
_NFQNL_CFG_CMD_BIND, _NFQNL_CFG_CMD_UNBIND = 1, 2
_NFQNL_COPY_PACKET = 2
_NFQA_CFG_F_FAIL_OPEN = 1
_NF_ACCEPT = 1
# enough of each packet for the IPv4 and TCP headers' addresses and ports
_COPY_RANGE = 64


def _nlattr(kind, data):
    size = 4 + len(data)
    return struct.pack("=HH", size, kind) + data + b"\0" * (-size % 4)


def _nlattrs(data):
    out, off = {}, 0
    while off + 4 <= len(data):
        size, kind = struct.unpack_from("=HH", data, off)
        if size < 4:
            break
        out[kind & 0x7fff] = data[off + 4:off + size]
        off += (size + 3) & ~3
    return out


def _nlmessages(buf):
    """(type, payload) of each netlink message in buf."""
    off = 0
    while off + 16 <= len(buf):
        size, kind = struct.unpack_from("=IH", buf, off)
        if size < 16:
            break
        yield kind, buf[off + 16:off + size]
        off += (size + 3) & ~3


def _flow_of(packet):
    """(source, source port, destination, destination port) of an IPv4
    TCP packet's first bytes, or None."""
    if len(packet) < 20 or packet[0] >> 4 != 4:
        return None
    ihl = (packet[0] & 0xf) * 4
    if len(packet) < ihl + 4:
        return None
    sport, dport = struct.unpack_from("!HH", packet, ihl)
    return packet[12:16], sport, packet[16:20], dport


def _run(argv):
    return subprocess.run(argv, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=30)


class LinkDelay:
    """Holds the ring packets between ips (ring port port) for a random
    0..max_delay_ms each, through NFQUEUE number queue_num.  start()
    returns None, or why it cannot run; stop() undoes everything and is
    safe to call twice."""

    def __init__(self, ips, port, queue_num, chain, rng,
                 max_delay_ms=MAX_DELAY_MS):
        addrs = sorted(ipaddress.ip_address(ip) for ip in ips)
        self.ip_range = "%s-%s" % (addrs[0], addrs[-1])
        self.port = port
        self.queue_num = queue_num
        self.chain = chain
        self.rng = rng
        self.max_delay_ms = max_delay_ms
        self.delay_ms = max_delay_ms      # the current maximum
        self.packets = 0
        self.sock = None
        self._rule_added = False
        self._thread = None
        self._stop = threading.Event()
        self._seq = 0

    @classmethod
    def for_ring(cls, directors, slot, seed, port=netutil.RING_PORT):
        """The delay between directors (harness.directord objects) of the
        address plan's slot: its own queue and chain, so that test runs
        in other slots are not touched."""
        return cls([d.ip for d in directors], port, QUEUE_BASE + slot,
                   "DIRCHAOS%d" % slot, random.Random(seed))

    # -- set-up -----------------------------------------------------------

    def _netlink(self, kind, attrs, flags=_NLM_F_REQUEST):
        self._seq += 1
        body = struct.pack("!BBH", socket.AF_UNSPEC, 0,
                           self.queue_num) + attrs
        msg = struct.pack("=IHHII", 16 + len(body),
                          (_NFNL_SUBSYS_QUEUE << 8) | kind, flags,
                          self._seq, 0) + body
        self.sock.send(msg)

    def _config(self, attrs):
        """Sends a queue configuration and returns the kernel's errno."""
        self._netlink(_NFQNL_MSG_CONFIG, attrs, _NLM_F_REQUEST | _NLM_F_ACK)
        for kind, payload in _nlmessages(self.sock.recv(65536)):
            if kind == _NLMSG_ERROR:
                return -struct.unpack_from("=i", payload)[0]
        return 0

    def _bind_queue(self):
        try:
            self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                      _NETLINK_NETFILTER)
            self.sock.bind((0, 0))
            self.sock.settimeout(5)
        except OSError as e:
            return "no netfilter netlink socket: %s" % e
        try:
            # a large buffer: a burst of packets must not overflow it
            self.sock.setsockopt(socket.SOL_SOCKET, 33,  # SO_RCVBUFFORCE
                                 8 << 20)
        except OSError:
            pass
        err = self._config(_nlattr(_NFQA_CFG_CMD, struct.pack(
            "!BBH", _NFQNL_CFG_CMD_BIND, 0, socket.AF_INET)))
        if err:
            return "cannot bind NFQUEUE %d: %s" % (self.queue_num,
                                                   os.strerror(err))
        err = self._config(
            _nlattr(_NFQA_CFG_PARAMS, struct.pack("!IB", _COPY_RANGE,
                                                  _NFQNL_COPY_PACKET)) +
            _nlattr(_NFQA_CFG_MASK, struct.pack("!I",
                                                _NFQA_CFG_F_FAIL_OPEN)) +
            _nlattr(_NFQA_CFG_FLAGS, struct.pack("!I",
                                                 _NFQA_CFG_F_FAIL_OPEN)))
        if err:
            return "cannot configure NFQUEUE %d: %s" % (self.queue_num,
                                                        os.strerror(err))
        self.sock.setblocking(False)
        return None

    def _rule(self):
        return ["-p", "tcp", "-m", "iprange", "--src-range", self.ip_range,
                "--dst-range", self.ip_range, "-m", "multiport", "--ports",
                str(self.port), "-j", "NFQUEUE", "--queue-num",
                str(self.queue_num), "--queue-bypass"]

    def _remove_rule(self):
        ipt = [IPTABLES, "-w", "-t", "mangle"]
        # a chain left by an earlier run of this slot goes too
        while _run(ipt + ["-D", "OUTPUT", "-j", self.chain]).returncode == 0:
            pass
        _run(ipt + ["-F", self.chain])
        _run(ipt + ["-X", self.chain])

    def _add_rule(self):
        if shutil.which(IPTABLES) is None:
            return "%s is not installed (Debian package iptables)" % IPTABLES
        ipt = [IPTABLES, "-w", "-t", "mangle"]
        self._remove_rule()
        self._rule_added = True
        for argv in (ipt + ["-N", self.chain],
                     ipt + ["-A", self.chain] + self._rule(),
                     ipt + ["-I", "OUTPUT", "-j", self.chain]):
            p = _run(argv)
            if p.returncode != 0:
                return "%s failed: %s" % (" ".join(argv),
                                          p.stderr.strip()[:200])
        return None

    def start(self):
        why = self._bind_queue() or self._add_rule()
        if why is not None:
            self.stop()
            return why
        atexit.register(self.stop)
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name="chaos-delay")
        self._thread.start()
        return None

    def stop(self):
        # no new packets first; then the thread lets the held ones go
        if self._rule_added:
            self._remove_rule()
            self._rule_added = False
        if self._thread is not None:
            self._stop.set()
            self._thread.join(10)
            self._thread = None
        if self.sock is not None:
            # closing the socket lets the kernel drop what is still queued;
            # TCP sends it again
            self.sock.close()
            self.sock = None
        atexit.unregister(self.stop)

    # -- the verdict loop ---------------------------------------------------

    def _verdict(self, packet_id):
        self._netlink(_NFQNL_MSG_VERDICT, _nlattr(
            _NFQA_VERDICT_HDR, struct.pack("!II", _NF_ACCEPT, packet_id)))

    def _loop(self):
        pending = []            # heap of (release time, packet id)
        last = {}               # flow -> release time of its last packet
        while not self._stop.is_set() or pending:
            now = time.monotonic()
            while pending and (pending[0][0] <= now or self._stop.is_set()):
                self._verdict(heapq.heappop(pending)[1])
            if self._stop.is_set():
                break
            wait = min(0.2, pending[0][0] - now) if pending else 0.2
            if not select.select([self.sock], [], [], max(0, wait))[0]:
                continue
            try:
                buf = self.sock.recv(1 << 16)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.ENOBUFS):
                    continue    # fail-open let the lost ones through
                raise
            now = time.monotonic()
            for kind, payload in _nlmessages(buf):
                if kind != (_NFNL_SUBSYS_QUEUE << 8) | _NFQNL_MSG_PACKET:
                    continue
                attrs = _nlattrs(payload[4:])
                if _NFQA_PACKET_HDR not in attrs:
                    continue
                packet_id = struct.unpack_from("!I",
                                               attrs[_NFQA_PACKET_HDR])[0]
                flow = _flow_of(attrs.get(_NFQA_PAYLOAD, b""))
                at = now + self.rng.uniform(0, self.delay_ms) / 1000.0
                # TCP segments of one connection keep their order
                at = max(at, last.get(flow, 0.0))
                last[flow] = at
                heapq.heappush(pending, (at, packet_id))
                self.packets += 1
            if len(last) > 1000:
                last = {f: t for f, t in last.items() if t > now}


def ss_kill(filter_expr):
    """Aborts the TCP sockets that match an ss filter; returns how many,
    or None if ss failed."""
    p = _run(["ss", "-K", "-t", "-n", "-H", filter_expr])
    if p.returncode != 0:
        return None
    return len([l for l in p.stdout.splitlines() if l.strip()])


def probe_ss_kill(ip):
    """None if `ss -K` aborts a connection on ip here, or why not."""
    if shutil.which("ss") is None:
        return "ss is not installed (Debian package iproute2)"
    listener = socket.socket()
    client = accepted = None
    try:
        listener.bind((ip, 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        client = socket.create_connection((ip, port), timeout=5)
        accepted, _ = listener.accept()
        ss_kill("src %s and sport = :%d" % (ip, port))
        accepted.settimeout(2)
        try:
            accepted.recv(1)
        except (ConnectionAbortedError, ConnectionResetError):
            return None
        except socket.timeout:
            pass
        return ("ss -K did not abort a socket (kernel without "
                "CONFIG_INET_DIAG_DESTROY?)")
    finally:
        for s in (listener, client, accepted):
            if s is not None:
                s.close()


class Faults:
    """Injects faults into the ring of directors (harness.directord
    objects, started, on consecutive addresses of one plan slot) until
    stop(): delays all the time, and every FAULT_INTERVAL a disconnect
    or a pause of a random director or link.

    enable: the injections wanted ("delay", "disconnect", "pause");
    log: a function taking one line.  `skipped` lists (injection, why)
    for each wanted one the machine cannot do; `counts` what was done.
    """

    def __init__(self, directors, slot, seed, port=netutil.RING_PORT,
                 enable=("delay", "disconnect", "pause"), log=print,
                 interval=FAULT_INTERVAL):
        self.directors = list(directors)
        self.rng = random.Random(seed)
        self.port = port
        self.log = log
        self.interval = interval
        self.enabled = []
        self.skipped = []
        self.counts = {"disconnects": 0, "sockets aborted": 0,
                       "pauses": 0, "restarts": 0, "delayed packets": 0}
        self._want = set(enable)
        self._delay = None
        if "delay" in self._want:
            self._delay = LinkDelay.for_ring(self.directors, slot, seed + 1,
                                             port)
        self._stop = threading.Event()
        self._thread = None
        self._paused = set()
        self._lock = threading.Lock()

    def start(self):
        if self._delay is not None:
            self._try("delay", self._delay.start)
        if "disconnect" in self._want:
            self._try("disconnect",
                      lambda: probe_ss_kill(self.directors[0].ip))
        self.enabled += [a for a in ("pause", "restart") if a in self._want]
        for name, why in self.skipped:
            self.log("chaos: %s injection SKIPPED: %s" % (name, why))
        self.log("chaos: injecting %s" % (", ".join(self.enabled) or
                                          "nothing"))
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name="chaos-faults")
        self._thread.start()
        return self

    def _try(self, name, fn):
        why = fn()
        if why is None:
            self.enabled.append(name)
        else:
            self.skipped.append((name, why))

    def stop(self):
        """Ends every injection: no director stays stopped, no rule stays
        installed.  Safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None
        with self._lock:
            for d in self._paused:
                d.signal(signal.SIGCONT)
            self._paused.clear()
        if self._delay is not None:
            self.counts["delayed packets"] = self._delay.packets
            self._delay.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- one fault at a time ------------------------------------------------

    def disconnect(self):
        """Aborts the ring connections of one director, or of one link."""
        a, b = self.rng.sample(self.directors, 2)
        ring = "( sport = :%d or dport = :%d )" % (self.port, self.port)
        if self.rng.random() < 0.5:
            expr = "src %s and %s" % (a.ip, ring)
        else:
            expr = "src %s and dst %s and %s" % (a.ip, b.ip, ring)
        n = ss_kill(expr)
        if n:
            self.counts["disconnects"] += 1
            self.counts["sockets aborted"] += n

    def pause(self, director=None, ms=None):
        """SIGSTOP a director for ms (default: random PAUSE_MS)."""
        d = director or self.rng.choice(self.directors)
        ms = self.rng.uniform(*PAUSE_MS) if ms is None else ms
        if not d.running:
            return
        with self._lock:
            self._paused.add(d)
            d.signal(signal.SIGSTOP)
        try:
            self._stop.wait(ms / 1000.0)
        finally:
            with self._lock:
                d.signal(signal.SIGCONT)
                self._paused.discard(d)
        self.counts["pauses"] += 1

    def restart(self):
        """kill -9 of a random director, started again 1..5 s later."""
        d = self.rng.choice(self.directors)
        d.kill()
        self._stop.wait(self.rng.uniform(1, 5))
        d.start()
        self.counts["restarts"] += 1

    def _loop(self):
        weights = {"disconnect": 3, "pause": 3, "restart": 1}
        actions = [a for a in weights if a in self.enabled]
        next_delay = time.monotonic()
        while not self._stop.wait(self.rng.uniform(*self.interval)):
            if self._delay is not None and time.monotonic() >= next_delay:
                # calm periods too: some handshakes see no delay
                self._delay.delay_ms = self.rng.choice(
                    [0, 10, 50, MAX_DELAY_MS, MAX_DELAY_MS])
                next_delay = time.monotonic() + self.rng.uniform(
                    *DELAY_PERIOD)
            if actions:
                action = self.rng.choices(
                    actions, [weights[a] for a in actions])[0]
                getattr(self, action)()
