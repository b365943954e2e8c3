"""The Debian package (make deb): built from the repository, inspected
with dpkg-deb, installed with dpkg into an empty root tree and checked
there, reinstalled over itself and purged.

The real system is never touched: dpkg runs with --root (and --log) on a
tree under the test's work directory.  Two force options are needed for
an empty tree and nothing else: --force-depends (the tree holds none of
the libraries the package depends on) and --force-script-chrootless (it
holds no shell to chroot into; the maintainer scripts honour DPKG_ROOT
instead).  The installed programs run from the tree, on the host's
libraries."""
import gzip
import hashlib
import os
import re
import shutil
import stat
import subprocess

import pytest

from harness import directord

ROOT = directord.ROOT
PKG = "director"
CONFFILE = "/etc/director/directord.conf"
STATE_DIR = "/var/lib/director"
UNIT = "/lib/systemd/system/directord.service"
TOOLS = ("dpkg", "dpkg-deb", "dpkg-query", "dpkg-shlibdeps", "useradd",
         "readelf", "make")
# files of the package: path -> mode
FILES = {
    "/usr/sbin/directord": 0o755,
    "/usr/bin/directorctl": 0o755,
    "/usr/share/man/man8/directord.8.gz": 0o644,
    "/usr/share/man/man8/directorctl.8.gz": 0o644,
    "/usr/share/man/man5/directord.conf.5.gz": 0o644,
    CONFFILE: 0o644,
    UNIT: 0o644,
    "/usr/lib/tmpfiles.d/directord.conf": 0o644,
}
# what must not change on the host, whatever the test does
HOST_PATHS = ("/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow",
              "/var/lib/dpkg/status", "/var/log/dpkg.log", "/etc/director",
              STATE_DIR, "/usr/sbin/directord", "/usr/bin/directorctl",
              UNIT, "/usr/lib/tmpfiles.d/directord.conf")


def run(cmd, **kwargs):
    kwargs.setdefault("timeout", 120)
    return subprocess.run(cmd, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, **kwargs)


def must(cmd, **kwargs):
    r = run(cmd, **kwargs)
    assert r.returncode == 0, (cmd, r.returncode, r.stdout, r.stderr)
    return r.stdout


