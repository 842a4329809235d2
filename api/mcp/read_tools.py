"""Reading tools: a contact's history, a call's transcript and analysis, the knowledge base.

Each reads what the REST route reads (`GET /contacts/{id}` and its `/memory`,
`GET /calls/{call_id}` or `/calls/by-attempt/{key}`, `POST /knowledge/search`), scoped
to the caller's tenant: another tenant's id reads as not found.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from mcp.server.mcpserver import Context
from pydantic import BaseModel, Field

from api.mcp.caller import as_tool_errors, caller_of, not_found
from api.routes.knowledge import SearchRequest, SearchResult, search_documents
from api.routes.payments import ContactMemoryView, memory_view
from centralita.calls.store.details import CallDetail, call_detail, call_detail_by_attempt
from centralita.campaigns.store.history import ContactHistory, contact_history


class ContactHistoryOut(BaseModel):
    """A contact, everything that happened to it, and what an agent would be told of it."""

    contact: ContactHistory = Field(
        description="The contact, its attempts (oldest first, with outcome and transcript) "
        "and its state changes with their reasons."
    )
    memory: ContactMemoryView = Field(
        description="Its history across calls and campaigns: promises, payments, opt-outs."
    )


async def contact_history_tool(
    ctx: Context,
    contact_id: Annotated[str, Field(description="The contact's id (a UUID).")],
    language: Annotated[
        Literal["es", "en"], Field(description="Language of the memory's summary lines.")
    ] = "es",
) -> ContactHistoryOut:
    """A contact's history: its calls and their outcomes, its state changes, and what an
    agent calling it now would be told (earlier promises, payments, opt-outs)."""
    caller = caller_of(ctx)
    pool, tenant = caller.services.pool, caller.tenant_id
    contact = await contact_history(pool, tenant, contact_id)
    memory = await memory_view(pool, tenant, contact_id, language) if contact else None
    if contact is None or memory is None:
        raise not_found("contact", contact_id)
    return ContactHistoryOut(contact=contact, memory=memory)


async def call_transcript(
    ctx: Context,
    call: Annotated[
        str,
        Field(
            description="The call's id (a UUID), or the key of the attempt that held it "
            "(`attempt_key` in a contact's history)."
        ),
    ],
) -> CallDetail:
    """A call's transcript (its turns in spoken order), outcome, duration and cost, its
    events, and the post-call analysis (intent, sentiment, summary) once it ran."""
    caller = caller_of(ctx)
    pool, tenant = caller.services.pool, caller.tenant_id
    try:
        found = await call_detail(pool, tenant, uuid.UUID(call))
    except ValueError:
        found = await call_detail_by_attempt(pool, tenant, call)
    if found is None:
        raise not_found("call", call)
    return found


async def search_knowledge(
    ctx: Context,
    question: Annotated[
        str,
        Field(description="The question, as a caller would ask it.", min_length=1, max_length=1000),
    ],
    k: Annotated[int, Field(description="How many passages.", ge=1, le=50)] = 5,
) -> SearchResult:
    """Search the knowledge base (the tenant's documents) as the agents do: the passages
    that best answer the question, with their document and heading."""
    caller = caller_of(ctx)
    with as_tool_errors():
        request = SearchRequest(question=question, k=k)
        return await search_documents(caller.services, caller.tenant_id, request)
