"""An LLM as the agent's brain: streamed sentences, tool calls, fillers and fallbacks.

Each turn sends the conversation to an OpenAI-compatible chat endpoint with
`stream=True`. Text deltas go through a `SentenceBuffer`, so text-to-speech starts at
the first complete sentence; tool-call deltas are joined (`ToolCallDeltas`), the tools
run on the call's `ToolContext`, their results go back to the model, and it answers
again (up to `max_tool_rounds`).

The line never goes dead: a filler is said when no token came within
`filler_after_s`; a server error, a dropped stream or a request past its deadline is
retried once (on the fallback endpoint when configured) after a filler; a 4xx (bad
key, bad request) is not retried. When nothing works the agent apologises and the
turn fails with a `ProviderError` (the session logs it and keeps listening).
A barge-in closes the stream: the HTTP request is cancelled with it.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import openai

from centralita.kernel.llm import LlmEndpoint
from centralita.kernel.tasks import stop_tasks
from centralita.memory.call_variables import memory_of
from realtime.agents.external_tools import Done, ExternalTools, Say, aloud
from realtime.agents.flows.tools import ToolContext, run_tool, tool_schemas
from realtime.agents.llm.prompt import fill, system_prompt
from realtime.agents.llm.tool_deltas import AssembledToolCall, ToolCallDeltas
from realtime.agents.model_config import LlmConfig
from realtime.providers.base import AgentBrain, AgentReply, BrainTurn, ProviderError, ToolCall
from realtime.providers.sentences import SentenceBuffer

FILLERS = {"es": "Un momento, por favor.", "en": "One moment, please."}
APOLOGIES = {
    "es": "Disculpe, tengo un problema técnico. Le llamaremos más tarde.",
    "en": "Sorry, I am having a technical problem. We will call you back later.",
}
MAX_FILLERS = 2  # per model response
FILLER_SPACING_S = 2.0  # "un momento" twice in a second sounds broken
SILENCE_TEXT = {"es": "(silencio)", "en": "(silence)"}

Message = dict[str, Any]
ClientFactory = Callable[[LlmEndpoint, float], openai.AsyncOpenAI]


def default_client(endpoint: LlmEndpoint, timeout_s: float) -> openai.AsyncOpenAI:
    """The `openai` client for one endpoint; the brain does its own retries."""
    return openai.AsyncOpenAI(
        base_url=str(endpoint.base_url),
        api_key=endpoint.api_key,
        timeout=timeout_s,
        max_retries=0,
    )


class _RetryableError(Exception):
    """This attempt failed in a way another attempt may not."""


class _FatalError(Exception):
    """This request cannot succeed as it is (4xx)."""


_END = object()  # the stream ended normally
_FILLER = object()  # the model kept the line silent for `filler_after_s`


@dataclass
class _Round:
    """What one model response produced besides its streamed sentences."""

    text: list[str] = field(default_factory=list)
    tool_calls: list[AssembledToolCall] = field(default_factory=list)
    tokens: int = 0


class LlmBrain(AgentBrain):
    """One call's LLM agent.

    Args:
        config: the model, its endpoints and deadlines.
        instructions: the agent's prompt, `{variables}` filled from `variables`.
        variables: the contact's dynamic variables.
        language: the call's language (fillers, apologies, rules).
        tools: names of the tools the model may call (all when None).
        tool_context: what the tools act on (promise, callback, opt-out...).
        greeting: the opening line (filled from `variables`); the model greets if None.
        client_factory: builds the `openai` client for an endpoint (tests pass theirs).
    """

    name = "llm"

    def __init__(
        self,
        config: LlmConfig,
        *,
        instructions: str,
        variables: Mapping[str, Any],
        language: str,
        tool_context: ToolContext,
        tools: Sequence[str] | None = None,
        greeting: str | None = None,
        client_factory: ClientFactory = default_client,
    ) -> None:
        # The brain keeps its own deadlines per attempt; the base's is a last resort.
        super().__init__(timeout_s=config.request_timeout_s * 3, retries=0)
        self.config = config
        self._instructions = instructions
        self._variables = dict(variables)
        self._memory = memory_of(variables)  # the contact's history, if the call has one
        self._language = language.split("-")[0]
        self._ctx = tool_context
        schemas = tool_schemas()
        names = list(schemas) if tools is None else [t for t in tools if t in schemas]
        if tool_context.knowledge is None:  # nothing to search: the model is not offered it
            names = [n for n in names if n != "search_knowledge"]
        self._tools = [_tool_spec(n, schemas[n]) for n in names]
        self._greeting = greeting
        self._client_factory = client_factory
        self._messages: list[Message] = []
        self._clients: dict[str, openai.AsyncOpenAI] = {}

    # -- AgentBrain --------------------------------------------------------------------

    def add_context(self, message: str) -> None:
        self._messages.append({"role": "system", "content": message})

    async def _start(self) -> AgentReply:
        return await _collect(self.start_stream())

    async def _respond(self, turn: BrainTurn) -> AgentReply:
        return await _collect(self.stream(turn))

    async def start_stream(self) -> AsyncGenerator[str | AgentReply, None]:
        if self._greeting is not None:
            line = fill(self._greeting, self._variables)
            self._messages.append({"role": "assistant", "content": line})
            yield line
            yield AgentReply()
            return
        async for part in self._answer(None):
            yield part

    async def stream(self, turn: BrainTurn) -> AsyncGenerator[str | AgentReply, None]:
        text = turn.understanding.text.strip()
        if turn.silence or not text:
            text = SILENCE_TEXT.get(self._language, SILENCE_TEXT["en"])
        self._messages.append({"role": "user", "content": text})
        async for part in self._answer(turn):
            yield part

    # -- one turn ----------------------------------------------------------------------

    async def _answer(self, turn: BrainTurn | None) -> AsyncGenerator[str | AgentReply, None]:
        for _ in range(self.config.max_tool_rounds):
            done = _Round()
            # Built per round: in a flow's LLM mode a tool call may have changed the step.
            async for sentence in self._attempts(self._system(turn), done):
                yield sentence
            self._messages.append(_assistant_message(done))
            if not done.tool_calls:
                yield self._decision([], done.tokens)
                return
            calls: list[ToolCall] = []
            aloud_lines: list[str] = []  # waiting and failure lines, said as they come
            for call in done.tool_calls:
                async for item in self._run_aloud(call):
                    if isinstance(item, ToolCall):
                        calls.append(item)
                    else:
                        aloud_lines.append(item)
                        yield item
            if aloud_lines:
                self._messages.append({"role": "assistant", "content": " ".join(aloud_lines)})
            said = self._said_by_tools()
            if said:
                self._messages.append({"role": "assistant", "content": " ".join(said)})
            for line in said:
                yield line
            yield self._decision(calls, done.tokens)
            if self._ctx.end or self._ctx.transfer:
                return  # the call is over: nothing the model would add is heard
        yield self._decision([], 0)

    def use_external_tools(self, tools: ExternalTools) -> None:
        """Offer the call's tenant tools (HTTP, MCP) beside the built-in ones."""
        self._ctx.external = tools
        self._tools = [*self._tools, *tools.specs()]

    async def _run_aloud(self, call: AssembledToolCall) -> AsyncGenerator[str | ToolCall, None]:
        """Run one tool call: a tenant tool's waiting line while it runs past ~300 ms,
        its failure line when it fails, then the call's record."""
        external = self._ctx.external
        tool = external.get(call.name) if external is not None else None
        if tool is None:
            yield await self._run(call)
            return

        async def run(say: Say) -> ToolCall:
            self._ctx.say_now = say
            try:
                return await self._run(call)
            finally:
                self._ctx.say_now = None

        async for item in aloud(run):
            if not isinstance(item, Done):
                yield item
                continue
            if not item.value.success:
                yield tool.failure_line
            yield item.value

    # -- hooks (a flow's LLM mode overrides them) -------------------------------------

    def _system(self, turn: BrainTurn | None) -> str:
        """The system prompt of this model round."""
        # The history is written again each round: it is masked until the person has
        # proved who they are (`lookup_customer`), then told in full.
        verified = self._ctx.identity_verified
        memory = (
            self._memory.as_context(self._language, identity_verified=verified)
            if self._memory
            else ""
        )
        return system_prompt(
            self._instructions,
            self._variables,
            self._language,
            turn.advice if turn else None,
            memory=memory,
        )

    def _tool_specs(self) -> list[dict[str, Any]]:
        """The tools offered in this model round."""
        return self._tools

    async def _execute(self, call: AssembledToolCall) -> ToolCall:
        """Run one well-formed tool call."""
        return await run_tool(call.name, call.arguments, self._ctx)

    def _said_by_tools(self) -> list[str]:
        """Lines the tools just decided must be said (none here)."""
        return []

    async def _attempts(self, system: str, done: _Round) -> AsyncGenerator[str, None]:
        """One model response, retried once; sentences as they complete.

        A filler is said at most once per failure, only while this response has said
        nothing; once part of an answer was said, a failure ends the answer there
        (repeating its start would be worse than stopping).
        """
        endpoints = [self.config.endpoint, self.config.fallback or self.config.endpoint]
        last: Exception | None = None
        filler = FILLERS.get(self._language, FILLERS["en"])
        fillers: list[float] = []  # when each filler was said

        def filler_due() -> bool:
            return len(fillers) < MAX_FILLERS and (
                not fillers or time.monotonic() - fillers[-1] >= FILLER_SPACING_S
            )

        for endpoint in endpoints:
            try:
                async for part in self._one_response(endpoint, system, done):
                    if part is _FILLER:
                        if filler_due():
                            fillers.append(time.monotonic())
                            yield filler
                        continue
                    yield str(part)
                return
            except _FatalError as exc:
                last = exc
                break
            except _RetryableError as exc:
                last = exc
                if done.text:
                    return
                if not fillers:
                    fillers.append(time.monotonic())
                    yield filler
        yield APOLOGIES.get(self._language, APOLOGIES["en"])
        raise ProviderError(f"LLM failed: {last}", transient=False)

    async def _one_response(
        self, endpoint: LlmEndpoint, system: str, done: _Round
    ) -> AsyncGenerator[object, None]:
        """Stream one chat completion: its sentences, and `_FILLER` while it is silent."""
        queue: asyncio.Queue[Any] = asyncio.Queue()
        pump = asyncio.create_task(self._pump(endpoint, system, queue))
        buffer = SentenceBuffer()
        deltas = ToolCallDeltas()
        last_heard = time.monotonic()
        try:
            while True:
                try:
                    item = await asyncio.wait_for(queue.get(), self.config.filler_after_s)
                except TimeoutError:
                    if time.monotonic() - last_heard > self.config.request_timeout_s:
                        raise _RetryableError(
                            f"no answer within {self.config.request_timeout_s:.1f}s"
                        ) from None
                    if not done.text:
                        yield _FILLER
                    continue
                last_heard = time.monotonic()
                if item is _END:
                    break
                if isinstance(item, Exception):
                    raise _classify(item) from item
                for sentence in self._take(item, buffer, deltas, done):
                    yield sentence
            rest = buffer.flush()
            if rest:
                done.text.append(rest)
                yield rest
            done.tool_calls = deltas.finish()
        finally:
            await stop_tasks((pump,), what="the LLM stream")

    async def _pump(self, endpoint: LlmEndpoint, system: str, queue: asyncio.Queue[Any]) -> None:
        """Read the HTTP stream into `queue`: chunks, then `_END` or the exception."""
        try:
            client = self._client(endpoint)
            request: dict[str, Any] = {
                "model": endpoint.model,
                "messages": [{"role": "system", "content": system}, *self._messages],
                "temperature": self.config.temperature,
                "max_tokens": self.config.max_tokens,
                "stream": True,
                "stream_options": {"include_usage": True},
            }
            tools = self._tool_specs()
            if tools:
                request["tools"] = tools
            stream = await client.chat.completions.create(**request)
            async for chunk in stream:
                queue.put_nowait(chunk)
            queue.put_nowait(_END)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # every failure reaches the turn, classified there
            queue.put_nowait(exc)

    def _take(
        self, chunk: Any, buffer: SentenceBuffer, deltas: ToolCallDeltas, done: _Round
    ) -> list[str]:
        """The sentences one chunk completes; its tool-call deltas and usage kept."""
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            done.tokens += int(getattr(usage, "total_tokens", 0) or 0)
        sentences: list[str] = []
        for choice in chunk.choices or ():
            delta = choice.delta
            if delta is None:
                continue
            for call in delta.tool_calls or ():
                deltas.add(call)
            if delta.content:
                for sentence in buffer.feed(delta.content):
                    done.text.append(sentence)
                    sentences.append(sentence)
        return sentences

    def _client(self, endpoint: LlmEndpoint) -> openai.AsyncOpenAI:
        key = f"{endpoint.base_url}|{endpoint.model}"
        if key not in self._clients:
            self._clients[key] = self._client_factory(endpoint, self.config.request_timeout_s)
        return self._clients[key]

    # -- tools -------------------------------------------------------------------------

    async def _run(self, call: AssembledToolCall) -> ToolCall:
        if call.error is not None:
            record = ToolCall(
                name=call.name,
                arguments={"raw": call.arguments_json},
                result={"error": "invalid_json", "detail": call.error},
                success=False,
            )
        else:
            record = await self._execute(call)
        self._messages.append(
            {
                "role": "tool",
                "tool_call_id": call.id,
                "content": json.dumps(record.result, ensure_ascii=False, default=str),
            }
        )
        return record

    def _decision(self, calls: list[ToolCall], tokens: int) -> AgentReply:
        """What the tools decided so far, for the session to apply."""
        return AgentReply(
            tool_calls=calls,
            outcome=self._ctx.outcome,
            extracted=dict(self._ctx.extracted),
            end_call=self._ctx.end,
            transfer=self._ctx.transfer,
            dtmf=self._ctx.take_dtmf(),
            llm_tokens=tokens,
        )


