"""Our SIP user agent against itself over loopback UDP: calls set up, refused, canceled,
authenticated, ended from either side, and bad datagrams that change nothing."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from realtime.sip.digest import NonceKeeper, parse_authorization, verify
from realtime.sip.sdp import build_sdp
from realtime.sip.user_agent import IncomingInvite, SipUserAgent

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]

OFFER = build_sdp("127.0.0.1", 40000).encode()
ANSWER = build_sdp("127.0.0.1", 40002).encode()


@pytest_asyncio.fixture
async def pair() -> AsyncIterator[tuple[SipUserAgent, SipUserAgent]]:
    caller = await SipUserAgent.start("127.0.0.1", 0)
    callee = await SipUserAgent.start("127.0.0.1", 0)
    try:
        yield caller, callee
    finally:
        caller.close()
        callee.close()


def invite(caller: SipUserAgent, callee: SipUserAgent, user: str = "bob", **kw: object):  # type: ignore[no-untyped-def]
    host, port = callee.address
    return caller.invite(
        request_uri=f"sip:{user}@{host}:{port}",
        to=f"<sip:{user}@{host}:{port}>",
        from_="<sip:+56229990000@127.0.0.1>",
        proxy=(host, port),
        sdp=OFFER,
        **kw,  # type: ignore[arg-type]
    )


async def test_a_call_is_answered_and_either_side_hangs_up(
    pair: tuple[SipUserAgent, SipUserAgent],
) -> None:
    caller, callee = pair
    taken: list[IncomingInvite] = []

    def answer(incoming: IncomingInvite) -> None:
        taken.append(incoming)
        incoming.reply(180, "Ringing")
        incoming.answer(ANSWER)

    callee.on_invite = answer
    progress: list[int] = []
    outgoing = invite(caller, callee, on_progress=lambda r: progress.append(r.status))
    outcome = await asyncio.wait_for(outgoing.result, 5)
    assert outcome.status == 200
    assert outcome.call is not None
    assert progress == [180]
    assert outcome.call.remote_sdp == ANSWER
    assert taken[0].request.body == OFFER
    # The callee hangs up: our side learns it from the BYE.
    far = next(iter(callee._calls.values()))
    await callee.bye(far)
    assert await asyncio.wait_for(outcome.call.ended, 5) == "remote"


async def test_busy_and_decline_are_final_answers(
    pair: tuple[SipUserAgent, SipUserAgent],
) -> None:
    caller, callee = pair
    statuses = iter([486, 603])
    callee.on_invite = lambda incoming: incoming.reply(next(statuses))
    first = await asyncio.wait_for(invite(caller, callee).result, 5)
    second = await asyncio.wait_for(invite(caller, callee).result, 5)
    assert (first.status, first.call) == (486, None)
    assert (second.status, second.call) == (603, None)


async def test_cancel_while_ringing_ends_with_487(
    pair: tuple[SipUserAgent, SipUserAgent],
) -> None:
    caller, callee = pair
    ringing: list[IncomingInvite] = []

    def ring(incoming: IncomingInvite) -> None:
        ringing.append(incoming)
        incoming.reply(180, "Ringing")

    callee.on_invite = ring
    rang = asyncio.Event()
    outgoing = invite(caller, callee, on_progress=lambda _: rang.set())
    await asyncio.wait_for(rang.wait(), 5)
    caller.cancel(outgoing)
    outcome = await asyncio.wait_for(outgoing.result, 5)
    assert outcome.status == 487
    assert ringing[0].canceled.is_set()


async def test_digest_credentials_are_sent_when_challenged(
    pair: tuple[SipUserAgent, SipUserAgent],
) -> None:
    caller, callee = pair
    nonces = NonceKeeper(b"secret")
    seen: list[bool] = []

    def check(incoming: IncomingInvite) -> None:
        header = incoming.request.headers.get("Authorization")
        if header is None:
            incoming.challenge(nonces.challenge("centralita"))
            return
        creds = parse_authorization(header)
        ok = nonces.check(creds.nonce) == "ok" and verify(creds, method="INVITE", password="pw")
        seen.append(ok)
        incoming.answer(ANSWER) if ok else incoming.reply(403)

    callee.on_invite = check
    good = await asyncio.wait_for(invite(caller, callee, credentials=("trunk", "pw")).result, 5)
    bad = await asyncio.wait_for(invite(caller, callee, credentials=("trunk", "no")).result, 5)
    assert good.status == 200
    assert bad.status == 403
    assert seen == [True, False]


async def test_a_malformed_invite_gets_400_and_the_call_in_progress_goes_on(
    pair: tuple[SipUserAgent, SipUserAgent],
) -> None:
    caller, callee = pair

    def answer(incoming: IncomingInvite) -> None:
        incoming.answer(ANSWER)

    callee.on_invite = answer
    outcome = await asyncio.wait_for(invite(caller, callee).result, 5)
    assert outcome.call is not None
    host, port = callee.address
    junk = (
        f"INVITE sip:bob@{host}:{port} SIP/2.0\r\n"
        "Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKjunk\r\n"
        "From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:bob@127.0.0.1>\r\n"
        "Call-ID: junk\r\nCSeq: notanumber INVITE\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.bind(("127.0.0.1", 0))
        sock.sendto(junk, (host, port))
        reply = (await asyncio.to_thread(sock.recv, 4096)).decode()
    assert reply.startswith("SIP/2.0 400 ")
    assert callee.transport.bad_datagrams == 1
    assert not outcome.call.ended.done()
    await caller.bye(outcome.call)


async def test_an_invite_nobody_takes_is_480(
    pair: tuple[SipUserAgent, SipUserAgent],
) -> None:
    caller, callee = pair
    outcome = await asyncio.wait_for(invite(caller, callee).result, 5)
    assert outcome.status == 480
