"""The media plane: the media worker and everything a live conversation needs.

By role, from the top down (each may import those below it, never those above):

- `server/`: the media worker's HTTP face: signalling, controls, inbound numbers.
- `carrier/`: placing calls: the simulated carrier, its HTTP service and dialer, and
  dialling a softphone.
- `conversation_line`: one call's line: the agent's leg, the other side, storage.
- `softphone/`: the bot softphone, its HTTP client, and the exchange softphones wait at.
- `legs/`: how audio reaches a conversation: WebRTC legs (agent, human), the receive buffer.
- `store/`: what the media worker writes and reads in Postgres (calls, events, agents).
- `agents/`: the agent's brain: flows, LLM agents, the shipped definitions, their set-up.
- `session/`: one conversation: hearing, speaking, supervision, the record, its trace.
- `offline/`, `cache`: speech work on a finished call's recording; a small refreshing cache.
- `audio/`, `providers/`: frames, VAD, playback, recording; speech-to-text and
  text-to-speech providers behind one interface each.
- `personas/`: the simulated carrier's scripted people (data).

May import: the `centralita` packages. Imported by activities, workflows, the API, the
workers and the benchmarks; never imports them (import-linter contracts in
`pyproject.toml`).
"""
