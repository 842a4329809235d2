"""Tool calls reassembled from streamed deltas.

A streaming chat completion sends a tool call in pieces: the first delta for an
`index` carries its id and function name, later ones carry fragments of the JSON
arguments (split anywhere, even inside a string or a number). Several calls can be
interleaved by index. `ToolCallDeltas` joins them; `finish` parses each call's
arguments, and a call whose arguments are not a JSON object is still returned (with
the error) so the model is told, instead of the turn failing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol


class FunctionDelta(Protocol):
    """The `function` part of an OpenAI tool-call delta."""

    name: str | None
    arguments: str | None


class ToolCallDelta(Protocol):
    """An OpenAI `ChoiceDeltaToolCall` as far as reassembly needs it."""

    index: int
    id: str | None

    @property
    def function(self) -> FunctionDelta | None: ...


@dataclass
class AssembledToolCall:
    """One whole tool call: its id, name, raw arguments and what they parse to."""

    id: str
    name: str
    arguments_json: str
    arguments: dict[str, Any] = field(default_factory=dict)
    error: str | None = None  # the arguments were not a JSON object


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class ToolCallDeltas:
    """Collects the tool-call deltas of one streamed response."""

    def __init__(self) -> None:
        self._calls: dict[int, _Partial] = {}

    def add(self, delta: ToolCallDelta) -> None:
        """One delta of one call (by `index`)."""
        partial = self._calls.setdefault(delta.index, _Partial())
        if delta.id:
            partial.id = delta.id
        function = delta.function
        if function is not None:
            if function.name:
                partial.name += function.name
            if function.arguments:
                partial.arguments.append(function.arguments)

    def __bool__(self) -> bool:
        return bool(self._calls)

    def finish(self) -> list[AssembledToolCall]:
        """The calls in index order, arguments parsed."""
        calls = [_assemble(index, p) for index, p in sorted(self._calls.items())]
        self._calls.clear()
        return calls


def _assemble(index: int, partial: _Partial) -> AssembledToolCall:
    raw = "".join(partial.arguments)
    call = AssembledToolCall(
        id=partial.id or f"call_{index}", name=partial.name, arguments_json=raw
    )
    try:
        parsed = json.loads(raw) if raw.strip() else {}
    except json.JSONDecodeError as exc:
        call.error = f"arguments are not valid JSON: {exc.msg} at {exc.pos}"
        return call
    if not isinstance(parsed, dict):
        call.error = "arguments must be a JSON object"
        return call
    call.arguments = parsed
    return call
