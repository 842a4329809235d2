"""Payment promises in a call: who promised what, for when, and whether it held.

A promise is made in one of two ways on a collection call. The caller says it ("le
pago doscientos mil el viernes"): the live NLU reads PROMISE_TO_PAY. Or the agent
proposes and the caller agrees ("¿Puede pagar doscientos mil el viernes?" "Sí."): the
turn is only AFFIRM, and the amount and date are in the agent's turn. A caller's
promise that leaves out the amount or the day takes it from the agent's turn just
before, which is what the caller was answering.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from centralita.analysis.call_intent import TurnReading
from centralita.analysis.model import Entity, EntityKind, ExtractedVariables, Turn
from centralita.understanding.model import Intent
from centralita.understanding.text import fold

# An agent turn proposes a payment when it names money or a day and speaks of paying.
_PAY_WORDS = re.compile(
    r"\b(?:pag\w*|abon\w*|cancel\w*|deposit\w*|transfer\w*|cuota\w*|pay\w*|compromis\w*|"
    r"comprom\w*|promise\w*|install\w*)\b"
)
# Turn intents that undo a promise made earlier in the call.
_UNDOING: frozenset[Intent] = frozenset({Intent.DISPUTE, Intent.CANNOT_PAY, Intent.OPT_OUT})
# A caller's agreement confirms a proposal less surely than a promise in their words.
_CONFIRMED_CONFIDENCE = 0.75


@dataclass(frozen=True, slots=True)
class Promise:
    """One payment promise.

    Attributes:
        turn: The user turn that made it.
        amount: Whole currency units, if said.
        currency: ISO 4217, if known.
        date: ISO date, if said.
        confirmed: True when the caller agreed to the agent's proposal.
        confidence: How surely this was a promise.
    """

    turn: int
    amount: int | None
    currency: str | None
    date: str | None
    confirmed: bool
    confidence: float

    @property
    def concrete(self) -> bool:
        """Whether it names an amount or a day (a bare "le voy a pagar" does not)."""
        return self.amount is not None or self.date is not None


def _first(entities: Sequence[Entity], turn: int, kind: EntityKind) -> Entity | None:
    return next(
        (e for e in entities if e.span.turn == turn and e.kind is kind and not e.negated), None
    )


def _proposal(turns: Sequence[Turn], entities: Sequence[Entity], turn: int) -> bool:
    """Whether agent turn `turn` proposes a payment with an amount or a day."""
    if turn < 0 or turns[turn].speaker != "agent":
        return False
    has_value = any(
        _first(entities, turn, kind) is not None for kind in (EntityKind.AMOUNT, EntityKind.DATE)
    )
    return has_value and bool(_PAY_WORDS.search(fold(turns[turn].text)))


def find_promises(
    turns: Sequence[Turn], readings: Sequence[TurnReading], entities: Sequence[Entity]
) -> list[Promise]:
    """Every payment promise in the call, in order.

    Args:
        turns: The transcript.
        readings: The user turns as the NLU read them.
        entities: The call's entities.

    Returns:
        The promises, oldest first.
    """
    promises: list[Promise] = []
    for reading in readings:
        u, index = reading.understanding, reading.turn
        heard = {u.intent, *u.also}
        stated = Intent.PROMISE_TO_PAY in heard and not heard & _UNDOING
        agreed = (
            u.intent is Intent.AFFIRM
            and not heard & (_UNDOING | {Intent.DENY})
            and _proposal(turns, entities, index - 1)
        )
        if not (stated or agreed):
            continue
        amount = _first(entities, index, EntityKind.AMOUNT)
        day = _first(entities, index, EntityKind.DATE)
        if _proposal(turns, entities, index - 1):
            amount = amount or _first(entities, index - 1, EntityKind.AMOUNT)
            day = day or _first(entities, index - 1, EntityKind.DATE)
        pay_date = u.slots.pay_date.isoformat() if u.slots.pay_date else None
        promises.append(
            Promise(
                turn=index,
                amount=int(amount.value) if amount else None,
                currency=amount.currency if amount else None,
                date=pay_date or (day.value if day else None),
                confirmed=not stated,
                confidence=u.confidence if stated else _CONFIRMED_CONFIDENCE,
            )
        )
    return promises


def promised_variables(promises: Sequence[Promise]) -> ExtractedVariables:
    """The promised amount and date to write back to the contact.

    The latest promise wins, field by field: "cien mil" followed later by "mejor el
    lunes" is cien mil on Monday.

    Args:
        promises: The call's promises, oldest first.

    Returns:
        The variables; all None when nothing concrete was promised.
    """
    with_amount = [p for p in promises if p.amount is not None]
    with_date = [p for p in promises if p.date is not None]
    return ExtractedVariables(
        promised_amount=with_amount[-1].amount if with_amount else None,
        promised_currency=with_amount[-1].currency if with_amount else None,
        promised_date=with_date[-1].date if with_date else None,
    )


def undone_after(readings: Sequence[TurnReading], turn: int) -> TurnReading | None:
    """The first user turn after `turn` that disputes, refuses to pay or opts out.

    Args:
        readings: The user turns as the NLU read them.
        turn: The turn of the promise.

    Returns:
        That turn's reading, or None when the promise stood to the end.
    """
    for reading in readings:
        u = reading.understanding
        if reading.turn > turn and {u.intent, *u.also} & _UNDOING:
            return reading
    return None
