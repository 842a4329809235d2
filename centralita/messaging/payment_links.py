"""The `send_payment_link` action over WhatsApp: create the link, send it, record it.

1. The link is created by the tenant's own tool named on its sender
   (`payment_link_tool`: an HTTP or MCP tool), called through `CreateLink` with the
   amount, currency, the call's key as reference and the person's name and number.
2. The text ("Hola {nombre}, este es su link de pago: {url}", or in English) goes to the
   contact's number through the tenant's WhatsApp sender (Twilio or Meta).
3. The message is stored; the provider's statuses arrive later at the API's receivers.

Every failure is a `PaymentLinkError` with a code the agent can act on (the call goes
on); no credential and no provider secret is ever in its message.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final, Protocol

from centralita.kernel.db import Pool
from centralita.kernel.key_ring import KeyRing
from centralita.messaging import message_store, store
from centralita.messaging.models import SenderSecrets
from centralita.messaging.providers import ProviderEndpoints, sender_for
from centralita.messaging.sender import OutgoingMessage, SendError

# The tenant's tool, by name, called with arguments: its result (raises
# `LinkCreationError` when the tool failed).
CreateLink = Callable[[str, dict[str, Any]], Awaitable[Mapping[str, Any]]]


class ToolResult(Protocol):
    """What running a tenant tool gave (`realtime.providers.base.ToolCall` is one)."""

    @property
    def success(self) -> bool:
        """Whether the tool did its work."""
        ...

    @property
    def result(self) -> dict[str, Any]:
        """Its answer (on a failure: `error` and `detail`)."""
        ...


class ToolRunner(Protocol):
    """A call's tenant tools (`realtime.agents.external_tools.ExternalTools` is one)."""

    async def call(self, name: str, arguments: Mapping[str, Any]) -> ToolResult:
        """Run the tool `name`; never raises."""
        ...


def link_creator(tools: ToolRunner) -> CreateLink:
    """`CreateLink` through a call's tenant tools (an HTTP tool or an MCP tool)."""

    async def create(name: str, arguments: dict[str, Any]) -> Mapping[str, Any]:
        outcome = await tools.call(name, arguments)
        if not outcome.success:
            error = outcome.result.get("error", "tool_failed")
            raise LinkCreationError(str(error), f"the tool {name} failed: {error}")
        return _structured(outcome.result)

    return create


def _structured(result: Mapping[str, Any]) -> Mapping[str, Any]:
    """An MCP tool's structured content when it has one (`structuredContent`), else the
    result itself."""
    inner = result.get("structuredContent") or result.get("structured_content")
    return inner if isinstance(inner, Mapping) else result


TEXTS: Final[dict[str, str]] = {
    "es": "Hola {name}, este es su link de pago: {url}",
    "en": "Hello {name}, this is your payment link: {url}",
}
ANONYMOUS: Final[dict[str, str]] = {
    "es": "Hola, este es su link de pago: {url}",
    "en": "Hello, this is your payment link: {url}",
}
_NAME_KEYS: Final = ("nombre", "name", "nombre_completo")
_PHONE_KEYS: Final = ("telefono", "phone", "celular", "mobile", "whatsapp")
_URL_KEYS: Final = ("url", "link", "payment_url", "link_url", "short_url")
_ID_KEYS: Final = ("id", "link_id", "payment_link_id", "reference")


