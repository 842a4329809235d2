"""When to try a webhook delivery again.

Pure and deterministic given a seeded `random.Random`, so the delivery workflow calls it
directly (passing `workflow.random()`). The default follows the widely used Standard
Webhooks / Svix schedule — immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h — and then
retries daily.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

DEFAULT_SCHEDULE: tuple[timedelta, ...] = (
    timedelta(0),
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(days=1),  # the last step repeats
)

# The seven steps above (17 h 35 min in all) and then seven daily tries: an endpoint down
# for a long weekend plus a few days still receives every event, about 7 days 18 h after
# the first attempt. An endpoint silent longer than a week is dead, not flaky; its events
# stay stored and can be replayed.
DEFAULT_MAX_ATTEMPTS = 14

# A receiver's Retry-After is honoured up to a day, the longest gap in the schedule: a
# larger ask is more likely a misconfiguration than a plan.
MAX_RETRY_AFTER = timedelta(days=1)


def delay_before(
    attempt: int,
    schedule: Sequence[timedelta] = DEFAULT_SCHEDULE,
    *,
    jitter: float = 0.1,
    rng: random.Random | None = None,
    retry_after: timedelta | None = None,
) -> timedelta:
    """How long to wait before attempt number `attempt` (1-based; attempt 1 is the first).

    Past the end of `schedule` its last step repeats. Non-zero delays move by up to
    ±`jitter` of themselves so that endpoints failing together are not retried together.
    A receiver's `retry_after` replaces the schedule's delay (capped at `MAX_RETRY_AFTER`);
    its jitter only adds, so we never come back earlier than asked.

    Args:
        attempt: the attempt about to be made, from 1.
        schedule: delays before attempts 1, 2, ...
        jitter: the fraction of a delay it may move by, from 0 to 1.
        rng: the random source; workflows must pass `workflow.random()` so replays agree.
        retry_after: what the last response asked for, if anything.

    Raises:
        ValueError: attempt below 1, an empty schedule or a negative step, jitter outside
            [0, 1].
    """
    if attempt < 1:
        raise ValueError(f"attempts count from 1, got {attempt}")
    if not schedule:
        raise ValueError("the retry schedule is empty")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be a fraction from 0 to 1, got {jitter}")
    source = rng if rng is not None else random.Random()  # noqa: S311 - spreading retries, not secrets
    if retry_after is not None:
        asked = min(max(retry_after, timedelta(0)), MAX_RETRY_AFTER)
        return _round_ms(asked * (1.0 + jitter * source.random()))
    base = schedule[min(attempt, len(schedule)) - 1]
    if base < timedelta(0):
        raise ValueError(f"the retry schedule has a negative step: {base}")
    if not base:
        return base
    return _round_ms(base * (1.0 + jitter * source.uniform(-1.0, 1.0)))


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for (RFC 9110: delta-seconds or HTTP-date).

    A date in the past means "now" (zero). The result is capped at `MAX_RETRY_AFTER`.
    Returns None when the header is absent or unreadable: the schedule then decides.

    Raises:
        ValueError: `now` is naive.
    """
    if now.tzinfo is None:
        raise ValueError("pass a timezone-aware `now` (e.g. workflow.now())")
    text = (value or "").strip()
    if not text:
        return None
    if text.isascii() and text.isdigit():
        # Compare as integers first: a huge number would overflow timedelta.
        return min(timedelta(seconds=min(int(text), 10**9)), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC with unknown local zone
        when = when.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)


def _round_ms(delay: timedelta) -> timedelta:
    return timedelta(milliseconds=round(delay / timedelta(milliseconds=1)))
