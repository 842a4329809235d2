"""The shipped Spanish flow remembers a broken promise, and only the person hears of it.

The contact memory (`centralita.memory`) gives the call `promesa_incumplida_fecha` when
the last promise fell due unpaid; the flow asks about it once identity is verified.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.calls import CallOutcome
from centralita.understanding.model import Intent as I  # noqa: N817
from realtime.agents.flows import FlowBrain
from realtime.agents.loader import load_agent
from tests.support.flows import run, spoken, turn

pytestmark = pytest.mark.unit

NOW = datetime(2025, 4, 2, 10, 0, tzinfo=ZoneInfo("America/Santiago"))
CONTACT = {"nombre": "María", "monto_total": "200000", "fecha_limite": "2025-03-05"}
REMEMBERED = {**CONTACT, "promesa_incumplida_fecha": "2025-03-28"}
PROMISE_WORDS = ("28 de marzo", "nos dijo que pagaría")


def brain(variables: dict[str, str]) -> FlowBrain:
    return FlowBrain(load_agent("cobranza-temprana"), variables, clock=lambda: NOW)


async def test_the_person_hears_about_the_promise_they_did_not_keep() -> None:
    replies = await run(brain(REMEMBERED), turn(I.AFFIRM, "sí, con ella"))
    said = " ".join(replies[-1].say)
    assert "nos dijo que pagaría el viernes 28 de marzo" in said
    assert said.endswith("¿Pudo hacerlo?")
    assert replies[-1].node == "recordar_promesa"


async def test_could_not_pay_goes_on_to_the_debt_and_already_paid_is_looked_into() -> None:
    flow = brain(REMEMBERED)
    replies = await run(flow, turn(I.AFFIRM, "sí, con ella"), turn(I.CANNOT_PAY, "no, no pude"))
    assert replies[-1].node == "revelar"
    flow = brain(REMEMBERED)
    replies = await run(flow, turn(I.AFFIRM, "sí, con ella"), turn(I.DISPUTE, "sí, ya pagué"))
    assert replies[-1].node == "pago_informado"
    assert replies[-1].outcome is CallOutcome.DISPUTED
    assert replies[-1].end_call


async def test_a_wrong_person_never_hears_about_the_promise() -> None:
    replies = await run(brain(REMEMBERED), turn(I.WRONG_PERSON, "no, número equivocado"))
    assert not any(word in spoken(replies) for word in PROMISE_WORDS)


async def test_without_a_broken_promise_the_call_goes_straight_to_the_debt() -> None:
    replies = await run(brain(CONTACT), turn(I.AFFIRM, "sí, con ella"))
    assert replies[-1].node == "revelar"
    assert not any(word in spoken(replies) for word in PROMISE_WORDS)
