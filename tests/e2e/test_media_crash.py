"""The media worker is killed mid-call: the attempt is retried once, not twice.

Issue 4: "The call-attempt activity dials through the media worker to the bot behind the
number, heartbeats while the call runs (a dead media worker is detected within seconds
and the attempt is retried as the same attempt, never dialed twice)".

`centralita orchestrator` and `centralita media` run as processes of their own against
a real Temporal dev server and a real Postgres. The one contact's persona takes several
seconds to ring and talk; while it rings, the media worker's whole process group is
killed with SIGKILL and a new one is started on the same port. The call was lost with
its process, so the retried dial activity (the same attempt, the same idempotency key)
rings the person once more, and only once: the carrier's durable dial log
(`carrier_dial_log`) must hold exactly two rings for the attempt key, the first marked
lost, and `call_attempts` exactly one attempt, with the call's final outcome.

The test prints how long after the kill the dial activity noticed (Temporal's record of
the failed try) and how long until the person's phone rang again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.messages import CampaignStatus, campaign_workflow_id
from centralita.campaigns.policy import CampaignRunInput
from centralita.campaigns.store.campaigns import NewContact, create_campaign
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from tests.e2e.test_crash_recovery import (
    MEDIA_ADMIN,
    MEDIA_ADMIN_KEY,
    campaign_policy,
    fetch,
    kill_hard,
    orchestrator_env,
    process_env,
    wait_healthy,
    wait_until_serving,
)
from tests.support.servers import free_port
from tests.support.stack import CliProcess
from workflows.attempt import attempt_workflow_id
from workflows.campaign import CampaignWorkflow

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

PHONE = "+56990001234"
# Long enough to be killed while ringing, and for the kill to land before the end.
RING_S = 4.0
TALK_S = 3.0
PERSONA = {
    "number": PHONE,
    "name": "pays after a long talk",
    "script": [
        {
            "outcome": CallOutcome.PROMISE_TO_PAY.value,
            "ring_seconds": RING_S,
            "talk_seconds": TALK_S,
            "extracted": {"promised_amount": 90000},
        }
    ],
}
READY_TIMEOUT_S = 60.0
# From the kill to the campaign's end: a restart (a few seconds), the dial's retry
# back-off (2 s, then 4 s), and the second ring and talk (7 s).
RECOVERY_TIMEOUT_S = 60.0


class MediaWorkers:
    """`centralita media` incarnations on one port; every one is reaped at the end."""

    def __init__(self, env: dict[str, str], port: int, log_dir: Path) -> None:
        self._env = env
        self.port = port
        self._log_dir = log_dir
        self.started: list[CliProcess] = []

    @property
    def url(self) -> str:
        """The media worker's base URL (the same for every incarnation)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def current(self) -> CliProcess:
        """The latest incarnation."""
        return self.started[-1]

    async def start(self) -> CliProcess:
        """Start a fresh media worker and wait until it answers."""
        argv = ["media", "--host", "127.0.0.1", "--port", str(self.port)]
        proc = CliProcess(argv, self._env, self._log_dir).start()
        self.started.append(proc)
        await wait_healthy(proc, f"{self.url}/health", READY_TIMEOUT_S)
        return proc

    def close(self) -> None:
        """Stop every incarnation still alive and close its logs."""
        for proc in self.started:
            proc.close()


@pytest.fixture
async def media_workers(tmp_path: Path, database_url: str) -> AsyncIterator[MediaWorkers]:
    """Media workers playing the one persona, on the test's database."""
    personas_file = tmp_path / "personas.json"
    personas_file.write_text(json.dumps({"personas": [PERSONA]}), encoding="utf-8")
    port = free_port()
    env = process_env(
        tmp_path,
        CENTRALITA_DATABASE_URL=database_url,
        CENTRALITA_CARRIER_PERSONAS=str(personas_file),
        CENTRALITA_MEDIA_HOST="127.0.0.1",
        CENTRALITA_MEDIA_PORT=str(port),
        CENTRALITA_ADMIN_API_KEY=MEDIA_ADMIN_KEY,
    )
    workers = MediaWorkers(env, port, tmp_path / "logs")
    try:
        yield workers
    finally:
        workers.close()


@pytest.fixture
async def orchestrator(
    tmp_path: Path, database_url: str, dev_env: WorkflowEnvironment, media_workers: MediaWorkers
) -> AsyncIterator[CliProcess]:
    """One orchestrator process on a fresh task queue, dialling through the media worker."""
    env = orchestrator_env(tmp_path, database_url, dev_env, media_workers.url)
    with CliProcess(["orchestrator"], env, tmp_path / "logs") as proc:
        yield proc


# -- probes -----------------------------------------------------------------------------


