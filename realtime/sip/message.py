"""SIP messages (RFC 3261): parse what a trunk sends, build what we send back.

A SIP message is an HTTP-like start line, header lines and an optional body (the SDP).
What makes it more than HTTP, and what this module takes care of:
- Headers have compact one-letter forms (``v`` is Via, ``i`` Call-ID) and several may be
  folded onto one line with commas (``Via: a, b``); `Headers` stores canonical names in
  the order received, which matters: the Via stack routes the response back.
- Five headers are mandatory (Via, From, To, Call-ID, CSeq); a message without them cannot
  be matched to a transaction, so parsing refuses it with a reason that goes straight into
  a ``400`` reply and the log: one reason per line, never the whole datagram.
- Addresses come in three shapes (URI, name-addr, Via), each a small frozen value here.
Nothing here does I/O or keeps state; the transport and the user agent build on it.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field, replace

_COMPACT = {
    "v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "l": "Content-Length",
    "c": "Content-Type", "k": "Supported", "s": "Subject", "e": "Content-Encoding",
    "o": "Event", "r": "Refer-To", "b": "Referred-By", "x": "Session-Expires",
}  # fmt: skip
_CANONICAL = {
    name.lower(): name
    for name in (
        "Accept", "Accept-Encoding", "Accept-Language", "Alert-Info", "Allow", "Allow-Events",
        "Authentication-Info", "Authorization", "Call-ID", "Call-Info", "Contact",
        "Content-Disposition", "Content-Encoding", "Content-Language", "Content-Length",
        "Content-Type", "CSeq", "Date", "Diversion", "Error-Info", "Event", "Expires", "From",
        "History-Info", "In-Reply-To", "Max-Forwards", "Min-Expires", "Min-SE", "MIME-Version",
        "Organization", "P-Asserted-Identity", "P-Preferred-Identity", "Priority", "Privacy",
        "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Require", "RAck", "Reason",
        "Record-Route", "Refer-To", "Referred-By", "Remote-Party-ID", "Replaces", "Reply-To",
        "Require", "Retry-After", "Route", "RSeq", "Server", "Session-Expires", "Subject",
        "Subscription-State", "Supported", "Timestamp", "To", "Unsupported", "User-Agent",
        "Via", "Warning", "WWW-Authenticate",
    )
}  # fmt: skip
# Headers whose comma-separated values are separate entries (RFC 3261 section 7.3.1);
# others (WWW-Authenticate, dates) carry commas inside one value.
_LIST_HEADERS = frozenset({"Via", "Route", "Record-Route", "Contact", "Allow", "Supported"})
_MANDATORY = ("Via", "From", "To", "Call-ID", "CSeq")
_TOKEN = re.compile(r"^[A-Za-z0-9.!%*_+`'~-]+$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+$")


class SipParseError(ValueError):
    """A SIP message, URI or header that cannot be read; the message says what is wrong."""


def canonical_name(name: str) -> str:
    """The header's full canonical spelling (``i`` and ``call-id`` -> ``Call-ID``)."""
    name = name.strip()
    lower = name.lower()
    return _COMPACT.get(lower) or _CANONICAL.get(lower, name)


def split_commas(value: str) -> list[str]:
    """Split on commas outside quotes and ``<...>`` (a display name or URI may hold one)."""
    parts: list[str] = []
    start, quoted, angled, i = 0, False, False, 0
    while i < len(value):
        ch = value[i]
        if quoted and ch == "\\":
            i += 1  # an escaped character, whatever it is
        elif ch == '"':
            quoted = not quoted
        elif not quoted and ch in "<>":
            angled = ch == "<"
        elif ch == "," and not quoted and not angled:
            parts.append(value[start:i])
            start = i + 1
        i += 1
    parts.append(value[start:])
    return [part.strip() for part in parts if part.strip()]


