"""A voice that keeps rendered lines and renders likely ones ahead (real espeak-ng)."""

from __future__ import annotations

import asyncio
import shutil

import numpy as np
import pytest

from realtime.providers.base import ProviderError, SpeechAudio
from realtime.providers.espeak import EspeakTTS
from realtime.providers.rendered_lines import MAX_PENDING, CachedVoice

pytestmark = [
    pytest.mark.unit,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed"),
]

GREETING = "Hola, buenos días. ¿Hablo con María González?"


class CountingEspeak(EspeakTTS):
    """espeak-ng that counts the sentences it really synthesised."""

    def __init__(self, *, fail: bool = False) -> None:
        super().__init__()
        self.rendered: list[str] = []
        self.fail = fail

    async def _synthesize(self, text: str, language: str, voice: str | None) -> SpeechAudio:
        self.rendered.append(text)
        if self.fail:
            raise ProviderError("voice down", transient=False)
        return await super()._synthesize(text, language, voice)


async def said(voice: CachedVoice, text: str) -> SpeechAudio:
    pieces = [piece async for piece in voice.stream(text, language="es")]
    assert len(pieces) == 1
    return pieces[0]


async def settled(voice: CachedVoice) -> None:
    for _ in range(200):
        if not voice._waiting and not voice._rendering:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("rendering ahead did not settle")


async def test_a_line_rendered_ahead_is_said_from_memory_without_rendering_again() -> None:
    inner = CountingEspeak()
    voice = CachedVoice(inner)
    voice.prefetch([GREETING], language="es")
    await settled(voice)
    assert voice.cached(GREETING, language="es")

    audio = await said(voice, GREETING)

    assert inner.rendered == [GREETING]  # once, ahead of time
    assert audio.samples.size > audio.sample_rate  # a real sentence, over a second
    assert audio.characters == 0  # nothing new synthesised, nothing billed
    assert voice.stats.hits == 1
    assert voice.stats.misses == 0


async def test_saying_a_line_while_it_renders_ahead_waits_for_that_rendering() -> None:
    inner = CountingEspeak()
    voice = CachedVoice(inner)
    voice.prefetch([GREETING], language="es")
    await asyncio.sleep(0)  # the background rendering has started
    await asyncio.sleep(0)

    audio = await said(voice, GREETING)

    assert inner.rendered == [GREETING]
    assert audio.samples.size > 0
    assert voice.stats.joined + voice.stats.hits == 1


async def test_a_line_said_on_demand_is_kept_for_the_next_call() -> None:
    inner = CountingEspeak()
    voice = CachedVoice(inner)
    first = await said(voice, "¿Me confirma su RUT?")
    again = await said(voice, "¿Me confirma su RUT?")
    assert inner.rendered == ["¿Me confirma su RUT?"]
    assert first.characters > 0
    assert again.characters == 0
    assert np.array_equal(first.samples, again.samples)
    # Another language is another line.
    await said_en(voice, "¿Me confirma su RUT?")
    assert len(inner.rendered) == 2


async def said_en(voice: CachedVoice, text: str) -> None:
    async for _ in voice.stream(text, language="en"):
        pass


async def test_a_line_cut_off_mid_stream_is_not_kept() -> None:
    inner = CountingEspeak()
    voice = CachedVoice(inner)
    stream = voice.stream("Le llamo de Banco Andino.", language="es")
    await anext(stream)
    await stream.aclose()  # a barge-in closed it before its end
    # espeak gives the whole line as one piece: the stream never reached its end.
    assert not voice.cached("Le llamo de Banco Andino.", language="es")


async def test_a_failed_rendering_ahead_costs_nothing_and_the_line_renders_when_said() -> None:
    inner = CountingEspeak(fail=True)
    voice = CachedVoice(inner)
    voice.prefetch([GREETING], language="es")
    await settled(voice)
    assert voice.stats.failed_ahead == 1
    assert not voice.cached(GREETING, language="es")
    inner.fail = False
    audio = await said(voice, GREETING)
    assert audio.characters > 0
    assert inner.rendered == [GREETING, GREETING]


async def test_memory_is_bounded_least_recently_used_first() -> None:
    inner = CountingEspeak()
    probe = await inner.synthesize("Uno.", language="es")
    one_line = int(probe.samples.nbytes)
    voice = CachedVoice(inner, max_bytes=int(one_line * 2.5))
    for text in ("Uno.", "Dos.", "Tres."):
        await said(voice, text)
    assert voice.bytes_held <= voice.max_bytes
    assert not voice.cached("Uno.", language="es")  # the oldest went first
    assert voice.cached("Tres.", language="es")


async def test_old_guesses_are_dropped_when_the_conversation_moves_on() -> None:
    inner = CountingEspeak()
    voice = CachedVoice(inner)
    guesses = [f"Línea número {i}." for i in range(MAX_PENDING + 5)]
    voice.prefetch(guesses, language="es")
    assert voice.stats.dropped_guesses >= 4
    # The next turn's guesses replace those still waiting.
    voice.prefetch(["Otra cosa."], language="es")
    assert list(voice._waiting) in ([("es", "", "Otra cosa.")], [])
    await voice.close()


async def test_a_line_said_that_was_not_guessed_drops_the_stale_guesses() -> None:
    inner = CountingEspeak()
    voice = CachedVoice(inner)
    voice.prefetch(["Uno.", "Dos.", "Tres."], language="es")
    await said(voice, "Otra cosa distinta.")
    await settled(voice)
    assert len(inner.rendered) <= 2  # the one said, and at most the guess under way


def test_max_bytes_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        CachedVoice(EspeakTTS(), max_bytes=0)
