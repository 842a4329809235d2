"""One webhook attempt against real HTTP(S) receivers on 127.0.0.1.

The receivers verify our signatures with the `standardwebhooks` library, as a CRM would.
Made-up names reach them through an injected resolver plus the allow-list, which is how
the pinning is proven: the request arrives at the checked address, carrying the name.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import socket
import ssl
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fastapi import Request, Response
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from centralita.webhooks.sender import EXCERPT_CHARS, send
from centralita.webhooks.signing import new_secret, signed_headers
from centralita.webhooks.ssrf import Resolver, check_url
from tests.support.fakes.loopback import LoopbackServer

pytestmark = pytest.mark.integration

SECRET = new_secret()
BODY = json.dumps({"type": "call_ended", "timestamp": "2025-03-03T09:00:00Z", "data": {}}).encode()
LOCAL = ["127.0.0.1"]


@dataclass(frozen=True)
class Seen:
    path: str
    host: str
    headers: dict[str, str]
    body: bytes


class Receiver(LoopbackServer):
    """A CRM's endpoint: each path answers one way; every request is recorded."""

    def __init__(self, redirect_to: str = "") -> None:
        super().__init__()
        self.seen: list[Seen] = []
        self.redirect_to = redirect_to
        self.app.add_api_route("/{path:path}", self._answer, methods=["POST", "GET"])

    async def _answer(self, path: str, request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        self.seen.append(Seen(path, headers.get("host", ""), headers, body))
        if path == "ok":
            try:
                Webhook(SECRET).verify(body, headers)
            except WebhookVerificationError as exc:
                return Response(f"bad signature: {exc}", status_code=401)
            return Response("thanks", status_code=200)
        if path == "slow":
            await asyncio.sleep(1.5)
            return Response("late", status_code=200)
        if path == "lagging":
            await asyncio.sleep(0.2)
            return Response(status_code=204)
        if path == "big":
            return Response("é" * 100_000, media_type="text/plain; charset=utf-8")
        if path == "moved":
            return Response(status_code=307, headers={"location": f"{self.redirect_to}/landing"})
        return _CANNED[path]()


def _http_date_in(seconds: int) -> str:
    return format_datetime(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds), usegmt=True)


_CANNED = {
    "gone": lambda: Response("endpoint deleted", status_code=410),
    "busy": lambda: Response("slow down", status_code=429, headers={"retry-after": "7"}),
    "down": lambda: Response(status_code=503, headers={"retry-after": _http_date_in(120)}),
    "crash": lambda: Response("Internal Server Error", status_code=500),
    "bad": lambda: Response("unknown event type", status_code=400),
    "found": lambda: Response(status_code=302),
}


@pytest.fixture
async def landing() -> AsyncIterator[Receiver]:
    async with Receiver() as server:
        yield server


@pytest.fixture
async def receiver(landing: Receiver) -> AsyncIterator[Receiver]:
    async with Receiver(redirect_to=landing.origin) as server:
        yield server


def headers() -> dict[str, str]:
    return signed_headers([SECRET], "evt_sender_1", BODY)


def resolver_to(*addresses: str) -> Resolver:
    """DNS that answers every name with `addresses`."""

    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


async def test_a_2xx_is_delivered_and_the_receiver_verifies_the_signature(
    receiver: Receiver,
) -> None:
    outcome = await send(f"{receiver.origin}/ok", headers(), BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code, outcome.error) == ("delivered", 200, None)
    assert outcome.response_excerpt == "thanks"
    assert outcome.latency_ms > 0
    [seen] = receiver.seen
    assert seen.body == BODY
    assert seen.headers["webhook-id"] == "evt_sender_1"
    assert seen.headers["content-type"] == "application/json"


async def test_a_bad_signature_is_what_the_receiver_would_refuse(receiver: Receiver) -> None:
    forged = signed_headers([new_secret()], "evt_sender_1", BODY)
    outcome = await send(f"{receiver.origin}/ok", forged, BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code) == ("retry", 401)
    assert outcome.response_excerpt is not None
    assert outcome.response_excerpt.startswith("bad signature")