class Headers:
    """Ordered, case-insensitive multi-map of header lines, under canonical names."""

    def __init__(self, items: list[tuple[str, str]] | None = None) -> None:
        self._items: list[tuple[str, str]] = []
        for name, value in items or []:
            self.add(name, value)

    def get(self, name: str) -> str | None:
        """The first value of `name`, or None."""
        key = canonical_name(name).lower()
        return next((v for n, v in self._items if n.lower() == key), None)

    def get_all(self, name: str) -> list[str]:
        """Every value of `name` in order; list headers are also split at their commas."""
        canonical = canonical_name(name)
        values = [v for n, v in self._items if n.lower() == canonical.lower()]
        if canonical in _LIST_HEADERS:
            return [part for value in values for part in split_commas(value)]
        return values

    def set(self, name: str, value: str) -> None:
        """Replace every `name` line with one (where the first one was, else at the end)."""
        canonical = canonical_name(name)
        key = canonical.lower()
        at = next((i for i, (n, _) in enumerate(self._items) if n.lower() == key), None)
        self.remove(name)
        self._items.insert(len(self._items) if at is None else at, (canonical, value.strip()))

    def add(self, name: str, value: str) -> None:
        """Append a `name` line."""
        if "\r" in value or "\n" in value:
            raise SipParseError(f"header {name} value contains a line break")
        self._items.append((canonical_name(name), value.strip()))

    def remove(self, name: str) -> None:
        """Drop every `name` line."""
        key = canonical_name(name).lower()
        self._items = [(n, v) for n, v in self._items if n.lower() != key]

    def copy(self) -> Headers:
        return Headers(list(self._items))

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


class _Message:
    """What requests and responses share: headers, body and the transaction's keys."""

    headers: Headers
    body: bytes

    @property
    def call_id(self) -> str:
        return self.headers.get("Call-ID") or ""

    @property
    def cseq(self) -> tuple[int, str]:
        return parse_cseq(self.headers.get("CSeq") or "")

    @property
    def from_tag(self) -> str | None:
        value = self.headers.get("From")
        return parse_name_addr(value).tag if value else None

    @property
    def to_tag(self) -> str | None:
        value = self.headers.get("To")
        return parse_name_addr(value).tag if value else None

    @property
    def branch(self) -> str | None:
        vias = self.headers.get_all("Via")
        return parse_via(vias[0]).branch if vias else None

    def _encode(self, start_line: str) -> bytes:
        headers = self.headers.copy()
        headers.set("Content-Length", str(len(self.body)))
        lines = [start_line, *(f"{name}: {value}" for name, value in headers.items())]
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + self.body


@dataclass
class SipRequest(_Message):
    method: str
    uri: str
    headers: Headers
    body: bytes = b""

    def encode(self) -> bytes:
        """The wire form: CRLF lines, Content-Length set to the body's length."""
        return self._encode(f"{self.method} {self.uri} SIP/2.0")


@dataclass
class SipResponse(_Message):
    status: int
    reason: str
    headers: Headers
    body: bytes = b""

    def encode(self) -> bytes:
        """The wire form: CRLF lines, Content-Length set to the body's length."""
        return self._encode(f"SIP/2.0 {self.status} {self.reason}")


def parse_message(data: bytes) -> SipRequest | SipResponse:
    """Read one SIP message (a UDP datagram, or one framed from a stream).

    Raises:
        SipParseError: the message is malformed; the error says how, on one line.
    """
    data = data.lstrip(b"\r\n")  # RFC 3261 7.5: CRLFs before the start line are ignored
    if not data:
        raise SipParseError("empty message")
    split = re.search(rb"\r?\n\r?\n", data)
    head, body = (data[: split.start()], data[split.end() :]) if split else (data, b"")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SipParseError("headers are not UTF-8") from exc
    start, *lines = re.split(r"\r?\n", text)
    headers = _parse_headers(lines)
    for name in _MANDATORY:
        if name not in headers:
            raise SipParseError(f"missing {name} header")
    _, cseq_method = parse_cseq(headers.get("CSeq") or "")
    body = _cut_body(body, headers.get("Content-Length"))
    if start.startswith("SIP/"):
        version, _, rest = start.partition(" ")
        _check_version(version)
        code, _, reason = rest.partition(" ")
        if not code.isdigit() or not 100 <= int(code) <= 699:
            raise SipParseError(f"bad status code {code!r}")
        return SipResponse(int(code), reason.strip(), headers, body)
    parts = start.split()
    if len(parts) != 3 or not _TOKEN.match(parts[0]) or ":" not in parts[1]:
        raise SipParseError(f"bad start line {start[:80]!r}")
    method, uri, version = parts
    _check_version(version)
    if cseq_method != method:
        raise SipParseError(f"CSeq method {cseq_method} does not match request method {method}")
    return SipRequest(method, uri, headers, body)


