"""SIP trunks: calls in and out through any carrier or PBX that speaks SIP; our own small
asyncio user agent.

The pure protocol pieces (`message` for RFC 3261 messages, `digest` for the digest
authentication trunks ask for, `sdp` for the offer/answer that agrees a codec) do no I/O
and are tested on their own. Over them: `transport` (UDP), `transactions` (RFC 3261 17:
retransmissions over a lossy link), `dialog`, `user_agent` (calls in and out, BYE,
re-INVITE, REFER, INFO), `registration` (REGISTER kept fresh); and the media: `rtp`,
`jitter`, `telephone_event` (RFC 4733 keys), `rtp_session` (one call's UDP port).

Why our own (2026-12): the PyPI options were weighed for licence, asyncio, codecs, DTMF
and upkeep. pyVoIP and its fork rfcvoip are GPL-3.0 and run on threads; pjsua2 wraps
pjproject (GPL-2.0-or-later); both are fine as test peers, never inside the media worker.
sippy is a B2BUA with no media. aiosip (Apache-2.0) has had no release since 2017 and no
SDP. aiosipua with aiortp (asyncio, typed) is the closest fit, but is months old with
one maintainer, and answers calls rather than places them (no outbound INVITE with
digest, ring timeout and CANCEL, no REFER). What a trunk needs of a user agent is
small and well specified, so we keep it here, tested against real SIP software (baresip,
SIPp: `tests/support/sip_peers.py`).
"""
