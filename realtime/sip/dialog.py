"""A SIP dialog (RFC 3261 section 12): what two user agents share once a call is set up,
and how requests inside it are addressed.

Both sides' tagged addresses, the Call-ID, our CSeq counter, the far end's target (its
Contact) and the route set (Record-Route). Requests in the dialog (BYE, re-INVITE,
REFER, INFO) are built by `request`, and sent to `peer`: the address the dialog's
messages travel through (the trunk's proxy for our calls out, the source of an INVITE
for calls in). Sending back where the INVITE came from, rather than to whatever its
Contact says, is what works through NAT and with PBXs that write private addresses.
"""

from __future__ import annotations

from dataclasses import dataclass

from realtime.sip.message import Headers, NameAddr, SipRequest, new_branch
from realtime.sip.transport import Address


@dataclass
class Dialog:
    """One call's dialog state."""

    call_id: str
    local: NameAddr  # our address, with our tag
    remote: NameAddr  # theirs, with their tag
    remote_target: str  # the far end's Contact URI: the Request-URI of our requests
    route_set: tuple[str, ...]
    local_seq: int
    contact: str  # our Contact header value
    peer: Address
    via_host: str  # what our Via says (the address the far end answers to)
    via_port: int
    user_agent: str = "Centralita"

    @property
    def key(self) -> tuple[str, str]:
        """How the user agent finds the dialog of a request: Call-ID and our tag."""
        return self.call_id, self.local.tag or ""

    def request(
        self,
        method: str,
        *,
        body: bytes = b"",
        content_type: str | None = None,
        extra: tuple[tuple[str, str], ...] = (),
    ) -> SipRequest:
        """The next request of the dialog (its own CSeq number; an ACK is built by `ack`)."""
        self.local_seq += 1
        return self._build(method, self.local_seq, body, content_type, extra)

    def ack(self, invite_seq: int, *, body: bytes = b"") -> SipRequest:
        """The ACK for our INVITE's 2xx (its CSeq number, a new branch)."""
        return self._build("ACK", invite_seq, body, None, ())

    def _build(
        self,
        method: str,
        seq: int,
        body: bytes,
        content_type: str | None,
        extra: tuple[tuple[str, str], ...],
    ) -> SipRequest:
        headers = Headers()
        headers.set(
            "Via", f"SIP/2.0/UDP {self.via_host}:{self.via_port};branch={new_branch()};rport"
        )
        for route in self.route_set:
            headers.add("Route", route)
        headers.set("Max-Forwards", "70")
        headers.set("From", str(self.local))
        headers.set("To", str(self.remote))
        headers.set("Call-ID", self.call_id)
        headers.set("CSeq", f"{seq} {method}")
        headers.set("Contact", self.contact)
        headers.set("User-Agent", self.user_agent)
        for name, value in extra:
            headers.add(name, value)
        if content_type is not None:
            headers.set("Content-Type", content_type)
        return SipRequest(method, self.remote_target, headers, body)
