"""Bulk re-analysis on the real Temporal dev server and Postgres.

A campaign's calls are stored the way the media worker stores them, each already
analysed at version 1 (a stale analysis: intent 'other'); a call of another campaign and
a soft-deleted call of the same campaign must be left alone. Re-analysis to version 2
must bring every selected call to version 2 with the analysis its own words give, report
its progress, continue as new between pages, change nothing when run again, and, after
being killed half-way, finish on restart without redoing a call it had finished.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.postcall.reanalysis_messages import (
    ReanalysisFilter,
    ReanalysisInput,
    ReanalysisProgress,
    ReanalysisResult,
)
from realtime.providers.whisper import WhisperSTT
from tests.support.servers import AppClients, settings_for
from tests.support.stored_calls import insert_campaign, store_answered_call
from workers.post_call import build_post_call_worker
from workflows.reanalysis import ReanalysisWorkflow

pytestmark = pytest.mark.integration

BASE = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
TURNS = [
    ("Sí, con ella habla.", "Le llamo por su deuda de doscientos mil pesos."),
    ("Le puedo pagar doscientos mil pesos el viernes.", "Perfecto, queda registrado."),
]


async def _store_call(pool: Pool, campaign_id: str, index: int) -> str:
    """A stored, answered call of `campaign_id` analysed at version 1; its id."""
    started = BASE + timedelta(minutes=index)
    stored = await store_answered_call(
        pool, campaign_id, TURNS, started=started, position=index, duration_s=28.0
    )
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO call_analyses (call_id, version, intent, intent_confidence, "
            "sentiment_trend, success, quality, summary, analysis, analysed_at) "
            "VALUES (%s, 1, 'other', 0.1, 'flat', NULL, 0.1, 'stale', '{}', %s)",
            (stored.call_id, BASE),
        )
    return stored.call_id


async def _campaign(pool: Pool, calls: int) -> tuple[str, list[str]]:
    campaign_id = await insert_campaign(pool, "reanalysis", "completed")
    return campaign_id, [await _store_call(pool, campaign_id, i) for i in range(calls)]


async def _analyses(pool: Pool, call_ids: list[str]) -> dict[str, dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT call_id::text AS call_id, version, intent, analysed_at FROM call_analyses "
            "WHERE call_id = ANY(%s::uuid[])",
            (call_ids,),
        )
        return {r["call_id"]: dict(r) for r in await cur.fetchall()}


async def _events(pool: Pool, call_ids: list[str]) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id FROM domain_events WHERE call_id = ANY(%s::uuid[]) "
            "AND type = 'call_analyzed' ORDER BY id",
            (call_ids,),
        )
        return [r["id"] for r in await cur.fetchall()]


@pytest.fixture
async def worker(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Worker]:
    queue = f"reanalysis-{uuid.uuid4().hex[:8]}"
    post_call = build_post_call_worker(
        dev_env.client, queue, pool, stt=WhisperSTT(), max_concurrent_activities=2
    )
    async with post_call:
        yield post_call


def _job(campaign_id: str, **overrides: Any) -> ReanalysisInput:
    return ReanalysisInput(
        filter=ReanalysisFilter(tenant_id=DEFAULT_TENANT_ID, campaign_id=campaign_id),
        analysis_version=2,
        **overrides,
    )


async def test_a_campaign_is_reanalysed_across_runs_and_a_second_run_changes_nothing(
    dev_env: WorkflowEnvironment, worker: Worker, pool: Pool
) -> None:
    campaign_id, calls = await _campaign(pool, 5)
    _, others = await _campaign(pool, 1)  # another campaign: not selected
    deleted = await _store_call(pool, campaign_id, 99)
    async with pool.connection() as conn:
        await conn.execute("UPDATE calls SET deleted_at = now() WHERE id = %s", (deleted,))
    rid = f"reanalysis-{uuid.uuid4().hex[:8]}"

    # Pages of 2 and a history budget of 1 event: a new run after every page but the last.
    handle = await dev_env.client.start_workflow(
        ReanalysisWorkflow.run,
        _job(campaign_id, page_size=2, concurrency=2, max_history_events=1),
        id=rid,
        task_queue=worker.task_queue,
    )
    result = await handle.result()

    progress = result.progress
    assert (progress.total, progress.done, progress.skipped, progress.failed) == (5, 5, 0, 0)
    assert progress.status == "completed"
    assert progress.runs == 3  # pages of 2, 2 and 1
    assert progress.cursor is not None
    assert progress.cursor.call_id == calls[-1]
    queried = await handle.query(ReanalysisWorkflow.progress)
    assert queried == progress
    after = await _analyses(pool, [*calls, *others, deleted])
    assert {after[c]["version"] for c in calls} == {2}
    assert {after[c]["intent"] for c in calls} == {"payment_promise"}  # from their words
    assert after[others[0]]["version"] == 1
    assert after[others[0]]["intent"] == "other"
    assert after[deleted]["version"] == 1
    assert await _events(pool, calls) == sorted(f"call_analyzed-{c}-v2" for c in calls)

    # The same re-analysis again (a new run of the same id): everything is at version 2.
    again: ReanalysisResult = await dev_env.client.execute_workflow(
        ReanalysisWorkflow.run,
        _job(campaign_id, page_size=2, concurrency=2),
        id=rid,
        task_queue=worker.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    assert (again.progress.done, again.progress.skipped, again.progress.failed) == (0, 5, 0)
    assert await _analyses(pool, calls) == {c: after[c] for c in calls}  # analysed_at too
    assert await _events(pool, calls) == sorted(f"call_analyzed-{c}-v2" for c in calls)

    # Another re-analysis to the same version: every call already is at it.
    other: ReanalysisResult = await dev_env.client.execute_workflow(
        ReanalysisWorkflow.run,
        _job(campaign_id),
        id=f"{rid}-other",
        task_queue=worker.task_queue,
    )
    assert (other.progress.done, other.progress.skipped) == (0, 5)
    assert await _analyses(pool, calls) == {c: after[c] for c in calls}


async def test_a_reanalysis_killed_half_way_finishes_on_restart_without_redoing_calls(
    dev_env: WorkflowEnvironment, worker: Worker, pool: Pool
) -> None:
    campaign_id, calls = await _campaign(pool, 8)
    rid = f"reanalysis-{uuid.uuid4().hex[:8]}"
    job = _job(campaign_id, page_size=3, concurrency=1)
    handle = await dev_env.client.start_workflow(
        ReanalysisWorkflow.run, job, id=rid, task_queue=worker.task_queue
    )
    seen = await _progress_until(handle, lambda p: p.done >= 2)
    assert seen.status == "running"
    assert seen.total == 8
    assert seen.done < 8
    await handle.terminate("killed half-way")  # its child in flight is terminated with it
    # An activity under way when its workflow died still completes: let it land.
    await asyncio.sleep(1.0)
    before = await _analyses(pool, calls)
    finished = {c for c in calls if before[c]["version"] == 2}
    assert 2 <= len(finished) < 8

    restarted = await dev_env.client.start_workflow(
        ReanalysisWorkflow.run,
        job,
        id=rid,
        task_queue=worker.task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    )
    result = await restarted.result()

    assert result.progress.skipped == len(finished)
    assert result.progress.done == 8 - len(finished)
    assert result.progress.failed == 0
    after = await _analyses(pool, calls)
    assert {after[c]["version"] for c in calls} == {2}
    for call in finished:  # not re-analysed: the same row, the same time
        assert after[call] == before[call]
    assert await _events(pool, calls) == sorted(f"call_analyzed-{c}-v2" for c in calls)


async def test_the_api_starts_one_reanalysis_per_request_and_reports_its_progress(
    dev_env: WorkflowEnvironment,
    worker: Worker,
    pool: Pool,
    database_url: str,
    app_clients: AppClients,
) -> None:
    campaign_id, calls = await _campaign(pool, 3)
    settings = settings_for(
        database_url,
        dev_env.client.service_client.config.target_host,
        post_call_task_queue=worker.task_queue,
    )
    api = await app_clients.open(settings, temporal_client=dev_env.client)
    body = {"campaign_id": campaign_id, "analysis_version": 2}

    first = await api.post("/reanalyses", json=body)
    assert first.status_code == 202
    rid = first.json()["id"]
    progress = await _api_progress_until(api, rid, lambda p: p["status"] == "completed")
    assert (progress["total"], progress["done"], progress["skipped"]) == (3, 3, 0)
    analysed = await _analyses(pool, calls)

    second = await api.post("/reanalyses", json=body)  # the same request: the same one
    assert second.status_code == 202
    assert second.json()["id"] == rid
    assert (await api.get(f"/reanalyses/{rid}")).json() == progress
    assert await _analyses(pool, calls) == analysed

    other = await api.post("/reanalyses", json={**body, "analysis_version": 3})
    assert other.status_code == 202
    assert other.json()["id"] != rid
    assert (await api.get("/reanalyses/no-such-thing")).status_code == 404
    bad = await api.post(
        "/reanalyses", json={**body, "date_from": "2026-12-01", "date_to": "2026-11-01"}
    )
    assert bad.status_code == 422
    await _api_progress_until(api, other.json()["id"], lambda p: p["status"] == "completed")


async def _progress_until(
    handle: WorkflowHandle[Any, Any], done: Any, timeout_s: float = 60
) -> ReanalysisProgress:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        progress: ReanalysisProgress = await handle.query(ReanalysisWorkflow.progress)
        if done(progress):
            return progress
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"progress stuck at {progress}")
        await asyncio.sleep(0.05)


async def _api_progress_until(
    api: httpx.AsyncClient, rid: str, done: Any, timeout_s: float = 60
) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        response = await api.get(f"/reanalyses/{rid}")
        assert response.status_code == 200, response.text
        progress: dict[str, Any] = response.json()
        if done(progress):
            return progress
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"progress stuck at {progress}")
        await asyncio.sleep(0.1)
