"""PostCallWorkflow on the real Temporal dev server and Postgres, over a stored call.

The call is stored the way the media worker stores it (`save_call`), linked to a
campaign's contact; it has no recording, so the pipeline corrects and analyses the
live transcript. Every expected value is derived here from the call's own words and
its date. Running the pipeline twice must store every row once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.learning.sources import revert_correction
from centralita.postcall.messages import PostCallInput, PostCallResult
from realtime.providers.whisper import WhisperSTT
from tests.support.stored_calls import insert_campaign, store_answered_call
from workers.post_call import build_post_call_worker
from workflows.post_call import PostCallWorkflow, post_call_workflow_id

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]

# Monday 2026-11-23, 10:00 in Santiago: "el viernes" is Friday the 27th.
STARTED = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
FRIDAY = date(2026, 11, 27)
TURNS = [
    ("Sí, con ella habla.", "Gracias, María. Le llamo por su deuda de doscientos mil pesos."),
    # "loscientos": what Whisper makes of "doscientos"; the L1 dictionary knows it.
    ("Le puedo pagar loscientos mil pesos el viernes.", "Perfecto, queda registrado."),
    ("Gracias, adiós.", "Que tenga un buen día."),
]


async def _seed_call(pool: Pool) -> tuple[str, str, str]:
    """A campaign's contact, its attempt and the stored call: (call key, call id, contact)."""
    campaign_id = await insert_campaign(pool)
    stored = await store_answered_call(pool, campaign_id, TURNS, started=STARTED)
    return stored.key, stored.call_id, stored.contact_id


@pytest.fixture
async def worker(dev_env: WorkflowEnvironment, pool: Pool) -> AsyncIterator[Worker]:
    queue = f"post-call-{uuid.uuid4().hex[:8]}"
    post_call = build_post_call_worker(dev_env.client, queue, pool, stt=WhisperSTT())
    async with post_call:
        yield post_call


async def _run(env: WorkflowEnvironment, worker: Worker, key: str, run: str) -> PostCallResult:
    return await env.client.execute_workflow(
        PostCallWorkflow.run,
        PostCallInput(call_key=key),
        id=f"{post_call_workflow_id(key)}-{run}",
        task_queue=worker.task_queue,
    )


async def _counts(pool: Pool, call_id: str) -> dict[str, int]:
    counts = {}
    async with pool.connection() as conn:
        for table in ("call_corrections", "call_analyses", "call_documents", "transcripts"):
            cur = await conn.execute(
                f"SELECT count(*) AS n FROM {table} WHERE call_id = %s::uuid",
                (call_id,),
            )
            row = await cur.fetchone()
            assert row is not None
            counts[table] = int(row["n"])
        cur = await conn.execute(
            # The announce step's event (storing the call recorded call_ended, the
            # analysis a promise: tests/integration/test_event_producers_stores.py).
            "SELECT count(*) AS n FROM domain_events WHERE call_id = %s::uuid "
            "AND type = 'call_analyzed'",
            (call_id,),
        )
        row = await cur.fetchone()
        assert row is not None
        counts["domain_events"] = int(row["n"])
    return counts


async def test_a_stored_call_is_corrected_analysed_documented_and_announced_once(
    dev_env: WorkflowEnvironment, worker: Worker, pool: Pool
) -> None:
    key, call_id, contact_id = await _seed_call(pool)
    result = await _run(dev_env, worker, key, "first")

    assert result.call_id == call_id
    assert result.retranscribed.source == "online"  # no recording to re-transcribe
    assert result.corrected.by_level.get("L1") == 1
    assert result.analysed.intent == "payment_promise"
    assert result.analysed.success is True
    assert result.analysed.extracted["promised_amount"] == "200000"
    assert result.analysed.extracted["promised_date"] == FRIDAY.isoformat()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT level, before, after, segment_index, word_start, pass "
            "FROM call_corrections WHERE call_id = %s::uuid",
            (call_id,),
        )
        corrections = [dict(r) for r in await cur.fetchall()]
        cur = await conn.execute(
            "SELECT text FROM transcripts WHERE call_id = %s::uuid AND kind = 'corrected'",
            (call_id,),
        )
        corrected = await cur.fetchone()
        cur = await conn.execute(
            "SELECT extracted FROM contacts WHERE id = %s::uuid", (contact_id,)
        )
        contact = await cur.fetchone()
        cur = await conn.execute(
            "SELECT document, checksum FROM call_documents WHERE call_id = %s::uuid", (call_id,)
        )
        document = await cur.fetchone()
        cur = await conn.execute(
            "SELECT id, type, payload FROM domain_events WHERE call_id = %s::uuid "
            "AND type = 'call_analyzed'",
            (call_id,),
        )
        events = [dict(r) for r in await cur.fetchall()]
    assert corrections == [
        {
            "level": "L1",
            "before": "loscientos",
            "after": "doscientos",
            "segment_index": 1,
            "word_start": 3,
            "pass": "online",
        }
    ]
    assert corrected is not None
    assert "doscientos mil pesos el viernes" in corrected["text"]
    assert contact is not None
    assert contact["extracted"]["promised_date"] == FRIDAY.isoformat()
    assert document is not None
    assert document["checksum"] == ""  # no recording
    assert document["document"]["corrections"]["online"][0]["after"] == "doscientos"
    assert document["document"]["analysis"]["intent"]["intent"] == "payment_promise"
    assert [(e["id"], e["type"]) for e in events] == [(result.event_id, "call_analyzed")]
    assert events[0]["payload"]["intent"] == "payment_promise"

    before = await _counts(pool, call_id)
    again = await _run(dev_env, worker, key, "second")  # e.g. a re-analysis
    assert again.event_id == result.event_id
    assert await _counts(pool, call_id) == before


