"""The tools a flow calls: small async functions, arguments validated, a `ToolCall` out.

Each tool's arguments are a Pydantic model, so the JSON Schema a hosted LLM would be
given (`tool_schemas()`) and the validation a flow's call goes through are the same
thing. In this version every tool acts locally on the call's `ToolContext` (the promise
lands in `extracted`, an opt-out in the outcome); the integrations that reach outside
(payment links, the CRM) arrive with webhooks.

A tool never raises into the conversation: a business refusal (a promise dated in the
past) or bad arguments come back as a `ToolCall` with `success=False`, because the
agent must keep talking to the person and the record is what the call's log keeps.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from rapidfuzz import fuzz

from centralita.kernel.calls import CallOutcome
from centralita.knowledge.answers import KnowledgeAnswer
from centralita.knowledge.retrieval import KnowledgeUnavailable
from centralita.messaging.payment_links import (
    PaymentLinkError,
    PaymentLinkRequest,
    PaymentLinkSent,
    link_creator,
)
from centralita.understanding.ids import national_id_matches
from centralita.understanding.text import fold
from realtime.agents.external_tools import ExternalTools
from realtime.providers.base import ToolCall

# A question -> the answer from the call's tenant's knowledge base (bound to the tenant
# and the call's language when the call is set up).
KnowledgeLookup = Callable[[str], Awaitable[KnowledgeAnswer]]
# The call's tenant's payment link by WhatsApp (`centralita.messaging.payment_links`),
# bound to the call when it is set up.
PaymentLinkAction = Callable[[PaymentLinkRequest], Awaitable[PaymentLinkSent]]


class ToolError(Exception):
    """A tool refused its (well-formed) arguments; `code` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ToolContext:
    """What the tools of one call act on."""

    now: datetime  # aware, in the called person's zone
    extracted: dict[str, Any] = field(default_factory=dict)
    outcome: CallOutcome | None = None
    transfer: bool = False
    end: bool = False
    # Keys to play on the phone (an automated menu's options), not yet handed on.
    dtmf: str = ""
    # The contact's dynamic variables (what the account tools read).
    variables: Mapping[str, Any] = field(default_factory=dict)
    # Set once the caller proved who they are (`lookup_customer`); the balance needs it.
    identity_verified: bool = False
    # Whether acting in the person's name (a promise, a payment link) waits for
    # `identity_verified` too: set for LLM agents that offer `lookup_customer` (an agent
    # that verifies nobody acts at once); flows gate by their graph instead.
    identity_required: bool = False
    # The tenant's knowledge base, asked in the call's language (None: the agent has none).
    knowledge: KnowledgeLookup | None = None
    # Sends a payment link by WhatsApp (None: the stand-in link of the other channels).
    payment_links: PaymentLinkAction | None = None
    # The tenant's own tools (HTTP, MCP) bound to this call; None: it has none.
    external: ExternalTools | None = None
    # Says a line now, while a tool runs (set by the brain around tool calls).
    say_now: Callable[[str], None] | None = None

    def take_dtmf(self) -> str:
        """The keys `send_dtmf` asked for since the last reply (handed on once)."""
        keys, self.dtmf = self.dtmf, ""
        return keys


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegisterPromiseArgs(_Args):
    """A promise to pay `amount` `currency` on `pay_date`."""

    amount: Decimal = Field(gt=0, description="Promised amount in whole currency units")
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217")
    pay_date: date = Field(description="The day the person will pay")


class ScheduleCallbackArgs(_Args):
    """Call the person back at `callback_at`."""

    callback_at: AwareDatetime
    reason: str | None = None


class OptOutArgs(_Args):
    """The person asked not to be called again."""

    reason: str | None = None


class TransferToAgentArgs(_Args):
    """Hand the call to a human."""

    reason: str = "caller_request"
    queue: str | None = None


