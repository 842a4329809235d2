"""The pure retry rules: what follows each kind of attempt, for every outcome."""

from __future__ import annotations

import itertools
from typing import NamedTuple

import pytest

from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.retry_rules import FINAL_OUTCOMES, NextStep, next_step
from centralita.kernel.calls import UNREACHED, CallOutcome, ContactState

pytestmark = pytest.mark.unit

# Distinct delays, so a test can tell which one a step used.
RETRY = 3600
FAILURE_RETRY = 1800
NO_DECISION_RETRY = 5400
NO_DECISION_CAP = 2


def _policy(max_attempts: int, retry: int = RETRY, failure: int = FAILURE_RETRY) -> CampaignPolicy:
    return CampaignPolicy.model_validate(
        {
            "caps": {"max_attempts": max_attempts, "no_decision_to_exclude": NO_DECISION_CAP},
            "retry": {
                "no_answer_seconds": retry,
                "busy_seconds": retry,
                "voicemail_seconds": retry,
                "failure_seconds": failure,
                "no_decision_seconds": NO_DECISION_RETRY,
            },
        }
    )


POLICY = _policy(3)
MAX_ATTEMPTS = POLICY.caps.max_attempts


class Expected(NamedTuple):
    final_state: ContactState | None
    delay_seconds: int
    phone_index: int
    callback: bool = False


class Case(NamedTuple):
    outcome: CallOutcome
    attempts_made: int
    phone_index: int
    phone_count: int
    expected: Expected
    no_decisions: int = 0


def _done(state: ContactState, phone_index: int = 0) -> Expected:
    return Expected(state, 0, phone_index)


def _again(delay: int, phone_index: int) -> Expected:
    return Expected(None, delay, phone_index)


def _shape(step: NextStep) -> Expected:
    """The decision without its wording (the reason is for people)."""
    return Expected(step.final_state, step.delay_seconds, step.phone_index, step.callback)


_FINAL_CASES = [
    (outcome, attempts, Case(outcome, attempts, 1, 2, _done(state, phone_index=1)))
    for outcome, state in [
        (CallOutcome.PROMISE_TO_PAY, ContactState.DONE),
        (CallOutcome.COMPLETED, ContactState.DONE),
        (CallOutcome.DISPUTED, ContactState.DONE),
        (CallOutcome.WRONG_PERSON, ContactState.EXCLUDED),
        (CallOutcome.OPT_OUT, ContactState.OPTED_OUT),
    ]
    # First attempt, and the last one allowed: a settled contact is settled either way.
    for attempts in (1, MAX_ATTEMPTS)
]

# A callback is honoured whatever the count: the person asked for it.
_CALLBACK_CASES = [
    (
        f"attempt{attempts}",
        Case(CallOutcome.CALLBACK_REQUESTED, attempts, 1, 2, Expected(None, 0, 1, True)),
    )
    for attempts in (1, MAX_ATTEMPTS)
]

_UNREACHED_CASES = [
    (outcome, label, case)
    for outcome in (CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL)
    for label, case in [
        ("first-attempt", Case(outcome, 1, 0, 2, _again(RETRY, 0))),
        # Unreached never moves to another phone: the same one may answer later.
        ("same-phone-not-next", Case(outcome, 2, 0, 3, _again(RETRY, 0))),
        ("on-second-phone", Case(outcome, 2, 1, 2, _again(RETRY, 1))),
        ("cap-reached", Case(outcome, 3, 0, 2, _done(ContactState.EXCLUDED, 0))),
        ("cap-reached-second-phone", Case(outcome, 3, 1, 2, _done(ContactState.EXCLUDED, 1))),
        ("past-cap", Case(outcome, 4, 0, 1, _done(ContactState.EXCLUDED, 0))),
    ]
]

_FAILED = CallOutcome.FAILED
_FAILED_CASES = [
    ("next-phone", Case(_FAILED, 1, 0, 2, _again(FAILURE_RETRY, 1))),
    ("third-phone", Case(_FAILED, 2, 1, 3, _again(FAILURE_RETRY, 2))),
    ("only-phone", Case(_FAILED, 1, 0, 1, _done(ContactState.FAILED, 0))),
    ("phones-spent", Case(_FAILED, 2, 1, 2, _done(ContactState.FAILED, 1))),
    ("attempts-reached", Case(_FAILED, 3, 0, 3, _done(ContactState.FAILED, 0))),
    ("attempts-reached-phones-left", Case(_FAILED, 3, 1, 3, _done(ContactState.FAILED, 1))),
]

# Hung up before any decision: the same phone again, until the cap of such conversations.
_UNDECIDED = CallOutcome.NO_DECISION
_NO_DECISION_CASES = [
    ("first", Case(_UNDECIDED, 1, 0, 2, _again(NO_DECISION_RETRY, 0), no_decisions=1)),
    ("same-phone", Case(_UNDECIDED, 2, 1, 3, _again(NO_DECISION_RETRY, 1), no_decisions=1)),
    ("cap", Case(_UNDECIDED, 2, 0, 1, _done(ContactState.EXCLUDED, 0), no_decisions=2)),
    ("attempts-reached", Case(_UNDECIDED, 3, 0, 1, _done(ContactState.EXCLUDED), no_decisions=1)),
]

