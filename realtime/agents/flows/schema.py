"""What an agent definition is: variables, nodes, transitions, tools (data, YAML or JSON).

A flow is a graph of nodes. Entering a node speaks one of its `say` variants (a
different one on each visit, so a re-prompt is not word for word the same) and runs
its `on_enter` tools; the caller's next turn takes the first transition whose intent
and conditions match. `interrupts` are checked before a node's own transitions (an
opt-out wins over anything else said in the same breath), `global_transitions` after.

Identity is a property of the graph, checked here and not left to the author's care:
the nodes the conversation can be in before a transition marked `verify_identity` must
be marked `before_identity`, and nothing a node so marked can say may tell a third
party that the call is about a debt: no `sensitive` variable (the amount, the due
date), no collection word ("cobranza", "su deuda", "a payment"; see
`realtime/agents/flows/disclosure.py`), in any of its lines, slot questions, fallbacks or LLM
instructions, nor in the engine's phrases, which are said anywhere. Validation reports
every problem at once, each with its path (`nodes[saludo].transitions[1].to`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from centralita.handoff.policy import HandoffPolicy
from centralita.kernel.calls import CallOutcome
from centralita.understanding.model import Intent
from centralita.understanding.text import base_language
from realtime.agents.flows.disclosure import WHY, collection_words
from realtime.agents.flows.llm_mode import FlowLlmSpec
from realtime.agents.flows.phrases import DEFAULT_SLOT_ASKS
from realtime.agents.flows.templates import (
    BUILTINS,
    SLOT_NAMES,
    TemplateError,
    fallback_text,
    placeholders,
    referenced_names,
)
from realtime.agents.flows.tools import TOOLS, ToolName
from realtime.agents.voices import VoiceSpec
from realtime.audio.turn_settings import TurnSettings

SlotName = Literal["amount", "currency", "pay_date", "callback_at", "national_id"]
VariableKind = Literal["text", "money", "number", "date", "datetime"]
BACK = "$back"  # a transition target: the node the conversation came from


class FlowDefinitionError(ValueError):
    """An agent definition is invalid; `problems` lists each one with its path."""

    def __init__(self, agent: str, problems: list[str]) -> None:
        self.agent = agent
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"agent {agent!r} is invalid ({len(problems)} problems):\n{lines}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VariableSpec(_Model):
    """A dynamic variable the agent expects from the contact."""

    name: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    kind: VariableKind = "text"
    required: bool = False
    sensitive: bool = Field(
        default=False, description="Never spoken before identity is verified (debt details)"
    )
    fallback: str | None = Field(default=None, description="Spoken when the contact lacks it")
    aliases: list[str] = Field(
        default_factory=list, description="Other keys the contact may carry it under"
    )
    description: str = ""


class Condition(_Model):
    """Extra conditions on a transition; all must hold."""

    has: list[SlotName] = Field(default_factory=list, description="Slots heard so far")
    missing: list[SlotName] = Field(default_factory=list, description="Slots not heard yet")
    heard: list[SlotName] = Field(default_factory=list, description="Slots heard in this turn")
    variable: list[str] = Field(default_factory=list, description="Contact variables present")
    no_variable: list[str] = Field(default_factory=list, description="Variables absent")
    verified: bool | None = Field(default=None, description="Identity verified (or not) yet")
    id_matches: str | None = Field(
        default=None, description="The heard national_id ends this variable's digits"
    )


# A tenant's own tool (HTTP or MCP, `centralita/actions`), bound when the call starts.
# Storing the agent checks the name against the tenant's tools (`tenant_refs.py`); one
# deleted since fails at run time (the flow's tool_failed path).
TenantToolRef = Annotated[str, Field(pattern=r"^tenant:[a-z][a-z0-9_]{1,63}$")]


class ToolSpec(_Model):
    """A tool call; string arguments are templates (`{slots.amount|monto_total}`).

    `name` is a built-in tool, or `tenant:<name>`: one of the tenant's own tools.
    """

    name: ToolName | TenantToolRef
    arguments: dict[str, Any] = Field(default_factory=dict)


class Transition(_Model):
    """Where a turn goes: by intent (any of them, or any intent when omitted) and conditions."""

    intent: Intent | list[Intent] | None = None
    when: Condition = Field(default_factory=Condition)
    to: str
    tools: list[ToolSpec] = Field(default_factory=list)
    verify_identity: bool = Field(
        default=False, description="Taking it means the person proved who they are"
    )
    skip_slots: bool = Field(
        default=False, description="Leave even when the node's required slots are missing"
    )
    clear: list[SlotName] = Field(default_factory=list, description="Slots to forget")
    on_failure: str | None = Field(
        default=None,
        description="Where to go when one of its tools fails (else: stay and re-prompt)",
    )

    @property
    def intents(self) -> list[Intent]:
        """The intents it answers to (empty: any)."""
        if self.intent is None:
            return []
        return self.intent if isinstance(self.intent, list) else [self.intent]


class SlotSpec(_Model):
    """A value the node collects; a required one is asked for before leaving."""

    name: SlotName
    required: bool = False
    ask: list[str] = Field(default_factory=list, description="How to ask for it (variants)")


class Node(_Model):
    """One step of the conversation."""

    id: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    say: list[str] = Field(min_length=1, description="Variants, picked by visit count")
    instructions: str | None = Field(
        default=None, description="LLM mode: what the model does here (a template, like say)"
    )
    simple: list[str] = Field(
        default_factory=list, description="Plainer variants, used when steering is SIMPLIFY"
    )
    before_identity: bool = False
    expect: list[Intent] = Field(default_factory=list, description="Intents expected here")
    slots: list[SlotSpec] = Field(default_factory=list)
    transitions: list[Transition] = Field(default_factory=list)
    otherwise: str | None = Field(
        default=None, description="Where to go after too many turns the node did not expect"
    )
    on_enter: list[ToolSpec] = Field(default_factory=list)
    confirms: bool = Field(
        default=False,
        description="The node confirms the slots just heard; skipped after a clarification",
    )
    keys: dict[str, Intent] = Field(
        default_factory=dict,
        description='Phone keypad answers here, e.g. {"1": affirm, "2": deny} ("marque 1")',
    )

    @field_validator("keys")
    @classmethod
    def _keypad_keys(cls, keys: dict[str, Intent]) -> dict[str, Intent]:
        # "#" ends an entry (`realtime.session.keypad`): it is never part of one.
        bad = [key for key in keys if not re.fullmatch(r"[0-9*ABCD]+", key)]
        if bad:
            raise ValueError(f"keys {bad} are not keypad entries (digits, *, A-D)")
        return keys

    end: bool = Field(default=False, description="Entering it ends the call")
    knowledge: bool = Field(
        default=False,
        description="Answers the caller's question from the knowledge base (`special.question`);"
        " its lines are said when nothing relevant is found (offer a callback or a person)",
    )
    outcome: CallOutcome | None = Field(default=None, description="Decided on entering")
    outcome_if_undecided: CallOutcome | None = Field(
        default=None, description="Decided on entering unless an outcome already was"
    )

    def templates(self) -> Iterator[tuple[str, str]]:
        """Every spoken template with its path inside the node."""
        for i, text in enumerate(self.say):
            yield f"say[{i}]", text
        if self.instructions is not None:
            yield "instructions", self.instructions
        for i, text in enumerate(self.simple):
            yield f"simple[{i}]", text
        for slot in self.slots:
            for i, text in enumerate(slot.ask):
                yield f"slots[{slot.name}].ask[{i}]", text


class Specials(_Model):
    """Nodes the engine goes to on its own, from anywhere."""

    voicemail: str | None = Field(default=None, description="An answering machine picked up")
    silence: str | None = Field(default=None, description="Too many silences in a row")
    transfer: str | None = Field(default=None, description="Steering says TRANSFER_NOW")
    offer_transfer: str | None = Field(default=None, description="Steering says OFFER_TRANSFER")
    fallback: str | None = Field(
        default=None, description="After too many unexpected turns, when a node has no otherwise"
    )
    question: str | None = Field(
        default=None,
        description="A question the flow does not script: this `knowledge` node answers it "
        "from the tenant's knowledge base, then the flow goes on where it was",
    )

    def items(self) -> Iterator[tuple[str, str]]:
        """(field, node id) for each one set."""
        for key in ("voicemail", "silence", "transfer", "offer_transfer", "fallback", "question"):
            value = getattr(self, key)
            if value is not None:
                yield key, value


class Phrases(_Model):
    """The engine's own words; the language's defaults when left out."""

    still_there: list[str] = Field(default_factory=list)
    not_understood: list[str] = Field(default_factory=list)
    clarify: list[str] = Field(default_factory=list, description="With {heard}")
    clarify_again: list[str] = Field(default_factory=list)
    tool_failed: list[str] = Field(default_factory=list)
    goodbye: list[str] = Field(default_factory=list)


class AgentDefinition(_Model):
    """A whole conversation-flow agent."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]*$")
    language: str = Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="es-CL, es-ES, en-US")
    description: str = ""
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 of the amounts")
    currency_variable: str | None = Field(
        default=None, description="A contact variable that overrides `currency`"
    )
    variables: list[VariableSpec] = Field(default_factory=list)
    start: str
    nodes: list[Node] = Field(min_length=1)
    interrupts: list[Transition] = Field(default_factory=list)
    global_transitions: list[Transition] = Field(default_factory=list)
    special: Specials = Field(default_factory=Specials)
    llm: FlowLlmSpec | None = Field(default=None, description="LLM mode (else intents decide)")
    phrases: Phrases = Field(default_factory=Phrases)
    max_silences: int = Field(default=2, ge=0, description="Re-prompts before the silence node")
    handoff: HandoffPolicy | None = Field(
        default=None,
        description="When the call goes to a person, and how (centralita.handoff.policy); "
        "none: the flow's own transfer node hands the call over as before",
    )
    voicemail: Literal["leave_message", "hang_up"] = Field(
        default="leave_message",
        description="On a phone answered by a machine: leave the `voicemail` node's message "
        "after the beep, or hang up",
    )
    turns: TurnSettings | None = Field(
        default=None, description="When the caller's turn is over (else a 500 ms silence)"
    )
    voice: VoiceSpec | None = Field(default=None, description="Else the line's voice")
    max_unexpected: int = Field(default=2, ge=0, description="Clarifying re-prompts per node")
    max_clarifications: int = Field(default=3, ge=0, description="Slot confirmations per call")
    clarify_below: float = Field(
        default=0.6, ge=0.0, le=1.0, description="Confirm amounts/dates heard below this"
    )

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError when none)."""
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)

    @model_validator(mode="after")
    def _check_graph(self) -> AgentDefinition:
        problems = validate_definition(self)
        if problems:
            raise FlowDefinitionError(self.name, problems)
        return self


def _edges(definition: AgentDefinition, node: Node) -> Iterator[tuple[str, Transition | None, str]]:
    """(path, transition, target) for every way out of `node`, global ones included."""
    for i, t in enumerate(node.transitions):
        yield f"nodes[{node.id}].transitions[{i}].to", t, t.to
        if t.on_failure:
            yield f"nodes[{node.id}].transitions[{i}].on_failure", t, t.on_failure
    if node.otherwise:
        yield f"nodes[{node.id}].otherwise", None, node.otherwise
    if node.end:
        return
    for key, group in (
        ("interrupts", definition.interrupts),
        ("global_transitions", definition.global_transitions),
    ):
        for i, t in enumerate(group):
            yield f"{key}[{i}].to", t, t.to
            if t.on_failure:
                yield f"{key}[{i}].on_failure", t, t.on_failure
    for key, target in definition.special.items():
        yield f"special.{key}", None, target


def validate_definition(definition: AgentDefinition) -> list[str]:
    """Every problem of a definition, each with its path (empty when valid)."""
    problems: list[str] = []
    ids: dict[str, Node] = {}
    for i, node in enumerate(definition.nodes):
        if node.id in ids:
            problems.append(f"nodes[{i}].id: duplicate node id {node.id!r}")
        ids[node.id] = node
    if definition.start not in ids:
        problems.append(f"start: node {definition.start!r} not found (nodes: {sorted(ids)})")

    variables = {v.name: v for v in definition.variables}
    if definition.currency_variable and definition.currency_variable not in variables:
        problems.append(
            f"currency_variable: {definition.currency_variable!r} is not a declared variable"
        )
    known_names = set(variables) | BUILTINS | {f"slots.{s}" for s in SLOT_NAMES}
    sensitive = {v.name for v in definition.variables if v.sensitive}

    def check_target(path: str, target: str) -> None:
        if target != BACK and target not in ids:
            problems.append(f"{path}: unknown node {target!r}")

    def check_condition(path: str, cond: Condition) -> None:
        for name in [*cond.variable, *cond.no_variable, *filter(None, [cond.id_matches])]:
            if name not in variables:
                problems.append(f"{path}.when: unknown variable {name!r}")

    def check_tools(path: str, tools: list[ToolSpec]) -> None:
        for i, tool in enumerate(tools):
            if tool.name not in TOOLS:  # a tenant tool: its schema is checked when it runs
                for arg, value in tool.arguments.items():
                    if isinstance(value, str):
                        check_template(f"{path}[{i}].arguments.{arg}", value)
                continue
            model = TOOLS[tool.name][0]
            fields = model.model_fields
            for arg, value in tool.arguments.items():
                if arg not in fields:
                    problems.append(
                        f"{path}[{i}].arguments.{arg}: {tool.name} takes no argument {arg!r}"
                        f" (it takes {sorted(fields)})"
                    )
                if isinstance(value, str):
                    check_template(f"{path}[{i}].arguments.{arg}", value)
            for arg, info in fields.items():
                if info.is_required() and arg not in tool.arguments:
                    problems.append(f"{path}[{i}].arguments: {tool.name} needs {arg!r}")

    def check_template(path: str, text: str) -> set[str]:
        try:
            names = referenced_names(text)
        except TemplateError as exc:
            problems.append(f"{path}: {exc}")
            return set()
        for name in sorted(names - known_names):
            problems.append(f"{path}: unknown variable {{{name}}}")
        return names

    def check_transitions(path: str, transitions: list[Transition]) -> None:
        for i, t in enumerate(transitions):
            check_target(f"{path}[{i}].to", t.to)
            if t.on_failure:
                check_target(f"{path}[{i}].on_failure", t.on_failure)
            check_condition(f"{path}[{i}]", t.when)
            check_tools(f"{path}[{i}].tools", t.tools)

    for node in definition.nodes:
        base = f"nodes[{node.id}]"
        for sub, text in node.templates():
            check_template(f"{base}.{sub}", text)
        check_transitions(f"{base}.transitions", node.transitions)
        check_tools(f"{base}.on_enter", node.on_enter)
        if node.otherwise:
            check_target(f"{base}.otherwise", node.otherwise)
        if node.end and (node.transitions or node.otherwise):
            problems.append(f"{base}: an ending node has no transitions or otherwise")
        if node.outcome and node.outcome_if_undecided:
            problems.append(f"{base}: give outcome or outcome_if_undecided, not both")
        if node.knowledge and (node.transitions or node.slots or node.end or node.otherwise):
            # It is said and left: the flow goes on in the node the question came in.
            problems.append(f"{base}: a knowledge node has no transitions, slots or end")
    if definition.llm is not None:
        # LLM mode: the description is in every step's prompt, before identity too.
        for name in sorted(check_template("description", definition.description) & sensitive):
            problems.append(f"description: uses sensitive {name} (it is in every LLM prompt)")
    check_transitions("interrupts", definition.interrupts)
    check_transitions("global_transitions", definition.global_transitions)
    for key, target in definition.special.items():
        check_target(f"special.{key}", target)
    question = definition.special.question
    if question in ids and not ids[question].knowledge:
        problems.append(f"special.question: node {question!r} is not a knowledge node")
    if problems or definition.start not in ids:
        return problems  # the graph walks below need sound targets

    # Expected intents must lead somewhere.
    for node in definition.nodes:
        handled = {
            intent
            for t in [*node.transitions, *definition.interrupts, *definition.global_transitions]
            for intent in t.intents
        }
        for intent in node.expect:
            if intent not in handled and not any(not t.intents for t in node.transitions):
                problems.append(f"nodes[{node.id}].expect: no transition handles {intent.value!r}")

    # Reachability: every node can be reached from the start.
    seen = _walk(definition, ids, before_identity=False)
    for node in definition.nodes:
        if node.id not in seen:
            problems.append(f"nodes[{node.id}]: unreachable from start {definition.start!r}")

    # Identity: what can be said before a verify_identity transition.
    early = _walk(definition, ids, before_identity=True)
    for node in definition.nodes:
        if node.id in early and not node.before_identity:
            route = " -> ".join(early[node.id])
            problems.append(
                f"nodes[{node.id}]: reachable before identity is verified ({route}) "
                "but not marked before_identity"
            )
    # A node marked before_identity may be said to anyone, reachable so or not yet.
    for node in definition.nodes:
        if node.before_identity:
            problems.extend(_disclosures(definition, node, sensitive))
    if definition.llm is not None and (words := collection_words(definition.description)):
        problems.append(
            f"description: says {_listed(words)}, and it is in every LLM prompt, before "
            f"identity is verified too ({WHY}; say it in the instructions of a later node)"
        )
    # The engine's phrases can be said in any node, before identity too.
    for kind, lines in definition.phrases.model_dump().items():
        for i, text in enumerate(lines):
            if words := collection_words(text):
                problems.append(
                    f"phrases.{kind}[{i}]: says {_listed(words)}, and phrases are said before "
                    f"identity is verified too ({WHY})"
                )
    for key, group in (
        ("interrupts", definition.interrupts),
        ("global_transitions", definition.global_transitions),
    ):
        for i, t in enumerate(group):
            if not (t.verify_identity or t.when.verified is True):
                problems.extend(_tool_disclosures(f"{key}[{i}].tools", t.tools, sensitive))
    if definition.llm and "lookup_customer" in (definition.llm.tools or []):
        # Identity is the graph's: only a verify_identity transition may reveal the debt.
        problems.append("llm.tools: lookup_customer is not offered to a flow (verify_identity)")
    return problems


def _disclosures(definition: AgentDefinition, node: Node, sensitive: set[str]) -> list[str]:
    """What `node` (said before identity is verified) would tell a third party."""
    base = f"nodes[{node.id}]"
    specs = {v.name: v for v in definition.variables}
    problems: list[str] = []
    for sub, text in node.templates():
        path = f"{base}.{sub}"
        try:
            chains = placeholders(text)
        except TemplateError:
            continue  # reported above
        used = {name for chain in chains for name in chain} & sensitive
        if used:
            problems.append(
                f"{path}: uses sensitive {', '.join(sorted(used))} before identity is verified"
            )
        if words := collection_words(text):
            problems.append(f"{path}: says {_listed(words)} before identity is verified ({WHY})")
        # A chain with a sensitive name is refused above; the others may fall back.
        for name in dict.fromkeys(c[-1] for c in chains if not set(c) & sensitive):
            spoken = fallback_text(name, specs, definition.language)
            if words := collection_words(spoken):
                problems.append(
                    f"{path}: {{{name}}} falls back to {spoken!r}, which says {_listed(words)} "
                    f"before identity is verified ({WHY})"
                )
    lang = base_language(definition.language, default="en")
    for slot in node.slots:
        if slot.required and not slot.ask:
            default = DEFAULT_SLOT_ASKS[lang][slot.name]
            if words := collection_words(default):
                problems.append(
                    f"{base}.slots[{slot.name}]: has no ask, and the engine's question "
                    f"{default!r} says {_listed(words)} before identity is verified ({WHY})"
                )
    problems.extend(_tool_disclosures(f"{base}.on_enter", node.on_enter, sensitive))
    for i, t in enumerate(node.transitions):
        if not (t.verify_identity or t.when.verified is True):
            problems.extend(_tool_disclosures(f"{base}.transitions[{i}].tools", t.tools, sensitive))
    return problems


def _listed(words: list[str]) -> str:
    return ", ".join(repr(word) for word in words)


def _tool_disclosures(path: str, tools: list[ToolSpec], sensitive: set[str]) -> list[str]:
    """Tools run before identity is verified may not be handed the debt (a payment link
    with the amount would reach whoever holds the phone)."""
    problems: list[str] = []
    for i, tool in enumerate(tools):
        for arg, value in tool.arguments.items():
            if not isinstance(value, str):
                continue
            try:
                used = referenced_names(value) & sensitive
            except TemplateError:
                continue  # reported above
            if used:
                problems.append(
                    f"{path}[{i}].arguments.{arg}: gives {tool.name} sensitive "
                    f"{', '.join(sorted(used))} before identity is verified"
                )
    return problems


def _walk(
    definition: AgentDefinition, ids: dict[str, Node], *, before_identity: bool
) -> dict[str, list[str]]:
    """Nodes reachable from the start, each with one route to it.

    With `before_identity`, edges that verify identity (or need it verified) are not
    followed: what remains is where the conversation can be before it knows who
    answered.
    """
    routes: dict[str, list[str]] = {definition.start: [definition.start]}
    queue = [definition.start]
    while queue:
        node = ids[queue.pop(0)]
        for path, transition, target in _edges(definition, node):
            if target == BACK or target in routes:
                continue
            if before_identity and path == "special.question":
                continue  # the engine looks nothing up in a `before_identity` node
            # A failed tool leaves identity as it was, so `on_failure` edges always count.
            if (
                before_identity
                and transition is not None
                and not path.endswith(".on_failure")
                and (transition.verify_identity or transition.when.verified is True)
            ):
                continue
            routes[target] = [*routes[node.id], target]
            queue.append(target)
    return routes
