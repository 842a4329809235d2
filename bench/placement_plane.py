"""The placement benchmark's processes: media workers and one orchestrator, as deployed.

Each is its own `python -m ...` process in its own session (so a SIGKILL reaches it and
what it started, nothing else), with stdout and stderr in files under the benchmark's
temporary directory. They all get the benchmark's Postgres, Temporal and key ring
through `CENTRALITA_*` variables and nothing else of this process's `CENTRALITA_*`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.placement_media import parse_report_lines
from centralita.kernel.db import Pool
from centralita.telephony.store.media_workers import list_workers

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT_S = 120.0  # two cores shared: loading Whisper in a fresh process is slow
STOP_TIMEOUT_S = 20.0
SERVING_LINE = "orchestrator serving task queue"  # workers/orchestrator.py logs it


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(home: Path, **settings: str) -> dict[str, str]:
    """This environment minus its `CENTRALITA_*`, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
    env.update(CENTRALITA_HOME=str(home), PYTHONUNBUFFERED="1")
    env.update(settings)
    return env


class Child:
    """One process of the plane, its output kept in two files."""

    def __init__(self, name: str, module: str, args: list[str], env: dict[str, str], logs: Path):
        logs.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.stderr_path = logs / f"{name}.err"
        with (logs / f"{name}.out").open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", module, *args],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")

    def failure(self, what: str) -> RuntimeError:
        """An error naming this process, with the end of its stderr."""
        return RuntimeError(
            f"{self.name} {what} (exit {self.process.poll()}):\n{self.stderr[-3000:]}"
        )

    def kill(self) -> None:
        """SIGKILL its whole group (a crashed machine) and reap it."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT_S)

    def terminate(self) -> None:
        """SIGTERM (a media worker drains its calls first)."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it is still there after `STOP_TIMEOUT_S`."""
        self.terminate()
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Plane:
    """The media workers (by worker id) and the orchestrator on one Postgres and Temporal.

    Args:
        env: the settings every process shares (database, Temporal, key ring, personas).
        logs: where each process's output goes.
        pool: this process's own connections, to see who registered.
        max_calls: calls each media worker holds at once.
    """

    env: dict[str, str]
    logs: Path
    pool: Pool
    max_calls: int
    workers: dict[str, Child] = field(default_factory=dict)
    orchestrator: Child | None = None

    async def start_orchestrator(self, task_queue: str) -> None:
        """`centralita orchestrator` on `task_queue`, once it serves it."""
        env = {**self.env, "CENTRALITA_TASK_QUEUE": task_queue}
        self.orchestrator = Child("orchestrator", "workers.cli", ["orchestrator"], env, self.logs)
        deadline = time.monotonic() + READY_TIMEOUT_S
        while SERVING_LINE not in self.orchestrator.stderr:
            if not self.orchestrator.alive or time.monotonic() > deadline:
                raise self.orchestrator.failure("did not start serving")
            await asyncio.sleep(0.1)

    async def start_media(self, worker_id: str) -> None:
        """One more media worker, once placement may choose it (registered, queue polled)."""
        port = str(free_port())
        env = {
            **self.env,
            "CENTRALITA_MEDIA_WORKER_ID": worker_id,
            "CENTRALITA_MEDIA_PORT": port,
            "CENTRALITA_MEDIA_MAX_CALLS": str(self.max_calls),
        }
        args = ["media", "--host", "127.0.0.1", "--port", port]
        child = Child(worker_id, "bench.placement_media", args, env, self.logs)
        self.workers[worker_id] = child
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not await self._taking_calls(worker_id):
            if not child.alive or time.monotonic() > deadline:
                raise child.failure("never took calls")
            await asyncio.sleep(0.2)

    async def _taking_calls(self, worker_id: str) -> bool:
        async with self.pool.connection() as conn:
            rows = await list_workers(conn)
        return any(r.worker_id == worker_id and r.alive and not r.draining for r in rows)

    def owner_of(self, owner: str) -> str:
        """The worker id whose process wrote a dial-log owner (`host:pid:random`)."""
        pid = int(owner.split(":")[1])
        return next((w for w, child in self.workers.items() if child.pid == pid), owner)

    def bot_reports(self) -> dict[str, list[float]]:
        """Every bot report the media workers wrote so far: voice to voice by call key."""
        found: dict[str, list[float]] = {}
        for child in self.workers.values():
            found.update(parse_report_lines(child.stderr))
        return found

    def close(self) -> None:
        """Stop every process still running (media workers drain their calls first)."""
        children = [*self.workers.values(), *filter(None, [self.orchestrator])]
        for child in children:  # all at once: each drains while the others do
            child.terminate()
        for child in children:
            child.stop()
