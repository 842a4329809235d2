"""Starting a human callback's durable workflow from the media worker.

The media worker stores the callback (`realtime/store/human_queue.py`) and hands it here:
`HumanCallbackWorkflow` (id `human-callback-{id}`) then waits for its time on the
orchestrator's queue. A Temporal that cannot be reached is logged: the callback stays
stored, operator pages list it all the same, and the orchestrator's sweep starts its
workflow later (`workers/human_callback_sweeper.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from centralita.handoff.callback_messages import HumanCallbackInput
from centralita.handoff.models import HumanCallback
from workflows.human_callback import HumanCallbackWorkflow


class HumanCallbackStarter:
    """Starts callbacks' workflows on `task_queue`, connecting to Temporal on first use."""

    def __init__(self, connect: Callable[[], Awaitable[Client]], task_queue: str) -> None:
        self._connect = connect
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self.task_queue = task_queue

    @classmethod
    def using(cls, client: Client, task_queue: str) -> HumanCallbackStarter:
        """A starter on a client already connected (the orchestrator's own)."""

        async def connected() -> Client:
            return client

        return cls(connected, task_queue)

    async def start(self, tenant_id: str, callback: HumanCallback) -> None:
        """Start the callback's workflow (starting it twice is harmless: one id each).

        Raises:
            Whatever connecting or starting raises (the caller logs it).
        """
        await self.start_if_new(tenant_id, callback)

    async def start_if_new(self, tenant_id: str, callback: HumanCallback) -> bool:
        """Start the callback's workflow: True when this started it, False when a workflow
        of that id ran already (running or ended: a callback is never run twice).

        Raises:
            Whatever connecting or starting raises.
        """
        async with self._lock:
            if self._client is None:
                self._client = await self._connect()
        try:
            await self._client.start_workflow(
                HumanCallbackWorkflow.run,
                HumanCallbackInput(
                    callback_id=callback.id, tenant_id=tenant_id, due_at=callback.due_at
                ),
                id=callback.workflow_id,
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            return False
        return True
