"""The SSRF guard: a webhook URL may only lead to the public internet.

A subscriber chooses the URL, and our workers POST to it from inside the network, so a URL
pointing at 127.0.0.1, a private range or a cloud metadata service would let a subscriber
reach what only we should. `check_url` refuses such URLs at registration and again at every
delivery (a name may resolve elsewhere by then: DNS rebinding); the sender then connects to
the exact addresses checked here, never to a fresh DNS answer.

Hosts are normalised as the C library would read them (``127.1``, ``2130706433``,
``0x7f000001``, ``0177.0.0.1`` are all 127.0.0.1), and every resolved address is checked,
so a name with one public and one private answer is refused.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

import idna

from centralita.kernel.addresses import (
    IPAddress,
    NotAnAddressError,
    literal_ip,
    parse_allow_hosts,
)

Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> every address the host resolves to (A and AAAA)."""

DEFAULT_PORTS = {"http": 80, "https": 443}

# Names that lead to a cloud's instance metadata (credentials!) or to this machine.
METADATA_HOSTS = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean...
        "169.254.170.2",  # AWS ECS task metadata
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS over IPv6
    )
)

_SHARED_V4 = ipaddress.IPv4Network("100.64.0.0/10")  # carrier-grade NAT (RFC 6598)
_UNIQUE_LOCAL_V6 = ipaddress.IPv6Network("fc00::/7")
_NAT64_V6 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL_V6 = ipaddress.IPv6Network("64:ff9b:1::/48")  # translates to anything inside
_IPV4_COMPATIBLE_V6 = ipaddress.IPv6Network("::/96")


class UnsafeUrl(ValueError):  # noqa: N818 - the name the delivery code imports
    """A URL we must not send webhooks to; the message says what was refused and why."""


class HostNotResolved(UnsafeUrl):
    """The host has no address now. Unlike other refusals this may pass later: a delivery
    treats it as a failed attempt to retry, registration as a refusal."""


@dataclass(frozen=True)
class Target:
    """A checked URL and the addresses a request to it must connect to."""

    url: str
    scheme: str
    host: str  # lower-case, ASCII (IDNA), no brackets, no trailing dot
    port: int
    addresses: tuple[str, ...]  # every address checked, in the resolver's order


async def default_resolver(host: str, port: int) -> list[str]:
    """All A and AAAA answers for `host`, through the event loop's getaddrinfo."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    return [str(info[4][0]) for info in infos]


async def check_url(
    url: str, *, allow_hosts: Collection[str] = (), resolver: Resolver | None = None
) -> Target:
    """Check that `url` leads only to public addresses, and resolve it.

    Args:
        url: the subscriber's URL.
        allow_hosts: exact host names, IPs or CIDRs allowed although internal (the
            local-development escape hatch, e.g. ``127.0.0.1``, ``localhost``,
            ``10.0.0.0/8``). An allowed name accepts whatever it resolves to.
        resolver: replaces DNS (tests).

    Raises:
        UnsafeUrl: with what was refused and why; `HostNotResolved` when DNS gives nothing.
        ValueError: an `allow_hosts` entry is malformed.
    """
    names, networks = parse_allow_hosts(allow_hosts)
    parts = _split(url)
    scheme = parts.scheme.lower()
    host = _host(parts)
    port = _port(parts, scheme)
    try:
        literal = literal_ip(host)
    except NotAnAddressError as exc:
        raise UnsafeUrl(f"refused {host!r}: {exc}") from None
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        if host not in names:
            _refuse_internal_name(host)
        addresses = await _resolve_ips(host, port, resolver)
        if host in names:
            return Target(url, scheme, host, port, tuple(str(a) for a in addresses))
    for address in addresses:
        if any(address in network for network in networks):
            continue
        reason = internal_reason(address)
        if reason is not None:
            shown = f"[{host}]" if ":" in host else host
            if literal is None:
                shown = f"{host} (resolves to {address})"
            raise UnsafeUrl(f"refused {shown}: {reason} address")
    return Target(url, scheme, host, port, tuple(str(a) for a in addresses))


def internal_reason(address: IPAddress) -> str | None:
    """Why `address` is not a public internet address, or None when it is."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    if isinstance(address, ipaddress.IPv6Address):
        return _v6_reason(address)
    return _v4_reason(address)


