"""A voice that remembers the lines it rendered and renders likely ones ahead.

A neural voice (Kokoro) takes a few hundred milliseconds per sentence on two cores;
most of what an agent says is known before it is said. The greeting is known while
the phone rings, a flow's next lines while the caller speaks, and many lines ("¿Me
confirma su RUT?") recur on every call. `CachedVoice` wraps any `TextToSpeech`:

- `prefetch(lines)` renders lines in the background, one at a time (the CPU is shared
  with speech recognition, so rendering ahead never competes with itself);
- `stream`/`synthesize` answer from memory when the line is there, wait for a
  rendering already under way instead of starting a second one, and otherwise ask
  the wrapped voice, keeping what it said;
- memory is bounded (least recently used lines go first).

The cache is per voice (one wrapper per voice instance) and keyed by language, voice
name and text: the same words in the same voice are the same audio whichever agent
says them, so agents share their common lines. A line holding a person's details only
matches a call that says exactly those details, and lives in this process's memory
only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import AsyncGenerator, Iterable
from dataclasses import dataclass

import numpy as np

from realtime.providers.base import ProviderError, SpeechAudio, TextToSpeech

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 32 * 1024 * 1024
"""About 11 minutes of 24 kHz speech: thousands of lines, a small share of a worker."""
MAX_PENDING = 16
"""Lines waiting to be rendered ahead; older guesses are dropped for newer ones."""

_Key = tuple[str, str, str]


@dataclass
class CacheStats:
    """How the cache served lines (per process)."""

    hits: int = 0  # answered from memory
    joined: int = 0  # waited for a rendering ahead already under way
    misses: int = 0  # rendered on demand
    rendered_ahead: int = 0
    dropped_guesses: int = 0  # ahead-of-time requests dropped unrendered
    failed_ahead: int = 0

    @property
    def served_ahead(self) -> int:
        """Lines that did not wait for a whole synthesis."""
        return self.hits + self.joined


class CachedVoice(TextToSpeech):
    """`inner` with a memory of rendered lines and a background renderer."""

    def __init__(self, inner: TextToSpeech, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        # The wrapped voice keeps its own deadline and retries; this layer adds none.
        super().__init__(timeout_s=inner.timeout_s, retries=0)
        self.inner = inner
        self.name = inner.name
        self.max_bytes = max_bytes
        self.stats = CacheStats()
        self._lines: OrderedDict[_Key, SpeechAudio] = OrderedDict()
        self._bytes = 0
        self._rendering: dict[_Key, asyncio.Task[SpeechAudio | None]] = {}
        self._waiting: OrderedDict[_Key, None] = OrderedDict()
        self._wake: asyncio.Event | None = None
        self._worker: asyncio.Task[None] | None = None

    # -- what the cache holds -------------------------------------------------------

    def cached(self, text: str, *, language: str, voice: str | None = None) -> bool:
        """Whether the line is in memory now."""
        return _key(text, language, voice) in self._lines

    @property
    def bytes_held(self) -> int:
        """Audio bytes held in memory."""
        return self._bytes

    # -- rendering ahead ------------------------------------------------------------

    def prefetch(
        self,
        lines: Iterable[str],
        *,
        language: str,
        voice: str | None = None,
        replace: bool = True,
    ) -> None:
        """Render these lines in the background, in order, unless held or under way.

        Returns at once. The new guesses replace those still waiting (the conversation
        has moved on since they were made; `replace=False` queues after them); past
        `MAX_PENDING` the oldest are dropped.
        """
        if replace:
            self.stats.dropped_guesses += len(self._waiting)
            self._waiting.clear()
        for text in lines:
            if not text.strip():
                continue
            key = _key(text, language, voice)
            if key in self._lines or key in self._rendering or key in self._waiting:
                continue
            self._waiting[key] = None
            while len(self._waiting) > MAX_PENDING:
                self._waiting.popitem(last=False)
                self.stats.dropped_guesses += 1
        if self._waiting:
            self._ensure_worker().set()

    def _ensure_worker(self) -> asyncio.Event:
        if self._wake is None:
            self._wake = asyncio.Event()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._render_ahead(), name=f"{self.name}-ahead")
        return self._wake

    async def _render_ahead(self) -> None:
        """One line at a time: rendering ahead must not take both cores from the call."""
        assert self._wake is not None
        while True:
            if not self._waiting:
                self._wake.clear()
                await self._wake.wait()
                continue
            key, _ = self._waiting.popitem(last=False)
            if key in self._lines or key in self._rendering:
                continue
            task = asyncio.create_task(self._render(key))
            self._rendering[key] = task
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                task.cancel()
                raise
            finally:
                self._rendering.pop(key, None)

    async def _render(self, key: _Key) -> SpeechAudio | None:
        language, voice, text = key
        try:
            audio = await self.inner.synthesize(text, language=language, voice=voice or None)
        except ProviderError as exc:
            self.stats.failed_ahead += 1
            log.info("%s: rendering ahead failed (%s); the line renders when said", self.name, exc)
            return None
        self.stats.rendered_ahead += 1
        self._keep(key, audio)
        return audio

    async def close(self) -> None:
        """Stop rendering ahead (a process shutting down)."""
        self._waiting.clear()
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        for task in list(self._rendering.values()):
            task.cancel()

    # -- saying a line --------------------------------------------------------------

    async def synthesize(
        self, text: str, *, language: str, voice: str | None = None
    ) -> SpeechAudio:
        ready = await self._ready(_key(text, language, voice))
        if ready is not None:
            return ready
        self.stats.misses += 1
        audio = await self.inner.synthesize(text, language=language, voice=voice)
        self._keep(_key(text, language, voice), audio)
        return audio

    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        return await self.synthesize(text, language=language, voice=voice)

    async def stream(
        self, text: str, *, language: str, voice: str | None = None
    ) -> AsyncGenerator[SpeechAudio, None]:
        """The held line in one piece, else the wrapped voice's stream (kept when whole)."""
        key = _key(text, language, voice)
        ready = await self._ready(key)
        if ready is not None:
            yield ready
            return
        self.stats.misses += 1
        # Said now, and not guessed: the guesses still waiting are stale, and would
        # only hold the voice's CPU while the caller waits for this line.
        self.stats.dropped_guesses += len(self._waiting)
        self._waiting.clear()
        pieces: list[SpeechAudio] = []
        async for piece in self.inner.stream(text, language=language, voice=voice):
            pieces.append(piece)
            yield piece
        # Reached only when the stream ran to its end: a line cut by a barge-in (the
        # consumer closed us) or a failed stream is not kept.
        whole = _joined(pieces)
        if whole is not None:
            self._keep(key, whole)

    async def _ready(self, key: _Key) -> SpeechAudio | None:
        """The line from memory, or from a rendering ahead already under way."""
        held = self._lines.get(key)
        if held is not None:
            self._lines.move_to_end(key)
            self.stats.hits += 1
            return _served(held)
        under_way = self._rendering.get(key)
        if under_way is None:
            return None
        audio = await asyncio.shield(under_way)
        if audio is None:
            return None
        self.stats.joined += 1
        return _served(audio)

    def _keep(self, key: _Key, audio: SpeechAudio) -> None:
        size = int(np.asarray(audio.samples).nbytes)
        if size == 0 or size > self.max_bytes:
            return
        old = self._lines.pop(key, None)
        if old is not None:
            self._bytes -= int(np.asarray(old.samples).nbytes)
        self._lines[key] = audio
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, evicted = self._lines.popitem(last=False)
            self._bytes -= int(np.asarray(evicted.samples).nbytes)


def _key(text: str, language: str, voice: str | None) -> _Key:
    return (language, voice or "", text.strip())


def _served(audio: SpeechAudio) -> SpeechAudio:
    """A held line as said again: nothing new was synthesised (no characters billed)."""
    return SpeechAudio(
        samples=audio.samples, sample_rate=audio.sample_rate, characters=0, first_audio_ms=0.0
    )


def _joined(pieces: list[SpeechAudio]) -> SpeechAudio | None:
    """A streamed line's pieces as one (None: nothing, or pieces at several rates)."""
    if not pieces or len({p.sample_rate for p in pieces}) != 1:
        return None
    samples = np.concatenate([np.asarray(p.samples, dtype=np.int16) for p in pieces])
    return SpeechAudio(
        samples=samples,
        sample_rate=pieces[0].sample_rate,
        characters=sum(p.characters for p in pieces),
    )