def _check_version(version: str) -> None:
    if version.upper() != "SIP/2.0":
        raise SipParseError(f"unsupported version {version[:20]!r}")


def _parse_headers(lines: list[str]) -> Headers:
    unfolded: list[str] = []
    for line in lines:
        if line[:1] in (" ", "\t") and unfolded:
            unfolded[-1] += " " + line.strip()  # a folded continuation of the line above
        elif line.strip():
            unfolded.append(line)
    headers = Headers()
    for line in unfolded:
        name, colon, value = line.partition(":")
        if not colon or not _TOKEN.match(name.strip()):
            raise SipParseError(f"bad header line {line[:60]!r}")
        headers.add(name, value)
    return headers


def _cut_body(body: bytes, length: str | None) -> bytes:
    if length is None:
        return body  # over UDP the datagram's end is the body's end
    if not length.strip().isdigit():
        raise SipParseError(f"bad Content-Length {length[:20]!r}")
    if len(body) < int(length):
        raise SipParseError(f"body is {len(body)} bytes, shorter than Content-Length {length}")
    return body[: int(length)]


def parse_cseq(text: str) -> tuple[int, str]:
    """``"314 INVITE"`` -> ``(314, "INVITE")``."""
    parts = text.split()
    if len(parts) != 2 or not parts[0].isdigit() or not _TOKEN.match(parts[1]):
        raise SipParseError(f"bad CSeq {text[:40]!r}")
    number = int(parts[0])
    if number >= 2**31:  # RFC 3261 8.1.1.5: less than 2**31
        raise SipParseError(f"CSeq number {number} too large")
    return number, parts[1]


def _parse_params(text: str) -> dict[str, str | None]:
    """``;a=1;lr`` -> ``{"a": "1", "lr": None}`` (names lowercased, values kept as sent)."""
    params: dict[str, str | None] = {}
    for part in re.split(r';(?=(?:[^"]*"[^"]*")*[^"]*$)', text):  # semicolons outside quotes
        if not part.strip():
            continue
        name, eq, value = part.partition("=")
        if not name.strip():
            raise SipParseError(f"bad parameter {part.strip()[:40]!r}")
        params[name.strip().lower()] = value.strip() if eq else None
    return params


def _format_params(params: dict[str, str | None]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params.items())


def _split_host_port(text: str, what: str) -> tuple[str, int | None]:
    """``host``, ``host:5060``, ``[::1]:5060`` -> (host without brackets, port)."""
    if text.startswith("["):
        host, bracket, rest = text[1:].partition("]")
        if not bracket or ":" not in host:
            raise SipParseError(f"bad IPv6 host in {what} {text[:60]!r}")
        port_text = rest[1:] if rest.startswith(":") else None
        if rest and port_text is None:
            raise SipParseError(f"bad host in {what} {text[:60]!r}")
    else:
        host, colon, port_text = text.partition(":")
        port_text = port_text if colon else None
        if not _HOST.match(host):
            raise SipParseError(f"bad host in {what} {text[:60]!r}")
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise SipParseError(f"bad port in {what} {text[:60]!r}")
    return host, int(port_text)


def _join_host_port(host: str, port: int | None) -> str:
    shown = f"[{host}]" if ":" in host else host
    return shown if port is None else f"{shown}:{port}"


