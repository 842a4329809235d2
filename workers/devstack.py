"""The embedded development stack: start, supervise and stop every part on one machine.

Postgres (pgserver) and Temporal (dev server) start here unless the settings point at
servers of your own; then migrations run, and the orchestrator worker, the media
worker, the post-call worker, the webhooks worker and the API start as child processes
that are restarted if they die. Ctrl-C (or SIGTERM) stops the children first, then
Temporal, then Postgres. Data stays under the stack's home folder, so the next `dev up` finds
everything the last one left.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from centralita.kernel.migrate import migrate
from centralita.kernel.settings import Settings
from centralita.tenants.dev_key import dev_key_path, ensure_dev_key
from workers.embedded_postgres import EmbeddedPostgres
from workers.embedded_temporal import EmbeddedServerError, EmbeddedTemporal

log = logging.getLogger(__name__)

# A child that keeps dying is not restarted forever: after this many restarts it is
# reported and the stack stops, instead of hiding a crash loop.
MAX_RESTARTS = 5

# The embedded stack lets webhooks reach receivers on this machine (local development);
# everywhere else internal addresses are refused unless allow-listed.
DEV_WEBHOOK_ALLOW_HOSTS = '["127.0.0.1", "localhost", "::1"]'


class DevStackError(RuntimeError):
    """The stack could not start (port taken, server failed, already running)."""


@dataclass
class Child:
    """A supervised child process."""

    name: str
    argv: list[str]
    log_file: Path
    process: asyncio.subprocess.Process | None = None
    restarts: int = 0


@dataclass
class DevStack:
    """Everything `centralita dev up` runs."""

    settings: Settings
    children: list[Child] = field(default_factory=list)
    database_url: str = ""
    temporal_address: str = ""
    api_key: str = ""  # the default tenant's development key (also in HOME/dev-api-key)
    _postgres: EmbeddedPostgres | None = None
    _temporal: EmbeddedTemporal | None = None
    _lock_file: IO[str] | None = None

    @property
    def home(self) -> Path:
        """The stack's state folder, absolute."""
        return self.settings.home.resolve()

    @property
    def api_key_file(self) -> Path:
        """Where the development key is kept (mode 0600)."""
        return dev_key_path(self.home)

    @property
    def logs(self) -> Path:
        """Where each part writes its log."""
        return self.home / "logs"

    async def start(self, ready_timeout_s: float = 90.0) -> None:
        """Bring every part up and wait for the API to be ready.

        Raises:
            DevStackError: something could not start; what did start is stopped again.
        """
        self.home.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(exist_ok=True)
        self._take_lock()
        try:
            self._check_ports_free()
            await self._start_postgres()
            await asyncio.to_thread(migrate, self.database_url)
            self.api_key = await ensure_dev_key(self.database_url, self.home)
            await self._start_temporal()
            for child in self._child_specs():
                await self._spawn(child)
                self.children.append(child)
            await self._wait_api_ready(ready_timeout_s)
        except BaseException:
            await self.stop()
            raise

    async def supervise(self, stop: asyncio.Event) -> None:
        """Restart children that die, until `stop` is set.

        Raises:
            DevStackError: a child died more than MAX_RESTARTS times.
        """
        while not stop.is_set():
            for child in self.children:
                if child.process is None or child.process.returncode is None:
                    continue
                if child.restarts >= MAX_RESTARTS:
                    raise DevStackError(
                        f"{child.name} keeps exiting (code {child.process.returncode}); "
                        f"see {child.log_file}"
                    )
                child.restarts += 1
                log.warning(
                    "%s exited with %s; restarting (%d/%d)",
                    child.name,
                    child.process.returncode,
                    child.restarts,
                    MAX_RESTARTS,
                )
                await self._spawn(child)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)

    async def stop(self) -> None:
        """Stop children (API first), then Temporal, then Postgres. Safe to call twice."""
        for child in reversed(self.children):
            await _terminate(child.process)
        self.children.clear()
        if self._temporal is not None:
            await self._temporal.stop()
            self._temporal = None
        if self._postgres is not None:
            await asyncio.to_thread(self._postgres.stop)
            self._postgres = None
        self._release_lock()

    def urls(self) -> dict[str, str]:
        """What a person opens."""
        s = self.settings
        ui = s.temporal_ui_url
        if not s.embedded_temporal and not s.temporal_ui_base_url:
            ui = "not started here (set CENTRALITA_TEMPORAL_UI_BASE_URL to your Temporal's UI)"
        return {
            "API": s.api_url,
            "OpenAPI docs": f"{s.api_url}/docs",
            "Dashboard": f"{s.api_url}/dashboard",
            "Temporal UI": ui,
            "Temporal": self.temporal_address,
            "Media worker": f"http://{s.media_host}:{s.media_port}",
            "Logs": str(self.logs),
        }

    # -- parts -----------------------------------------------------------------

    async def _start_postgres(self) -> None:
        if self.settings.database_url:
            self.database_url = self.settings.database_url
            return
        self._postgres = EmbeddedPostgres(self.home / "pg")
        self.database_url = await asyncio.to_thread(self._postgres.start)

    async def _start_temporal(self) -> None:
        if self.settings.temporal_address:
            self.temporal_address = self.settings.temporal_address
            return
        self._temporal = EmbeddedTemporal(
            db_file=self.home / "temporal.db",
            port=self.settings.temporal_port,
            ui_port=self.settings.temporal_ui_port,
            log_file=self.logs / "temporal.log",
            # Decoding hands out personal data: only with the admin key (api/routes/codec.py).
            codec_endpoint=f"{self.settings.api_url}/codec"
            if self.settings.admin_api_key
            else None,
        )
        try:
            await self._temporal.start()
        except EmbeddedServerError as exc:
            raise DevStackError(str(exc)) from exc
        self.temporal_address = self._temporal.address

    def _child_specs(self) -> list[Child]:
        cli = [sys.executable, "-m", "workers.cli"]
        return [
            Child("orchestrator", [*cli, "orchestrator"], self.logs / "orchestrator.log"),
            Child("media", [*cli, "media"], self.logs / "media.log"),
            Child("post-call", [*cli, "post-call"], self.logs / "post-call.log"),
            Child("webhooks", [*cli, "webhooks"], self.logs / "webhooks.log"),
            Child("api", [*cli, "api"], self.logs / "api.log"),
        ]

    def _child_env(self) -> dict[str, str]:
        # Children get resolved addresses: none of them starts an embedded server itself.
        env = dict(os.environ)
        env["CENTRALITA_DATABASE_URL"] = self.database_url
        env["CENTRALITA_TEMPORAL_ADDRESS"] = self.temporal_address
        env["CENTRALITA_HOME"] = str(self.home)
        env["CENTRALITA_API_PORT"] = str(self.settings.api_port)
        env["CENTRALITA_MEDIA_PORT"] = str(self.settings.media_port)
        env["CENTRALITA_TEMPORAL_UI_PORT"] = str(self.settings.temporal_ui_port)
        # Local development delivers to receivers on this machine; set the variable to
        # choose otherwise.
        env.setdefault("CENTRALITA_WEBHOOK_ALLOW_HOSTS", DEV_WEBHOOK_ALLOW_HOSTS)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    async def _spawn(self, child: Child) -> None:
        with child.log_file.open("ab") as sink:
            child.process = await asyncio.create_subprocess_exec(
                *child.argv,
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
                env=self._child_env(),
                start_new_session=True,  # Ctrl-C reaches the supervisor, which stops them in order
            )
        log.info("started %s (pid %s)", child.name, child.process.pid)

    async def _wait_api_ready(self, timeout_s: float) -> None:
        url = f"{self.settings.api_url}/health/ready"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last = "no answer"
        async with httpx.AsyncClient(timeout=5.0) as http:
            while loop.time() < deadline:
                self._raise_if_child_died()
                try:
                    response = await http.get(url)
                    if response.status_code == 200:
                        return
                    last = f"{response.status_code} {response.text}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                await asyncio.sleep(0.3)
        raise DevStackError(f"API not ready after {timeout_s:.0f}s ({last}); see {self.logs}")

    def _raise_if_child_died(self) -> None:
        for child in self.children:
            if child.process is not None and child.process.returncode is not None:
                raise DevStackError(
                    f"{child.name} exited with {child.process.returncode} while starting; "
                    f"see {child.log_file}"
                )

    # -- guards ----------------------------------------------------------------

    def _take_lock(self) -> None:
        # "a" rather than "w": a refused second stack must not blank the holder's pid.
        lock = (self.home / "devstack.lock").open("a")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            lock.close()
            raise DevStackError(
                f"another `centralita dev up` is already running with home {self.home}"
            ) from exc
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock_file = lock

    def _release_lock(self) -> None:
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None

    def _check_ports_free(self) -> None:
        s = self.settings
        wanted = {"API": (s.api_host, s.api_port), "media worker": (s.media_host, s.media_port)}
        if s.embedded_temporal:
            wanted["Temporal"] = ("127.0.0.1", s.temporal_port)
            wanted["Temporal UI"] = ("127.0.0.1", s.temporal_ui_port)
        for what, (host, port) in wanted.items():
            if _port_in_use(host, port):
                raise DevStackError(
                    f"port {port} ({what}) is already in use; stop whatever holds it or choose "
                    "another port (CENTRALITA_API_PORT, CENTRALITA_MEDIA_PORT, "
                    "CENTRALITA_TEMPORAL_PORT, CENTRALITA_TEMPORAL_UI_PORT)"
                )


def _port_in_use(host: str, port: int) -> bool:
    """True if something listens on the port, or holds it bound without listening yet."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.5)
        if probe.connect_ex((host, port)) == 0:
            return True
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # SO_REUSEADDR: a port left in TIME_WAIT by our own last run is free to use.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


async def _terminate(process: asyncio.subprocess.Process | None, timeout_s: float = 10.0) -> None:
    if process is None or process.returncode is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except TimeoutError:
        process.kill()
        await process.wait()