async def test_410_means_gone(receiver: Receiver) -> None:
    outcome = await send(f"{receiver.origin}/gone", headers(), BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code) == ("gone", 410)
    assert outcome.response_excerpt == "endpoint deleted"


async def test_429_retries_after_what_the_receiver_asked(receiver: Receiver) -> None:
    outcome = await send(f"{receiver.origin}/busy", headers(), BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code) == ("retry", 429)
    assert outcome.retry_after == dt.timedelta(seconds=7)
    assert outcome.error == "HTTP 429"


async def test_503_with_an_http_date_retry_after(receiver: Receiver) -> None:
    outcome = await send(f"{receiver.origin}/down", headers(), BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code) == ("retry", 503)
    assert outcome.retry_after is not None
    assert dt.timedelta(seconds=115) <= outcome.retry_after <= dt.timedelta(seconds=120)


@pytest.mark.parametrize(("path", "status"), [("crash", 500), ("bad", 400)])
async def test_other_failures_retry_on_the_schedule(
    receiver: Receiver, path: str, status: int
) -> None:
    outcome = await send(f"{receiver.origin}/{path}", headers(), BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code, outcome.retry_after) == ("retry", status, None)
    assert outcome.error == f"HTTP {status}"


async def test_a_redirect_is_not_followed(receiver: Receiver, landing: Receiver) -> None:
    url = f"{receiver.origin}/moved"
    outcome = await send(url, headers(), BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code) == ("retry", 307)
    assert outcome.error == f"HTTP 307: redirect to {landing.origin}/landing not followed"
    # not even by a shared client that follows redirects for everyone else
    async with httpx.AsyncClient(follow_redirects=True, trust_env=False) as client:
        again = await send(url, headers(), BODY, allow_hosts=LOCAL, client=client)
    assert again.verdict == "retry"
    assert len(receiver.seen) == 2
    assert landing.seen == []
    found = await send(f"{receiver.origin}/found", headers(), BODY, allow_hosts=LOCAL)
    assert found.error == "HTTP 302: redirect (no Location) not followed"


async def test_the_latency_is_measured(receiver: Receiver) -> None:
    outcome = await send(f"{receiver.origin}/lagging", headers(), BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code) == ("delivered", 204)
    assert outcome.latency_ms >= 200  # the receiver lags 200 ms before answering


async def test_a_slow_receiver_times_out(receiver: Receiver) -> None:
    outcome = await send(
        f"{receiver.origin}/slow", headers(), BODY, allow_hosts=LOCAL, timeout_s=0.3
    )
    assert (outcome.verdict, outcome.status_code) == ("retry", None)
    assert outcome.error == "timed out after 0.3 s"
    # At least the timeout; that it did not wait for the answer (1.5 s) the verdict says.
    assert outcome.latency_ms >= 300


async def test_a_huge_answer_is_cut_to_an_excerpt(receiver: Receiver) -> None:
    outcome = await send(f"{receiver.origin}/big", headers(), BODY, allow_hosts=LOCAL)
    assert outcome.verdict == "delivered"
    assert outcome.response_excerpt == "é" * EXCERPT_CHARS


async def test_a_closed_port_is_a_connection_error_to_retry() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = await send(f"http://127.0.0.1:{port}/ok", headers(), BODY, allow_hosts=LOCAL)
    assert (outcome.verdict, outcome.status_code) == ("retry", None)
    assert outcome.error is not None
    assert outcome.error.startswith("ConnectError")


async def test_the_checked_address_is_used_with_the_original_host(receiver: Receiver) -> None:
    url = f"http://crm.receiver.test:{receiver.port}/ok"
    outcome = await send(
        url,
        headers(),
        BODY,
        allow_hosts=["crm.receiver.test"],
        resolver=resolver_to("127.0.0.1"),
    )
    assert outcome.verdict == "delivered"
    [seen] = receiver.seen
    assert seen.host == f"crm.receiver.test:{receiver.port}"


