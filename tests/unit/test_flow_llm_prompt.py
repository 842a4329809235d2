"""A flow in LLM mode: the step's prompt, the move and slot tools, and the identity rule."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.calls import DialRequest
from centralita.understanding.model import ContextAdvice, Steering
from realtime.agents.flows import FlowBrain, FlowDefinitionError, VariableError
from realtime.agents.flows.guided import GuidedFlow
from realtime.agents.llm.flow_brain import FlowLlmBrain
from realtime.agents.llm.flow_prompt import (
    FlowPromptView,
    fill_slots_tool,
    flow_system_prompt,
    go_to_node_tool,
)
from realtime.agents.loader import load_agent, parse_agent_data
from realtime.agents.setup import flow_agent_for

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("America/Santiago"))  # a Monday
CONTACT: dict[str, Any] = {
    "nombre": "María",
    "empresa": "Banco Sur",
    "monto_total": 200000,
    "fecha_limite": "2026-11-15",
    "rut": "12.345.678-5",
}
DEBT = ("200.000", "15 de noviembre")


async def started(**variables: Any) -> GuidedFlow:
    flow = GuidedFlow(load_agent("cobranza-llm"), {**CONTACT, **variables}, clock=lambda: NOW)
    await flow.begin()
    return flow


def prompt(flow: GuidedFlow, steering: Steering = Steering.CONTINUE) -> str:
    return flow_system_prompt(FlowPromptView.of(flow), "es-CL", ContextAdvice(steering=steering))


async def test_the_greeting_step_prompt_has_its_instructions_and_no_debt() -> None:
    flow = await started()
    text = prompt(flow)
    # The description is in every prompt, before identity too: who, never what about.
    assert text.startswith("Eres Sofía, asistente virtual de Banco Sur. Tono cordial")
    assert "Paso actual de la conversación: saludo." in text
    assert "Confirma que hablas con María." in text
    assert "- nombre: María" in text
    assert "aún no está verificada" in text
    assert not any(word in text for word in DEBT)
    assert "monto_total" not in text
    assert "rut:" not in text
    assert "2026-11-23" in text  # the model writes ISO dates relative to today


async def test_steering_advice_reaches_the_prompt() -> None:
    flow = await started()
    assert "ofrécele hablar con un ejecutivo" in prompt(flow, Steering.OFFER_TRANSFER)
    assert "ejecutivo" not in prompt(flow)


async def test_go_to_node_offers_exactly_the_ways_out_of_the_node() -> None:
    flow = await started()
    tool = go_to_node_tool(flow.options())["function"]
    targets = tool["parameters"]["properties"]["node"]["enum"]
    # The node's transitions, the interrupts, the global transitions and `otherwise`.
    assert set(targets) == {
        "equivocado", "pedir_rut", "revelar", "baja", "transferir", "cierre_callback",
        "pedir_callback", "disputa", "disputa_neutra", "despedida", "despedida_neutra",
    }  # fmt: skip
    assert "pedir_rut: when: affirm, promise_to_pay" in tool["description"]
    assert "revelar: when: affirm, promise_to_pay; verifies identity" in tool["description"]
    assert tool["parameters"]["required"] == ["node"]


async def test_fill_slots_lists_the_node_slots_and_those_its_ways_out_need() -> None:
    flow = await started()
    assert await flow.go_to("pedir_rut")
    schema = fill_slots_tool(flow.offered_slots())["function"]["parameters"]
    assert set(schema["properties"]) == {"national_id", "callback_at"}
    assert schema["additionalProperties"] is False
    refused = flow.fill({"pay_date": "2026-11-27"})
    assert refused["error"] == "unknown_slots"
    assert flow.fill({"national_id": "nope", "callback_at": "mañana"})["error"] == "invalid_slots"


async def test_sensitive_variables_reach_the_prompt_only_after_verification() -> None:
    flow = await started()
    # "Sí" at the greeting cannot skip the RUT check: with a RUT on file the node's
    # first matching transition goes to pedir_rut, so revelar is refused.
    skipped = await flow.go_to("revelar")
    assert not skipped.moved
    assert skipped.result()["why"] == [
        "with what is known now this step leads to 'pedir_rut' instead"
    ]
    assert (await flow.go_to("pedir_rut")).moved
    early = await flow.go_to("revelar")
    assert not early.moved
    assert early.reasons == ["slot national_id is not known yet"]
    flow.fill({"national_id": "1234"})
    wrong = await flow.go_to("revelar")
    assert wrong.reasons == ["the national_id heard does not match the rut on file"]
    assert "12.345.678" not in str(wrong.result())
    assert not any(word in prompt(flow) for word in DEBT)

    flow.fill({"national_id": "5678"})
    step = await flow.go_to("revelar")
    assert step.moved
    assert step.node == "revelar"
    assert flow.identity_verified
    text = prompt(flow)
    assert "Paso actual de la conversación: revelar." in text
    assert "cuota pendiente de 200.000 pesos" in text  # the instructions, filled
    assert "- monto_total: 200.000 pesos" in text
    assert "aún no está verificada" not in text


async def test_without_a_rut_the_greeting_verifies_on_its_own() -> None:
    flow = await started(rut=None)
    assert (await flow.go_to("revelar")).moved
    assert flow.identity_verified


async def test_required_slots_and_unknown_targets_are_refused_with_reasons() -> None:
    flow = await started(rut=None)
    await flow.go_to("revelar")
    assert (await flow.go_to("preguntar_fecha")).moved
    missing = await flow.go_to("confirmar_promesa")
    assert "ask for pay_date first and record it with fill_slots" in missing.reasons
    nowhere = await flow.go_to("cierre_promesa")
    assert not nowhere.moved
    assert "is not a step from 'preguntar_fecha'" in nowhere.reasons[0]
    assert flow.node == "preguntar_fecha"
    flow.fill({"pay_date": "2026-11-27"})
    assert (await flow.go_to("confirmar_promesa")).moved
    assert "- pay_date: 2026-11-27 (el viernes 27 de noviembre)" in prompt(flow)


async def test_a_node_without_instructions_guides_with_its_say_variants() -> None:
    data = load_agent("cobranza-llm").model_dump(mode="json", exclude_none=True)
    data["nodes"][0].pop("instructions")
    flow = GuidedFlow(parse_agent_data(data), CONTACT, clock=lambda: NOW)
    await flow.begin()
    assert "di algo como:\n- Buenos días, le saluda Sofía" in prompt(flow)


def test_instructions_obey_the_identity_rule_and_lookup_customer_is_refused() -> None:
    data = load_agent("cobranza-llm").model_dump(mode="json", exclude_none=True)
    bad = copy.deepcopy(data)
    bad["nodes"][0]["instructions"] = "Dile que debe {monto_total}."
    bad["llm"]["tools"] = ["register_promise", "lookup_customer"]
    with pytest.raises(FlowDefinitionError) as info:
        parse_agent_data(bad)
    assert info.value.problems == [
        "nodes[saludo].instructions: uses sensitive monto_total before identity is verified",
        "llm.tools: lookup_customer is not offered to a flow (verify_identity)",
    ]
    bad = copy.deepcopy(data)
    bad["description"] = "Cobras {fecha_limite}."
    with pytest.raises(FlowDefinitionError) as info:
        parse_agent_data(bad)
    assert info.value.problems == [
        "description: uses sensitive fecha_limite (it is in every LLM prompt)"
    ]


def test_the_agent_setup_gives_an_llm_mode_flow_its_hybrid_brain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    request = DialRequest(
        idempotency_key="attempt-1",
        to_number="+56911111111",
        campaign_id="camp",
        contact_id="contact",
        attempt_number=1,
        agent="cobranza-llm",
        variables=CONTACT,
    )
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(VariableError, match="OPENAI_API_KEY is not set"):
        flow_agent_for(request)  # the fallback's key
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    setup = flow_agent_for(request)
    assert isinstance(setup.brain, FlowLlmBrain)
    assert setup.config.language == "es"
    assert isinstance(flow_agent_for(request.model_copy(update={"agent": None})).brain, FlowBrain)
