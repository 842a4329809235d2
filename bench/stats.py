"""Small pure helpers the benchmarks share: percentiles, slopes, capacity."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def percentile(values: Sequence[float], q: float) -> float | None:
    """The `q`-th percentile (numpy's linear interpolation), rounded to 0.1; None if empty."""
    if not values:
        return None
    return round(float(np.percentile(np.asarray(values, dtype=float), q)), 1)


def p50_p95(values: Sequence[float]) -> dict[str, float | None]:
    """`{"p50_ms": ..., "p95_ms": ...}` of millisecond values (None where there are none)."""
    return {"p50_ms": percentile(values, 50), "p95_ms": percentile(values, 95)}


def least_squares_slope(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Slope of the least-squares line through the points (ys per unit of xs).

    Raises:
        ValueError: fewer than two points, lengths differ, or every x is the same.
    """
    if len(xs) != len(ys):
        raise ValueError(f"{len(xs)} xs for {len(ys)} ys")
    if len(xs) < 2:
        raise ValueError("a slope needs at least two points")
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    spread = float(np.sum((x - x.mean()) ** 2))
    if spread == 0.0:
        raise ValueError("every x is the same: no slope")
    return float(np.sum((x - x.mean()) * (y - y.mean())) / spread)


def max_level_within(p95_by_level: Mapping[int, float | None], limit_ms: float) -> int:
    """The largest concurrency level whose p95 is within `limit_ms` (0 when none is).

    A level with no measured turns (p95 None) does not count as within the limit.
    """
    within = [k for k, p95 in p95_by_level.items() if p95 is not None and p95 <= limit_ms]
    return max(within, default=0)


def worst_p95(level: Mapping[str, Any]) -> float | None:
    """A level's p95 as the caller hears it: the bot's, or the agent's if that is worse.

    The bot's figure adds what the agent cannot see (the network both ways, the bot's
    own receive buffer), so the concurrency limit holds for what a person would hear.
    """
    figures = [level.get("p95_ms"), level.get("bot_p95_ms")]
    if any(f is None for f in figures):
        return None
    return max(float(f) for f in figures if f is not None)
