"""Reading agent definitions: YAML or JSON text, a file, or an agent shipped in the package."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from realtime.agents.flows.schema import AgentDefinition, FlowDefinitionError
from realtime.agents.llm.agent import LlmAgentDefinition

AnyAgentDefinition = AgentDefinition | LlmAgentDefinition

DEFAULT_AGENT = "cobranza-temprana"
"""The agent of a call whose campaign names none (by segment or as its default_agent)."""

_SHIPPED_PACKAGE = "realtime"
_SHIPPED_FOLDER = "agents"


class AgentNotFoundError(LookupError):
    """No agent of that name (neither stored nor shipped)."""


def _describe(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors():
        inner = (error.get("ctx") or {}).get("error")
        if isinstance(inner, FlowDefinitionError):
            problems.extend(inner.problems)
            continue
        path = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(f"{path}: {error['msg']}")
    return problems


def parse_agent_data(data: Any, *, source: str = "<data>") -> AgentDefinition:
    """Validate an already-parsed flow definition (a dict, e.g. from the `agents` table).

    Raises:
        FlowDefinitionError: every problem found, each with its path (an LLM agent is
            one: it is not a flow).
    """
    definition = parse_any_agent_data(data, source=source)
    if not isinstance(definition, AgentDefinition):
        raise FlowDefinitionError(definition.name, ["kind: an LLM agent, not a flow"])
    return definition


def parse_any_agent_data(data: Any, *, source: str = "<data>") -> AnyAgentDefinition:
    """A flow agent, or an LLM agent when ``kind: llm``.

    Raises:
        FlowDefinitionError: every problem found, each with its path.
    """
    if not isinstance(data, dict):
        raise FlowDefinitionError(source, ["(top level): an agent definition is a mapping"])
    model: type[AgentDefinition] | type[LlmAgentDefinition] = (
        LlmAgentDefinition if data.get("kind") == "llm" else AgentDefinition
    )
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FlowDefinitionError(str(data.get("name") or source), _describe(exc)) from None


def _read(text: str, source: str) -> Any:
    try:
        return json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        raise FlowDefinitionError(source, [f"{source}: not valid YAML/JSON: {exc}"]) from None


def parse_agent(text: str, *, source: str = "<text>") -> AgentDefinition:
    """A definition from YAML or JSON text (JSON is read as JSON for exact errors).

    Raises:
        FlowDefinitionError: the text is not YAML/JSON, or the definition is invalid.
    """
    return parse_agent_data(_read(text, source), source=source)


def load_agent_file(path: str | Path) -> AgentDefinition:
    """A definition from a `.yaml`, `.yml` or `.json` file."""
    path = Path(path)
    return parse_agent(path.read_text(encoding="utf-8"), source=path.name)


def _shipped_files() -> dict[str, Any]:
    folder = resources.files(_SHIPPED_PACKAGE) / _SHIPPED_FOLDER
    return {
        entry.name.rsplit(".", 1)[0]: entry
        for entry in folder.iterdir()
        if entry.name.endswith((".yaml", ".yml"))
    }


def shipped_agents() -> list[str]:
    """Names of the agents that ship with Centralita, sorted."""
    return sorted(_shipped_files())


def load_agent(name: str) -> AgentDefinition:
    """A shipped flow agent by name (parsed once per process; treat it as read-only).

    Raises:
        AgentNotFoundError: no shipped flow agent has that name.
    """
    definition = load_any_agent(name)
    if not isinstance(definition, AgentDefinition):
        raise AgentNotFoundError(f"agent {name!r} is an LLM agent, not a flow")
    return definition


@lru_cache(maxsize=64)
def load_any_agent(name: str) -> AnyAgentDefinition:
    """A shipped agent by name, flow or LLM (parsed once per process; read-only).

    Raises:
        AgentNotFoundError: no shipped agent has that name.
    """
    entry = _shipped_files().get(name)
    if entry is None:
        raise AgentNotFoundError(
            f"no shipped agent named {name!r} (shipped: {', '.join(shipped_agents())})"
        )
    source = entry.name
    definition = parse_any_agent_data(
        _read(entry.read_text(encoding="utf-8"), source), source=source
    )
    if definition.name != name:
        raise FlowDefinitionError(
            name, [f"{entry.name}: name {definition.name!r} differs from its file name"]
        )
    return definition
