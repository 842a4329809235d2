"""The handoff policy and its per-call watch: which turns send a call to a person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from centralita.handoff.legal import LegalMatter, legal_matter
from centralita.handoff.lines import handoff_line, spoken_when
from centralita.handoff.policy import (
    HandoffAction,
    HandoffPolicy,
    HandoffRule,
    HandoffTrigger,
    default_policy,
)
from centralita.handoff.watch import CallerTurn, HandoffWatch

pytestmark = pytest.mark.unit


def turn(
    text: str = "mmm", *, person: bool = False, sentiment: float = 0.0, repeated: bool = False
) -> CallerTurn:
    return CallerTurn(text=text, asked_for_person=person, sentiment=sentiment, repeated=repeated)


@pytest.mark.parametrize(
    ("said", "matter"),
    [
        ("Eso lo ve mi abogado, hable con él", LegalMatter.LAWYER),
        ("Los voy a demandar", LegalMatter.LAWYER),
        ("My attorney handles this", LegalMatter.LAWYER),
        ("Estoy en quiebra, me acogí a la ley 20.720", LegalMatter.BANKRUPTCY),
        ("Estoy en un concurso de acreedores", LegalMatter.BANKRUPTCY),
        ("Me acogí a la Ley de Segunda Oportunidad", LegalMatter.BANKRUPTCY),
        ("I filed for bankruptcy last month", LegalMatter.BANKRUPTCY),
        ("No reconozco esta deuda, voy a ir al Sernac", LegalMatter.DISPUTE),
        ("I dispute this debt", LegalMatter.DISPUTE),
    ],
)
def test_legal_matters_are_heard_in_spanish_and_english(said: str, matter: LegalMatter) -> None:
    assert legal_matter(said) is matter


@pytest.mark.parametrize(
    "said",
    ["Le pago el viernes", "Yo no debo eso", "Estudio abogacía", "El consumo de luz", "", "¿Aló?"],
)
def test_everyday_words_are_not_legal_matters(said: str) -> None:
    assert legal_matter(said) is None


def test_an_explicit_request_transfers_at_once_and_only_once() -> None:
    watch = HandoffWatch(default_policy())
    decision = watch.before_reply(turn("quiero hablar con una persona", person=True))
    assert decision is not None
    assert decision.trigger is HandoffTrigger.EXPLICIT_REQUEST
    assert decision.action is HandoffAction.TRANSFER_NOW
    assert watch.before_reply(turn("una persona por favor", person=True)) is None


def test_a_legal_matter_goes_first_in_the_queue() -> None:
    decision = HandoffWatch(default_policy()).before_reply(turn("Eso lo ve mi abogado"))
    assert decision is not None
    assert decision.trigger is HandoffTrigger.LEGAL
    assert decision.reason == "legal matter: lawyer"
    assert decision.priority > 10


def test_sentiment_must_stay_below_the_threshold_for_the_whole_window() -> None:
    policy = HandoffPolicy(
        rules=[HandoffRule(trigger=HandoffTrigger.NEGATIVE_SENTIMENT, turns=3, threshold=-0.5)]
    )
    watch = HandoffWatch(policy)
    assert watch.before_reply(turn(sentiment=-0.9)) is None
    assert watch.before_reply(turn(sentiment=-0.9)) is None
    assert watch.before_reply(turn(sentiment=0.6)) is None  # mean -0.4: not below -0.5
    assert watch.before_reply(turn(sentiment=-0.9)) is None  # 0.6 still in the window
    assert watch.before_reply(turn(sentiment=-0.9)) is None  # and still
    decision = watch.before_reply(turn(sentiment=-0.8))  # -0.9, -0.9, -0.8
    assert decision is not None
    assert decision.trigger is HandoffTrigger.NEGATIVE_SENTIMENT
    assert "below -0.50" in decision.reason


def test_loops_count_consecutive_turns_only() -> None:
    policy = HandoffPolicy(rules=[HandoffRule(trigger=HandoffTrigger.LOOP, turns=2)])
    watch = HandoffWatch(policy)
    assert watch.before_reply(turn(repeated=True)) is None
    assert watch.before_reply(turn(repeated=False)) is None  # progress: the count restarts
    assert watch.before_reply(turn(repeated=True)) is None
    decision = watch.before_reply(turn(repeated=True))
    assert decision is not None
    assert decision.reason == "no progress for 2 turns"


def test_fallbacks_in_a_row_and_unanswered_questions_are_read_after_the_reply() -> None:
    policy = HandoffPolicy(
        rules=[
            HandoffRule(trigger=HandoffTrigger.FALLBACKS, turns=3),
            HandoffRule(
                trigger=HandoffTrigger.UNANSWERED_QUESTION,
                action=HandoffAction.SCHEDULE_CALLBACK,
            ),
        ]
    )
    watch = HandoffWatch(policy)
    assert watch.after_reply(fallback=True, unanswered=False) is None
    assert watch.after_reply(fallback=True, unanswered=False) is None
    assert watch.after_reply(fallback=False, unanswered=False) is None  # understood: restart
    assert watch.after_reply(fallback=True, unanswered=False) is None
    assert watch.after_reply(fallback=True, unanswered=False) is None
    decision = watch.after_reply(fallback=True, unanswered=False)
    assert decision is not None
    assert decision.trigger is HandoffTrigger.FALLBACKS
    watch.declined()
    decision = watch.after_reply(fallback=False, unanswered=True)
    assert decision is not None
    assert decision.action is HandoffAction.SCHEDULE_CALLBACK


def test_a_declined_offer_lets_other_triggers_fire_but_never_the_same_again() -> None:
    watch = HandoffWatch(default_policy())
    first = watch.before_reply(turn(sentiment=-0.9))
    assert first is None  # the default window is two turns
    offer = watch.before_reply(turn(sentiment=-0.9))
    assert offer is not None
    assert offer.action is HandoffAction.OFFER_TRANSFER
    assert watch.before_reply(turn("eso lo ve mi abogado")) is None  # settled: quiet
    watch.declined()
    assert watch.before_reply(turn(sentiment=-0.9)) is None  # sentiment fired already
    legal = watch.before_reply(turn("eso lo ve mi abogado"))
    assert legal is not None
    assert legal.trigger is HandoffTrigger.LEGAL


def test_a_policy_refuses_repeated_triggers_and_misplaced_thresholds() -> None:
    with pytest.raises(ValidationError, match="one rule per trigger: loop"):
        HandoffPolicy(
            rules=[
                HandoffRule(trigger=HandoffTrigger.LOOP),
                HandoffRule(trigger=HandoffTrigger.LOOP),
            ]
        )
    with pytest.raises(ValidationError, match="threshold applies to negative_sentiment"):
        HandoffRule(trigger=HandoffTrigger.LOOP, threshold=-0.5)
    with pytest.raises(ValidationError):
        HandoffPolicy(rules=[])
    with pytest.raises(ValidationError):
        HandoffPolicy(rules=[HandoffRule(trigger=HandoffTrigger.LEGAL)], max_wait_s=1)


def test_the_callback_time_is_said_in_the_callers_words() -> None:
    santiago = timezone(timedelta(hours=-3))
    now = datetime(2026, 12, 4, 15, 0, tzinfo=santiago)
    assert spoken_when(now + timedelta(hours=1), now, "es") == "hoy a las 16:00"
    assert spoken_when(datetime(2026, 12, 5, 13, 30, tzinfo=UTC), now, "es") == "mañana a las 10:30"
    assert spoken_when(now + timedelta(days=3), now, "en-GB") == "on Monday at 15:00"
    line = handoff_line("nobody_free", "es-CL", when="hoy a las 16:00")
    assert "Una ejecutiva le llamará hoy a las 16:00." in line
