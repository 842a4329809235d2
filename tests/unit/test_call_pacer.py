"""The calls-per-second limit of a carrier account."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from realtime.carrier.phone_line import CallPacer, PhoneLineConfig

pytestmark = pytest.mark.unit


async def test_calls_wait_their_turn_at_the_account_s_rate() -> None:
    pacer = CallPacer(calls_per_second=20)  # 50 ms apart
    placed: list[float] = []

    async def place() -> None:
        await pacer.turn()
        placed.append(time.monotonic())

    await asyncio.gather(*(place() for _ in range(6)))
    gaps = [b - a for a, b in itertools.pairwise(placed)]
    assert len(placed) == 6
    assert min(gaps) >= 0.045  # never faster (a loaded machine only makes them slower)


async def test_a_call_after_a_quiet_spell_goes_at_once() -> None:
    clock = [100.0]
    pacer = CallPacer(calls_per_second=1, clock=lambda: clock[0])
    await pacer.turn()
    clock[0] += 5.0  # nobody called for five seconds
    started = time.monotonic()
    await pacer.turn()
    assert time.monotonic() - started < 0.5


def test_an_impossible_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="calls_per_second"):
        PhoneLineConfig(public_base="https://m.example", from_numbers=("+1",), calls_per_second=0)
