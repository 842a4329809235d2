"""Calls to phones through a SIP trunk: the `Dialer` for carriers and PBXs that speak SIP.

One `dial`:
1. The agent is prepared first (`ConversationLine.prepare`): a call no agent can hold
   fails before anybody's phone rings.
2. An RTP port is opened and the INVITE goes to the trunk with our SDP offer (PCMU,
   PCMA, then Opus, and telephone-event at both clocks: `media_codecs.SUPPORTED`;
   Opus only when the far end's answer prefers it), digest credentials when the trunk
   asks (an IP-authenticated trunk never does), the caller ID from the campaign's pool,
   and the attempt key in an ``X-Centralita-Attempt`` header (beside the Call-ID in the
   trunk's logs).
3. Ringing (180) or early media (183 with SDP: the announcement is heard, not answered)
   lasts at most the ring timeout; then CANCEL, and the call is not answered. A final
   failure maps to our outcomes (`outcome_for`).
4. A 2xx starts the conversation on a `SipCallLeg` (`ConversationLine.hold_leg`); SIP
   says nothing of machines, so the session's own detector listens for a voicemail.
5. When the conversation is over we send BYE (unless the far end did).

Exactly once: `CarrierCalls` in front keeps one call per key and stores the key before
the INVITE goes out. A trunk has no call list to ask, so a media worker killed mid-call
leaves the attempt to be rung once more under the same key (`recover` is not offered):
the far end's own RTP timeout ends the orphaned call.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Literal

from pydantic import SecretStr

from centralita.kernel.calls import CallOutcome, DialRequest, DialResult
from realtime.agents.setup import AgentSetup
from realtime.carrier.phone_line import MIN_RING_TIMEOUT_S, CallPacer
from realtime.carrier.sip_bridge import BridgedCall, SipBridge
from realtime.carrier.sip_handover import ring_person
from realtime.conversation_line import ConversationLine
from realtime.legs.media_codecs import SUPPORTED, MediaCodecError, accept_sdp_answer
from realtime.legs.sip_call import RTP_TIMEOUT_S, SipCallLeg
from realtime.providers.base import TextToSpeech
from realtime.sip.message import parse_uri
from realtime.sip.rtp_session import PortRange, RtpSession
from realtime.sip.sdp import PCMU, TELEPHONE_EVENT, SdpError, build_sdp
from realtime.sip.user_agent import InviteOutcome, SipCall, SipUserAgent

log = logging.getLogger(__name__)

# G.711 first, as trunks expect: Opus is used only when the answer puts it first.
OFFER = SUPPORTED
ATTEMPT_HEADER = "X-Centralita-Attempt"
# After our CANCEL, how long the trunk's 487 may take.
CANCEL_WAIT_S = 10.0

# Final SIP answers without a conversation, as our outcomes (RFC 3261 21.4-21.6).
_BY_STATUS: Mapping[int, tuple[CallOutcome, str]] = {
    486: (CallOutcome.BUSY, "dial_busy"),
    600: (CallOutcome.BUSY, "dial_busy"),
    603: (CallOutcome.BUSY, "dial_declined"),
    480: (CallOutcome.NO_ANSWER, "dial_no_answer"),
    408: (CallOutcome.NO_ANSWER, "dial_no_answer"),
    487: (CallOutcome.NO_ANSWER, "dial_no_answer"),
    404: (CallOutcome.FAILED, "dial_invalid_number"),
    484: (CallOutcome.FAILED, "dial_invalid_number"),
    604: (CallOutcome.FAILED, "dial_invalid_number"),
}


def outcome_for(status: int) -> tuple[CallOutcome, str]:
    """Our outcome and disconnection reason for a final SIP status that is not a 2xx."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    return CallOutcome.FAILED, f"dial_sip_{status}"


