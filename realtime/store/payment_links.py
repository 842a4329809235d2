"""The payment-link action a call gets: `send_payment_link` by WhatsApp, bound to the call.

When its tenant has a WhatsApp sender, a call gets a `PaymentLinks`
(`centralita.messaging.payment_links`) bound to the tenant, the call's key, the agent's
language, the person's number (the caller's on an inbound call) and the contact's
variables; the link itself is made by the call's tenant tools (`ToolContext.external`).

A call start must not wait long on this nor fail because of it, as with the tenant's
tools (`realtime/store/tenant_tools.py`): whether a tenant has a sender is kept for
`refresh_s`, the lookup has a deadline, and a tenant without one, or a lookup that
failed, gets an action that refuses with `no_whatsapp_sender`: the agent hears a clear
code and the conversation goes on (never the stand-in link the other channels get,
which would tell the person a message is on its way when none is).
"""

from __future__ import annotations

import asyncio
import logging

from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from centralita.kernel.key_ring import KeyRing
from centralita.messaging.payment_links import (
    PaymentLinkError,
    PaymentLinkRequest,
    PaymentLinks,
    PaymentLinkSent,
)
from centralita.messaging.providers import ProviderEndpoints
from centralita.messaging.store import list_senders
from realtime.agents.flows.tools import PaymentLinkAction
from realtime.cache import FreshCache

log = logging.getLogger(__name__)

REFRESH_S = 30.0
"""How stale "the tenant has a sender" may get: a sender added through the API reaches
calls within this (the sender itself is read when a link is sent, never cached)."""
LOOKUP_TIMEOUT_S = 0.5


async def no_whatsapp_sender(request: PaymentLinkRequest) -> PaymentLinkSent:
    """The action of a call whose tenant has no WhatsApp sender (or could not be asked).

    Raises:
        PaymentLinkError: always, `no_whatsapp_sender`.
    """
    raise PaymentLinkError("no_whatsapp_sender", "the tenant has no WhatsApp sender")


class TenantPaymentLinks:
    """Binds each call's payment-link action, by its tenant.

    Args:
        pool: the database (the senders, the messages sent).
        keys: opens the senders' secrets when a link is sent.
        endpoints: the providers' APIs and our public address (Twilio's status callback).
        refresh_s: how stale a tenant's "has a sender" may get.
        timeout_s: the most a call start waits for the lookup.
    """

    def __init__(
        self,
        pool: Pool,
        keys: KeyRing,
        *,
        endpoints: ProviderEndpoints | None = None,
        refresh_s: float = REFRESH_S,
        timeout_s: float = LOOKUP_TIMEOUT_S,
    ) -> None:
        self._pool = pool
        self._keys = keys
        self._endpoints = endpoints or ProviderEndpoints()
        self._timeout_s = timeout_s
        self._has_sender: FreshCache[str, bool] = FreshCache(refresh_s)

    async def for_call(
        self, tenant_id: str, request: DialRequest, language: str
    ) -> PaymentLinkAction:
        """The call's action: `PaymentLinks` when its tenant has a sender, else the
        `no_whatsapp_sender` refusal."""
        call_key = request.idempotency_key
        try:
            async with asyncio.timeout(self._timeout_s):
                has = await self._has_sender.get(tenant_id, lambda: self._any_sender(tenant_id))
        except Exception:
            log.warning("call %s: the tenant's WhatsApp senders are unavailable", call_key)
            return no_whatsapp_sender
        if not has:
            return no_whatsapp_sender
        return PaymentLinks(
            self._pool,
            self._keys,
            tenant_id,
            create_link=None,  # the call's tenant tools make the link (`link_creator`)
            endpoints=self._endpoints,
            call_key=call_key,
            language=language,
            # Inbound: `to_number` is the line's own number; the person is who called.
            contact_phone=request.from_number or request.to_number,
            variables=dict(request.variables),
        )

    async def _any_sender(self, tenant_id: str) -> bool:
        async with self._pool.connection() as conn:
            page = await list_senders(conn, tenant_id, limit=1, offset=0)
        return page.total > 0