@dataclass(frozen=True)
class SipUri:
    """``sip:user:password@host:port;params`` (a ``tel:`` URI keeps its number in `user`).

    `host` is kept without IPv6 brackets, ready for a socket; `__str__` adds them back.
    """

    scheme: str
    user: str | None
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)
    password: str | None = None

    @property
    def host_port(self) -> str:
        return _join_host_port(self.host, self.port)

    def __str__(self) -> str:
        if self.scheme == "tel":
            return f"tel:{self.user}{_format_params(self.params)}"
        userinfo = self.user or ""
        if self.password is not None:
            userinfo += f":{self.password}"
        at = f"{userinfo}@" if userinfo else ""
        return f"{self.scheme}:{at}{self.host_port}{_format_params(self.params)}"


def parse_uri(text: str) -> SipUri:
    """Read a ``sip:``, ``sips:`` or ``tel:`` URI (URI headers after ``?`` are dropped)."""
    scheme, colon, rest = text.strip().partition(":")
    scheme = scheme.lower()
    if not colon or scheme not in ("sip", "sips", "tel") or not rest:
        raise SipParseError(f"not a SIP URI: {text[:60]!r}")
    if scheme == "tel":
        number, _, params = rest.partition(";")
        if not re.fullmatch(r"[0-9A-Fa-f*#+().\-]+", number):
            raise SipParseError(f"bad tel URI {text[:60]!r}")
        return SipUri("tel", number, "", None, _parse_params(params))
    user: str | None = None
    password: str | None = None
    if "@" in rest:
        userinfo, _, rest = rest.partition("@")
        user, has_password, secret = userinfo.partition(":")
        password = secret if has_password else None
        if not user:
            raise SipParseError(f"empty user in URI {text[:60]!r}")
    rest = rest.partition("?")[0]
    hostport, _, params = rest.partition(";")
    host, port = _split_host_port(hostport, "URI")
    return SipUri(scheme, user, host, port, _parse_params(params), password)


@dataclass(frozen=True)
class NameAddr:
    """From, To, Contact, Route: ``"Name" <uri>;tag=...``, the URI kept as text."""

    uri: str
    display: str | None = None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def tag(self) -> str | None:
        return self.params.get("tag")

    def with_tag(self, tag: str) -> NameAddr:
        return replace(self, params={**self.params, "tag": tag})

    def __str__(self) -> str:
        # Always in angle brackets: a bare URI would swallow our parameters as its own.
        display = ""
        if self.display is not None:
            escaped = self.display.replace("\\", "\\\\").replace('"', '\\"')
            display = f'"{escaped}" '
        return f"{display}<{self.uri}>{_format_params(self.params)}"


def parse_name_addr(text: str) -> NameAddr:
    """Read ``"Name" <sip:x@y>;tag=1``, ``<sip:x@y>;tag=1`` or ``sip:x@y;tag=1``.

    In the bare form the parameters belong to the header, not the URI (RFC 3261 20.10).
    """
    text = text.strip()
    display: str | None = None
    if text.startswith('"'):
        match = re.match(r'"((?:[^"\\]|\\.)*)"\s*', text)
        if match is None:
            raise SipParseError(f"unterminated display name in {text[:60]!r}")
        display = re.sub(r"\\(.)", r"\1", match.group(1))
        text = text[match.end() :]
        if not text.startswith("<"):
            raise SipParseError(f"display name without <URI> in {text[:60]!r}")
    elif "<" in text:
        display = text[: text.index("<")].strip() or None
        text = text[text.index("<") :]
    if text.startswith("<"):
        uri, closed, params = text[1:].partition(">")
        if not closed:
            raise SipParseError(f"unclosed <URI> in {text[:60]!r}")
    else:
        uri, _, params = text.partition(";")
    uri = uri.strip()
    if ":" not in uri or not uri.partition(":")[0].isalpha():
        raise SipParseError(f"bad URI {uri[:60]!r}")
    return NameAddr(uri, display, _parse_params(params))