async def test_the_next_checked_address_is_tried_when_one_refuses(receiver: Receiver) -> None:
    outcome = await send(
        f"http://multi.receiver.test:{receiver.port}/ok",
        headers(),
        BODY,
        allow_hosts=["127.0.0.0/8"],
        resolver=resolver_to("127.0.0.2", "127.0.0.1"),  # nothing listens on .2
    )
    assert outcome.verdict == "delivered"
    assert len(receiver.seen) == 1


async def test_dns_rebinding_is_refused_at_delivery(receiver: Receiver) -> None:
    url = f"http://crm.receiver.test:{receiver.port}/ok"
    await check_url(url, resolver=resolver_to("93.184.216.34"))  # fine at registration
    outcome = await send(url, headers(), BODY, resolver=resolver_to("93.184.216.34", "127.0.0.1"))
    assert (outcome.verdict, outcome.status_code) == ("refused", None)
    assert outcome.error == "refused crm.receiver.test (resolves to 127.0.0.1): loopback address"
    literal = await send(f"{receiver.origin}/ok", headers(), BODY)
    assert literal.verdict == "refused"
    assert receiver.seen == []


async def test_a_name_that_no_longer_resolves_is_retried_not_refused() -> None:
    async def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    outcome = await send("https://gone.example.com/hook", headers(), BODY, resolver=nxdomain)
    assert (outcome.verdict, outcome.status_code) == ("retry", None)
    assert outcome.error is not None
    assert "does not resolve" in outcome.error


# -- https: the pinned address, the name's certificate -----------------------------------


class TlsReceiver:
    """A minimal HTTPS endpoint on 127.0.0.1 that records the TLS server name asked for."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.context = context
        self.server_names: list[str | None] = []
        self.requests: list[bytes] = []
        context.sni_callback = self._record_name

    def _record_name(self, _sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        self.server_names.append(name)

    async def __aenter__(self) -> TlsReceiver:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.context)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        self.requests.append(head + await reader.readexactly(length))
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()


def _tls_files(folder: Path, name: str) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A CA and a certificate for `name` only (no IP): a server and a trusting client."""
    now = dt.datetime.now(dt.UTC)

    def cert(
        subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name | None, ca: bool
    ) -> x509.Certificate:
        subject_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject_name)
            .issuer_name(issuer or subject_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            san = x509.SubjectAlternativeName([x509.DNSName(subject)])
            builder = builder.add_extension(san, critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    ca_key, leaf_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca_cert = cert("Centralita test CA", ca_key, None, ca=True)
    leaf = cert(name, leaf_key, ca_cert.subject, ca=False)
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca_cert.public_bytes(pem))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(pem))
    (folder / "leaf.key").write_bytes(
        leaf_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(folder / "leaf.pem", folder / "leaf.key")
    client = ssl.create_default_context(cafile=str(folder / "ca.pem"))
    return server, client


@pytest.mark.parametrize(
    ("cert_name", "verdict"), [("crm.receiver.test", "delivered"), ("other.test", "retry")]
)
async def test_https_is_pinned_and_verified_against_the_name(cert_name: str, verdict: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        server_ctx, client_ctx = _tls_files(Path(folder), cert_name)
    async with (
        TlsReceiver(server_ctx) as tls,
        httpx.AsyncClient(verify=client_ctx, trust_env=False) as client,
    ):
        outcome = await send(
            f"https://crm.receiver.test:{tls.port}/hook",
            headers(),
            BODY,
            allow_hosts=["crm.receiver.test"],
            resolver=resolver_to("127.0.0.1"),
            client=client,
        )
    assert outcome.verdict == verdict
    # the TLS handshake asked for the name, not for 127.0.0.1
    assert tls.server_names == ["crm.receiver.test"]
    if verdict == "delivered":
        [request] = tls.requests
        assert f"host: crm.receiver.test:{tls.port}".encode() in request.lower()
        assert request.endswith(BODY)
    else:
        assert outcome.error is not None
        assert "CERTIFICATE_VERIFY_FAILED" in outcome.error
        assert tls.requests == []