class LinkCreationError(Exception):
    """The tenant's tool did not create a link (it failed, or answered no URL)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class PaymentLinkError(Exception):
    """The link was not sent; `code` says why (`no_whatsapp_sender`, `no_phone`,
    `no_payment_link_tool`, `link_failed`, `whatsapp_<provider code>`...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class PaymentLinkRequest:
    """What the agent asked for, and the contact's variables."""

    amount: Decimal | None = None
    currency: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    # The call's tenant tools, when the agent has them (`link_creator`); else the one
    # the action was bound with.
    create_link: CreateLink | None = None


@dataclass(frozen=True)
class PaymentLinkSent:
    """A link created and handed to the provider."""

    link_id: str | None
    url: str
    message_id: str
    provider: str
    provider_message_id: str
    status: str


def message_text(language: str, name: str | None, url: str) -> str:
    """The text the person reads, in the call's language (Spanish unless English)."""
    lang = "en" if language.lower().startswith("en") else "es"
    if not name:
        return ANONYMOUS[lang].format(url=url)
    return TEXTS[lang].format(name=name, url=url)


def link_of(result: Mapping[str, Any]) -> tuple[str | None, str]:
    """The link's id and URL in a tool's result (the first of the usual keys).

    Raises:
        LinkCreationError: no http(s) URL in it.
    """
    url = next((result[k] for k in _URL_KEYS if isinstance(result.get(k), str)), None)
    if url is None or not url.startswith(("https://", "http://")):
        raise LinkCreationError("no_link_url", "the payment link tool answered no http(s) url")
    link_id = next((result[k] for k in _ID_KEYS if result.get(k) not in (None, "")), None)
    return (str(link_id) if link_id is not None else None), url


def _first(variables: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    value = next((variables[k] for k in keys if variables.get(k) not in (None, "")), None)
    return str(value) if value is not None else None


@dataclass
class PaymentLinks:
    """The action, bound to one call: its tenant, key, language and contact number."""

    pool: Pool
    ring: KeyRing
    tenant_id: str
    create_link: CreateLink | None
    endpoints: ProviderEndpoints = field(default_factory=ProviderEndpoints)
    call_key: str | None = None
    language: str = "es"
    contact_phone: str | None = None
    sender_id: str | None = None  # None: the tenant's oldest sender
    # The call's variables (a flow's tools are not handed them): the name's fallback.
    variables: Mapping[str, Any] = field(default_factory=dict)

    async def __call__(self, request: PaymentLinkRequest) -> PaymentLinkSent:
        """Create the link, send it by WhatsApp and store the message.

        Raises:
            PaymentLinkError: nothing was sent; `code` says why.
        """
        sender = await self._sender()
        known = {**self.variables, **request.variables}
        phone = self.contact_phone or _first(known, _PHONE_KEYS)
        if phone is None:
            raise PaymentLinkError("no_phone", "the contact has no phone number to send to")
        name = _first(known, _NAME_KEYS)
        link_id, url = await self._link(sender, request, phone, name)
        outgoing = OutgoingMessage(
            to=phone,
            body=message_text(self.language, name, url),
            template_parameters=(name or "", url),
            status_callback=self.endpoints.status_callback(sender),
        )
        try:
            sent = await sender_for(sender, self.endpoints).send(outgoing)
        except SendError as exc:
            raise PaymentLinkError(f"whatsapp_{exc.code}", str(exc)) from exc
        new = message_store.NewMessage(
            tenant_id=self.tenant_id,
            sender_id=sender.id,
            provider=sender.provider,
            provider_message_id=sent.provider_message_id,
            contact_phone=phone,
            body=outgoing.body,
            status=sent.status,
            call_key=self.call_key,
            link_id=link_id,
            link_url=url,
        )
        async with self.pool.connection() as conn:
            message_id = await message_store.record_sent(conn, new)
        return PaymentLinkSent(
            link_id, url, message_id, sender.provider, sent.provider_message_id, sent.status
        )

    async def _sender(self) -> SenderSecrets:
        async with self.pool.connection() as conn:
            if self.sender_id is not None:
                found = await store.sender_secrets(
                    conn, self.ring, self.sender_id, tenant_id=self.tenant_id
                )
            else:
                found = await store.default_sender(conn, self.ring, self.tenant_id)
        if found is None:
            raise PaymentLinkError("no_whatsapp_sender", "the tenant has no WhatsApp sender")
        return found

    async def _link(
        self, sender: SenderSecrets, request: PaymentLinkRequest, phone: str, name: str | None
    ) -> tuple[str | None, str]:
        create_link = request.create_link or self.create_link
        if sender.payment_link_tool is None or create_link is None:
            raise PaymentLinkError(
                "no_payment_link_tool", "no tool of the tenant creates payment links"
            )
        offered: dict[str, Any] = {
            "amount": float(request.amount) if request.amount is not None else None,
            "currency": request.currency,
            "reference": self.call_key,
            "phone": phone,
            "name": name,
        }
        # Absent rather than null: a tool's JSON Schema may not allow null.
        arguments = {k: v for k, v in offered.items() if v is not None}
        try:
            result = await create_link(sender.payment_link_tool, arguments)
            return link_of(result)
        except LinkCreationError as exc:
            raise PaymentLinkError("link_failed", f"{exc.code}: {exc}") from exc
