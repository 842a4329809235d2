"""One call for the agent brain: a transcript in, an `Understanding` out.

Combines the intent classifier with the slot readers. Slots are read only where the
intent gives them a meaning: a pay date for a promise, a callback time for a callback
request. Amounts and identity numbers are read in every turn, because a caller may
offer an amount or give a RUT in answer to a question without any intent phrase.

A turn is also read as the answer to what the agent just asked (`expecting`): after
"¿Qué día podría pagar?" a bare "el viernes" (or "sí, el 15", "on Friday") is the pay
date, after "¿Cuánto podría abonar?" a bare "cincuenta" the amount, after "¿Cuándo lo
llamamos?" a bare "mañana" the callback's day. Such an answer counts as the promise (or
callback request) it answers, unless the turn says something else: it cannot pay,
disputes, asks for a person, or turns the day down ("el viernes no puedo").

Everything is compiled when the modules are imported (about 0.3 s, most of it
`dateparser`); a call is then pure CPU work: about 0.4 ms for a short turn and 2 ms for
a 30-word one, measured on the 2-core development machine (0.3 and 1.4 ms before the
phrase lists for asking for a person and for being out of work grew; no timing test,
by convention).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from centralita.understanding.amounts import parse_amount
from centralita.understanding.dates import (
    parse_answered_callback,
    parse_answered_pay_date,
    says_time_of_day,
)
from centralita.understanding.ids import find_national_id
from centralita.understanding.intents import classify
from centralita.understanding.model import Intent, Slots, Understanding
from centralita.understanding.text import base_language

# An amount and a day with no intent phrase ("el viernes, doscientos mil") is a promise,
# but a weaker one than a stated "le pago".
_IMPLIED_PROMISE_CONFIDENCE = 0.6
# A bare answer to the question just asked ("¿Qué día?" "El viernes") is clearly heard:
# above the default `clarify_below` (0.6), so it is not confirmed twice.
_ANSWER_CONFIDENCE = 0.8
# Turns that say something else than a pay date or an amount, even when they name one.
_NOT_AN_OFFER = frozenset(
    {Intent.CANNOT_PAY, Intent.DISPUTE, Intent.OPT_OUT, Intent.WRONG_PERSON,
     Intent.VOICEMAIL, Intent.HUMAN_REQUEST, Intent.CALLBACK_REQUEST}
)  # fmt: skip
_NOT_A_CALLBACK = frozenset(
    {Intent.CANNOT_PAY, Intent.DISPUTE, Intent.OPT_OUT, Intent.WRONG_PERSON,
     Intent.VOICEMAIL, Intent.HUMAN_REQUEST}
)  # fmt: skip
# What a bare answer may be besides the answer: "sí, el viernes", "no, el lunes" (a
# correction of what was read back), "hola, sí, mañana".
_ANSWER_INTENTS = frozenset({Intent.UNKNOWN, Intent.AFFIRM, Intent.GREETING, Intent.DENY})


def understand(
    text: str,
    *,
    language: str,
    now: datetime,
    default_currency: str | None = None,
    expecting: Collection[str] = (),
) -> Understanding:
    """Understand one user turn.

    Args:
        text: The transcript of the turn.
        language: "es" or "en" (tags such as "es-CL" work too).
        now: The moment of the turn, aware, in the caller's zone; dates are relative to it.
        default_currency: The campaign's ISO 4217 currency for amounts said without one.
        expecting: The slots the agent just asked for ("pay_date", "amount",
            "callback_at"); see `answer_expected`.

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
    if (
        amount
        and intent in {Intent.UNKNOWN, Intent.AFFIRM}
        and parse_answered_pay_date(text, lang, now) is not None
    ):
        if intent is not Intent.UNKNOWN:
            also.insert(0, intent)
        intent, confidence = Intent.PROMISE_TO_PAY, _IMPLIED_PROMISE_CONFIDENCE

    heard = {intent, *also}
    if Intent.PROMISE_TO_PAY in heard:
        slots.pay_date = parse_answered_pay_date(text, lang, now)
    if Intent.CALLBACK_REQUEST in heard or (
        Intent.PROMISE_TO_PAY not in heard and says_time_of_day(text, lang, now)
    ):
        # An hour on its own ("a las cuatro") answers "¿a qué hora le acomoda?".
        slots.callback_at, slots.callback_day = parse_answered_callback(text, lang, now)
    national_id = find_national_id(text)
    if national_id is not None:
        slots.national_id = national_id.value
    understood = Understanding(
        text=text,
        language=lang,
        intent=intent,
        confidence=confidence,
        also=also,
        slots=slots,
    )
    if not expecting:
        return understood
    return answer_expected(understood, expecting, now=now, default_currency=default_currency)


def answer_expected(
    understanding: Understanding,
    expecting: Collection[str],
    *,
    now: datetime,
    default_currency: str | None = None,
) -> Understanding:
    """The turn read again as the answer to the slots the agent just asked for.

    A slot already heard is kept. An expected pay date or amount heard in a turn that
    says nothing else makes the turn a promise (`PROMISE_TO_PAY`, with "sí" or "no"
    kept among the other intents); an expected callback day or hour, a callback request.

    Args:
        understanding: The turn as `understand` read it without expectations (a flow
            engine gets it so from the call session, and adds what its node asked).
        expecting: Slot names: "pay_date", "amount", "callback_at" (others are ignored).
        now: The moment of the turn, aware, in the caller's zone.
        default_currency: The campaign's currency for an amount said without one.

    Returns:
        A new `Understanding` (the same one when nothing changed).
    """
    text, lang = understanding.text, understanding.language
    heard = {understanding.intent, *understanding.also}
    slots = understanding.slots.model_copy()
    answered: Intent | None = None
    offers = Intent.PROMISE_TO_PAY in heard or not heard & _NOT_AN_OFFER
    if offers and "pay_date" in expecting:
        if slots.pay_date is None:
            slots.pay_date = parse_answered_pay_date(text, lang, now)
        if slots.pay_date is not None:
            answered = Intent.PROMISE_TO_PAY
    if offers and "amount" in expecting:
        amount = parse_amount(text, lang, default_currency, expected=True)
        if amount is not None and not amount.negated:  # "cien mil no": not an offer
            if slots.amount is None:
                slots.amount, slots.currency = amount.value, amount.currency
            answered = Intent.PROMISE_TO_PAY
    if answered is None and "callback_at" in expecting and not heard & _NOT_A_CALLBACK:
        if slots.callback_at is None and slots.callback_day is None:
            slots.callback_at, slots.callback_day = parse_answered_callback(text, lang, now)
        if slots.callback_at is not None or slots.callback_day is not None:
            answered = Intent.CALLBACK_REQUEST
    intent, confidence = understanding.intent, understanding.confidence
    also = list(understanding.also)
    if answered is not None and answered not in heard and intent in _ANSWER_INTENTS:
        if intent is Intent.DENY:
            also.insert(0, answered)  # "no, el lunes": a correction, and its "no"
        else:
            if intent is not Intent.UNKNOWN:
                also.insert(0, intent)
            intent, confidence = answered, max(confidence, _ANSWER_CONFIDENCE)
    if (
        slots == understanding.slots
        and intent is understanding.intent
        and also == understanding.also
    ):
        return understanding
    return understanding.model_copy(
        update={"intent": intent, "confidence": confidence, "also": also, "slots": slots}
    )
