"""The media worker's audio layer.

- `frames`: aiortc audio frames to and from plain PCM, resampled.
- `vad`: voice activity detection and endpointing (webrtcvad).
- `playback`: the agent's voice track: queued speech, silence when idle, barge-in.
- `utterances`: one agent utterance on the track: its samples, how far it played.
- `live_audio`: live audio between two peer connections, through a short jitter buffer.
- `recorder`: the call's two-channel WAV (caller left, agent right).
- `synth`: test signals and espeak-ng audio for tests and the bot softphone.
- `g711`: the telephone network's µ-law and A-law (carrier media streams).
- `pushed_track`: an incoming track fed by pushes (a carrier stream's audio messages).
- `line_conditions`: a caller's line: noise and the telephone band (bots, WER set).
- `turn_model`, `silero`, `turn_settings`: when the caller's turn is over (Smart Turn,
  Silero VAD, an agent's `turns:` block).
- `dtmf`: keypad tones the agent plays to an automated menu (IVR), and reading them back.

Modules are imported one by one (`realtime.audio.vad`...) so that, say, the endpointer
does not drag in aiortc.

May import: the `centralita` packages only (the bottom layer of `realtime`, beside
`providers`).
"""
