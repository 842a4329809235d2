"""The latency benchmark's arithmetic: percentiles, the RSS slope, the capacity found."""

from __future__ import annotations

import pytest

from bench.conversations import measured, summarise
from bench.stats import least_squares_slope, max_level_within, p50_p95, percentile, worst_p95
from realtime.session.record import TurnMetrics

pytestmark = pytest.mark.unit


def test_percentiles_interpolate_like_numpy() -> None:
    values = [100.0, 200.0, 300.0, 400.0, 500.0]
    assert percentile(values, 50) == 300.0
    assert percentile(values, 95) == 480.0  # 400 + 0.8 * 100
    assert p50_p95([7.0]) == {"p50_ms": 7.0, "p95_ms": 7.0}


def test_no_values_give_no_percentile() -> None:
    assert percentile([], 50) is None
    assert p50_p95([]) == {"p50_ms": None, "p95_ms": None}


def test_slope_of_a_line_and_of_noise_around_it() -> None:
    minutes = [0.0, 1.0, 2.0, 3.0]
    assert least_squares_slope(minutes, [100.0, 102.0, 104.0, 106.0]) == pytest.approx(2.0)
    assert least_squares_slope(minutes, [100.0, 103.0, 103.0, 106.0]) == pytest.approx(1.8)
    assert least_squares_slope(minutes, [50.0] * 4) == 0.0


@pytest.mark.parametrize(
    ("xs", "ys", "why"),
    [
        ([1.0], [2.0], "at least two points"),
        ([1.0, 2.0], [1.0], "2 xs for 1 ys"),
        ([3.0, 3.0], [1.0, 2.0], "every x is the same"),
    ],
)
def test_slope_needs_two_distinct_points(xs: list[float], ys: list[float], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        least_squares_slope(xs, ys)


def test_capacity_is_the_largest_level_within_the_limit() -> None:
    assert max_level_within({1: 900.0, 2: 1200.0, 4: 1700.0}, 1500) == 2
    assert max_level_within({1: 900.0, 2: 1500.0}, 1500) == 2
    assert max_level_within({1: 1600.0}, 1500) == 0
    assert max_level_within({1: 900.0, 2: None}, 1500) == 1
    assert max_level_within({}, 1500) == 0


def test_reprompts_are_left_out_of_the_summary() -> None:
    turns = [
        TurnMetrics(0, "sí", voice_to_voice_ms=1000.0, stt_ms=400.0, endpointing_ms=600.0),
        TurnMetrics(1, "", agent_text="¿Sigue ahí?"),  # a re-prompt after silence
        TurnMetrics(2, "no", voice_to_voice_ms=1200.0, stt_ms=500.0, endpointing_ms=600.0),
    ]
    assert [t.index for t in measured(turns)] == [0, 2]
    summary = summarise(measured(turns))
    assert summary["turns"] == 2
    assert summary["p50_ms"] == 1100.0
    assert summary["breakdown"]["stt_ms"] == {"p50_ms": 450.0, "p95_ms": 495.0}
    assert summary["breakdown"]["brain_ms"] == {"p50_ms": None, "p95_ms": None}


def test_a_levels_p95_is_the_worse_of_the_agents_and_the_bots() -> None:
    assert worst_p95({"p95_ms": 900.0, "bot_p95_ms": 1100.0}) == 1100.0
    assert worst_p95({"p95_ms": 1300.0, "bot_p95_ms": 1100.0}) == 1300.0
    assert worst_p95({"p95_ms": 900.0, "bot_p95_ms": None}) is None  # the bot heard nothing
    assert worst_p95({"p95_ms": 900.0}) is None
