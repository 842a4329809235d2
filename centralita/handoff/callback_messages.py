"""What `HumanCallbackWorkflow` is given and signalled (plain dataclasses: Temporal's
converter carries them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HumanCallbackInput:
    """A stored callback to wait for: its id, tenant and due time (UTC)."""

    callback_id: str
    tenant_id: str
    due_at: datetime


@dataclass(frozen=True)
class CallbackSettled:
    """An operator reported the callback made (`done`), or it was `cancelled`."""

    state: str  # "done" or "cancelled"
    by: str | None = None


@dataclass(frozen=True)
class HumanCallbackResult:
    """How the callback ended: done, cancelled, expired (nobody reported it), or settled
    (done or cancelled in the table while its workflow could not be told: the table says
    which)."""

    state: str
    by: str | None = None
