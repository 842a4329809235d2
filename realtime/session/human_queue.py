"""The human queue as a call session sees it: wait for a person, or give up in time.

The session decides (`centralita.handoff.watch`) and talks to the caller; where the
queue lives (Postgres, for the media worker: `realtime/store/human_queue.py`) and how
a callback is scheduled durably (a Temporal workflow, started by the worker process)
are the implementation's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from centralita.handoff.models import HandoffContext
from centralita.handoff.watch import HandoffDecision

HandoffEnd = Literal["connected", "ended", "abandoned"]


class QueueUnavailableError(RuntimeError):
    """The queue could not be reached: nobody can be rung (the caller gets a callback)."""


class HumanQueue(Protocol):
    """One call's way into the human queue."""

    async def enqueue(
        self, decision: HandoffDecision, context: HandoffContext, decided_at: datetime
    ) -> str:
        """Put the call in the queue (decided at `decided_at`, UTC); the handoff's id.

        Raises:
            QueueUnavailableError: the queue could not be reached.
        """
        ...

    async def give_up(self, handoff_id: str) -> bool:
        """Take the call out of the queue: True when it still waited (nobody took it),
        False when an operator claimed it in the meantime (their audio is coming)."""
        ...

    async def settle(self, handoff_id: str, state: HandoffEnd) -> None:
        """The operator's audio joined (`connected`), the call ended after (`ended`), or
        the caller hung up while waiting (`abandoned`)."""
        ...

    async def schedule_callback(
        self, handoff_id: str | None, due_at: datetime, reason: str, context: HandoffContext
    ) -> None:
        """A person calls the caller back at `due_at`, durably.

        Raises:
            QueueUnavailableError: it could not be stored.
        """
        ...
