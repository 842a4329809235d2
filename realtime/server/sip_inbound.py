"""Inbound calls over SIP: an INVITE from a configured trunk or PBX reaches the agent of
the number it calls.

Who may call: the INVITE's source address must be one of the trunk's
(`SipTrunk.allowed_sources`: addresses or networks); a trunk that also authenticates by
credentials (`inbound_digest`) is challenged (401) and its answer checked with stateless
nonces. Anything else is answered 403 and logged, before anything else is read.

Then, as for phone-stream calls (`realtime.server.phone_inbound`): the called number (the
Request-URI's user part) picks the tenant and the agent from the routing table; an
unrouted number answers 404, an agent that cannot take the call 480, an offer with no
codec of ours 488, an SDP we cannot read 400. Otherwise the call rings (180), is
answered with our SDP, and the conversation runs on a `SipCallLeg`, stored under the
number's tenant. A caller who hangs up while it rings (CANCEL) is let go.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from centralita.kernel.calls import DialResult
from realtime.carrier.sip_trunk import SipMedia, SipTrunk
from realtime.conversation_line import ConversationLine
from realtime.legs.media_codecs import SUPPORTED, MediaCodecError, point_rtp
from realtime.legs.sip_call import SipCallLeg
from realtime.server.phone_inbound import CallerVariables, RouteLookup, routed_call
from realtime.sip.digest import DigestError, NonceKeeper, parse_authorization, verify
from realtime.sip.message import SipParseError, parse_name_addr, parse_uri
from realtime.sip.rtp_session import RtpSession
from realtime.sip.sdp import PCMU, TELEPHONE_EVENT, SdpError, answer_offer, parse_sdp
from realtime.sip.user_agent import IncomingInvite, SipUserAgent

log = logging.getLogger(__name__)

REALM = "centralita"


class SipInbound:
    """Takes the INVITEs `agent` receives (`attach`), for the configured trunks."""

    def __init__(
        self,
        agent: SipUserAgent,
        line: ConversationLine,
        routes: RouteLookup,
        media: SipMedia,
        trunks: Sequence[SipTrunk],
        *,
        nonces: NonceKeeper,
        caller_variables: CallerVariables | None = None,
    ) -> None:
        self.agent = agent
        self._line = line
        self._routes = routes
        self._media = media
        self._trunks = tuple(trunks)
        self._nonces = nonces
        self._caller_variables = caller_variables
        self._calls: set[asyncio.Task[None]] = set()
        self.refused = 0
        # Set when the media worker drains (SIGTERM): calls under way go on, a new INVITE
        # gets 503 at once, so the trunk tries its next route (another worker).
        self.draining = False

    def attach(self) -> None:
        """Receive the user agent's INVITEs from now on."""
        self.agent.on_invite = self.on_invite

    def on_invite(self, incoming: IncomingInvite) -> None:
        """An INVITE outside any dialog: take it in its own task (refused while draining)."""
        if self.draining:
            incoming.reply(503, "Service Unavailable")
            return
        task = asyncio.create_task(self._take(incoming), name=f"sip-in-{incoming.request.call_id}")
        self._calls.add(task)
        task.add_done_callback(self._calls.discard)

    async def aclose(self) -> None:
        """End the calls under way (the worker is stopping)."""
        for task in list(self._calls):
            task.cancel()
        await asyncio.gather(*self._calls, return_exceptions=True)

    def trusted(self, incoming: IncomingInvite) -> bool:
        """Whether the INVITE comes from a configured trunk, with its credentials when
        it needs them; answers the challenge or the 403 itself when it does not."""
        source = incoming.source[0]
        trunk = next((t for t in self._trunks if _allowed(source, t.sources)), None)
        if trunk is None:
            log.warning("SIP INVITE from %s refused: not a configured trunk", source)
            return self._refuse(incoming)
        if not trunk.inbound_digest:
            return True
        if trunk.credentials is None:
            # Fail closed: a trunk meant to prove who it is, with nothing to check it by.
            log.error("SIP INVITE from %s refused: inbound_digest without credentials", source)
            return self._refuse(incoming)
        header = incoming.request.headers.get("Authorization")
        if header is None:
            incoming.challenge(self._nonces.challenge(REALM))
            return False
        user, password = trunk.credentials
        try:
            creds = parse_authorization(header)
        except DigestError as exc:
            log.warning("SIP INVITE from %s refused: %s", source, exc)
            return self._refuse(incoming)
        state = self._nonces.check(creds.nonce)
        if state == "stale":
            # stale=TRUE: the client retries with the same password instead of giving up.
            incoming.challenge(self._nonces.challenge(REALM, stale=True))
            return False
        request = incoming.request
        # The realm must be ours (an answer made for another server proves nothing
        # here). The digest's uri is not compared with the Request-URI: real clients
        # (SIPp among them) name the host alone, and with stateless nonces an answer can
        # be replayed within the nonce's life anyway, so the check would refuse real
        # PBXs and protect nothing.
        if (
            state != "ok"
            or creds.username != user
            or creds.realm != REALM
            or not verify(creds, method=request.method, password=password, body=request.body)
        ):
            log.warning("SIP INVITE from %s refused: wrong credentials", source)
            return self._refuse(incoming)
        return True

    def _refuse(self, incoming: IncomingInvite) -> bool:
        """403 to an INVITE we do not trust (counted: a flood of them is an attack)."""
        self.refused += 1
        incoming.reply(403, "Forbidden")
        return False

    async def _take(self, incoming: IncomingInvite) -> None:
        try:
            await self._route(incoming)
        except asyncio.CancelledError:
            incoming.reply(503, "Service Unavailable")  # the worker is stopping
            raise
        except Exception:
            # A routing table that cannot be read, no RTP port left...: the caller hears
            # a failure now instead of retransmitting into a call nobody holds.
            log.exception("SIP call %s could not be taken", incoming.request.call_id)
            incoming.reply(500, "Server Internal Error")

    async def _route(self, incoming: IncomingInvite) -> None:
        if not self.trusted(incoming):
            return
        request = incoming.request
        try:
            offer = parse_sdp(request.body)
        except SdpError as exc:
            incoming.reply(400, f"Bad SDP: {exc}"[:100])
            return
        number = uri_number(request.uri)
        route = await self._routes(number)
        if route is None:
            log.info("SIP call to an unrouted number %s refused", number)
            incoming.reply(404, "Not Found")
            return
        caller = caller_number(request.headers.get("From") or "")
        dial = await routed_call(route, caller, self._caller_variables)
        started = datetime.now(UTC)
        setup = await self._line.prepare(dial, started)
        if isinstance(setup, DialResult):
            log.warning("SIP call to %s refused: its agent cannot take it", number)
            incoming.reply(480, "Temporarily Unavailable")
            return
        media = self._media
        rtp = await RtpSession.open(
            media.host,
            media.ports,
            payload_type=PCMU.payload_type,
            telephone_event=TELEPHONE_EVENT.payload_type,
            advertised=media.advertised,
        )
        try:
            try:
                sdp, negotiated = answer_offer(
                    offer,
                    address=rtp.advertised_address,
                    port=rtp.port,
                    # The offer's order wins (answer_offer): Opus when the caller
                    # lists it first, G.711 otherwise.
                    supported=SUPPORTED,
                )
                codec = point_rtp(rtp, negotiated)
            except (SdpError, MediaCodecError) as exc:
                incoming.reply(488, "Not Acceptable Here")
                log.info("SIP call to %s refused: %s", number, exc)
                return
            if incoming.canceled.is_set():
                return
            incoming.reply(180, "Ringing")
            call = incoming.answer(sdp.encode())
            leg = SipCallLeg(rtp, codec, ended=call.ended)
            try:
                await self._line.hold_leg(
                    dial, leg, setup, started, direction="inbound", from_number=caller
                )
            finally:
                await self.agent.bye(call)
        finally:
            rtp.close()


def uri_number(uri: str) -> str:
    """The number a Request-URI calls: its user part (``sip:+5622...@host;user=phone``)
    or a ``tel:`` URI's number; empty when it names none (nobody's route)."""
    try:
        return parse_uri(uri).user or ""
    except SipParseError:
        return ""


def caller_number(from_header: str) -> str:
    """The caller's number (or user) in a From header, display name and tag aside."""
    try:
        return uri_number(parse_name_addr(from_header).uri)
    except SipParseError:
        return ""


def _allowed(source: str, allowed: Sequence[str]) -> bool:
    """Whether `source` is one of the addresses or networks in `allowed`."""
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return False
    for entry in allowed:
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False
