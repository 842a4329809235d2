"""Who a bot speaks as: the line's bot voice, espeak-ng, or a Kokoro voice.

A persona's script may name its voice (`voice: kokoro:em_alex`) so that the agent is
tested against a natural voice, not only espeak-ng's; one Kokoro voice object per name
is shared by every bot in the process (the model itself is loaded once anyway).
"""

from __future__ import annotations

from realtime.providers.base import TextToSpeech
from realtime.providers.espeak import EspeakTTS
from realtime.providers.kokoro import KokoroTTS

# espeak-ng at 140 wpm, as the bots have always spoken (see tests/e2e/test_conversations.py).
BOT_ESPEAK_WPM = 140

_voices: dict[str, TextToSpeech] = {}


def speaking_voice(spec: str | None, default: TextToSpeech) -> TextToSpeech:
    """The voice a script's `voice` names (`espeak`, `kokoro:<voice>`), else `default`.

    Raises:
        ValueError: a spec that is neither (scripts validate it first).
    """
    if spec is None:
        return default
    known = _voices.get(spec)
    if known is not None:
        return known
    if spec == "espeak":
        voice: TextToSpeech = EspeakTTS(speed_wpm=BOT_ESPEAK_WPM)
    elif spec.startswith("kokoro:"):
        voice = KokoroTTS(voices={"*": spec.removeprefix("kokoro:")})
    else:
        raise ValueError(f"unknown bot voice {spec!r}: espeak or kokoro:<voice>")
    _voices[spec] = voice
    return voice
