"""Rows checked against the agent their calls will get, with the reader the call uses."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from activities.campaigns import agent_variables
from api.contact_agents import ContactAgents, agents_needed, call_variables
from api.contact_rows import NumberedRow, validate_rows
from centralita.campaigns.policy import CampaignPolicy
from centralita.campaigns.store.campaigns import NewContact
from centralita.campaigns.store.contact_context import ContactContext
from realtime.agents.flows.schema import AgentDefinition, VariableSpec
from realtime.agents.flows.templates import VariableError, bind_variables, read_variable
from realtime.agents.loader import DEFAULT_AGENT, load_any_agent

pytestmark = pytest.mark.unit

MARIA = "+56961234567"
JUAN = "+56972345678"
CARMEN = "+34612345678"
GOOD = {"monto_total": "200.000", "fecha_limite": "2026-12-15"}


def agents(**policy: Any) -> ContactAgents:
    parsed = CampaignPolicy.model_validate(policy)
    return ContactAgents(
        policy=parsed, definitions={n: load_any_agent(n) for n in agents_needed(parsed)}
    )


def row(phone: str = MARIA, **variables: Any) -> dict[str, Any]:
    return {"name": "María", "phone": phone, "variables": variables}


# -- typed variables the agent cannot read ------------------------------------------------


@pytest.mark.parametrize(
    ("variables", "reason"),
    [
        pytest.param(
            {**GOOD, "monto_total": "abc"},
            "monto_total 'abc' is not an amount (agent 'cobranza-temprana')",
            id="money-letters",
        ),
        pytest.param(
            {"monto": "doscientos mil", "fecha_limite": "2026-12-15"},
            "monto (monto_total) 'doscientos mil' is not an amount",
            id="money-under-an-alias",
        ),
        pytest.param({**GOOD, "monto_total": "NaN"}, "'NaN' is not an amount", id="nan"),
        pytest.param({**GOOD, "monto_total": "Infinity"}, "is not an amount", id="infinity"),
        pytest.param({**GOOD, "monto_total": True}, "True is not an amount", id="boolean"),
        pytest.param(
            {**GOOD, "fecha_limite": "15/03/2026"},
            "fecha_limite '15/03/2026' is not a date (write it as YYYY-MM-DD)",
            id="date-day-first",
        ),
        pytest.param(
            {**GOOD, "fecha_limite": "2026-02-30"}, "'2026-02-30' is not a date", id="no-such-day"
        ),
        pytest.param(
            {"monto_total": "x", "fecha_limite": "y"},
            "monto_total 'x' is not an amount; fecha_limite 'y' is not a date",
            id="both",
        ),
    ],
)
def test_an_unreadable_amount_or_date_refuses_the_row(
    variables: dict[str, Any], reason: str
) -> None:
    rows = [row(JUAN, **GOOD), row(MARIA, **variables)]
    accepted, rejected, _ = validate_rows(rows, None, check=agents().check)
    assert [c.phones[0] for c in accepted] == [JUAN]
    assert [r.row for r in rejected] == [2]
    assert reason in rejected[0].reason


@pytest.mark.parametrize(
    "variables",
    [
        pytest.param(GOOD, id="chilean-grouping"),
        pytest.param({"monto_total": 200000, "fecha_limite": "2026-12-15"}, id="json-number"),
        pytest.param({"monto_total": "$ 1.250,50", "fecha_limite": "2026-12-15"}, id="pesos"),
        pytest.param({"deuda": "99", "fecha_vencimiento": "2026-12-15"}, id="aliases"),
    ],
)
def test_readable_values_are_accepted_without_warnings(variables: dict[str, Any]) -> None:
    accepted, rejected, warnings = validate_rows([row(**variables)], None, check=agents().check)
    assert rejected == []
    assert warnings == []
    assert len(accepted) == 1


def test_csv_rows_are_refused_by_their_line() -> None:
    rows = [
        NumberedRow(2, row(JUAN, **GOOD)),
        NumberedRow(7, row(MARIA, monto_total="abc", fecha_limite="2026-12-15")),
    ]
    _, rejected, _ = validate_rows(rows, None, check=agents().check)
    assert [(r.row, r.reason) for r in rejected] == [
        (7, "monto_total 'abc' is not an amount (agent 'cobranza-temprana')")
    ]


def test_a_missing_required_variable_is_a_warning_and_the_row_is_kept() -> None:
    rows = [row(JUAN, **GOOD), row(MARIA, monto_total="1000")]
    accepted, rejected, warnings = validate_rows(rows, None, check=agents().check)
    assert len(accepted) == 2
    assert rejected == []
    assert [(w.row, w.reason) for w in warnings] == [
        (
            2,
            "no fecha_limite, which agent 'cobranza-temprana' requires: a call that "
            "reaches the agent will fail",
        )
    ]


def test_the_contact_name_counts_as_the_agents_nombre() -> None:
    # cobranza-temprana requires `nombre` (alias `name`): the call gets the contact's name.
    _, _, warnings = validate_rows([row(**GOOD)], None, check=agents().check)
    assert warnings == []


def test_the_segments_agent_is_the_one_checked() -> None:
    english = agents(segment_agents={"en": "collections-early"}, default_agent="cobranza-tardia")
    rows = [
        {**row(MARIA, amount_due="lots", due_date="2026-12-15"), "segment": "en"},
        {**row(JUAN, monto_total="x", fecha_limite="2026-12-15"), "segment": "otro"},
    ]
    _, rejected, _ = validate_rows(rows, None, check=english.check)
    assert [r.reason for r in rejected] == [
        "amount_due 'lots' is not an amount (agent 'collections-early')",
        "monto_total 'x' is not an amount (agent 'cobranza-tardia')",
    ]


def test_llm_agents_declare_kinds_too() -> None:
    llm = agents(default_agent="cobranza-llm")
    _, rejected, _ = validate_rows(
        [row(monto_total="abc", fecha_limite="2026-12-15")], None, check=llm.check
    )
    assert rejected[0].reason == "monto_total 'abc' is not an amount (agent 'cobranza-llm')"


# -- segments no agent takes -------------------------------------------------------------


def test_an_unknown_segment_is_refused_when_no_default_agent_takes_it() -> None:
    mapped = agents(segment_agents={"temprana": "cobranza-temprana", "tardia": "cobranza-tardia"})
    rows = [
        {**row(MARIA, **GOOD), "segment": "temprana"},
        {**row(JUAN, **GOOD), "segment": "grave"},
        {**row(CARMEN, **GOOD)},
    ]
    accepted, rejected, _ = validate_rows(rows, None, check=mapped.check)
    assert [c.segment for c in accepted] == ["temprana"]
    assert [(r.row, r.reason) for r in rejected] == [
        (
            2,
            "segment 'grave' has no agent: segment_agents maps tardia, temprana and "
            "there is no default_agent",
        ),
        (
            3,
            "no segment, and the campaign picks its agent by segment (tardia, temprana) "
            "with no default_agent",
        ),
    ]


def test_with_a_default_agent_or_no_segment_map_any_segment_is_taken() -> None:
    rows = [{**row(MARIA, **GOOD), "segment": "grave"}, row(JUAN, **GOOD)]
    for policy in (
        {"segment_agents": {"tardia": "cobranza-tardia"}, "default_agent": "cobranza-severa"},
        {},
    ):
        accepted, rejected, _ = validate_rows(rows, None, check=agents(**policy).check)
        assert rejected == []
        assert len(accepted) == 2


def test_a_campaign_naming_no_agent_is_checked_against_the_default_one() -> None:
    assert agents().agent_for("anything") == DEFAULT_AGENT
    assert agents_needed(CampaignPolicy()) == [DEFAULT_AGENT]


# -- the same reader as the call ----------------------------------------------------------

CORPUS = [
    "200.000", "1.250,50", "1250,50", "12,5", "1,250", "$ 99", "-500", "1e3", "abc", "",
    "NaN", "Infinity", "-inf", "sNaN", "2026-12-15", "15/12/2026", "2026-12-15T10:00",
    200000, 12.5, True, None,
]  # fmt: skip


@pytest.mark.parametrize("amount", CORPUS)
@pytest.mark.parametrize("due", ["2026-12-15", "15-12-2026", "2026-12-15 09:00", 20261215])
def test_refused_at_creation_exactly_when_the_call_could_not_read_it(
    amount: object, due: object
) -> None:
    variables = {"monto_total": amount, "fecha_limite": due}
    contact = NewContact(name="María", phones=[MARIA], variables=variables)
    definition = load_any_agent("cobranza-temprana")
    assert isinstance(definition, AgentDefinition)
    try:
        bind_variables(definition, call_variables(contact))
        call_fails = False
    except VariableError as exc:
        # A value it could not read, not a missing one (that is a warning, see above).
        call_fails = "variable '" in str(exc)
    try:
        agents().check(contact)
        refused = False
    except ValueError:
        refused = True
    assert refused == call_fails


def test_amounts_with_a_decimal_comma_and_no_grouping_are_read_right() -> None:
    money = VariableSpec(name="m", kind="money")
    assert read_variable(money, "1250,50") == Decimal("1250.50")
    assert read_variable(money, "1.250,50") == Decimal("1250.50")
    assert read_variable(money, "200.000") == Decimal("200000")
    assert read_variable(money, "1,250") == Decimal("1250")
    assert read_variable(VariableSpec(name="d", kind="date"), "2026-12-15") == date(2026, 12, 15)
    for bad in ("NaN", "Infinity", "-inf", float("nan")):
        with pytest.raises(ValueError, match="as an amount"):
            read_variable(money, bad)


@pytest.mark.parametrize(
    ("name", "variables"),
    [
        ("María", {"monto_total": 1}),
        ("María", {"name": "Mari", "monto_total": 1}),
        ("Ana", {}),
    ],
)
def test_call_variables_are_what_the_dial_request_carries(
    name: str, variables: dict[str, Any]
) -> None:
    contact = NewContact(name=name, phones=[MARIA], variables=variables)
    ctx = ContactContext(
        contact_id="c",
        campaign_id="k",
        tenant_id="t",
        name=name,
        state="pending",
        phones=[MARIA],
        phone_index=0,
        recipient_timezone=None,
        campaign_timezone="UTC",
        segment=None,
        variables=variables,
        admitted_at=None,
        next_attempt_at=None,
        policy=CampaignPolicy(),
        attempts_total=0,
    )
    assert call_variables(contact) == agent_variables(ctx)
