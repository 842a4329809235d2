"""Postgres restarted in immediate mode mid-campaign: the stack recovers, no result is lost.

Issue 20. `centralita media` (the simulated carrier, its dial log in Postgres) and
`centralita orchestrator` run as processes of their own, as in production, on a Postgres
that only this test uses (`tests/support/own_postgres.py`: restarting the session's
shared server would break every test running beside it). While calls ring and results
are being stored, Postgres is restarted with `pg_ctl restart -m immediate`: every
connection of both processes dies at once, and whatever they write in that second
fails. Then every contact must end with its result stored (its attempt completed with
the persona's outcome, the carrier's call ended with it), no number may ring twice,
and the stack must write again within 30 s of the restart (printed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.messages import CampaignStatus, campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy, CampaignRunInput
from centralita.campaigns.store.campaigns import NewContact, create_campaign
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from tests.support.campaigns import ALWAYS_OPEN
from tests.support.own_postgres import OwnPostgres, own_database
from tests.support.servers import free_port, task_queue
from tests.support.stack import CliProcess
from workflows.campaign import CampaignWorkflow

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

CONTACTS = 6
CONCURRENCY = 2  # three rounds of calls: the restart lands in the middle one
RING_S, TALK_S = 1.0, 2.0
RECOVERY_LIMIT_S = 30.0
CAMPAIGN_TIMEOUT_S = 50.0
READY_TIMEOUT_S = 30.0
SERVING_LINE = "orchestrator serving task queue"  # logged by workers/orchestrator.py

# What the stack writes as a campaign goes on: any change is a write that succeeded.
PROGRESS = (
    "SELECT (SELECT count(*) FROM call_attempts) AS attempts, "
    "(SELECT count(*) FROM call_attempts WHERE status = 'completed') AS completed, "
    "(SELECT count(*) FROM contact_events) AS contact_events, "
    "(SELECT count(*) FROM carrier_dial_log) AS dials, "
    "(SELECT count(*) FROM carrier_calls WHERE state = 'ended') AS carrier_ended"
)


def _phone(index: int) -> str:
    return f"+5699870{index:04d}"


@pytest.fixture
def own_pg() -> Iterator[tuple[OwnPostgres, str]]:
    """This test's own Postgres and its migrated database's URL."""
    with own_database() as server_and_url:
        yield server_and_url


@pytest.fixture
async def pool(own_pg: tuple[OwnPostgres, str]) -> AsyncIterator[Pool]:
    """The test's own pool on its own database (it lives through the restart too)."""
    pool = await open_pool(own_pg[1], min_size=1, max_size=2)
    await pool.wait(timeout=10)
    yield pool
    await pool.close()


