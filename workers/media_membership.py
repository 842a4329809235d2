"""A media worker's place in the media plane: registered, heartbeating, taking calls, draining.

Each media worker process:

- registers in `media_workers` with its capacity, the languages and voices it has, its
  address and a Temporal task queue of its own (`<prefix>-<worker id>`), then
  heartbeats its load every second; placement (activities/placement.py) forgets a
  worker whose heartbeat is older than `STALE_AFTER`;
- runs a Temporal worker on that queue with the call activity, which dials through
  this process's own carrier service (`/carrier`, its durable dial log), so the call,
  its audio, its carrier stream or SIP dialog and the activity that waits for its end
  all live here;
- on SIGTERM drains: it says so in the registry (placement skips it at once), stops
  polling its queue, lets the calls in progress end (up to `media_drain_timeout_s`),
  deregisters, and only then lets the HTTP server stop.

Temporal being unreachable at start is not fatal: the HTTP carrier keeps serving
campaigns that dial it directly, and the worker joins placement once Temporal answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker

from activities.calls import CallActivities
from activities.placement import CallAdmission
from centralita.kernel.db import Pool
from centralita.kernel.settings import Settings
from centralita.kernel.temporal import connect_temporal
from centralita.telephony.media_workers import HEARTBEAT_EVERY, MediaWorker
from centralita.telephony.store import media_workers
from realtime.carrier.http_dialer import HttpDialer
from realtime.providers.espeak import DEFAULT_VOICES

log = logging.getLogger(__name__)

# Between two tries to reach Temporal or the database at start.
RECONNECT_EVERY_S = 2.0


def new_worker_id() -> str:
    """Host and pid to read, a random part so a restarted worker is a new one."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


def advertised_url(settings: Settings) -> str:
    """This worker's HTTP address as the other processes reach it.

    Bound to every interface (a container, a host of its own), it is the machine's
    hostname: what Compose's network (each replica's container id) and most LANs
    resolve. Set `media_advertised_url` where they do not.
    """
    if settings.media_advertised_url:
        return settings.media_advertised_url.rstrip("/")
    host = settings.media_host
    if host in {"0.0.0.0", "::"}:  # noqa: S104 - a bind-all address is not reachable as such
        host = socket.gethostname()
    return f"http://{host}:{settings.media_port}"


@dataclass(frozen=True)
class MembershipConfig:
    """Who this worker is in placement, and how it drains."""

    worker_id: str
    task_queue: str
    address: str
    max_calls: int
    drain_timeout: timedelta

    @classmethod
    def from_settings(cls, settings: Settings, *, port: int | None = None) -> MembershipConfig:
        """The configured identity (a generated id when none is set)."""
        worker_id = settings.media_worker_id or new_worker_id()
        address = advertised_url(settings)
        if port is not None and not settings.media_advertised_url:
            address = address.rsplit(":", 1)[0] + f":{port}"
        return cls(
            worker_id=worker_id,
            task_queue=f"{settings.media_task_queue_prefix}-{worker_id}",
            address=address,
            max_calls=settings.media_max_calls,
            drain_timeout=timedelta(seconds=settings.media_drain_timeout_s),
        )


