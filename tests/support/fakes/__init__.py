"""Local fakes of paid services, speaking their real wire protocols over loopback.

- `openai_server`: an OpenAI-compatible chat server streaming real chunks, failing on cue.
- `elevenlabs_server`: the ElevenLabs streaming endpoint, real speech (espeak-ng) as PCM.
- `loopback`: serving a FastAPI app on a free 127.0.0.1 port for a block.
- `phone_caller`: a carrier's media stream (Twilio, Telnyx) calling our media worker's
  WebSocket, a scripted bot on the phone; the carrier's playout, marks and clear.
- `twilio_server`: a local Twilio: the Calls API, signed status and AMD callbacks, and
  personas answering through `phone_caller`.
- `telnyx_server`: a local Telnyx: Call Control's Dial and Hangup, Ed25519-signed
  webhooks, AMD, and personas answering through `phone_caller` in PCMU or PCMA.
- `twilio_whatsapp`: Twilio's Messages API for WhatsApp and its signed status callbacks.
- `meta_whatsapp`: Meta's WhatsApp Cloud API, its webhook handshake and signed statuses.

May import: everything.
"""