class SendDtmfArgs(_Args):
    """Press keys on the phone to choose an option of an automated menu (IVR)."""

    digits: str = Field(
        pattern=r"^[0-9*#A-Dw]{1,32}$",
        description="Keys to press in order, e.g. '1' or '2#'; 'w' waits half a second",
    )


class SendPaymentLinkArgs(_Args):
    """Send a payment link (SMS by default)."""

    amount: Decimal | None = Field(default=None, gt=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    channel: Literal["sms", "email", "whatsapp"] = "sms"


class SearchKnowledgeArgs(_Args):
    """Look up the caller's question in the company's documents (FAQ, payment terms)."""

    question: str = Field(
        min_length=2, max_length=500, description="The caller's question, in their words"
    )


class EndCallArgs(_Args):
    """Hang up, optionally deciding the outcome."""

    outcome: CallOutcome | None = None
    reason: str | None = None


class LookupCustomerArgs(_Args):
    """Check that the caller is the customer this call is for."""

    national_id_digits: str | None = Field(
        default=None, description="The last four (or more) characters of the ID the caller said"
    )
    name: str | None = Field(default=None, description="The name the caller gave")


class GetAccountBalanceArgs(_Args):
    """The amount due, its currency and due date (after identity is verified)."""


# Contact variables the account tools read, in order of preference (agents' aliases).
_NAME_KEYS = ("nombre", "name", "nombre_completo")
_ID_KEYS = ("rut", "RUT", "dni", "DNI", "nie", "national_id")
_AMOUNT_KEYS = ("monto_total", "monto", "deuda", "amount_due", "amount")
_DUE_KEYS = ("fecha_limite", "fecha_vencimiento", "due_date")
_CURRENCY_KEYS = ("moneda", "currency")


def _first(variables: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    return next((variables[k] for k in keys if variables.get(k) not in (None, "")), None)


def _name_matches(said: str, known: str) -> bool:
    """Every word the caller said is (nearly) a word of the known name, accents and
    punctuation aside ("maria jose" is María José: a transcript or a model may drop them)."""
    known_words = fold(known).split()
    said_words = fold(said).split()
    return bool(said_words) and all(
        max((fuzz.ratio(w, k) for k in known_words), default=0) >= 85 for w in said_words
    )


async def lookup_customer(args: LookupCustomerArgs, ctx: ToolContext) -> dict[str, Any]:
    """Whether the caller is the customer; verifies identity for the account tools.

    With an ID on file the caller must give its last four characters; without one,
    their name must match. Nothing about the account is returned here.
    """
    known_id = _first(ctx.variables, _ID_KEYS)
    known_name = _first(ctx.variables, _NAME_KEYS)
    if known_id is not None:
        if args.national_id_digits is None:
            raise ToolError("id_required", "ask for the last four characters of their ID")
        ctx.identity_verified = national_id_matches(args.national_id_digits, str(known_id))
    elif known_name is not None and args.name is not None:
        ctx.identity_verified = _name_matches(args.name, str(known_name))
    else:
        raise ToolError("nothing_to_check", "ask for the caller's name")
    result: dict[str, Any] = {"verified": ctx.identity_verified}
    if ctx.identity_verified and known_name is not None:
        result["name"] = str(known_name)
    return result


async def get_account_balance(args: GetAccountBalanceArgs, ctx: ToolContext) -> dict[str, Any]:
    """The amount due; refused until `lookup_customer` verified the caller."""
    if not ctx.identity_verified:
        raise ToolError("identity_not_verified", "verify the caller with lookup_customer first")
    amount = _first(ctx.variables, _AMOUNT_KEYS)
    if amount is None:
        raise ToolError("no_balance", "this contact has no amount due on file")
    return {
        "amount_due": amount,
        "currency": _first(ctx.variables, _CURRENCY_KEYS),
        "due_date": _first(ctx.variables, _DUE_KEYS),
    }


def _amount(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _in_their_name(ctx: ToolContext, what: str) -> None:
    """Refuse to act in the person's name before they proved who they are (when the
    agent verifies identity): a third party must not promise or be sent the link."""
    if ctx.identity_required and not ctx.identity_verified:
        raise ToolError(
            "identity_not_verified", f"verify the caller with lookup_customer before {what}"
        )


async def register_promise(args: RegisterPromiseArgs, ctx: ToolContext) -> dict[str, Any]:
    """Record the promise in `extracted`; the call's outcome becomes promise_to_pay."""
    _in_their_name(ctx, "taking a promise")
    if args.pay_date < ctx.now.date():
        raise ToolError("date_in_past", f"pay date {args.pay_date} is before today")
    ctx.extracted.update(
        promised_amount=_amount(args.amount),
        promised_currency=args.currency,
        promised_date=args.pay_date.isoformat(),
    )
    ctx.outcome = CallOutcome.PROMISE_TO_PAY
    return {"registered": True}


async def schedule_callback(args: ScheduleCallbackArgs, ctx: ToolContext) -> dict[str, Any]:
    """Record when to call back; the outcome becomes callback_requested."""
    if args.callback_at <= ctx.now:
        raise ToolError("time_in_past", f"callback time {args.callback_at} is not in the future")
    ctx.extracted["callback_at"] = args.callback_at.isoformat()
    if args.reason:
        ctx.extracted["callback_reason"] = args.reason
    ctx.outcome = CallOutcome.CALLBACK_REQUESTED
    return {"scheduled": True}


async def opt_out(args: OptOutArgs, ctx: ToolContext) -> dict[str, Any]:
    """Mark the number as opted out; the outcome becomes opt_out."""
    ctx.extracted["opt_out"] = True
    if args.reason:
        ctx.extracted["opt_out_reason"] = args.reason
    ctx.outcome = CallOutcome.OPT_OUT
    return {"opted_out": True}


async def transfer_to_agent(args: TransferToAgentArgs, ctx: ToolContext) -> dict[str, Any]:
    """Ask the call session to hand the line to a human."""
    ctx.transfer = True
    ctx.extracted["transfer_reason"] = args.reason
    return {"transferring": True, "queue": args.queue}


async def send_payment_link(args: SendPaymentLinkArgs, ctx: ToolContext) -> dict[str, Any]:
    """By WhatsApp (with the call's `payment_links`): a link made by the tenant's tool,
    sent to the contact; its delivery statuses arrive later. Other channels: a stand-in
    link, a stable fake id until their integration exists."""
    _in_their_name(ctx, "sending a payment link")
    if args.channel == "whatsapp" and ctx.payment_links is not None:
        # The link is made by the tenant's own tool (HTTP or MCP), run as the call's.
        tools = link_creator(ctx.external) if ctx.external is not None else None
        request = PaymentLinkRequest(args.amount, args.currency, ctx.variables, tools)
        try:
            sent = await ctx.payment_links(request)
        except PaymentLinkError as exc:
            raise ToolError(exc.code, str(exc)) from exc
        ctx.extracted.update(payment_link_id=sent.link_id, payment_link_channel=args.channel)
        return {
            "link_id": sent.link_id,
            "url": sent.url,
            "channel": args.channel,
            "message_id": sent.message_id,
            "provider_message_id": sent.provider_message_id,
            "status": sent.status,
            "sent": True,
        }
    seed = json.dumps(
        {"args": args.model_dump(mode="json"), "at": ctx.now.isoformat()}, sort_keys=True
    )
    link_id = "plink_" + hashlib.sha256(seed.encode()).hexdigest()[:16]
    ctx.extracted.update(payment_link_id=link_id, payment_link_channel=args.channel)
    return {"link_id": link_id, "channel": args.channel, "sent": True}


async def send_dtmf(args: SendDtmfArgs, ctx: ToolContext) -> dict[str, Any]:
    """Play the keys' tones on the call, after what the agent is saying."""
    ctx.dtmf += args.digits
    return {"pressed": args.digits}


async def search_knowledge(args: SearchKnowledgeArgs, ctx: ToolContext) -> dict[str, Any]:
    """The knowledge base's answer, with its sources; `found` False means say you do not
    know and offer a callback or a person, never a guess."""
    if ctx.knowledge is None:
        raise ToolError("no_knowledge_base", "this agent has no knowledge base")
    try:
        answer = await ctx.knowledge(args.question)
    except KnowledgeUnavailable as exc:
        raise ToolError("knowledge_unavailable", str(exc)) from exc
    sources = [
        {"document_id": s.document_id, "title": s.title, "heading": s.heading, "chunk": s.chunk_id}
        for s in answer.sources
    ]
    if not answer.found:
        return {"found": False, "answer": "", "sources": sources, "advice": _NOT_FOUND_ADVICE}
    return {"found": True, "answer": answer.text, "sources": sources}


_NOT_FOUND_ADVICE = (
    "Nothing in the documents answers this. Say you do not have that information and "
    "offer a callback or a person; do not guess."
)


async def end_call(args: EndCallArgs, ctx: ToolContext) -> dict[str, Any]:
    """End the call (with an outcome when the flow decided one here)."""
    ctx.end = True
    if args.outcome is not None:
        ctx.outcome = args.outcome
    return {"ended": True}


_Tool = Callable[[Any, ToolContext], Awaitable[dict[str, Any]]]

TOOLS: Mapping[str, tuple[type[_Args], _Tool]] = {
    "register_promise": (RegisterPromiseArgs, register_promise),
    "schedule_callback": (ScheduleCallbackArgs, schedule_callback),
    "opt_out": (OptOutArgs, opt_out),
    "transfer_to_agent": (TransferToAgentArgs, transfer_to_agent),
    "send_payment_link": (SendPaymentLinkArgs, send_payment_link),
    "end_call": (EndCallArgs, end_call),
    "send_dtmf": (SendDtmfArgs, send_dtmf),
    "lookup_customer": (LookupCustomerArgs, lookup_customer),
    "get_account_balance": (GetAccountBalanceArgs, get_account_balance),
    "search_knowledge": (SearchKnowledgeArgs, search_knowledge),
}
ToolName = Literal[
    "register_promise",
    "schedule_callback",
    "opt_out",
    "transfer_to_agent",
    "send_payment_link",
    "end_call",
    "send_dtmf",
    "lookup_customer",
    "get_account_balance",
    "search_knowledge",
]


def tool_schemas() -> dict[str, dict[str, Any]]:
    """The JSON Schema of every tool's arguments, by tool name."""
    return {name: model.model_json_schema() for name, (model, _) in TOOLS.items()}


async def run_tool(name: str, arguments: Mapping[str, Any], ctx: ToolContext) -> ToolCall:
    """Validate the arguments, run the tool on `ctx`, and record what happened.

    A name no built-in tool has goes to the call's tenant tools (`ctx.external`).
    """
    if name not in TOOLS and ctx.external is not None and name in ctx.external:
        return await ctx.external.call(name, arguments, on_waiting=ctx.say_now)
    started = time.perf_counter()
    success = False
    if name not in TOOLS:
        result: dict[str, Any] = {"error": "unknown_tool", "detail": name}
    else:
        model, tool = TOOLS[name]
        try:
            result = await tool(model.model_validate(dict(arguments)), ctx)
            success = True
        except ValidationError as exc:
            detail = [
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            ]
            result = {"error": "invalid_arguments", "detail": detail}
        except ToolError as exc:
            result = {"error": exc.code, "detail": str(exc)}
    return ToolCall(
        name=name,
        arguments=dict(arguments),
        result=result,
        success=success,
        duration_ms=(time.perf_counter() - started) * 1000,
    )
