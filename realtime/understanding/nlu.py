"""One call for the agent brain: a transcript in, an `Understanding` out.

Combines the intent classifier with the slot readers. Slots are read only where the
intent gives them a meaning: a pay date for a promise, a callback time for a callback
request. Amounts and identity numbers are read in every turn, because a caller may
offer an amount or give a RUT in answer to a question without any intent phrase.

Everything is compiled when the modules are imported (about 0.3 s, most of it
`dateparser`); a call is then pure CPU work: about 0.35 ms per turn on average and
0.7 ms for a long turn, measured on the development machine (no timing test, by
convention).
"""

from __future__ import annotations

from datetime import datetime

from realtime.understanding.amounts import parse_amount
from realtime.understanding.dates import (
    find_when,
    parse_callback_day,
    parse_callback_time,
    parse_pay_date,
    says_time_of_day,
)
from realtime.understanding.ids import find_national_id
from realtime.understanding.intents import classify
from realtime.understanding.model import Intent, Slots, Understanding
from realtime.understanding.text import base_language

# An amount and a day with no intent phrase ("el viernes, doscientos mil") is a promise,
# but a weaker one than a stated "le pago".
_IMPLIED_PROMISE_CONFIDENCE = 0.6


def understand(
    text: str, *, language: str, now: datetime, default_currency: str | None = None
) -> Understanding:
    """Understand one user turn.

    Args:
        text: The transcript of the turn.
        language: "es" or "en" (tags such as "es-CL" work too).
        now: The moment of the turn, aware, in the caller's zone; dates are relative to it.
        default_currency: The campaign's ISO 4217 currency for amounts said without one.

    Returns:
        The intent, its confidence, other intents heard and the slots filled.

    Raises:
        ValueError: If `now` is naive (callback times must be aware).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, in the caller's zone")
    lang = base_language(language)
    result = classify(text, lang)
    intent, confidence, also = result.intent, result.confidence, list(result.also)

    amount = parse_amount(text, lang, default_currency)
    slots = Slots(
        amount=amount.value if amount else None,
        currency=amount.currency if amount else None,
    )
    if amount and intent in {Intent.UNKNOWN, Intent.AFFIRM}:
        when = find_when(text, lang, now)
        if when.day is not None:
            if intent is not Intent.UNKNOWN:
                also.insert(0, intent)
            intent, confidence = Intent.PROMISE_TO_PAY, _IMPLIED_PROMISE_CONFIDENCE

    heard = {intent, *also}
    if Intent.PROMISE_TO_PAY in heard:
        slots.pay_date = parse_pay_date(text, lang, now)
    if Intent.CALLBACK_REQUEST in heard or (
        Intent.PROMISE_TO_PAY not in heard and says_time_of_day(text, lang, now)
    ):
        # An hour on its own ("a las cuatro") answers "¿a qué hora le acomoda?".
        slots.callback_at = parse_callback_time(text, lang, now)
        slots.callback_day = parse_callback_day(text, lang, now)
    national_id = find_national_id(text)
    if national_id is not None:
        slots.national_id = national_id.value
    return Understanding(
        text=text,
        language=lang,
        intent=intent,
        confidence=confidence,
        also=also,
        slots=slots,
    )
