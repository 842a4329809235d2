"""Our SIP user agent: calls placed through a trunk, calls taken from one, and what
happens inside a call (BYE, refreshes, REFER, INFO), over `SipTransactions`.

Out (`invite`): the INVITE goes to the trunk's address with our SDP offer; provisional
answers (180, 183 with early media) reach `on_progress`; a 401/407 is answered once per
challenge with digest credentials (again only when the challenge says the nonce was
stale); the final answer is the `OutgoingInvite`'s result, with a `SipCall` when it is
a 2xx (ACKed here, and again whenever the 2xx comes again). `cancel` sends CANCEL once
the far end has answered anything (RFC 3261 9.1: not before), and a 200 that crosses a
CANCEL is ACKed and hung up at once.

In: an INVITE outside any dialog goes to `on_invite` as an `IncomingInvite` (after a
``100 Trying``), whose owner checks the trunk, rings, answers or rejects it. Requests
with a To tag belong to a dialog: an unknown one answers 481; OPTIONS outside a dialog
answers 200 (PBXs poll trunks with it); any other method 405.

Inside a call (`SipCall`): BYE ends it (`ended` says who), a re-INVITE or UPDATE is a
session refresh or a hold and is answered with our current SDP, INFO carrying a DTMF
digit (``application/dtmf-relay``) reaches `on_digit`, NOTIFY of a REFER's progress
(``message/sipfrag``) settles `refer`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from realtime.sip.dialog import Dialog
from realtime.sip.digest import Challenge, DigestError, authorization, parse_challenge
from realtime.sip.message import (
    Headers,
    NameAddr,
    SipParseError,
    SipRequest,
    SipResponse,
    new_branch,
    new_call_id,
    new_tag,
    parse_name_addr,
    response_to,
)
from realtime.sip.transactions import (
    LINGER_S,
    ClientTransaction,
    ServerTransaction,
    SipTransactions,
)
from realtime.sip.transport import Address, SipTransport

log = logging.getLogger(__name__)

SDP = "application/sdp"
ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE"
# How long a REFER's outcome (the NOTIFY with the transferee's final answer) is awaited.
REFER_WAIT_S = 40.0


@dataclass
class SipCall:
    """An established call: its dialog, our SDP, and how it ends."""

    dialog: Dialog
    local_sdp: bytes
    remote_sdp: bytes
    ended: asyncio.Future[str] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    on_digit: Callable[[str], None] | None = None
    _refer: asyncio.Future[bool] | None = None

    def end(self, by: str) -> None:
        """Mark the call over (`by`: ``remote``, ``local``, ``timeout``...)."""
        if not self.ended.done():
            self.ended.set_result(by)


@dataclass
class InviteOutcome:
    """How an INVITE of ours ended: the final status, and the call when answered."""

    status: int
    reason: str
    response: SipResponse | None
    call: SipCall | None = None


@dataclass
class OutgoingInvite:
    """An INVITE on its way: `result` settles with its final answer."""

    request: SipRequest
    result: asyncio.Future[InviteOutcome]
    tx: ClientTransaction | None = None
    provisional: bool = False
    cancel_wanted: bool = False
    cancel_sent: bool = False
    task: asyncio.Task[None] | None = None


@dataclass
class IncomingInvite:
    """An INVITE from outside, for its owner to ring, answer or reject."""

    request: SipRequest
    source: Address
    tx: ServerTransaction
    agent: SipUserAgent
    to_tag: str = field(default_factory=new_tag)
    canceled: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def answered(self) -> bool:
        """A final answer was given."""
        return self.tx.response is not None and self.tx.response.status >= 200

    def reply(
        self, status: int, reason: str | None = None, *, extra: Headers | None = None
    ) -> None:
        """A provisional or failure answer (not a 2xx: `answer` gives that)."""
        if self.answered:
            return
        response = response_to(self.request, status, reason, to_tag=self.to_tag)
        for name, value in extra.items() if extra else []:
            response.headers.add(name, value)
        self.agent.transactions.respond(self.tx, response)

    def challenge(self, challenge: Challenge) -> None:
        """Ask for digest credentials (401 with `WWW-Authenticate`)."""
        extra = Headers()
        extra.set("WWW-Authenticate", challenge.header())
        self.reply(401, "Unauthorized", extra=extra)

    def answer(self, sdp: bytes) -> SipCall:
        """Answer 200 with our SDP; the call from now on."""
        return self.agent._answer(self, sdp)


class SipUserAgent:
    """One SIP endpoint of the media worker (`start`), for calls in and out."""

    def __init__(self, advertised: str | None, user_agent: str) -> None:
        self.transport = SipTransport(self._received)
        self.transactions = SipTransactions(self.transport)
        self.on_invite: Callable[[IncomingInvite], None] | None = None
        self._advertised = advertised
        self.user_agent = user_agent
        self._calls: dict[tuple[str, str], SipCall] = {}
        self._incoming: dict[tuple[str, str], IncomingInvite] = {}  # by Call-ID, branch

    @classmethod
    async def start(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        advertised: str | None = None,
        user_agent: str = "Centralita",
    ) -> SipUserAgent:
        """Listen on `host`:`port`; `advertised` is the address written in our headers
        (the public one behind NAT or in Docker), `host` when not given."""
        agent = cls(advertised, user_agent)
        loop = asyncio.get_running_loop()
        await loop.create_datagram_endpoint(lambda: agent.transport, local_addr=(host, port))
        return agent

    @property
    def address(self) -> tuple[str, int]:
        """Where the far end reaches us (advertised host, bound port)."""
        return self._advertised or self.transport.host, self.transport.port

    def contact(self, user: str) -> str:
        """Our Contact for `user`."""
        host, port = self.address
        return f"<sip:{user}@{host}:{port}>"

    def close(self) -> None:
        """Stop: timers, socket, and every call still up (ended ``shutdown``)."""
        for call in list(self._calls.values()):
            call.end("shutdown")
        self.transactions.close()
        self.transport.close()

    # -- calls out -------------------------------------------------------------------------

    def invite(
        self,
        *,
        request_uri: str,
        to: str,
        from_: str,
        proxy: Address,
        sdp: bytes,
        credentials: tuple[str, str] | None = None,
        on_progress: Callable[[SipResponse], None] | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> OutgoingInvite:
        """Send an INVITE to `request_uri` through `proxy`; follow it to its end."""
        host, port = self.address
        local = parse_name_addr(from_).with_tag(new_tag())
        headers = Headers()
        headers.set("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
        headers.set("Max-Forwards", "70")
        headers.set("From", str(local))
        headers.set("To", to)
        headers.set("Call-ID", new_call_id(host))
        headers.set("CSeq", "1 INVITE")
        headers.set("Contact", self.contact(parse_user(local.uri)))
        headers.set("Allow", ALLOW)
        headers.set("User-Agent", self.user_agent)
        for name, value in extra:
            headers.add(name, value)
        headers.set("Content-Type", SDP)
        request = SipRequest("INVITE", request_uri, headers, sdp)
        outgoing = OutgoingInvite(request, asyncio.get_running_loop().create_future())
        outgoing.task = asyncio.create_task(
            self._follow(outgoing, proxy, credentials, on_progress), name="sip-invite"
        )
        return outgoing

    def cancel(self, outgoing: OutgoingInvite) -> None:
        """Stop ringing: CANCEL now if the far end answered anything, else when it does."""
        outgoing.cancel_wanted = True
        if outgoing.provisional and not outgoing.result.done():
            self._send_cancel(outgoing)

    async def _follow(
        self,
        outgoing: OutgoingInvite,
        proxy: Address,
        credentials: tuple[str, str] | None,
        on_progress: Callable[[SipResponse], None] | None,
    ) -> None:
        request = outgoing.request
        answered_challenges = 0
        while True:
            tx = self._send_invite(outgoing, request, proxy, on_progress)
            response = await tx.final
            if response.status in (401, 407) and credentials is not None:
                signed = self._signed(request, response, credentials, answered_challenges)
                if signed is not None and not outgoing.cancel_wanted:
                    answered_challenges += 1
                    request = outgoing.request = signed
                    continue
            break
        if 200 <= response.status < 300:
            call: SipCall | None = self._confirm(request, response, proxy, tx)
            if outgoing.cancel_wanted and call is not None:  # it crossed our CANCEL
                await self.bye(call)
                call = None
            outgoing.result.set_result(
                InviteOutcome(response.status, response.reason, response, call)
            )
            return
        outgoing.result.set_result(InviteOutcome(response.status, response.reason, response))

    def _send_invite(
        self,
        outgoing: OutgoingInvite,
        request: SipRequest,
        proxy: Address,
        on_progress: Callable[[SipResponse], None] | None,
    ) -> ClientTransaction:
        def progress(response: SipResponse) -> None:
            outgoing.provisional = True
            if outgoing.cancel_wanted:
                self._send_cancel(outgoing)
            if on_progress is not None and response.status > 100:
                on_progress(response)

        tx = self.transactions.send_request(request, proxy, on_provisional=progress)
        outgoing.tx = tx
        return tx

    def _signed(
        self,
        request: SipRequest,
        response: SipResponse,
        credentials: tuple[str, str],
        answered: int,
    ) -> SipRequest | None:
        """The INVITE again with credentials for `response`'s challenge; None when we
        already answered a challenge that was not stale (the password is wrong)."""
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        try:
            challenge = parse_challenge(response.headers.get(header) or "")
        except DigestError as exc:
            log.warning("trunk challenge not understood: %s", exc)
            return None
        if (answered >= 1 and not challenge.stale) or answered >= 3:
            return None
        again = SipRequest(request.method, request.uri, request.headers.copy(), request.body)
        seq = request.cseq[0] + 1
        again.headers.set("CSeq", f"{seq} INVITE")
        host, port = self.address
        again.headers.set("Via", f"SIP/2.0/UDP {host}:{port};branch={new_branch()};rport")
        value = authorization(
            challenge,
            method="INVITE",
            uri=request.uri,
            username=credentials[0],
            password=credentials[1],
            body=request.body,
        )
        name = "Authorization" if response.status == 401 else "Proxy-Authorization"
        again.headers.set(name, value)
        return again

    def _send_cancel(self, outgoing: OutgoingInvite) -> None:
        tx = outgoing.tx
        if tx is None or outgoing.cancel_sent or tx.final.done():
            return
        outgoing.cancel_sent = True
        invite = tx.request
        headers = Headers()
        headers.set("Via", invite.headers.get_all("Via")[0])
        headers.set("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            headers.set(name, invite.headers.get(name) or "")
        headers.set("CSeq", f"{invite.cseq[0]} CANCEL")
        self.transactions.send_request(SipRequest("CANCEL", invite.uri, headers), tx.addr)

    def _confirm(
        self, invite: SipRequest, response: SipResponse, proxy: Address, tx: ClientTransaction
    ) -> SipCall:
        """The dialog our 2xx starts; ACKed now and whenever the 2xx comes again."""
        remote = parse_name_addr(response.headers.get("To") or "")
        contact = response.headers.get("Contact")
        target = parse_name_addr(contact).uri if contact else invite.uri
        routes = tuple(reversed(response.headers.get_all("Record-Route")))
        host, port = self.address
        dialog = Dialog(
            call_id=invite.call_id,
            local=parse_name_addr(invite.headers.get("From") or ""),
            remote=remote,
            remote_target=target,
            route_set=routes,
            local_seq=invite.cseq[0],
            contact=invite.headers.get("Contact") or "",
            peer=proxy,
            via_host=host,
            via_port=port,
            user_agent=self.user_agent,
        )
        ack = dialog.ack(invite.cseq[0])
        self.transactions.send_ack(ack, proxy)
        tx.on_2xx_again = lambda _: self.transactions.send_ack(ack, proxy)
        call = SipCall(dialog, invite.body, response.body)
        self._calls[dialog.key] = call
        call.ended.add_done_callback(lambda _: self._calls.pop(dialog.key, None))
        return call

    # -- inside a call -------------------------------------------------------------------

    async def bye(self, call: SipCall) -> None:
        """Hang up (ends `call` as ``local`` at once; the BYE is sent reliably)."""
        if call.ended.done():
            return
        call.end("local")
        request = call.dialog.request("BYE")
        tx = self.transactions.send_request(request, call.dialog.peer)
        response = await tx.final
        if response.status >= 300:
            log.info("BYE for %s answered %s", call.dialog.call_id, response.status)

    async def refer(self, call: SipCall, target: str) -> bool:
        """Ask the far end to call `target` instead (a cold transfer, RFC 3515): True when
        it reports the new call answered (its NOTIFY with a 2xx)."""
        call._refer = asyncio.get_running_loop().create_future()
        request = call.dialog.request(
            "REFER",
            extra=(("Refer-To", f"<{target}>"), ("Referred-By", call.dialog.contact)),
        )
        response = await self.transactions.send_request(request, call.dialog.peer).final
        if response.status >= 300:
            log.info("REFER refused: %s %s", response.status, response.reason)
            return False
        try:
            return await asyncio.wait_for(call._refer, REFER_WAIT_S)
        except TimeoutError:
            return False

    # -- what arrives ---------------------------------------------------------------------

    def _received(self, message: SipRequest | SipResponse, source: Address) -> None:
        if isinstance(message, SipResponse):
            if not self.transactions.response_received(message):
                log.debug("stray response %s for %s", message.status, message.call_id)
            return
        try:
            tx = self.transactions.request_received(message, source)
            if tx is not None:
                self._request(tx, source)
        except (SipParseError, ValueError) as exc:
            log.warning("SIP request from %s:%s refused: %s", *source, exc)
            if message.method != "ACK":
                self.transport.send(response_to(message, 400, str(exc)[:100]), source)

    def _request(self, tx: ServerTransaction, source: Address) -> None:
        request = tx.request
        if request.to_tag:
            self._in_dialog(tx)
            return
        match request.method:
            case "INVITE":
                self.transactions.respond(tx, response_to(request, 100, "Trying"))
                incoming = IncomingInvite(request, source, tx, self)
                key = (request.call_id, request.branch or "")
                self._incoming[key] = incoming
                # Kept as long as its transaction is, for a CANCEL to find; never for good.
                asyncio.get_running_loop().call_later(LINGER_S, self._incoming.pop, key, None)
                if self.on_invite is None:
                    incoming.reply(480, "Temporarily Unavailable")
                else:
                    self.on_invite(incoming)
            case "CANCEL":
                self._cancel_received(tx)
            case "OPTIONS":
                ok = response_to(request, 200, "OK", to_tag=new_tag())
                ok.headers.set("Allow", ALLOW)
                self.transactions.respond(tx, ok)
            case "BYE" | "INFO" | "NOTIFY" | "UPDATE" | "REFER":
                self.transactions.respond(tx, response_to(request, 481))
            case _:
                refused = response_to(request, 405, "Method Not Allowed", to_tag=new_tag())
                refused.headers.set("Allow", ALLOW)
                self.transactions.respond(tx, refused)

    def _cancel_received(self, tx: ServerTransaction) -> None:
        request = tx.request
        incoming = self._incoming.get((request.call_id, request.branch or ""))
        if incoming is None:
            self.transactions.respond(tx, response_to(request, 481))
            return
        self.transactions.respond(tx, response_to(request, 200, "OK"))
        incoming.canceled.set()
        incoming.reply(487, "Request Terminated")

    def _answer(self, incoming: IncomingInvite, sdp: bytes) -> SipCall:
        request = incoming.request
        contact = request.headers.get("Contact")
        user = parse_user(parse_name_addr(request.headers.get("To") or "").uri) or "centralita"
        host, port = self.address
        local = parse_name_addr(request.headers.get("To") or "").with_tag(incoming.to_tag)
        dialog = Dialog(
            call_id=request.call_id,
            local=local,
            remote=parse_name_addr(request.headers.get("From") or ""),
            remote_target=parse_name_addr(contact).uri if contact else request.uri,
            route_set=tuple(request.headers.get_all("Record-Route")),
            local_seq=0,
            contact=self.contact(user),
            peer=incoming.source,
            via_host=host,
            via_port=port,
            user_agent=self.user_agent,
        )
        ok = response_to(request, 200, "OK", to_tag=incoming.to_tag)
        for route in request.headers.get_all("Record-Route"):
            ok.headers.add("Record-Route", route)
        ok.headers.set("Contact", dialog.contact)
        ok.headers.set("Allow", ALLOW)
        ok.headers.set("Content-Type", SDP)
        ok.body = sdp
        call = SipCall(dialog, sdp, request.body)
        self._calls[dialog.key] = call
        call.ended.add_done_callback(lambda _: self._calls.pop(dialog.key, None))
        self.transactions.respond(incoming.tx, ok)
        return call

    def _in_dialog(self, tx: ServerTransaction) -> None:
        request = tx.request
        call = self._calls.get((request.call_id, request.to_tag or ""))
        if call is None:
            self.transactions.respond(tx, response_to(request, 481))
            return
        ok = response_to(request, 200, "OK")
        match request.method:
            case "BYE":
                call.end("remote")
            case "INVITE" | "UPDATE":  # a refresh or a hold: our media stays as it is
                ok.headers.set("Contact", call.dialog.contact)
                ok.headers.set("Content-Type", SDP)
                ok.body = call.local_sdp
            case "INFO":
                digit = dtmf_relay_digit(request)
                if digit is not None and call.on_digit is not None:
                    call.on_digit(digit)
            case "NOTIFY":
                self._refer_progress(call, request)
            case "OPTIONS":
                ok.headers.set("Allow", ALLOW)
            case _:
                ok = response_to(request, 405, "Method Not Allowed")
                ok.headers.set("Allow", ALLOW)
        self.transactions.respond(tx, ok)

    def _refer_progress(self, call: SipCall, notify: SipRequest) -> None:
        waiting = call._refer
        if waiting is None or waiting.done():
            return
        # message/sipfrag: "SIP/2.0 200 OK" once the transferee's call is answered.
        first = notify.body.decode("utf-8", errors="replace").strip().split("\n", 1)[0]
        parts = first.split()
        if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) >= 200:
            waiting.set_result(200 <= int(parts[1]) < 300)


def parse_user(uri: str) -> str:
    """The user part of a SIP URI (``sip:user@host`` -> ``user``), empty when none."""
    rest = uri.split(":", 1)[-1]
    return rest.split("@", 1)[0] if "@" in rest else ""


def dtmf_relay_digit(request: SipRequest) -> str | None:
    """The digit of a SIP INFO carrying ``application/dtmf-relay`` (``Signal=5``)."""
    kind = (request.headers.get("Content-Type") or "").lower()
    if "dtmf" not in kind:
        return None
    for line in request.body.decode("utf-8", errors="replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and value.strip():
            digit = value.strip()[0].upper()
            return digit if digit in "0123456789*#ABCD" else None
    return None


def local_name_addr(user: str, host: str, display: str | None = None) -> NameAddr:
    """Our From/To address for `user` at `host`."""
    return NameAddr(uri=f"sip:{user}@{host}", display=display, params={})
