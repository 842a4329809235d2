"""A local OpenAI-compatible chat server that streams real-format chunks, and fails on cue.

`POST /v1/chat/completions` with `stream: true` answers `text/event-stream` with
`data: {chat.completion.chunk}` events and `data: [DONE]`, as OpenAI, vLLM and Ollama
do: the text in small deltas, tool calls split across chunks (the id and name first,
the JSON arguments cut anywhere), a usage chunk last. Each request takes the next
scripted `Scripted` reply; `fail` makes it answer 500 or 401, stall, or drop the
connection halfway. Requests are kept so a test can check what the model was sent
(tool results, system prompt).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from tests.support.fakes.loopback import LoopbackServer

Failure = Literal["500", "401", "slow", "drop"]


@dataclass
class ScriptedToolCall:
    """A tool call the fake model makes; `splits` cut its JSON arguments into deltas."""

    name: str
    arguments: dict[str, Any]
    splits: int = 4


@dataclass
class Scripted:
    """One response of the fake model."""

    text: str = ""
    tool_calls: list[ScriptedToolCall] = field(default_factory=list)
    fail: Failure | None = None
    delay_s: float = 0.0  # before the first chunk ("slow": the whole answer waits)
    chunk_chars: int = 6
    pause_s: float = 0.01  # between text chunks


class FakeOpenAI(LoopbackServer):
    """The server; `async with FakeOpenAI([...]) as fake:` then `fake.base_url`."""

    def __init__(self, script: list[Scripted] | None = None) -> None:
        self.script = list(script or [])
        self.requests: list[dict[str, Any]] = []
        self.completed = 0  # responses streamed to their end
        self.abandoned = 0  # responses the client hung up on (a barge-in)
        super().__init__()
        self.app.post("/v1/chat/completions")(self._completions)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    async def _completions(self, request: Request) -> Any:
        body = await request.json()
        self.requests.append(body)
        reply = self.script.pop(0) if self.script else Scripted(text="Bien.")
        if reply.fail == "500":
            return JSONResponse({"error": {"message": "boom", "type": "server_error"}}, 500)
        if reply.fail == "401":
            return JSONResponse({"error": {"message": "bad key", "type": "auth"}}, 401)
        if not body.get("stream"):
            return JSONResponse({"error": {"message": "this fake only streams"}}, 400)
        return StreamingResponse(self._events(reply, body), media_type="text/event-stream")

    async def _events(self, reply: Scripted, body: dict[str, Any]) -> AsyncIterator[bytes]:
        finished = False
        try:
            async for event in self._stream(reply, body):
                yield event
            finished = True
        finally:
            if finished:
                self.completed += 1
            elif reply.fail != "drop":
                self.abandoned += 1

    async def _stream(self, reply: Scripted, body: dict[str, Any]) -> AsyncIterator[bytes]:
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", "fake"),
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "finish_reason": finish}
            return f"data: {json.dumps({**base, 'choices': [choice]})}\n\n".encode()

        await asyncio.sleep(reply.delay_s if reply.fail != "slow" else 30.0)
        yield chunk({"role": "assistant", "content": ""})
        size = reply.chunk_chars
        pieces = [reply.text[i : i + size] for i in range(0, len(reply.text), size)]
        for n, piece in enumerate(pieces):
            if reply.fail == "drop" and n == len(pieces) // 2:
                raise ConnectionResetError("dropped mid-stream on purpose")
            yield chunk({"content": piece})
            await asyncio.sleep(reply.pause_s)
        for index, call in enumerate(reply.tool_calls):
            for delta in _tool_call_deltas(index, call):
                yield chunk({"tool_calls": [delta]})
                await asyncio.sleep(0.005)
        yield chunk({}, "tool_calls" if reply.tool_calls else "stop")
        usage = {"prompt_tokens": 50, "completion_tokens": 20, "total_tokens": 70}
        yield f"data: {json.dumps({**base, 'choices': [], 'usage': usage})}\n\n".encode()
        yield b"data: [DONE]\n\n"


def _tool_call_deltas(index: int, call: ScriptedToolCall) -> list[dict[str, Any]]:
    """The id and name first, then the arguments' JSON in `splits` arbitrary cuts."""
    arguments = json.dumps(call.arguments)
    step = max(1, len(arguments) // call.splits)
    cuts = [arguments[i : i + step] for i in range(0, len(arguments), step)]
    first = {
        "index": index,
        "id": f"call_{uuid.uuid4().hex[:8]}",
        "type": "function",
        "function": {"name": call.name, "arguments": ""},
    }
    return [first, *({"index": index, "function": {"arguments": c}} for c in cuts)]
