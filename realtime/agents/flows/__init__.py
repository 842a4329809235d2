"""Conversation flows: the embedded, model-free agent brain and its agent definitions.

Definitions are loaded by `realtime.agents.loader`; LLM-driven flows are run by
`realtime.agents.llm.flow_brain`. Nothing here imports `realtime.agents.llm`.
"""

from realtime.agents.flows.engine import FlowBrain, FlowError
from realtime.agents.flows.schema import AgentDefinition, FlowDefinitionError
from realtime.agents.flows.templates import VariableError

__all__ = [
    "AgentDefinition",
    "FlowBrain",
    "FlowDefinitionError",
    "FlowError",
    "VariableError",
]
