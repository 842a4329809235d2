"""LLM agents as data: parsed beside flows, keys from the environment, variables checked."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.understanding.model import ContextAdvice, Steering
from realtime.agents.flows.schema import FlowDefinitionError
from realtime.agents.flows.templates import VariableError
from realtime.agents.llm.agent import LlmAgentDefinition
from realtime.agents.llm.prompt import fill, system_prompt
from realtime.agents.loader import parse_agent, parse_agent_data, parse_any_agent_data
from realtime.agents.setup import llm_brain

pytestmark = pytest.mark.unit

AGENT: dict[str, Any] = {
    "kind": "llm",
    "name": "asistente-cobranza",
    "language": "es-CL",
    "currency": "CLP",
    "variables": [{"name": "nombre", "required": True, "aliases": ["name"]}],
    "model": {"base_url": "http://127.0.0.1:11434/v1", "model": "llama3.1"},
    "fallback": {
        "base_url": "https://api.openai.com/v1",
        "model": "gpt-4o-mini",
        "api_key_env": "TEST_OPENAI_KEY",
    },
    "greeting": "Hola, ¿hablo con {nombre}?",
    "prompt": "Eres Sofía, de {empresa}. Hablas con {nombre}.",
    "tools": ["lookup_customer", "register_promise"],
}


def clock() -> datetime:
    return datetime(2026, 11, 23, 10, tzinfo=ZoneInfo("America/Santiago"))


def test_an_llm_agent_parses_beside_flows() -> None:
    agent = parse_any_agent_data(AGENT)
    assert isinstance(agent, LlmAgentDefinition)
    assert agent.tools == ["lookup_customer", "register_promise"]
    with pytest.raises(FlowDefinitionError, match="not a flow"):
        parse_agent_data(AGENT)  # where only flows are meant


def test_unknown_tools_and_fields_are_refused_with_their_path() -> None:
    with pytest.raises(FlowDefinitionError) as err:
        parse_any_agent_data({**AGENT, "tools": ["launch_rockets"], "colour": "red"})
    text = "\n".join(err.value.problems)
    assert "tools.0" in text
    assert "colour" in text


def test_the_key_comes_from_the_named_environment_variable() -> None:
    agent = parse_any_agent_data(AGENT)
    assert isinstance(agent, LlmAgentDefinition)
    config = agent.config({"TEST_OPENAI_KEY": "sk-test"})
    assert config.endpoint.api_key == "not-needed"  # a local server needs none
    assert config.fallback is not None
    assert config.fallback.api_key == "sk-test"
    assert "sk-test" not in repr(config)  # never logged
    with pytest.raises(ValueError, match="TEST_OPENAI_KEY is not set"):
        agent.config({})


def test_a_call_without_the_key_or_a_required_variable_is_not_placed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    agent = parse_any_agent_data(AGENT)
    assert isinstance(agent, LlmAgentDefinition)
    monkeypatch.delenv("TEST_OPENAI_KEY", raising=False)
    with pytest.raises(VariableError, match="TEST_OPENAI_KEY"):
        llm_brain(agent, {"nombre": "María"}, clock)
    monkeypatch.setenv("TEST_OPENAI_KEY", "sk-test")
    with pytest.raises(VariableError, match="nombre"):
        llm_brain(agent, {"empresa": "Banco Sur"}, clock)
    assert llm_brain(agent, {"name": "María"}, clock) is not None  # an alias counts


@pytest.mark.parametrize(
    ("greeting", "problem"),
    [
        ("Hola, le habla Sofía, de cobranzas de {empresa}. ¿Hablo con {nombre}?",
         "greeting: says 'cobranzas' before identity is verified"),
        ("Hi {nombre}, this is about your overdue balance.",
         "greeting: says 'overdue', 'balance' before identity is verified"),
        ("Hola {nombre}, le llamo por los {monto} pesos.",
         "greeting: uses sensitive monto before identity is verified"),  # an alias counts
    ],
)  # fmt: skip
def test_the_greeting_says_nothing_about_the_debt(greeting: str, problem: str) -> None:
    variables = [
        *AGENT["variables"],
        {"name": "monto_total", "sensitive": True, "aliases": ["monto"]},
    ]
    with pytest.raises(FlowDefinitionError) as err:
        parse_any_agent_data({**AGENT, "variables": variables, "greeting": greeting})
    (found,) = err.value.problems
    assert found.startswith(problem)


def test_the_readme_example_parses() -> None:
    from pathlib import Path

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    block = readme.split("```yaml\nkind: llm\n", 1)[1].split("```", 1)[0]
    with pytest.raises(FlowDefinitionError, match="not a flow"):
        parse_agent("kind: llm\n" + block)
    import yaml

    assert isinstance(
        parse_any_agent_data(yaml.safe_load("kind: llm\n" + block)), LlmAgentDefinition
    )


def test_the_prompt_is_filled_and_steered() -> None:
    assert fill("Hola {nombre}, debe {monto}.", {"nombre": "María"}) == "Hola María, debe {monto}."
    prompt = system_prompt(
        "Eres Sofía.", {}, "es-CL", ContextAdvice(steering=Steering.OFFER_TRANSFER)
    )
    assert prompt.startswith("Eres Sofía.")
    assert "ejecutivo" in prompt
    assert "ejecutivo" not in system_prompt(
        "Eres Sofía.", {}, "es", ContextAdvice(steering=Steering.CONTINUE)
    )


def test_an_agents_voice_needs_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from realtime.agents.setup import agent_voice
    from realtime.providers.elevenlabs import ElevenLabsTTS

    agent = parse_any_agent_data({**AGENT, "voice": {"voice_id": "sofia"}})
    assert isinstance(agent, LlmAgentDefinition)
    monkeypatch.delenv("ELEVENLABS_API_KEY", raising=False)
    with pytest.raises(VariableError, match="ELEVENLABS_API_KEY"):
        agent_voice(agent)
    monkeypatch.setenv("ELEVENLABS_API_KEY", "xi-key")
    voice = agent_voice(agent)
    assert isinstance(voice, ElevenLabsTTS)
    assert voice.voice_for("es-CL") == "sofia"
    assert agent_voice(agent) is voice  # one client per voice, shared by its calls
