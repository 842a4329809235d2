"""The human queue in Postgres, for one call (`realtime.session.human_queue.HumanQueue`).

The media worker binds one to every call of a tenant whose agent has a handoff policy
(`realtime/store/agent_lookup.py`). The operator's side (claiming, answering, wrapping
up) is the API's (`api/routes/operators.py`). A callback is stored here and then handed
to `schedule` (the worker starts its durable `HumanCallbackWorkflow`); a Temporal that
cannot be reached leaves the stored row, which the operator page lists all the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

import psycopg
from psycopg_pool import PoolTimeout

from centralita.handoff import callbacks_store, queue_store
from centralita.handoff.models import (
    HandoffContext,
    HandoffState,
    HumanCallback,
    NewHandoff,
    NewHumanCallback,
)
from centralita.handoff.watch import HandoffDecision
from centralita.kernel.calls import DialRequest
from centralita.kernel.db import Conn, Pool
from centralita.kernel.privacy import mask_phone
from realtime.session.human_queue import HandoffEnd, QueueUnavailableError

log = logging.getLogger(__name__)

# Starts a callback's durable workflow (the worker process's; None: stored only).
CallbackScheduler = Callable[[str, HumanCallback], Awaitable[None]]
_NAME_KEYS = ("nombre", "name", "nombre_completo", "first_name")
DB_TIMEOUT_S = 5.0
_DB_ERRORS = (psycopg.Error, PoolTimeout, OSError, TimeoutError)
_T = TypeVar("_T")
# Which states each end leaves (a handoff already settled stays as it is).
_LEAVING: dict[HandoffEnd, list[HandoffState]] = {
    "connected": ["waiting", "answered"],
    "ended": ["answered", "connected"],
    "abandoned": ["waiting", "answered"],
}


class PostgresHumanQueue:
    """One call's way into its tenant's human queue.

    Args:
        pool: the database.
        tenant_id: the call's tenant.
        request: the call (its key, the person's number and variables).
        queue: the policy's queue name.
        max_wait_s: the policy's maximum wait (stored with the handoff for the page).
        schedule: starts a stored callback's workflow (tenant id, callback).
    """

    def __init__(
        self,
        pool: Pool,
        tenant_id: str,
        request: DialRequest,
        *,
        queue: str,
        max_wait_s: int,
        schedule: CallbackScheduler | None = None,
    ) -> None:
        self._pool = pool
        self._tenant = tenant_id
        self._request = request
        self._queue = queue
        self._max_wait_s = max_wait_s
        self._schedule = schedule

    async def enqueue(
        self, decision: HandoffDecision, context: HandoffContext, decided_at: datetime
    ) -> str:
        new = NewHandoff(
            tenant_id=self._tenant,
            call_key=self._request.idempotency_key,
            queue=self._queue,
            trigger=decision.trigger.value,
            reason=decision.reason,
            priority=decision.priority,
            max_wait_s=self._max_wait_s,
            decided_at=decided_at,
            context=self._completed(context),
        )
        handoff = await self._db("queueing the call", lambda conn: queue_store.insert(conn, new))
        return handoff.id

    async def give_up(self, handoff_id: str) -> bool:
        try:
            return await self._db(
                "leaving the queue",
                lambda conn: queue_store.move(conn, handoff_id, "timed_out", leaving=["waiting"]),
            )
        except QueueUnavailableError:
            return True  # nobody can claim it through a database we cannot reach either

    async def settle(self, handoff_id: str, state: HandoffEnd) -> None:
        leaving = _LEAVING[state]
        await self._db(
            f"marking the handoff {state}",
            lambda conn: queue_store.move(conn, handoff_id, state, leaving=leaving),
        )

    async def schedule_callback(
        self, handoff_id: str | None, due_at: datetime, reason: str, context: HandoffContext
    ) -> None:
        new = NewHumanCallback(
            tenant_id=self._tenant,
            call_key=self._request.idempotency_key,
            handoff_id=handoff_id,
            phone=self._person_number(),
            name=self._name(),
            reason=reason,
            due_at=due_at,
            context=self._completed(context),
        )
        callback = await self._db(
            "storing the callback", lambda conn: callbacks_store.insert(conn, new)
        )
        if self._schedule is not None:
            try:
                await self._schedule(self._tenant, callback)
            except Exception:  # stored: the operator page lists it all the same
                log.exception("callback %s: its workflow was not started", callback.id)

    def _completed(self, context: HandoffContext) -> HandoffContext:
        """The session's context, with who the call is with (as the agent knew them)."""
        number = self._person_number()
        variables = {
            k: v for k, v in self._request.variables.items() if not k.startswith("_")
        }  # the agent's own keys (its memory) are not the operator's business
        return context.model_copy(
            update={
                "name": self._name(),
                "phone_masked": mask_phone(number) if number else None,
                "direction": "inbound" if self._request.from_number else "outbound",
                "variables": variables,
            }
        )

    def _person_number(self) -> str | None:
        return self._request.from_number or self._request.to_number or None

    def _name(self) -> str | None:
        variables: dict[str, Any] = self._request.variables
        return next((str(variables[k]) for k in _NAME_KEYS if variables.get(k)), None)

    async def _db(self, what: str, work: Callable[[Conn], Awaitable[_T]]) -> _T:
        try:
            async with asyncio.timeout(DB_TIMEOUT_S), self._pool.connection() as conn:
                return await work(conn)
        except _DB_ERRORS as exc:
            raise QueueUnavailableError(f"{what}: {type(exc).__name__}: {exc}") from exc
