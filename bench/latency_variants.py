"""The configurations the latency benchmark compares in one run, same calls, same machine.

- `before`: the agent as it was: a fixed 500 ms silence ends the caller's turn and
  every line is rendered when it is said;
- `espeak`: the agents as shipped now: no `turns:` block (the same 500 ms silence),
  backchannels, and lines rendered ahead (the greeting while the phone rings), with
  espeak-ng;
- `kokoro`: the same with the Kokoro voice (the local neural one);
- `model`: `espeak` with the turn model (`mode: model`), for reference;
- `words`: `espeak` with `turns: {mode: words}`: the turn ends at a 200 ms pause when
  the early transcript reads finished (`centralita.understanding.turn_end`).

The bots speak with espeak-ng in all of them unless `--bot-voice kokoro` makes them
speak with Kokoro voices too (closer to real callers; Whisper hears them better).
"""

from __future__ import annotations

from collections.abc import Callable

from bench.conversations import Lines
from realtime.audio.turn_settings import TurnSettings
from realtime.providers.base import TextToSpeech
from realtime.providers.espeak import EspeakTTS
from realtime.providers.kokoro import KokoroTTS
from realtime.providers.whisper import WhisperSTT

VARIANTS = ("before", "espeak", "kokoro", "model", "words")
DEFAULT_VARIANTS = ("before", "espeak", "kokoro")
MAIN = "espeak"
"""The variant the concurrency and long-call parts run on (the shipped default voice)."""

# The callers' Kokoro voices: not the agent's (ef_dora, af_heart), as real callers are
# other people.
BOT_KOKORO_VOICES = {"es": "em_alex", "en": "am_michael"}


def bot_voice(name: str) -> TextToSpeech:
    """The bots' voice: espeak-ng at 140 wpm (as the tests) or Kokoro."""
    if name == "kokoro":
        return KokoroTTS(voices=BOT_KOKORO_VOICES)
    return EspeakTTS(speed_wpm=140)


def variant_lines(name: str, stt: WhisperSTT, bots: TextToSpeech) -> Lines:
    """The conversation lines of one variant.

    Raises:
        ValueError: an unknown variant.
    """
    makers: dict[str, Callable[[], Lines]] = {
        "before": lambda: Lines(
            stt, EspeakTTS(), bot_tts=bots, turns=TurnSettings(mode="silence"), render_ahead=False
        ),
        "espeak": lambda: Lines(stt, EspeakTTS(), bot_tts=bots),
        "kokoro": lambda: Lines(stt, KokoroTTS(), bot_tts=bots),
        "model": lambda: Lines(stt, EspeakTTS(), bot_tts=bots, turns=TurnSettings(mode="model")),
        "words": lambda: Lines(stt, EspeakTTS(), bot_tts=bots, turns=TurnSettings(mode="words")),
    }
    if name not in makers:
        raise ValueError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}")
    return makers[name]()
