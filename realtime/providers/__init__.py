"""Speech providers behind one interface each.

- `base`: the interfaces (speech-to-text, the agent brain, text-to-speech); the base owns
  timeouts, retries and metrics, a provider fills one hook.
- `whisper`, `whisper_models`, `whisper_window`, `repetition`: speech-to-text with
  faster-whisper on the CPU: the models shipped in PyPI packages, a shorter encoder window,
  runaway repetitions cut.
- `openai_stt`, `stt_choice`: a hosted recogniser through the `openai` client's
  transcription API, and the live and post-call recognisers the settings choose.
- `espeak`: text-to-speech with espeak-ng, the embedded default.
- `kokoro`, `kokoro_models`, `kokoro_phonemes`: Kokoro-82M, the local neural voice (the
  model joined from its PyPI parts, phonemes from the espeak-ng command).
- `elevenlabs`: ElevenLabs streaming text-to-speech.
- `rendered_lines`: a voice that keeps the lines it rendered and renders likely ones ahead.
- `sentences`: the one sentence splitter every spoken text goes through, whole
  (`split_sentences`) or streamed (`SentenceBuffer`).

Scripted fakes for tests are `tests/support/providers.py`.

May import: the `centralita` packages only (the bottom layer of `realtime`, beside
`audio`).
"""
