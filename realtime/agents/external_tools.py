"""A call's tenant tools: its HTTP tools and allow-listed MCP tools, by name, ready to run.

`ExternalTools` is bound to one call (its tenant, agent and key) when the call is set up
(`realtime/store/tenant_tools.py`). Agents reach it through the call's `ToolContext`:
`run_tool` sends a name no built-in tool has here, LLM agents are offered `specs()`, and
a flow's tool step names a tenant tool as `tenant:<name>`.

`call` never raises into the conversation: the arguments are checked against the tool's
JSON Schema, the tool runs within its timeout, and whatever happens comes back as a
`ToolCall` (arguments masked, the result, latency, success), logged in the tenant's
invocation log. The lines the caller hears around it (`waiting_line` after ~300 ms,
`failure_line` when it fails) are the brain's to say: `aloud` runs work while handing
on what it asks to say meanwhile.

Other code that needs a tenant tool during a call (a payment link sent through the
tenant's own service) calls `ExternalTools.call(name, arguments)` the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Generic, Literal, TypeVar

from centralita.actions.http_caller import ToolOutcome
from centralita.actions.masking import mask_arguments
from centralita.actions.models import Invocation
from centralita.actions.schemas import argument_problems
from realtime.providers.base import ToolCall

log = logging.getLogger(__name__)

WAITING_AFTER_S: Final = 0.3
"""A tool still running after this has the agent say its waiting line (once)."""
RECORD_TIMEOUT_S: Final = 1.0
TENANT_PREFIX: Final = "tenant:"
"""How a flow's tool step names a tenant tool (`tenant:lookup_order`)."""

T = TypeVar("T")
Executor = Callable[[dict[str, Any]], Awaitable[ToolOutcome]]
Recorder = Callable[[Invocation], Awaitable[None]]
Say = Callable[[str], None]


@dataclass(frozen=True)
class ExternalTool:
    """One tenant tool as a call runs it."""

    name: str  # what the agent calls it (an MCP tool's is `mcp_<server>_<tool>`)
    kind: Literal["http", "mcp"]
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments
    waiting_line: str
    failure_line: str
    timeout_s: float
    run: Executor


class ExternalTools:
    """The tenant tools of one call.

    Args:
        tools: the tools, by their agent-facing names.
        call_key: the call's idempotency key (the log's and the tenant's join).
        agent: the call's agent (logged).
        record: writes one invocation to the tenant's log (None: not logged).
    """

    def __init__(
        self,
        tools: Sequence[ExternalTool],
        *,
        call_key: str,
        agent: str | None = None,
        record: Recorder | None = None,
    ) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self.call_key = call_key
        self.agent = agent
        self._record = record

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __len__(self) -> int:
        return len(self._tools)

    def names(self) -> list[str]:
        """The tools' names, sorted."""
        return sorted(self._tools)

    def get(self, name: str) -> ExternalTool | None:
        """The tool of that name, if the call has it."""
        return self._tools.get(name)

    def longest_timeout_s(self) -> float:
        """The longest any tool may take (0 without tools)."""
        return max((tool.timeout_s for tool in self._tools.values()), default=0.0)

    def specs(self) -> list[dict[str, Any]]:
        """The tools as OpenAI-compatible function specs, for a model's tool list."""
        return [
            {
                "type": "function",
                "function": {
                    "name": tool.name,
                    "description": tool.description,
                    "parameters": tool.parameters,
                },
            }
            for tool in sorted(self._tools.values(), key=lambda t: t.name)
        ]

    async def call(
        self, name: str, arguments: Mapping[str, Any], *, on_waiting: Say | None = None
    ) -> ToolCall:
        """Run the tool `name` with `arguments`; never raises.

        Args:
            name: the tool (a name the call lacks is refused: `unknown_tool`).
            arguments: what the agent chose; checked against the tool's schema first.
            on_waiting: called once with the waiting line if the tool is still running
                after `WAITING_AFTER_S`.
        """
        tool = self._tools.get(name)
        masked = mask_arguments(arguments)
        if tool is None:
            return ToolCall(
                name=name,
                arguments=masked,
                result={"error": "unknown_tool", "detail": name},
                success=False,
            )
        problems = argument_problems(tool.parameters, arguments)
        if problems:
            outcome = ToolOutcome(
                {"error": "invalid_arguments", "detail": problems}, False, "invalid arguments", 0
            )
        else:
            outcome = await self._run(tool, dict(arguments), on_waiting)
        await self._log(tool, masked, outcome)
        return ToolCall(
            name=name,
            arguments=masked,
            result=outcome.result,
            success=outcome.success,
            duration_ms=outcome.latency_ms,
        )

    async def _run(
        self, tool: ExternalTool, arguments: dict[str, Any], on_waiting: Say | None
    ) -> ToolOutcome:
        loop = asyncio.get_running_loop()
        started = loop.time()
        waiting = (
            loop.call_later(WAITING_AFTER_S, on_waiting, tool.waiting_line) if on_waiting else None
        )
        try:
            # The executors keep their own deadline; this one is the last resort.
            async with asyncio.timeout(tool.timeout_s + 0.5):
                return await tool.run(arguments)
        except TimeoutError:
            error = f"timed out after {tool.timeout_s:g} s"
            return ToolOutcome({"error": "timeout"}, False, error, (loop.time() - started) * 1000)
        except Exception as exc:  # an executor's bug must not reach the conversation
            log.exception("call %s: tool %s failed", self.call_key, tool.name)
            error = f"{type(exc).__name__}"
            return ToolOutcome({"error": "internal"}, False, error, (loop.time() - started) * 1000)
        finally:
            if waiting is not None:
                waiting.cancel()

    async def _log(self, tool: ExternalTool, masked: dict[str, Any], outcome: ToolOutcome) -> None:
        if self._record is None:
            return
        invocation = Invocation(
            call_key=self.call_key,
            agent=self.agent,
            tool=tool.name,
            kind=tool.kind,
            arguments=masked,
            result=mask_arguments(outcome.result),
            latency_ms=outcome.latency_ms,
            success=outcome.success,
            error=outcome.error or None,
        )
        try:
            async with asyncio.timeout(RECORD_TIMEOUT_S):
                await self._record(invocation)
        except Exception:  # the log must not cost the call its answer
            log.warning("call %s: tool %s not logged", self.call_key, tool.name, exc_info=True)


@dataclass(frozen=True)
class Done(Generic[T]):
    """What `aloud`'s work returned (its last item)."""

    value: T


async def aloud(work: Callable[[Say], Awaitable[T]]) -> AsyncGenerator[str | Done[T], None]:
    """Run `work`, yielding each line it asks to say (through the `Say` it is given) as
    soon as it asks, then `Done` with its result. Closing the generator (a barge-in)
    cancels the work."""
    lines: asyncio.Queue[str] = asyncio.Queue()
    task = asyncio.ensure_future(work(lines.put_nowait))
    try:
        while not task.done():
            getter = asyncio.ensure_future(lines.get())
            await asyncio.wait({task, getter}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        while not lines.empty():
            yield lines.get_nowait()
        yield Done(task.result())
    finally:
        if not task.done():
            task.cancel()
