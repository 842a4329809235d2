"""SIP trunks: calls in and out through any carrier or PBX that speaks SIP; our own small
asyncio user agent.

The pure protocol pieces (`message` for RFC 3261 messages, `digest` for the digest
authentication trunks ask for, `sdp` for the offer/answer that agrees a codec) do no I/O
and are tested on their own; the transport, the RTP media and the user agent build on
them, speaking SIP over UDP and G.711 audio, so that no GPL stack (Asterisk, FreeSWITCH,
pjproject) has to live inside the media worker.
"""
