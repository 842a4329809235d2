"""Contact memory's rules: promises judged against payments on the person's calendar, each
fact traced to its source, and what an agent is told before and after identity is verified.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from centralita.campaigns.store.opt_outs import OptOutRow
from centralita.memory.contact_memory import PromiseStatus, build_memory
from centralita.memory.history_store import AttemptFacts
from centralita.memory.payments_store import PaymentRow

pytestmark = pytest.mark.unit

SANTIAGO = "America/Santiago"  # UTC-3 in March (summer time)
MADRID = "Europe/Madrid"


def attempt(
    attempt_id: str,
    started: datetime,
    outcome: str = "promise_to_pay",
    *,
    extracted: dict[str, Any] | None = None,
    language: str | None = "es",
    intent: str | None = None,
    summary: str | None = None,
    analysed: dict[str, Any] | None = None,
) -> AttemptFacts:
    return AttemptFacts(
        attempt_id=attempt_id,
        campaign_id="c1",
        contact_id="k1",
        started_at=started,
        answered_at=started,
        outcome=outcome,
        extracted=extracted or {},
        language=language,
        intent=intent,
        summary=summary,
        analysed=analysed,
    )


def promised(
    attempt_id: str, started: datetime, due: str, amount: int | None, currency: str = "CLP"
) -> AttemptFacts:
    extracted: dict[str, Any] = {"promised_date": due, "promised_currency": currency}
    if amount is not None:
        extracted["promised_amount"] = amount
    return attempt(attempt_id, started, extracted=extracted)


def payment(reference: str, paid_on: str, amount: str, currency: str = "CLP") -> PaymentRow:
    return PaymentRow(
        id=reference,
        reference=reference,
        phone="+56961234567",
        amount=Decimal(amount),
        currency=currency,
        paid_on=date.fromisoformat(paid_on),
        created_at=datetime(2025, 4, 1, tzinfo=UTC),
    )


CALLED = datetime(2025, 3, 21, 15, 0, tzinfo=UTC)  # Friday 21, noon in Santiago
PROMISE = promised("att-1", CALLED, "2025-03-28", 200_000)


def status_at(now: datetime, payments: list[PaymentRow], zone: str = SANTIAGO) -> PromiseStatus:
    memory = build_memory([PROMISE], payments, [], now=now, timezone=zone)
    [promise] = memory.promises
    return promise.status


def test_a_promise_paid_in_full_by_its_date_is_kept_with_its_payments_as_sources() -> None:
    paid = [payment("pay-1", "2025-03-27", "200000")]
    memory = build_memory(
        [PROMISE], paid, [], now=datetime(2025, 4, 10, tzinfo=UTC), timezone=SANTIAGO
    )
    [promise] = memory.promises
    assert promise.status is PromiseStatus.KEPT
    assert (promise.source, promise.payments, promise.paid) == (
        "att-1",
        ("pay-1",),
        Decimal(200_000),
    )
    assert promise.made_on == date(2025, 3, 21)
    assert [p.source for p in memory.payments] == ["pay-1"]


def test_the_grace_day_still_keeps_a_promise_and_the_day_after_does_not() -> None:
    later = datetime(2025, 4, 10, tzinfo=UTC)
    assert status_at(later, [payment("p", "2025-03-29", "200000")]) is PromiseStatus.KEPT
    assert status_at(later, [payment("p", "2025-03-30", "200000")]) is PromiseStatus.BROKEN


def test_a_payment_made_before_the_promise_was_made_does_not_keep_it() -> None:
    before = [payment("p", "2025-03-20", "200000")]
    assert status_at(datetime(2025, 4, 10, tzinfo=UTC), before) is PromiseStatus.BROKEN


def test_partial_payment_is_partly_kept_once_the_window_closes_and_pending_before() -> None:
    half = [payment("p1", "2025-03-25", "60000"), payment("p2", "2025-03-28", "40000")]
    memory = build_memory(
        [PROMISE], half, [], now=datetime(2025, 4, 2, tzinfo=UTC), timezone=SANTIAGO
    )
    [promise] = memory.promises
    assert promise.status is PromiseStatus.PARTIAL
    assert promise.paid == Decimal(100_000)
    assert promise.payments == ("p1", "p2")
    # While the window is still open, the same payments leave it pending.
    assert status_at(datetime(2025, 3, 28, 20, tzinfo=UTC), half) is PromiseStatus.PENDING


def test_whether_the_grace_day_has_passed_depends_on_the_persons_time_zone() -> None:
    # 02:00 UTC on the 30th: still the 29th (the grace day) in Santiago, the 30th in Madrid.
    now = datetime(2025, 3, 30, 2, 0, tzinfo=UTC)
    assert status_at(now, [], SANTIAGO) is PromiseStatus.PENDING
    assert status_at(now, [], MADRID) is PromiseStatus.BROKEN


def test_the_day_a_promise_was_made_is_the_persons_day() -> None:
    # 01:30 UTC on the 22nd is still the evening of the 21st in Santiago.
    late = promised("att-9", datetime(2025, 3, 22, 1, 30, tzinfo=UTC), "2025-03-28", 1000)
    paid_21st = [payment("p", "2025-03-21", "1000")]
    now = datetime(2025, 4, 10, tzinfo=UTC)
    [in_santiago] = build_memory([late], paid_21st, [], now=now, timezone=SANTIAGO).promises
    [in_madrid] = build_memory([late], paid_21st, [], now=now, timezone=MADRID).promises
    assert in_santiago.made_on == date(2025, 3, 21)
    assert in_santiago.status is PromiseStatus.KEPT
    assert in_madrid.status is PromiseStatus.BROKEN


def test_a_payment_in_another_currency_does_not_keep_a_promise() -> None:
    euros = [payment("p", "2025-03-27", "200000", currency="EUR")]
    assert status_at(datetime(2025, 4, 10, tzinfo=UTC), euros) is PromiseStatus.BROKEN


def test_one_payment_keeps_one_promise_not_two() -> None:
    first = promised("att-1", datetime(2025, 3, 3, 15, tzinfo=UTC), "2025-03-28", 100)
    second = promised("att-2", datetime(2025, 3, 10, 15, tzinfo=UTC), "2025-03-28", 100)
    memory = build_memory(
        [second, first],
        [payment("p", "2025-03-20", "100")],
        [],
        now=datetime(2025, 4, 10, tzinfo=UTC),
        timezone=SANTIAGO,
    )
    by_source = {p.source: p.status for p in memory.promises}
    assert by_source == {"att-1": PromiseStatus.KEPT, "att-2": PromiseStatus.BROKEN}
    assert [p.source for p in memory.promises] == ["att-2", "att-1"]  # newest first


def test_a_promise_without_amount_is_kept_by_any_payment_in_its_window() -> None:
    vague = promised("att-1", CALLED, "2025-03-28", None)
    memory = build_memory(
        [vague],
        [payment("p", "2025-03-26", "5000")],
        [],
        now=datetime(2025, 4, 10, tzinfo=UTC),
        timezone=SANTIAGO,
    )
    assert memory.promises[0].status is PromiseStatus.KEPT


def test_the_analysis_promise_counts_when_the_live_call_recorded_none() -> None:
    analysed = attempt(
        "att-1",
        CALLED,
        analysed={
            "promised_amount": 5000,
            "promised_currency": "CLP",
            "promised_date": "2025-03-28",
        },
    )
    undated = attempt("att-0", CALLED, extracted={"promised_amount": 5000})
    memory = build_memory(
        [analysed, undated], [], [], now=datetime(2025, 4, 10, tzinfo=UTC), timezone=SANTIAGO
    )
    assert [(p.source, p.amount) for p in memory.promises] == [("att-1", Decimal(5000))]


def _rich_history(now: datetime) -> Any:
    calls = [
        attempt("att-3", datetime(2025, 3, 21, 15, tzinfo=UTC), extracted=PROMISE.extracted,
                summary="Prometió pagar 200.000 el viernes 28.", language="es-CL"),
        attempt("att-2", datetime(2025, 3, 14, 15, tzinfo=UTC), "callback_requested",
                extracted={"callback_at": "2025-03-17T16:00:00-03:00"}),
        attempt("att-1", datetime(2025, 3, 10, 15, tzinfo=UTC), "disputed", intent="dispute"),
        attempt("att-0", datetime(2025, 3, 7, 15, tzinfo=UTC), "no_answer", language=None),
    ]  # fmt: skip
    opted = OptOutRow(
        phone="+56961234567",
        reason="no más",
        source="api",
        created_at=datetime(2025, 3, 25, 12, tzinfo=UTC),
    )
    return build_memory(calls, [], [opted], now=now, timezone=SANTIAGO)


def test_every_kind_of_fact_is_kept_with_its_source() -> None:
    memory = _rich_history(datetime(2025, 3, 26, 12, tzinfo=UTC))
    assert [c.source for c in memory.calls] == ["att-3", "att-2", "att-1", "att-0"]
    assert [c.outcome for c in memory.calls][-1] == "no_answer"
    assert [(d.source, d.on) for d in memory.disputes] == [("att-1", date(2025, 3, 10))]
    [callback] = memory.callbacks
    assert callback.source == "att-2"
    assert callback.callback_at == datetime.fromisoformat("2025-03-17T16:00:00-03:00")
    assert [(o.source, o.reason) for o in memory.opt_outs] == [("opt_outs:+56961234567", "no más")]
    assert memory.language is not None
    assert memory.language.text == "es-CL"
    assert memory.language.source == "att-3"
    assert memory.last_summary is not None
    assert memory.last_summary.source == "att-3"


def test_flow_variables_in_spanish_and_english() -> None:
    memory = _rich_history(datetime(2025, 3, 26, 12, tzinfo=UTC))
    variables = memory.as_variables()
    assert variables["llamadas_previas"] == variables["previous_calls"] == "4"
    assert variables["ultima_promesa_fecha"] == variables["last_promise_date"] == "2025-03-28"
    assert variables["ultima_promesa_monto"] == variables["last_promise_amount"] == "200000"
    assert variables["ultima_promesa_estado"] == "pendiente"
    assert variables["last_promise_status"] == "pending"
    assert variables["ultima_llamada_fecha"] == "2025-03-21"
    assert variables["disputa_previa_fecha"] == "2025-03-10"
    assert all(isinstance(v, str) for v in variables.values())


def test_no_history_gives_no_promise_variables_and_no_context() -> None:
    memory = build_memory([], [], [], now=datetime(2025, 3, 26, tzinfo=UTC), timezone=SANTIAGO)
    assert memory.as_variables() == {"llamadas_previas": "0", "previous_calls": "0"}
    assert memory.as_context("es", identity_verified=True) == ""
    assert memory.as_context("en", identity_verified=False) == ""


def test_a_broken_promise_reads_broken_in_both_languages() -> None:
    memory = build_memory(
        [PROMISE], [], [], now=datetime(2025, 4, 2, tzinfo=UTC), timezone=SANTIAGO
    )
    assert memory.as_variables()["ultima_promesa_estado"] == "incumplida"
    assert memory.as_variables()["last_promise_status"] == "broken"
    spanish = memory.as_context("es-CL", identity_verified=True)
    english = memory.as_context("en", identity_verified=True)
    assert "prometió pagar 200000 CLP a más tardar el 2025-03-28: incumplida." in spanish
    assert "promised to pay 200000 CLP by 2025-03-28: broken." in english


def test_verified_context_tells_the_history_in_spanish() -> None:
    text = _rich_history(datetime(2025, 3, 26, 12, tzinfo=UTC)).as_context(
        "es", identity_verified=True
    )
    assert text.startswith("Historial de este contacto (4 llamadas anteriores):")
    assert "- 2025-03-07: no contestó." in text
    assert "El 2025-03-21 prometió pagar 200000 CLP a más tardar el 2025-03-28: pendiente." in text
    assert "Disputó la deuda el 2025-03-10." in text
    assert "pidió que lo llamaran de nuevo (2025-03-17T16:00-03:00)." in text
    assert "Pidió no recibir más llamadas (desde el 2025-03-25)." in text
    assert "Resumen de la última conversación (2025-03-21): Prometió pagar 200.000" in text


def test_verified_context_in_english_says_partly_kept_with_what_was_paid() -> None:
    memory = build_memory(
        [PROMISE],
        [payment("p", "2025-03-27", "50000")],
        [],
        now=datetime(2025, 4, 2, tzinfo=UTC),
        timezone=SANTIAGO,
    )
    text = memory.as_context("en", identity_verified=True)
    assert text.startswith("This contact's history (1 earlier calls):")
    assert "- 2025-03-21: promised to pay." in text
    assert "by 2025-03-28: partly kept (paid 50000 CLP so far)." in text
    assert "Preferred language: es." in text


@pytest.mark.parametrize("language", ["es", "en"])
def test_unverified_context_masks_every_specific(language: str) -> None:
    memory = _rich_history(datetime(2025, 3, 26, 12, tzinfo=UTC))
    text = memory.as_context(language, identity_verified=False)
    assert text.count("\n") == 0
    assert ("historial previo" if language == "es" else "earlier history") in text
    for specific in ("200000", "2025", "CLP", "Prometió", "disput", "Disput", "es-CL"):
        assert specific not in text


def test_a_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_memory([], [], [], now=datetime(2025, 3, 26), timezone=SANTIAGO)
