"""The tenant tools a flow calls: every `tenant:<name>` step, with where it is.

A flow names the tenant's own tools (HTTP, MCP) in its tool steps; the tools are the
tenant's data, not the flow's, so they are checked when the agent is stored for a tenant
(`api/routes/agents.py`), not when the definition is parsed.
"""

from __future__ import annotations

from collections.abc import Iterator

from realtime.agents.external_tools import TENANT_PREFIX
from realtime.agents.flows.schema import AgentDefinition, ToolSpec


def tenant_tool_refs(definition: AgentDefinition) -> list[tuple[str, str]]:
    """(path, tool name without its prefix) for each tenant tool step, in order."""
    return [
        (f"{path}[{i}]", spec.name.removeprefix(TENANT_PREFIX))
        for path, specs in _tool_lists(definition)
        for i, spec in enumerate(specs)
        if spec.name.startswith(TENANT_PREFIX)
    ]


def _tool_lists(definition: AgentDefinition) -> Iterator[tuple[str, list[ToolSpec]]]:
    for node in definition.nodes:
        yield f"nodes[{node.id}].on_enter", node.on_enter
        for i, t in enumerate(node.transitions):
            yield f"nodes[{node.id}].transitions[{i}].tools", t.tools
    for key, group in (
        ("interrupts", definition.interrupts),
        ("global_transitions", definition.global_transitions),
    ):
        for i, t in enumerate(group):
            yield f"{key}[{i}].tools", t.tools
