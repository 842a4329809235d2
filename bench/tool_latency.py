"""Tenant tools' latency: what one HTTP or MCP tool call costs, and what it adds to a turn.

On loopback (so the figures are Centralita's own cost, not a network's):

- `http_call_ms`: one `ExternalTools.call` of an HTTP tool whose service answers at
  once: arguments checked, masked, the body signed (Standard Webhooks), the URL checked
  by the SSRF guard, a pinned POST, the answer parsed (the receiver verifies the
  signature with `standardwebhooks`).
- `mcp_call_ms`: one call of an MCP tool (the SDK's `MCPServer`, streamable HTTP, a
  bearer token): each call opens its session (handshake) and calls the tool.
- `turn`: an LLM agent's turn (the loopback OpenAI-compatible fake, answering at once)
  that calls an HTTP tool whose service takes `delay_ms`: when the caller first hears
  something (`first_line_ms`: the waiting line once the tool runs past ~300 ms) and when
  the answer after the tool starts (`answer_ms`), beside the same turn without a tool.

The invocation log (Postgres) is not written here. Prints the figures and writes them to
bench/results/tool_latency.json.
"""

from __future__ import annotations

import argparse
import platform
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import report
from bench.stats import p50_p95
from centralita.actions.http_caller import ToolOutcome, call_http_tool
from centralita.actions.mcp_client import call_mcp_tool
from centralita.actions.models import HttpToolConfig, McpServerConfig
from centralita.kernel import runtime
from centralita.kernel.llm import LlmEndpoint
from centralita.webhooks.signing import new_secret
from realtime.agents.external_tools import ExternalTool, ExternalTools
from realtime.agents.flows.tools import ToolContext
from realtime.agents.llm.brain import LlmBrain
from realtime.agents.model_config import LlmConfig
from realtime.providers.base import AgentReply
from tests.support.brain_turns import turn
from tests.support.fakes.openai_server import FakeOpenAI, Scripted, ScriptedToolCall
from tests.support.tool_servers import ToolReceiver, serving_mcp

RESULTS = Path(__file__).resolve().parent / "results" / "tool_latency.json"
LOOPBACK = ("127.0.0.1",)
TOKEN = "bench-mcp-token-0123456789"  # noqa: S105 - a loopback server of its own
WAITING = "Un momento, lo reviso."
ANSWER = "Su pedido va en camino."
SCHEMA = {"type": "object", "properties": {"order_id": {"type": "string"}}}


def _http_tools(origin: str, secret: str) -> ExternalTools:
    config = HttpToolConfig("pedido", "d", SCHEMA, f"{origin}/orders", 10_000, None, None, secret)

    async def run(arguments: dict[str, Any]) -> ToolOutcome:
        return await call_http_tool(config, arguments, call_key="bench", allow_hosts=LOOPBACK)

    tool = ExternalTool("pedido", "http", "Dónde está el pedido", SCHEMA, WAITING, "No pude.",
                        10.0, run)  # fmt: skip
    return ExternalTools([tool], call_key="bench")


async def _timed(calls: int, make: Any) -> list[float]:
    spent: list[float] = []
    for _ in range(calls):
        started = time.perf_counter()
        outcome = await make()
        spent.append((time.perf_counter() - started) * 1000)
        assert outcome.success, outcome.result
    return spent


async def _turn(base_url: str, tools: ExternalTools | None) -> dict[str, float]:
    brain = LlmBrain(
        LlmConfig(endpoint=LlmEndpoint(base_url=base_url, model="fake-1")),
        instructions="Eres Sofía.",
        variables={},
        language="es",
        tool_context=ToolContext(now=datetime.now(UTC)),
    )
    if tools is not None:
        brain.use_external_tools(tools)
    started = time.perf_counter()
    heard: dict[str, float] = {}
    async for part in brain.stream(turn("¿Dónde está mi pedido?")):
        if isinstance(part, AgentReply):
            continue
        at = (time.perf_counter() - started) * 1000
        heard.setdefault("first_line_ms", at)
        if part == ANSWER:
            heard["answer_ms"] = at
    return heard


async def _turns(delay_ms: int, turns: int) -> dict[str, Any]:
    async with ToolReceiver(orders_delay_s=delay_ms / 1000) as receiver:
        receiver.secret = new_secret()
        tools = _http_tools(receiver.origin, receiver.secret)
        with_tool = [
            [Scripted(tool_calls=[ScriptedToolCall("pedido", {"order_id": "A1"})]),
             Scripted(text=ANSWER)]
            for _ in range(turns)
        ]  # fmt: skip
        script = [s for pair in with_tool for s in pair] + [Scripted(text=ANSWER)] * turns
        async with FakeOpenAI(script) as fake:
            tooled = [await _turn(fake.base_url, tools) for _ in range(turns)]
            plain = [await _turn(fake.base_url, None) for _ in range(turns)]
    return {
        "delay_ms": delay_ms,
        "first_line_ms": p50_p95([t["first_line_ms"] for t in tooled]),
        "answer_ms": p50_p95([t["answer_ms"] for t in tooled]),
        "no_tool_answer_ms": p50_p95([t["answer_ms"] for t in plain]),
    }


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    """Measure, return the figures."""
    async with ToolReceiver() as receiver:
        receiver.secret = new_secret()
        tools = _http_tools(receiver.origin, receiver.secret)
        await tools.call("pedido", {"order_id": "warm"})
        http = await _timed(args.calls, lambda: tools.call("pedido", {"order_id": "A1"}))
        assert receiver.refused == 0
    async with serving_mcp(TOKEN) as (url, _):
        server = McpServerConfig("crm", url, ("customer_status",), 10_000, None, None, TOKEN)

        def mcp() -> Any:
            return call_mcp_tool(server, "customer_status", {"customer_id": "C1"},
                                 allow_hosts=LOOPBACK)  # fmt: skip

        await mcp()
        mcp_ms = await _timed(args.calls, mcp)
    turn_figures = [await _turns(delay, args.turns) for delay in args.delays]
    return {
        "calls": args.calls,
        "http_call_ms": p50_p95(http),
        "mcp_call_ms": p50_p95(mcp_ms),
        "turn": turn_figures,
        "machine": {"python": platform.python_version(), "cpu": platform.processor()},
    }


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's options."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=50, help="tool calls per kind")
    parser.add_argument("--turns", type=int, default=5, help="LLM turns per tool delay")
    parser.add_argument(
        "--delays", type=int, nargs="+", default=[0, 800], help="the tool service's delays (ms)"
    )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    print(f"tool latency: {args.calls} calls per kind, turns with {args.delays} ms ...")
    result = runtime.run(bench(args))
    report(result, RESULTS, hidden=("machine",))
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
