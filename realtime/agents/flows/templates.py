"""Utterance templates: `{nombre}` placeholders filled for speech in the flow's language.

A placeholder names a contact variable (`{monto_total}`), a slot heard in the call
(`{slots.pay_date}`) or the built-in `{currency}`; `{a|b}` takes the first one present.
Money and dates are written the way a voice says them: "200.000 pesos",
"el viernes 15 de marzo", "Friday, March 15". A flow in a language without words of
its own here is spoken in English (`base_language(..., default="en")`). Pure code: no
clock of its own, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from centralita.understanding.text import base_language

if TYPE_CHECKING:
    from realtime.agents.flows.schema import AgentDefinition, VariableSpec

SLOT_NAMES = ("amount", "currency", "pay_date", "callback_at", "national_id")
BUILTINS = frozenset({"currency"})

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")

_WEEKDAYS = {
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
}
_MONTHS = {
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto",
        "septiembre", "octubre", "noviembre", "diciembre",
    ),
    "en": (
        "January", "February", "March", "April", "May", "June", "July", "August",
        "September", "October", "November", "December",
    ),
}  # fmt: skip
# (singular, plural) as a voice says them; an unknown code is spoken as its letters.
_CURRENCIES: dict[str, dict[str, tuple[str, str]]] = {
    "es": {
        "CLP": ("peso", "pesos"),
        "ARS": ("peso", "pesos"),
        "COP": ("peso", "pesos"),
        "MXN": ("peso", "pesos"),
        "UYU": ("peso", "pesos"),
        "EUR": ("euro", "euros"),
        "USD": ("dólar", "dólares"),
        "PEN": ("sol", "soles"),
        "GBP": ("libra", "libras"),
        "CLF": ("UF", "UF"),
    },
    "en": {
        "USD": ("dollar", "dollars"),
        "EUR": ("euro", "euros"),
        "GBP": ("pound", "pounds"),
        "CLP": ("Chilean peso", "Chilean pesos"),
        "MXN": ("Mexican peso", "Mexican pesos"),
        "CLF": ("UF", "UF"),
    },
}
# What a missing optional variable (or an unheard slot) is spoken as, by kind.
_NEUTRAL = {
    "es": {"money": "el monto pendiente", "date": "la fecha indicada", "datetime": "ese horario"},
    "en": {"money": "the outstanding amount", "date": "the due date", "datetime": "that time"},
}
_SLOT_KINDS = {
    "amount": "money",
    "currency": "text",
    "pay_date": "date",
    "callback_at": "datetime",
    "national_id": "text",
}


class TemplateError(ValueError):
    """A template is malformed or names something that does not exist."""


class VariableError(ValueError):
    """The contact's variables do not satisfy the agent (missing or unreadable)."""


def placeholders(template: str) -> list[tuple[str, ...]]:
    """The placeholders of a template, each as its chain of names (`{a|b}` -> (a, b)).

    Raises:
        TemplateError: a stray brace, an empty placeholder or a malformed name.
    """
    found: list[tuple[str, ...]] = []
    for match in _PLACEHOLDER.finditer(template):
        inner = match.group(1)
        if inner is None:  # an escaped brace
            continue
        names = tuple(part.strip() for part in inner.split("|"))
        for name in names:
            if not _NAME.fullmatch(name):
                raise TemplateError(f"bad placeholder {{{inner}}} in {template!r}")
        found.append(names)
    leftover = _PLACEHOLDER.sub("", template)
    if "{" in leftover or "}" in leftover:
        raise TemplateError(f"unbalanced brace in {template!r} (write {{{{ or }}}} for one)")
    return found


def referenced_names(template: str) -> set[str]:
    """Every name a template refers to."""
    return {name for chain in placeholders(template) for name in chain}


# -- speech formatting -----------------------------------------------------------------


def _group(number: int, sep: str) -> str:
    return f"{number:,}".replace(",", sep)


def format_money(amount: Decimal | int | float, currency: str, language: str) -> str:
    """An amount as spoken: "200.000 pesos", "1.250 euros con 50 céntimos", "45 dollars"."""
    lang = base_language(language, default="en")
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    whole = int(value)
    cents = int((abs(value) - abs(whole)) * 100)
    singular, plural = _CURRENCIES[lang].get(currency.upper(), (currency, currency))
    sep = "." if lang == "es" else ","
    text = f"{_group(whole, sep)} {singular if abs(whole) == 1 else plural}"
    if cents:
        if lang == "es":
            unit = "céntimos" if currency.upper() == "EUR" else "centavos"
            text += f" con {cents} {unit}"
        else:
            text += f" and {cents} {'pence' if currency.upper() == 'GBP' else 'cents'}"
    return text


