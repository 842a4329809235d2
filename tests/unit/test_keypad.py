"""Keys pressed on a phone's keypad (DTMF): gathered into entries, read by the flows."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.calls import CallOutcome
from centralita.understanding.model import (
    ContextAdvice,
    Intent,
    Sentiment,
    SentimentScore,
    Steering,
    Understanding,
)
from realtime.agents.flows.engine import FlowBrain
from realtime.agents.flows.schema import Node
from realtime.agents.loader import load_agent
from realtime.providers.base import BrainTurn
from realtime.session.keypad import KeyEntry, Keypad
from tests.support.flows import run, turn

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("America/Santiago"))  # a Monday
FRIDAY = date(2025, 3, 14)
VARIABLES = {
    "nombre": "María",
    "empresa": "Banco Andino",
    "monto_total": "200000",
    "fecha_limite": "2025-03-05",
}


def keyed(keys: str) -> BrainTurn:
    """A keypad entry, as the call session hands it to the brain."""
    return BrainTurn(
        understanding=Understanding(
            text=f"[teclado: {keys}]", language="es", intent=Intent.UNKNOWN, confidence=1.0
        ),
        sentiment=SentimentScore(score=0.0, label=Sentiment.NEUTRAL, alert=False),
        advice=ContextAdvice(steering=Steering.CONTINUE),
        keys=keys,
    )


def brain(**variables: Any) -> FlowBrain:
    return FlowBrain(load_agent("cobranza-temprana"), {**VARIABLES, **variables}, clock=lambda: NOW)


async def test_keys_pressed_in_a_row_are_one_entry_ended_by_a_pause() -> None:
    entries: list[KeyEntry] = []
    keypad = Keypad(entries.append, gap_s=0.05)
    for key in "5678":
        keypad.press(key)
    assert entries == []  # still typing
    await asyncio.sleep(0.2)
    assert [e.keys for e in entries] == ["5678"]


async def test_the_hash_key_ends_an_entry_at_once_and_is_not_part_of_it() -> None:
    entries: list[KeyEntry] = []
    keypad = Keypad(entries.append, gap_s=60)
    keypad.press("1")
    keypad.press("#")
    keypad.press("#")  # nothing typed: no empty entry
    assert [e.keys for e in entries] == ["1"]


async def test_a_call_ending_mid_entry_drops_it_and_a_bad_key_is_refused() -> None:
    entries: list[KeyEntry] = []
    keypad = Keypad(entries.append, gap_s=0.05)
    keypad.press("4")
    keypad.close()
    await asyncio.sleep(0.1)
    assert entries == []
    with pytest.raises(ValueError, match="not a DTMF key"):
        keypad.press("x")


async def test_pressing_1_confirms_a_promise_and_2_turns_it_down() -> None:
    flow = brain()
    promise = turn(Intent.PROMISE_TO_PAY, amount=200000, pay_date=FRIDAY)
    replies = await run(flow, turn(Intent.AFFIRM), promise, keyed("1"))
    assert replies[2].node == "confirmar_promesa"
    assert [c.name for c in replies[3].tool_calls] == ["register_promise"]
    assert replies[3].outcome is CallOutcome.PROMISE_TO_PAY

    other = brain()
    replies = await run(other, turn(Intent.AFFIRM), promise, keyed("2"))
    assert replies[3].node == "preguntar_fecha"
    assert replies[3].outcome is None


async def test_a_key_the_node_does_not_take_is_not_understood() -> None:
    flow = brain()
    promise = turn(Intent.PROMISE_TO_PAY, amount=200000, pay_date=FRIDAY)
    replies = await run(flow, turn(Intent.AFFIRM), promise, keyed("9"))
    assert not replies[3].tool_calls
    assert replies[3].outcome is None


async def test_rut_digits_typed_on_the_keypad_verify_identity() -> None:
    flow = brain(rut="12.345.678-5")
    replies = await run(flow, turn(Intent.AFFIRM), keyed("5678"))
    assert replies[1].node == "pedir_rut"
    assert replies[2].node == "revelar"
    assert flow.identity_verified


def test_a_flow_may_not_map_the_end_of_entry_key() -> None:
    with pytest.raises(ValueError, match="not keypad entries"):
        Node(id="n", say=["¿Sí o no?"], keys={"#": Intent.AFFIRM})
