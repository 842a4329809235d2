"""The SSRF guard: internal targets refused however they are written, public ones pass.

DNS is replaced by an injected resolver, so no test needs the network.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralita.kernel.addresses import literal_ip
from centralita.webhooks.ssrf import (
    HostNotResolved,
    Resolver,
    Target,
    UnsafeUrl,
    check_url,
    internal_reason,
)

pytestmark = pytest.mark.unit

PUBLIC_V4 = "93.184.216.34"
PUBLIC_V6 = "2606:2800:220:1:248:1893:25c8:1946"


class FakeDns:
    """Answers from a table; records every question, so tests see what was resolved."""

    def __init__(self, table: Mapping[str, list[str]]) -> None:
        self.table = table
        self.asked: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


DNS = FakeDns(
    {
        "hooks.example.com": [PUBLIC_V4, PUBLIC_V6],
        "inside.example.com": ["10.1.2.3"],
        "rebind.example.com": [PUBLIC_V4, "192.168.1.10"],
        "v6-loop.example.com": ["::1"],
        "mapped.example.com": ["::ffff:169.254.169.254"],
        "garbage.example.com": ["not-an-ip"],
        "empty.example.com": [],
        "localhost": ["127.0.0.1", "::1"],
        "receiver.test": ["127.0.0.1"],
    }
)


async def refused(url: str, resolver: Resolver = DNS, **kwargs: object) -> str:
    with pytest.raises(UnsafeUrl) as caught:
        await check_url(url, resolver=resolver, **kwargs)  # type: ignore[arg-type]
    return str(caught.value)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        # private IPv4 ranges
        ("http://10.0.0.1/", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://172.31.255.255/", "private"),
        ("https://192.168.0.1/hook", "private"),
        ("http://100.64.0.1/", "shared (carrier-grade NAT)"),
        ("http://100.127.255.254/", "shared"),
        ("http://198.18.0.1/", "private"),  # benchmarking
        ("http://192.0.2.1/", "private"),  # documentation
        ("http://240.0.0.1/", "private"),  # reserved for future use
        ("http://255.255.255.255/", "private"),
        # loopback, unspecified, link-local, multicast
        ("http://127.0.0.1:8080/", "loopback"),
        ("http://127.255.0.9/", "loopback"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://0.1.2.3/", "private"),  # "this network"
        ("http://169.254.1.1/", "link-local"),
        ("http://224.0.0.1/", "multicast"),
        ("http://239.255.255.250/", "multicast"),
        # cloud metadata, by address and by name
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://169.254.170.2/v2/credentials", "cloud metadata"),
        ("http://100.100.100.200/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://metadata.google.internal/computeMetadata/v1/", "cloud metadata host name"),
        ("http://metadata/", "cloud metadata host name"),
        ("http://METADATA.google.internal./", "cloud metadata host name"),
        # IPv6
        ("http://[::1]/", "loopback"),
        ("http://[::]/", "unspecified"),
        ("http://[0:0:0:0:0:0:0:1]:9000/", "loopback"),
        ("http://[fe80::1]/", "link-local"),
        ("http://[fe80::1%25eth0]/", "link-local"),
        ("http://[fc00::1]/", "unique-local"),
        ("http://[fdff:ffff::1]/", "unique-local"),
        ("http://[fec0::1]/", "site-local"),
        ("http://[ff02::1]/", "multicast"),
        ("http://[ff0e::1]/", "multicast"),
        ("http://[2001:db8::1]/", "private"),  # documentation
        # IPv4 hidden in IPv6
        ("http://[::ffff:127.0.0.1]/", "IPv4-mapped form of a loopback"),
        ("http://[::ffff:7f00:1]/", "IPv4-mapped form of a loopback"),
        ("http://[::ffff:10.0.0.1]/", "IPv4-mapped form of a private"),
        ("http://[::ffff:169.254.169.254]/", "IPv4-mapped form of a cloud metadata"),
        ("http://[2002:7f00:1::]/", "6to4 form of a loopback"),
        ("http://[2002:a9fe:a9fe::1]/", "6to4 form of a cloud metadata"),
        ("http://[64:ff9b::7f00:1]/", "NAT64 form of a loopback"),
        ("http://[64:ff9b::10.0.0.1]/", "NAT64 form of a private"),
        ("http://[64:ff9b:1::808:808]/", "local-use NAT64"),
        ("http://[::127.0.0.1]/", "IPv4-compatible form of a loopback"),
        # IPv4 written the way inet_aton reads it
        ("http://2130706433/", "loopback"),  # decimal
        ("http://0x7f000001/", "loopback"),  # hex
        ("http://0X7F000001/", "loopback"),
        ("http://0177.0.0.1/", "loopback"),  # octal
        ("http://0x7f.0.0.1/", "loopback"),  # hex part
        ("http://127.1/", "loopback"),  # short
        ("http://127.0.1/", "loopback"),
        ("http://0/", "unspecified"),
        ("http://3232235521/", "private"),  # 192.168.0.1
        ("http://0xa9fea9fe/", "cloud metadata"),  # 169.254.169.254
        ("http://0251.0376.0251.0376/", "cloud metadata"),
        ("http://127.0.0.1./", "loopback"),  # trailing dot
        # names that are the machine itself
        ("http://localhost/", "loopback host name"),
        ("http://LocalHost:8000/", "loopback host name"),
        ("http://api.localhost/", "loopback host name"),
    ],
)
async def test_internal_targets_are_refused(url: str, why: str) -> None:
    message = await refused(url)
    assert why in message
    assert "refused" in message


async def test_literal_addresses_and_refused_names_never_reach_dns() -> None:
    dns = FakeDns({})
    for url in ("http://10.0.0.1/", "http://2130706433/", "http://metadata/", "http://[::1]/"):
        await refused(url, dns)
    assert dns.asked == []


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://inside.example.com/", "inside.example.com (resolves to 10.1.2.3): private"),
        ("http://rebind.example.com/", "resolves to 192.168.1.10): private"),
        ("http://v6-loop.example.com/", "resolves to ::1): loopback"),
        ("http://mapped.example.com/", "IPv4-mapped form of a cloud metadata"),
        ("http://garbage.example.com/", "'not-an-ip', not an IP"),
    ],
)
async def test_names_are_judged_by_every_address_they_resolve_to(url: str, why: str) -> None:
    assert why in await refused(url)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://hooks.example.com:70/_GET", "scheme 'gopher'"),
        ("ftp://hooks.example.com/", "scheme 'ftp'"),
        ("hooks.example.com/path", "scheme '(none)'"),
        ("//hooks.example.com/path", "scheme '(none)'"),
        ("http://user:pass@hooks.example.com/", "credentials"),
        ("http://user@hooks.example.com/", "credentials"),
        ("http://hooks.example.com\\@127.0.0.1/", "credentials"),
        ("http:///path", "no host"),
        ("http://:8080/", "no host"),
        ("http://hooks.example.com:99999/", "port"),
        ("http://hooks.example.com:0/", "port 0"),
        ("http://hooks.example.com:http/", "port"),
        ("http://hooks.example.com /x", "whitespace"),
        ("http://hooks.example.com/\r\nX-Injected: 1", "control characters"),
        ("http://[::1/", "malformed URL"),
        ("http://[fe80::zz]/", "malformed"),
        ("http://1.2.3.999/", "looks like an IPv4 address"),
        ("http://1.2.3.4.5/", "looks like an IPv4 address"),
        ("http://example.0x10/", "looks like an IPv4 address"),
        ("", "empty"),
    ],
)
async def test_malformed_or_foreign_urls_are_refused(url: str, why: str) -> None:
    assert why in await refused(url)


@pytest.mark.parametrize(
    ("url", "dns", "expected"),
    [
        (
            "https://8.8.8.8/",
            FakeDns({}),
            Target("https://8.8.8.8/", "https", "8.8.8.8", 443, ("8.8.8.8",)),
        ),
        (
            "http://134744072/",
            FakeDns({}),
            Target("http://134744072/", "http", "134744072", 80, ("8.8.8.8",)),
        ),
        (
            f"http://[{PUBLIC_V6}]:8443/x",
            FakeDns({}),
            Target(f"http://[{PUBLIC_V6}]:8443/x", "http", PUBLIC_V6, 8443, (PUBLIC_V6,)),
        ),
        (
            "HTTPS://Hooks.Example.COM./crm?x=1",
            DNS,
            Target(
                "HTTPS://Hooks.Example.COM./crm?x=1",
                "https",
                "hooks.example.com",
                443,
                (PUBLIC_V4, PUBLIC_V6),
            ),
        ),
        (
            "https://bücher.example:9443/",
            FakeDns({"xn--bcher-kva.example": [PUBLIC_V4, PUBLIC_V4]}),
            Target(
                "https://bücher.example:9443/", "https", "xn--bcher-kva.example", 9443, (PUBLIC_V4,)
            ),
        ),
        (
            "http://[::ffff:8.8.8.8]/",
            FakeDns({}),
            Target("http://[::ffff:8.8.8.8]/", "http", "::ffff:8.8.8.8", 80, ("::ffff:808:808",)),
        ),
    ],
)
async def test_public_targets_pass_with_their_checked_addresses(
    url: str, dns: FakeDns, expected: Target
) -> None:
    assert await check_url(url, resolver=dns) == expected


async def test_the_resolver_is_asked_for_the_url_port() -> None:
    dns = FakeDns({"hooks.example.com": [PUBLIC_V4]})
    await check_url("https://hooks.example.com:8443/", resolver=dns)
    await check_url("http://hooks.example.com/", resolver=dns)
    assert dns.asked == [("hooks.example.com", 8443), ("hooks.example.com", 80)]


async def test_a_name_that_does_not_resolve_is_a_retryable_refusal() -> None:
    for url in ("http://nowhere.example.com/", "http://empty.example.com/"):
        with pytest.raises(HostNotResolved, match="does not resolve"):
            await check_url(url, resolver=DNS)
    assert issubclass(HostNotResolved, UnsafeUrl)


async def test_the_allow_list_lets_named_loopback_targets_through() -> None:
    ip = await check_url("http://127.0.0.1:8000/hook", allow_hosts=["127.0.0.1"], resolver=DNS)
    assert ip.addresses == ("127.0.0.1",)
    short = await check_url("http://127.1:8000/", allow_hosts=["127.0.0.1"], resolver=DNS)
    assert short.addresses == ("127.0.0.1",)
    name = await check_url("http://localhost:8000/", allow_hosts=["LOCALHOST"], resolver=DNS)
    assert name.addresses == ("127.0.0.1", "::1")
    made_up = await check_url("http://receiver.test/", allow_hosts=["receiver.test"], resolver=DNS)
    assert made_up.addresses == ("127.0.0.1",)
    v6 = await check_url("http://[::1]:8000/", allow_hosts=["[::1]"], resolver=DNS)
    assert v6.addresses == ("::1",)


async def test_the_allow_list_is_exact() -> None:
    allow = ["127.0.0.1", "localhost", "10.0.0.0/8"]
    assert (await check_url("http://10.200.0.7/", allow_hosts=allow, resolver=DNS)).port == 80
    assert "private" in await refused("http://192.168.0.1/", allow_hosts=allow)
    assert "loopback" in await refused("http://127.0.0.2/", allow_hosts=allow)
    assert "loopback" in await refused("http://[::1]/", allow_hosts=allow)
    assert "loopback host name" in await refused("http://api.localhost/", allow_hosts=allow)
    assert "metadata" in await refused("http://169.254.169.254/", allow_hosts=allow)
    # a name's answer inside an allowed network passes; outside it does not
    dns = FakeDns({"crm.internal": ["10.9.9.9"], "db.internal": ["172.16.0.9"]})
    assert (await check_url("http://crm.internal/", allow_hosts=allow, resolver=dns)).addresses
    assert "private" in await refused("http://db.internal/", dns, allow_hosts=allow)


async def test_the_allow_list_does_not_excuse_a_bad_scheme_or_credentials() -> None:
    allow = ["127.0.0.1"]
    assert "scheme" in await refused("ftp://127.0.0.1/", allow_hosts=allow)
    assert "credentials" in await refused("http://a:b@127.0.0.1/", allow_hosts=allow)


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "::1::2", "300.1.1.1/8"])
async def test_a_malformed_allow_list_entry_is_a_clear_error(entry: str) -> None:
    with pytest.raises(ValueError, match="allow-list entry"):
        await check_url("http://8.8.8.8/", allow_hosts=[entry])


async def test_the_default_resolver_uses_the_system_resolver() -> None:
    target = await check_url("http://localhost:8000/", allow_hosts=["localhost"])
    assert "127.0.0.1" in target.addresses or "::1" in target.addresses
    with pytest.raises(UnsafeUrl, match="loopback host name"):
        await check_url("http://localhost:8000/")


# -- normalisation, as a property --------------------------------------------------------

INTERNAL_V4 = [
    ipaddress.IPv4Network(n)
    for n in (
        *("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8"),
        *("169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/8"),
    )
]


def encodings(address: ipaddress.IPv4Address) -> list[str]:
    """The ways inet_aton (and so a URL's host) may spell one IPv4 address."""
    value = int(address)
    a, b, c, d = address.packed
    return [
        str(value),
        hex(value),
        ".".join(f"0{part:o}" for part in address.packed),
        ".".join(hex(part) for part in address.packed),
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{a}.{b}.{(c << 8) | d}",
    ]


@given(st.integers(0, 2**32 - 1))
def test_every_spelling_of_an_ipv4_address_reads_as_that_address(value: int) -> None:
    address = ipaddress.IPv4Address(value)
    for spelling in encodings(address):
        assert literal_ip(spelling) == address, spelling


@given(st.sampled_from(INTERNAL_V4).flatmap(lambda n: st.integers(int(n[0]), int(n[-1]))))
def test_every_address_of_the_internal_ranges_is_internal(value: int) -> None:
    address = ipaddress.IPv4Address(value)
    assert internal_reason(address) is not None
    assert internal_reason(ipaddress.IPv6Address(f"::ffff:{address}")) is not None
    assert internal_reason(ipaddress.IPv6Address(f"64:ff9b::{address}")) is not None


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", PUBLIC_V4, PUBLIC_V6, "2a00:1450::1"])
def test_public_addresses_are_not_internal(address: str) -> None:
    assert internal_reason(ipaddress.ip_address(address)) is None


def test_names_are_not_literal_addresses() -> None:
    for name in ("example.com", "1e100.net", "0x.example.com", "a.b.c.d"):
        assert literal_ip(name) is None
