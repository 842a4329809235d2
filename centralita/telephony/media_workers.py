"""The media plane's membership: who can hold calls, how full each is, where a call goes.

A media worker announces itself (`MediaWorker`) and heartbeats its load; placement
(`Placement`) names the worker a call goes to and the Temporal task queue only that
worker polls, so the activity that holds the call runs where the call's audio is. A
worker that stops heartbeating for `STALE_AFTER` leaves placement by itself.

Pure models; the SQL is in `store/media_workers.py`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

# How often a media worker says it is alive, and when silence means it is gone. Three
# missed beats: a worker stalled by a busy event loop for a second is not evicted.
HEARTBEAT_EVERY = timedelta(seconds=1)
STALE_AFTER = timedelta(seconds=3)
# The activity error types of placement (the attempt workflow reads them).
NO_MEDIA_CAPACITY = "NoMediaCapacity"
MEDIA_WORKER_UNAVAILABLE = "MediaWorkerUnavailable"


class MediaWorker(BaseModel):
    """One media worker as it registers and heartbeats."""

    worker_id: str = Field(min_length=1, max_length=200)
    task_queue: str = Field(min_length=1, max_length=200)
    address: str = Field(min_length=1, max_length=500)
    max_calls: int = Field(ge=1)
    active_calls: int = Field(default=0, ge=0)
    languages: list[str] = Field(default_factory=list)
    voices: list[str] = Field(default_factory=list)
    draining: bool = False


class MediaWorkerRow(MediaWorker):
    """A registered worker with its times (operators' view of the media plane)."""

    started_at: datetime
    heartbeat_at: datetime
    alive: bool


class PlacementRequest(BaseModel):
    """Where should this call go? `avoid`: a worker that just failed it."""

    call_key: str
    campaign_id: str = ""  # whose view counts the call while it waits
    avoid: str | None = None


class Placement(BaseModel):
    """The worker chosen for a call and the task queue its activity goes to."""

    worker_id: str
    task_queue: str


class MediaCapacity(BaseModel):
    """The media plane at a glance: live workers, their room and their load."""

    workers: int
    draining: int
    max_calls: int
    active_calls: int

    @property
    def free(self) -> int:
        """Calls that could start now."""
        return max(0, self.max_calls - self.active_calls)

    def describe(self) -> str:
        """One line for an error or a log: why a call waits."""
        if self.workers == 0:
            return "no media worker is running (none heartbeating)"
        return (
            f"no media worker has room: {self.workers} live ({self.draining} draining), "
            f"{self.active_calls} of {self.max_calls} calls in use"
        )


class DroppedCall(BaseModel):
    """A call lost with its media worker, and what was said before it dropped."""

    call_key: str
    drop_number: int = Field(ge=1)
    media_worker: str
    detected_at: datetime
