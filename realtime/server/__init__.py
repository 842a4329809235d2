"""The media worker's HTTP face.

- `app`: the FastAPI app: health, signalling, controls, the carrier service.
- `signalling`: WebRTC signalling over HTTP (SDP offers and answers, both directions).
- `inbound`: which agent answers a number, and what it knows about the caller.
- `media_streams`: the WebSocket carriers stream phone calls to (`/carrier/{carrier}/stream`).
- `carrier_webhooks`: the carriers' signed status and AMD callbacks (`/carrier/twilio/status`).
- `telnyx_webhooks`: Telnyx's Ed25519-signed call events (`/carrier/telnyx/events`).
- `phone_inbound`: calls to the tenants' routed numbers (`/carrier/twilio/voice`).
- `controls`: a supervisor's controls on live calls (`/live-calls/{key}/control`, `/join`).

May import: everything else in `realtime` and the `centralita` packages (it is the top
layer of the media plane).
"""
