"""Sentiment per user turn and its trend over the call."""

from __future__ import annotations

import pytest

from centralita.analysis.model import TrendLabel, TurnSentiment
from centralita.analysis.trend import end_state, slope, thirds_delta, trend, turn_sentiments

pytestmark = pytest.mark.unit


def _scores(*values: float) -> list[TurnSentiment]:
    return [TurnSentiment(turn=2 * i + 1, score=v, label="neutral") for i, v in enumerate(values)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], 0.0),
        ([0.5], 0.0),
        ([0.0, 1.0], 1.0),
        ([0.0, 0.1, 0.2, 0.3], 0.1),
        ([1.0, 0.0, -1.0], -1.0),
        ([0.2, 0.2, 0.2, 0.2], 0.0),
        # y = 0, 0, 1: x̄ = 1, ȳ = 1/3; Σ(x-x̄)(y-ȳ) = 1/3 + 2/3 = 1, Σ(x-x̄)² = 2.
        ([0.0, 0.0, 1.0], 0.5),
    ],
)
def test_slope_is_least_squares(values: list[float], expected: float) -> None:
    assert slope(values) == pytest.approx(expected)


def test_thirds_delta_compares_the_last_third_with_the_first() -> None:
    # Five turns: thirds of two (rounded up): mean(0.4, 0.6) - mean(-0.6, -0.2).
    assert thirds_delta([-0.6, -0.2, 0.0, 0.4, 0.6]) == pytest.approx(0.9)
    assert thirds_delta([0.3]) == 0.0


@pytest.mark.parametrize(
    ("values", "label"),
    [
        ([-0.7, -0.3, 0.0, 0.4, 0.6], TrendLabel.IMPROVING),
        ([0.5, 0.2, 0.0, -0.4, -0.8], TrendLabel.WORSENING),
        ([0.0, 0.1, 0.0, -0.1, 0.0], TrendLabel.STABLE),
        # One angry turn in the middle moves neither end: stable.
        ([0.2, 0.2, -0.9, 0.2, 0.2], TrendLabel.STABLE),
        ([0.4], TrendLabel.STABLE),
    ],
)
def test_trend_label_needs_slope_and_delta_to_agree(values: list[float], label: TrendLabel) -> None:
    assert trend(_scores(*values)).label is label


def test_turn_sentiments_keep_turn_indexes_and_score_the_words() -> None:
    scored = turn_sentiments(
        [(1, "Estoy harto, ya les dije que no."), (3, "Muchas gracias, muy amable.")], "es"
    )
    assert [s.turn for s in scored] == [1, 3]
    assert scored[0].score < 0 < scored[1].score
    assert scored[0].label == "frustrated"
    assert scored[1].label == "positive"
    assert trend(scored).label is TrendLabel.IMPROVING


def test_end_state_is_the_mean_of_the_last_third() -> None:
    assert end_state(_scores(-1.0, -1.0, 0.0, 0.5)) == pytest.approx(0.25)
    assert end_state([]) == 0.0
