"""The intent of a whole call, from what each user turn meant.

Each user turn is read by the live NLU (`centralita.understanding.nlu.understand`), whose
turn intents map onto most call intents. The three the live agent never needed
(billing inquiry, cancellation, technical support) get phrase lists here, matched on
the same folded text and cancelled by a negation just before them, as in `intents.py`.

A call often holds several intents ("ya pagué… bueno, le pago el viernes"). Evidence for
each intent is combined across turns as a noisy-OR of turn confidences, weighted up for
later turns: how a call ends says more about what it was than how it began.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from centralita.analysis.model import CallIntent, IntentResult
from centralita.understanding.model import Intent, Understanding
from centralita.understanding.text import NEGATORS, base_language, fold

_FROM_TURN_INTENT: Mapping[Intent, CallIntent] = {
    Intent.PROMISE_TO_PAY: CallIntent.PAYMENT_PROMISE,
    Intent.DISPUTE: CallIntent.DISPUTE,
    Intent.CALLBACK_REQUEST: CallIntent.CALLBACK_REQUEST,
    Intent.WRONG_PERSON: CallIntent.WRONG_PERSON,
    Intent.OPT_OUT: CallIntent.OPT_OUT,
}

# "Cancelar" alone is no cancellation: in Chile "le cancelo el viernes" and "cancelar
# la cuenta" mean paying. Only phrases about ending a service or contract count.
_EXTRA_PHRASES: Mapping[str, Mapping[CallIntent, tuple[str, ...]]] = {
    "es": {
        CallIntent.BILLING_INQUIRY: (
            "cuánto debo", "cuánto le debo", "cuánto es lo que debo", "cuál es mi saldo",
            "cuál es el saldo", "mi saldo", "el monto de la deuda", "por qué me cobraron",
            "por qué me cobran", "me cobraron de más", "un cobro", "la boleta", "mi boleta",
            "la factura", "mi factura", "el detalle de la deuda", "de qué es la deuda",
            "cuándo vence", "fecha de vencimiento", "estado de cuenta", "cuánto sale",
            "intereses", "a cuánto asciende",
        ),
        CallIntent.CANCELLATION: (
            "dar de baja", "darme de baja", "dé de baja", "cancelar el servicio",
            "cancelar mi servicio", "cancelar el contrato", "cancelar mi contrato",
            "cancelar el plan", "cancelar mi plan", "anular el contrato", "terminar el contrato",
            "rescindir", "dar de baja el servicio", "no quiero seguir con el servicio",
            "quiero cancelar la suscripción", "cancelar la suscripción", "darse de baja",
        ),
        CallIntent.TECHNICAL_SUPPORT: (
            "no tengo internet", "no tengo señal", "se cae internet", "se cae la señal",
            "no funciona", "no me funciona", "está fallando", "falla el servicio",
            "no puedo entrar", "no puedo ingresar", "la aplicación no", "la app no",
            "no me llega la boleta", "no carga", "sin servicio", "el módem", "el router",
            "problema técnico", "soporte técnico", "se corta la llamada", "no me deja pagar",
            "la página no",
        ),
    },
    "en": {
        CallIntent.BILLING_INQUIRY: (
            "how much do i owe", "how much is it", "what is my balance", "whats my balance",
            "my balance", "why was i charged", "why am i being charged", "overcharged",
            "my bill", "the bill", "my invoice", "the invoice", "the amount due",
            "when is it due", "due date", "interest charges", "a statement",
        ),
        CallIntent.CANCELLATION: (
            "cancel my subscription", "cancel the subscription", "cancel my service",
            "cancel the service", "cancel my contract", "cancel the contract",
            "cancel my plan", "cancel my account", "close my account", "terminate",
            "end my contract", "discontinue",
        ),
        CallIntent.TECHNICAL_SUPPORT: (
            "not working", "doesnt work", "does not work", "stopped working", "no internet",
            "internet is down", "no signal", "cant log in", "cannot log in", "cant sign in",
            "the app", "the website", "error message", "technical problem", "tech support",
            "technical support", "keeps crashing", "the modem", "the router",
        ),
    },
}  # fmt: skip
_EXTRA_SCORE = 0.9
# Secondary turn intents ("also") count for less than the turn's main one.
_ALSO_FACTOR = 0.8
# A turn's weight grows linearly from this (first user turn) to 1 (last user turn).
_FIRST_TURN_WEIGHT = 0.8
# With no intent heard at all, "other" is likely but not certain: the recogniser may
# have missed the words that carried it.
_NOTHING_HEARD_CONFIDENCE = 0.6
# Equal evidence goes to the intent with legal or cost weight first.
_PRIORITY: tuple[CallIntent, ...] = (
    CallIntent.OPT_OUT, CallIntent.WRONG_PERSON, CallIntent.DISPUTE,
    CallIntent.PAYMENT_PROMISE, CallIntent.CANCELLATION, CallIntent.CALLBACK_REQUEST,
    CallIntent.TECHNICAL_SUPPORT, CallIntent.BILLING_INQUIRY, CallIntent.OTHER,
)  # fmt: skip
_RANK = {intent: i for i, intent in enumerate(_PRIORITY)}


def _compile() -> dict[str, list[tuple[CallIntent, re.Pattern[str]]]]:
    return {
        lang: [
            (intent, re.compile(rf"(?<!\w){re.escape(fold(p))}(?!\w)"))
            for intent, phrases in table.items()
            for p in phrases
        ]
        for lang, table in _EXTRA_PHRASES.items()
    }


_COMPILED = _compile()


@dataclass(frozen=True, slots=True)
class TurnReading:
    """What one user turn meant for the call.

    Attributes:
        turn: Index of the turn in the call.
        understanding: The live NLU's reading of it.
        intents: Call intents heard in it, with their confidence.
    """

    turn: int
    understanding: Understanding
    intents: dict[CallIntent, float] = field(default_factory=dict)


def extra_intents(text: str, language: str) -> dict[CallIntent, float]:
    """Billing inquiry, cancellation and technical support heard in one turn.

    Args:
        text: The transcript of the turn.
        language: "es" or "en".

    Returns:
        Each intent heard, with its confidence (a negation just before cancels a hit).
    """
    folded = fold(text)
    found: dict[CallIntent, float] = {}
    for intent, pattern in _COMPILED[base_language(language)]:
        for m in pattern.finditer(folded):
            if not any(w in NEGATORS for w in folded[: m.start()].split()[-2:]):
                found[intent] = _EXTRA_SCORE
                break
    return found


def turn_intents(understanding: Understanding) -> dict[CallIntent, float]:
    """Call intents from the live NLU's reading of one turn (main and secondary).

    Args:
        understanding: The turn, understood.

    Returns:
        The mapped intents with their confidence.
    """
    found: dict[CallIntent, float] = {}
    if understanding.intent in _FROM_TURN_INTENT:
        found[_FROM_TURN_INTENT[understanding.intent]] = understanding.confidence
    for other in understanding.also:
        mapped = _FROM_TURN_INTENT.get(other)
        if mapped is not None and mapped not in found:
            found[mapped] = round(understanding.confidence * _ALSO_FACTOR, 3)
    return found


def call_intent(readings: Sequence[TurnReading]) -> IntentResult:
    """The call's intent from its user turns.

    Args:
        readings: The user turns, in order, with the intents each carried.

    Returns:
        The winning intent, its confidence (lower when another intent had nearly as much
        evidence) and the turns that carried it.
    """
    count = len(readings)
    evidence: dict[CallIntent, float] = {}
    turns: dict[CallIntent, list[int]] = {}
    for position, reading in enumerate(readings):
        weight = _FIRST_TURN_WEIGHT + (1 - _FIRST_TURN_WEIGHT) * (
            position / (count - 1) if count > 1 else 1.0
        )
        for intent, confidence in reading.intents.items():
            # Noisy-OR: each turn is independent evidence; two turns at 0.9 give 0.99.
            missed = 1.0 - evidence.get(intent, 0.0)
            evidence[intent] = 1.0 - missed * (1.0 - confidence * weight)
            turns.setdefault(intent, []).append(reading.turn)
    if not evidence:
        return IntentResult(intent=CallIntent.OTHER, confidence=_NOTHING_HEARD_CONFIDENCE)
    ranked = sorted(evidence, key=lambda i: (-round(evidence[i], 6), _RANK[i]))
    best = ranked[0]
    runner_up = evidence[ranked[1]] if len(ranked) > 1 else 0.0
    # A close second halves the confidence at worst: the call was about both.
    confidence = evidence[best] * (1.0 - 0.5 * runner_up / evidence[best])
    return IntentResult(intent=best, confidence=round(confidence, 3), evidence=turns[best])
