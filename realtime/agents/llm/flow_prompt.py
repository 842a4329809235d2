"""What the model is told in a flow's LLM mode: the step's prompt and the flow's tools.

The system prompt is rebuilt for every model round from the flow's state: the agent's
description, the current node's instructions (or its `say` variants as guidance), the
contact's variables (the sensitive ones only once identity is verified: the model
cannot disclose what it was never given), the slots heard so far and the context
analysis's advice. `go_to_node` offers exactly the nodes the flow can go to from here;
`fill_slots` exactly the slots this node and its ways out use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from centralita.understanding.model import ContextAdvice
from realtime.agents.flows.guided import GuidedFlow, Option
from realtime.agents.llm.prompt import advice_line, phone_rules

GO_TO_NODE = "go_to_node"
FILL_SLOTS = "fill_slots"

_LABELS = {
    "es": {
        "step": "Paso actual de la conversación: {node}.",
        "instructions": "Instrucciones de este paso:",
        "guidance": "En este paso, di algo como:",
        "variables": "Datos del cliente:",
        "unverified": (
            "La identidad de la persona aún no está verificada: no hables de deudas, "
            "montos ni fechas de pago."
        ),
        "slots": "Datos ya registrados en la llamada:",
        "today": "Hoy es {today}.",
        "how": (
            "Cuando la persona entregue un dato (fecha, monto, RUT), regístralo con "
            "fill_slots. Para avanzar al paso que corresponda a su respuesta usa "
            "go_to_node; si el paso es rechazado, el resultado dice por qué: pide lo que "
            "falta. No anuncies los pasos ni las herramientas."
        ),
    },
    "en": {
        "step": "Current step of the conversation: {node}.",
        "instructions": "Instructions for this step:",
        "guidance": "In this step, say something like:",
        "variables": "Customer data:",
        "unverified": (
            "The person's identity is not verified yet: do not talk about debts, amounts "
            "or due dates."
        ),
        "slots": "Data recorded in this call:",
        "today": "Today is {today}.",
        "how": (
            "When the person gives a value (a date, an amount, an ID), record it with "
            "fill_slots. To move to the step their answer calls for, use go_to_node; if "
            "the move is refused, the result says why: ask for what is missing. Never "
            "announce steps or tools."
        ),
    },
}

# The JSON Schema of each slot as the model fills it (validated again by `Slots`).
SLOT_SCHEMAS: dict[str, dict[str, Any]] = {
    "amount": {"type": "number", "exclusiveMinimum": 0, "description": "Whole currency units"},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217"},
    "pay_date": {"type": "string", "format": "date", "description": "YYYY-MM-DD"},
    "callback_at": {
        "type": "string",
        "format": "date-time",
        "description": "ISO 8601 with the UTC offset",
    },
    "national_id": {"type": "string", "description": "The ID characters as the person said"},
}


@dataclass
class FlowPromptView:
    """The flow's state as the prompt shows it."""

    description: str
    node: str
    instructions: str | None
    guidance: list[str]
    variables: dict[str, str]
    slots: dict[str, str]
    verified: bool
    today: datetime
    options: list[Option] = field(default_factory=list)

    @classmethod
    def of(cls, flow: GuidedFlow) -> FlowPromptView:
        """What `flow` shows the model now."""
        node = flow.current
        instructions = flow.instructions(node)
        return cls(
            description=flow.description(),
            node=node.id,
            instructions=instructions,
            guidance=[] if instructions is not None else flow.say_guidance(node),
            variables=flow.known_variables(),
            slots=flow.known_slots(),
            verified=flow.identity_verified,
            today=flow.today(),
            options=flow.options(),
        )


def flow_system_prompt(
    view: FlowPromptView, language: str, advice: ContextAdvice | None = None, *, memory: str = ""
) -> str:
    """The system prompt for one model round (`memory`: the contact's history, masked
    while `view.verified` is False)."""
    primary = language.split("-")[0]
    labels = _LABELS.get(primary, _LABELS["en"])
    parts = [view.description.strip()] if view.description.strip() else []
    parts.append(labels["step"].format(node=view.node))
    if view.instructions is not None:
        parts.append(f"{labels['instructions']}\n{view.instructions}")
    else:
        parts.append(labels["guidance"] + "\n" + "\n".join(f"- {s}" for s in view.guidance))
    if view.variables:
        data = "\n".join(f"- {k}: {v}" for k, v in view.variables.items())
        parts.append(f"{labels['variables']}\n{data}")
    if not view.verified:
        parts.append(labels["unverified"])
    if memory:
        parts.append(memory)
    if view.slots:
        heard = "\n".join(f"- {k}: {v}" for k, v in view.slots.items())
        parts.append(f"{labels['slots']}\n{heard}")
    parts.append(labels["today"].format(today=f"{view.today:%A} {view.today.date().isoformat()}"))
    parts.append(labels["how"])
    parts.append(phone_rules(language))
    line = advice_line(language, advice)
    if line is not None:
        parts.append(line)
    return "\n\n".join(parts)


def go_to_node_tool(options: list[Option]) -> dict[str, Any]:
    """The `go_to_node` tool: an enum of the nodes reachable from here, each described."""
    steps = "\n".join(f"- {o.describe()}" for o in options)
    return {
        "type": "function",
        "function": {
            "name": GO_TO_NODE,
            "description": f"Move the conversation to the next step. Steps from here:\n{steps}",
            "parameters": {
                "type": "object",
                "properties": {
                    "node": {"type": "string", "enum": [o.target for o in options]},
                },
                "required": ["node"],
                "additionalProperties": False,
            },
        },
    }


def fill_slots_tool(slots: list[str]) -> dict[str, Any]:
    """The `fill_slots` tool: one optional property per slot this node may record."""
    return {
        "type": "function",
        "function": {
            "name": FILL_SLOTS,
            "description": "Record values the person said (only those they said).",
            "parameters": {
                "type": "object",
                "properties": {name: SLOT_SCHEMAS[name] for name in slots},
                "additionalProperties": False,
            },
        },
    }
