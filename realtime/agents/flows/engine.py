"""`FlowBrain`: the embedded agent brain that walks a conversation-flow definition.

One instance per call; it holds the call's state (current node, slots heard, counters).
Per turn, in order of precedence:

1. silence: "¿Sigue ahí?" and a re-prompt; after `max_silences` the `special.silence` node;
2. voicemail (in any intent of the turn): the `special.voicemail` node;
3. `interrupts` (opt-out, a human), then steering TRANSFER_NOW;
4. the answer to a pending clarification ("¿Me confirma 200.000 pesos el viernes 15?");
5. steering OFFER_TRANSFER, once per call;
6. the node's transitions, then `global_transitions`;
7. otherwise a clarifying re-prompt (at most `max_unexpected`), then `otherwise`.

Amounts and dates heard with low confidence are confirmed before any transition uses
them (at most `max_clarifications` per call; after that the value heard is taken, and
the flow's own confirmation node still reads it back).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from centralita.understanding.dates import on_day
from centralita.understanding.model import Intent, Steering, Understanding
from centralita.understanding.nlu import answer_expected
from centralita.understanding.questions import asks_to_look_up
from centralita.understanding.text import base_language
from realtime.agents.external_tools import TENANT_PREFIX, Done, ExternalTools, Say, aloud
from realtime.agents.flows.conditions import unmet_conditions
from realtime.agents.flows.foresight import likely_lines
from realtime.agents.flows.phrases import DEFAULT_PHRASES, DEFAULT_SLOT_ASKS
from realtime.agents.flows.schema import BACK, AgentDefinition, Node, SlotSpec, ToolSpec, Transition
from realtime.agents.flows.templates import Renderer, referenced_names
from realtime.agents.flows.tools import KnowledgeLookup, PaymentLinkAction, ToolContext, run_tool
from realtime.providers.base import AgentBrain, AgentReply, BrainTurn, ToolCall, reply_parts
from realtime.providers.sentences import split_sentences

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]

CRITICAL_SLOTS = ("amount", "pay_date", "callback_at")
# Turns that are questions in form but ask the flow to act, not to look something up
# ("¿Me puede comunicar con una persona?", "¿Pueden dejar de llamarme?").
_NOT_QUESTIONS = frozenset(
    {Intent.HUMAN_REQUEST, Intent.OPT_OUT, Intent.REPEAT_REQUEST, Intent.CALLBACK_REQUEST}
    | {Intent.WRONG_PERSON, Intent.GOODBYE, Intent.VOICEMAIL}
)


class FlowError(RuntimeError):
    """The flow reached a state validation should have made impossible (a defect)."""


def _with_callback_day(heard: dict[str, Any], known: Mapping[str, Any]) -> dict[str, Any]:
    """A callback's day and hour, said in two turns ("el lunes" ... "a las cuatro"), joined.

    An hour heard without a day lands on the day named before; a new day without an
    hour moves the hour already agreed to that day.
    """
    day, at = known.get("callback_day"), heard.get("callback_at")
    if at is not None and "callback_day" not in heard and day is not None:
        return {**heard, "callback_at": on_day(at, day), "callback_day": day}
    known_at = known.get("callback_at")
    if at is None and "callback_day" in heard and known_at is not None:
        return {**heard, "callback_at": on_day(known_at, heard["callback_day"])}
    return heard


@dataclass
class _Out:
    """The reply being built during one turn."""

    say: list[str] = field(default_factory=list)
    tool_calls: list[ToolCall] = field(default_factory=list)
    fallback: bool = False  # the turn was not understood


class FlowBrain(AgentBrain):
    """An `AgentBrain` that follows a validated `AgentDefinition`.

    Args:
        definition: the agent (validated when it was built).
        variables: the contact's dynamic variables (`nombre`, `monto_total`, ...).
        clock: now, aware, in the called person's zone (dates are spoken relative to it).
        timeout_s: the base class's deadline per turn.

    Raises:
        VariableError: a required variable is missing or unreadable.
    """

    name = "flow"

    def __init__(
        self,
        definition: AgentDefinition,
        variables: Mapping[str, Any] | None = None,
        *,
        clock: Clock | None = None,
        timeout_s: float = 5.0,
        knowledge: KnowledgeLookup | None = None,
        external: ExternalTools | None = None,
        payment_links: PaymentLinkAction | None = None,
    ) -> None:
        # No retries: a turn mutates the call's state, so running it twice would
        # answer twice. A flow turn is pure CPU and fast; it does not fail transiently,
        # but a tenant tool may take its whole timeout (twice, in a transition and the
        # next node's on_enter).
        if external is not None:
            timeout_s += 2 * external.longest_timeout_s()
        super().__init__(timeout_s=timeout_s, retries=0)
        self.definition = definition
        self._clock: Clock = clock or (lambda: datetime.now(UTC))
        self._lang = base_language(definition.language, default="en")
        self._nodes = {node.id: node for node in definition.nodes}
        self._renderer = Renderer(definition, variables or {}, today=lambda: self._clock().date())
        self._sensitive = {v.name for v in definition.variables if v.sensitive}
        self._ctx = ToolContext(
            now=self._clock(),
            knowledge=knowledge,
            external=external,
            payment_links=payment_links,
        )
        self._node: str | None = None
        self._back: str | None = None
        self._verified = False
        self._finished = False
        self._slots: dict[str, Any] = {}
        self._visits: Counter[str] = Counter()
        self._phrase_uses: Counter[str] = Counter()
        self._unexpected = 0
        self._silences = 0
        self._clarifications = 0
        self._pending: Understanding | None = None
        self._pending_question = ""
        self._offered_transfer = False

    # -- what the call session may read --------------------------------------------

    @property
    def node(self) -> str | None:
        """The node the conversation is in."""
        return self._node

    @property
    def identity_verified(self) -> bool:
        """Whether the person proved who they are (debt details may be spoken)."""
        return self._verified

    @property
    def finished(self) -> bool:
        """Whether the flow ended the call or handed it to a human."""
        return self._finished

    @property
    def clarifications(self) -> int:
        """Low-confidence values confirmed so far in this call."""
        return self._clarifications

    def likely_lines(self, limit: int = 4) -> list[str]:
        """The first sentence of each node the next turn may lead to (see foresight)."""
        if self._finished:
            return []
        return likely_lines(
            self.definition,
            self._node,
            self._visits,
            lambda template: self._renderer.render(template, self._slots),
            limit=limit,
        )

    def expecting(self) -> list[str]:
        """What the node's last line asked for (its slots, the values it reads back)."""
        if self._finished or self._node is None:
            return []
        return self._expected_slots()

    # -- the base class's hooks ----------------------------------------------------

    async def start_stream(self) -> AsyncGenerator[str | AgentReply, None]:
        async for part in self._aloud(self.start):
            yield part

    async def stream(self, turn: BrainTurn) -> AsyncGenerator[str | AgentReply, None]:
        async for part in self._aloud(lambda: self.respond(turn)):
            yield part

    async def _aloud(
        self, decide: Callable[[], Awaitable[AgentReply]]
    ) -> AsyncGenerator[str | AgentReply, None]:
        """The reply as a stream, with a tenant tool's waiting line said while it runs
        (a turn without tenant tools streams as any decided reply)."""
        if self._ctx.external is None:
            async for part in reply_parts(await decide()):
                yield part
            return

        async def run(say: Say) -> AgentReply:
            self._ctx.say_now = say
            try:
                return await decide()
            finally:
                self._ctx.say_now = None

        async for item in aloud(run):
            if isinstance(item, Done):
                async for part in reply_parts(item.value):
                    yield part
            else:
                yield item

    async def _start(self) -> AgentReply:
        out = _Out()
        if self._node is None:
            await self._go(self.definition.start, out, simple=False)
        return self._reply(out)

    async def _respond(self, turn: BrainTurn) -> AgentReply:
        out = _Out()
        if self._finished:
            return self._reply(out)
        if self._node is None:  # the caller spoke before the greeting was asked for
            await self._go(self.definition.start, out, simple=False)
        simple = turn.advice.steering is Steering.SIMPLIFY
        if turn.silence:
            await self._on_silence(out, simple)
            return self._reply(out)
        self._silences = 0
        understanding = self._as_keys(turn) if turn.keys else self._as_answer(turn.understanding)
        intents = [understanding.intent, *understanding.also]
        special = self.definition.special

        if Intent.VOICEMAIL in intents and special.voicemail:
            await self._go(special.voicemail, out, simple)
            return self._reply(out)
        interrupt = self._first_match(self.definition.interrupts, understanding, self._slots)
        if interrupt is not None:
            await self._take(interrupt, out, simple)
            return self._reply(out)
        if turn.advice.steering is Steering.TRANSFER_NOW and special.transfer:
            await self._go(special.transfer, out, simple)
            return self._reply(out)
        if self._pending is not None:
            pending, self._pending = self._pending, None
            if await self._settle_clarification(pending, understanding, out, simple):
                return self._reply(out)
        if (
            turn.advice.steering is Steering.OFFER_TRANSFER
            and special.offer_transfer
            and not self._offered_transfer
        ):
            self._offered_transfer = True
            await self._go(special.offer_transfer, out, simple)
            return self._reply(out)
        if self._looks_up(understanding):
            await self._answer_question(understanding.text, out, simple)
            return self._reply(out)
        await self._advance(understanding, out, simple, confirmed=False)
        return self._reply(out)

    # -- turn handling -------------------------------------------------------------

    def _expected_slots(self) -> list[str]:
        """What the agent's last words asked for: a clarification's values; else the
        node's slots and, in a confirming node, the slots it reads back."""
        if self._pending is not None:
            names = [s for s in CRITICAL_SLOTS if getattr(self._pending.slots, s) is not None]
        else:
            node = self._current()
            names = [slot.name for slot in node.slots]
            if node.confirms:
                names += [
                    name.removeprefix("slots.")
                    for text in node.say
                    for name in sorted(referenced_names(text))
                    if name.startswith("slots.")
                ]
        return [name for name in dict.fromkeys(names) if name in CRITICAL_SLOTS]

    def _as_answer(self, understanding: Understanding) -> Understanding:
        """The turn read as the answer to what was just asked: "el viernes" after
        "¿Qué día podría pagar?" is the pay date (the call session understands a turn
        before the flow says which question it answers)."""
        expecting = self._expected_slots()
        if not expecting:
            return understanding
        return answer_expected(
            understanding, expecting, now=self._clock(), default_currency=self._renderer.currency
        )

    def _as_keys(self, turn: BrainTurn) -> Understanding:
        """A keypad entry read as the answer the node takes: its `keys` ("marque 1 para
        confirmar"), else digits where an ID is asked for (`*` for a RUT's K); anything
        else is not understood, as a word out of place would be."""
        pressed = turn.understanding
        intent = self._current().keys.get(turn.keys)
        if intent is not None:
            return pressed.model_copy(update={"intent": intent, "confidence": 1.0})
        asked = {slot.name for slot in self._current().slots}
        if "national_id" in asked and turn.keys.rstrip("*").isdigit():
            national_id = turn.keys.replace("*", "K")
            slots = pressed.slots.model_copy(update={"national_id": national_id})
            return pressed.model_copy(update={"slots": slots})
        return pressed

    def _reply(self, out: _Out) -> AgentReply:
        return AgentReply(
            say=out.say,
            tool_calls=out.tool_calls,
            end_call=self._ctx.end,
            transfer=self._ctx.transfer,
            dtmf=self._ctx.take_dtmf(),
            outcome=self._ctx.outcome,
            extracted=dict(self._ctx.extracted),
            node=self._node,
            fallback=out.fallback,
        )

    def _current(self) -> Node:
        assert self._node is not None
        return self._nodes[self._node]

    async def _on_silence(self, out: _Out, simple: bool) -> None:
        self._silences += 1
        if self._silences > self.definition.max_silences:
            if self.definition.special.silence:
                await self._go(self.definition.special.silence, out, simple)
            else:
                self._finish_politely(out)
            return
        out.say.append(self._phrase("still_there"))
        if self._pending is not None:
            out.say.append(self._pending_question)
        else:
            self._say_node(self._current(), out, simple)

    async def _advance(
        self, understanding: Understanding, out: _Out, simple: bool, *, confirmed: bool
    ) -> None:
        node = self._current()
        heard = {k: v for k, v in understanding.slots.model_dump().items() if v is not None}
        heard = _with_callback_day(heard, self._slots)
        merged = {**self._slots, **heard}
        for transition in node.transitions:
            if not self._matches(transition, understanding, merged):
                continue
            if not confirmed and self._should_clarify(understanding, heard):
                self._clarify(understanding, heard, out)
                return
            self._slots = merged
            missing = [] if transition.skip_slots else self._missing_slots(node)
            if missing:
                await self._ask_slot(node, missing[0], out, simple)
            else:
                await self._take(transition, out, simple, confirmed=confirmed)
            return
        fallback = self._first_match(self.definition.global_transitions, understanding, merged)
        if fallback is not None:
            if not confirmed and self._should_clarify(understanding, heard):
                self._clarify(understanding, heard, out)
                return
            self._slots = merged
            await self._take(fallback, out, simple, confirmed=confirmed)
            return
        await self._unexpected_turn(understanding, out, simple)

    def _missing_slots(self, node: Node) -> list[SlotSpec]:
        return [s for s in node.slots if s.required and self._slots.get(s.name) is None]

    async def _ask_slot(self, node: Node, slot: SlotSpec, out: _Out, simple: bool) -> None:
        # Asking again and again for a value the person does not give is a loop like
        # any other unexpected turn: it counts, and past the limit the flow moves on.
        self._unexpected += 1
        if self._unexpected > self.definition.max_unexpected + 1:
            await self._move_on(node, out, simple)
            return
        key = f"ask:{node.id}:{slot.name}"
        if slot.ask:
            text = slot.ask[self._visits[key] % len(slot.ask)]
            self._visits[key] += 1
            self._guard(node, text)
            out.say.extend(split_sentences(self._renderer.render(text, self._slots)))
        else:
            out.say.append(DEFAULT_SLOT_ASKS[self._lang][slot.name])

    async def _unexpected_turn(self, understanding: Understanding, out: _Out, simple: bool) -> None:
        node = self._current()
        if understanding.intent in (Intent.REPEAT_REQUEST, Intent.GREETING):
            # "¿Cómo?" or "¿Aló?": say it again, in plainer words when there are some.
            self._say_node(node, out, simple or understanding.intent is Intent.REPEAT_REQUEST)
            return
        self._unexpected += 1
        out.fallback = True
        if self._unexpected <= self.definition.max_unexpected:
            out.say.append(self._phrase("not_understood"))
            self._say_node(node, out, simple)
            return
        await self._move_on(node, out, simple)

    async def _move_on(self, node: Node, out: _Out, simple: bool) -> None:
        target = node.otherwise or self.definition.special.fallback
        if target is not None:
            await self._go(target, out, simple)
        else:
            self._finish_politely(out)

    # -- off-script questions, answered from the knowledge base ----------------------

    def _looks_up(self, understanding: Understanding) -> bool:
        """Whether this turn is a question to look up: the flow has a knowledge node and
        a knowledge base, the turn asks something and gives none of the values the flow
        collects, and the call is past identity (a node `before_identity` may be
        talking to a third party, who must not hear the company's collection terms)."""
        return (
            self.definition.special.question is not None
            and self._ctx.knowledge is not None
            and not self._current().before_identity
            and understanding.intent not in _NOT_QUESTIONS
            and not any(getattr(understanding.slots, s) is not None for s in CRITICAL_SLOTS)
            and asks_to_look_up(understanding.text, self._lang)
        )

    async def _answer_question(self, question: str, out: _Out, simple: bool) -> None:
        """Say the knowledge base's answer (its sources go with the turn, in the tool
        call), or the knowledge node's lines when nothing answers it; then the node the
        question came in, again: the flow goes on where it was."""
        assert self.definition.special.question is not None
        call = await run_tool("search_knowledge", {"question": question}, self._ctx)
        out.tool_calls.append(call)
        if call.success and call.result.get("found"):
            out.say.extend(split_sentences(str(call.result["answer"])))
        else:
            self._say_node(self._nodes[self.definition.special.question], out, simple)
        self._say_node(self._current(), out, simple)

    # -- clarification of low-confidence amounts and dates ---------------------------

    def _should_clarify(self, understanding: Understanding, heard: Mapping[str, Any]) -> bool:
        return (
            any(heard.get(slot) is not None for slot in CRITICAL_SLOTS)
            and understanding.confidence < self.definition.clarify_below
            and self._clarifications < self.definition.max_clarifications
        )

    def _clarify(self, understanding: Understanding, heard: Mapping[str, Any], out: _Out) -> None:
        self._clarifications += 1
        self._pending = understanding
        spoken = self._renderer.heard(heard)
        self._pending_question = self._phrase("clarify").replace("{heard}", spoken)
        out.say.append(self._pending_question)

    async def _settle_clarification(
        self, pending: Understanding, answer: Understanding, out: _Out, simple: bool
    ) -> bool:
        """Act on the answer to "¿Me confirma ...?"; False when it is a new turn instead."""
        intents = [answer.intent, *answer.also]
        restated = any(getattr(answer.slots, slot) is not None for slot in CRITICAL_SLOTS)
        if restated:
            if answer.intent not in (Intent.AFFIRM, Intent.DENY, Intent.UNKNOWN, pending.intent):
                return False  # something else altogether: a turn of its own
            # A correction ("no, doscientos mil"): what it says replaces what was
            # misheard, the rest of the first turn stands, and its confidence decides
            # whether to ask once more.
            heard = {k: v for k, v in answer.slots.model_dump().items() if v is not None}
            corrected = pending.model_copy(
                update={
                    "slots": pending.slots.model_copy(update=heard),
                    "confidence": answer.confidence,
                    "text": answer.text,
                }
            )
            await self._advance(corrected, out, simple, confirmed=False)
            return True
        if Intent.AFFIRM in intents:
            await self._advance(pending, out, simple, confirmed=True)
            return True
        if Intent.DENY in intents:
            out.say.append(self._phrase("clarify_again"))
            return True
        return False

    # -- transitions and nodes -----------------------------------------------------

    def _first_match(
        self,
        transitions: list[Transition],
        understanding: Understanding,
        slots: Mapping[str, Any],
    ) -> Transition | None:
        for transition in transitions:
            if self._matches(transition, understanding, slots):
                return transition
        return None

    def _matches(
        self, transition: Transition, understanding: Understanding, slots: Mapping[str, Any]
    ) -> bool:
        wanted = transition.intents
        if wanted and not ({understanding.intent, *understanding.also} & set(wanted)):
            return False
        return not unmet_conditions(
            transition.when,
            slots=slots,
            heard=understanding.slots.model_dump(),
            renderer=self._renderer,
            verified=self._verified,
        )

    async def _take(
        self, transition: Transition, out: _Out, simple: bool, *, confirmed: bool = False
    ) -> None:
        for slot in transition.clear:
            self._slots.pop(slot, None)
        failed = False
        for spec in transition.tools:
            call = await self._run_tool(spec)
            out.tool_calls.append(call)
            failed = failed or not call.success
        if failed:
            out.say.append(self._failure_line(out.tool_calls))
            if transition.on_failure:
                for critical in CRITICAL_SLOTS:
                    self._slots.pop(critical, None)
                await self._go(self._target(transition.on_failure), out, simple)
            else:
                self._say_node(self._current(), out, simple)
            return
        if transition.verify_identity:
            self._verified = True
        if self._ctx.end or self._ctx.transfer:
            self._finished = True
            return
        target = self._target(transition.to)
        node = self._nodes[target]
        if confirmed and node.confirms:
            # The person just confirmed these values; reading them back again would
            # be the same question twice, so take the node's "yes" at once.
            yes = Understanding(text="", language=self._lang, intent=Intent.AFFIRM, confidence=1)
            onward = self._first_match(node.transitions, yes, self._slots)
            if onward is not None:
                self._enter(target)
                await self._take(onward, out, simple)
                return
        await self._go(target, out, simple)

    def _target(self, target: str) -> str:
        if target == BACK:
            return self._back or self.definition.start
        return target

    def _enter(self, target: str) -> Node:
        if target != self._node:
            self._back = self._node
        self._node = target
        self._unexpected = 0
        return self._nodes[target]

    async def _go(self, target: str, out: _Out, simple: bool) -> None:
        node = self._enter(target)
        if node.outcome is not None:
            self._ctx.outcome = node.outcome
        elif node.outcome_if_undecided is not None and self._ctx.outcome is None:
            self._ctx.outcome = node.outcome_if_undecided
        for spec in node.on_enter:
            call = await self._run_tool(spec)
            out.tool_calls.append(call)
            if not call.success and spec.name.startswith(TENANT_PREFIX):
                out.say.append(self._failure_line([call]))  # said; the node goes on
        self._say_node(node, out, simple)
        if node.end:
            self._ctx.end = True
        if self._ctx.end or self._ctx.transfer:
            self._finished = True

    def _say_node(self, node: Node, out: _Out, simple: bool) -> None:
        variants = node.simple if simple and node.simple else node.say
        key = f"{'simple' if variants is node.simple else 'say'}:{node.id}"
        text = variants[self._visits[key] % len(variants)]
        self._visits[key] += 1
        self._guard(node, text)
        out.say.extend(split_sentences(self._renderer.render(text, self._slots)))

    def _guard(self, node: Node, text: str) -> None:
        if not self._verified and referenced_names(text) & self._sensitive:
            # Validation refuses such flows; this is the last line of defence.
            raise FlowError(f"node {node.id!r} would disclose sensitive data before identity")

    async def _run_tool(self, spec: ToolSpec) -> ToolCall:
        self._ctx.now = self._clock()
        arguments = {
            key: self._renderer.value(value, self._slots) for key, value in spec.arguments.items()
        }
        arguments = {key: value for key, value in arguments.items() if value is not None}
        call = await self._call(spec.name, arguments)
        if not call.success:
            log.warning("flow %s: tool %s failed: %s", self.definition.name, spec.name, call.result)
        return call

    async def _call(self, name: str, arguments: dict[str, Any]) -> ToolCall:
        """A built-in tool, or the tenant's (`tenant:<name>`), which the call may lack."""
        if not name.startswith(TENANT_PREFIX):
            return await run_tool(name, arguments, self._ctx)
        own = name.removeprefix(TENANT_PREFIX)
        if self._ctx.external is None or own not in self._ctx.external:
            result = {"error": "unknown_tool", "detail": f"the tenant has no tool {own!r}"}
            return ToolCall(name=own, arguments={}, result=result, success=False)
        return await self._ctx.external.call(own, arguments, on_waiting=self._ctx.say_now)

    def _failure_line(self, calls: list[ToolCall]) -> str:
        """What to say when a tool failed: the tenant tool's own line, else the flow's."""
        external = self._ctx.external
        for call in calls:
            tool = external.get(call.name) if external is not None else None
            if tool is not None and not call.success:
                return tool.failure_line
        return self._phrase("tool_failed")

    def _phrase(self, kind: str) -> str:
        custom: list[str] = getattr(self.definition.phrases, kind)
        options = custom or DEFAULT_PHRASES[self._lang][kind]
        text = options[self._phrase_uses[kind] % len(options)]
        self._phrase_uses[kind] += 1
        return text

    def _finish_politely(self, out: _Out) -> None:
        out.say.append(self._phrase("goodbye"))
        self._ctx.end = True
        self._finished = True
