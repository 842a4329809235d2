"""Every shipped agent, Spanish and English, driven end to end by scripted turns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.calls import CallOutcome
from centralita.understanding.model import Intent as I  # noqa: N817
from centralita.understanding.model import Steering
from centralita.understanding.nlu import understand
from realtime.agents.flows import FlowBrain
from realtime.agents.loader import load_agent, shipped_agents
from realtime.providers.base import BrainTurn
from tests.support.flows import assert_no_debt_details, run, silence, spoken, turn

pytestmark = pytest.mark.unit

NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2025, 3, 10, 10, 0, tzinfo=NEW_YORK)  # a Monday
FRIDAY = date(2025, 3, 14)
# The same contact, as a Spanish CSV and as an English one would name its columns.
VARIABLES: dict[str, Any] = {
    "nombre": "María González",
    "empresa": "Banco Andino",
    "monto_total": 200000,
    "fecha_limite": date(2025, 3, 5),
}
DEBT_WORDS = ("200.000", "200,000", "200000", "5 de marzo", "March 5", "miércoles", "Wednesday")


def brain(agent: str, **variables: Any) -> FlowBrain:
    return FlowBrain(load_agent(agent), {**VARIABLES, **variables}, clock=lambda: NOW)


def lang(agent: str) -> str:
    return load_agent(agent).language[:2]


AGENTS = shipped_agents()
# LLM-mode agents are complete flows too (the identity tests below run on them), but
# they offer no payment link: their promise conversations are tested
# with a model in tests/integration/test_flow_llm_brain.py.
INTENT_AGENTS = [a for a in AGENTS if load_agent(a).llm is None]


async def test_english_promise_end_to_end() -> None:
    flow = FlowBrain(
        load_agent("collections-early"),
        {"name": "John Smith", "company": "Acme Credit", "amount_due": "1,250.50",
         "due_date": "2025-03-05"},
        clock=lambda: NOW,
    )  # fmt: skip
    replies = await run(
        flow,
        turn(I.AFFIRM, "yes, speaking", language="en"),
        turn(I.PROMISE_TO_PAY, "I can pay 500 on Friday", language="en", amount=500,
             pay_date=FRIDAY),
        turn(I.AFFIRM, "yes", language="en"),
        turn(I.DENY, "no thanks", language="en"),
    )  # fmt: skip
    greet, disclose, confirm, link, close = replies
    assert greet.say == [
        "Hello, this is Sofia, a virtual assistant calling from Acme Credit.",
        "Am I speaking with John Smith?",
    ]
    assert "a payment of 1,250 dollars and 50 cents that was due on Wednesday, March 5." in (
        spoken([disclose])
    )
    assert "So, can you confirm you'll pay 500 dollars on Friday, March 14?" in confirm.say
    assert link.tool_calls[0].arguments == {
        "amount": 500,
        "currency": "USD",
        "pay_date": "2025-03-14",
    }
    assert close.node == "close_promise"
    assert close.end_call
    assert close.outcome is CallOutcome.PROMISE_TO_PAY
    assert close.extracted == {
        "promised_amount": 500,
        "promised_currency": "USD",
        "promised_date": "2025-03-14",
    }


async def test_english_low_confidence_clarification() -> None:
    replies = await run(
        brain("collections-late"),
        turn(I.AFFIRM, language="en"),
        turn(I.PROMISE_TO_PAY, language="en", confidence=0.3, amount=200000, pay_date=FRIDAY),
    )
    assert replies[-1].say == ["Just to confirm, 200,000 dollars on Friday, March 14?"]


def heard(text: str, language: str) -> BrainTurn:
    """`text` through the real understanding, as the call session hands it over."""
    result = understand(text, language=language, now=NOW)
    return turn(
        result.intent, text, language=language, also=result.also,
        amount=result.slots.amount, pay_date=result.slots.pay_date,
        callback_at=result.slots.callback_at, callback_day=result.slots.callback_day,
    )  # fmt: skip


@pytest.mark.parametrize("agent", INTENT_AGENTS)
async def test_bare_answers_fill_what_was_asked(agent: str) -> None:
    lang = load_agent(agent).language[:2]
    yes, money, day, other_day = {
        "es": ("sí", "cincuenta mil", "el viernes", "no, el lunes"),
        "en": ("yes", "fifty dollars", "on Friday", "no, on Monday"),
    }[lang]
    replies = await run(
        brain(agent), heard(yes, lang), heard(money, lang), heard(day, lang),
        heard(other_day, lang), heard(yes, lang), heard(yes, lang),
    )  # fmt: skip
    assert replies[3].extracted == {}
    assert replies[-1].outcome is CallOutcome.PROMISE_TO_PAY
    assert replies[-1].extracted["promised_amount"] == (50000 if lang == "es" else 50)
    assert replies[-1].extracted["promised_date"] == "2025-03-17"


@pytest.mark.parametrize("agent", INTENT_AGENTS)
async def test_promise_to_pay(agent: str) -> None:
    replies = await run(
        brain(agent),
        turn(I.AFFIRM),
        turn(I.PROMISE_TO_PAY, amount=200000, pay_date=FRIDAY),
        turn(I.AFFIRM),
        turn(I.AFFIRM),
    )
    assert_no_debt_details(replies[:1], DEBT_WORDS)
    assert any(w in spoken(replies[1:2]) for w in ("200.000", "200,000"))
    last = replies[-1]
    assert last.end_call
    assert last.outcome is CallOutcome.PROMISE_TO_PAY
    assert last.extracted["promised_amount"] == 200000
    assert last.extracted["promised_date"] == "2025-03-14"
    assert last.extracted["payment_link_id"].startswith("plink_")


@pytest.mark.parametrize("agent", AGENTS)
async def test_wrong_person_hears_nothing_about_the_debt(agent: str) -> None:
    for script in (
        [turn(I.WRONG_PERSON)],
        [turn(I.DENY), turn(I.WRONG_PERSON)],
        [turn(I.DENY), turn(I.AFFIRM), turn(I.WRONG_PERSON)],
        [turn(I.UNKNOWN), turn(I.REPEAT_REQUEST), turn(I.DENY), turn(I.WRONG_PERSON)],
    ):
        replies = await run(brain(agent), *script)
        assert replies[-1].outcome is CallOutcome.WRONG_PERSON
        assert replies[-1].end_call
        assert_no_debt_details(replies, DEBT_WORDS)


@pytest.mark.parametrize("agent", AGENTS)
async def test_nothing_is_disclosed_before_identity_whatever_is_said(agent: str) -> None:
    # Every intent, every steering, as the first thing the person says.
    for intent in I:
        for steering in Steering:
            flow = brain(agent, rut="12.345.678-5", id_number="12.345.678-5")
            replies = await run(flow, turn(intent, steering=steering))
            if not flow.identity_verified:
                assert_no_debt_details(replies, DEBT_WORDS)
    for _ in range(3):
        replies = await run(brain(agent), silence(), silence(), silence())
        assert_no_debt_details(replies, DEBT_WORDS)


@pytest.mark.parametrize("agent", AGENTS)
async def test_without_a_company_the_fallback_is_neutral_too(agent: str) -> None:
    # The company's fallback is said to whoever answers: "your lender" says it is a debt.
    for script in ([], [turn(I.WRONG_PERSON)], [turn(I.VOICEMAIL)]):
        replies = await run(brain(agent, empresa=""), *script)
        assert_no_debt_details(replies, DEBT_WORDS)


@pytest.mark.parametrize("agent", AGENTS)
async def test_branches(agent: str) -> None:
    at = datetime(2025, 3, 11, 16, 0, tzinfo=NEW_YORK)
    cases: list[tuple[list[BrainTurn], CallOutcome | None, bool]] = [
        ([turn(I.AFFIRM), turn(I.OPT_OUT)], CallOutcome.OPT_OUT, False),
        ([turn(I.AFFIRM), turn(I.CALLBACK_REQUEST, callback_at=at)],
         CallOutcome.CALLBACK_REQUESTED, False),
        ([turn(I.AFFIRM), turn(I.DISPUTE)], CallOutcome.DISPUTED, False),
        ([turn(I.AFFIRM), turn(I.HUMAN_REQUEST)], None, True),
        ([turn(I.VOICEMAIL)], CallOutcome.VOICEMAIL, False),
        ([silence(), silence(), silence()], CallOutcome.NO_ANSWER, False),
    ]  # fmt: skip
    for script, outcome, transfer in cases:
        replies = await run(brain(agent), *script)
        last = replies[-1]
        assert last.outcome is outcome, (agent, script[-1].understanding.intent)
        assert last.transfer is transfer
        assert last.end_call is not transfer
        assert last.say, "every ending says something"


@pytest.mark.parametrize("agent", AGENTS)
async def test_simplify_changes_the_words(agent: str) -> None:
    plain = await run(brain(agent), turn(I.AFFIRM))
    simple = await run(brain(agent), turn(I.AFFIRM, steering=Steering.SIMPLIFY))
    assert plain[-1].node == simple[-1].node
    assert plain[-1].say != simple[-1].say
    assert len(spoken(simple[-1:])) < len(spoken(plain[-1:]))
