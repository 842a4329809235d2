"""What a flow may say next: the first sentence of each node a turn can lead to.

Voices render these ahead (`realtime.providers.rendered_lines`): the start node's
line while the phone rings, the next nodes' lines while the caller speaks. A flow
knows its graph, so the guess is cheap and usually right: from "¿Hablo con María?"
the next line is the identity confirmation or the wrong-person goodbye.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from realtime.agents.flows.schema import BACK, AgentDefinition, Node
from realtime.providers.sentences import split_sentences


def likely_lines(
    definition: AgentDefinition,
    node_id: str | None,
    visits: Counter[str],
    render: Callable[[str], str],
    *,
    limit: int = 4,
) -> list[str]:
    """The first sentence each likely next node would say, most likely first; before
    the greeting, every sentence of the greeting (all of it will be said).

    Args:
        definition: the flow.
        node_id: the node the conversation is in (None: before the greeting).
        visits: how many times each node's lines were said ("say:<id>"), which picks
            the variant a node would say next.
        render: the template as it would be spoken now (the contact's variables and
            the slots heard so far); a line it cannot render is skipped.
        limit: at most this many lines.
    """
    nodes = {node.id: node for node in definition.nodes}
    lines: list[str] = []
    for target in _next_nodes(definition, node_id):
        node = nodes.get(target)
        if node is None:
            continue
        said = _sentences(node, visits, render)
        for line in said if node_id is None else said[:1]:
            if line not in lines:
                lines.append(line)
        if len(lines) >= limit:
            break
    return lines[:limit]


def _next_nodes(definition: AgentDefinition, node_id: str | None) -> list[str]:
    """Where a turn from `node_id` may go, in the order the flow tries them."""
    if node_id is None:
        return [definition.start]
    current = next((n for n in definition.nodes if n.id == node_id), None)
    if current is None:
        return []
    targets = [t.to for t in current.transitions]
    if current.otherwise is not None:
        targets.append(current.otherwise)
    return list(dict.fromkeys(t for t in targets if t != BACK and t != node_id))


def _sentences(node: Node, visits: Counter[str], render: Callable[[str], str]) -> list[str]:
    template = node.say[visits[f"say:{node.id}"] % len(node.say)]
    try:
        return [s for s in split_sentences(render(template)) if s.strip()]
    except Exception:  # a guess that cannot be rendered yet (a slot not heard) is no guess
        return []