@dataclass(frozen=True)
class SipTrunk:
    """A SIP trunk (a carrier's, or a PBX's) calls go out through.

    Args:
        proxy_host: the trunk's address (an IP address; where INVITEs are sent).
        proxy_port: its SIP port.
        domain: the host written in Request-URIs and From (the proxy's when None).
        username: digest user, for trunks that authenticate by credentials (none: the
            trunk authenticates our address).
        password: digest password.
        from_numbers: the caller IDs a call may show (a campaign's own pool wins).
        ring_timeout_s: how long a phone rings before the call is canceled.
        calls_per_second: the most INVITEs a second the trunk takes.
        transfer_to: the number (or SIP URI) a call is handed to.
        transfer_mode: ``cold`` (REFER: the far end calls the person itself) or
            ``warm`` (we ring the person, brief them, then bridge the caller to them).
        transfer_ring_s: how long the person's phone rings (warm).
        allowed_sources: addresses or networks (CIDR) inbound INVITEs may come from
            (none given: the proxy's address only).
        inbound_digest: also challenge inbound INVITEs for `username`/`password`.
        dial_plus: write numbers in E.164 with their ``+``; False: digits only, as
            many trunks want them (``+56912345678`` -> ``56912345678``).
        rtp_timeout_s: no RTP from the far end for this long ends the call (dead).
    """

    proxy_host: str
    proxy_port: int = 5060
    domain: str | None = None
    username: str | None = None
    password: SecretStr | None = None
    from_numbers: tuple[str, ...] = ()
    ring_timeout_s: int = 25
    calls_per_second: float = 10.0
    transfer_to: str | None = None
    transfer_mode: Literal["cold", "warm"] = "cold"
    transfer_ring_s: int = 20
    allowed_sources: tuple[str, ...] = ()
    inbound_digest: bool = False
    dial_plus: bool = True
    rtp_timeout_s: float = RTP_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.ring_timeout_s < MIN_RING_TIMEOUT_S:
            raise ValueError(f"ring_timeout_s must be at least {MIN_RING_TIMEOUT_S} s")
        if not 0 < self.proxy_port < 65536:
            raise ValueError(f"proxy_port must be a port number, got {self.proxy_port}")

    @property
    def sources(self) -> tuple[str, ...]:
        """Where inbound INVITEs may come from."""
        return self.allowed_sources or (self.proxy_host,)

    @property
    def host(self) -> str:
        """The host part of the trunk's URIs."""
        return self.domain or self.proxy_host

    def uri(self, number: str) -> str:
        """The SIP URI of `number` at the trunk (a full SIP URI is kept as it is)."""
        if number.startswith(("sip:", "sips:")):
            return number
        user = number if self.dial_plus else number.lstrip("+")
        return f"sip:{user}@{self.host}"

    def route_to(self, target: str) -> tuple[str, int]:
        """Where a request for `target` is sent: a number through the trunk; a full SIP
        URI with an IP address (a PBX extension, an agent's desk phone) straight to it."""
        if target.startswith(("sip:", "sips:")):
            uri = parse_uri(target)
            with contextlib.suppress(ValueError):
                ipaddress.ip_address(uri.host)
                return uri.host, uri.port or 5060
        return self.proxy_host, self.proxy_port

    @property
    def credentials(self) -> tuple[str, str] | None:
        """Digest user and password, when the trunk uses them."""
        if self.username is None or self.password is None:
            return None
        return self.username, self.password.get_secret_value()


@dataclass(frozen=True)
class SipMedia:
    """Where the media worker's RTP lives: bind address, port range, and the address
    written in SDP (the public one behind NAT or Docker; the bind address when None)."""

    host: str = "127.0.0.1"
    ports: PortRange = field(default_factory=PortRange)
    advertised: str | None = None


def caller_id_for(trunk: SipTrunk, request: DialRequest) -> str:
    """The From number of a call: the campaign's pool (else the trunk's), one from the
    callee's country when there is one, the same for every retry of the attempt."""
    numbers = list(request.caller_ids) or list(trunk.from_numbers)
    if not numbers:
        return "centralita"
    local = [n for n in numbers if n[:3] == request.to_number[:3]]
    pool = local or numbers
    return pool[zlib.crc32(request.idempotency_key.encode()) % len(pool)]


