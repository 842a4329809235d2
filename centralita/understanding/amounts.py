"""Money amounts from speech: "doscientos mil pesos", "$200.000", "veinte lucas", "two grand".

The pipeline: fold the transcript, repair mis-heard number words ("loscientos"), turn
spelled numbers into digits with `text_to_num`, then read each number with what comes
around it: a multiplier that `alpha2digit` leaves apart ("200 mil", "1,5 millones",
"20 lucas"), "y medio", a currency word or sign. A bare number counts as money only
when it is large or follows a payment verb, and never when it is a day ("el 15"), an
hour ("a las 4"), a count ("en 3 cuotas"), a year or a RUT ("12.345.678-5").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from centralita.understanding.numbers import SMALL_NUMBERS, to_digits
from centralita.understanding.text import NEGATORS, base_language, fold_keep_numbers, turns_down

# Chilean slang: a "luca" is a thousand pesos, a "palo" a million.
_MULTIPLIERS: dict[str, int] = {
    "1000": 1_000, "mil": 1_000, "thousand": 1_000, "k": 1_000, "grand": 1_000,
    "luca": 1_000, "lucas": 1_000, "1000000": 1_000_000, "millon": 1_000_000,
    "millones": 1_000_000, "million": 1_000_000, "millions": 1_000_000,
    "palo": 1_000_000, "palos": 1_000_000,
}  # fmt: skip
_MULT_ALT = "|".join(sorted(_MULTIPLIERS, key=len, reverse=True))
_CURRENCY_WORDS: dict[str, str] = {
    "pesos chilenos": "CLP", "pesos": "$PESO", "peso": "$PESO", "lucas": "CLP",
    "luca": "CLP", "palos": "CLP", "palo": "CLP", "clp": "CLP", "euros": "EUR",
    "euro": "EUR", "eur": "EUR", "€": "EUR", "dolares": "USD", "dolar": "USD",
    "dollars": "USD", "dollar": "USD", "bucks": "USD", "usd": "USD", "us$": "USD",
    "grand": "$SIGN", "$": "$SIGN",
}  # fmt: skip
_CUR_ALT = "|".join(re.escape(w) for w in sorted(_CURRENCY_WORDS, key=len, reverse=True))
_AMOUNT = re.compile(
    rf"""
    (?<![\w.,])
    (?P<pre>us\$|\$|€|usd|eur|clp)?\s?
    (?P<num>\d+(?:[.,]\d+)*)
    (?P<mults>(?:\s?(?:{_MULT_ALT})\b)*)
    (?P<half>\s(?:y\smedio|y\smedia|and\sa\shalf))?
    (?:\s?(?P<cur>{_CUR_ALT})(?!\w))?
    """,
    re.VERBOSE,
)
_HALF_OF = re.compile(r"\b(?:medio|media|half\sa|half)\s(1000000|1000|millon|million|palo|luca)\b")
_SMALL_BEFORE_UNIT = {
    lang: re.compile(
        rf"\b({'|'.join(sorted(table, key=len, reverse=True))})\s(?=(?:lucas?|palos?|"
        rf"pesos|euros|dolares|dollars|bucks|grand)\b)"
    )
    for lang, table in SMALL_NUMBERS.items()
}
# "12.345.678-5" and "12345678 guion 5" are RUTs, not money.
_RUT_TAIL = re.compile(r"\s?(?:-|guion|raya)\s?[\dk]\b")
# Words after a number that make it a day, an hour, a count or a percentage.
_NOT_MONEY_AFTER: frozenset[str] = frozenset(
    {"dias", "dia", "semanas", "semana", "meses", "mes", "horas", "hora", "hrs", "minutos",
     "cuotas", "cuota", "veces", "anos", "ano", "am", "pm", "%",
     "days", "day", "weeks", "week", "months", "month", "hours", "hour", "minutes",
     "installments", "payments", "times", "years", "year", "percent", "oclock"}
)  # fmt: skip
# After a small number these make it a day or a rate ("el 15 del mes", "100 por ciento");
# after a large one they are how it is paid ("200.000 por transferencia", "del banco").
_NOT_SMALL_MONEY_AFTER: frozenset[str] = frozenset({"del", "por"})
_NOT_MONEY_BEFORE: frozenset[str] = frozenset(
    {"dia", "at", "on", "del", "ano", "rut", "carnet",
     "cedula", "dni", "nie", "numero", "telefono", "celular", "phone", "number", "in",
     "around", "hasta", "desde", "until", "since", "before", "after", "antes", "despues"}
)  # fmt: skip
_ARTICLES: frozenset[str] = frozenset({"el", "la", "las", "los", "the"})
_PAY_WORDS: frozenset[str] = frozenset(
    {"pagar", "pago", "pagaria", "pagare", "abonar", "abono", "depositar", "deposito",
     "transferir", "transfiero", "pay", "paying", "payment", "cuota", "monto", "owe",
     "debo", "offer", "ofrezco", "dar", "doy", "mando", "send"}
)  # fmt: skip
_PESO_CURRENCIES: frozenset[str] = frozenset({"CLP", "MXN", "COP", "ARS", "UYU"})
_DOLLAR_SIGN_CURRENCIES: frozenset[str] = frozenset(
    {"CLP", "USD", "MXN", "COP", "ARS", "UYU", "CAD", "AUD"}
)
# Where the words about an amount end: a comma, or a new clause ("pero").
_CLAUSE_END = re.compile(r"[,;](?!\d)|\b(?:pero|sino|but)\b")
# A bare number below this needs a payment verb before it to count as money.
_BARE_MINIMUM = 1_000
_BARE_SMALLEST = 10


@dataclass(frozen=True, slots=True)
class Amount:
    """A money amount heard in a turn.

    Attributes:
        value: Whole currency units.
        currency: ISO 4217 code, or None when neither said nor defaulted.
        negated: True when a negation comes shortly before it ("no puedo pagar 500 mil").
    """

    value: int
    currency: str | None
    negated: bool = False


def _parse_number(raw: str) -> Decimal | None:
    """Read "200.000", "200,000", "1,5", "1.5", "1.234,56" with their separators."""
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", raw):
        # Thousands groups, the Chilean "$200.000" or the English "200,000".
        return Decimal(re.sub(r"[.,]", "", raw))
    if re.fullmatch(r"\d+[.,]\d{1,2}", raw):
        return Decimal(raw.replace(",", "."))
    if re.fullmatch(r"[\d.,]+[.,]\d{1,2}", raw):
        head, tail = raw[:-3].replace(".", "").replace(",", ""), raw[-2:].lstrip(".,")
        raw = f"{head}.{tail}"
    try:
        return Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return None


def _resolve_currency(token: str, lang: str, default: str | None) -> str:
    code = _CURRENCY_WORDS[token]
    if code == "$PESO":
        # "pesos" are the campaign's pesos in Mexico or Colombia; Chilean otherwise.
        return default if default in _PESO_CURRENCIES else "CLP"
    if code == "$SIGN":
        if default in _DOLLAR_SIGN_CURRENCIES:
            return default
        return "CLP" if lang == "es" else "USD"
    return code


def _is_money_context(text: str, start: int, end: int, value: int, *, expected: bool) -> bool:
    """Decide whether a bare number (no currency, no multiplier) is money."""
    before = text[:start].split()
    after = text[end:].split()
    prev = before[-1] if before else ""
    nxt = after[0] if after else ""
    if prev in _NOT_MONEY_BEFORE or nxt in _NOT_MONEY_AFTER or nxt.startswith(":"):
        return False
    if nxt in _NOT_SMALL_MONEY_AFTER and value < _BARE_MINIMUM:
        return False
    # An article before a small number makes it a day or an hour ("el 15", "a las 4");
    # before a large one it is just grammar ("los cien mil").
    if prev in _ARTICLES and value < _BARE_MINIMUM:
        return False
    if value >= _BARE_MINIMUM:
        return not (1900 <= value <= 2100 and prev in {"de", "en", "del"})
    # Small bare numbers are counts more often than money ("tengo 3 hijos"), unless the
    # agent just asked how much ("¿cuánto podría pagar?" "cincuenta").
    return value >= _BARE_SMALLEST and (expected or any(w in _PAY_WORDS for w in before[-3:]))


def _half_unit(number: Decimal, mults: list[str]) -> Decimal:
    """What "y medio" adds: half of the last unit ("un millón y medio" -> +500.000)."""
    if mults:
        return Decimal(_MULTIPLIERS[mults[-1]]) / 2
    # `alpha2digit` has already folded "un millón" into 1000000.
    for unit in (1_000_000, 1_000):
        if number % unit == 0:
            return Decimal(unit) / 2
    return Decimal(0)


def _is_negated(text: str, start: int, end: int) -> bool:
    """A negator among the few words before, within the same clause ("pero" resets), or
    just after it ("cien mil no, es mucho"; not the Chilean "cien mil no más")."""
    clause = re.split(r"\b(?:pero|sino|but)\b", text[:start])[-1]
    if any(w in NEGATORS for w in clause.split()[-4:]):
        return True
    after = _CLAUSE_END.split(text[end:], maxsplit=1)[0].split()
    return turns_down([], after, window=2)


def _normalise(text: str, lang: str) -> str:
    digits = to_digits(fold_keep_numbers(text), lang)
    table = SMALL_NUMBERS[lang]
    digits = _SMALL_BEFORE_UNIT[lang].sub(lambda m: f"{table[m.group(1)]} ", digits)
    return _HALF_OF.sub(lambda m: str(_MULTIPLIERS[m.group(1)] // 2), digits)


def find_amounts(
    text: str, language: str, default_currency: str | None = None, *, expected: bool = False
) -> list[Amount]:
    """Every money amount in a transcript, in order.

    Args:
        text: The transcript of one turn.
        language: "es" or "en" (a tag such as "es-CL" works too).
        default_currency: The campaign's currency, used when none is said.
        expected: The agent just asked for an amount: a small bare number answers it.

    Returns:
        The amounts heard, possibly empty.
    """
    lang = base_language(language)
    norm = _normalise(text, lang)
    found: list[Amount] = []
    for m in _AMOUNT.finditer(norm):
        number = _parse_number(m.group("num"))
        if number is None or _RUT_TAIL.match(norm, m.end("num")):
            continue
        mults = m.group("mults").split()
        for mult in mults:
            number *= _MULTIPLIERS[mult]
        if m.group("half"):
            number += _half_unit(number, mults)
        value = int(number)
        token = (
            m.group("cur")
            or m.group("pre")
            or next((w for w in mults if w in _CURRENCY_WORDS), None)
        )
        if value <= 0:
            continue
        if (
            token is None
            and not mults
            and not _is_money_context(norm, m.start(), m.end(), value, expected=expected)
        ):
            continue
        currency = _resolve_currency(token, lang, default_currency) if token else default_currency
        found.append(Amount(value, currency, _is_negated(norm, m.start(), m.end())))
    return found


def parse_amount(
    text: str, language: str, default_currency: str | None = None, *, expected: bool = False
) -> Amount | None:
    """The amount a caller offers in a turn.

    When several are heard, the first one not under a negation wins: in "no puedo
    pagar quinientos mil, pero sí doscientos mil" the offer is the second.

    Args:
        text: The transcript of one turn.
        language: "es" or "en".
        default_currency: The campaign's currency, used when none is said.
        expected: The agent just asked for an amount (see `find_amounts`).

    Returns:
        The amount, or None when no amount was heard.
    """
    amounts = find_amounts(text, language, default_currency, expected=expected)
    if not amounts:
        return None
    return next((a for a in amounts if not a.negated), amounts[0])
