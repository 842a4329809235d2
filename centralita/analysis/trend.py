"""The caller's mood across a call: a score per user turn and which way it went.

Scores come from the live lexicon (`centralita.understanding.sentiment`), so a supervisor
sees the same numbers after the call as during it. The trend needs two views because
each misleads alone: a least-squares slope is pulled by one angry turn in the middle,
and a first-third / last-third delta ignores everything in between. A call is
"improving" or "worsening" only when both agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import fmean

from centralita.analysis.model import SentimentTrend, TrendLabel, TurnSentiment
from centralita.understanding.sentiment import score_sentiment

# Thresholds on the [-1, 1] score scale: a delta of 0.2 is about one turn going from
# neutral to a "gracias" or an "ya les dije".
_DELTA_MIN = 0.2
# Slope per user turn; below this the line is flat whatever the delta says.
_SLOPE_MIN = 0.02


def turn_sentiments(texts: Sequence[tuple[int, str]], language: str) -> list[TurnSentiment]:
    """Score each user turn.

    Args:
        texts: (turn index, text) of the user turns, in order.
        language: "es" or "en".

    Returns:
        One score and label per turn.
    """
    sentiments = []
    for index, text in texts:
        scored = score_sentiment(text, language)
        sentiments.append(TurnSentiment(turn=index, score=scored.score, label=scored.label.value))
    return sentiments


def slope(values: Sequence[float]) -> float:
    """Least-squares slope of `values` over their positions 0, 1, 2…

    Args:
        values: The series.

    Returns:
        The slope; 0 for fewer than two values.
    """
    n = len(values)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = fmean(values)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    variance = sum((x - mean_x) ** 2 for x in range(n))
    return covariance / variance


def thirds_delta(values: Sequence[float]) -> float:
    """Mean of the last third minus mean of the first third (thirds rounded up).

    Args:
        values: The series.

    Returns:
        The delta; 0 for fewer than two values.
    """
    if len(values) < 2:
        return 0.0
    third = math.ceil(len(values) / 3)
    return fmean(values[-third:]) - fmean(values[:third])


def trend(sentiments: Sequence[TurnSentiment]) -> SentimentTrend:
    """Which way the caller's mood went.

    Args:
        sentiments: The user turns' scores, in order.

    Returns:
        Slope, delta and the label: improving or worsening only when both the slope and
        the delta pass their thresholds in the same direction, stable otherwise.
    """
    scores = [s.score for s in sentiments]
    m, d = slope(scores), thirds_delta(scores)
    if m >= _SLOPE_MIN and d >= _DELTA_MIN:
        label = TrendLabel.IMPROVING
    elif m <= -_SLOPE_MIN and d <= -_DELTA_MIN:
        label = TrendLabel.WORSENING
    else:
        label = TrendLabel.STABLE
    return SentimentTrend(slope=round(m, 4), delta=round(d, 4), label=label)


def end_state(sentiments: Sequence[TurnSentiment]) -> float:
    """The mean score of the last third of user turns (0 with none).

    Args:
        sentiments: The user turns' scores, in order.

    Returns:
        A value in [-1, 1].
    """
    if not sentiments:
        return 0.0
    third = math.ceil(len(sentiments) / 3)
    return fmean(s.score for s in sentiments[-third:])
