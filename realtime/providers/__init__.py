"""Speech providers behind one interface each.

- `base`: the interfaces (speech-to-text, the agent brain, text-to-speech); the base owns
  timeouts, retries and metrics, a provider fills one hook.
- `whisper`, `whisper_models`, `whisper_window`, `repetition`: speech-to-text with
  faster-whisper on the CPU: the models shipped in PyPI packages, a shorter encoder window,
  runaway repetitions cut.
- `espeak`: text-to-speech with espeak-ng, the embedded default.
- `elevenlabs`: ElevenLabs streaming text-to-speech.
- `sentences`: the one sentence splitter every spoken text goes through, whole
  (`split_sentences`) or streamed (`SentenceBuffer`).

Scripted fakes for tests are `tests/support/providers.py`.

May import: the `centralita` packages only (the bottom layer of `realtime`, beside
`audio`).
"""
