"""Digest authentication as SIP uses it (RFC 2617, RFC 7616 hashes, RFC 8760 for SIP).

A trunk answers our INVITE or REGISTER with ``401``/``407`` and a challenge (a realm and a
nonce); we repeat the request with a response that proves we know the password without
sending it: ``H(H(user:realm:password):nonce:nc:cnonce:qop:H(method:uri))``. Both sides
live here: `authorization` answers a carrier's challenge on outbound calls, and
`NonceKeeper` + `verify` check a PBX that sends calls in with credentials we gave it.

Our nonces are stateless (a timestamp signed with HMAC), so a restart or a second worker
still recognises them and nothing has to be stored per caller. The price: a nonce can be
replayed within its lifetime (`max_age_s`); calls come from a known trunk, and the worker
may also check the source address, so five minutes is an acceptable window.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

# Canonical spelling of each algorithm, by its upper-case form (the name is case-insensitive).
_ALGORITHMS = {name.upper(): name for name in ("MD5", "MD5-sess", "SHA-256", "SHA-256-sess")}
_PARAM = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*))\s*(?:,|$)')


class DigestError(ValueError):
    """A challenge or credentials that cannot be read or answered; the message says why."""


def _algorithm(name: str) -> str:
    canonical = _ALGORITHMS.get(name.strip().upper())
    if canonical is None:
        raise DigestError(f"unsupported digest algorithm {name[:30]!r}")
    return canonical


def _parse_digest(value: str) -> dict[str, str]:
    """``Digest a="x", b=y`` -> ``{"a": "x", "b": "y"}`` (names lowercased, quotes removed)."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        raise DigestError(f"not a Digest header (scheme {scheme[:20]!r})")
    params: dict[str, str] = {}
    at = 0
    rest = rest.strip()
    while at < len(rest):
        match = _PARAM.match(rest, at)
        if match is None or match.end() == at:
            raise DigestError(f"bad Digest parameter near {rest[at : at + 30]!r}")
        quoted, bare = match.group(2), match.group(3)
        params[match.group(1).lower()] = (
            re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        )
        at = match.end()
    return params


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _required(params: dict[str, str], *names: str) -> None:
    missing = [name for name in names if not params.get(name)]
    if missing:
        raise DigestError(f"Digest header without {', '.join(missing)}")