def _v4_reason(address: ipaddress.IPv4Address) -> str | None:
    checks = (
        (address.is_unspecified, "unspecified"),
        (address.is_loopback, "loopback"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address in _SHARED_V4, "shared (carrier-grade NAT)"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "non-global"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _v6_reason(address: ipaddress.IPv6Address) -> str | None:
    embedded = _embedded_v4(address)
    if embedded is not None:
        form, v4 = embedded
        inner = internal_reason(v4)
        return None if inner is None else f"{form} of a {inner}"
    bare = ipaddress.IPv6Address(address.packed)  # without a %scope
    checks = (
        (bare.is_unspecified, "unspecified"),
        (bare.is_loopback, "loopback"),
        (bare.is_link_local, "link-local"),
        (bare.is_site_local, "site-local"),
        (bare.is_multicast, "multicast"),
        (bare in _UNIQUE_LOCAL_V6, "unique-local"),
        (bare in _NAT64_LOCAL_V6, "local-use NAT64"),
        (bare.is_private, "private"),
        (bare.is_reserved, "reserved"),
        (not bare.is_global, "non-global"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _embedded_v4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address inside a v4-mapped, 6to4, NAT64 or v4-compatible IPv6 address."""
    if address.ipv4_mapped is not None:
        return "IPv4-mapped form", address.ipv4_mapped
    if address.sixtofour is not None:
        return "6to4 form", address.sixtofour
    low32 = ipaddress.IPv4Address(address.packed[-4:])
    if address in _NAT64_V6:
        return "NAT64 form", low32
    if address in _IPV4_COMPATIBLE_V6 and int(address) > 1:
        return "IPv4-compatible form", low32
    return None


def _split(url: str) -> SplitResult:
    if not isinstance(url, str) or not url:
        raise UnsafeUrl("refused: the URL is empty")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise UnsafeUrl("refused: the URL contains whitespace or control characters")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeUrl(f"refused: malformed URL ({exc})") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise UnsafeUrl(f"refused scheme {scheme or '(none)'!r}: only http and https are allowed")
    if "@" in parts.netloc:
        raise UnsafeUrl("refused: credentials in the URL (user:pass@host) are not allowed")
    return parts


def _host(parts: SplitResult) -> str:
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UnsafeUrl("refused: the URL has no host")
    if ":" in host or host.isascii():
        return host.lower()
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise UnsafeUrl(f"refused {host!r}: not a valid internationalised name ({exc})") from None


def _port(parts: SplitResult, scheme: str) -> int:
    try:
        port = parts.port
    except ValueError:
        raise UnsafeUrl("refused: the URL's port is not a number from 0 to 65535") from None
    if port == 0:
        raise UnsafeUrl("refused: port 0")
    return DEFAULT_PORTS[scheme] if port is None else port


def _refuse_internal_name(host: str) -> None:
    if host in METADATA_HOSTS:
        raise UnsafeUrl(f"refused {host}: cloud metadata host name")
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeUrl(f"refused {host}: loopback host name")


async def _resolve(host: str, port: int, resolver: Resolver | None) -> list[str]:
    try:
        answers = await (resolver or default_resolver)(host, port)
    except OSError as exc:
        raise HostNotResolved(f"refused {host}: does not resolve ({exc})") from None
    unique = list(dict.fromkeys(answers))
    if not unique:
        raise HostNotResolved(f"refused {host}: does not resolve (no addresses)")
    return unique


async def _resolve_ips(host: str, port: int, resolver: Resolver | None) -> list[IPAddress]:
    addresses: list[IPAddress] = []
    for answer in await _resolve(host, port, resolver):
        try:
            addresses.append(ipaddress.ip_address(answer))
        except ValueError:
            raise UnsafeUrl(f"refused {host}: resolver answered {answer!r}, not an IP") from None
    return addresses
