"""A list of durations written as people write them: ``"0s,5s,5m,30m,2h,5h,10h,1d"``.

In the kernel because settings check such lists when they are read (the webhook retry
schedule, `centralita.webhooks.retry_schedule`).
"""

from __future__ import annotations

import re
from datetime import timedelta

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_STEP = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhd])$")


def parse_schedule(text: str) -> tuple[timedelta, ...]:
    """Read a schedule setting such as ``"0s,5s,5m,30m,2h,5h,10h,1d"``.

    Each comma-separated step is a non-negative number with a unit: s, m, h or d.

    Raises:
        ValueError: an empty schedule or a step without a valid number and unit.
    """
    steps = [step.strip().lower() for step in text.split(",")]
    if steps == [""]:
        raise ValueError("the retry schedule is empty")
    parsed: list[timedelta] = []
    for index, step in enumerate(steps, start=1):
        match = _STEP.match(step)
        if match is None:
            raise ValueError(
                f"retry schedule step {index} ({step!r}) is not a number with a unit "
                "s, m, h or d, e.g. '0s,5s,5m,30m,2h,5h,10h,1d'"
            )
        parsed.append(timedelta(seconds=float(match[1]) * _UNITS[match[2]]))
    return tuple(parsed)
