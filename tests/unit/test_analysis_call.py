"""Whole calls analysed: intent, promise variables, success, summary, topics, quality."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from centralita.analysis import (
    CallAnalysis,
    CallAnalysisInput,
    CallIntent,
    EntityKind,
    TrendLabel,
    analyse,
    analyse_call,
)
from centralita.analysis.summary import ExtractiveSummarizer

pytestmark = pytest.mark.unit

SANTIAGO = "America/Santiago"
# Monday 23 November 2026.
START = datetime(2026, 11, 23, 10, 30, tzinfo=ZoneInfo(SANTIAGO))

COLLECTIONS_CALL = [
    ("agent", "Buenos días, ¿hablo con María González?"),
    ("user", "Sí, con ella habla."),
    ("agent", "Le llamo de Cobranzas Andes por su deuda de cuatrocientos mil pesos. "
              "Para validar su identidad, ¿me indica su RUT?"),
    ("user", "Es 12.345.678-5."),
    ("agent", "Gracias. ¿Cuándo podría hacer el pago?"),
    ("user", "Uf, estoy harta de que me llamen todos los días. Ahora no tengo plata."),
    ("agent", "Entiendo. ¿Podría abonar una parte esta semana?"),
    ("user", "Mire, puedo pagarle cien mil el jueves."),
    ("agent", "¿Y no podría ser un poco más?"),
    ("user", "Ya, mejor le pago doscientos mil pesos el viernes."),
    ("agent", "Perfecto. ¿Le envío el comprobante a su correo?"),
    ("user", "Sí, es maria.gonzalez@gmail.com. Muchas gracias, muy amable."),
]  # fmt: skip


def _call(
    turns: list[tuple[str, str]],
    *,
    language: str = "es",
    goal: str | None = "promise_to_pay",
    currency: str | None = "CLP",
    outcome: str | None = None,
) -> CallAnalysisInput:
    return CallAnalysisInput.model_validate(
        {
            "call_id": "call-1",
            "language": language,
            "started_at": START,
            "timezone": SANTIAGO,
            "default_currency": currency,
            "goal": goal,
            "outcome": outcome,
            "turns": [{"speaker": s, "text": t} for s, t in turns],
        }
    )


def _user_call(*user_turns: str, language: str = "es") -> CallAnalysis:
    opener = "Buenos días, le llamo de Cobranzas Andes." if language == "es" else "Hello."
    turns = [("agent", opener)]
    for text in user_turns:
        turns += [("user", text), ("agent", "Entiendo." if language == "es" else "I see.")]
    return analyse(_call(turns, language=language))


def test_collections_call_extracts_the_latest_promise() -> None:
    analysis = analyse(_call(COLLECTIONS_CALL))
    variables = analysis.variables
    # Two promises: cien mil on Thursday, then doscientos mil on Friday. The latest wins.
    assert variables.promised_amount == 200_000
    assert variables.promised_currency == "CLP"
    assert variables.promised_date == "2026-11-27"
    assert analysis.intent.intent is CallIntent.PAYMENT_PROMISE
    assert analysis.intent.evidence == [7, 9]
    assert analysis.success.achieved
    assert "turn 9" in analysis.success.reason


def test_collections_call_entities_topics_and_trend() -> None:
    analysis = analyse(_call(COLLECTIONS_CALL))
    kinds = {(e.kind, e.value, e.span.turn) for e in analysis.entities}
    assert (EntityKind.RUT, "12345678-5", 3) in kinds
    assert (EntityKind.EMAIL, "maria.gonzalez@gmail.com", 11) in kinds
    assert (EntityKind.DATE, "2026-11-26", 7) in kinds
    rut = next(e for e in analysis.entities if e.kind is EntityKind.RUT)
    assert rut.valid is True
    topics = {t.name: t.evidence for t in analysis.topics}
    assert topics["payment"][:2] == [4, 6]
    assert 3 in topics["identity"]
    assert 5 in topics["payment_difficulty"]
    # Frustrated in the middle, grateful at the end.
    assert [s.label for s in analysis.sentiments][2] == "frustrated"
    assert analysis.sentiment_trend.label is TrendLabel.IMPROVING


def test_summary_picks_the_promise_sentence_in_order() -> None:
    analysis = analyse(_call(COLLECTIONS_CALL))
    assert analysis.summary_source == "extractive"
    assert "Cliente: Ya, mejor le pago doscientos mil pesos el viernes." in analysis.summary
    assert "Buenos días" not in analysis.summary
    parts = [p for p in analysis.summary.split(" ") if p.endswith(":")]
    assert 2 <= len(parts) <= 3
    # In the order said: the debt is mentioned before the promise.
    assert analysis.summary.index("cuatrocientos mil") < analysis.summary.index("doscientos")


def test_quality_rewards_a_calm_end_and_a_reached_goal() -> None:
    good = analyse(_call(COLLECTIONS_CALL)).quality
    assert good.components == {
        "sentiment_end": pytest.approx(good.components["sentiment_end"]),
        "no_repeated_questions": 1.0,
        "no_unresolved_dispute": 1.0,
        "goal_reached": 1.0,
    }
    assert good.components["sentiment_end"] > 0.5
    bad = analyse(
        _call(
            [
                ("agent", "¿Cuándo va a pagar su deuda?"),
                ("user", "Yo no debo nada, son unos ladrones."),
                ("agent", "¿Cuándo va a pagar su deuda?"),
                ("user", "Ya les dije, no debo eso. Estoy harto."),
            ]
        )
    ).quality
    assert bad.components["no_repeated_questions"] == 0.5
    assert bad.components["no_unresolved_dispute"] == 0.0
    assert bad.components["goal_reached"] == 0.0
    assert bad.score < 0.3 < good.score


def test_a_dispute_after_the_promise_fails_the_goal() -> None:
    analysis = analyse(
        _call(
            [
                ("agent", "¿Cuándo puede pagar?"),
                ("user", "Le pago cien mil el viernes."),
                ("agent", "Anotado."),
                ("user", "Aunque pensándolo bien, yo no debo eso."),
            ]
        )
    )
    assert analysis.variables.promised_amount == 100_000
    assert not analysis.success.achieved
    assert "dispute" in analysis.success.reason


def test_a_promise_without_amount_or_date_does_not_reach_the_goal() -> None:
    analysis = _user_call("Sí, voy a pagar.")
    assert not analysis.success.achieved
    assert analysis.variables.promised_amount is None


def test_agreeing_to_the_agents_proposal_is_a_promise() -> None:
    analysis = analyse(
        _call(
            [
                ("agent", "¿Puede pagar ciento cincuenta mil pesos el 15 de diciembre?"),
                ("user", "Sí, está bien."),
            ]
        )
    )
    assert analysis.variables.promised_amount == 150_000
    assert analysis.variables.promised_date == "2026-12-15"
    assert analysis.intent.intent is CallIntent.PAYMENT_PROMISE
    assert analysis.success.achieved
    assert "agreed" in analysis.success.reason


def test_unanswered_calls_never_reach_the_goal() -> None:
    turns = [("agent", "¿Puede pagar cien mil el viernes?"), ("user", "Sí.")]
    assert not analyse(_call(turns, outcome="voicemail")).success.achieved
    assert not analyse(_call(turns, goal=None)).success.achieved


@pytest.mark.parametrize(
    ("user_turns", "language", "intent"),
    [
        (["Número equivocado, aquí no vive nadie con ese nombre."], "es", CallIntent.WRONG_PERSON),
        (["No me llamen más, por favor."], "es", CallIntent.OPT_OUT),
        (["Yo no debo eso.", "Ya pagué en octubre."], "es", CallIntent.DISPUTE),
        (["Estoy manejando, llámeme mañana a las cuatro."], "es", CallIntent.CALLBACK_REQUEST),
        (["Quiero dar de baja el servicio."], "es", CallIntent.CANCELLATION),
        (["No tengo internet desde ayer, el módem no funciona."], "es",
         CallIntent.TECHNICAL_SUPPORT),
        (["¿Cuánto debo?", "¿De qué es la deuda?"], "es", CallIntent.BILLING_INQUIRY),
        (["Yo no debo eso.", "Bueno, ya, le pago el lunes."], "es", CallIntent.PAYMENT_PROMISE),
        (["Hola, ¿quién habla?"], "es", CallIntent.OTHER),
        (["I already paid that, I don't owe you anything."], "en", CallIntent.DISPUTE),
        (["How much do I owe? What is my balance?"], "en", CallIntent.BILLING_INQUIRY),
        (["I want to cancel my subscription."], "en", CallIntent.CANCELLATION),
        (["My internet is down and the router is not working."], "en",
         CallIntent.TECHNICAL_SUPPORT),
        (["Stop calling me."], "en", CallIntent.OPT_OUT),
        (["I can pay two hundred dollars on Friday."], "en", CallIntent.PAYMENT_PROMISE),
    ],
)  # fmt: skip
def test_call_intent(user_turns: list[str], language: str, intent: CallIntent) -> None:
    result = _user_call(*user_turns, language=language).intent
    assert result.intent is intent
    assert 0.0 < result.confidence <= 1.0


def test_a_negated_cancellation_is_not_one() -> None:
    assert _user_call("No, no quiero dar de baja nada.").intent.intent is CallIntent.OTHER


def test_a_contested_call_is_less_certain_than_a_clear_one() -> None:
    clear = _user_call("Le pago el viernes.").intent
    contested = _user_call("Quiero dar de baja el servicio.", "Le pago el viernes.").intent
    assert contested.intent is clear.intent is CallIntent.PAYMENT_PROMISE
    assert contested.confidence < clear.confidence


def test_english_call_with_promise_variables() -> None:
    analysis = analyse(
        _call(
            [
                ("agent", "Hello, this is Acme Collections about your balance."),
                ("user", "I'm so tired of these calls."),
                ("agent", "I understand. When could you pay?"),
                ("user", "I can pay two hundred dollars next Friday. Thanks."),
            ],
            language="en",
            currency="USD",
        )
    )
    assert analysis.variables.promised_amount == 200
    assert analysis.variables.promised_currency == "USD"
    assert analysis.variables.promised_date == "2026-11-27"
    assert "Customer: I can pay two hundred dollars next Friday." in analysis.summary


def test_input_rejects_a_naive_start_and_an_unknown_zone() -> None:
    with pytest.raises(ValidationError):
        CallAnalysisInput(
            call_id="x",
            language="es",
            started_at=datetime(2026, 11, 23, 10, 30),
            timezone=SANTIAGO,
            turns=[],
        )
    with pytest.raises(ValidationError):
        CallAnalysisInput(
            call_id="x", language="es", started_at=START, timezone="Mars/Olympus", turns=[]
        )


def test_result_round_trips_through_json() -> None:
    analysis = analyse(_call(COLLECTIONS_CALL))
    assert CallAnalysis.model_validate_json(analysis.model_dump_json()) == analysis


class _Failing:
    source = "llm"

    async def summarize(self, call: CallAnalysisInput, analysis: CallAnalysis) -> str:
        raise RuntimeError("model unavailable")


class _Fixed:
    source = "llm"

    async def summarize(self, call: CallAnalysisInput, analysis: CallAnalysis) -> str:
        return f"  María promised {analysis.variables.promised_amount}.  "


async def test_a_failing_summarizer_leaves_the_extractive_summary() -> None:
    call = _call(COLLECTIONS_CALL)
    extractive = analyse(call).summary
    analysis = await analyse_call(call, _Failing())  # type: ignore[arg-type]
    assert (analysis.summary, analysis.summary_source) == (extractive, "extractive")


async def test_a_working_summarizer_replaces_the_summary() -> None:
    analysis = await analyse_call(_call(COLLECTIONS_CALL), _Fixed())  # type: ignore[arg-type]
    assert (analysis.summary, analysis.summary_source) == ("María promised 200000.", "llm")
    default = await analyse_call(_call(COLLECTIONS_CALL), ExtractiveSummarizer())
    assert default.summary_source == "extractive"


@pytest.mark.parametrize("opener", ["Bueno", "Mire"])
def test_a_word_before_a_promise_does_not_make_it_a_refusal(opener: str) -> None:
    analysis = _user_call(f"{opener}, le puedo pagar doscientos mil el viernes.")
    assert analysis.intent.intent is CallIntent.PAYMENT_PROMISE
