"""Conversation flows: the embedded, model-free agent brain and its agent definitions."""

from realtime.flows.engine import FlowBrain, FlowError
from realtime.flows.loader import (
    AgentNotFoundError,
    load_agent,
    load_agent_file,
    parse_agent,
    parse_agent_data,
    shipped_agents,
)
from realtime.flows.schema import AgentDefinition, FlowDefinitionError
from realtime.flows.templates import VariableError

__all__ = [
    "AgentDefinition",
    "AgentNotFoundError",
    "FlowBrain",
    "FlowDefinitionError",
    "FlowError",
    "VariableError",
    "load_agent",
    "load_agent_file",
    "parse_agent",
    "parse_agent_data",
    "shipped_agents",
]
