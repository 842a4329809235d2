"""Which agent definition a call gets: its tenant's stored agent, else the shipped one.

The call's tenant comes from the data (`centralita.tenants.store.call_owners`: its attempt row, the
campaign its key names, else the default tenant), then the tenant's agent of the name
the dial request gives (`agents` table), else the shipped agent of that name.

A call must never wait on this long nor fail because of it: definitions are cached per
(tenant, name) for `refresh_s` (an edit reaches calls within that), the lookup has a
short deadline, and a slow or broken database falls back to the shipped agent, with a
warning. Only a name that nobody has fails the call (`AgentNotFoundError`), as before.
"""

from __future__ import annotations

import asyncio
import logging

from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Pool
from centralita.knowledge.answers import KnowledgeAnswer
from centralita.knowledge.retrieval import KnowledgeBase
from realtime.agents.external_tools import ExternalTools
from realtime.agents.flows.tools import KnowledgeLookup, PaymentLinkAction
from realtime.agents.loader import DEFAULT_AGENT, AnyAgentDefinition, load_any_agent
from realtime.agents.setup import AgentSetup, setup_for
from realtime.cache import TenantCache
from realtime.store.agents import load_tenant_agent
from realtime.store.human_queue import CallbackScheduler, PostgresHumanQueue
from realtime.store.payment_links import TenantPaymentLinks, no_whatsapp_sender
from realtime.store.tenant_tools import TenantTools

log = logging.getLogger(__name__)

REFRESH_S = 30.0
"""How stale a tenant's agent may get: an edit through the API reaches calls within this."""
LOOKUP_TIMEOUT_S = 0.5
# The call's tenant (None when the lookup failed) and its agent of the name (None: the
# tenant has none, the shipped one is meant).
_TenantAgent = tuple[str | None, AnyAgentDefinition | None]


class TenantAgents:
    """Agent definitions per (tenant, name), read from the `agents` table and kept fresh.

    Args:
        pool: the database.
        refresh_s: re-read a tenant's agent when its copy is older than this.
        timeout_s: the most a call start waits for a (re)load before using the shipped one.
    """

    def __init__(
        self,
        pool: Pool,
        *,
        refresh_s: float = REFRESH_S,
        timeout_s: float = LOOKUP_TIMEOUT_S,
        knowledge: KnowledgeBase | None = None,
        callbacks: CallbackScheduler | None = None,
        tools: TenantTools | None = None,
        payment_links: TenantPaymentLinks | None = None,
    ) -> None:
        self._pool = pool
        self._tools = tools  # the tenant's own tools (HTTP, MCP), bound to each call
        # `send_payment_link` by WhatsApp, bound to each call (its tenant's sender)
        self._payment_links = payment_links
        self._knowledge = knowledge
        self._callbacks = callbacks  # starts a human callback's durable workflow
        # (tenant, its agent); None: the tenant has no agent of that name (the shipped
        # one is meant).
        self._agents: TenantCache[str, _TenantAgent] = TenantCache(
            pool, refresh_s=refresh_s, timeout_s=timeout_s
        )

    async def setup_for_call(self, request: DialRequest) -> AgentSetup:
        """The call's brain and session settings (a `SetupFactory` for `ConversationLine`).

        Raises:
            realtime.agents.loader.AgentNotFoundError: neither the tenant nor the package
                has an agent of that name.
            realtime.agents.flows.templates.VariableError: see `realtime.agents.setup.setup_for`.
        """
        tenant, definition = await self._tenant_definition(request)
        # Both lookups have their own deadline; side by side, a call start waits for
        # the slower one only.
        external, payment_links = await asyncio.gather(
            self._external_of(tenant, definition, request),
            self._payment_links_of(tenant, definition, request),
        )
        setup = setup_for(
            definition,
            request,
            knowledge=self._knowledge_of(tenant, definition),
            external=external,
            payment_links=payment_links,
        )
        policy = definition.handoff
        if policy is not None and tenant is not None:
            setup.human_queue = PostgresHumanQueue(
                self._pool,
                tenant,
                request,
                queue=policy.queue,
                max_wait_s=policy.max_wait_s,
                schedule=self._callbacks,
            )
        return setup

    async def definition_for(self, request: DialRequest) -> AnyAgentDefinition:
        """The tenant's agent named by `request` (or the default), else the shipped one.

        Raises:
            realtime.agents.loader.AgentNotFoundError: no agent of that name at all.
        """
        return (await self._tenant_definition(request))[1]

    async def _external_of(
        self, tenant: str | None, definition: AnyAgentDefinition, request: DialRequest
    ) -> ExternalTools | None:
        """The tenant's own tools for this call (None without a tenant or tools)."""
        if self._tools is None or tenant is None:
            return None
        return await self._tools.for_call(
            tenant, definition.name, request.idempotency_key, definition.language
        )

    async def _payment_links_of(
        self, tenant: str | None, definition: AnyAgentDefinition, request: DialRequest
    ) -> PaymentLinkAction | None:
        """The call's WhatsApp payment-link action. None (the stand-in link) only on a
        media worker that binds none: a call whose tenant is unknown (its lookup failed)
        gets the `no_whatsapp_sender` refusal, never anyone's sender."""
        if self._payment_links is None:
            return None
        if tenant is None:
            return no_whatsapp_sender
        return await self._payment_links.for_call(tenant, request, definition.language)

    def _knowledge_of(
        self, tenant: str | None, definition: AnyAgentDefinition
    ) -> KnowledgeLookup | None:
        """The tenant's knowledge base in the agent's language (None without a tenant:
        the lookup failed, and a call must not search anyone's documents)."""
        if self._knowledge is None or tenant is None:
            return None
        knowledge, language = self._knowledge, definition.language

        async def lookup(question: str) -> KnowledgeAnswer:
            return await knowledge.answer(tenant, question, language)

        return lookup

    async def _tenant_definition(
        self, request: DialRequest
    ) -> tuple[str | None, AnyAgentDefinition]:
        name = request.agent or DEFAULT_AGENT

        def shipped(exc: Exception) -> _TenantAgent:
            log.warning(
                "call %s: tenant agent %r unavailable, using the shipped one: %s",
                request.idempotency_key,
                name,
                exc,
            )
            return None, None

        async def load(tenant: str) -> _TenantAgent:
            return tenant, await load_tenant_agent(self._pool, tenant, name)

        tenant, found = await self._agents.for_call(
            request.idempotency_key, name, load, fallback=shipped
        )
        return tenant, found if found is not None else load_any_agent(name)
