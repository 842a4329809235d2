"""One agent utterance on the voice track: its samples, how far it played, what was heard.

An utterance is queued whole (espeak-ng) or opened and grown piece by piece as a
streaming voice delivers it (ElevenLabs): playback starts at its first piece, and the
track waits (silence) if the stream falls behind, until the utterance is closed.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import numpy as np

from centralita.kernel.pcm import Pcm16

_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class PlayedUtterance:
    """How much of one agent utterance reached the caller.

    Attributes:
        utterance_id: as given to `enqueue`.
        text: the full text of the utterance.
        played_text: the words actually spoken: `text` cut at `played_fraction` on a
            word boundary (only whole words that were fully played).
        played_fraction: samples handed out / samples in the utterance, 0..1.
        played_ms: audio handed out, in milliseconds.
        total_ms: length of the utterance's audio, in milliseconds.
        interrupted: cut off by `interrupt()` (or `stop()`) before its end.
        first_frame_at: monotonic time its first frame was handed out by `recv()`.
    """

    utterance_id: str
    text: str
    played_text: str
    played_fraction: float
    played_ms: int
    total_ms: int
    interrupted: bool
    first_frame_at: float | None


def cut_text_at_fraction(text: str, fraction: float) -> str:
    """The words of `text` that lie wholly within its first `fraction` of characters.

    Character position stands in for time: speech duration grows roughly with the
    characters spoken. Only whole words count, so the result never claims a word
    the caller did not hear in full.
    """
    if fraction >= 1.0:
        return text.strip()
    if fraction <= 0.0:
        return ""
    limit = fraction * len(text)
    end = 0
    for match in _WORD.finditer(text):
        if match.end() > limit:
            break
        end = match.end()
    return text[:end].strip()


class Utterance:
    """One utterance's samples and playback position (the track's own bookkeeping).

    `open` is True while a streaming voice is still adding pieces (`extend`); the
    buffer grows by doubling, so a sentence streamed in a hundred pieces is not copied
    a hundred times.
    """

    __slots__ = (
        "_buf",
        "_len",
        "first_frame",
        "first_frame_at",
        "open",
        "pos",
        "text",
        "utterance_id",
    )

    def __init__(
        self,
        utterance_id: str,
        text: str,
        pcm: Pcm16,
        first_frame: asyncio.Future[float | None],
        *,
        open: bool = False,
    ) -> None:
        self.utterance_id = utterance_id
        self.text = text
        self._buf = pcm
        self._len = int(pcm.size)
        self.open = open
        self.pos = 0
        self.first_frame_at: float | None = None
        self.first_frame = first_frame

    @property
    def pcm(self) -> Pcm16:
        """The samples received so far."""
        return self._buf[: self._len]

    def extend(self, samples: Pcm16) -> None:
        """Append a streamed piece."""
        needed = self._len + int(samples.size)
        if needed > self._buf.size:
            grown = np.empty(max(needed, 2 * int(self._buf.size)), dtype=np.int16)
            grown[: self._len] = self._buf[: self._len]
            self._buf = grown
        self._buf[self._len : needed] = samples
        self._len = needed

    def resolve_first_frame(self) -> None:
        # None: dropped before a single frame went out.
        if not self.first_frame.done():
            self.first_frame.set_result(self.first_frame_at)

    def report(self, sample_rate: int, *, interrupted: bool) -> PlayedUtterance:
        total = int(self.pcm.size)
        played = min(self.pos, total)
        fraction = played / total if total else 1.0
        return PlayedUtterance(
            utterance_id=self.utterance_id,
            text=self.text,
            played_text=cut_text_at_fraction(self.text, fraction),
            played_fraction=fraction,
            played_ms=played * 1000 // sample_rate,
            total_ms=total * 1000 // sample_rate,
            interrupted=interrupted,
            first_frame_at=self.first_frame_at,
        )
