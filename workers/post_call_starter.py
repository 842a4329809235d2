"""Starting the post-call workflow of a call no attempt workflow follows: inbound calls.

An outbound call's attempt starts its post-call workflow as a child. An inbound call has
no workflow behind it, so the media worker starts one itself once the call is stored.
That must never disturb calls: a Temporal that cannot be reached is logged, and the call
stays stored for a later re-analysis to pick up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from centralita.postcall.messages import PostCallInput
from workflows.post_call import PostCallWorkflow, post_call_workflow_id

log = logging.getLogger(__name__)


class PostCallStarter:
    """Starts post-call workflows on `task_queue`, connecting to Temporal on first use.

    Args:
        connect: returns a connected client (called once, then reused).
        task_queue: the post-call worker's queue.
    """

    def __init__(self, connect: Callable[[], Awaitable[Client]], task_queue: str) -> None:
        self._connect = connect
        self._client: Client | None = None
        self._lock = asyncio.Lock()
        self.task_queue = task_queue

    async def start(self, call_key: str) -> bool:
        """Start the call's post-call workflow (True), or log why not (False).

        Starting it twice is harmless: the workflow id is the call's.
        """
        try:
            client = await self._client_once()
            await client.start_workflow(
                PostCallWorkflow.run,
                PostCallInput(call_key=call_key),
                id=post_call_workflow_id(call_key),
                task_queue=self.task_queue,
            )
        except WorkflowAlreadyStartedError:
            return True
        except Exception as exc:  # the call is stored; a re-analysis can pick it up
            log.warning("post-call workflow of %s not started: %r", call_key, exc)
            return False
        return True

    async def _client_once(self) -> Client:
        async with self._lock:
            if self._client is None:
                self._client = await self._connect()
            return self._client
