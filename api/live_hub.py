"""One LISTEN connection per API process, shared by every live event stream.

A stream per Postgres connection would exhaust the server's connections at a few
dozen viewers (Postgres allows 100 by default). The hub holds the one connection that
LISTENs on `call_events` and wakes the streams watching the call each notice names.
A notice only says "read again": streams read rows from `live_call_events` by id, so a
notice lost while the hub reconnects costs nothing; on reconnecting, the hub wakes
every stream once to re-read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import psycopg

from centralita.kernel.tasks import stop_tasks
from realtime.store import live_feed

log = logging.getLogger(__name__)

RECONNECT_S = (0.5, 1.0, 2.0, 5.0)  # then every 5 s while Postgres is away


# Issues the LISTEN on a fresh connection (notices' payloads are the keys watched).
Listen = Callable[[psycopg.AsyncConnection[Any]], Awaitable[None]]


class LiveEventHub:
    """Wakes the streams of a call when the media worker announces its new events.

    Connects on the first `watch` (an API that never streams never connects). The same
    hub serves another channel with its own `listen` (the human queue's `handoffs`,
    whose notices name a tenant: `api/routes/operators.py`).
    """

    def __init__(self, conninfo: str, listen: Listen = live_feed.listen) -> None:
        self._conninfo = conninfo
        self._listen = listen
        self._watchers: dict[str, set[asyncio.Event]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()
        self.reconnects = 0

    @contextlib.contextmanager
    def watch(self, call_key: str) -> Iterator[asyncio.Event]:
        """An event set whenever `call_key` may have new rows (clear it before reading)."""
        woken = asyncio.Event()
        self._watchers.setdefault(call_key, set()).add(woken)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(), name="live-event-hub")
        try:
            yield woken
        finally:
            watchers = self._watchers.get(call_key)
            if watchers is not None:
                watchers.discard(woken)
                if not watchers:
                    del self._watchers[call_key]

    async def ready(self, timeout_s: float = 10.0) -> None:
        """Until the LISTEN is in place (rows written after this are announced).

        Raises:
            TimeoutError: Postgres could not be reached in time.
        """
        await asyncio.wait_for(self._listening.wait(), timeout_s)

    @property
    def watched_calls(self) -> int:
        """Calls with at least one stream open on them."""
        return len(self._watchers)

    async def _read(self) -> None:
        attempt = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await self._listen(conn)
                    self._listening.set()
                    attempt = 0
                    self._wake_all()  # anything written while not listening gets read
                    async for notice in conn.notifies():
                        self._wake(notice.payload)
            except (psycopg.Error, OSError) as exc:
                self._listening.clear()
                delay = RECONNECT_S[min(attempt, len(RECONNECT_S) - 1)]
                attempt += 1
                self.reconnects += 1
                log.warning("live events: LISTEN connection lost (%s); again in %.1fs", exc, delay)
                await asyncio.sleep(delay)

    def _wake(self, call_key: str) -> None:
        for woken in self._watchers.get(call_key, ()):
            woken.set()

    def _wake_all(self) -> None:
        for watchers in self._watchers.values():
            for woken in watchers:
                woken.set()

    async def close(self) -> None:
        """Stop listening (the API is shutting down)."""
        if self._reader is not None:
            await stop_tasks((self._reader,), what="the live events reader")
        self._listening.clear()
