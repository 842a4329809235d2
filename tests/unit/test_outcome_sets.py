"""The outcomes that reached nobody, and those that held no conversation: one definition.

The calling rules, the retry rules, the post-call analysis and the analytics all draw
these lines; each must read them from `centralita.kernel.calls`, so none drifts.
"""

from __future__ import annotations

import pytest

from centralita.analysis.outcome import goal_result
from centralita.analytics.store.fields import ANSWERED
from centralita.campaigns.retry_rules import FINAL_OUTCOMES
from centralita.kernel.calls import NOT_A_CONVERSATION, UNREACHED, CallOutcome

pytestmark = pytest.mark.unit


def test_unreached_is_nobody_picking_up_and_failed_is_only_not_a_conversation() -> None:
    assert {CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL} == UNREACHED
    assert UNREACHED | {CallOutcome.FAILED} == NOT_A_CONVERSATION
    # A person answered these: a conversation, however short.
    answered = {CallOutcome.NO_DECISION, CallOutcome.CALLBACK_REQUESTED, *FINAL_OUTCOMES}
    assert not answered & NOT_A_CONVERSATION
    assert answered | NOT_A_CONVERSATION == set(CallOutcome)


@pytest.mark.parametrize("outcome", sorted(NOT_A_CONVERSATION))
def test_no_goal_is_reached_in_a_call_that_held_no_conversation(outcome: CallOutcome) -> None:
    # The analysis reads the outcome as stored: a plain string.
    result = goal_result("promise_to_pay", outcome.value, [], [], [])
    assert not result.achieved
    assert result.reason == f"nobody was reached ({outcome.value})"


def test_a_goal_is_judged_in_a_call_that_held_one() -> None:
    result = goal_result("promise_to_pay", CallOutcome.NO_DECISION.value, [], [], [])
    assert not result.reason.startswith("nobody was reached")


def test_the_analytics_count_as_answered_what_held_a_conversation() -> None:
    left_out = ANSWERED.split("NOT IN (", 1)[1].split(")", 1)[0]
    assert {v.strip(" '") for v in left_out.split(",")} == {o.value for o in NOT_A_CONVERSATION}