@dataclass(frozen=True)
class Via:
    """One hop of the route a response takes back: ``SIP/2.0/UDP host:port;branch=...``."""

    transport: str
    host: str
    port: int | None
    params: dict[str, str | None] = field(default_factory=dict)

    @property
    def branch(self) -> str | None:
        return self.params.get("branch")

    @property
    def received(self) -> str | None:
        return self.params.get("received")

    @property
    def rport(self) -> int | None:
        """The port a server filled in (RFC 3581); None when absent or only asked for."""
        value = self.params.get("rport")
        return int(value) if value and value.isdigit() else None

    @property
    def wants_rport(self) -> bool:
        """The sender asked for ``rport``: answer to the port the request came from."""
        return "rport" in self.params

    def with_received(self, host: str, port: int) -> Via:
        """This Via as a server records where the request really came from (RFC 3581)."""
        params = {**self.params, "received": host}
        if self.wants_rport:
            params["rport"] = str(port)
        return replace(self, params=params)

    def __str__(self) -> str:
        return f"SIP/2.0/{self.transport} {_join_host_port(self.host, self.port)}" + (
            _format_params(self.params)
        )


def parse_via(text: str) -> Via:
    """Read one Via value (`Headers.get_all("Via")` gives them one by one)."""
    match = re.match(r"\s*SIP\s*/\s*2\.0\s*/\s*([A-Za-z]+)\s+([^;\s]+)\s*(.*)$", text)
    if match is None:
        raise SipParseError(f"bad Via {text[:60]!r}")
    host, port = _split_host_port(match.group(2), "Via")
    return Via(match.group(1).upper(), host, port, _parse_params(match.group(3)))


def new_branch() -> str:
    """A Via branch: the RFC 3261 magic cookie, then enough randomness to be unique."""
    return "z9hG4bK" + secrets.token_hex(10)


def new_tag() -> str:
    return secrets.token_hex(6)


def new_call_id(host: str) -> str:
    return f"{secrets.token_hex(12)}@{host}"


REASONS: dict[int, str] = {
    100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued",
    183: "Session Progress", 200: "OK", 202: "Accepted", 300: "Multiple Choices",
    301: "Moved Permanently", 302: "Moved Temporarily", 305: "Use Proxy",
    380: "Alternative Service", 400: "Bad Request", 401: "Unauthorized",
    402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
    406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout",
    410: "Gone", 413: "Request Entity Too Large", 414: "Request-URI Too Long",
    415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension",
    421: "Extension Required", 422: "Session Interval Too Small", 423: "Interval Too Brief",
    480: "Temporarily Unavailable", 481: "Call/Transaction Does Not Exist",
    482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete", 485: "Ambiguous",
    486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here",
    489: "Bad Event", 491: "Request Pending", 493: "Undecipherable",
    500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported",
    513: "Message Too Large", 600: "Busy Everywhere", 603: "Decline",
    604: "Does Not Exist Anywhere", 606: "Not Acceptable",
}  # fmt: skip


def response_to(
    request: SipRequest, status: int, reason: str | None = None, *, to_tag: str | None = None
) -> SipResponse:
    """The response skeleton RFC 3261 8.2.6 asks for: the request's Via (all of them, in
    order), From, To (with `to_tag` added if it has none), Call-ID and CSeq.

    A dialog-creating response (18x/2xx to INVITE) also needs the request's Record-Route
    and our Contact; the caller adds those.
    """
    headers = Headers()
    for name, value in request.headers.items():
        if name in ("Via", "From", "Call-ID", "CSeq") or (name == "Timestamp" and status == 100):
            headers.add(name, value)
        elif name == "To":
            to = parse_name_addr(value)
            headers.add(name, str(to.with_tag(to_tag)) if to_tag and to.tag is None else value)
    headers.set("Content-Length", "0")
    return SipResponse(status, reason or REASONS.get(status, ""), headers)
