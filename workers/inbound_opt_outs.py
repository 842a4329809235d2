"""Telling running campaigns that an inbound caller opted out, from the media worker.

The opt-out itself is stored with the call (`realtime.store.calls.save_call`, one
transaction: the row in `opt_outs`, its `opt_out` event, the caller's open contacts
stopped). What is left is to cancel an attempt to that number that a running campaign
may have in flight, which only its workflow can do, by a signal.

That signal is sent here, right after the call is stored, rather than from the
post-call workflow: the media worker already holds a Temporal client (it starts the
inbound post-call workflows), the post-call worker may be switched off
(`CENTRALITA_POST_CALL=false`), and the post-call workflow would need a versioned
change for something that is only a shortcut. A shortcut, because a lost signal costs
no wrong call: every dial is checked against `opt_outs` at dial time. So, as
`POST /opt-outs` does, it is best effort: logged, never raised into the call's teardown.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from temporalio.client import Client

from centralita.campaigns.opt_out_signals import signal_opt_out
from centralita.kernel.db import Pool
from centralita.kernel.privacy import mask_phone
from centralita.telephony.numbers import InvalidNumberError, to_e164
from centralita.tenants.store.call_owners import call_key_tenant

log = logging.getLogger(__name__)

SIGNAL_TIMEOUT_S = 10.0


def connect_once(connect: Callable[[], Awaitable[Client]]) -> Callable[[], Awaitable[Client]]:
    """`connect`, called on first use only: the worker's parts then share one client.

    A failed connection is not kept: the next use tries again.
    """
    client: Client | None = None
    lock = asyncio.Lock()

    async def once() -> Client:
        nonlocal client
        async with lock:
            if client is None:
                client = await connect()
            return client

    return once


class InboundOptOuts:
    """Signals the caller's tenant's running campaigns to stop calling the caller now.

    Args:
        connect: returns a connected client (share one made by `connect_once`).
        pool: where the call's tenant and the campaigns calling the number are read.
        timeout_s: how long the signals may take before giving up (and logging it).
    """

    def __init__(
        self,
        connect: Callable[[], Awaitable[Client]],
        pool: Pool,
        *,
        timeout_s: float = SIGNAL_TIMEOUT_S,
    ) -> None:
        self._connect = connect
        self._pool = pool
        self._timeout_s = timeout_s

    async def tell_campaigns(self, call_key: str, caller: str | None) -> bool:
        """Signal the campaigns calling `caller` (True), or log why that failed (False)."""
        try:
            phone = to_e164(caller or "")
        except InvalidNumberError:
            return False  # no number was opted out (`save_call` logged it)
        try:
            async with asyncio.timeout(self._timeout_s):
                async with self._pool.connection() as conn:
                    tenant = await call_key_tenant(conn, call_key)
                await signal_opt_out(await self._connect(), self._pool, phone, tenant_id=tenant)
        except Exception as exc:  # stored already; the dial-time check still holds
            log.warning(
                "opt-out of %s (call %s) stored but not signalled to campaigns: %r",
                mask_phone(phone),
                call_key,
                exc,
            )
            return False
        return True
