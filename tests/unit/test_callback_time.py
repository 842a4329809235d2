"""A callback time from a call's extraction is kept within reach of the calendar.

One asked for near year 9999 (or infinitely far) overflowed the date arithmetic that
follows it, so the call's result could never be stored and its activity was retried.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from centralita.campaigns.dial_gate import (
    DEFAULT_CALLBACK_DELAY,
    MAX_CALLBACK_AHEAD,
    Action,
    ContactFacts,
    after_attempt,
    callback_time,
)
from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.calls import CallOutcome

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
FACTS = ContactFacts(
    phones=["+56961234567"], phone_index=0, opted_out=set(), recipient_tz="UTC", history=[]
)


@pytest.mark.parametrize(
    "extracted",
    [
        {"callback_at": "9999-12-31T23:59:59+00:00"},
        {"callback_at": "3026-01-01T00:00:00+00:00"},
        {"callback_in_minutes": 10**12},
        {"callback_in_minutes": float("inf")},
        {"callback_in_minutes": 10**300},
    ],
)
def test_a_callback_asked_too_far_ahead_is_kept_a_year_ahead(extracted: dict[str, Any]) -> None:
    assert callback_time(extracted, NOW) == NOW + MAX_CALLBACK_AHEAD
    decision = after_attempt(
        CallOutcome.CALLBACK_REQUESTED, extracted, FACTS, CampaignPolicy(), NOW
    )
    assert decision.action is Action.WAIT
    assert decision.callback_at == NOW + MAX_CALLBACK_AHEAD


@pytest.mark.parametrize(
    ("extracted", "expected"),
    [
        ({"callback_at": "2026-12-02T10:00:00+00:00"}, datetime(2026, 12, 2, 10, tzinfo=UTC)),
        ({"callback_at": "2020-01-01T00:00:00+00:00"}, NOW),
        ({"callback_in_minutes": 90}, NOW + timedelta(minutes=90)),
        ({"callback_in_minutes": float("nan")}, NOW + DEFAULT_CALLBACK_DELAY),
        ({"callback_in_minutes": True}, NOW + DEFAULT_CALLBACK_DELAY),
        ({"callback_in_minutes": -5}, NOW + DEFAULT_CALLBACK_DELAY),
        ({}, NOW + DEFAULT_CALLBACK_DELAY),
    ],
)
def test_a_callback_within_reach_is_kept_as_asked(
    extracted: dict[str, Any], expected: datetime
) -> None:
    assert callback_time(extracted, NOW) == expected
