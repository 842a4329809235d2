"""A campaign policy is checked whole by its model, for every way one is built.

The API's creation and edits, the campaign workflow's update validator and the activities
that read a stored one all go through `CampaignPolicy`; a stored one that is not valid is
read as a problem to show, never as an exception that hides its row.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

import pytest
from pydantic import ValidationError

from api.schemas import PolicyPatch
from centralita.campaigns.calling_rules import CampaignSchedule
from centralita.campaigns.policy import CampaignPolicy, read_stored_policy
from centralita.campaigns.store.campaigns import CampaignRow
from workflows.campaign import CampaignWorkflow

pytestmark = pytest.mark.unit


def _schedule(**fields: Any) -> dict[str, Any]:
    return {"schedule": fields}


BAD: list[Any] = [
    pytest.param(_schedule(weekdays=[9]), ("schedule", "weekdays", 0), id="weekday-9"),
    pytest.param(_schedule(weekdays=[7]), ("schedule", "weekdays", 0), id="weekday-7"),
    pytest.param(_schedule(weekdays=[-1]), ("schedule", "weekdays", 0), id="weekday-minus-1"),
    pytest.param(_schedule(weekdays=[]), ("schedule", "weekdays"), id="no-weekdays"),
    pytest.param(_schedule(weekdays=[2, 2]), ("schedule", "weekdays"), id="weekday-twice"),
    pytest.param(_schedule(holiday_country="ZZ"), ("schedule", "holiday_country"), id="ZZ"),
    pytest.param(_schedule(holiday_country=""), ("schedule", "holiday_country"), id="blank"),
    pytest.param(_schedule(timezone="Mars/Olympus"), ("schedule", "timezone"), id="mars"),
    pytest.param(_schedule(timezone="../etc/passwd"), ("schedule", "timezone"), id="path"),
    pytest.param(_schedule(batch_slots=[]), ("schedule", "batch_slots"), id="no-slots"),
    pytest.param(
        _schedule(batch_slots=["09:00", "09:00:00"]), ("schedule", "batch_slots"), id="slot-twice"
    ),
    pytest.param(
        _schedule(batch_slots=["09:00"], window_end="09:00"),
        ("schedule", "window_end"),
        id="empty-window",
    ),
    pytest.param(
        _schedule(batch_slots=["09:00", "20:30"], window_end="20:00"),
        ("schedule", "window_end"),
        id="slot-past-the-end",
    ),
    pytest.param(_schedule(daily_quota=0), ("schedule", "daily_quota"), id="no-quota"),
    pytest.param({"retry": {"busy_seconds": 10**9}}, ("retry", "busy_seconds"), id="retry"),
    pytest.param({"retry": {"busy_seconds": -1}}, ("retry", "busy_seconds"), id="retry-neg"),
    pytest.param(
        {"quiet_days_after_conversation": 10**9},
        ("quiet_days_after_conversation",),
        id="quiet",
    ),
    pytest.param(
        {"max_attempts_per_7_days": 0}, ("max_attempts_per_7_days",), id="weekly-cap-zero"
    ),
    pytest.param({"caps": {"max_attempts": 10**12}}, ("caps", "max_attempts"), id="caps"),
    pytest.param({"concurrency": 0}, ("concurrency",), id="concurrency"),
    pytest.param({"profile": "nowhere"}, ("profile",), id="profile"),
    pytest.param({"caller_ids": ["56229990000"]}, ("caller_ids",), id="caller-id-no-plus"),
    pytest.param({"caller_ids": ["+0123"]}, ("caller_ids",), id="caller-id-not-e164"),
    pytest.param({"carrier_account_id": "-" * 36}, ("carrier_account_id",), id="account-not-uuid"),
]


@pytest.mark.parametrize(("bad", "loc"), BAD)
def test_each_bad_value_is_refused_naming_its_field(bad: dict[str, Any], loc: tuple[Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        CampaignPolicy.model_validate(bad)
    assert [error["loc"] for error in refused.value.errors()] == [loc]


@pytest.mark.parametrize(("bad", "loc"), BAD)
def test_an_edit_to_a_bad_value_is_refused_too(bad: dict[str, Any], loc: tuple[Any]) -> None:
    with pytest.raises(ValidationError) as refused:
        PolicyPatch.model_validate(bad).apply(CampaignPolicy())
    assert [error["loc"] for error in refused.value.errors()] == [loc]


@pytest.mark.filterwarnings(
    "ignore:Pydantic serializer warnings:UserWarning"
)  # unchecked on purpose
@pytest.mark.parametrize(("bad", "loc"), BAD)
def test_the_workflow_update_validator_refuses_it(bad: dict[str, Any], loc: tuple[Any]) -> None:
    # As a client that skips the API would send it (built without the model's checks).
    default = CampaignPolicy()
    fields: dict[str, Any] = dict(default)
    for key, value in bad.items():
        if isinstance(value, dict):
            part = getattr(default, key)
            value = type(part).model_construct(**{**dict(part), **value})
        fields[key] = value
    unchecked = CampaignPolicy.model_construct(**fields)
    with pytest.raises(ValidationError):
        CampaignWorkflow()._validate_policy(unchecked)


def test_good_values_pass_and_a_country_reads_in_capitals() -> None:
    policy = CampaignPolicy.model_validate(
        {
            "profile": "cl_ley_21320",
            "schedule": {
                "timezone": "America/Santiago",
                "batch_slots": ["15:00", "09:00", "12:00"],
                "window_end": "20:00",
                "weekdays": [5, 0, 1, 2, 3, 4],
                "holiday_country": "cl",
                "daily_quota": 60,
            },
            "retry": {"no_answer_seconds": 366 * 24 * 3600},
            "quiet_days_after_conversation": 366,
        }
    )
    assert policy.schedule.holiday_country == "CL"
    assert policy.schedule.weekdays == frozenset(range(6))
    # Midnight ends the day: any slot comes before it.
    late = CampaignSchedule.model_validate({"batch_slots": ["23:30"], "window_end": "00:00"})
    assert late.window_end == time(0)


def test_a_stored_policy_that_is_not_valid_is_read_as_its_problem() -> None:
    stored = {"schedule": {"weekdays": [9], "holiday_country": "ZZ"}, "concurrency": 3}
    policy, problem = read_stored_policy(stored)
    assert policy is None
    assert problem is not None
    assert "schedule.weekdays.0: Input should be less than or equal to 6 (got 9)" in problem
    assert "schedule.holiday_country" in problem
    assert "'ZZ'" in problem

    row = CampaignRow.model_validate(
        {
            "id": "c1",
            "name": "old",
            "status": "running",
            "timezone": "UTC",
            "policy": stored,
            "workflow_id": None,
            "created_at": datetime.now(UTC),
            "started_at": None,
            "completed_at": None,
        }
    )
    assert row.policy is None
    assert row.policy_error == problem
    assert row.stored_policy == stored
    assert "stored_policy" not in row.model_dump()


def test_an_edit_that_mends_every_bad_field_of_a_stored_policy_gives_a_valid_one() -> None:
    stored: dict[str, Any] = {
        "schedule": {"weekdays": [9], "holiday_country": "ZZ"},
        "concurrency": 3,
    }
    with pytest.raises(ValidationError) as half:
        PolicyPatch.model_validate({"schedule": {"weekdays": [1]}}).apply(stored)
    assert [e["loc"] for e in half.value.errors()] == [("schedule", "holiday_country")]

    mended = PolicyPatch.model_validate(
        {"schedule": {"weekdays": [1], "holiday_country": None}}
    ).apply(stored)
    assert mended.schedule.weekdays == frozenset({1})
    assert mended.concurrency == 3
    assert stored["schedule"]["weekdays"] == [9]  # the stored copy is left alone


def test_a_campaign_s_caller_ids_are_kept_once_each_in_order() -> None:
    policy = CampaignPolicy.model_validate(
        {"caller_ids": ["+56229990000", "+34910000000", "+56229990000"]}
    )
    assert policy.caller_ids == ["+56229990000", "+34910000000"]
