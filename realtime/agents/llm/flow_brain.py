"""`FlowLlmBrain`: a flow agent in LLM mode, the model talking and the flow deciding.

Each model round's system prompt is the current node's (see `flow_prompt`); the model
moves the flow with `go_to_node` and records what it heard with `fill_slots`, and it
has the regular tools too (register_promise, schedule_callback, opt_out, ...). The
flow (`GuidedFlow`) stays the authority: a move is taken only when the graph allows
it, otherwise the tool result says why, and the model asks again. Identity is the
graph's alone: sensitive variables reach the prompt only after a `verify_identity`
transition, the account tools follow that same fact, and `lookup_customer` is not
offered.

Everything about talking to the model (sentence streaming, tool-call deltas, fillers,
retry and fallback, the apology, a barge-in closing the stream) is `LlmBrain`'s. The
start node's `say` is the greeting, with no model round before the first word; an
ending node's `say` is spoken by the flow, since the model is not asked again once the
call is over.
"""

from __future__ import annotations

import os
from collections.abc import AsyncGenerator, Callable, Mapping
from datetime import datetime
from typing import Any

from centralita.memory.call_variables import memory_of
from centralita.understanding.model import Steering
from realtime.agents.external_tools import ExternalTools
from realtime.agents.flows.guided import GuidedFlow
from realtime.agents.flows.schema import AgentDefinition
from realtime.agents.flows.tools import TOOLS, KnowledgeLookup, PaymentLinkAction, run_tool
from realtime.agents.llm.brain import ClientFactory, LlmBrain, default_client
from realtime.agents.llm.flow_prompt import (
    FILL_SLOTS,
    GO_TO_NODE,
    FlowPromptView,
    fill_slots_tool,
    flow_system_prompt,
    go_to_node_tool,
)
from realtime.agents.llm.tool_deltas import AssembledToolCall
from realtime.agents.model_config import LlmConfig
from realtime.providers.base import AgentReply, BrainTurn, ToolCall

# Identity is decided by the flow's verify_identity transitions, not by the model.
DEFAULT_TOOLS = [name for name in TOOLS if name != "lookup_customer"]


# Tools a model may not use while the flow has not verified who it speaks with.
_AFTER_IDENTITY = frozenset({"search_knowledge", "send_payment_link", "register_promise"})


