"""Call legs: how audio reaches a conversation.

- `agent`: the agent's WebRTC leg: its peer connection, its voice, its session.
- `human`: a person joining a call under way (a supervisor's takeover).
- `webrtc`: peer connections on loopback or with ICE servers from settings.
- `receive_buffer`: the one-frame receive buffer of the agent's incoming audio.
- `media_stream`: the agent's side of a phone call streamed by a carrier (Twilio,
  Telnyx): G.711 both ways, `clear` on barge-in, marks, key presses.
- `stream_messages`: the carriers' media stream messages, parsed and built.
- `talking`: what every leg offers the conversation line, and the session it opens.

SIP lands here next, beside them.

May import: `realtime.store`, `agents`, `session`, `offline`, `cache`, `audio`,
`providers`, the `centralita` packages; never `softphone`, `conversation_line`,
`carrier` or `server`.
"""