class SipTrunkDialer:
    """Rings phones through one SIP trunk and holds their conversations."""

    def __init__(
        self,
        agent: SipUserAgent,
        trunk: SipTrunk,
        media: SipMedia,
        line: ConversationLine,
        *,
        tts: TextToSpeech | None = None,
    ) -> None:
        self.agent = agent
        self.trunk = trunk
        self.media = media
        self.tts = tts  # says a warm transfer's briefing to the person
        self._line = line
        self._pacer = CallPacer(trunk.calls_per_second)
        self._bridges: set[asyncio.Task[str]] = set()

    async def dial(self, request: DialRequest) -> DialResult:
        """Ring `request.to_number`; hold the conversation if someone answers."""
        started = datetime.now(UTC)
        setup = await self._line.prepare(request, started)
        if isinstance(setup, DialResult):
            return setup
        rtp = await self._open_rtp()
        bridged = False
        try:
            await self._pacer.turn()
            outcome, call_id = await self._ring(request, rtp)
            if outcome.call is None:
                result = DialResult.unanswered(*outcome_for(outcome.status), started)
            else:
                result, bridged = await self._talk(request, outcome, rtp, setup, started)
            return result.model_copy(update={"carrier_call_id": call_id})
        finally:
            if not bridged:  # a bridged call's RTP is the bridge's now
                rtp.close()

    async def _ring(self, request: DialRequest, rtp: RtpSession) -> tuple[InviteOutcome, str]:
        """Invite the phone and wait for its final answer (at most the ring timeout);
        with the call's Call-ID."""
        trunk = self.trunk
        key = request.idempotency_key
        caller_id = caller_id_for(trunk, request)
        offer = build_sdp(rtp.advertised_address, rtp.port, OFFER).encode()
        outgoing = self.agent.invite(
            request_uri=trunk.uri(request.to_number),
            to=f"<{trunk.uri(request.to_number)}>",
            from_=f"<sip:{caller_id}@{trunk.host}>",
            proxy=(trunk.proxy_host, trunk.proxy_port),
            sdp=offer,
            credentials=trunk.credentials,
            on_progress=partial(self._early_media, rtp),
            extra=((ATTEMPT_HEADER, key),),
        )
        call_id = outgoing.request.call_id
        log.info("call %s: INVITE %s (Call-ID %s)", key, trunk.uri(request.to_number), call_id)
        try:
            ringing = asyncio.shield(outgoing.result)
            return await asyncio.wait_for(ringing, trunk.ring_timeout_s), call_id
        except TimeoutError:
            log.info("call %s: no answer in %d s, canceling", key, trunk.ring_timeout_s)
            self.agent.cancel(outgoing)
        try:
            outcome = await asyncio.wait_for(outgoing.result, CANCEL_WAIT_S)
        except TimeoutError:
            return InviteOutcome(487, "Request Terminated", None), call_id
        if outcome.call is None and 200 <= outcome.status < 300:
            return InviteOutcome(487, "answered as it was canceled", outcome.response), call_id
        return outcome, call_id

    def _early_media(self, rtp: RtpSession, response: object) -> None:
        """A 183's SDP says where the ringing or announcement comes from: listen there."""
        body = getattr(response, "body", b"")
        if not body:
            return
        with contextlib.suppress(SdpError, MediaCodecError):
            accept_sdp_answer(rtp, body)

    async def _talk(
        self,
        request: DialRequest,
        outcome: InviteOutcome,
        rtp: RtpSession,
        setup: AgentSetup,
        started: datetime,
    ) -> tuple[DialResult, bool]:
        """The conversation; and whether the call lives on, bridged to a person."""
        call = outcome.call
        assert call is not None
        try:
            codec = accept_sdp_answer(rtp, call.remote_sdp)
        except (SdpError, MediaCodecError) as exc:
            log.warning("call %s: unusable SDP answer: %s", request.idempotency_key, exc)
            await self.agent.bye(call)
            return DialResult.unanswered(CallOutcome.FAILED, "dial_bad_sdp", started), False
        leg = SipCallLeg(rtp, codec, ended=call.ended, rtp_timeout_s=self.trunk.rtp_timeout_s)
        people: list[BridgedCall] = []  # the person a warm transfer reached
        if self.trunk.transfer_to is not None:
            leg.transfer = partial(self._transfer, request, call, leg, people)
        try:
            result = await self._line.hold_leg(request, leg, setup, started)
        except BaseException:
            await self._hang_up(call, people)
            raise
        if people and not call.ended.done():
            bridge = SipBridge(self.agent, BridgedCall(call, rtp, codec), people[0])
            task = asyncio.create_task(bridge.run(), name=f"bridge-{request.idempotency_key}")
            self._bridges.add(task)
            task.add_done_callback(self._bridges.discard)
            return result, True
        await self._hang_up(call, people)
        return result, False

    async def _hang_up(self, call: SipCall, people: list[BridgedCall]) -> None:
        for person in people:
            await self.agent.bye(person.call)
            person.close()
        await self.agent.bye(call)

    async def _transfer(
        self,
        request: DialRequest,
        call: SipCall,
        leg: SipCallLeg,
        people: list[BridgedCall],
        reason: str,
    ) -> bool:
        """Hand the caller to `transfer_to`: cold by REFER (the far end calls the person),
        warm by ringing and briefing the person first (`realtime.carrier.sip_handover`)."""
        trunk = self.trunk
        target = trunk.transfer_to
        if target is None:
            return False
        log.info("call %s: %s transfer (%s)", call.dialog.call_id, trunk.transfer_mode, reason)
        if trunk.transfer_mode == "cold":
            return await self.agent.refer(call, trunk.uri(target))
        rtp = await self._open_rtp()
        person = await ring_person(
            self.agent,
            rtp,
            request_uri=trunk.uri(target),
            from_=f"<sip:{caller_id_for(trunk, request)}@{trunk.host}>",
            proxy=trunk.route_to(target),
            credentials=trunk.credentials,
            ring_s=trunk.transfer_ring_s,
            key=request.idempotency_key,
            variables=request.variables,
            reason=reason,
            language=leg.session.config.language if leg.session is not None else "es",
            tts=self.tts,
        )
        if person is None:
            rtp.close()
            return False
        people.append(person)
        return True

    async def _open_rtp(self) -> RtpSession:
        return await RtpSession.open(
            self.media.host,
            self.media.ports,
            payload_type=PCMU.payload_type,
            telephone_event=TELEPHONE_EVENT.payload_type,
            advertised=self.media.advertised,
        )

    async def aclose(self) -> None:
        """End the bridged calls (the worker is stopping)."""
        for task in list(self._bridges):
            task.cancel()
        await asyncio.gather(*self._bridges, return_exceptions=True)
