"""Whisper's runaway repetitions, cut back to what was said.

On short or synthetic audio Whisper sometimes loops: "la la la la ..." or "el día de
hoy, el día de hoy, ..." until its token budget runs out. Nobody says the same phrase
three times in a row on a collections call, so a run of three or more copies of a
phrase (one to six words) is kept once. The budget itself is capped by the audio's
length (`token_budget`), so a loop also costs little time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
_MAX_PHRASE_WORDS = 6
_MIN_COPIES = 3
# Spanish and English run at about 3 words (5 tokens) a second; twice that, plus room
# for a short answer, is more than any real utterance needs.
_TOKENS_PER_SECOND = 10
_TOKENS_BASE = 16
_TOKENS_MAX = 200  # Whisper's context is 448 tokens, prompt (hotwords) included


def token_budget(audio_s: float) -> int:
    """The most tokens a transcript of `audio_s` seconds should take."""
    return min(_TOKENS_MAX, _TOKENS_BASE + int(_TOKENS_PER_SECOND * max(0.0, audio_s)))


def _key(word: str) -> str:
    return re.sub(r"\W+", "", word.lower())


def collapse_repetitions(text: str) -> str:
    """`text` with every run of 3+ consecutive copies of a phrase kept once."""
    return " ".join(collapse_repeated_words(text.split(), str))


def collapse_repeated_words(words: Sequence[T], text_of: Callable[[T], str]) -> list[T]:
    """`words` (recognised words, timed or not) with every looped phrase kept once.

    The same cut as `collapse_repetitions`, on words that carry more than their text:
    a transcript's word list must say what its text says.
    """
    keys = [_key(text_of(w)) for w in words]
    out: list[T] = []
    i = 0
    while i < len(words):
        skip = _repeat_run(keys, i)
        if skip:
            size, copies = skip
            out.extend(words[i : i + size])
            i += size * copies
        else:
            out.append(words[i])
            i += 1
    return out


def _repeat_run(keys: list[str], start: int) -> tuple[int, int] | None:
    """(phrase size, copies) of the longest-covering repeated phrase at `start`, if any."""
    best: tuple[int, int] | None = None
    for size in range(1, _MAX_PHRASE_WORDS + 1):
        phrase = keys[start : start + size]
        if len(phrase) < size or not any(phrase):
            break
        copies = 1
        while keys[start + copies * size : start + (copies + 1) * size] == phrase:
            copies += 1
        if copies >= _MIN_COPIES and (best is None or size * copies > best[0] * best[1]):
            best = (size, copies)
    return best
