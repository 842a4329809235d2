"""Flow tools: validated arguments, local effects, a ToolCall record for every call."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from centralita.kernel.calls import CallOutcome
from realtime.agents.flows.tools import TOOLS, ToolContext, run_tool, tool_schemas

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("America/Santiago"))


async def test_register_promise_records_the_promise() -> None:
    ctx = ToolContext(now=NOW)
    call = await run_tool(
        "register_promise", {"amount": 200000, "currency": "CLP", "pay_date": "2025-03-14"}, ctx
    )
    assert call.success
    assert call.name == "register_promise"
    assert call.duration_ms >= 0
    assert ctx.outcome is CallOutcome.PROMISE_TO_PAY
    assert ctx.extracted == {
        "promised_amount": 200000,
        "promised_currency": "CLP",
        "promised_date": "2025-03-14",
    }


async def test_register_promise_refuses_a_past_date_and_bad_arguments() -> None:
    ctx = ToolContext(now=NOW)
    past = await run_tool(
        "register_promise", {"amount": 1, "currency": "CLP", "pay_date": "2025-03-09"}, ctx
    )
    assert not past.success
    assert past.result["error"] == "date_in_past"
    bad = await run_tool("register_promise", {"amount": -5, "currency": "pesos"}, ctx)
    assert not bad.success
    assert bad.result["error"] == "invalid_arguments"
    assert any(d.startswith("amount:") for d in bad.result["detail"])
    assert any(d.startswith("pay_date:") for d in bad.result["detail"])
    assert ctx.outcome is None
    assert ctx.extracted == {}


async def test_an_agent_that_verifies_identity_acts_in_their_name_only_after_it() -> None:
    """With `identity_required` (an LLM agent offering lookup_customer), a promise and a
    payment link wait for the caller to be verified; the refusal changes nothing."""
    ctx = ToolContext(now=NOW, variables={"nombre": "María José"}, identity_required=True)
    promise = {"amount": 200000, "currency": "CLP", "pay_date": "2025-03-14"}
    link = {"channel": "sms", "amount": 200000, "currency": "CLP"}
    refused = [await run_tool("register_promise", promise, ctx)]
    refused.append(await run_tool("send_payment_link", link, ctx))
    assert [(c.success, c.result["error"]) for c in refused] == [
        (False, "identity_not_verified")
    ] * 2
    assert (ctx.outcome, ctx.extracted) == (None, {})

    wrong = await run_tool("lookup_customer", {"name": "Pedro"}, ctx)
    assert wrong.result == {"verified": False}
    assert not (await run_tool("register_promise", promise, ctx)).success

    assert (await run_tool("lookup_customer", {"name": "maria jose"}, ctx)).result["verified"]
    assert (await run_tool("register_promise", promise, ctx)).success
    assert (await run_tool("send_payment_link", link, ctx)).success
    assert ctx.outcome is CallOutcome.PROMISE_TO_PAY


async def test_schedule_callback_needs_an_aware_future_time() -> None:
    ctx = ToolContext(now=NOW)
    naive = await run_tool("schedule_callback", {"callback_at": "2025-03-11T16:00:00"}, ctx)
    assert not naive.success
    ok = await run_tool("schedule_callback", {"callback_at": "2025-03-11T16:00:00-03:00"}, ctx)
    assert ok.success
    assert ctx.extracted["callback_at"] == "2025-03-11T16:00:00-03:00"
    assert ctx.outcome is CallOutcome.CALLBACK_REQUESTED


async def test_opt_out_transfer_link_and_end() -> None:
    ctx = ToolContext(now=NOW)
    assert (await run_tool("opt_out", {"reason": "asked"}, ctx)).success
    assert ctx.outcome is CallOutcome.OPT_OUT
    assert (await run_tool("transfer_to_agent", {}, ctx)).success
    assert ctx.transfer
    link = await run_tool("send_payment_link", {"amount": 1000, "currency": "CLP"}, ctx)
    again = await run_tool("send_payment_link", {"amount": 1000, "currency": "CLP"}, ctx)
    assert link.result["link_id"].startswith("plink_")
    assert link.result["link_id"] == again.result["link_id"]  # stable for the same request
    assert link.result["channel"] == "sms"
    finished = ToolContext(now=NOW)
    end = await run_tool("end_call", {"outcome": "completed"}, finished)
    assert end.success
    assert finished.end
    assert finished.outcome is CallOutcome.COMPLETED


async def test_unknown_tool_and_unknown_argument() -> None:
    ctx = ToolContext(now=NOW)
    unknown = await run_tool("charge_card", {}, ctx)
    assert not unknown.success
    assert unknown.result == {"error": "unknown_tool", "detail": "charge_card"}
    extra = await run_tool("opt_out", {"why": "x"}, ctx)
    assert not extra.success


def test_every_tool_has_a_json_schema() -> None:
    schemas = tool_schemas()
    assert set(schemas) == set(TOOLS)
    assert schemas["register_promise"]["required"] == ["amount", "currency", "pay_date"]
    assert schemas["send_payment_link"]["properties"]["channel"]["enum"] == [
        "sms",
        "email",
        "whatsapp",
    ]
