"""The media plane: the media worker and everything a live conversation needs.

`server/` (HTTP, signalling, controls) over `conversation_line` (one call's legs, session
and storage) over `legs/` (WebRTC today; phone streams and SIP next) and `session/` (the
conversation: hearing, the brain, speaking, supervision, the record), over `agents/`
(flows and LLM brains), `audio/`, `providers/` (STT, TTS), `store/` (what the media worker
writes), `carrier/` (the simulated carrier and the dialer's HTTP contract), `softphone/`
(the bot softphone), `offline/` (speech work on recordings, for post-call).

May import: the `centralita` packages. Imported by activities, the API and the workers;
never imports them.
"""
