"""What a call should know of a person's earlier calls and payments, at a given moment.

`build_memory` turns stored rows (earlier attempts, reported payments, opt-outs) into a
frozen `ContactMemory`: earlier calls' outcomes and dates, promises judged against the
payments (kept, partly kept, broken, pending), disputes, callback requests, opt-outs,
the preferred language and the last conversation's summary. Every fact names its
source: the call attempt's id, the payment's reference, or the opt-out list's row.

Promises are judged on the person's calendar (their time zone): a promise to pay on the
28th is kept by payments dated from the day it was made to the 28th plus `GRACE_DAYS`
(a transfer made late on the 28th is booked the next day) that cover its amount; once
that window has passed, some payment makes it partly kept and none makes it broken.
Each payment counts once: payments go to promises oldest first, so a payment that kept
an earlier promise does not keep a later one too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from centralita.campaigns.store.opt_outs import OptOutRow
from centralita.kernel.calls import CallOutcome
from centralita.memory.history_store import AttemptFacts
from centralita.memory.payments_store import PaymentRow
from centralita.memory.wording import context_lines, template_variables

# Days after the promised date a payment still keeps the promise.
GRACE_DAYS = 1


class PromiseStatus(StrEnum):
    """Where a promise stands against the payments reported."""

    KEPT = "kept"
    PARTIAL = "partial"  # its window passed with part of the amount paid
    BROKEN = "broken"  # its window passed with nothing paid
    PENDING = "pending"  # its window is still open


class _Fact(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: str
    """The call attempt's id, the payment's reference, or `opt_outs:<phone>`."""


class PastCall(_Fact):
    """An earlier call attempt that was dialled."""

    at: datetime
    outcome: str | None


class Promise(_Fact):
    """A promise to pay made in an earlier call, and how it went."""

    made_on: date
    due_on: date
    amount: Decimal | None
    currency: str | None
    status: PromiseStatus
    paid: Decimal
    payments: tuple[str, ...]
    """References of the payments counted toward it."""


class Dispute(_Fact):
    """A call in which the person disputed the debt."""

    on: date


class CallbackRequest(_Fact):
    """A call in which the person asked to be called back."""

    on: date
    callback_at: datetime | None


class OptOut(_Fact):
    """An opt-out: asked for in a call, or on the tenant's list for the person's number."""

    on: date
    reason: str | None


class Payment(_Fact):
    """A payment the tenant reported for the person."""

    paid_on: date
    amount: Decimal
    currency: str


class Said(_Fact):
    """A value taken from one call: its language, or its summary."""

    on: date
    text: str


class ContactMemory(BaseModel):
    """A person's history with the tenant as of `now`; every list newest first."""

    model_config = ConfigDict(frozen=True)

    now: datetime
    timezone: str
    calls: tuple[PastCall, ...] = ()
    promises: tuple[Promise, ...] = ()
    disputes: tuple[Dispute, ...] = ()
    callbacks: tuple[CallbackRequest, ...] = ()
    opt_outs: tuple[OptOut, ...] = ()
    payments: tuple[Payment, ...] = ()
    language: Said | None = None
    last_summary: Said | None = None

    @property
    def has_history(self) -> bool:
        """Whether there is anything to remember."""
        return bool(self.calls or self.payments or self.opt_outs)

    def as_variables(self) -> dict[str, str]:
        """Flow template variables, in Spanish and English names.

        A variable is present only when it has a value, so a flow's `when: {variable:
        [ultima_promesa_fecha]}` tells "there was a promise" apart. Dates are ISO,
        amounts plain numbers (what `kind: date` and `kind: money` variables read).
        Promise variables are debt specifics: a flow declares them `sensitive`.
        """
        return template_variables(self)

    def as_context(self, language: str, *, identity_verified: bool) -> str:
        """Short lines for an LLM agent's system prompt ("" when there is no history).

        Args:
            language: the call's language ("es", "es-CL", "en"...); Spanish for "es*",
                English otherwise.
            identity_verified: whether the person proved who they are. Until then only
                "there is earlier history; verify identity first" is said: no amounts,
                dates, disputes or summaries reach a possibly wrong person.
        """
        return "\n".join(context_lines(self, language, identity_verified=identity_verified))


