"""Call legs: how audio reaches a conversation. The agent's WebRTC leg (`agent`), a
person joining a call (`human`), peer connections on loopback or with ICE servers
(`webrtc`) and the short receive buffer (`receive_buffer`). Phone transports (carrier media
streams, SIP) land here beside them.

May import: `realtime.session`, `realtime.audio`, `realtime.providers` and below.
"""