async def test_an_unknown_call_fails_at_once_without_retries(
    dev_env: WorkflowEnvironment, worker: Worker
) -> None:
    with pytest.raises(WorkflowFailureError) as failure:
        await _run(dev_env, worker, "no-such-call", "unknown")
    activity_error = failure.value.cause
    assert isinstance(activity_error, ActivityError)
    assert activity_error.retry_state is RetryState.NON_RETRYABLE_FAILURE
    cause = activity_error.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "CallNotFound"


async def test_a_worker_killed_after_the_analysis_committed_duplicates_nothing(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str, tmp_path: Path
) -> None:
    key, call_id, _ = await _seed_call(pool)
    queue = f"post-call-crash-{uuid.uuid4().hex[:8]}"
    marker = tmp_path / "analysed"
    doomed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.integration.post_call_worker_proc",
        dev_env.client.service_client.config.target_host,
        database_url,
        queue,
        str(marker),
        cwd=REPO_ROOT,
        start_new_session=True,
    )
    try:
        handle = await dev_env.client.start_workflow(
            PostCallWorkflow.run,
            PostCallInput(call_key=key),
            id=f"{post_call_workflow_id(key)}-crash",
            task_queue=queue,
        )
        await _until(marker.exists, 60)
        analysed = await _counts(pool, call_id)  # the analysis is committed ...
        assert analysed["call_analyses"] == 1
        os.killpg(doomed.pid, signal.SIGKILL)  # ... and its worker dies before reporting it
        await doomed.wait()
        pending = (await handle.describe()).raw_description.pending_activities
        assert [a.activity_type.name for a in pending] == ["analyse"]
        replacement = build_post_call_worker(dev_env.client, queue, pool, stt=WhisperSTT())
        async with replacement:
            result = await handle.result()  # the analysis is redone after its timeout
    finally:
        if doomed.returncode is None:
            os.killpg(doomed.pid, signal.SIGKILL)
    assert result.analysed.intent == "payment_promise"
    after = await _counts(pool, call_id)
    assert after == {**analysed, "call_documents": 1, "domain_events": 1}


async def _until(check: Callable[[], bool], timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not await asyncio.to_thread(check):
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.2)


async def test_new_analyses_get_the_workers_current_version(
    dev_env: WorkflowEnvironment, pool: Pool
) -> None:
    key, call_id, _ = await _seed_call(pool)
    queue = f"post-call-v4-{uuid.uuid4().hex[:8]}"
    async with build_post_call_worker(
        dev_env.client, queue, pool, stt=WhisperSTT(), analysis_version=4
    ) as current:
        result = await _run(dev_env, current, key, "v4")
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT version FROM call_analyses WHERE call_id = %s::uuid", (call_id,)
        )
        row = await cur.fetchone()
    assert row is not None
    assert row["version"] == 4
    assert result.event_id.endswith("-v4")


async def test_a_reverted_correction_stays_reverted_in_the_text_across_reruns(
    dev_env: WorkflowEnvironment, worker: Worker, pool: Pool
) -> None:
    key, call_id, _ = await _seed_call(pool)
    await _run(dev_env, worker, key, "before-revert")

    async def state() -> tuple[str, list[bool]]:
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT segments FROM transcripts WHERE call_id = %s::uuid AND kind = 'corrected'",
                (call_id,),
            )
            row = await cur.fetchone()
            cur = await conn.execute(
                "SELECT reverted_at IS NOT NULL AS reverted FROM call_corrections "
                "WHERE call_id = %s::uuid",
                (call_id,),
            )
            flags = [r["reverted"] for r in await cur.fetchall()]
        assert row is not None
        return row["segments"][1]["text"], flags

    assert await state() == ("Le puedo pagar doscientos mil pesos el viernes.", [False])
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id FROM call_corrections WHERE call_id = %s::uuid", (call_id,)
        )
        row = await cur.fetchone()
        assert row is not None
        await revert_correction(conn, DEFAULT_TENANT_ID, call_id, row["id"], "ana")
    heard = ("Le puedo pagar loscientos mil pesos el viernes.", [True])
    assert await state() == heard  # the text says what was heard again
    await _run(dev_env, worker, key, "after-revert")  # e.g. a re-analysis
    assert await state() == heard  # corrected again, and reverted again
