"""An OAuth 2.0 token introspection endpoint (RFC 7662) for the tests'
Dovecot backends, whose oauth2 passdb asks it whether a bearer token is
valid and whose it is.

An OAuthServer is one http.server thread on a loopback address.  It holds
the tokens the tests issue (token -> claims) and counts the introspection
requests per token: a test that sees a login fail can tell whether a
backend consulted the server (the backend refused the token) or not (the
director refused the login on its own).

The answer is the token's claims, {"active": true, "username": ..., ...},
or {"active": false} for a token it never issued, one revoked or one past
its expiry.  Dovecot's `introspection_mode` decides how the token arrives;
all three are understood:

  auth   GET <url> with "Authorization: Bearer <token>"
  get    GET <url><token> (the token appended to the URL)
  post   POST <url> with the form body "token=<token>"

dovecot_passdb_conf() writes the oauth2 passdb's file for one mode and
returns the passdb block to append to a backend's dovecot.conf.

Importable without pytest.
"""
import collections
import http.server
import json
import os
import threading
import time
import urllib.parse

INTROSPECT_PATH = "/introspect"
# Dovecot 2.3's oauth2 passdb: introspection in the request's Authorization
# header (its default mode; no token in URLs or access logs)
DEFAULT_MODE = "auth"
DEFAULT_LIFETIME = 3600         # seconds a token is valid when issued
BODY_MAX = 64 * 1024            # a bigger POST body is refused

INACTIVE = {"active": False}


class OAuthServer:
    """The introspection endpoint on ip:port (port 0: any free port).

    tokens: {token: claims}; requests: {token: number of introspection
    requests that named it}; log: [(method, path, token)] of every request,
    in arrival order.  Use as a context manager, or start()/stop().
    """

    def __init__(self, ip="127.0.0.1", port=0):
        self.ip = ip
        self._port = port
        self.tokens = {}
        self.requests = collections.Counter()
        self.log = []
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    # -- tokens -----------------------------------------------------------

    def issue(self, token, username, lifetime=DEFAULT_LIFETIME, **claims):
        """Make token valid for username for lifetime seconds (negative:
        already expired) and return it; claims are added to (or override)
        the introspection answer."""
        now = int(time.time())
        answer = {"active": True, "username": username,
                  "token_type": "Bearer", "iat": now, "exp": now + lifetime}
        answer.update(claims)
        with self._lock:
            self.tokens[token] = answer
        return token

    def revoke(self, token):
        with self._lock:
            self.tokens.pop(token, None)

    def count(self, token):
        """How many introspection requests named token so far."""
        with self._lock:
            return self.requests[token]

    def total(self):
        """How many introspection requests arrived so far (any token)."""
        with self._lock:
            return len(self.log)

    def answer(self, token):
        """The introspection answer for token (a dict), counted."""
        with self._lock:
            self.requests[token] += 1
            claims = self.tokens.get(token)
            if claims is None:
                return dict(INACTIVE)
            if claims.get("exp", 0) and claims["exp"] <= time.time():
                return dict(INACTIVE)
            return dict(claims)

    # -- HTTP -------------------------------------------------------------

    @property
    def port(self):
        return self._httpd.server_address[1] if self._httpd else self._port

    @property
    def url(self):
        """The introspection URL (without a token)."""
        return "http://%s:%d%s" % (self.ip, self.port, INTROSPECT_PATH)

    def start(self):
        server = self

        class Handler(_Handler):
            owner = server

        self._httpd = http.server.ThreadingHTTPServer((self.ip, self._port),
                                                      Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the listener; safe to call twice."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
        self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _record(self, method, path, token):
        with self._lock:
            self.log.append((method, path, token))

    # -- Dovecot ----------------------------------------------------------

    def dovecot_passdb_conf(self, path, mode=DEFAULT_MODE):
        """Write the oauth2 passdb's settings file to path (for
        introspection_mode mode) and return the dovecot.conf text that
        enables OAUTHBEARER and XOAUTH2 with it, next to PLAIN and LOGIN.
        """
        url = self.url
        if mode == "get":
            url += "?token="
        lines = [
            "# the tests' introspection endpoint (harness/oauthserver.py)",
            "introspection_url = %s" % url,
            "introspection_mode = %s" % mode,
            "force_introspection = yes",
            "username_attribute = username",
            "active_attribute = active",
            "active_value = true",
            "timeout_msecs = 10000",
            "max_parallel_connections = 4",
        ]
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(path, 0o644)
        return ("auth_mechanisms = plain login oauthbearer xoauth2\n"
                "passdb {\n"
                "  driver = oauth2\n"
                "  mechanisms = xoauth2 oauthbearer\n"
                "  args = %s\n"
                "}\n" % path)


class _Handler(http.server.BaseHTTPRequestHandler):
    owner = None                # the OAuthServer (set by a subclass)
    protocol_version = "HTTP/1.1"

    def _token_get(self):
        auth = self.headers.get("Authorization", "")
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        path, _, query = self.path.partition("?")
        if query:
            values = urllib.parse.parse_qs(query, keep_blank_values=True)
            if values.get("token"):
                return values["token"][0]
        prefix = INTROSPECT_PATH + "/"
        if path.startswith(prefix) and len(path) > len(prefix):
            return urllib.parse.unquote(path[len(prefix):])
        return None

    def _token_post(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > BODY_MAX:
            return None
        body = self.rfile.read(length).decode("utf-8", "replace")
        values = urllib.parse.parse_qs(body, keep_blank_values=True)
        if values.get("token"):
            return values["token"][0]
        return self._token_get()

    def _reply(self, method, token):
        self.owner._record(method, self.path, token)
        if not self.path.startswith(INTROSPECT_PATH):
            self._send(404, {"error": "not_found"})
        elif token is None:
            self._send(400, {"error": "invalid_request"})
        else:
            self._send(200, self.owner.answer(token))

    def _send(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._reply("GET", self._token_get())

    def do_POST(self):
        self._reply("POST", self._token_post())

    def log_message(self, fmt, *args):
        pass                    # the request log is self.owner.log
