"""The demo's latency lines, from bodies shaped like `GET /campaigns/{id}/latency`."""

from __future__ import annotations

from typing import Any

import pytest

from workers.demo import latency_lines

pytestmark = pytest.mark.unit


def _body(
    *,
    calls: int,
    samples: int,
    v2v: tuple[float | None, float | None, float | None] = (None, None, None),
    parts: tuple[float | None, ...] = (None, None, None, None),
) -> dict[str, Any]:
    p50, p95, most = v2v
    return {
        "campaign_id": "c",
        "calls": calls,
        "turns": samples,
        "interrupted_turns": 0,
        "voice_to_voice": {"samples": samples, "p50_ms": p50, "p95_ms": p95, "max_ms": most},
        "p50": dict(
            zip(("endpointing_ms", "stt_ms", "brain_ms", "tts_first_audio_ms"), parts, strict=True)
        ),
    }


def test_percentiles_and_breakdown_with_thousands_separators() -> None:
    body = _body(
        calls=2, samples=7, v2v=(1170.4, 1600.6, 2210.0), parts=(300.0, 420.5, 12.0, 180.0)
    )

    assert latency_lines(body) == [
        "Voice-to-voice latency (7 turns over 2 calls): p50 1,170 ms · p95 1,601 ms · max 2,210 ms",
        "  p50 by part: endpointing 300 ms · STT 420 ms · brain 12 ms · TTS first audio 180 ms",
    ]


def test_singular_counts_and_an_unmeasured_part() -> None:
    body = _body(calls=1, samples=1, v2v=(905.0, 905.0, 905.0), parts=(250.0, 350.0, None, 140.0))

    first, breakdown = latency_lines(body)
    assert first.startswith("Voice-to-voice latency (1 turn over 1 call): p50 905 ms")
    assert "brain - ·" in breakdown


def test_sub_10_ms_figures_keep_a_decimal() -> None:
    body = _body(calls=1, samples=2, v2v=(905.0, 990.0, 990.0), parts=(250.0, 350.0, 0.24, 9.96))

    _, breakdown = latency_lines(body)
    assert "brain 0.2 ms" in breakdown
    assert "TTS first audio 10.0 ms" in breakdown


def test_no_conversation_is_one_line() -> None:
    assert latency_lines(_body(calls=0, samples=0)) == [
        "Latency: no conversation was held, so there is no latency to report."
    ]


def test_conversations_without_a_measured_turn_say_so() -> None:
    (line,) = latency_lines(_body(calls=2, samples=0))
    assert "2 conversations held" in line
    assert "no turn had a voice-to-voice figure" in line
