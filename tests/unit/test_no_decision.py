"""A conversation that ends before anything is decided is retried, never closed as done."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from centralita.campaigns.calling_rules import AttemptFact
from centralita.campaigns.dial_gate import Action, ContactFacts, after_attempt
from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.calls import CallOutcome, ContactState
from realtime.conversation_line import undecided_outcome

pytestmark = pytest.mark.unit

# A Tuesday, 11:00 in Santiago: inside every window.
NOW = datetime(2026, 12, 1, 14, 0, tzinfo=UTC)
POLICY = CampaignPolicy.model_validate({"profile": "unrestricted"})


@pytest.mark.parametrize(
    ("ended_by", "outcome"),
    [
        ("agent", CallOutcome.COMPLETED),
        ("transfer", CallOutcome.COMPLETED),
        ("remote_hangup", CallOutcome.NO_DECISION),
        ("max_duration", CallOutcome.NO_DECISION),
        ("error", CallOutcome.NO_DECISION),
        ("supervisor", CallOutcome.NO_DECISION),
        (None, CallOutcome.NO_DECISION),
    ],
)
def test_only_a_conversation_the_agent_closed_is_completed_without_an_outcome(
    ended_by: str | None, outcome: CallOutcome
) -> None:
    assert undecided_outcome(ended_by) is outcome


def _facts(*outcomes: CallOutcome) -> ContactFacts:
    history = [
        AttemptFact(started_at=NOW - timedelta(days=len(outcomes) - i), outcome=o)
        for i, o in enumerate(outcomes)
    ]
    return ContactFacts(
        phones=["+56961234567", "+56961234568"],
        phone_index=0,
        opted_out=set(),
        recipient_tz="America/Santiago",
        history=history,
    )


def test_a_caller_who_hung_up_undecided_is_called_again_on_the_same_phone_later() -> None:
    gate = after_attempt(CallOutcome.NO_DECISION, {}, _facts(CallOutcome.NO_DECISION), POLICY, NOW)

    assert gate.action is Action.WAIT, gate
    assert gate.phone_index == 0
    assert gate.not_before == NOW + timedelta(seconds=POLICY.retry.no_decision_seconds)


def test_a_finished_conversation_closes_the_contact() -> None:
    gate = after_attempt(CallOutcome.COMPLETED, {}, _facts(CallOutcome.COMPLETED), POLICY, NOW)

    assert gate.action is Action.FINISH
    assert gate.final_state is ContactState.DONE


def test_the_third_undecided_conversation_excludes_the_contact() -> None:
    undecided = CallOutcome.NO_DECISION
    history = _facts(undecided, CallOutcome.NO_ANSWER, undecided, undecided)

    gate = after_attempt(undecided, {}, history, POLICY, NOW)

    assert POLICY.caps.no_decision_to_exclude == 3
    assert gate.action is Action.FINISH
    assert gate.final_state is ContactState.EXCLUDED
    assert "no decision" in gate.reason


def test_a_call_no_agent_could_hold_fails_the_contact_at_once_with_the_reason() -> None:
    reason = "agent_error: variable 'fecha_limite' is required"
    facts = _facts(CallOutcome.FAILED)

    gate = after_attempt(CallOutcome.FAILED, {}, facts, POLICY, NOW, disconnection_reason=reason)

    assert gate.action is Action.FINISH
    assert gate.final_state is ContactState.FAILED
    assert gate.reason == reason  # not "call failed; trying phone 2 of 2"


def test_a_carrier_failure_still_moves_to_the_next_phone() -> None:
    facts = _facts(CallOutcome.FAILED)

    gate = after_attempt(
        CallOutcome.FAILED, {}, facts, POLICY, NOW, disconnection_reason="dial_failed"
    )

    assert gate.action is Action.WAIT
    assert gate.phone_index == 1
