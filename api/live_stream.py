"""A call's live events as server-sent events, from Postgres, resumable by event id.

The media worker writes events into `live_call_events` and NOTIFYs channel
`call_events` with the call key (`realtime/store/live_events.py`; the API's reads are
`realtime/store/live_feed.py`). A stream registers with the process's `LiveEventHub`
(one LISTEN connection for all streams) first, then reads the rows after the client's
`Last-Event-ID` (every row's id is its SSE id), sends them, and waits to be woken for
its call; a row that arrived between the read and the wait is not missed because the
stream was watching before it read. The stream ends after `call_ended`; a comment every
`keepalive_s` keeps proxies from closing a quiet stream.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from api.live_hub import LiveEventHub
from centralita.kernel.call_events import CallEventType
from centralita.kernel.db import Pool
from realtime.store import live_feed

_BATCH = 500


@dataclass(frozen=True)
class LiveEvent:
    """One stored live event."""

    id: int
    call_key: str
    seq: int
    type: str
    payload: dict[str, Any]
    at_s: float

    def sse(self) -> str:
        """The event as an SSE frame (`id`, `event`, one `data` line)."""
        data = {
            "call_key": self.call_key,
            "seq": self.seq,
            "type": self.type,
            "payload": self.payload,
            "at_s": round(self.at_s, 3),
        }
        body = json.dumps(data, ensure_ascii=False)
        return f"id: {self.id}\nevent: {self.type}\ndata: {body}\n\n"


async def events_after(pool: Pool, call_key: str, after_id: int) -> list[LiveEvent]:
    """The call's events with ids above `after_id`, oldest first (at most one batch)."""
    async with pool.connection() as conn:
        rows = await live_feed.events_after(conn, call_key, after_id, _BATCH)
    return [LiveEvent(**row) for row in rows]


async def live_calls(
    pool: Pool,
    tenant_id: str,
    *,
    limit: int = 100,
    offset: int = 0,
    within_hours: float = 12.0,
) -> list[dict[str, Any]]:
    """The tenant's calls that started (in the last `within_hours`) and have not ended,
    newest first (`centralita.tenants.store.call_owners` says whose call a key is)."""
    async with pool.connection() as conn:
        return await live_feed.calls_under_way(
            conn, tenant_id, limit=limit, offset=offset, within_hours=within_hours
        )


async def stream_call_events(
    pool: Pool, hub: LiveEventHub, call_key: str, after_id: int, *, keepalive_s: float = 15.0
) -> AsyncIterator[str]:
    """SSE frames for `call_key` from `after_id` on, until the call ends."""
    with hub.watch(call_key) as woken:
        await hub.ready()
        last = after_id
        while True:
            woken.clear()  # a notice from here on wakes the wait below
            batch = await events_after(pool, call_key, last)
            for event in batch:
                last = event.id
                yield event.sse()
                if event.type == CallEventType.CALL_ENDED:
                    return
            if len(batch) == _BATCH:
                continue  # more rows already waiting
            try:
                await asyncio.wait_for(woken.wait(), keepalive_s)
            except TimeoutError:
                yield ": keep-alive\n\n"