def format_date(day: date, language: str, *, today: date | None = None) -> str:
    """A date as spoken: "el viernes 15 de marzo", "Friday, March 15" (year when not this one)."""
    lang = base_language(language, default="en")
    weekday = _WEEKDAYS[lang][day.weekday()]
    month = _MONTHS[lang][day.month - 1]
    show_year = today is None or day.year != today.year
    if lang == "es":
        return f"el {weekday} {day.day} de {month}" + (f" de {day.year}" if show_year else "")
    return f"{weekday}, {month} {day.day}" + (f", {day.year}" if show_year else "")


def format_time(moment: datetime, language: str) -> str:
    """A time of day as spoken: "a las 16:30", "at 4:30 PM"."""
    if base_language(language) == "es":
        article = "a la" if moment.hour == 1 else "a las"  # "a la una", "a las dos"
        return f"{article} {moment.hour}:{moment.minute:02d}"
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    clock = f"{hour}" if moment.minute == 0 else f"{hour}:{moment.minute:02d}"
    return f"at {clock} {suffix}"


def format_datetime(moment: datetime, language: str, *, today: date | None = None) -> str:
    """A date and time as spoken: "el martes 4 de marzo a las 16:00"."""
    return f"{format_date(moment.date(), language, today=today)} {format_time(moment, language)}"


def format_number(value: Decimal | int | float, language: str) -> str:
    """A plain number with the language's thousands separator."""
    sep = "." if base_language(language) == "es" else ","
    number = Decimal(str(value))
    if number == number.to_integral_value():
        return _group(int(number), sep)
    return str(number)


# -- the contact's variables -----------------------------------------------------------


