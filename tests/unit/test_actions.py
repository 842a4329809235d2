"""The actions domain's pure parts: a tool's JSON Schema checked at registration and its
arguments at call time, masking, the signed request body, the lines around a tool, the
MCP names, and `ExternalTools` never raising (a timeout, a bug, bad arguments)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook as StandardWebhook

from centralita.actions.http_caller import ToolOutcome, request_body
from centralita.actions.lines import failure_line, waiting_line
from centralita.actions.masking import is_sensitive_key, mask_arguments
from centralita.actions.models import (
    HttpToolCreate,
    McpServerConfig,
    header_problems,
    mcp_tool_name,
    token_problems,
)
from centralita.actions.schemas import argument_problems, schema_problems
from centralita.webhooks.signing import new_secret, signed_headers
from realtime.agents.external_tools import Done, ExternalTool, ExternalTools, aloud

pytestmark = pytest.mark.unit

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string"},
        "qty": {"type": "integer", "minimum": 1},
        "pin": {"type": "string"},
    },
    "required": ["order_id"],
    "additionalProperties": False,
}


def test_a_tool_schema_must_be_a_valid_local_object_schema() -> None:
    assert schema_problems(SCHEMA) == []
    assert schema_problems({"type": "object", "$defs": {"a": {}}, "$ref": "#/$defs/a"}) == []
    assert "JSON object" in schema_problems([1])[0]
    assert '"type": "object"' in schema_problems({"type": "string"})[0]
    assert (
        "minimum" in schema_problems({"type": "object", "properties": {"a": {"minimum": "x"}}})[0]
    )
    assert "local" in schema_problems({"type": "object", "$ref": "https://evil.example/s"})[0]
    big = {"type": "object", "description": "x" * 20_000}
    assert "larger" in schema_problems(big)[0]


def test_arguments_are_checked_against_the_schema_by_path() -> None:
    assert argument_problems(SCHEMA, {"order_id": "A1", "qty": 2}) == []
    problems = argument_problems(SCHEMA, {"qty": 0, "extra": True})
    assert any(p.startswith("(arguments):") and "order_id" in p for p in problems)
    assert any(p.startswith("qty:") for p in problems)


def test_the_create_model_refuses_mcp_names_and_bad_schemas() -> None:
    ok = HttpToolCreate(name="estado_pedido", description="d", url="https://x.example/t")
    assert ok.parameters == {"type": "object", "properties": {}}
    assert ok.timeout_ms == 5000
    with pytest.raises(ValidationError, match="MCP"):
        HttpToolCreate(name="mcp_crm_x", description="d", url="https://x.example/t")
    with pytest.raises(ValidationError, match="timeout_ms"):
        HttpToolCreate(name="ab", description="d", url="https://x.example/t", timeout_ms=40_000)
    with pytest.raises(ValidationError, match="parameters"):
        HttpToolCreate(name="ab", description="d", url="https://x", parameters={"type": "array"})


@pytest.mark.parametrize(
    ("key", "sensitive"),
    [
        ("password", True),
        ("api-key", True),
        ("cardNumber", True),
        ("card_number", True),
        ("pin", True),
        ("user_rut", True),
        ("Authorization", True),
        ("shipping", False),
        ("company", False),
        ("order_id", False),
        ("amount", False),
    ],
)
def test_sensitive_keys(key: str, sensitive: bool) -> None:
    assert is_sensitive_key(key) is sensitive


def test_masking_stars_secrets_and_personal_data_wherever_they_are() -> None:
    masked = mask_arguments(
        {
            "order_id": "A1",
            "card_number": "4111111111111111",
            "pin": "1234",
            "note": "llámeme al +56 9 6123 4567",
            "nested": {"token": "abcdefghijklmnop", "items": [{"cvv": "123"}]},
            "qty": 3,
            "ok": True,
        }
    )
    assert masked == {
        "order_id": "A1",
        "card_number": "****1111",
        "pin": "****",
        "note": "llámeme al +56 * **** 4567",
        "nested": {"token": "****mnop", "items": [{"cvv": "****"}]},
        "qty": 3,
        "ok": True,
    }


def test_the_request_is_signed_as_our_webhooks_are() -> None:
    secret = new_secret()
    body = request_body("estado_pedido", "call-1", {"order_id": "Ñ-1"})
    assert json.loads(body) == {
        "tool": "estado_pedido",
        "call_key": "call-1",
        "arguments": {"order_id": "Ñ-1"},
    }
    headers = signed_headers([secret], "tool_abc", body)
    assert StandardWebhook(secret).verify(body, headers) == json.loads(body)
    with pytest.raises(Exception, match="signature"):
        StandardWebhook(new_secret()).verify(body, headers)


def test_lines_exist_in_spanish_and_english_and_the_tools_own_win() -> None:
    assert waiting_line(None, "es-CL").startswith("Un momento")
    assert waiting_line(None, "en").startswith("One moment")
    assert waiting_line(None, "pt") == waiting_line(None, "en")
    assert failure_line(None, "es").startswith("Lo siento")
    assert failure_line("Ya vuelvo.", "es") == "Ya vuelvo."


def test_mcp_names_and_credentials() -> None:
    assert mcp_tool_name("crm", "Customer-Status") == "mcp_crm_customer_status"
    assert len(mcp_tool_name("crm", "x" * 100)) == 64
    assert token_problems("short") == ["token: must be 8 to 4096 characters"]
    assert token_problems("a b c d e f g h") != []
    assert token_problems("abcdefgh1234") == []
    assert header_problems({"X-Key": "v"}) == []
    assert "set by Centralita" in header_problems({"Host": "evil"})[0]
    assert "not a header name" in header_problems({"bad name": "v"})[0]
    secret_value = "s3cr3t\nvalue"
    assert all(secret_value not in p for p in header_problems({"X-Key": secret_value}))
    server = McpServerConfig(
        "crm", "https://x", ("a",), 1000, None, None, token="tok", headers={"X": "1"}
    )
    assert server.request_headers() == {"X": "1", "Authorization": "Bearer tok"}
    assert "tok" not in repr(server)


def _tool(run: Any, timeout_s: float = 1.0) -> ExternalTool:
    return ExternalTool(
        name="estado",
        kind="http",
        description="d",
        parameters=SCHEMA,
        waiting_line="Un momento.",
        failure_line="No pude.",
        timeout_s=timeout_s,
        run=run,
    )


async def test_external_tools_never_raise_and_log_every_call() -> None:
    logged: list[Any] = []

    async def record(invocation: Any) -> None:
        logged.append(invocation)

    async def broken(arguments: dict[str, Any]) -> ToolOutcome:
        raise RuntimeError("bug")

    async def stuck(arguments: dict[str, Any]) -> ToolOutcome:
        await asyncio.sleep(10)
        raise AssertionError("unreachable")

    waited: list[str] = []
    tools = ExternalTools([_tool(broken)], call_key="k", agent="a", record=record)
    failed = await tools.call("estado", {"order_id": "1", "pin": "9999"})
    assert (failed.success, failed.result) == (False, {"error": "internal"})
    assert failed.arguments == {"order_id": "1", "pin": "****"}
    bad = await tools.call("estado", {"qty": "x"})
    assert bad.result["error"] == "invalid_arguments"
    unknown = await tools.call("otra", {})
    assert unknown.result["error"] == "unknown_tool"
    slow = ExternalTools([_tool(stuck, timeout_s=0.4)], call_key="k")
    timed_out = await slow.call("estado", {"order_id": "1"}, on_waiting=waited.append)
    assert (timed_out.success, timed_out.result) == (False, {"error": "timeout"})
    assert waited == ["Un momento."]
    assert [i.success for i in logged] == [False, False]  # an unknown tool is not the tenant's


async def test_aloud_hands_on_lines_as_they_are_asked_then_the_result() -> None:
    async def work(say: Any) -> int:
        say("uno")
        await asyncio.sleep(0.01)
        say("dos")
        return 3

    items = [item async for item in aloud(work)]
    assert items[:2] == ["uno", "dos"]
    assert isinstance(items[2], Done)
    assert items[2].value == 3
