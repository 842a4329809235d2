"""The webhook retry schedule: steps, jitter, Retry-After, the settings string."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from centralita.kernel.durations import parse_schedule
from centralita.webhooks.retry_schedule import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_SCHEDULE,
    MAX_RETRY_AFTER,
    delay_before,
    parse_retry_after,
)

pytestmark = pytest.mark.unit

S, M, H, D = (timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1), timedelta(days=1))
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def test_the_default_steps_then_daily() -> None:
    delays = [delay_before(n, jitter=0) for n in range(1, DEFAULT_MAX_ATTEMPTS + 3)]
    assert delays[:8] == [0 * S, 5 * S, 5 * M, 30 * M, 2 * H, 5 * H, 10 * H, D]
    assert delays[7:] == [D] * (len(delays) - 7)


def test_the_default_attempts_span_about_a_week() -> None:
    total = sum((delay_before(n, jitter=0) for n in range(1, DEFAULT_MAX_ATTEMPTS + 1)), 0 * S)
    assert DEFAULT_MAX_ATTEMPTS == 14
    assert total == 7 * D + 17 * H + 35 * M + 5 * S


def test_a_custom_schedule_repeats_its_last_step() -> None:
    schedule = (0 * S, 10 * S, 1 * M)
    assert [delay_before(n, schedule, jitter=0) for n in range(1, 6)] == [
        0 * S,
        10 * S,
        M,
        M,
        M,
    ]


def test_the_first_attempt_is_immediate_whatever_the_jitter() -> None:
    for seed in range(50):
        assert delay_before(1, jitter=0.5, rng=random.Random(seed)) == 0 * S


@given(attempt=st.integers(1, 60), seed=st.integers(0, 2**32), jitter=st.floats(0, 1))
def test_jitter_stays_within_its_fraction(attempt: int, seed: int, jitter: float) -> None:
    base = DEFAULT_SCHEDULE[min(attempt, len(DEFAULT_SCHEDULE)) - 1]
    delay = delay_before(attempt, jitter=jitter, rng=random.Random(seed))
    slack = timedelta(milliseconds=1)  # delays are rounded to the millisecond
    assert base * (1 - jitter) - slack <= delay <= base * (1 + jitter) + slack


def test_jitter_spreads_endpoints_that_fail_together() -> None:
    delays = {delay_before(5, rng=random.Random(seed)) for seed in range(200)}
    assert len(delays) > 150
    assert min(delays) < 2 * H * 0.95
    assert max(delays) > 2 * H * 1.05


def test_a_seeded_rng_makes_the_schedule_replayable() -> None:
    def run(seed: int) -> list[timedelta]:
        rng = random.Random(seed)
        return [delay_before(n, rng=rng) for n in range(1, DEFAULT_MAX_ATTEMPTS + 1)]

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_retry_after_replaces_the_step_and_is_never_shortened() -> None:
    for seed in range(100):
        delay = delay_before(6, rng=random.Random(seed), retry_after=42 * S)
        assert 42 * S <= delay <= 42 * S * 1.1
    assert delay_before(2, jitter=0, retry_after=90 * M) == 90 * M


def test_retry_after_is_capped_and_floored() -> None:
    assert delay_before(3, jitter=0, retry_after=30 * D) == MAX_RETRY_AFTER == D
    assert delay_before(3, jitter=0, retry_after=-5 * S) == 0 * S


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attempt": 0}, "count from 1"),
        ({"attempt": 1, "schedule": ()}, "empty"),
        ({"attempt": 2, "jitter": 1.5}, "jitter"),
        ({"attempt": 2, "jitter": -0.1}, "jitter"),
        ({"attempt": 2, "schedule": (0 * S, -5 * S)}, "negative"),
    ],
)
def test_bad_arguments_raise(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        delay_before(**kwargs)  # type: ignore[arg-type]


def test_parse_schedule_reads_the_default() -> None:
    assert parse_schedule("0s,5s,5m,30m,2h,5h,10h,1d") == DEFAULT_SCHEDULE
    assert parse_schedule(" 0S , 1.5m,2H ") == (0 * S, 90 * S, 2 * H)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("5", "step 1"),
        ("5s,,5m", "step 2"),
        ("0s,5x", "step 2"),
        ("-5s", "step 1"),
        ("5 minutes", "step 1"),
    ],
)
def test_parse_schedule_names_the_bad_step(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_schedule(text)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120 * S),
        (" 0 ", 0 * S),
        ("Mon, 03 Mar 2025 09:01:30 GMT", 90 * S),
        ("Mon, 03 Mar 2025 09:01:30 -0000", 90 * S),
        ("Mon, 03 Mar 2025 08:00:00 GMT", 0 * S),  # already past: try now
        ("999999999999999999999999", MAX_RETRY_AFTER),
        ("Tue, 04 Mar 2025 12:00:00 GMT", MAX_RETRY_AFTER),
        (None, None),
        ("", None),
        ("soon", None),
        ("-5", None),
        ("1.5", None),
    ],
)
def test_parse_retry_after(header: str | None, expected: timedelta | None) -> None:
    assert parse_retry_after(header, NOW) == expected


def test_parse_retry_after_wants_an_aware_now() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_retry_after("5", datetime(2025, 1, 1))