def _tool_spec(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    description = schema.get("description") or name.replace("_", " ")
    parameters = {k: v for k, v in schema.items() if k not in {"title", "description"}}
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def _assistant_message(done: _Round) -> Message:
    message: Message = {"role": "assistant", "content": " ".join(done.text) or None}
    if done.tool_calls:
        message["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": call.arguments_json or "{}"},
            }
            for call in done.tool_calls
        ]
    return message


def _classify(exc: BaseException) -> Exception:
    """Which failures another attempt can fix: server errors, timeouts, lost streams."""
    if isinstance(exc, openai.APIStatusError):
        if exc.status_code >= 500 or exc.status_code in (408, 409, 429):
            return _RetryableError(f"HTTP {exc.status_code}")
        return _FatalError(f"HTTP {exc.status_code}: {exc.message}")
    # Connection errors, timeouts, a stream cut halfway: another attempt may work.
    return _RetryableError(f"{type(exc).__name__}: {exc}")


async def _collect(parts: AsyncGenerator[str | AgentReply, None]) -> AgentReply:
    """A streamed reply as one `AgentReply` (for callers that do not stream)."""
    said: list[str] = []
    reply = AgentReply()
    async for part in parts:
        if isinstance(part, str):
            said.append(part)
            continue
        reply = AgentReply(
            say=[],
            tool_calls=[*reply.tool_calls, *part.tool_calls],
            end_call=reply.end_call or part.end_call,
            transfer=reply.transfer or part.transfer,
            dtmf=reply.dtmf + part.dtmf,
            outcome=part.outcome or reply.outcome,
            extracted={**reply.extracted, **part.extracted},
            llm_tokens=reply.llm_tokens + part.llm_tokens,
        )
    return reply.model_copy(update={"say": said})