CASES: list[tuple[str, Case]] = [
    *((f"{o.value}-attempt{a}", c) for o, a, c in _FINAL_CASES),
    *((f"{o.value}-{label}", c) for o, label, c in _UNREACHED_CASES),
    *((f"failed-{label}", c) for label, c in _FAILED_CASES),
    *((f"callback-{label}", c) for label, c in _CALLBACK_CASES),
    *((f"no-decision-{label}", c) for label, c in _NO_DECISION_CASES),
]


@pytest.mark.parametrize("case", [pytest.param(c, id=name) for name, c in CASES])
def test_next_step_table(case: Case) -> None:
    step = next_step(
        case.outcome,
        attempts_made=case.attempts_made,
        phone_index=case.phone_index,
        phone_count=case.phone_count,
        policy=POLICY,
        no_decisions=case.no_decisions,
    )
    assert _shape(step) == case.expected
    assert step.reason


def test_table_covers_every_outcome() -> None:
    assert {case.outcome for _, case in CASES} == set(CallOutcome)


def test_every_outcome_has_exactly_one_rule() -> None:
    """A new CallOutcome must be given a rule here, or this test fails."""
    final = set(FINAL_OUTCOMES)
    unreached = set(UNREACHED)
    special = {CallOutcome.FAILED, CallOutcome.CALLBACK_REQUESTED, CallOutcome.NO_DECISION}
    assert final | unreached | special == set(CallOutcome)
    assert not final & unreached
    assert not (final | unreached) & special


def test_final_outcomes_map_to_terminal_states() -> None:
    terminal = {ContactState.DONE, ContactState.EXCLUDED, ContactState.OPTED_OUT}
    assert set(FINAL_OUTCOMES.values()) <= terminal


@pytest.mark.parametrize("max_attempts", [1, 2, 3, 5])
def test_invariants_over_all_inputs(max_attempts: int) -> None:
    """Exhaustive over small inputs: a retry is always possible and within the caps."""
    policy = _policy(max_attempts)
    allowed_final = {
        ContactState.DONE,
        ContactState.EXCLUDED,
        ContactState.OPTED_OUT,
        ContactState.FAILED,
    }
    for outcome, attempts, phone_count in itertools.product(
        CallOutcome, range(1, max_attempts + 2), range(1, 4)
    ):
        for phone_index in range(phone_count):
            step = next_step(
                outcome,
                attempts_made=attempts,
                phone_index=phone_index,
                phone_count=phone_count,
                policy=policy,
            )
            context = (outcome, attempts, phone_index, phone_count)
            assert 0 <= step.phone_index < phone_count, context
            if step.callback:
                assert outcome is CallOutcome.CALLBACK_REQUESTED, context
            elif step.final_state is None:
                assert attempts < max_attempts, context
                assert step.delay_seconds in {RETRY, FAILURE_RETRY, NO_DECISION_RETRY}, context
            else:
                assert step.final_state in allowed_final, context


@pytest.mark.parametrize(
    "outcome", [o for o in CallOutcome if o is not CallOutcome.CALLBACK_REQUESTED]
)
@pytest.mark.parametrize("phone_count", [1, 2, 4])
def test_a_contact_that_always_gets_the_same_outcome_stops_within_the_cap(
    outcome: CallOutcome, phone_count: int
) -> None:
    """Drive the rules as the contact workflow does; it must end within max_attempts."""
    attempts = 0
    phone_index = 0
    phones_used: list[int] = []
    while True:
        attempts += 1
        phones_used.append(phone_index)
        step = next_step(
            outcome,
            attempts_made=attempts,
            phone_index=phone_index,
            phone_count=phone_count,
            policy=POLICY,
            no_decisions=attempts if outcome is CallOutcome.NO_DECISION else 0,
        )
        if step.final_state is not None:
            break
        assert attempts < MAX_ATTEMPTS
        phone_index = step.phone_index
    assert attempts <= MAX_ATTEMPTS
    if outcome is CallOutcome.FAILED:
        expected_calls = min(phone_count, MAX_ATTEMPTS)
        assert phones_used == list(range(expected_calls))
        assert step.final_state is ContactState.FAILED
    elif outcome in UNREACHED:
        assert phones_used == [0] * MAX_ATTEMPTS
        assert step.final_state is ContactState.EXCLUDED
    elif outcome is CallOutcome.NO_DECISION:
        assert phones_used == [0] * NO_DECISION_CAP
        assert step.final_state is ContactState.EXCLUDED
    else:
        assert phones_used == [0]
        assert step.final_state is FINAL_OUTCOMES[outcome]


def test_delays_come_from_the_policy() -> None:
    policy = _policy(5, retry=7, failure=0)
    unreached = next_step(
        CallOutcome.BUSY, attempts_made=1, phone_index=0, phone_count=2, policy=policy
    )
    failed = next_step(
        CallOutcome.FAILED, attempts_made=1, phone_index=0, phone_count=2, policy=policy
    )
    assert unreached.delay_seconds == 7
    assert failed.delay_seconds == 0
    assert failed.final_state is None


def test_each_unreached_outcome_has_its_own_delay() -> None:
    policy = CampaignPolicy.model_validate(
        {"retry": {"no_answer_seconds": 11, "busy_seconds": 22, "voicemail_seconds": 33}}
    )
    delays = {
        outcome: next_step(
            outcome, attempts_made=1, phone_index=0, phone_count=1, policy=policy
        ).delay_seconds
        for outcome in (CallOutcome.NO_ANSWER, CallOutcome.BUSY, CallOutcome.VOICEMAIL)
    }
    assert delays == {CallOutcome.NO_ANSWER: 11, CallOutcome.BUSY: 22, CallOutcome.VOICEMAIL: 33}
