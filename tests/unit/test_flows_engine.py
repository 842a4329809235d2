"""FlowBrain driven through the shipped Spanish early-collections agent by scripted turns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.calls import CallOutcome
from centralita.understanding.model import Intent as I  # noqa: N817
from centralita.understanding.model import Steering
from centralita.understanding.nlu import understand
from realtime.agents.flows import FlowBrain, VariableError
from realtime.agents.loader import load_agent
from realtime.providers.base import BrainTurn
from tests.support.flows import assert_no_debt_details, run, silence, spoken, turn

pytestmark = pytest.mark.unit

SANTIAGO = ZoneInfo("America/Santiago")
NOW = datetime(2025, 3, 10, 10, 0, tzinfo=SANTIAGO)  # a Monday
FRIDAY = date(2025, 3, 14)
MONDAY = date(2025, 3, 17)
VARIABLES = {
    "nombre": "María González",
    "empresa": "Banco Andino",
    "monto_total": "200000",
    "fecha_limite": "2025-03-05",
}
# How the debt would be spoken; none of these may be heard before identity is verified.
DEBT_WORDS = ("200.000", "200000", "5 de marzo", "miércoles")


def brain(agent: str = "cobranza-temprana", **variables: Any) -> FlowBrain:
    return FlowBrain(load_agent(agent), {**VARIABLES, **variables}, clock=lambda: NOW)


async def test_greeting_asks_for_the_person_and_says_nothing_about_the_debt() -> None:
    flow = brain()
    reply = await flow.start()
    assert reply.node == "saludo"
    assert any("¿Hablo con María González?" in s for s in reply.say)
    assert_no_debt_details([reply], DEBT_WORDS)
    assert not reply.end_call
    assert reply.outcome is None


async def test_promise_to_pay_whole_conversation() -> None:
    flow = brain()
    replies = await run(
        flow,
        turn(I.AFFIRM, "sí, con ella"),
        turn(I.PROMISE_TO_PAY, "le pago doscientos mil el viernes", amount=200000, pay_date=FRIDAY),
        turn(I.AFFIRM, "sí, correcto"),
        turn(I.AFFIRM, "sí, mándemelo"),
    )
    greet, disclose, confirm, link, close = replies
    assert_no_debt_details([greet], DEBT_WORDS)
    assert disclose.node == "revelar"
    assert "200.000 pesos" in " ".join(disclose.say)
    assert "el miércoles 5 de marzo" in " ".join(disclose.say)
    assert confirm.node == "confirmar_promesa"
    assert "¿me confirma que pagará 200.000 pesos el viernes 14 de marzo?" in " ".join(confirm.say)
    assert confirm.outcome is None  # nothing registered before the person confirms
    assert link.node == "ofrecer_link"
    assert [c.name for c in link.tool_calls] == ["register_promise"]
    assert link.tool_calls[0].success
    assert link.tool_calls[0].arguments == {
        "amount": 200000,
        "currency": "CLP",
        "pay_date": "2025-03-14",
    }
    assert link.outcome is CallOutcome.PROMISE_TO_PAY
    assert close.end_call
    assert close.node == "cierre_link"
    assert [c.name for c in close.tool_calls] == ["send_payment_link"]
    assert close.outcome is CallOutcome.PROMISE_TO_PAY
    assert close.extracted["promised_amount"] == 200000
    assert close.extracted["promised_currency"] == "CLP"
    assert close.extracted["promised_date"] == "2025-03-14"
    assert close.extracted["payment_link_id"].startswith("plink_")
    assert flow.finished
    # After the end, further turns change nothing.
    after = await flow.respond(turn(I.AFFIRM))
    assert after.say == []
    assert after.end_call
    assert after.outcome is CallOutcome.PROMISE_TO_PAY


async def test_promise_without_amount_means_the_full_debt_and_a_correction_is_read_back() -> None:
    replies = await run(
        brain(),
        turn(I.AFFIRM),
        turn(I.AFFIRM, "sí, puedo pagar"),
        turn(I.PROMISE_TO_PAY, "el viernes", pay_date=FRIDAY),
        turn(I.DENY, "no, mejor el lunes", also=[I.PROMISE_TO_PAY], pay_date=MONDAY),
        turn(I.AFFIRM),
        turn(I.DENY, "no, gracias"),
    )
    assert replies[2].node == "preguntar_fecha"
    assert replies[3].node == "confirmar_promesa"
    assert "el viernes 14 de marzo" in spoken(replies[3:4])
    assert replies[4].node == "confirmar_promesa"
    assert "el lunes 17 de marzo" in spoken(replies[4:5])
    close = replies[-1]
    assert close.node == "cierre_promesa"
    assert close.end_call
    assert close.outcome is CallOutcome.PROMISE_TO_PAY
    assert close.extracted["promised_amount"] == 200000
    assert close.extracted["promised_date"] == "2025-03-17"


async def test_partial_payment_collects_amount_then_date() -> None:
    replies = await run(
        brain(),
        turn(I.AFFIRM),
        turn(I.CANNOT_PAY, "no tengo plata"),
        turn(I.PROMISE_TO_PAY, "puedo abonar cincuenta mil", amount=50000),
        turn(I.UNKNOWN, "el viernes", pay_date=FRIDAY),
        turn(I.AFFIRM),
        turn(I.DENY),
    )
    assert replies[2].node == "ofrecer_abono"
    assert replies[3].node == "ofrecer_abono"
    assert "¿Y qué día podría hacer ese abono?" in replies[3].say
    assert "50.000 pesos el viernes 14 de marzo" in spoken(replies[4:5])
    assert replies[-1].extracted["promised_amount"] == 50000
    assert replies[-1].outcome is CallOutcome.PROMISE_TO_PAY


async def test_wrong_person_never_hears_the_debt() -> None:
    replies = await run(brain(), turn(I.WRONG_PERSON, "no, número equivocado"))
    assert replies[-1].node == "equivocado"
    assert replies[-1].end_call
    assert replies[-1].outcome is CallOutcome.WRONG_PERSON
    assert replies[-1].tool_calls == []
    assert_no_debt_details(replies, DEBT_WORDS)


async def test_someone_else_answers_then_says_wrong_number() -> None:
    replies = await run(
        brain(),
        turn(I.DENY, "no"),
        turn(I.REPEAT_REQUEST, "¿cómo?"),
        turn(I.UNKNOWN, "¿quién habla?"),
        turn(I.WRONG_PERSON, "no conozco a esa persona"),
    )
    assert replies[1].node == "no_titular"
    assert replies[-1].outcome is CallOutcome.WRONG_PERSON
    assert_no_debt_details(replies, DEBT_WORDS)


async def test_holder_absent_ends_without_details_for_a_retry() -> None:
    replies = await run(brain(), turn(I.DENY), turn(I.DENY, "no, no está"))
    assert replies[-1].node == "titular_ausente"
    assert replies[-1].outcome is CallOutcome.NO_ANSWER
    assert_no_debt_details(replies, DEBT_WORDS)


async def test_rut_digits_verify_identity_before_disclosure() -> None:
    flow = brain(rut="12.345.678-5")
    replies = await run(
        flow,
        turn(I.AFFIRM),
        turn(I.UNKNOWN, "uno dos tres cuatro", national_id="1234"),
        turn(I.UNKNOWN, "cinco seis siete ocho", national_id="5678"),
    )
    assert replies[1].node == "pedir_rut"
    assert replies[2].node == "rut_reintento"
    assert not replies[2].end_call
    assert_no_debt_details(replies[:3], DEBT_WORDS)
    assert replies[3].node == "revelar"
    assert flow.identity_verified
    assert "200.000 pesos" in spoken(replies[3:])


async def test_rut_mismatch_twice_transfers_without_disclosure() -> None:
    flow = brain(RUT="12.345.678-5")  # the CSV column name is an alias
    replies = await run(
        flow,
        turn(I.AFFIRM),
        turn(I.UNKNOWN, national_id="1111"),
        turn(I.UNKNOWN, national_id="2222"),
    )
    assert replies[-1].node == "verificacion_fallida"
    assert replies[-1].transfer
    assert not flow.identity_verified
    assert_no_debt_details(replies, DEBT_WORDS)


async def test_opt_out_mid_conversation() -> None:
    replies = await run(
        brain(),
        turn(I.AFFIRM),
        turn(I.AFFIRM, "sí, le pago", also=[I.OPT_OUT]),  # an interrupt wins the turn
    )
    last = replies[-1]
    assert last.node == "baja"
    assert [c.name for c in last.tool_calls] == ["opt_out"]
    assert last.outcome is CallOutcome.OPT_OUT
    assert last.extracted["opt_out"] is True
    assert last.end_call
    assert "No volveremos a llamarle" in spoken([last])


async def test_opt_out_before_identity_says_nothing_about_the_debt() -> None:
    replies = await run(brain(), turn(I.OPT_OUT, "no me llamen más"))
    assert replies[-1].outcome is CallOutcome.OPT_OUT
    assert_no_debt_details(replies, DEBT_WORDS)


async def test_callback_at_a_time() -> None:
    at = datetime(2025, 3, 11, 16, 0, tzinfo=SANTIAGO)
    replies = await run(
        brain(),
        turn(I.AFFIRM),
        turn(I.CALLBACK_REQUEST, "llámeme mañana a las cuatro", callback_at=at),
    )
    last = replies[-1]
    assert last.node == "cierre_callback"
    assert [c.name for c in last.tool_calls] == ["schedule_callback"]
    assert last.outcome is CallOutcome.CALLBACK_REQUESTED
    assert last.extracted["callback_at"] == "2025-03-11T16:00:00-03:00"
    assert "el martes 11 de marzo a las 16:00" in spoken([last])
    assert last.end_call


async def test_callback_without_a_time_asks_for_one() -> None:
    at = datetime(2025, 3, 13, 9, 30, tzinfo=SANTIAGO)
    replies = await run(
        brain(),
        turn(I.CALLBACK_REQUEST, "ahora no puedo"),
        turn(I.UNKNOWN, "el jueves a las nueve y media", callback_at=at),
    )
    assert replies[1].node == "pedir_hora_callback"
    assert replies[2].outcome is CallOutcome.CALLBACK_REQUESTED
    assert_no_debt_details(
        replies, DEBT_WORDS
    )  # before identity: no details, but a callback is fine


def understood(text: str) -> BrainTurn:
    """`text` through the real understanding, at NOW."""
    heard = understand(text, language="es", now=NOW)
    return turn(
        heard.intent,
        text,
        also=heard.also,
        callback_at=heard.slots.callback_at,
        callback_day=heard.slots.callback_day,
        pay_date=heard.slots.pay_date,
        amount=heard.slots.amount,
    )


async def test_a_callback_day_then_its_hour_in_another_turn() -> None:
    replies = await run(
        brain(),
        understood("sí, con ella"),
        understood("ahora no puedo, llámeme el jueves"),
        understood("a las cuatro"),
    )
    # No hour was said: the agent asks for one instead of picking the current one.
    assert replies[2].node == "pedir_hora_callback"
    assert "¿A qué hora" in spoken([replies[2]])
    last = replies[-1]
    assert last.outcome is CallOutcome.CALLBACK_REQUESTED
    assert last.extracted["callback_at"] == "2025-03-13T16:00:00-03:00"  # Thursday at four


# What the agent just asked decides what a bare answer fills: the call session
# understands a turn on its own, the flow reads it again as the answer to its node.


async def test_a_bare_day_answers_the_question_just_asked() -> None:
    replies = await run(
        brain(),
        understood("sí, con ella"),
        understood("sí"),  # "¿Podría pagarla esta semana?" -> "¿Qué día?"
        understood("el 15"),
        understood("no, el lunes"),  # the day read back is corrected
        understood("sí"),
    )
    assert replies[2].node == "preguntar_fecha"
    assert replies[3].node == "confirmar_promesa"
    assert "el sábado 15 de marzo" in spoken(replies[3:4])
    assert replies[4].node == "confirmar_promesa"
    assert "el lunes 17 de marzo" in spoken(replies[4:5])
    assert replies[5].node == "ofrecer_link"
    assert replies[5].tool_calls[0].arguments["pay_date"] == "2025-03-17"


async def test_a_bare_day_answers_can_you_pay_this_week() -> None:
    replies = await run(brain(), understood("sí, con ella"), understood("el viernes"))
    assert replies[-1].node == "confirmar_promesa"
    assert "200.000 pesos el viernes 14 de marzo" in spoken(replies[-1:])


async def test_a_bare_amount_then_a_bare_day_make_a_partial_payment() -> None:
    replies = await run(
        brain(),
        understood("sí, con ella"),
        understood("no tengo plata"),
        understood("cincuenta mil"),
        understood("para el viernes"),
    )
    assert replies[2].node == "ofrecer_abono"
    assert replies[3].node == "ofrecer_abono"
    assert "¿Y qué día podría hacer ese abono?" in replies[3].say
    assert replies[4].node == "confirmar_promesa"
    assert "50.000 pesos el viernes 14 de marzo" in spoken(replies[4:5])


async def test_a_bare_day_and_hour_answer_when_to_call_back() -> None:
    replies = await run(
        brain(),
        understood("sí, con ella"),
        understood("no tengo plata"),
        understood("no, tampoco"),  # not even a part: "¿cuándo lo volvemos a llamar?"
        understood("mañana"),
        understood("a las cuatro"),
    )
    assert replies[3].node == "pedir_callback"
    assert replies[4].node == "pedir_callback"  # a day, no hour yet: it asks for one
    last = replies[-1]
    assert last.outcome is CallOutcome.CALLBACK_REQUESTED
    assert last.extracted["callback_at"] == "2025-03-11T16:00:00-03:00"


async def test_a_day_turned_down_is_not_a_promise() -> None:
    replies = await run(
        brain(), understood("sí, con ella"), understood("sí"), understood("el viernes no puedo")
    )
    assert replies[-1].node == "preguntar_fecha"
    assert not replies[-1].tool_calls
    assert "viernes" not in spoken(replies[-1:])


async def test_callback_in_the_past_is_refused_and_asked_again() -> None:
    past = datetime(2025, 3, 9, 16, 0, tzinfo=SANTIAGO)
    replies = await run(brain(), turn(I.AFFIRM), turn(I.CALLBACK_REQUEST, callback_at=past))
    last = replies[-1]
    assert not last.tool_calls[0].success
    assert last.tool_calls[0].result["error"] == "time_in_past"
    assert last.node == "pedir_hora_callback"
    assert last.outcome is None
    assert not last.end_call


async def test_dispute_after_identity() -> None:
    replies = await run(brain(), turn(I.AFFIRM), turn(I.DISPUTE, "yo no debo eso"))
    assert replies[-1].node == "disputa"
    assert replies[-1].outcome is CallOutcome.DISPUTED
    assert replies[-1].end_call


async def test_dispute_before_identity_is_neutral() -> None:
    replies = await run(brain(), turn(I.DISPUTE, "ya pagué"))
    assert replies[-1].node == "disputa_neutra"
    assert replies[-1].outcome is CallOutcome.DISPUTED
    assert_no_debt_details(replies, DEBT_WORDS)


async def test_human_request_transfers() -> None:
    replies = await run(brain(), turn(I.AFFIRM), turn(I.HUMAN_REQUEST, "quiero hablar con alguien"))
    last = replies[-1]
    assert last.transfer
    assert not last.end_call
    assert [c.name for c in last.tool_calls] == ["transfer_to_agent"]
    assert last.node == "transferir"


async def test_steering_transfer_now_transfers() -> None:
    replies = await run(
        brain(), turn(I.AFFIRM), turn(I.UNKNOWN, "¡ya basta!", steering=Steering.TRANSFER_NOW)
    )
    assert replies[-1].transfer


async def test_offer_transfer_once_and_back_when_declined() -> None:
    flow = brain()
    replies = await run(
        flow,
        turn(I.AFFIRM),
        turn(I.CANNOT_PAY, "¡no tengo!", steering=Steering.OFFER_TRANSFER, sentiment=-0.6),
        turn(I.DENY, "no, sigamos"),
        turn(I.CANNOT_PAY, steering=Steering.OFFER_TRANSFER),
    )
    assert replies[2].node == "ofrecer_humano"
    assert replies[3].node == "revelar"  # back where it was
    assert replies[4].node == "ofrecer_abono"  # offered once per call only


async def test_silence_reprompts_without_repeating_then_ends_politely() -> None:
    replies = await run(brain(), silence(), silence(), silence())
    first, second = replies[1], replies[2]
    assert first.say[0] == "¿Sigue ahí?"
    assert first.say[1:] != replies[0].say  # a different variant of the question
    assert second.say[0] != first.say[0]
    assert not second.end_call
    last = replies[-1]
    assert last.node == "sin_respuesta"
    assert last.end_call
    assert last.outcome is CallOutcome.NO_ANSWER
    assert_no_debt_details(replies, DEBT_WORDS)


async def test_speech_resets_the_silence_count() -> None:
    replies = await run(brain(), silence(), silence(), turn(I.AFFIRM), silence(), silence())
    assert not replies[-1].end_call
    assert replies[-1].node == "revelar"


async def test_voicemail_leaves_a_neutral_message() -> None:
    replies = await run(brain(), turn(I.VOICEMAIL, "deje su mensaje después del tono"))
    last = replies[-1]
    assert last.outcome is CallOutcome.VOICEMAIL
    assert last.end_call
    assert "María" not in spoken([last])
    assert_no_debt_details(replies, DEBT_WORDS)


async def test_low_confidence_amount_is_confirmed_before_it_is_used() -> None:
    replies = await run(
        brain(),
        turn(I.AFFIRM),
        turn(
            I.PROMISE_TO_PAY,
            "le pago doscientos mil el viernes",
            confidence=0.4,
            amount=200000,
            pay_date=FRIDAY,
        ),
        turn(I.AFFIRM),
        turn(I.DENY),
    )
    clarify = replies[2]
    assert clarify.say == ["¿Me confirma 200.000 pesos el viernes 14 de marzo?"]
    assert clarify.tool_calls == []
    assert clarify.node == "revelar"
    # Confirmed: the flow's own read-back is skipped and the promise registered.
    assert replies[3].node == "ofrecer_link"
    assert [c.name for c in replies[3].tool_calls] == ["register_promise"]
    assert replies[-1].extracted["promised_amount"] == 200000


async def test_denied_clarification_asks_again_and_counts_at_most_three_per_call() -> None:
    flow = brain()

    def low() -> BrainTurn:
        return turn(I.PROMISE_TO_PAY, confidence=0.3, amount=200000, pay_date=FRIDAY)

    replies = await run(
        flow,
        turn(I.AFFIRM),
        low(),  # clarification 1
        turn(I.DENY, "no"),
        low(),  # 2
        turn(I.DENY, "no"),
        low(),  # 3
        turn(I.DENY, "no"),
        low(),  # no more: taken as heard, read back by the flow
    )
    questions = [r for r in replies if r.node == "revelar" and "14 de marzo?" in spoken([r])]
    assert len(questions) == 3
    assert questions[0].say != questions[1].say  # not word for word the same
    assert flow.clarifications == 3
    assert replies[3].say == ["Disculpe. ¿Me lo puede repetir, por favor?"]
    assert replies[-1].node == "confirmar_promesa"


async def test_correction_of_a_clarification_replaces_what_was_misheard() -> None:
    replies = await run(
        brain(),
        turn(I.AFFIRM),
        turn(I.PROMISE_TO_PAY, confidence=0.4, amount=20000, pay_date=FRIDAY),
        turn(I.DENY, "no, doscientos mil", confidence=0.9, amount=200000),
    )
    assert "20.000 pesos" in replies[2].say[0]
    # A confident correction goes on with the first turn's date and the new amount.
    assert replies[3].node == "confirmar_promesa"
    assert "200.000 pesos el viernes 14 de marzo" in spoken(replies[3:])


async def test_a_low_confidence_correction_is_clarified_again() -> None:
    flow = brain()
    replies = await run(
        flow,
        turn(I.AFFIRM),
        turn(I.PROMISE_TO_PAY, confidence=0.4, amount=20000, pay_date=FRIDAY),
        turn(I.DENY, "no, doscientos mil", confidence=0.4, amount=200000),
    )
    assert "200.000 pesos el viernes 14 de marzo" in replies[3].say[0]
    assert flow.clarifications == 2


async def test_simplify_uses_the_simple_variant() -> None:
    replies = await run(
        brain(),
        turn(I.AFFIRM, steering=Steering.SIMPLIFY),
    )
    assert (
        spoken(replies[1:]) == "Usted debe una cuota de 200.000 pesos. ¿La puede pagar esta semana?"
    )


async def test_unexpected_intent_reprompts_twice_then_moves_on() -> None:
    replies = await run(
        brain(),
        turn(I.AFFIRM),
        turn(I.GREETING, "hola"),  # a greeting just repeats the question
        turn(I.UNKNOWN, "mmm"),
        turn(I.UNKNOWN, "eeh"),
        turn(I.UNKNOWN, "pfff"),
    )
    assert replies[2].node == "revelar"
    assert replies[3].say[0] == "Disculpe, no le entendí bien."
    assert replies[4].say[0] == "Perdone, no logré entenderle."
    assert replies[3].say[1:] != replies[4].say[1:]
    assert replies[5].node == "pedir_callback"  # the node's `otherwise`


async def test_goodbye_before_identity_is_neutral_and_after_is_completed() -> None:
    early = await run(brain(), turn(I.GOODBYE))
    assert early[-1].node == "despedida_neutra"
    assert early[-1].outcome is CallOutcome.NO_ANSWER
    late = await run(brain(), turn(I.AFFIRM), turn(I.GOODBYE))
    assert late[-1].node == "despedida"
    assert late[-1].outcome is CallOutcome.COMPLETED


async def test_promise_dated_in_the_past_is_refused() -> None:
    replies = await run(
        brain(),
        turn(I.AFFIRM),
        turn(I.PROMISE_TO_PAY, pay_date=date(2025, 3, 1)),
        turn(I.AFFIRM),
    )
    assert not replies[-1].tool_calls[0].success
    assert replies[-1].node == "preguntar_fecha"
    assert replies[-1].outcome is None


def test_a_missing_required_variable_is_a_clear_error() -> None:
    with pytest.raises(VariableError, match=r"required variables missing.*monto_total"):
        FlowBrain(load_agent("cobranza-temprana"), {"nombre": "Ana", "fecha_limite": "2025-03-05"})


def test_an_unreadable_variable_is_a_clear_error() -> None:
    with pytest.raises(VariableError, match=r"monto_total.*cannot read"):
        brain(monto_total="mucho")


async def test_optional_variable_falls_back_to_neutral_words() -> None:
    flow = FlowBrain(
        load_agent("cobranza-temprana"),
        {k: v for k, v in VARIABLES.items() if k != "empresa"},
        clock=lambda: NOW,
    )
    reply = await flow.start()
    assert "asistente virtual de su institución financiera" in spoken([reply])


async def test_currency_variable_switches_to_euros() -> None:
    replies = await run(brain(moneda="EUR", monto_total="1250.50"), turn(I.AFFIRM))
    assert "1.250 euros con 50 céntimos" in spoken(replies)