@dataclass(frozen=True)
class Challenge:
    """What a ``WWW-Authenticate`` / ``Proxy-Authenticate`` header asks of us."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    def header(self) -> str:
        """The header value a server sends (``Digest realm="...", nonce="...", ...``)."""
        parts = [f"realm={_quote(self.realm)}", f"nonce={_quote(self.nonce)}"]
        parts.append(f"algorithm={self.algorithm}")
        if self.qop:
            parts.append(f"qop={_quote(','.join(self.qop))}")
        if self.opaque is not None:
            parts.append(f"opaque={_quote(self.opaque)}")
        if self.stale:
            parts.append("stale=TRUE")
        return "Digest " + ", ".join(parts)


def parse_challenge(value: str) -> Challenge:
    """Read a ``WWW-Authenticate`` / ``Proxy-Authenticate`` header value.

    Raises:
        DigestError: not Digest, no realm or nonce, or an algorithm we cannot compute.
    """
    params = _parse_digest(value)
    _required(params, "realm", "nonce")
    qop = tuple(q.strip().lower() for q in params.get("qop", "").split(",") if q.strip())
    return Challenge(
        realm=params["realm"],
        nonce=params["nonce"],
        algorithm=_algorithm(params.get("algorithm", "MD5")),
        qop=qop,
        opaque=params.get("opaque"),
        stale=params.get("stale", "").lower() == "true",
    )


def _hash(algorithm: str, text: str | bytes) -> str:
    data = text.encode() if isinstance(text, str) else text
    if algorithm.startswith("SHA-256"):
        return hashlib.sha256(data).hexdigest()
    return hashlib.md5(data, usedforsecurity=False).hexdigest()  # the protocol's, not our choice


def _response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    nonce: str,
    method: str,
    uri: str,
    qop: str | None,
    nc: str,
    cnonce: str,
    body: bytes,
) -> str:
    """The digest response (RFC 2617 3.2.2.1, with RFC 7616's hash for SHA-256)."""
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.endswith("-sess"):
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    a2 = f"{method}:{uri}"
    if qop == "auth-int":
        a2 += ":" + _hash(algorithm, body)
    ha2 = _hash(algorithm, a2)
    if qop is None:
        return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")


def _choose_qop(offered: tuple[str, ...]) -> str | None:
    if not offered:
        return None  # RFC 2069 compatibility: no qop, no nc, no cnonce
    if "auth" in offered:
        return "auth"  # cheaper than auth-int and what every trunk accepts
    if "auth-int" in offered:
        return "auth-int"
    raise DigestError(f"no supported qop in {','.join(offered)[:40]!r}")


def authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    body: bytes = b"",
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """The ``Authorization`` / ``Proxy-Authorization`` value answering `challenge`.

    `uri` is the Request-URI exactly as it goes on the request line; `nc` counts the
    requests made with this nonce (the first is 1).

    Raises:
        DigestError: the challenge offers only qop values we do not implement.
    """
    qop = _choose_qop(challenge.qop)
    cnonce = cnonce or secrets.token_hex(8)
    nc_text = f"{nc:08x}"
    response = _response(
        algorithm=challenge.algorithm, username=username, realm=challenge.realm,
        password=password, nonce=challenge.nonce, method=method, uri=uri, qop=qop,
        nc=nc_text, cnonce=cnonce, body=body,
    )  # fmt: skip
    parts = [
        f"username={_quote(username)}",
        f"realm={_quote(challenge.realm)}",
        f"nonce={_quote(challenge.nonce)}",
        f"uri={_quote(uri)}",
        f"response={_quote(response)}",
        f"algorithm={challenge.algorithm}",
    ]
    if qop is not None or challenge.algorithm.endswith("-sess"):
        parts.append(f"cnonce={_quote(cnonce)}")
    if challenge.opaque is not None:
        parts.append(f"opaque={_quote(challenge.opaque)}")
    if qop is not None:
        parts += [f"qop={qop}", f"nc={nc_text}"]  # unquoted: some servers refuse "auth"
    return "Digest " + ", ".join(parts)


@dataclass(frozen=True)
class Credentials:
    """What a client's ``Authorization`` header claims (read by `parse_authorization`)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None


def parse_authorization(value: str) -> Credentials:
    """Read an ``Authorization`` / ``Proxy-Authorization`` header value.

    Raises:
        DigestError: not Digest, a required field missing, or an unknown algorithm or qop.
    """
    params = _parse_digest(value)
    _required(params, "username", "realm", "nonce", "uri", "response")
    qop = params.get("qop", "").lower() or None
    if qop not in (None, "auth", "auth-int"):
        raise DigestError(f"unsupported qop {qop!r}")
    if qop is not None:
        _required(params, "nc", "cnonce")
        if not re.fullmatch(r"[0-9a-fA-F]{8}", params["nc"]):
            raise DigestError(f"bad nc {params['nc'][:20]!r}")
    return Credentials(
        username=params["username"],
        realm=params["realm"],
        nonce=params["nonce"],
        uri=params["uri"],
        response=params["response"].lower(),
        algorithm=_algorithm(params.get("algorithm", "MD5")),
        qop=qop,
        nc=params.get("nc"),
        cnonce=params.get("cnonce"),
        opaque=params.get("opaque"),
    )


def verify(credentials: Credentials, *, method: str, password: str, body: bytes = b"") -> bool:
    """Whether `credentials` prove knowledge of `password` for this request.

    Only the hash is checked here: the caller also checks the nonce (`NonceKeeper.check`),
    the realm and that `credentials.uri` is the request's own URI.
    """
    if credentials.algorithm.endswith("-sess") and not credentials.cnonce:
        return False
    expected = _response(
        algorithm=credentials.algorithm, username=credentials.username,
        realm=credentials.realm, password=password, nonce=credentials.nonce, method=method,
        uri=credentials.uri, qop=credentials.qop, nc=credentials.nc or "",
        cnonce=credentials.cnonce or "", body=body,
    )  # fmt: skip
    # Constant time: how much of the response matched must not leak through timing.
    return hmac.compare_digest(expected.encode(), credentials.response.encode())


class NonceKeeper:
    """Issues and checks nonces that need no storage: ``<ms>.<salt>.<hmac>``."""

    def __init__(
        self, secret: bytes, max_age_s: float = 300.0, clock: Callable[[], float] = time.time
    ) -> None:
        if not secret:
            raise DigestError("a NonceKeeper needs a non-empty secret")
        self._secret = secret
        self._max_age_s = max_age_s
        self._clock = clock

    def _sign(self, payload: str) -> str:
        return hmac.new(self._secret, payload.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        """A fresh nonce, valid for `max_age_s` from now."""
        payload = f"{int(self._clock() * 1000):x}.{secrets.token_hex(6)}"
        return f"{payload}.{self._sign(payload)}"

    def check(self, nonce: str) -> Literal["ok", "stale", "bad"]:
        """``ok``; ``stale`` (ours but too old: challenge again with ``stale=TRUE`` so the
        client retries without asking the user); ``bad`` (not ours, or tampered with)."""
        payload, _, mac = nonce.rpartition(".")
        issued_ms = payload.partition(".")[0]
        if not payload or not hmac.compare_digest(self._sign(payload).encode(), mac.encode()):
            return "bad"
        try:
            age_s = self._clock() - int(issued_ms, 16) / 1000
        except ValueError:
            return "bad"
        # abs: another worker's clock may run a little behind the one that issued it.
        return "ok" if abs(age_s) <= self._max_age_s else "stale"

    def challenge(self, realm: str, *, stale: bool = False) -> Challenge:
        """A challenge to send in a ``401``: MD5 (what every PBX speaks), qop auth."""
        return Challenge(realm=realm, nonce=self.issue(), qop=("auth",), stale=stale)
