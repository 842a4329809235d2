"""What a flow may say next: guesses voices render ahead."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.understanding.model import Intent as I  # noqa: N817
from realtime.agents.flows import FlowBrain
from realtime.agents.loader import load_agent
from tests.support.flows import run, turn

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("America/Santiago"))
VARIABLES = {
    "nombre": "María González",
    "empresa": "Banco Andino",
    "monto_total": "200000",
    "fecha_limite": "2025-03-05",
}


def brain() -> FlowBrain:
    return FlowBrain(load_agent("cobranza-temprana"), VARIABLES, clock=lambda: NOW)


async def test_before_the_call_the_guess_is_the_greeting_as_it_will_be_said() -> None:
    flow = brain()
    guessed = flow.likely_lines()
    reply = await flow.start()
    assert guessed, "a flow always knows its greeting"
    assert guessed == reply.say[: len(guessed)]
    assert len(guessed) == min(4, len(reply.say))
    assert "María González" in " ".join(reply.say)


async def test_after_the_greeting_the_guesses_include_what_the_next_turn_says() -> None:
    flow = brain()
    await flow.start()
    guessed = flow.likely_lines(limit=8)
    confirmed = await flow.respond(turn(I.AFFIRM, "sí, con ella"))
    assert confirmed.say[0] in guessed
    assert len(guessed) <= 8
    assert len(set(guessed)) == len(guessed)


async def test_a_finished_flow_guesses_nothing() -> None:
    flow = brain()
    await run(flow, turn(I.OPT_OUT, "no me llame más"))
    assert flow.finished
    assert flow.likely_lines() == []


async def test_the_limit_caps_the_guesses() -> None:
    flow = brain()
    assert len(flow.likely_lines(limit=1)) == 1
    await flow.start()
    assert len(flow.likely_lines(limit=2)) == 2