def find_variable(spec: VariableSpec, raw: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The key and value the contact carries `spec` under: its name, else the first alias.

    A blank value counts as absent. None when the contact has none.
    """
    for key in (spec.name, *spec.aliases):
        candidate = raw.get(key)
        if candidate is not None and str(candidate).strip() != "":
            return key, candidate
    return None


def read_variable(spec: VariableSpec, raw: Any) -> Any:
    """A contact's value read as `spec`'s kind (an amount as `Decimal`, a date as `date`...).

    The one reader of contact variables: calls use it through `bind_variables`, and
    campaign creation uses it to refuse, per row, values a call could not read.

    Raises:
        ValueError: the value cannot be read as that kind.
    """
    kind = spec.kind
    if kind in ("money", "number"):
        if isinstance(raw, bool):
            raise ValueError("a boolean is not an amount")
        value = Decimal(str(raw)) if isinstance(raw, int | float | Decimal) else _read_amount(raw)
        if not value.is_finite():  # NaN and Infinity parse, but nobody owes them
            raise ValueError(f"cannot read {raw!r} as an amount")
        return value
    if kind == "date":
        if isinstance(raw, datetime):
            return raw.date()
        if isinstance(raw, date):
            return raw
        return date.fromisoformat(str(raw).strip()[:10])
    if kind == "datetime":
        moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw).strip())
        if moment.tzinfo is None:
            raise ValueError(f"{raw!r} has no time zone")
        return moment
    return str(raw).strip()


def _read_amount(raw: Any) -> Decimal:
    text = str(raw).strip().replace(" ", "").replace("$", "")
    if re.fullmatch(r"\d{1,3}(\.\d{3})+", text):  # "200.000": Chilean grouping
        text = text.replace(".", "")
    elif re.fullmatch(r"(\d{1,3}(\.\d{3})+|\d+),\d{1,2}", text):  # "1.250,50", "1250,50"
        text = text.replace(".", "").replace(",", ".")
    else:
        text = text.replace(",", "")
    try:
        return Decimal(text)
    except InvalidOperation as exc:
        raise ValueError(f"cannot read {raw!r} as an amount") from exc


def bind_variables(definition: AgentDefinition, raw: Mapping[str, Any]) -> dict[str, Any]:
    """The contact's variables, read by their declared kinds (aliases resolved).

    Returns only the variables that are present; a missing optional one is rendered
    with its neutral fallback later.

    Raises:
        VariableError: a required variable is missing, or a value cannot be read.
    """
    values: dict[str, Any] = {}
    missing: list[str] = []
    problems: list[str] = []
    for spec in definition.variables:
        found = find_variable(spec, raw)
        if found is None:
            if spec.required:
                missing.append(spec.name)
            continue
        try:
            values[spec.name] = read_variable(spec, found[1])
        except ValueError as exc:
            problems.append(f"variable {spec.name!r} ({spec.kind}): {exc}")
    if missing:
        problems.insert(0, f"required variables missing from the contact: {', '.join(missing)}")
    if problems:
        raise VariableError(f"agent {definition.name!r}: " + "; ".join(problems))
    return values


def to_json_value(value: Any) -> Any:
    """A typed value as plain JSON (dates as ISO 8601, amounts as int when whole)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


class Renderer:
    """Fills templates for one call: the contact's variables plus the slots heard so far."""

    def __init__(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any],
        *,
        today: Callable[[], date],
    ) -> None:
        self.language = definition.language
        self.lang = base_language(definition.language, default="en")
        self._specs = {spec.name: spec for spec in definition.variables}
        self._values = bind_variables(definition, variables)
        self._today = today
        override = (
            self._values.get(definition.currency_variable) if definition.currency_variable else None
        )
        self.currency = str(override or definition.currency).upper()

    def has_variable(self, name: str) -> bool:
        """Whether the contact gave this variable."""
        return name in self._values

    def variable(self, name: str) -> Any:
        """The typed value of a variable the contact gave (None when absent)."""
        return self._values.get(name)

    def _lookup(self, name: str, slots: Mapping[str, Any]) -> tuple[bool, Any]:
        if name.startswith("slots."):
            value = slots.get(name.removeprefix("slots."))
            return value is not None, value
        if name == "currency":
            return True, self.currency
        return name in self._values, self._values.get(name)

    def _kind(self, name: str) -> str:
        if name.startswith("slots."):
            return _SLOT_KINDS.get(name.removeprefix("slots."), "text")
        spec = self._specs.get(name)
        return spec.kind if spec else "text"

    def _speak(self, name: str, value: Any, slots: Mapping[str, Any]) -> str:
        kind = self._kind(name)
        if kind == "money":
            currency = self.currency
            if name.startswith("slots.") and slots.get("currency"):
                currency = str(slots["currency"])
            return format_money(value, currency, self.lang)
        if kind == "number":
            return format_number(value, self.lang)
        if kind == "date":
            return format_date(value, self.lang, today=self._today())
        if kind == "datetime":
            return format_datetime(value, self.lang, today=self._today())
        return str(value)

    def _fallback(self, name: str) -> str:
        return fallback_text(name, self._specs, self.lang)

    def render(self, template: str, slots: Mapping[str, Any] | None = None) -> str:
        """The template with every placeholder spoken."""
        slots = slots or {}

        def fill(match: re.Match[str]) -> str:
            inner = match.group(1)
            if inner is None:
                return match.group(0)[0]
            chain = [part.strip() for part in inner.split("|")]
            for name in chain:
                present, value = self._lookup(name, slots)
                if present:
                    return self._speak(name, value, slots)
            return self._fallback(chain[-1])

        text = _PLACEHOLDER.sub(fill, template)
        return re.sub(r"\s{2,}", " ", text).strip()

    def value(self, template: Any, slots: Mapping[str, Any] | None = None) -> Any:
        """A tool argument: a lone placeholder gives the typed value as JSON, else text."""
        if not isinstance(template, str):
            return template
        slots = slots or {}
        match = _PLACEHOLDER.fullmatch(template.strip())
        if match is not None and match.group(1) is not None:
            for name in (part.strip() for part in match.group(1).split("|")):
                present, value = self._lookup(name, slots)
                if present:
                    return to_json_value(value)
            return None
        return self.render(template, slots)

    def heard(self, slots: Mapping[str, Any]) -> str:
        """The critical values of `slots` as one phrase, for a clarification question."""
        parts: list[str] = []
        if slots.get("amount") is not None:
            currency = str(slots.get("currency") or self.currency)
            parts.append(format_money(slots["amount"], currency, self.lang))
        today = self._today()
        if slots.get("pay_date") is not None:
            spoken = format_date(slots["pay_date"], self.lang, today=today)
            parts.append(spoken if self.lang == "es" or not parts else f"on {spoken}")
        if slots.get("callback_at") is not None:
            spoken = format_datetime(slots["callback_at"], self.lang, today=today)
            parts.append(spoken if self.lang == "es" else f"on {spoken}")
        return " ".join(parts)


def fallback_text(name: str, specs: Mapping[str, VariableSpec], language: str) -> str:
    """What a placeholder ending in `name` says when nothing in its chain is present.

    The variable's own `fallback`, else a neutral phrase for its kind ("el monto
    pendiente"), else nothing.
    """
    spec = specs.get(name)
    if spec is not None and spec.fallback is not None:
        return spec.fallback
    if name.startswith("slots."):
        kind = _SLOT_KINDS.get(name.removeprefix("slots."), "text")
    else:
        kind = spec.kind if spec else "text"
    return _NEUTRAL[base_language(language, default="en")].get(kind, "")


def check_sensitive(templates: Sequence[str], sensitive: set[str]) -> list[tuple[str, set[str]]]:
    """The templates that name a sensitive variable, with the names they use."""
    hits: list[tuple[str, set[str]]] = []
    for template in templates:
        used = referenced_names(template) & sensitive
        if used:
            hits.append((template, used))
    return hits
