"""Keyword topics of a call from a small domain taxonomy, each with the turns that raised it.

Topics answer "what was talked about", which the intent does not: a promise call also
talks about the debt amount and the due date. Evidence comes from three places: the
values said (an amount is about money), the intents heard, and keyword lists. Agent
turns count too: "su deuda es de doscientos mil" puts the debt amount on the table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from centralita.analysis.call_intent import TurnReading
from centralita.analysis.model import CallIntent, Entity, EntityKind, Topic, Turn
from centralita.understanding.model import Intent
from centralita.understanding.text import base_language, fold

PAYMENT = "payment"
DEBT_AMOUNT = "debt_amount"
DUE_DATE = "due_date"
DISPUTE = "dispute"
IDENTITY = "identity"
CALLBACK = "callback"
OPT_OUT = "opt_out"
TECHNICAL_PROBLEM = "technical_problem"
BILLING = "billing"
CANCELLATION = "cancellation"
WRONG_PERSON = "wrong_person"
PAYMENT_DIFFICULTY = "payment_difficulty"
CONTACT_DETAILS = "contact_details"

# Matched on folded text as whole words; a trailing "*" matches any ending ("pag*"
# finds "pago", "pagar", "pagué"), kept off short words that start others ("rut", "ruta").
_KEYWORDS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "es": {
        PAYMENT: ("pag*", "abon*", "deposit*", "transferenc*", "cuota*", "convenio*",
                  "repactac*"),
        DEBT_AMOUNT: ("deuda*", "saldo*", "monto*", "adeud*", "debe", "debo", "total"),
        DUE_DATE: ("vencimiento*", "vence", "vencid*", "plazo*", "fecha limite", "atrasad*",
                   "mora"),
        IDENTITY: ("rut", "cedula", "carnet", "dni", "nie", "identidad", "titular"),
        TECHNICAL_PROBLEM: ("no funciona", "falla*", "internet", "senal", "aplicacion"),
        BILLING: ("boleta*", "factura*", "cobro*", "estado de cuenta", "interes*"),
        CONTACT_DETAILS: ("correo*", "email", "telefono*", "celular*", "direccion*"),
    },
    "en": {
        PAYMENT: ("pay*", "deposit*", "transfer*", "installment*", "payment plan"),
        DEBT_AMOUNT: ("debt*", "balance*", "amount*", "owe*", "outstanding", "total"),
        DUE_DATE: ("due", "overdue", "deadline*", "past due", "late"),
        IDENTITY: ("social security", "date of birth", "identity", "verify", "account holder"),
        TECHNICAL_PROBLEM: ("not working", "internet", "signal", "app", "website", "error*"),
        BILLING: ("bill*", "invoice*", "charge*", "statement*", "interest"),
        CONTACT_DETAILS: ("email*", "phone number*", "address*", "cell"),
    },
}  # fmt: skip
_BY_ENTITY: Mapping[EntityKind, str] = {
    EntityKind.AMOUNT: DEBT_AMOUNT,
    EntityKind.RUT: IDENTITY,
    EntityKind.DNI: IDENTITY,
    EntityKind.NIE: IDENTITY,
    EntityKind.PHONE: CONTACT_DETAILS,
    EntityKind.EMAIL: CONTACT_DETAILS,
}
_BY_CALL_INTENT: Mapping[CallIntent, str] = {
    CallIntent.PAYMENT_PROMISE: PAYMENT,
    CallIntent.DISPUTE: DISPUTE,
    CallIntent.CALLBACK_REQUEST: CALLBACK,
    CallIntent.OPT_OUT: OPT_OUT,
    CallIntent.WRONG_PERSON: WRONG_PERSON,
    CallIntent.TECHNICAL_SUPPORT: TECHNICAL_PROBLEM,
    CallIntent.BILLING_INQUIRY: BILLING,
    CallIntent.CANCELLATION: CANCELLATION,
}
# A cap keeps the list a glance, not an inventory.
MAX_TOPICS = 6


_END = {True: "", False: r"(?!\w)"}


def _compile() -> dict[str, list[tuple[str, re.Pattern[str]]]]:
    return {
        lang: [
            (topic, re.compile(rf"(?<!\w){re.escape(word.rstrip('*'))}" + _END[word[-1] == "*"]))
            for topic, words in table.items()
            for word in words
        ]
        for lang, table in _KEYWORDS.items()
    }


_COMPILED = _compile()


def find_topics(
    turns: Sequence[Turn],
    readings: Sequence[TurnReading],
    entities: Sequence[Entity],
    language: str,
) -> list[Topic]:
    """The call's topics, most discussed first.

    Args:
        turns: The transcript.
        readings: The user turns with the call intents they carried.
        entities: The call's entities (a date is a due date only near payment talk).
        language: "es" or "en".

    Returns:
        At most `MAX_TOPICS` topics with their evidence turn indexes, ordered by how
        many turns raised them, then by first mention.
    """
    evidence: dict[str, set[int]] = {}
    patterns = _COMPILED[base_language(language)]
    for index, turn in enumerate(turns):
        folded = fold(turn.text)
        for topic, pattern in patterns:
            if pattern.search(folded):
                evidence.setdefault(topic, set()).add(index)
    for reading in readings:
        for intent in reading.intents:
            if intent in _BY_CALL_INTENT:
                evidence.setdefault(_BY_CALL_INTENT[intent], set()).add(reading.turn)
        u = reading.understanding
        if Intent.CANNOT_PAY in {u.intent, *u.also}:
            evidence.setdefault(PAYMENT_DIFFICULTY, set()).add(reading.turn)
    payment_turns = evidence.get(PAYMENT, set())
    for entity in entities:
        if entity.kind in _BY_ENTITY:
            evidence.setdefault(_BY_ENTITY[entity.kind], set()).add(entity.span.turn)
        elif entity.kind is EntityKind.DATE and entity.span.turn in payment_turns:
            # A day said in the same turn as payment words is when something is due.
            evidence.setdefault(DUE_DATE, set()).add(entity.span.turn)
    ranked = sorted(evidence.items(), key=lambda kv: (-len(kv[1]), min(kv[1]), kv[0]))
    return [Topic(name=name, evidence=sorted(turns_)) for name, turns_ in ranked[:MAX_TOPICS]]
