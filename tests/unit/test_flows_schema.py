"""Agent definitions: the shipped ones validate; broken ones fail with clear, located errors."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest
import yaml

from centralita.kernel.db import Pool
from centralita.understanding.model import Intent
from realtime.agents.flows import FlowDefinitionError
from realtime.agents.flows.disclosure import collection_words
from realtime.agents.flows.phrases import DEFAULT_PHRASES, DEFAULT_SLOT_ASKS
from realtime.agents.loader import (
    AgentNotFoundError,
    load_agent,
    load_agent_file,
    parse_agent,
    parse_agent_data,
    shipped_agents,
)
from realtime.store.agents import load_agent_definition, upsert_agent

pytestmark = pytest.mark.unit

SHIPPED = {
    "cobranza-llm",
    "cobranza-temprana",
    "cobranza-tardia",
    "cobranza-severa",
    "collections-early",
    "collections-late",
    "collections-severe",
}

MINIMAL: dict[str, Any] = {
    "name": "mini",
    "language": "es-CL",
    "currency": "CLP",
    "variables": [
        {"name": "nombre", "required": True},
        {"name": "monto_total", "kind": "money", "required": True, "sensitive": True},
    ],
    "start": "saludo",
    "nodes": [
        {
            "id": "saludo",
            "before_identity": True,
            "say": ["¿Hablo con {nombre}?"],
            "transitions": [
                {"intent": "affirm", "to": "revelar", "verify_identity": True},
                {"intent": "wrong_person", "to": "fin"},
            ],
        },
        {"id": "revelar", "say": ["Debe {monto_total}."], "transitions": [{"to": "fin"}]},
        {"id": "fin", "before_identity": True, "say": ["Adiós."], "end": True},
    ],
}


def broken(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(MINIMAL)
    data.update(changes)
    return data


def problems_of(data: dict[str, Any]) -> list[str]:
    with pytest.raises(FlowDefinitionError) as info:
        parse_agent_data(data)
    return info.value.problems


def test_shipped_agents_are_listed() -> None:
    assert set(shipped_agents()) == SHIPPED


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_shipped_agent_loads_and_validates(name: str) -> None:
    agent = load_agent(name)
    assert agent.name == name
    assert agent.language.startswith("es" if name.startswith("cobranza") else "en")
    node = agent.node(agent.start)
    assert node.before_identity
    special = agent.special
    assert special.voicemail
    assert agent.node(special.voicemail).outcome == "voicemail"
    assert special.silence
    assert special.transfer
    assert special.offer_transfer
    intents = {i for t in [*agent.interrupts, *agent.global_transitions] for i in t.intents}
    assert {Intent.OPT_OUT, Intent.HUMAN_REQUEST, Intent.WRONG_PERSON} <= intents
    assert {Intent.CALLBACK_REQUEST, Intent.DISPUTE, Intent.GOODBYE} <= intents
    # No template anywhere may name a variable the agent does not declare (validated),
    # and the debt must be disclosed somewhere after identity.
    sensitive = {v.name for v in agent.variables if v.sensitive}
    assert any(
        "{" + s + "}" in text
        for n in agent.nodes
        if not n.before_identity
        for text in n.say
        for s in sensitive
    )


def test_the_minimal_definition_is_valid() -> None:
    assert parse_agent_data(MINIMAL).name == "mini"


def test_missing_start_node() -> None:
    problems = problems_of(broken(start="hola"))
    assert problems == ["start: node 'hola' not found (nodes: ['fin', 'revelar', 'saludo'])"]


def test_unknown_target_has_its_path() -> None:
    data = broken()
    data["nodes"][0]["transitions"][1]["to"] = "nowhere"
    assert "nodes[saludo].transitions[1].to: unknown node 'nowhere'" in problems_of(data)


def test_unreachable_node() -> None:
    data = broken()
    data["nodes"].append({"id": "isla", "say": ["..."], "end": True})
    assert "nodes[isla]: unreachable from start 'saludo'" in problems_of(data)


def test_sensitive_variable_before_identity_is_refused() -> None:
    data = broken()
    data["nodes"][0]["say"] = ["¿Hablo con {nombre}? Debe {monto_total}."]
    assert problems_of(data) == [
        "nodes[saludo].say[0]: uses sensitive monto_total before identity is verified"
    ]


def test_sensitive_variable_in_a_simple_variant_is_refused_too() -> None:
    data = broken()
    data["nodes"][0]["simple"] = ["Debe {monto_total|nombre}."]
    assert problems_of(data) == [
        "nodes[saludo].simple[0]: uses sensitive monto_total before identity is verified"
    ]


def test_node_reachable_before_identity_must_be_marked() -> None:
    data = broken()
    data["nodes"][0]["transitions"][0]["verify_identity"] = False
    (problem,) = problems_of(data)
    assert problem == (
        "nodes[revelar]: reachable before identity is verified (saludo -> revelar) "
        "but not marked before_identity"
    )


def test_global_transitions_count_as_reachable_before_identity() -> None:
    data = broken(global_transitions=[{"intent": "dispute", "to": "revelar"}])
    assert any("nodes[revelar]: reachable before identity" in p for p in problems_of(data))
    data["global_transitions"][0]["when"] = {"verified": True}
    assert parse_agent_data(data)


# -- what a node said before identity may not tell a third party ------------------------

WHY = "(a third party would learn the call is about a debt)"


def _leak_in_say(data: dict[str, Any]) -> None:
    data["nodes"][0]["say"] = ["Le llamamos del área de Cobranza. ¿Hablo con {nombre}?"]


def _leak_in_simple(data: dict[str, Any]) -> None:
    data["nodes"][0]["simple"] = ["¿Es usted {nombre}? Es por su deuda."]


def _leak_in_a_slot_question(data: dict[str, Any]) -> None:
    data["nodes"][0]["slots"] = [
        {"name": "national_id", "ask": ["Para hablar de su cuota vencida, ¿su RUT?"]}
    ]


def _leak_in_llm_instructions(data: dict[str, Any]) -> None:
    data["nodes"][0]["instructions"] = "Dile a {nombre} que llamas por un pago atrasado."


def _leak_in_a_fallback(data: dict[str, Any]) -> None:
    data["variables"].append({"name": "empresa", "fallback": "Cobranzas del Sur"})
    data["nodes"][0]["say"] = ["Le llama Sofía, de {empresa}. ¿Hablo con {nombre}?"]


def _leak_in_a_neutral_fallback(data: dict[str, Any]) -> None:
    data["nodes"][0]["say"] = ["¿Hablo con {nombre}? Es sobre {slots.amount}."]


def _leak_in_the_engine_s_question(data: dict[str, Any]) -> None:
    data["nodes"][0]["slots"] = [{"name": "amount", "required": True}]


def _leak_in_the_voicemail_node(data: dict[str, Any]) -> None:
    data["nodes"].append(
        {"id": "buzon", "before_identity": True, "end": True,
         "say": ["Llamamos por el saldo impago de su tarjeta."]}
    )  # fmt: skip
    data["special"] = {"voicemail": "buzon"}


def _leak_in_a_node_marked_but_not_reached_yet(data: dict[str, Any]) -> None:
    data["nodes"][2]["say"] = ["Recuerde que su pago está atrasado. Adiós."]


def _leak_in_english(data: dict[str, Any]) -> None:
    data["language"] = "en-US"
    data["nodes"][0]["say"] = ["Hi, this is the collections team. Are you {nombre}?"]


def _leak_in_phrases(data: dict[str, Any]) -> None:
    data["phrases"] = {"tool_failed": ["No pude registrar su compromiso de pago."]}


def _leak_in_the_llm_description(data: dict[str, Any]) -> None:
    data["llm"] = {"model": {"base_url": "http://127.0.0.1:11434/v1", "model": "m"}}
    data["description"] = "Eres Sofía, ejecutiva de cobranzas. Tono amable."


@pytest.mark.parametrize(
    ("leak", "problem"),
    [
        (_leak_in_say, f"nodes[saludo].say[0]: says 'cobranza' before identity is verified {WHY}"),
        (_leak_in_simple,
         f"nodes[saludo].simple[0]: says 'deuda' before identity is verified {WHY}"),
        (_leak_in_a_slot_question,
         "nodes[saludo].slots[national_id].ask[0]: says 'cuota', 'vencida' before identity "
         f"is verified {WHY}"),
        (_leak_in_llm_instructions,
         f"nodes[saludo].instructions: says 'pago', 'atrasado' before identity is verified {WHY}"),
        (_leak_in_a_fallback,
         "nodes[saludo].say[0]: {empresa} falls back to 'Cobranzas del Sur', which says "
         f"'cobranzas' before identity is verified {WHY}"),
        (_leak_in_a_neutral_fallback,
         "nodes[saludo].say[0]: {slots.amount} falls back to 'el monto pendiente', which says "
         f"'monto' before identity is verified {WHY}"),
        (_leak_in_the_engine_s_question,
         "nodes[saludo].slots[amount]: has no ask, and the engine's question '¿Qué monto "
         f"podría pagar?' says 'monto', 'pagar' before identity is verified {WHY}"),
        (_leak_in_the_voicemail_node,
         f"nodes[buzon].say[0]: says 'saldo', 'impago' before identity is verified {WHY}"),
        (_leak_in_a_node_marked_but_not_reached_yet,
         f"nodes[fin].say[0]: says 'pago', 'atrasado' before identity is verified {WHY}"),
        (_leak_in_english,
         f"nodes[saludo].say[0]: says 'collections' before identity is verified {WHY}"),
        (_leak_in_phrases,
         "phrases.tool_failed[0]: says 'pago', and phrases are said before identity is "
         "verified too (a third party would learn the call is about a debt)"),
        (_leak_in_the_llm_description,
         "description: says 'cobranzas', and it is in every LLM prompt, before identity is "
         "verified too (a third party would learn the call is about a debt; say it in the "
         "instructions of a later node)"),
    ],
)  # fmt: skip
def test_collection_words_before_identity_are_refused(
    leak: Callable[[dict[str, Any]], None], problem: str
) -> None:
    data = broken()
    leak(data)
    assert problems_of(data) == [problem]


def test_the_engines_own_words_say_nothing_about_the_debt() -> None:
    # Said in any node, before identity too ("¿Sigue ahí?", "Disculpe, no le entendí").
    for lang, kinds in DEFAULT_PHRASES.items():
        for kind, lines in kinds.items():
            for line in lines:
                assert not collection_words(line), (lang, kind, line)
    for asks in DEFAULT_SLOT_ASKS.values():
        assert not collection_words(asks["national_id"] + " " + asks["callback_at"])


def test_a_payment_link_before_identity_may_not_carry_the_debt() -> None:
    data = broken()
    data["nodes"][0]["on_enter"] = [
        {"name": "send_payment_link", "arguments": {"amount": "{monto_total}"}}
    ]
    assert problems_of(data) == [
        "nodes[saludo].on_enter[0].arguments.amount: gives send_payment_link sensitive "
        "monto_total before identity is verified"
    ]


@pytest.mark.parametrize(
    "line",
    [
        "Le llamamos de {nombre} por un asunto personal. Gracias.",
        "Hello, this is a call about a personal business matter.",
        "Le habla Sofía Mora, asistente virtual.",  # a surname, not "en mora"
        "¿Me indica los últimos cuatro dígitos de su RUT?",
    ],
)
def test_neutral_lines_pass(line: str) -> None:
    data = broken()
    data["nodes"][0]["say"] = [line]
    assert parse_agent_data(data)


def test_after_identity_the_debt_may_be_named() -> None:
    data = broken()
    data["nodes"][1]["say"] = ["Le llamamos de cobranza: su cuota de {monto_total} venció."]
    assert parse_agent_data(data)


def test_unknown_variable_and_bad_template() -> None:
    data = broken()
    data["nodes"][1]["say"] = ["Debe {monto}.", "Debe {monto_total."]
    problems = problems_of(data)
    assert "nodes[revelar].say[0]: unknown variable {monto}" in problems
    assert any(p.startswith("nodes[revelar].say[1]: unbalanced brace") for p in problems)


def test_tool_arguments_are_checked() -> None:
    data = broken()
    data["nodes"][1]["transitions"][0]["tools"] = [
        {"name": "register_promise", "arguments": {"amount": "{monto_total}", "fecha": "x"}}
    ]
    problems = problems_of(data)
    assert any(
        "transitions[0].tools[0].arguments.fecha: register_promise takes no" in p for p in problems
    )
    assert (
        "nodes[revelar].transitions[0].tools[0].arguments: register_promise needs 'currency'"
        in problems
    )
    assert (
        "nodes[revelar].transitions[0].tools[0].arguments: register_promise needs 'pay_date'"
        in problems
    )


def test_structural_errors_keep_their_path() -> None:
    data = broken()
    data["nodes"][0]["transitions"][0]["intent"] = "maybe"
    data["nodes"][1]["say"] = []
    problems = problems_of(data)
    assert any(p.startswith("nodes.0.transitions.0.intent") for p in problems)
    assert any(p.startswith("nodes.1.say") for p in problems)


def test_unknown_tool_name_is_refused() -> None:
    data = broken()
    data["nodes"][1]["on_enter"] = [{"name": "charge_card"}]
    assert any(p.startswith("nodes.1.on_enter.0.name") for p in problems_of(data))


def test_error_message_names_the_agent_and_lists_problems() -> None:
    data = broken(start="hola")
    with pytest.raises(FlowDefinitionError) as info:
        parse_agent_data(data)
    assert str(info.value).startswith("agent 'mini' is invalid (1 problems):\n  - start:")


def test_yaml_and_json_text_and_files(tmp_path: Path) -> None:
    assert parse_agent(yaml.safe_dump(MINIMAL, allow_unicode=True)).name == "mini"
    assert parse_agent(json.dumps(MINIMAL)).name == "mini"
    path = tmp_path / "mini.json"
    path.write_text(json.dumps(MINIMAL), encoding="utf-8")
    assert load_agent_file(path).name == "mini"
    with pytest.raises(FlowDefinitionError, match="not valid YAML/JSON"):
        parse_agent("{not json", source="x.json")
    with pytest.raises(FlowDefinitionError, match="is a mapping"):
        parse_agent("- a\n- b\n")


def test_unknown_shipped_agent() -> None:
    with pytest.raises(AgentNotFoundError, match="cobranza-temprana"):
        load_agent("no-such-agent")


def test_a_definition_survives_a_json_round_trip() -> None:
    agent = load_agent("cobranza-temprana")
    again = parse_agent_data(json.loads(json.dumps(agent.model_dump(mode="json"))))
    assert again == agent


# -- repository (a fake pool: the SQL itself runs in integration tests elsewhere) -------


class _Cursor:
    def __init__(self, row: dict[str, Any] | None) -> None:
        self.row = row

    async def fetchone(self) -> dict[str, Any] | None:
        return self.row


class _Conn:
    def __init__(self, pool: _Pool) -> None:
        self.pool = pool

    async def execute(self, sql: str, params: tuple[Any, ...]) -> _Cursor:
        self.pool.calls.append((sql, params))
        return _Cursor(self.pool.row)


class _Pool:
    def __init__(self, row: dict[str, Any] | None) -> None:
        self.row = row
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def connection(self) -> _Pool:
        return self

    async def __aenter__(self) -> _Conn:
        return _Conn(self)

    async def __aexit__(self, *exc: object) -> None:
        return None


TENANT = "00000000-0000-0000-0000-000000000001"


def fake(pool: _Pool) -> Pool:
    return cast(Pool, pool)


def fake_pool(row: dict[str, Any] | None) -> Pool:
    return fake(_Pool(row))


async def test_repository_reads_the_tenants_flow() -> None:
    pool = _Pool({"kind": "flow", "definition": MINIMAL})
    agent = await load_agent_definition(fake(pool), TENANT, "mini")
    assert agent.name == "mini"
    sql, params = pool.calls[0]
    assert "tenant_id = %s::uuid" in sql
    assert params == (TENANT, "mini")


async def test_repository_falls_back_to_the_shipped_agent() -> None:
    for row in (None, {"kind": "flow", "definition": {}}):
        agent = await load_agent_definition(fake_pool(row), TENANT, "cobranza-temprana")
        assert agent == load_agent("cobranza-temprana")
    with pytest.raises(AgentNotFoundError):
        await load_agent_definition(fake_pool(None), TENANT, "nope")


async def test_repository_refuses_llm_agents_and_invalid_rows() -> None:
    with pytest.raises(AgentNotFoundError, match="llm agent"):
        await load_agent_definition(fake_pool({"kind": "llm", "definition": {}}), TENANT, "x")
    with pytest.raises(FlowDefinitionError):
        await load_agent_definition(
            fake_pool({"kind": "flow", "definition": broken(start="hola")}), TENANT, "mini"
        )


async def test_upsert_agent_writes_by_name() -> None:
    pool = _Pool({"id": "abc"})
    agent = parse_agent_data(MINIMAL)
    assert await upsert_agent(fake(pool), TENANT, agent) == "abc"
    sql, params = pool.calls[0]
    assert "ON CONFLICT (tenant_id, name) DO UPDATE" in sql
    assert params[:3] == (TENANT, "mini", "es-CL")
    assert params[3] == "flow"
    assert parse_agent_data(params[4].obj) == agent