class MediaMembership:
    """Registers, heartbeats and serves this worker's call queue; `drain` ends it."""

    def __init__(
        self,
        config: MembershipConfig,
        pool: Pool,
        connect: Callable[[], Awaitable[Client]],
        *,
        load: Callable[[], int] = lambda: 0,
    ) -> None:
        self.config = config
        self.admission = CallAdmission(config.max_calls)
        self._pool = pool
        self._connect = connect
        self._load = load
        self._dialer = HttpDialer(config.address)
        self._worker: Worker | None = None
        # Whether its queue is polled now: until then (start, Temporal lost) placement
        # sees the worker as not taking calls, so no call waits on a queue nobody reads.
        self.polling = False
        self._tasks: list[asyncio.Task[None]] = []
        # What else stops taking calls when draining starts (the SIP line's INVITEs).
        self.on_drain: list[Callable[[], None]] = []

    @classmethod
    def for_settings(
        cls, settings: Settings, pool: Pool, *, port: int | None = None, load: Callable[[], int]
    ) -> MediaMembership:
        """The membership of the media worker these settings describe."""
        return cls(
            MembershipConfig.from_settings(settings, port=port),
            pool,
            lambda: connect_temporal(settings),
            load=load,
        )

    def start(self) -> None:
        """Join placement in the background (registration, heartbeats, the queue)."""
        self._tasks = [
            asyncio.create_task(self._heartbeats(), name="media-heartbeats"),
            asyncio.create_task(self._serve_queue(), name="media-call-queue"),
        ]

    def announcement(self) -> MediaWorker:
        """What the registry says of this worker now."""
        return MediaWorker(
            worker_id=self.config.worker_id,
            task_queue=self.config.task_queue,
            address=self.config.address,
            max_calls=self.config.max_calls,
            active_calls=self.active_calls,
            languages=sorted({language.split("-")[0] for language in DEFAULT_VOICES}),
            voices=sorted({voice for voices in DEFAULT_VOICES.values() for voice in voices}),
            draining=self.admission.draining or not self.polling,
        )

    @property
    def active_calls(self) -> int:
        """Calls held: those placed here (ringing included) or under way on the line."""
        return max(self.admission.active, self._load())

    async def drain(self) -> None:
        """Take no new call, let those in progress end (up to the limit), then leave."""
        self.admission.draining = True
        for stop_taking_calls in self.on_drain:
            stop_taking_calls()
        log.info(
            "media worker %s draining: %d call(s) in progress, waiting up to %.0f s",
            self.config.worker_id,
            self.active_calls,
            self.config.drain_timeout.total_seconds(),
        )
        with contextlib.suppress(Exception):  # the heartbeat loop says it again anyway
            await self._beat()
        if self._worker is not None:
            # Stops polling at once; waits for the running call activities up to the
            # worker's graceful_shutdown_timeout (the drain limit), then cancels them.
            await self._worker.shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._leave()
        await self._dialer.aclose()
        log.info("media worker %s drained", self.config.worker_id)

    async def _heartbeats(self) -> None:
        while True:
            try:
                await self._beat()
            except Exception as exc:
                log.warning("media worker heartbeat failed: %s", exc)
            await asyncio.sleep(HEARTBEAT_EVERY.total_seconds())

    async def _beat(self) -> None:
        async with self._pool.connection() as conn:
            known = await media_workers.heartbeat(
                conn,
                self.config.worker_id,
                active_calls=self.active_calls,
                draining=self.admission.draining or not self.polling,
            )
            if not known:
                await media_workers.register(conn, self.announcement())

    async def _leave(self) -> None:
        try:
            async with self._pool.connection() as conn:
                await media_workers.deregister(conn, self.config.worker_id)
        except Exception as exc:
            log.warning("media worker could not deregister: %s", exc)

    async def _serve_queue(self) -> None:
        """Poll this worker's queue; a worker that fails (Temporal lost) is started again."""
        activities = CallActivities(self._pool, self._dialer, admission=self.admission)
        while not self.admission.draining:
            client = await self._client()
            self._worker = Worker(
                client,
                task_queue=self.config.task_queue,
                activities=[activities.place_call],
                # Room for refusals to be answered while full; the admission decides.
                max_concurrent_activities=self.config.max_calls + 2,
                graceful_shutdown_timeout=self.config.drain_timeout,
            )
            log.info(
                "media worker %s taking calls on task queue %r (at most %d at once)",
                self.config.worker_id,
                self.config.task_queue,
                self.config.max_calls,
            )
            self.polling = True
            try:
                await self._worker.run()
            except Exception:
                log.exception("media worker's call queue stopped; starting it again")
                await asyncio.sleep(RECONNECT_EVERY_S)
            finally:
                self.polling = False

    async def _client(self) -> Client:
        while True:
            try:
                return await self._connect()
            except Exception as exc:
                log.warning("media worker cannot reach Temporal yet: %s", exc)
                await asyncio.sleep(RECONNECT_EVERY_S)
