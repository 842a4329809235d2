"""The clients a running API holds: Postgres pool and a lazily (re)connected Temporal."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from temporalio.client import Client

from api.live_hub import LiveEventHub
from api.operator_presence import OperatorPresence
from centralita.kernel.db import Pool
from centralita.kernel.key_ring import KeyRing
from centralita.kernel.settings import Settings
from centralita.kernel.temporal import connect_temporal


class TemporalUnavailableError(RuntimeError):
    """Temporal could not be reached in time."""


@dataclass
class TemporalConnector:
    """Connects on first use and keeps the client.

    The API must start (and say it is not ready) while Temporal is down, so the
    connection is made when a request needs it, not at start-up.
    """

    settings: Settings
    client: Client | None = None
    connect_timeout_s: float = 5.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def get(self) -> Client:
        """The connected client.

        Raises:
            TemporalUnavailableError: no connection within the timeout.
        """
        if self.client is not None:
            return self.client
        async with self._lock:
            if self.client is None:
                try:
                    self.client = await asyncio.wait_for(
                        connect_temporal(self.settings), self.connect_timeout_s
                    )
                except Exception as exc:
                    raise TemporalUnavailableError(
                        f"Temporal at {self.settings.effective_temporal_address} is unreachable: "
                        f"{exc}"
                    ) from exc
            return self.client


@dataclass
class ApiServices:
    """What route handlers reach through `api.deps`."""

    settings: Settings
    pool: Pool
    temporal: TemporalConnector
    live: LiveEventHub  # wakes live event streams (one LISTEN per process)
    handoffs: LiveEventHub  # wakes operator pages when a tenant's queue changes
    presence: OperatorPresence  # operators whose pages are gone go offline
    keys: KeyRing  # seals and opens the secrets tenants store (webhooks, carrier accounts)