class FlowLlmBrain(LlmBrain):
    """One call's flow agent in LLM mode.

    Args:
        definition: a flow with an `llm:` block.
        variables: the contact's dynamic variables.
        clock: now, aware, in the called person's zone.
        config: the model's configuration (default: the `llm:` block's, keys from
            `environ`).
        environ: where the keys are read (the process's environment by default).
        client_factory: builds the `openai` client for an endpoint (tests pass theirs).

    Raises:
        VariableError: a required variable is missing or unreadable.
        ValueError: the definition has no `llm:` block, or a key's variable is not set.
    """

    name = "flow-llm"

    def __init__(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any],
        *,
        clock: Callable[[], datetime],
        config: LlmConfig | None = None,
        environ: Mapping[str, str] | None = None,
        client_factory: ClientFactory = default_client,
        knowledge: KnowledgeLookup | None = None,
        external: ExternalTools | None = None,
        payment_links: PaymentLinkAction | None = None,
    ) -> None:
        if definition.llm is None:
            raise ValueError(f"agent {definition.name!r} has no llm block")
        flow = GuidedFlow(definition, variables, clock=clock)
        flow.tool_context.knowledge = knowledge
        flow.tool_context.payment_links = payment_links
        tools = [t for t in definition.llm.tools or DEFAULT_TOOLS if t != "lookup_customer"]
        if knowledge is not None and "search_knowledge" not in tools:
            tools.append("search_knowledge")  # refused before identity, see `_execute`
        super().__init__(
            config or definition.llm.config(os.environ if environ is None else environ),
            instructions=definition.description,
            variables={},  # the flow's prompt shows them, sensitive ones only once verified
            language=definition.language,
            tool_context=flow.tool_context,
            tools=tools,
            client_factory=client_factory,
        )
        self.flow = flow
        # The base class was given no variables (the flow's prompt shows them): the
        # contact's history comes from the call's own.
        self._memory = memory_of(variables)
        self._allowed = set(tools)
        self._simple = False
        self._flow_calls: list[ToolCall] = []  # run by the flow on a move, reported next
        self._flow_said: list[str] = []
        if external is not None:
            self.use_external_tools(external)

    @property
    def node(self) -> str | None:
        """The node the conversation is in."""
        return self.flow.node

    # -- AgentBrain ------------------------------------------------------------------

    async def start_stream(self) -> AsyncGenerator[str | AgentReply, None]:
        step = await self.flow.begin()
        self._flow_calls += step.tool_calls
        if step.said:
            self._messages.append({"role": "assistant", "content": " ".join(step.said)})
        for line in step.said:
            yield line
        yield self._decision([], 0)

    async def stream(self, turn: BrainTurn) -> AsyncGenerator[str | AgentReply, None]:
        if self.flow.node is None:
            async for part in self.start_stream():
                if isinstance(part, AgentReply):
                    yield part
        if self.flow.finished:
            yield self._decision([], 0)
            return
        self.flow.new_turn()
        self._simple = turn.advice.steering is Steering.SIMPLIFY
        async for part in super().stream(turn):
            yield part

    def use_external_tools(self, tools: ExternalTools) -> None:
        """The tenant's tools, offered and allowed beside the flow's own."""
        super().use_external_tools(tools)
        self._allowed |= set(tools.names())

    # -- LlmBrain's hooks ------------------------------------------------------------

    def _system(self, turn: BrainTurn | None) -> str:
        view = FlowPromptView.of(self.flow)
        memory = (
            self._memory.as_context(self._language, identity_verified=view.verified)
            if self._memory
            else ""
        )
        return flow_system_prompt(
            view, self._language, turn.advice if turn else None, memory=memory
        )

    def _tool_specs(self) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = []
        options = self.flow.options()
        if options:
            specs.append(go_to_node_tool(options))
        slots = self.flow.offered_slots()
        if slots:
            specs.append(fill_slots_tool(slots))
        return [*specs, *self._tools]

    async def _execute(self, call: AssembledToolCall) -> ToolCall:
        if call.name == GO_TO_NODE:
            return await self._go_to_node(call.arguments)
        if call.name == FILL_SLOTS:
            result = self.flow.fill(call.arguments)
            return ToolCall(
                name=FILL_SLOTS,
                arguments=call.arguments,
                result=result,
                success="error" not in result,
            )
        if call.name not in self._allowed:
            return ToolCall(
                name=call.name,
                arguments=call.arguments,
                result={"error": "unknown_tool", "detail": call.name},
                success=False,
            )
        if call.name in _AFTER_IDENTITY and self.flow.current.before_identity:
            # As in a scripted flow: a third party must not hear the collection terms,
            # nor be sent a payment link or have a promise taken in the debtor's name.
            return ToolCall(
                name=call.name,
                arguments=call.arguments,
                result={"error": "identity_not_verified", "detail": "verify identity first"},
                success=False,
            )
        # The account tools see the flow's verification, nothing else.
        self._ctx.identity_verified = self.flow.identity_verified
        self._ctx.now = self.flow.today()
        return await run_tool(call.name, call.arguments, self._ctx)

    def _said_by_tools(self) -> list[str]:
        said, self._flow_said = self._flow_said, []
        return said

    def _decision(self, calls: list[ToolCall], tokens: int) -> AgentReply:
        flow_calls, self._flow_calls = self._flow_calls, []
        reply = super()._decision([*calls, *flow_calls], tokens)
        return reply.model_copy(update={"node": self.flow.node})

    # -- moves -----------------------------------------------------------------------

    async def _go_to_node(self, arguments: Mapping[str, Any]) -> ToolCall:
        target = arguments.get("node")
        if not isinstance(target, str):
            return ToolCall(
                name=GO_TO_NODE,
                arguments=dict(arguments),
                result={"error": "invalid_arguments", "detail": "node: a node id is required"},
                success=False,
            )
        step = await self.flow.go_to(target, simple=self._simple)
        self._flow_calls += step.tool_calls
        if self.flow.finished:
            # The model is not asked again once the call is over: the flow says goodbye.
            self._flow_said += step.said
        return ToolCall(
            name=GO_TO_NODE, arguments=dict(arguments), result=step.result(), success=step.moved
        )