def _env(tmp_path: Path, database_url: str, **settings: str) -> dict[str, str]:
    # Ours minus our CENTRALITA_* settings; the key ring the test clients encrypt
    # workflow payloads with stays, so the workers can read them.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CENTRALITA_") or k == "CENTRALITA_ENCRYPTION_KEYS"
    }
    env.update(CENTRALITA_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    env.update(CENTRALITA_DATABASE_URL=database_url, **settings)
    return env


@pytest.fixture
async def media(
    tmp_path: Path, own_pg: tuple[OwnPostgres, str], dev_env: WorkflowEnvironment
) -> AsyncIterator[str]:
    """`centralita media` whose personas promise to pay after a short ring and talk."""
    personas = [
        {
            "number": _phone(i),
            "name": f"contact {i}",
            "script": [
                {"outcome": "promise_to_pay", "ring_seconds": RING_S, "talk_seconds": TALK_S}
            ],
        }
        for i in range(CONTACTS)
    ]
    personas_file = tmp_path / "personas.json"
    personas_file.write_text(json.dumps({"personas": personas}), encoding="utf-8")
    port = free_port()
    env = _env(
        tmp_path,
        own_pg[1],
        CENTRALITA_CARRIER_PERSONAS=str(personas_file),
        CENTRALITA_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
    )
    args = ["media", "--host", "127.0.0.1", "--port", str(port)]
    with CliProcess(args, env, tmp_path / "logs") as proc:
        url = f"http://127.0.0.1:{port}"
        await _until(lambda: _healthy(f"{url}/health"), proc, "media healthy")
        yield url


@pytest.fixture
async def orchestrator(
    tmp_path: Path, own_pg: tuple[OwnPostgres, str], dev_env: WorkflowEnvironment, media: str
) -> AsyncIterator[str]:
    """`centralita orchestrator` on a fresh task queue, dialling through `media`; the queue."""
    queue = task_queue()
    env = _env(
        tmp_path,
        own_pg[1],
        CENTRALITA_TEMPORAL_ADDRESS=dev_env.client.service_client.config.target_host,
        CENTRALITA_TASK_QUEUE=queue,
        CENTRALITA_CARRIER_URL=media,
    )
    with CliProcess(["orchestrator"], env, tmp_path / "logs") as proc:

        async def serving() -> bool:
            return SERVING_LINE in proc.stderr

        await _until(serving, proc, "orchestrator serving")
        yield queue


async def test_an_immediate_postgres_restart_mid_campaign_loses_no_result(
    dev_env: WorkflowEnvironment,
    own_pg: tuple[OwnPostgres, str],
    pool: Pool,
    orchestrator: str,
) -> None:
    server, url = own_pg
    policy = CampaignPolicy.model_validate({**ALWAYS_OPEN, "concurrency": CONCURRENCY})
    campaign = await create_campaign(
        pool,
        tenant_id=DEFAULT_TENANT_ID,
        name="postgres restart",
        timezone="UTC",
        policy=policy,
        contacts=[
            NewContact(name=f"contact {i}", phones=[_phone(i)], recipient_timezone="UTC")
            for i in range(CONTACTS)
        ],
        workflow_id_for=campaign_workflow_id,
    )
    handle = await dev_env.client.start_workflow(
        CampaignWorkflow.run,
        CampaignRunInput(campaign_id=campaign.id, use_search_attributes=True),
        id=campaign_workflow_id(campaign.id),
        task_queue=orchestrator,
    )
    try:
        # Mid-campaign: results already stored, and calls ringing right now.
        await _wait_for(url, lambda p: p["completed"] >= 1 and p["dials"] > p["carrier_ended"])
        restarted = time.monotonic()
        server.restart_immediate()
        before = _progress(url)
        await _wait_for(url, lambda p: p != before, timeout_s=RECOVERY_LIMIT_S + 5)
        recovered_s = time.monotonic() - restarted
        print(f"\npostgres restart: first new write {recovered_s:.1f} s after the restart")
        result = await asyncio.wait_for(handle.result(), CAMPAIGN_TIMEOUT_S)
    finally:
        with contextlib.suppress(Exception):  # leave nothing running on the shared server
            await handle.terminate("postgres restart test over")

    assert recovered_s < RECOVERY_LIMIT_S
    assert result.status is CampaignStatus.COMPLETED, result
    _assert_every_contact_has_its_result_once(url, campaign.id)


def _assert_every_contact_has_its_result_once(url: str, campaign_id: str) -> None:
    contacts = _rows(
        url, "SELECT name, state FROM contacts WHERE campaign_id::text = %s", campaign_id
    )
    assert sorted(c["state"] for c in contacts) == ["done"] * CONTACTS, contacts
    attempts = _rows(
        url,
        "SELECT attempt_key, status, outcome FROM call_attempts WHERE campaign_id::text = %s",
        campaign_id,
    )
    assert len(attempts) == CONTACTS, attempts
    assert {(a["status"], a["outcome"]) for a in attempts} == {("completed", "promise_to_pay")}
    calls = _rows(
        url,
        "SELECT c.idempotency_key, c.state, c.dials, c.result->>'outcome' AS outcome, "
        "(SELECT count(*) FROM carrier_dial_log d WHERE d.idempotency_key = c.idempotency_key) "
        "AS rang FROM carrier_calls c WHERE c.campaign_id = %s",
        campaign_id,
    )
    assert {c["idempotency_key"] for c in calls} == {a["attempt_key"] for a in attempts}
    rang_twice = [c for c in calls if c["dials"] != 1 or c["rang"] != 1]
    assert not rang_twice, rang_twice
    assert {(c["state"], c["outcome"]) for c in calls} == {("ended", "promise_to_pay")}, calls


# -- probes -------------------------------------------------------------------------


def _rows(url: str, query: str, *params: Any) -> list[dict[str, Any]]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return conn.execute(query, params).fetchall()


def _progress(url: str) -> dict[str, Any] | None:
    """The counts of `PROGRESS`, or None while Postgres does not answer."""
    try:
        [row] = _rows(url, PROGRESS)
    except psycopg.OperationalError:
        return None
    return row


async def _wait_for(url: str, done: Any, *, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll `PROGRESS` until `done(counts)`."""
    deadline = time.monotonic() + timeout_s
    seen: dict[str, Any] | None = None
    while time.monotonic() < deadline:
        seen = _progress(url)
        if seen is not None and done(seen):
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"no such progress after {timeout_s:.0f} s: {seen}")


async def _healthy(url: str) -> bool:
    async with httpx.AsyncClient(timeout=2.0) as http:
        try:
            return (await http.get(url)).status_code == 200
        except httpx.HTTPError:
            return False


async def _until(check: Any, proc: CliProcess, what: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if not proc.alive:
            raise AssertionError(f"exited before {what}: {proc.stderr[-3000:]}")
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not {what} after {READY_TIMEOUT_S:.0f} s: {proc.stderr[-3000:]}")
