"""SIP transactions over UDP (RFC 3261 section 17): what makes a lossy datagram link
reliable enough for a phone call.

A request we send (`ClientTransaction`) is retransmitted from `T1` (500 ms), doubling,
until it is answered: an INVITE until any response (a ringing phone answers 180 and
then says nothing for seconds), any other request until its final response, capped at
`T2` (4 s). With no final response in `TIMEOUT_S` (64 x T1) the transaction ends as a
``408 Request Timeout`` of our own making, as the RFC says to treat it. A non-2xx final
answer to an INVITE is acknowledged here (the ACK is part of that transaction); a 2xx
is the user agent's to acknowledge (it starts a dialog), and a 2xx that comes again
because our ACK was lost is handed back to it (`on_2xx_again`).

A request we receive (`ServerTransaction`) is answered once; a retransmission of it gets
the same answer again without reaching the user agent. A final answer to an INVITE is
itself retransmitted until the ACK comes (or `TIMEOUT_S`): the far end's ACK is what
says it heard us.

Transactions are matched by the top Via's branch and the CSeq method (RFC 3261 17.1.3
and 17.2.3); an ACK for a 2xx has its own branch and is matched by Call-ID and CSeq.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from realtime.sip.message import Headers, SipRequest, SipResponse, response_to
from realtime.sip.transport import Address, SipTransport

log = logging.getLogger(__name__)

T1 = 0.5
T2 = 4.0
TIMEOUT_S = 64 * T1
# How long an ended transaction is remembered, to absorb the far end's retransmissions.
LINGER_S = TIMEOUT_S


@dataclass
class ClientTransaction:
    """A request we sent and what came back for it."""

    request: SipRequest
    addr: Address
    on_provisional: Callable[[SipResponse], None] | None = None
    on_2xx_again: Callable[[SipResponse], None] | None = None
    final: asyncio.Future[SipResponse] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    provisional: SipResponse | None = None
    _timer: asyncio.TimerHandle | None = None
    _deadline: asyncio.TimerHandle | None = None

    @property
    def key(self) -> tuple[str, str]:
        """The branch and CSeq method its responses carry."""
        return self.request.branch or "", self.request.cseq[1]


@dataclass
class ServerTransaction:
    """A request we received and the answer we gave."""

    request: SipRequest
    addr: Address
    response: SipResponse | None = None
    acked: bool = False
    _timer: asyncio.TimerHandle | None = None


class SipTransactions:
    """Sends requests and answers reliably over one `SipTransport`."""

    def __init__(self, transport: SipTransport) -> None:
        self.transport = transport
        self._client: dict[tuple[str, str], ClientTransaction] = {}
        self._server: dict[tuple[str, str], ServerTransaction] = {}
        self._invites: dict[tuple[str, int], ServerTransaction] = {}  # by Call-ID, CSeq

    # -- requests we send --------------------------------------------------------------

    def send_request(
        self,
        request: SipRequest,
        addr: Address,
        *,
        on_provisional: Callable[[SipResponse], None] | None = None,
        on_2xx_again: Callable[[SipResponse], None] | None = None,
    ) -> ClientTransaction:
        """Send `request` (not an ACK) until answered; its transaction's `final` says how."""
        tx = ClientTransaction(request, addr, on_provisional, on_2xx_again)
        self._client[tx.key] = tx
        self.transport.send(request, addr)
        self._retransmit_later(tx, T1)
        loop = asyncio.get_running_loop()
        tx._deadline = loop.call_later(TIMEOUT_S, self._timed_out, tx)
        return tx

    def send_ack(self, ack: SipRequest, addr: Address) -> None:
        """An ACK: sent once, never answered (a lost one is re-sent on the next 2xx)."""
        self.transport.send(ack, addr)

    def response_received(self, response: SipResponse) -> bool:
        """A response for one of our requests; False when no transaction of ours sent it."""
        try:
            key = (response.branch or "", response.cseq[1])
        except (ValueError, KeyError):
            return False
        tx = self._client.get(key)
        if tx is None:
            return False
        if response.status < 200:
            if not tx.final.done():
                tx.provisional = response
                if tx.request.method == "INVITE":
                    self._stop_retransmitting(tx)
                if tx.on_provisional is not None:
                    tx.on_provisional(response)
            return True
        if tx.request.method == "INVITE" and response.status >= 300:
            self.transport.send(non_2xx_ack(tx.request, response), tx.addr)
        if tx.final.done():
            if response.status < 300 and tx.on_2xx_again is not None:
                tx.on_2xx_again(response)
            return True
        self._stop_retransmitting(tx)
        tx.final.set_result(response)
        return True

    def _retransmit_later(self, tx: ClientTransaction, interval: float) -> None:
        loop = asyncio.get_running_loop()
        tx._timer = loop.call_later(interval, self._retransmit, tx, interval)

    def _retransmit(self, tx: ClientTransaction, interval: float) -> None:
        if tx.final.done():
            return
        self.transport.send(tx.request, tx.addr)
        # A non-INVITE with a provisional answer goes on at T2 (RFC 3261 17.1.2.2).
        following = T2 if tx.provisional is not None else min(interval * 2, T2)
        self._retransmit_later(tx, following)

    def _stop_retransmitting(self, tx: ClientTransaction) -> None:
        if tx._timer is not None:
            tx._timer.cancel()
            tx._timer = None

    def _timed_out(self, tx: ClientTransaction) -> None:
        self._stop_retransmitting(tx)
        if not tx.final.done():
            tx.final.set_result(response_to(tx.request, 408, "Request Timeout"))
        self._client.pop(tx.key, None)

    def forget(self, tx: ClientTransaction) -> None:
        """Stop everything of `tx` (its call is over)."""
        self._stop_retransmitting(tx)
        if tx._deadline is not None:
            tx._deadline.cancel()
        self._client.pop(tx.key, None)
        if not tx.final.done():
            tx.final.cancel()

    # -- requests we receive -------------------------------------------------------------

    def request_received(self, request: SipRequest, addr: Address) -> ServerTransaction | None:
        """A request from `addr`: its new transaction, or None when the request was a
        retransmission (answered again here) or an ACK that belongs to a transaction."""
        method = request.method
        if method == "ACK":
            self._ack(request)
            return None
        key = (request.branch or "", method)
        known = self._server.get(key)
        if known is not None:
            if known.response is not None:
                self.transport.send(known.response, known.addr)
            return None
        tx = ServerTransaction(request, addr)
        self._server[key] = tx
        if method == "INVITE":
            self._invites[(request.call_id, request.cseq[0])] = tx
        asyncio.get_running_loop().call_later(LINGER_S, self._drop_server, key)
        return tx

    def respond(self, tx: ServerTransaction, response: SipResponse) -> None:
        """Answer `tx` (a final answer to an INVITE is repeated until its ACK)."""
        tx.response = response
        self.transport.send(response, tx.addr)
        if tx.request.method == "INVITE" and response.status >= 200:
            self._repeat_later(tx, T1)

    def _repeat_later(self, tx: ServerTransaction, interval: float) -> None:
        loop = asyncio.get_running_loop()
        tx._timer = loop.call_later(interval, self._repeat, tx, interval)

    def _repeat(self, tx: ServerTransaction, interval: float) -> None:
        if tx.acked or tx.response is None:
            return
        if interval >= TIMEOUT_S / 2:
            log.info("no ACK for %s %s: giving up", tx.request.method, tx.request.call_id)
            return
        self.transport.send(tx.response, tx.addr)
        self._repeat_later(tx, min(interval * 2, T2))

    def _ack(self, ack: SipRequest) -> None:
        tx = self._server.get((ack.branch or "", "INVITE")) or self._invites.get(
            (ack.call_id, ack.cseq[0])
        )
        if tx is not None:
            tx.acked = True
            if tx._timer is not None:
                tx._timer.cancel()

    def _drop_server(self, key: tuple[str, str]) -> None:
        tx = self._server.pop(key, None)
        if tx is not None and tx.request.method == "INVITE":
            self._invites.pop((tx.request.call_id, tx.request.cseq[0]), None)

    def close(self) -> None:
        """Stop every timer (the user agent is shutting down)."""
        for tx in list(self._client.values()):
            self.forget(tx)
        for stx in self._server.values():
            if stx._timer is not None:
                stx._timer.cancel()
        self._server.clear()
        self._invites.clear()


def non_2xx_ack(invite: SipRequest, response: SipResponse) -> SipRequest:
    """The ACK for a failed INVITE: same branch, Request-URI, Call-ID and CSeq number as
    the INVITE, the response's To (its tag) (RFC 3261 17.1.1.3)."""
    headers = Headers()
    headers.set("Via", invite.headers.get_all("Via")[0])
    for name in ("Route",):
        for value in invite.headers.get_all(name):
            headers.add(name, value)
    headers.set("Max-Forwards", "70")
    headers.set("From", invite.headers.get("From") or "")
    headers.set("To", response.headers.get("To") or "")
    headers.set("Call-ID", invite.call_id)
    headers.set("CSeq", f"{invite.cseq[0]} ACK")
    return SipRequest("ACK", invite.uri, headers)
