"""Tool calls rebuilt from deltas split anywhere, interleaved by index."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from realtime.agents.llm.tool_deltas import ToolCallDeltas

pytestmark = pytest.mark.unit


@dataclass
class Fn:
    name: str | None = None
    arguments: str | None = None


@dataclass
class Delta:
    index: int
    id: str | None = None
    function: Fn | None = None


def test_arguments_split_inside_strings_and_numbers_are_joined() -> None:
    arguments = json.dumps({"amount": 200000, "currency": "CLP", "pay_date": "2026-11-27"})
    deltas = ToolCallDeltas()
    deltas.add(Delta(0, "call_1", Fn("register_promise", "")))
    for cut in (arguments[:9], arguments[9:23], arguments[23:40], arguments[40:]):
        deltas.add(Delta(0, function=Fn(arguments=cut)))
    [call] = deltas.finish()
    assert call.id == "call_1"
    assert call.name == "register_promise"
    assert call.arguments == {"amount": 200000, "currency": "CLP", "pay_date": "2026-11-27"}
    assert call.error is None


def test_interleaved_calls_come_out_in_index_order() -> None:
    deltas = ToolCallDeltas()
    deltas.add(Delta(1, "b", Fn("opt_out", '{"rea')))
    deltas.add(Delta(0, "a", Fn("end_call", "{}")))
    deltas.add(Delta(1, function=Fn(arguments='son": "asked"}')))
    calls = deltas.finish()
    assert [(c.id, c.name) for c in calls] == [("a", "end_call"), ("b", "opt_out")]
    assert calls[1].arguments == {"reason": "asked"}
    assert not deltas  # finished: empty again


def test_broken_arguments_are_reported_not_raised() -> None:
    deltas = ToolCallDeltas()
    deltas.add(Delta(0, "x", Fn("register_promise", '{"amount": 2')))
    [call] = deltas.finish()
    assert call.error is not None
    assert "not valid JSON" in call.error
    deltas.add(Delta(0, "y", Fn("opt_out", "[1, 2]")))
    [listed] = deltas.finish()
    assert listed.error == "arguments must be a JSON object"


def test_no_arguments_mean_an_empty_object() -> None:
    deltas = ToolCallDeltas()
    deltas.add(Delta(0, "z", Fn("get_account_balance", None)))
    [call] = deltas.finish()
    assert call.arguments == {}
    assert call.error is None
