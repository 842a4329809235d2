"""How a host is read: an IP literal (every spelling the C library accepts), or a name;
and allow-lists of hosts, IPs and CIDRs.

In the kernel because settings check allow-lists when they are read, and the webhooks'
SSRF guard (`centralita.webhooks.ssrf`) reads hosts the same way.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The shapes inet_aton accepts: one to four parts, each decimal, octal (leading 0) or hex.
_NUMERIC_V4 = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}\.?$")
_LAST_LABEL_NUMERIC = re.compile(r"(^|\.)(0x[0-9a-f]*|[0-9]+)\.?$")


class NotAnAddressError(ValueError):
    """A host that looks like an IP literal but is not a valid one."""


def literal_ip(host: str) -> IPAddress | None:
    """The address a host names literally, read as inet_aton would; None for a name.

    Raises:
        NotAnAddressError: the host looks numeric (its last label is a number, as
            WHATWG URL parsing has it) but is no valid address, e.g. ``1.2.3.999``.
    """
    if ":" in host:
        try:
            return ipaddress.IPv6Address(host.replace("%25", "%"))
        except ValueError:
            raise NotAnAddressError("malformed IPv6 address") from None
    if _NUMERIC_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
        except OSError:
            pass
    if _LAST_LABEL_NUMERIC.search(host):
        raise NotAnAddressError("looks like an IPv4 address but is not a valid one")
    return None


def parse_allow_hosts(entries: Iterable[str]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """Split allow-list entries into host names and networks (an IP is a /32 or /128)."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for raw in entries:
        entry = raw.strip().lower().strip("[]").rstrip(".")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            if "/" in entry or ":" in entry:
                raise ValueError(f"allow-list entry {raw!r} is not a valid IP or CIDR") from None
        numeric = literal_ip(entry)
        if numeric is not None:
            networks.append(ipaddress.ip_network(numeric))
        else:
            names.add(entry)
    return frozenset(names), tuple(networks)