async def rings(pool: Pool, key: str) -> list[dict[str, Any]]:
    """The durable dial log's rows for `key`, in ring order."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT dial, owner, at, ended_as FROM carrier_dial_log "
            "WHERE idempotency_key = %s ORDER BY dial",
            (key,),
        )
        return await cur.fetchall()


async def wait_ringing(pool: Pool, http: httpx.AsyncClient, key: str) -> None:
    """Wait until the first ring of `key` is logged and the carrier says it rings."""
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if await rings(pool, key):
            reply = await http.get(f"/carrier/calls/{quote(key, safe='')}")
            if reply.status_code == 200 and reply.json()["state"] == "ringing":
                return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} never rang within {READY_TIMEOUT_S:.0f}s")


async def first_failed_try(client: Client, workflow_id: str, timeout_s: float) -> datetime:
    """When the attempt's dial activity first failed a try, by Temporal's record.

    The server's clock, which is this machine's: comparable with the moment of the kill.
    """
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for pending in (await handle.describe()).raw_description.pending_activities:
            if _failed_once(pending):
                return pending.last_attempt_complete_time.ToDatetime(tzinfo=UTC)
        await asyncio.sleep(0.05)
    raise AssertionError(f"no failed dial try recorded for {workflow_id} in {timeout_s:.0f}s")


def _failed_once(pending: PendingActivityInfo) -> bool:
    return pending.attempt >= 2 and pending.HasField("last_attempt_complete_time")


# -- the test -------------------------------------------------------------------------


async def test_media_worker_killed_mid_call_retries_the_attempt_once(
    dev_env: WorkflowEnvironment,
    pool: Pool,
    database_url: str,
    media_workers: MediaWorkers,
    orchestrator: CliProcess,
) -> None:
    """SIGKILL the media worker while the call rings: exactly one more ring, one attempt."""
    campaign = await create_campaign(
        pool,
        tenant_id=DEFAULT_TENANT_ID,
        name="media crash test",
        timezone="UTC",
        policy=campaign_policy(),
        contacts=[NewContact(name="Ana", phones=[PHONE], recipient_timezone="America/Santiago")],
        workflow_id_for=campaign_workflow_id,
    )
    [contact] = fetch(
        database_url,
        "SELECT id::text AS id FROM contacts WHERE campaign_id::text = %s",
        campaign.id,
    )
    key = attempt_workflow_id(campaign.id, contact["id"], 1)
    first = await media_workers.start()
    await wait_until_serving(orchestrator, READY_TIMEOUT_S)
    handle = await dev_env.client.start_workflow(
        CampaignWorkflow.run,
        CampaignRunInput(campaign_id=campaign.id, use_search_attributes=True),
        id=campaign_workflow_id(campaign.id),
        task_queue=orchestrator.env["CENTRALITA_TASK_QUEUE"],
    )
    try:
        async with httpx.AsyncClient(base_url=media_workers.url, timeout=5.0) as http:
            await wait_ringing(pool, http, key)
            await asyncio.sleep(0.5)  # the dialer is in its long poll now
            killed_at = datetime.now(UTC)
            kill_hard(first)
            noticing = asyncio.ensure_future(first_failed_try(dev_env.client, key, 30.0))
            second = await media_workers.start()
            restarted_s = (datetime.now(UTC) - killed_at).total_seconds()
            noticed = await noticing
            result = await asyncio.wait_for(handle.result(), RECOVERY_TIMEOUT_S)
            dial_log = (await http.get("/carrier/dial-log", headers=MEDIA_ADMIN)).json()
    finally:
        with contextlib.suppress(Exception):
            await handle.terminate("media crash test ended")

    rung = await rings(pool, key)
    detected_s = (noticed - killed_at).total_seconds()
    rang_again = f"{(rung[-1]['at'] - killed_at).total_seconds():.2f}s" if len(rung) > 1 else "-"
    print(
        f"\nmedia crash: dial activity noticed {detected_s:.3f}s after the kill; "
        f"media worker back after {restarted_s:.1f}s; rang again {rang_again} after the kill"
    )

    assert result.status is CampaignStatus.COMPLETED, result
    # The durable log: the lost ring and ONE retry, by two different processes.
    assert [(r["dial"], r["ended_as"]) for r in rung] == [(1, "lost"), (2, "result")], rung
    assert rung[0]["owner"] != rung[1]["owner"], rung
    assert [e["idempotency_key"] for e in dial_log].count(key) == 2, dial_log
    assert "was lost with carrier" in second.stderr, second.stderr[-3000:]
    # One attempt, with the second ring's outcome; no attempt 2 was ever started.
    attempts = fetch(
        database_url,
        "SELECT attempt_key, attempt_number, status, outcome FROM call_attempts "
        "WHERE contact_id::text = %s",
        contact["id"],
    )
    assert attempts == [
        {
            "attempt_key": key,
            "attempt_number": 1,
            "status": "completed",
            "outcome": CallOutcome.PROMISE_TO_PAY.value,
        }
    ], attempts
    [stored] = fetch(
        database_url,
        "SELECT state, outcome, attempts_count FROM contacts WHERE id::text = %s",
        contact["id"],
    )
    assert stored == {
        "state": "done",
        "outcome": CallOutcome.PROMISE_TO_PAY.value,
        "attempts_count": 1,
    }, stored
    # The kill was noticed by the dialer's broken long poll (the server keeps only a
    # placeholder for a failure this long, so the orchestrator's log says why).
    assert "CarrierUnavailableError: carrier unreachable" in orchestrator.stderr, (
        orchestrator.stderr[-3000:]
    )
