"""A flow whose moves an LLM chooses, while the graph keeps deciding what is allowed.

`GuidedFlow` is a `FlowBrain` driven by requests instead of understood intents: the
model asks to go to a node (`go_to`) and records what it heard (`fill`). A move is
taken only along a transition of the current node (or an interrupt, a global
transition, the node's `otherwise`) whose conditions hold, whose node's required slots
are known, and that the node's own first-match order would pick: when an earlier
transition of the same node holds for the same intents, that one wins, exactly as
with intents (so "sí" at the greeting cannot skip the RUT check when the contact has
a RUT). Taking it runs FlowBrain's own code: the transition's tools, `verify_identity`,
the node's outcome, `on_enter` tools and `end`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError

from centralita.understanding.model import Slots
from realtime.agents.flows.conditions import unmet_conditions
from realtime.agents.flows.engine import FlowBrain, _Out
from realtime.agents.flows.schema import AgentDefinition, Node, Transition
from realtime.agents.flows.templates import SLOT_NAMES, to_json_value
from realtime.agents.flows.tools import ToolContext
from realtime.providers.base import ToolCall


@dataclass
class Option:
    """A node the model may ask to go to, and the transitions that lead there."""

    target: str
    transitions: list[Transition] = field(default_factory=list)
    otherwise: bool = False  # the node's `otherwise`: no conditions

    def describe(self) -> str:
        """One line for the model: when this step applies and what it needs."""
        intents = sorted({i.value for t in self.transitions for i in t.intents})
        needs: list[str] = []
        for t in self.transitions:
            cond = t.when
            needs += [f"{s} known" for s in [*cond.has, *cond.heard]]
            needs += [f"{s} unknown" for s in cond.missing]
            if cond.id_matches:
                needs.append(f"national_id matching {cond.id_matches}")
            if cond.verified is not None:
                needs.append("identity verified" if cond.verified else "identity not verified")
        parts = [f"when: {', '.join(intents)}" if intents else "when: the answer fits"]
        if self.otherwise and not self.transitions:
            parts = ["when the conversation cannot go on here"]
        if needs:
            parts.append("needs " + ", ".join(dict.fromkeys(needs)))
        if any(t.verify_identity for t in self.transitions):
            parts.append("verifies identity")
        return f"{self.target}: {'; '.join(parts)}"


@dataclass
class Step:
    """What a move request did: moved or not (and why), what the flow said and ran."""

    moved: bool
    node: str
    said: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    def result(self) -> dict[str, Any]:
        """The tool result the model reads."""
        if self.moved:
            failed = [c.name for c in self.tool_calls if not c.success]
            out: dict[str, Any] = {"moved": True, "node": self.node}
            if failed:
                out["failed_tools"] = failed
            return out
        return {"moved": False, "node": self.node, "why": self.reasons}


class GuidedFlow(FlowBrain):
    """A `FlowBrain` moved by an LLM's requests (see the module docstring).

    Args:
        definition: the agent.
        variables: the contact's dynamic variables.
        clock: now, aware, in the called person's zone.

    Raises:
        VariableError: a required variable is missing or unreadable.
    """

    name = "flow-llm"

    def __init__(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any],
        *,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(definition, variables, clock=clock)
        self._ctx.variables = dict(variables)  # what the account tools read
        self._heard: dict[str, Any] = {}

    # -- what the prompt reads ---------------------------------------------------------

    @property
    def tool_context(self) -> ToolContext:
        """The call's tool context, shared with the LLM's own tool calls."""
        return self._ctx

    @property
    def current(self) -> Node:
        """The node the conversation is in (after `begin`)."""
        return self._current()

    @property
    def slots(self) -> dict[str, Any]:
        """The slots known so far."""
        return dict(self._slots)

    def today(self) -> datetime:
        """Now, in the called person's zone."""
        return self._clock()

    def description(self) -> str:
        """The agent's description, variables filled in (validated free of sensitive ones)."""
        return self._renderer.render(self.definition.description)

    def instructions(self, node: Node) -> str | None:
        """The node's instructions, variables and slots filled in."""
        if node.instructions is None:
            return None
        self._guard(node, node.instructions)
        return self._renderer.render(node.instructions, self._slots)

    def say_guidance(self, node: Node) -> list[str]:
        """The node's `say` variants as spoken (guidance when it has no instructions)."""
        for text in node.say:
            self._guard(node, text)
        return [self._renderer.render(text, self._slots) for text in node.say]

    def known_variables(self) -> dict[str, str]:
        """The contact's variables as spoken; the sensitive ones only once verified."""
        shown: dict[str, str] = {}
        for spec in self.definition.variables:
            if spec.sensitive and not self._verified:
                continue  # the identity rule: the model cannot say what it was not told
            if self._renderer.has_variable(spec.name):
                shown[spec.name] = self._renderer.render("{" + spec.name + "}")
        return shown

    def known_slots(self) -> dict[str, str]:
        """The slots heard so far: the value the tools take, and how it is said."""
        shown: dict[str, str] = {}
        for name in SLOT_NAMES:
            value = self._slots.get(name)
            if value is not None:
                spoken = self._renderer.render("{slots." + name + "}", self._slots)
                shown[name] = f"{to_json_value(value)} ({spoken})"
        return shown

    def options(self) -> list[Option]:
        """Where the model may ask to go from here, in the flow's order of precedence."""
        if self._node is None or self._finished:
            return []
        found: dict[str, Option] = {}
        for _, t in self._ordered():
            target = self._target(t.to)
            found.setdefault(target, Option(target)).transitions.append(t)
        node = self._current()
        if node.otherwise is not None:
            target = self._target(node.otherwise)
            found.setdefault(target, Option(target)).otherwise = True
        return list(found.values())

    def offered_slots(self) -> list[str]:
        """The slots the model may fill here: the node's own and those its ways out need."""
        if self._node is None:
            return []
        names = [s.name for s in self._current().slots]
        for option in self.options():
            for t in option.transitions:
                names += [*t.when.has, *t.when.heard]
                if t.when.id_matches:
                    names.append("national_id")
        return list(dict.fromkeys(names))

    # -- what the model asks for ----------------------------------------------------

    async def begin(self) -> Step:
        """Enter the start node: its outcome, `on_enter` tools and words (the greeting)."""
        out = _Out()
        await self._go(self.definition.start, out, simple=False)
        return Step(True, self._current().id, out.say, out.tool_calls)

    def new_turn(self) -> None:
        """The caller spoke: what is heard from now on is this turn's."""
        self._heard = {}

    def fill(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Record slots the model heard; the result tells it what was kept or refused."""
        offered = self.offered_slots()
        unknown = sorted(set(values) - set(offered))
        if unknown:
            return {"error": "unknown_slots", "detail": unknown, "allowed": offered}
        try:
            parsed = Slots.model_validate(dict(values))
        except ValidationError as exc:
            detail = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
            return {"error": "invalid_slots", "detail": detail}
        heard = {k: v for k, v in parsed.model_dump().items() if k in values and v is not None}
        at = heard.get("callback_at")
        if isinstance(at, datetime) and at.tzinfo is None:
            heard["callback_at"] = at.replace(tzinfo=self._clock().tzinfo)
        self._slots.update(heard)
        self._heard.update(heard)
        return {"slots": {k: to_json_value(v) for k, v in self._slots.items()}}

    async def go_to(self, target: str, *, simple: bool = False) -> Step:
        """Take the transition to `target` if the flow allows it; else say why not."""
        here = self._node or self.definition.start
        if self._finished:
            return Step(False, here, reasons=["the call is over"])
        option = next((o for o in self.options() if o.target == target), None)
        if option is None:
            allowed = ", ".join(o.target for o in self.options())
            return Step(False, here, reasons=[f"{target!r} is not a step from {here!r}: {allowed}"])
        reasons: list[str] = []
        for transition in option.transitions:
            why = self._refusal(transition)
            if why:
                reasons += why
                continue
            out = _Out()
            await self._take(transition, out, simple)
            return Step(True, self._current().id, out.say, out.tool_calls)
        if option.otherwise:
            out = _Out()
            await self._go(option.target, out, simple)
            return Step(True, self._current().id, out.say, out.tool_calls)
        return Step(False, here, reasons=list(dict.fromkeys(reasons)))

    # -- the rules -----------------------------------------------------------------

    def _ordered(self) -> list[tuple[str, Transition]]:
        """(group, transition) in the engine's order: interrupts, the node's, globals."""
        node = self._current()
        groups = [("interrupts", self.definition.interrupts), ("node", node.transitions)]
        if not node.end:
            groups.append(("global", self.definition.global_transitions))
        return [(group, t) for group, ts in groups for t in ts]

    def _unmet(self, transition: Transition) -> list[str]:
        return unmet_conditions(
            transition.when,
            slots=self._slots,
            heard=self._heard,
            renderer=self._renderer,
            verified=self._verified,
        )

    def _refusal(self, transition: Transition) -> list[str]:
        """Why this transition cannot be taken now (empty: it can)."""
        unmet = self._unmet(transition)
        if unmet:
            return unmet
        ordered = self._ordered()
        group, index = next((g, i) for i, (g, t) in enumerate(ordered) if t is transition)
        target = self._target(transition.to)
        covered: set[str] = set()
        for earlier_group, earlier in ordered[:index]:
            if earlier_group != group or self._target(earlier.to) == target:
                continue
            if self._unmet(earlier):
                continue
            # The author's first-match order within a node decides, as it does for
            # intents: an earlier transition that holds for these intents wins.
            covered |= {i.value for i in earlier.intents} if earlier.intents else {"*"}
            wanted = {i.value for i in transition.intents}
            if "*" in covered or (wanted and wanted <= covered):
                onward = self._target(earlier.to)
                return [f"with what is known now this step leads to {onward!r} instead"]
        node = self._current()
        if group == "node" and not transition.skip_slots:
            missing = [s.name for s in self._missing_slots(node)]
            if missing:
                return [f"ask for {', '.join(missing)} first and record it with fill_slots"]
        return []
