"""What the signalling keeps of inbound calls: the running ones, and the ended ones' status."""

from __future__ import annotations

import asyncio
import gc
import weakref
from datetime import UTC, datetime
from typing import cast

import pytest

from centralita.kernel.calls import CallOutcome, DialResult
from realtime.legs.agent import AgentLeg
from realtime.server import signalling
from realtime.server.signalling import InboundCalls

pytestmark = pytest.mark.unit


class _Leg:
    """Stands for an agent leg, whose session holds the whole conversation."""

    def __init__(self) -> None:
        self.hung_up: str | None = None
        self.hangs_up = asyncio.Event()

    def hang_up(self, by: str = "remote") -> None:
        self.hung_up = by
        self.hangs_up.set()


def _result() -> DialResult:
    now = datetime.now(UTC)
    return DialResult(
        outcome=CallOutcome.COMPLETED,
        disconnection_reason="agent",
        started_at=now,
        ended_at=now,
        duration_s=0.0,
    )


async def _call(leg: _Leg) -> DialResult:
    await leg.hangs_up.wait()
    return _result()


async def test_an_ended_call_keeps_its_status_not_its_leg() -> None:
    calls = InboundCalls()
    leg = _Leg()
    gone = weakref.ref(leg)
    task = asyncio.create_task(_call(leg))
    calls.add("in-1", cast(AgentLeg, leg), task)
    status = calls.status("in-1")
    assert status is not None
    assert status.state == "in_progress"

    hung_up = await calls.hang_up("in-1")
    assert hung_up is not None
    assert hung_up.state == "ended"
    assert leg.hung_up == "hangup_requested"
    del leg, task
    gc.collect()
    assert gone() is None  # the leg (and its session) went with the call
    ended = calls.status("in-1")
    assert ended is not None
    assert ended.result == hung_up.result
    assert calls.status("nobody") is None


async def test_only_the_last_ended_calls_are_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(signalling, "_KEEP_ENDED", 2)
    calls = InboundCalls()
    for n in range(3):
        leg = _Leg()
        task = asyncio.create_task(_call(leg))
        calls.add(f"in-{n}", cast(AgentLeg, leg), task)
        leg.hang_up()
        await task
        await asyncio.sleep(0)  # its done callback
    assert [calls.status(f"in-{n}") is not None for n in range(3)] == [False, True, True]
