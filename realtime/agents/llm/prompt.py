"""The system prompt of an LLM agent: its instructions, the caller's data, live advice.

The prompt is the agent's own text with the contact's dynamic variables filled in
(`{nombre}`, `{monto_total}`; a missing one is left visible rather than failing the
call). Context analysis adds one line per turn when it has advice, so the model
changes course the way a flow would (offer a human now, use simpler sentences).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from centralita.understanding.model import ContextAdvice, Steering

_RULES = {
    "es": (
        "Estás en una llamada telefónica: responde con frases cortas y naturales, sin "
        "listas ni emojis. Usa las herramientas para registrar compromisos, agendar "
        "llamadas, dar de baja o transferir; nunca inventes montos ni fechas."
    ),
    "en": (
        "You are on a phone call: answer in short, natural sentences, no lists or emoji. "
        "Use the tools to register promises, schedule callbacks, opt out or transfer; "
        "never invent amounts or dates."
    ),
}

_ADVICE = {
    "es": {
        Steering.SIMPLIFY: "La persona parece confundida: usa frases más simples y cortas.",
        Steering.OFFER_TRANSFER: "La persona está molesta: ofrécele hablar con un ejecutivo.",
        Steering.TRANSFER_NOW: "La persona pidió un humano: transfiérela ahora "
        "(transfer_to_agent).",
    },
    "en": {
        Steering.SIMPLIFY: "The caller seems confused: use simpler, shorter sentences.",
        Steering.OFFER_TRANSFER: "The caller is upset: offer them a human agent.",
        Steering.TRANSFER_NOW: "The caller asked for a human: transfer now (transfer_to_agent).",
    },
}


class _Lenient(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, variables: Mapping[str, Any]) -> str:
    """`template` with `{name}` fields from `variables`; unknown fields stay as written."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    values = _Lenient({k: v for k, v in variables.items() if k in fields})
    return template.format_map(values)


def phone_rules(language: str) -> str:
    """How to talk on a phone call and use the tools, in the call's language."""
    return _RULES.get(language.split("-")[0], _RULES["en"])


def advice_line(language: str, advice: ContextAdvice | None) -> str | None:
    """The context analysis's advice for this turn as one line (None: carry on)."""
    if advice is None or advice.steering is Steering.CONTINUE:
        return None
    return _ADVICE.get(language.split("-")[0], _ADVICE["en"])[advice.steering]


def system_prompt(
    instructions: str,
    variables: Mapping[str, Any],
    language: str,
    advice: ContextAdvice | None = None,
    *,
    memory: str = "",
) -> str:
    """The whole system prompt for this turn (`memory`: the contact's history, as
    `ContactMemory.as_context` writes it for this moment)."""
    parts = [fill(instructions, variables).strip(), phone_rules(language)]
    if memory:
        parts.append(memory)
    line = advice_line(language, advice)
    if line is not None:
        parts.append(line)
    return "\n\n".join(parts)
