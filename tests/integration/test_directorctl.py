"""directorctl's offline verbs: `hash` against real Dovecot username
hashes, `simulate` against the routing vectors of a real Dovecot director,
and the exit codes for usage and configuration errors.

directorctl never connects to the backends of its configuration, so the
configurations here name 10.0.0.x addresses that need not exist.
"""
import os
import re
import subprocess

import pytest

from harness import directord

ROOT = directord.ROOT
VECTORS = os.path.join(ROOT, "tests", "vectors")
EX_USAGE = 64
EX_CONFIG = 78

BASE_CONF = """\
director_mail_servers = {servers}
director_hashing = {hashing}
{extra}
listen imap {{
  address = 127.0.0.1
  port = 1143
}}
"""


def _vectors(name):
    with open(os.path.join(VECTORS, name), encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line and not line.startswith("#"):
                yield line.split("\t")


def _binary():
    path = directord.binary_path("directorctl")
    if not os.access(path, os.X_OK):
        pytest.fail("no directorctl at %s (set DIRECTOR_BUILD)" % path)
    return path


def run_ctl(*args):
    return subprocess.run([_binary()] + list(args), capture_output=True,
                          text=True, errors="replace", timeout=60,
                          stdin=subprocess.DEVNULL,
                          env=directord.sanitizer_env())


def write_conf(tmp_path, servers="10.0.0.1 10.0.0.2 10.0.0.3",
               hashing="dovecot", extra=""):
    path = tmp_path / "directord.conf"
    path.write_text(BASE_CONF.format(servers=servers, hashing=hashing,
                                     extra=extra))
    return str(path)


def _h3():
    """{username: expected_ip} of set h3 (three hosts, default tag)."""
    hosts = sorted(r[2] for r in _vectors("dovecot_select.tsv")
                   if r[0] == "host" and r[1] == "h3")
    assert hosts == ["10.0.0.1", "10.0.0.2", "10.0.0.3"]
    # names with blanks would break the whitespace-split table parsing
    return {r[3]: (int(r[4]), r[5]) for r in _vectors("dovecot_select.tsv")
            if r[0] == "user" and r[1] == "h3" and r[2] == "" and r[3] and
            not r[3].startswith("-") and r[3].split() == [r[3]]}


def _user_rows(stdout):
    """{user: (hash, {method: ip})} from simulate's per-user table."""
    lines = stdout.splitlines()
    head = next(i for i, l in enumerate(lines) if l.startswith("user "))
    methods = lines[head].split()[2:]
    rows = {}
    for line in lines[head + 1:]:
        if not line.strip():
            break
        f = line.split()
        rows[f[0]] = (int(f[1]), dict(zip(methods, f[2:])))
    return rows


def test_hash_matches_dovecot(tmp_path):
    conf = write_conf(tmp_path)
    want = {r[1]: r[2] for r in _vectors("userhash.tsv")
            if r[0] == "%Lu" and r[1] and not r[1].startswith("-")}
    assert len(want) >= 10
    users = sorted(want)
    res = run_ctl("-c", conf, "hash", *users)
    assert res.returncode == 0, res.stderr
    got = dict(l.split("\t") for l in res.stdout.splitlines())
    assert got == want


@pytest.mark.parametrize("extra,same,other", [
    ("auth_master_user_separator = *", "user1*master", "user2"),
    ("director_username_hash = %Ln", "User1@b.example", "user2@a.example"),
])
def test_hash_settings(tmp_path, extra, same, other):
    """The separator and the template of the config are applied: `same`
    hashes like user1, `other` does not."""
    conf = write_conf(tmp_path, extra=extra)
    res = run_ctl("-c", conf, "hash", "user1", same, other)
    assert res.returncode == 0, res.stderr
    h = [l.split("\t")[1] for l in res.stdout.splitlines()]
    assert h[0] == h[1]
    assert h[2] != h[1]


def test_simulate_dovecot_matches_real_director(tmp_path):
    expected = _h3()
    users = sorted(expected)[:200]
    conf = write_conf(tmp_path)
    res = run_ctl("-c", conf, "simulate", "-m", "dovecot", "-n", "0", *users)
    assert res.returncode == 0, res.stderr
    rows = _user_rows(res.stdout)
    assert sorted(rows) == users
    for u in users:
        assert rows[u] == (expected[u][0], {"dovecot": expected[u][1]}), u


def test_simulate_both_methods_and_balance(tmp_path):
    expected = _h3()
    users = sorted(expected)[:20]
    conf = write_conf(tmp_path, hashing="rendezvous")
    res = run_ctl("-c", conf, "simulate", "-m", "both", "-n", "3000", *users)
    assert res.returncode == 0, res.stderr
    rows = _user_rows(res.stdout)
    ips = {"10.0.0.1", "10.0.0.2", "10.0.0.3"}
    for u in users:
        assert rows[u][1]["dovecot"] == expected[u][1]
        assert rows[u][1]["rendezvous"] in ips
    # balance: every user counted once per method, on a known backend
    table = [l.split() for l in res.stdout.splitlines()
             if l.split() and l.split()[0] in ips]
    assert len(table) == 3
    assert sum(int(r[2]) for r in table) == 3000
    assert sum(int(r[4]) for r in table) == 3000
    assert re.search(r"^peak/mean\s+1\.000\s+1\.\d{3}\s+1\.\d{3}",
                     res.stdout, re.M)
    m = re.search(r"same backend under both methods: (\d+) of 3000",
                  res.stdout)
    assert m and 0 < int(m.group(1)) < 3000


def test_simulate_rendezvous_agrees_with_hash(tmp_path):
    """The rendezvous pick of one user does not depend on the other
    users asked about, nor on the order of director_mail_servers."""
    a = write_conf(tmp_path)
    res1 = run_ctl("-c", a, "simulate", "-m", "rendezvous", "-n", "0",
                   "user5", "user6", "user7")
    b_dir = tmp_path / "b"
    b_dir.mkdir()
    b = write_conf(b_dir, servers="10.0.0.3 10.0.0.1 10.0.0.2")
    res2 = run_ctl("-c", b, "simulate", "-m", "rendezvous", "-n", "0",
                   "user7", "user5", "user6")
    assert res1.returncode == 0 and res2.returncode == 0
    assert _user_rows(res1.stdout) == _user_rows(res2.stdout)


@pytest.mark.parametrize("args", [
    [],
    ["nosuchverb"],
    ["hash"],
    ["simulate", "-m", "roundrobin"],
    ["simulate", "-n", "-1"],
    ["simulate", "-n", "many"],
    ["simulate", "-x"],
    ["-Z", "hash", "user1"],
])
def test_usage_errors(tmp_path, args):
    conf = write_conf(tmp_path)
    res = run_ctl("-c", conf, *args)
    assert res.returncode == EX_USAGE, (res.stdout, res.stderr)
    assert "usage:" in res.stderr


def test_usage_wins_over_broken_config(tmp_path):
    res = run_ctl("-c", str(tmp_path / "missing.conf"), "hash")
    assert res.returncode == EX_USAGE


@pytest.mark.parametrize("verb", [["hash", "user1"], ["simulate", "user1"]])
def test_broken_config(tmp_path, verb):
    path = tmp_path / "broken.conf"
    path.write_text("director_hashing = dovecot\n"
                    "director_mail_servers = 10.0.0.1 not-an-ip\n")
    res = run_ctl("-c", str(path), *verb)
    assert res.returncode == EX_CONFIG
    assert re.search(re.escape(str(path)) + r":2: ", res.stderr), res.stderr
    assert res.stdout == ""


def test_missing_config(tmp_path):
    path = str(tmp_path / "missing.conf")
    res = run_ctl("-c", path, "hash", "user1")
    assert res.returncode == EX_CONFIG
    assert path in res.stderr


def test_help_lists_every_verb_and_the_man_page_documents_them():
    res = run_ctl("-h")
    assert res.returncode == 0
    verbs = sorted({l.split()[1] for l in res.stdout.splitlines()
                    if l.startswith("  directorctl ")})
    assert verbs == sorted(["add", "down", "dump", "flush", "hash",
                            "health", "kick",
                            "map", "move", "remove", "ring", "simulate",
                            "status", "up", "update"])
    with open(os.path.join(ROOT, "man", "directorctl.8"),
              encoding="utf-8") as f:
        man = f.read()
    for verb in verbs:
        assert re.search(r"^\.It Cm %s\b" % verb, man, re.M), verb
    # every exit status the program uses is documented
    for code in ("0", "64", "65", "68", "69", "75", "76", "77", "78"):
        assert re.search(r"^\.It %s$" % code, man, re.M), code


@pytest.mark.parametrize("args", [
    ["-t", "-1", "status"],
    ["-t", "100000", "status"],
    ["-a"],
])
def test_global_option_errors(tmp_path, args):
    res = run_ctl(*args)
    assert res.returncode == EX_USAGE
    assert "usage:" in res.stderr


def test_admin_verb_without_socket_names_the_config_socket(tmp_path):
    """Without -a the socket comes from the configuration; a director
    that is not running is EX_UNAVAILABLE, naming the path."""
    sock = str(tmp_path / "admin")
    conf = write_conf(tmp_path, extra="admin_socket = %s" % sock)
    res = run_ctl("-c", conf, "status")
    assert res.returncode == 69
    assert sock in res.stderr and "no admin socket" in res.stderr
