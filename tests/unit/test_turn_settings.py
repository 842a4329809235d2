"""An agent's `turns:` block reaches the call's endpointer."""

from __future__ import annotations

import pydantic
import pytest

from centralita.kernel.calls import DialRequest
from realtime.agents.flows.schema import AgentDefinition
from realtime.agents.loader import load_any_agent
from realtime.agents.setup import setup_for
from realtime.audio.turn_settings import TurnSettings
from realtime.session.call_session import SessionConfig, _endpointer

pytestmark = pytest.mark.unit


def _request() -> DialRequest:
    return DialRequest(
        idempotency_key="k",
        campaign_id="c",
        contact_id="p",
        attempt_number=1,
        to_number="+56912345678",
        agent="cobranza-temprana",
        variables={
            "nombre": "Ana",
            "monto": 1000,
            "vencimiento": "2026-01-01",
            "fecha_limite": "2026-01-15",
        },
    )


def test_a_turns_block_is_carried_into_the_session() -> None:
    agent = load_any_agent("cobranza-temprana")
    assert isinstance(agent, AgentDefinition)
    turns = TurnSettings(mode="model", max_wait_ms=1800)
    config = setup_for(agent.model_copy(update={"turns": turns}), _request()).config
    assert config.turns == turns
    endpointer = _endpointer(config)
    assert endpointer.silence_ms == 1800
    assert endpointer.turn_check_ms == 200


def test_an_agent_without_a_block_keeps_the_fixed_silence() -> None:
    agent = load_any_agent("cobranza-temprana")
    assert isinstance(agent, AgentDefinition)
    assert agent.turns is None
    endpointer = _endpointer(setup_for(agent, _request()).config)
    assert endpointer.silence_ms == 500
    assert endpointer.turn_check_ms is None


def test_a_block_without_a_mode_reads_the_words() -> None:
    agent = load_any_agent("cobranza-temprana")
    assert isinstance(agent, AgentDefinition)
    config = setup_for(agent.model_copy(update={"turns": TurnSettings()}), _request()).config
    assert config.turns is not None
    assert config.turns.mode == "words"
    endpointer = _endpointer(config)
    assert endpointer.turn_check_ms == 200  # the first look at the words
    assert endpointer.silence_ms == 1300  # the longest a hanging sentence waits


def test_a_silence_block_keeps_the_fixed_silence() -> None:
    agent = load_any_agent("cobranza-temprana")
    assert isinstance(agent, AgentDefinition)
    turns = TurnSettings(mode="silence")
    config = setup_for(agent.model_copy(update={"turns": turns}), _request()).config
    endpointer = _endpointer(config)
    assert endpointer.silence_ms == 500
    assert endpointer.turn_check_ms is None


def test_a_session_without_turns_ends_after_the_fixed_silence() -> None:
    endpointer = _endpointer(SessionConfig())
    assert endpointer.silence_ms == 500
    assert endpointer.turn_check_ms is None


def test_a_check_after_the_longest_wait_is_refused() -> None:
    with pytest.raises(pydantic.ValidationError):
        TurnSettings(check_ms=1000, max_wait_ms=800)
