"""How a `ContactMemory` is put into words: flow template variables and prompt lines.

Kept apart from the memory itself so that the rules (which promise was kept) and the
phrasing (how an agent is told) change independently.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from centralita.memory.contact_memory import ContactMemory, Promise

# At most this many earlier calls are listed one by one in a prompt: older ones add
# length, not judgement.
CALLS_LISTED = 5

_STATUS = {
    "es": {
        "kept": "cumplida",
        "partial": "cumplida en parte",
        "broken": "incumplida",
        "pending": "pendiente",
    },
    "en": {"kept": "kept", "partial": "partly kept", "broken": "broken", "pending": "pending"},
}
# Spanish flow variables carry Spanish values (a transition compares them), the English
# ones English values.
_STATUS_VALUE_ES = {
    "kept": "cumplida",
    "partial": "parcial",
    "broken": "incumplida",
    "pending": "pendiente",
}
_OUTCOME = {
    "es": {
        "promise_to_pay": "prometió pagar",
        "completed": "conversación completa",
        "callback_requested": "pidió que lo llamaran de nuevo",
        "wrong_person": "contestó otra persona",
        "opt_out": "pidió no recibir más llamadas",
        "disputed": "disputó la deuda",
        "no_decision": "cortó sin decidir",
        "voicemail": "buzón de voz",
        "no_answer": "no contestó",
        "busy": "ocupado",
        "failed": "la llamada falló",
    },
    "en": {
        "promise_to_pay": "promised to pay",
        "completed": "conversation completed",
        "callback_requested": "asked to be called back",
        "wrong_person": "someone else answered",
        "opt_out": "asked not to be called again",
        "disputed": "disputed the debt",
        "no_decision": "hung up without deciding",
        "voicemail": "voicemail",
        "no_answer": "no answer",
        "busy": "busy",
        "failed": "the call failed",
    },
}


def plain(amount: Decimal) -> str:
    """An amount as a bare number: `200000`, `99.50` (no grouping, no currency)."""
    if amount == amount.to_integral_value():
        return str(amount.quantize(Decimal(1)))
    return str(amount.quantize(Decimal("0.01")))


def template_variables(memory: ContactMemory) -> dict[str, str]:
    """The memory as flow variables, Spanish and English names side by side."""
    found: dict[str, str] = {"llamadas_previas": str(len(memory.calls))}
    if memory.calls:
        last = memory.calls[0]
        found["ultima_llamada_fecha"] = last.at.date().isoformat()
        if last.outcome:
            found["ultima_llamada_resultado"] = last.outcome
    if memory.promises:
        promise = memory.promises[0]
        found["ultima_promesa_fecha"] = promise.due_on.isoformat()
        found["ultima_promesa_estado"] = _STATUS_VALUE_ES[promise.status.value]
        found["ultima_promesa_pagado"] = plain(promise.paid)
        if promise.amount is not None:
            found["ultima_promesa_monto"] = plain(promise.amount)
        if promise.currency:
            found["ultima_promesa_moneda"] = promise.currency
        if promise.status.value == "broken":
            # Present only for a broken promise: a flow's `when: {variable: [...]}` asks
            # "did you manage to pay?" only when it was not paid.
            found["promesa_incumplida_fecha"] = promise.due_on.isoformat()
    if memory.disputes:
        found["disputa_previa_fecha"] = memory.disputes[0].on.isoformat()
    if memory.callbacks:
        found["ultima_rellamada_fecha"] = memory.callbacks[0].on.isoformat()
    if memory.language:
        found["idioma_preferido"] = memory.language.text
    english = {
        "llamadas_previas": "previous_calls",
        "ultima_llamada_fecha": "last_call_date",
        "ultima_llamada_resultado": "last_call_outcome",
        "ultima_promesa_fecha": "last_promise_date",
        "ultima_promesa_estado": "last_promise_status",
        "ultima_promesa_pagado": "last_promise_paid",
        "ultima_promesa_monto": "last_promise_amount",
        "ultima_promesa_moneda": "last_promise_currency",
        "disputa_previa_fecha": "previous_dispute_date",
        "ultima_rellamada_fecha": "last_callback_request_date",
        "idioma_preferido": "preferred_language",
        "promesa_incumplida_fecha": "broken_promise_date",
    }
    both = dict(found)
    for spanish, value in found.items():
        both[english[spanish]] = value
    if memory.promises:
        both["last_promise_status"] = memory.promises[0].status.value
    return both


def context_lines(memory: ContactMemory, language: str, *, identity_verified: bool) -> list[str]:
    """The memory as short prompt lines in Spanish ("es*") or English."""
    lang = "es" if language.lower().startswith("es") else "en"
    es = lang == "es"
    if not memory.has_history:
        return []
    if not identity_verified:
        return [
            "Hay historial previo con este contacto. Verifique su identidad antes de "
            "mencionar montos, fechas o cualquier detalle de la deuda."
            if es
            else "There is earlier history with this contact. Verify their identity before "
            "mentioning amounts, dates or any detail of the debt."
        ]
    lines = [
        f"Historial de este contacto ({len(memory.calls)} llamadas anteriores):"
        if es
        else f"This contact's history ({len(memory.calls)} earlier calls):"
    ]
    for call in memory.calls[:CALLS_LISTED]:
        said = _OUTCOME[lang].get(call.outcome or "", call.outcome or "?")
        lines.append(f"- {call.at.date().isoformat()}: {said}.")
    lines += [_promise_line(p, lang) for p in memory.promises]
    for dispute in memory.disputes:
        lines.append(
            f"- Disputó la deuda el {dispute.on.isoformat()}."
            if es
            else f"- Disputed the debt on {dispute.on.isoformat()}."
        )
    for callback in memory.callbacks:
        when = callback.callback_at.isoformat(timespec="minutes") if callback.callback_at else ""
        lines.append(
            f"- El {callback.on.isoformat()} pidió que lo llamaran de nuevo"
            + (f" ({when})." if when else ".")
            if es
            else f"- On {callback.on.isoformat()} asked to be called back"
            + (f" ({when})." if when else ".")
        )
    for opt_out in memory.opt_outs:
        lines.append(
            f"- Pidió no recibir más llamadas (desde el {opt_out.on.isoformat()})."
            if es
            else f"- Asked not to be called again (since {opt_out.on.isoformat()})."
        )
    if memory.language:
        lines.append(
            f"- Idioma preferido: {memory.language.text}."
            if es
            else f"- Preferred language: {memory.language.text}."
        )
    if memory.last_summary:
        on, text = memory.last_summary.on.isoformat(), memory.last_summary.text
        lines.append(
            f"- Resumen de la última conversación ({on}): {text}"
            if es
            else f"- Summary of the last conversation ({on}): {text}"
        )
    return lines


def _promise_line(promise: Promise, lang: str) -> str:
    es = lang == "es"
    money = (
        f"{plain(promise.amount)} {promise.currency or ''}".strip()
        if promise.amount is not None
        else ""
    )
    status = _STATUS[lang][promise.status.value]
    paid = f"{plain(promise.paid)} {promise.currency or ''}".strip()
    if es:
        what = f"pagar {money}" if money else "pagar"
        line = (
            f"- El {promise.made_on.isoformat()} prometió {what} a más tardar el "
            f"{promise.due_on.isoformat()}: {status}"
        )
        if promise.paid > 0 and promise.status.value != "kept":
            line += f" (ha pagado {paid})"
    else:
        what = f"pay {money}" if money else "pay"
        line = (
            f"- On {promise.made_on.isoformat()} promised to {what} by "
            f"{promise.due_on.isoformat()}: {status}"
        )
        if promise.paid > 0 and promise.status.value != "kept":
            line += f" (paid {paid} so far)"
    return line + "."
