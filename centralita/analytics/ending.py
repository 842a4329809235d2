"""What ending a conversation needs from the database: is the key a call at all, and
its metrics once the media worker has stored it.

The media worker stores a call after it hangs up (`realtime/store/calls.py`), a moment
after the end control is applied; the caller of `POST /conversations/{id}/end` wants
the final metrics, so the API waits (briefly, bounded) for the stored call.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from centralita.analytics.conversation import ConversationMetrics, conversation_metrics
from centralita.analytics.store import ending as store
from centralita.kernel.db import Pool

_POLL_S = 0.2


@dataclass(frozen=True)
class CallState:
    """Where a call that is not stored yet stands."""

    under_way: bool  # its attempt is dialling, or it started live and has not ended
    ending: bool  # it ended live: the media worker is storing it


async def call_state(pool: Pool, tenant_id: str, key: str) -> CallState:
    """What the database knows of the call `key` (an attempt key or inbound call key).

    Inbound calls have no attempt; live events (`live_call_events`) show them.
    """
    row = await store.call_flags(pool, tenant_id, key)
    return CallState(
        under_way=row["dialing"] or (row["started"] and not row["ended"]), ending=row["ended"]
    )


async def wait_for_metrics(
    pool: Pool, tenant_id: str, ref: str, timeout_s: float
) -> ConversationMetrics | None:
    """The stored call's metrics as soon as it is stored, or None after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = await conversation_metrics(pool, tenant_id, ref)
        if found is not None or time.monotonic() >= deadline:
            return found
        await asyncio.sleep(min(_POLL_S, max(0.0, deadline - time.monotonic())))
