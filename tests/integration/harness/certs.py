"""Test certificates made with the openssl command: a CA, and leaf
certificates it signs for a loopback IP address (subjectAltName IP), as
directors present them to each other on TLS ring links."""
import os
import subprocess


def _openssl(*args):
    subprocess.run(["openssl"] + list(args), check=True,
                   capture_output=True, timeout=60)


def make_ca(directory, name="ca"):
    """A self-signed CA in directory (made once); returns (cert, key)."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    if not os.path.exists(cert):
        os.makedirs(directory, exist_ok=True)
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
                 "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                 "-subj", "/CN=" + name, "-addext",
                 "basicConstraints=critical,CA:TRUE", "-addext",
                 "keyUsage=critical,keyCertSign,cRLSign",
                 "-keyout", key, "-out", cert)
        os.chmod(cert, 0o644)
        os.chmod(key, 0o644)
    return cert, key


def make_leaf(directory, ca, name, ip):
    """A certificate for ip signed by ca (cert, key); returns (cert,
    key), readable by everyone (the daemons drop privileges)."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    csr = os.path.join(directory, name + ".csr")
    ext = os.path.join(directory, name + ".ext")
    os.makedirs(directory, exist_ok=True)
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:%s\nextendedKeyUsage=serverAuth,"
                "clientAuth\n" % ip)
    _openssl("req", "-newkey", "ec", "-pkeyopt",
             "ec_paramgen_curve:prime256v1", "-nodes", "-subj",
             "/CN=" + name, "-keyout", key, "-out", csr)
    _openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert)
    os.chmod(cert, 0o644)
    os.chmod(key, 0o644)
    return cert, key
