"""HTTP authentication of every endpoint: Digest (MD5, qop=auth, realm Oryx) always, Basic only over TLS."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import time
from collections import OrderedDict
from urllib.parse import urlsplit

from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from oryxpy.config import Config
from oryxpy.errors import ConfigError
from serving.formats import wants_json

REALM = "Oryx"
NONCE_VALIDITY_S = 10.0  # Oryx (Tomcat DigestAuthenticator) uses 10 s; clients renew on stale=true
NONCE_CACHE_SIZE = 20000  # (nonce, nc) pairs remembered to refuse replays, as Tomcat's nonce cache
_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()  # noqa: S324 - required by HTTP Digest (RFC 2617)


def parse_auth_params(text: str) -> dict[str, str]:
    """The ``key=value`` / ``key="value"`` pairs of an Authorization header (after the scheme)."""
    params = {}
    for key, value in _PARAM.findall(text):
        if value.startswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        params[key.lower()] = value
    return params


class HttpAuthMiddleware:
    """ASGI middleware answering 401 with Digest (and, over TLS, Basic) challenges unless the request carries valid credentials."""

    def __init__(self, app: ASGIApp, user: str, password: str, allow_basic: bool,
                 nonce_validity_s: float = NONCE_VALIDITY_S) -> None:
        self.app = app
        self.user = user
        self.password = password
        self.allow_basic = allow_basic
        self.nonce_validity_s = nonce_validity_s
        self.ha1 = _md5(f"{user}:{REALM}:{password}")
        self.secret = os.urandom(32)
        self.opaque = os.urandom(16).hex()
        self.seen: OrderedDict[tuple[str, str], None] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        stale = False
        header = Headers(scope=scope).get("authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme.lower() == "digest":
            ok, stale = self.check_digest(parse_auth_params(rest), scope)
        elif scheme.lower() == "basic":
            ok = self.allow_basic and self.check_basic(rest.strip())
        else:
            ok = False
        if ok:
            await self.app(scope, receive, send)
        elif scope["type"] == "http":
            await self.challenge(send, stale, wants_json(Request(scope)))
        else:
            await send({"type": "websocket.close", "code": 1008})

    def make_nonce(self) -> str:
        """A nonce carrying its issue time, signed so that the server needs no state to check it."""
        stamp = str(time.time_ns() // 1_000_000)
        mac = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        return base64.b64encode(f"{stamp}:{mac}".encode()).decode()

    def nonce_state(self, nonce: str) -> str:
        """'ok', 'stale' (genuine but expired) or 'bad'."""
        try:
            stamp, mac = base64.b64decode(nonce, validate=True).decode().split(":", 1)
        except (binascii.Error, ValueError, UnicodeDecodeError):
            return "bad"
        expected = hmac.new(self.secret, stamp.encode(), hashlib.sha256).hexdigest()[:32]
        if not stamp.isdigit() or not hmac.compare_digest(mac, expected):
            return "bad"
        age_s = time.time() - int(stamp) / 1000.0
        return "ok" if -1.0 <= age_s <= self.nonce_validity_s else "stale"

    def check_digest(self, p: dict[str, str], scope: Scope) -> tuple[bool, bool]:
        """(valid, stale) for the parameters of a Digest Authorization header."""
        required = ("username", "realm", "nonce", "uri", "response")
        if any(k not in p for k in required) or p["realm"] != REALM or p.get("algorithm", "MD5").upper() != "MD5":
            return False, False
        if not hmac.compare_digest(p["username"].encode(), self.user.encode()) or not _same_target(p["uri"], scope):
            return False, False
        qop = p.get("qop")
        ha2 = _md5(f"{scope.get('method', 'GET')}:{p['uri']}")
        # qop=auth with a nonce count is required: without it (RFC 2069) a captured request replays within the nonce's
        # validity, since nothing distinguishes two uses of one nonce
        if qop != "auth" or not re.fullmatch(r"[0-9a-fA-F]{8}", p.get("nc", "")) or not p.get("cnonce"):
            return False, False
        expected = _md5(f"{self.ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:auth:{ha2}")
        if not hmac.compare_digest(expected, p["response"].lower()):
            return False, False
        state = self.nonce_state(p["nonce"])
        if state != "ok":
            return False, state == "stale"
        use = (p["nonce"], p["nc"].lower())
        if use in self.seen:
            return False, False
        self.seen[use] = None
        while len(self.seen) > NONCE_CACHE_SIZE:
            self.seen.popitem(last=False)
        return True, False

    def check_basic(self, token: str) -> bool:
        """Whether a Basic token carries the configured user name and password."""
        try:
            user, _, password = base64.b64decode(token, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user.encode(), self.user.encode()) & hmac.compare_digest(password.encode(), self.password.encode())

    async def challenge(self, send: Send, stale: bool, as_json: bool = False) -> None:
        """Answer 401 with a fresh Digest challenge (and a Basic one when allowed), the body in the error format of every
        other status (serving.formats.error_response)."""
        digest = f'Digest realm="{REALM}", qop="auth", algorithm=MD5, nonce="{self.make_nonce()}", opaque="{self.opaque}"'
        media = b"application/json" if as_json else b"text/plain; charset=utf-8"
        headers = [(b"www-authenticate", (digest + (", stale=true" if stale else "")).encode()), (b"content-type", media)]
        if self.allow_basic:
            headers.append((b"www-authenticate", f'Basic realm="{REALM}", charset="UTF-8"'.encode()))
        body = b'{"status": 401, "message": "Unauthorized"}' if as_json else b"Unauthorized"
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _same_target(uri: str, scope: Scope) -> bool:
    """Whether the Digest ``uri`` names this request's target (path and query, or the absolute URL of it)."""
    raw_path = (scope.get("raw_path") or scope.get("path", "").encode()).decode("latin-1")
    query = scope.get("query_string", b"").decode("latin-1")
    target = raw_path + (f"?{query}" if query else "")
    if uri in (target, raw_path):
        return True
    parts = urlsplit(uri)
    return bool(parts.scheme) and (parts.path + (f"?{parts.query}" if parts.query else "")) == target


def install(app: FastAPI, config: Config) -> None:
    """Require HTTP authentication on every endpoint when oryx.serving.api.user-name and password are set."""
    api = config.settings.serving.api
    user, password = api.user_name, api.password
    if user is None and password is None:
        return
    if user is None or password is None:
        missing = "oryx.serving.api.user-name" if user is None else "oryx.serving.api.password"
        raise ConfigError(f"{missing} must be set too: authentication needs both user-name and password")
    allow_basic = api.cert_file is not None
    app.add_middleware(HttpAuthMiddleware, user=user, password=password, allow_basic=allow_basic)
