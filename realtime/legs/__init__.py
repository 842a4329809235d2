"""Call legs: how audio reaches a conversation.

- `agent`: the agent's WebRTC leg: its peer connection, its voice, its session.
- `human`: a person joining a call under way (a supervisor's takeover).
- `webrtc`: peer connections on loopback or with ICE servers from settings.
- `receive_buffer`: the one-frame receive buffer of the agent's incoming audio.

Phone transports (carrier media streams, SIP) land here beside them.

May import: `realtime.store`, `agents`, `session`, `offline`, `cache`, `audio`,
`providers`, the `centralita` packages; never `softphone`, `conversation_line`,
`carrier` or `server`.
"""
