"""The `centralita` command: dev stack, demo, migrations and each process role."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import TYPE_CHECKING, Any

from centralita.kernel import runtime
from centralita.kernel.logs import setup_logging
from centralita.kernel.settings import InvalidSettingsError, Settings, get_settings
from centralita.kernel.tasks import stop_tasks
from workers.tenants_cli import add_commands as add_tenant_commands

if TYPE_CHECKING:
    from workers.devstack import DevStack

log = logging.getLogger("centralita")


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "handler"):
        parser.print_help()
        return 2
    try:
        settings = get_settings()
    except InvalidSettingsError as exc:
        # The person at the terminal fixes a variable; a traceback would only hide which.
        for problem in exc.problems:
            print(f"centralita: invalid setting {problem}", file=sys.stderr)
        return 2
    setup_logging(settings.log_level, component=args.component)
    try:
        code: int = args.handler(args, settings)
    except KeyboardInterrupt:
        return 130
    return code


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="centralita", description="Centralita: an open-source AI voice call center."
    )
    commands = parser.add_subparsers(title="commands")

    dev = commands.add_parser("dev", help="the embedded development stack")
    dev_commands = dev.add_subparsers(title="dev commands")
    up = dev_commands.add_parser(
        "up", help="start Postgres, Temporal (+UI), workers and the API; Ctrl-C stops all"
    )
    up.set_defaults(handler=_dev_up, component="devstack")

    demo = commands.add_parser("demo", help="run a demo campaign end to end on the embedded stack")
    demo.add_argument("--keep", action="store_true", help="keep the stack running afterwards")
    demo.add_argument("--timeout", type=float, default=180.0, help="seconds to wait (default 180)")
    demo.set_defaults(handler=_demo, component="demo")

    migrate = commands.add_parser("migrate", help="apply pending database migrations")
    migrate.set_defaults(handler=_migrate, component="migrate")

    api = commands.add_parser("api", help="serve the HTTP API")
    api.add_argument("--host")
    api.add_argument("--port", type=int)
    api.set_defaults(handler=_api, component="api")

    orchestrator = commands.add_parser("orchestrator", help="run the orchestrator worker")
    orchestrator.set_defaults(handler=_orchestrator, component="orchestrator")

    post_call = commands.add_parser("post-call", help="run the post-call worker")
    post_call.set_defaults(handler=_post_call, component="post-call")

    webhooks = commands.add_parser(
        "webhooks", help="run the webhooks worker (outbox dispatcher and deliveries)"
    )
    webhooks.set_defaults(handler=_webhooks, component="webhooks")

    purge = commands.add_parser(
        "purge",
        help="remove what retention says is due: soft-deleted and expired calls with their "
        "recordings, old live events (run daily from cron)",
    )
    purge.set_defaults(handler=_purge, component="purge")

    media = commands.add_parser("media", help="run the media worker")
    media.add_argument("--host")
    media.add_argument("--port", type=int)
    media.set_defaults(handler=_media, component="media")

    add_tenant_commands(commands)  # tenants create|list, keys create|list|revoke|new|rotate
    return parser


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    import psycopg

    from centralita.kernel.migrate import MigrationError, migrate
    from workers.database import database_url

    try:
        applied = migrate(database_url(settings))
    except (MigrationError, psycopg.OperationalError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(f"{m.version:04d}_{m.name}" for m in applied) or "none (up to date)"
    print(f"migrations applied: {names}")
    return 0


def _api(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app
    from centralita.kernel.telemetry import setup_tracing
    from workers.database import database_url

    setup_tracing(settings, "api")
    # The API is given its database; a stand-alone `centralita api` with none configured
    # gets the embedded development server, as the other commands do.
    settings = settings.model_copy(update={"database_url": database_url(settings)})
    config = uvicorn.Config(
        create_app(settings),
        host=args.host or settings.api_host,
        port=args.port or settings.api_port,
        log_level=settings.log_level.lower(),
    )
    runtime.run(uvicorn.Server(config).serve())
    return 0


def _orchestrator(args: argparse.Namespace, settings: Settings) -> int:
    from centralita.kernel.telemetry import setup_tracing
    from workers.orchestrator import run_orchestrator

    setup_tracing(settings, "orchestrator")
    runtime.run(run_orchestrator(settings))
    return 0


def _post_call(args: argparse.Namespace, settings: Settings) -> int:
    from centralita.kernel.telemetry import setup_tracing
    from workers.post_call import run_post_call

    setup_tracing(settings, "post-call")
    runtime.run(run_post_call(settings))
    return 0


def _webhooks(args: argparse.Namespace, settings: Settings) -> int:
    from centralita.kernel.telemetry import setup_tracing
    from workers.webhooks import run_webhooks

    setup_tracing(settings, "webhooks")
    runtime.run(run_webhooks(settings))
    return 0


def _purge(args: argparse.Namespace, settings: Settings) -> int:
    import psycopg

    from centralita.kernel.db import open_pool
    from centralita.tenants.store.retention import PurgeReport, RetentionPolicy, purge
    from workers.database import database_url

    async def run() -> PurgeReport:
        pool = await open_pool(database_url(settings), min_size=1, max_size=2)
        try:
            await pool.wait(timeout=30)
            return await purge(pool, RetentionPolicy.from_settings(settings))
        finally:
            await pool.close()

    try:
        report = runtime.run(run())
    except (psycopg.Error, TimeoutError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(
        f"purged: {report.deleted_calls_purged} deleted calls, "
        f"{report.expired_calls_purged} expired calls, "
        f"{report.recordings_removed} recordings, {report.live_events_pruned} live events, "
        f"{report.webhook_deliveries_pruned} webhook deliveries, "
        f"{report.domain_events_pruned} dispatched events, "
        f"{report.tool_calls_pruned} tool calls, "
        f"{report.whatsapp_messages_pruned} WhatsApp messages"
    )
    return 0


def _media(args: argparse.Namespace, settings: Settings) -> int:
    from centralita.kernel.telemetry import setup_tracing
    from workers.media import run_media

    setup_tracing(settings, "media")
    runtime.run(run_media(settings, host=args.host, port=args.port))
    return 0


def _dev_up(args: argparse.Namespace, settings: Settings) -> int:
    return runtime.run(_run_stack(settings, demo=None))


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    return runtime.run(_run_stack(settings, demo=args))


async def _run_stack(settings: Settings, demo: argparse.Namespace | None) -> int:
    """Start the stack; then either supervise until a signal, or run the demo."""
    import httpx

    from workers.demo import DemoError, run_demo
    from workers.devstack import DevStack, DevStackError

    stack = DevStack(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("Starting the embedded stack (Postgres, Temporal, workers, API)...", flush=True)
    try:
        await stack.start()
    except DevStackError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    _print_urls(stack)
    code = 0
    try:
        if demo is not None:
            code = await _demo_or_stop(
                run_demo(settings, sys.stdout, timeout_s=demo.timeout, api_key=stack.api_key), stop
            )
            if code != 0 or not demo.keep or stop.is_set():
                return code
            print("\n--keep: the stack stays up; Ctrl-C stops it.", flush=True)
        await stack.supervise(stop)
    except (DevStackError, DemoError, httpx.HTTPError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = 1
    finally:
        print("\nStopping the embedded stack...", flush=True)
        await stack.stop()
        print("Stopped.", flush=True)
    return code


async def _demo_or_stop(demo: Coroutine[Any, Any, int], stop: asyncio.Event) -> int:
    """Run the demo unless a signal comes first (then 130)."""
    demo_task = asyncio.ensure_future(demo)
    stop_task = asyncio.ensure_future(stop.wait())
    done, _ = await asyncio.wait({demo_task, stop_task}, return_when=asyncio.FIRST_COMPLETED)
    stop_task.cancel()
    if demo_task in done:
        return demo_task.result()
    await stop_tasks((demo_task,), what="the demo")
    return 130


def _print_urls(stack: DevStack) -> None:
    print("\nCentralita is up:")
    for name, url in stack.urls().items():
        print(f"  {name:<13} {url}")
    print(f"  {'API key':<13} {stack.api_key}  (kept in {stack.api_key_file})")
    print(
        f'  {"Try it":<13} curl -H "Authorization: Bearer $(cat {stack.api_key_file})" '
        f"{stack.settings.api_url}/campaigns"
    )
    print(
        "  Workflows     "
        f"{sys.executable.rsplit('/', 1)[0]}/temporal workflow list "
        f"--address {stack.temporal_address}",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