def build_memory(
    attempts: Sequence[AttemptFacts],
    payments: Sequence[PaymentRow],
    opt_outs: Sequence[OptOutRow],
    *,
    now: datetime,
    timezone: str,
    grace_days: int = GRACE_DAYS,
) -> ContactMemory:
    """The memory of these rows at `now`, on the person's calendar.

    Args:
        attempts: earlier finished attempts (any order).
        payments: the person's reported payments (any order).
        opt_outs: the tenant's opt-out rows for the person's numbers.
        now: the moment the memory is for (aware).
        timezone: the person's IANA zone.
        grace_days: days after a promised date that a payment still keeps it.

    Raises:
        ValueError: `now` is naive.
        zoneinfo.ZoneInfoNotFoundError: `timezone` is unknown.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    zone = ZoneInfo(timezone)
    today = now.astimezone(zone).date()
    newest = sorted(attempts, key=lambda a: (a.started_at, a.attempt_id), reverse=True)

    def day(a: AttemptFacts) -> date:
        return a.started_at.astimezone(zone).date()

    calls = tuple(
        PastCall(source=a.attempt_id, at=a.started_at.astimezone(zone), outcome=a.outcome)
        for a in newest
    )
    promises = _judge(
        [(a.attempt_id, day(a), p) for a in newest if (p := _promise_of(a)) is not None],
        payments,
        today=today,
        grace=timedelta(days=grace_days),
    )
    disputes = tuple(
        Dispute(source=a.attempt_id, on=day(a))
        for a in newest
        if a.outcome == CallOutcome.DISPUTED or a.intent == "dispute"
    )
    callbacks = tuple(
        CallbackRequest(source=a.attempt_id, on=day(a), callback_at=_when(a.extracted))
        for a in newest
        if a.outcome == CallOutcome.CALLBACK_REQUESTED or "callback_at" in a.extracted
    )
    asked_out = [
        OptOut(source=a.attempt_id, on=day(a), reason=_text(a.extracted.get("opt_out_reason")))
        for a in newest
        if a.outcome == CallOutcome.OPT_OUT or a.extracted.get("opt_out") is True
    ]
    listed = [
        OptOut(
            source=f"opt_outs:{o.phone}", on=o.created_at.astimezone(zone).date(), reason=o.reason
        )
        for o in opt_outs
    ]
    spoken = next((a for a in newest if a.language), None)
    summarised = next((a for a in newest if a.summary), None)
    return ContactMemory(
        now=now,
        timezone=timezone,
        calls=calls,
        promises=promises,
        disputes=disputes,
        callbacks=callbacks,
        opt_outs=tuple(sorted(asked_out + listed, key=lambda o: o.on, reverse=True)),
        payments=tuple(
            Payment(source=p.reference, paid_on=p.paid_on, amount=p.amount, currency=p.currency)
            for p in sorted(payments, key=lambda p: (p.paid_on, p.reference), reverse=True)
        ),
        language=None
        if spoken is None
        else Said(source=spoken.attempt_id, on=day(spoken), text=str(spoken.language)),
        last_summary=None
        if summarised is None
        else Said(source=summarised.attempt_id, on=day(summarised), text=str(summarised.summary)),
    )


class _Promised(BaseModel):
    due_on: date
    amount: Decimal | None
    currency: str | None


def _promise_of(attempt: AttemptFacts) -> _Promised | None:
    """The promise an attempt recorded: the live call's, else the analysis's.

    An undated promise can be neither kept nor broken, so it is not one here.
    """
    for found in (attempt.extracted, attempt.analysed or {}):
        due = _date(found.get("promised_date"))
        if due is not None:
            return _Promised(
                due_on=due,
                amount=_decimal(found.get("promised_amount")),
                currency=_text(found.get("promised_currency")),
            )
    return None


def _judge(
    made: list[tuple[str, date, _Promised]],
    payments: Sequence[PaymentRow],
    *,
    today: date,
    grace: timedelta,
) -> tuple[Promise, ...]:
    """Promises (given newest first) with the payments that count toward each."""
    left = {p.reference: p.amount for p in payments}
    by_date = sorted(payments, key=lambda p: (p.paid_on, p.reference))
    judged: list[Promise] = []
    for source, made_on, promise in sorted(made, key=lambda m: (m[1], m[2].due_on, m[0])):
        closes = promise.due_on + grace
        need = promise.amount
        paid = Decimal(0)
        used: list[str] = []
        for payment in by_date:
            if not made_on <= payment.paid_on <= closes or left[payment.reference] <= 0:
                continue
            if promise.currency and payment.currency != promise.currency:
                continue
            # An amount-less promise is kept by any payment; it takes none of it away.
            available = left[payment.reference]
            share = available if need is None else min(available, need - paid)
            if share <= 0:
                break
            paid += share
            used.append(payment.reference)
            if need is not None:
                left[payment.reference] -= share
        if paid > 0 and (need is None or paid >= need):
            status = PromiseStatus.KEPT
        elif today <= closes:
            status = PromiseStatus.PENDING
        else:
            status = PromiseStatus.PARTIAL if paid > 0 else PromiseStatus.BROKEN
        judged.append(
            Promise(
                source=source,
                made_on=made_on,
                due_on=promise.due_on,
                amount=promise.amount,
                currency=promise.currency,
                status=status,
                paid=paid,
                payments=tuple(used),
            )
        )
    judged.sort(key=lambda p: (p.made_on, p.due_on, p.source), reverse=True)
    return tuple(judged)


def _date(value: Any) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _when(extracted: dict[str, Any]) -> datetime | None:
    value = extracted.get("callback_at")
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        return None
    return amount if amount.is_finite() and amount > 0 else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