@pytest.fixture(scope="module")
def deb():
    """Path of the package `make deb` built."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip("missing tools (make check installs them): " +
                    " ".join(missing))
    # a make of its own: not the jobserver of a `make check` around us
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    out = must(["make", "-s", "deb"], cwd=ROOT, env=env, timeout=1800)
    path = out.strip().splitlines()[-1]
    assert path.endswith(".deb"), out
    return os.path.join(ROOT, path)


def control(deb):
    fields, key = {}, None
    for line in must(["dpkg-deb", "-f", deb]).splitlines():
        if line.startswith(" ") and key:
            fields[key] += "\n" + line
        else:
            key, _, value = line.partition(":")
            fields[key] = value.strip()
    return fields


def depends_names(depends):
    """Package names of a Depends field (alternatives included)."""
    return {re.match(r"\s*([a-z0-9][a-z0-9+.-]*)", alt).group(1)
            for dep in depends.split(",") for alt in dep.split("|")}


def owner_package(soname):
    """The installed package that ships the library soname."""
    out = must(["dpkg-query", "-S", "*/" + soname])
    return out.split(":")[0].strip()


def test_control_fields(deb, tmp_path):
    f = control(deb)
    version = must([os.path.join(ROOT, "build", "rel", "directord"), "-V"])
    assert f["Package"] == PKG
    assert f["Version"] == version.split()[1]
    assert f["Architecture"] == must(["dpkg", "--print-architecture"]).strip()
    assert f["Section"] == "mail" and f["Priority"] == "optional"
    assert f["Maintainer"] and f["Description"]
    assert int(f["Installed-Size"]) > 0
    # Depends: the packages of exactly the libraries the programs load
    # (libevent, OpenSSL, libbsd, libc), and useradd's for the postinst
    must(["dpkg-deb", "-x", deb, str(tmp_path)])
    needed = set()
    for prog in ("usr/sbin/directord", "usr/bin/directorctl"):
        out = must(["readelf", "-d", str(tmp_path / prog)])
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+)\]",
                                 out))
    libs = {owner_package(so) for so in needed}
    assert {"libevent-core-2.1-7", "libevent-openssl-2.1-7", "libssl3",
            "libbsd0", "libc6"} <= libs, libs
    assert depends_names(f["Depends"]) == libs | {"passwd"}, f["Depends"]
    # with the versions dpkg-shlibdeps knows, e.g. libc6 (>= 2.34)
    assert re.search(r"libc6 \(>= [0-9.]+\)", f["Depends"]), f["Depends"]


def test_contents(deb, tmp_path):
    listing = must(["dpkg-deb", "-c", deb]).splitlines()
    entries = {}
    for line in listing:
        mode, owner, _size, _date, _time, path = line.split(None, 5)
        assert owner == "root/root", line
        entries[path[1:].rstrip("/") or "/"] = mode
    for path, mode in FILES.items():
        assert path in entries, (path, sorted(entries))
        assert entries[path] == stat.filemode(stat.S_IFREG | mode), \
            (path, entries[path])
    # no state in the package: the postinst makes it, owned by the user
    assert not any(p.startswith(STATE_DIR) for p in entries)
    assert must(["dpkg-deb", "-f", deb, "Package"]).strip() == PKG
    conffiles = must(["dpkg-deb", "--info", deb, "conffiles"]).split()
    assert conffiles == [CONFFILE]
    for script in ("postinst", "prerm", "postrm"):
        assert must(["dpkg-deb", "--info", deb, script]).startswith(
            "#!/bin/sh")
    # the files are the repository's
    must(["dpkg-deb", "-x", deb, str(tmp_path)])
    same = {CONFFILE: "etc/directord.conf",
            UNIT: "etc/systemd/directord.service",
            "/usr/lib/tmpfiles.d/directord.conf":
                "etc/systemd/directord-tmpfiles.conf"}
    for path, src in same.items():
        with open(str(tmp_path) + path, "rb") as a, \
                open(os.path.join(ROOT, src), "rb") as b:
            assert a.read() == b.read(), path
    for page in ("man8/directord.8", "man8/directorctl.8",
                 "man5/directord.conf.5"):
        with gzip.open(str(tmp_path / "usr/share/man" / page) + ".gz") as a, \
                open(os.path.join(ROOT, "man", os.path.basename(page)),
                     "rb") as b:
            assert a.read() == b.read(), page


def host_state():
    """What the host has at HOST_PATHS: content hash or listing."""
    out = {}
    for path in HOST_PATHS:
        if os.path.isdir(path):
            out[path] = ("dir", sorted(os.listdir(path)))
        elif os.path.exists(path):
            with open(path, "rb") as f:
                out[path] = ("file", hashlib.sha256(f.read()).hexdigest())
        else:
            out[path] = None
    return out


def empty_root(base):
    """A tree with an empty dpkg database and only root in its user
    database (useradd --prefix edits these files)."""
    os.makedirs(os.path.join(base, "var/lib/dpkg/info"))
    os.makedirs(os.path.join(base, "var/lib/dpkg/updates"))
    os.makedirs(os.path.join(base, "var/log"))
    os.makedirs(os.path.join(base, "etc"))
    open(os.path.join(base, "var/lib/dpkg/status"), "w").close()
    with open(os.path.join(base, "etc/passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    with open(os.path.join(base, "etc/group"), "w") as f:
        f.write("root:x:0:\n")
    return base


def dpkg(root, *args):
    return run(["dpkg", "--root=" + root,
                "--log=" + os.path.join(root, "var/log/dpkg.log"),
                "--force-script-chrootless"] + list(args))


def user_entries(root):
    with open(os.path.join(root, "etc/passwd")) as f:
        return [l.rstrip("\n").split(":") for l in f
                if l.startswith(directord.DIRECTOR_USER + ":")]


def test_install_run_reinstall_purge(deb, workroot):
    before = host_state()
    root = empty_root(os.path.join(workroot, "pkgroot"))
    try:
        r = dpkg(root, "--force-depends", "--install", deb)
        assert r.returncode == 0, r.stdout + r.stderr
        version = control(deb)["Version"]
        status = must(["dpkg-query", "--root=" + root, "-W", "-f",
                       "${Status} ${Version}", PKG])
        assert status == "install ok installed " + version
        registered = must(["dpkg-query", "--root=" + root, "-W", "-f",
                           "${Conffiles}", PKG])
        assert CONFFILE in registered

        # the system user and its state directory
        users = user_entries(root)
        assert len(users) == 1, users
        _name, _pw, uid, gid, _gecos, home, shell = users[0]
        assert 0 < int(uid) < 1000, users       # a system user
        assert home == STATE_DIR and shell == "/usr/sbin/nologin"
        with open(os.path.join(root, "etc/group")) as f:
            groups = [l.split(":") for l in f]
        assert [g[2] for g in groups if g[0] == directord.DIRECTOR_USER] \
            == [gid], groups
        st = os.stat(root + STATE_DIR)
        assert stat.S_ISDIR(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o750
        assert (st.st_uid, st.st_gid) == (int(uid), int(gid))
        for path, mode in FILES.items():
            assert stat.S_IMODE(os.stat(root + path).st_mode) == mode, path

        # the installed programs work from the tree
        out = must([root + "/usr/sbin/directord", "-n", "-c",
                    root + CONFFILE])
        assert out.strip() == root + CONFFILE + ": configuration OK"
        assert must([root + "/usr/sbin/directord", "-V"]).split()[1] == \
            version
        out = must([root + "/usr/bin/directorctl", "-c", root + CONFFILE,
                    "hash", "alice"])
        assert out.startswith("alice\t")

        # again over itself: one user, the administrator's conffile kept
        with open(root + CONFFILE, "a") as f:
            f.write("# edited by the administrator\n")
        r = dpkg(root, "--force-depends", "--install", deb)
        assert r.returncode == 0, r.stdout + r.stderr
        assert len(user_entries(root)) == 1
        with open(root + CONFFILE) as f:
            assert f.read().endswith("# edited by the administrator\n")
        assert os.stat(root + STATE_DIR).st_uid == int(uid)

        # purge: the files, the conffile and the state go, the user stays
        r = dpkg(root, "--purge", PKG)
        assert r.returncode == 0, r.stdout + r.stderr
        for path in list(FILES) + [STATE_DIR]:
            assert not os.path.exists(root + path), path
        assert len(user_entries(root)) == 1
    finally:
        assert host_state() == before
    shutil.rmtree(root)
