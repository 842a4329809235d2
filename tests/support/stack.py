"""The real `centralita` CLI as a subprocess: its environment, readiness, a clean stop.

End-to-end tests start `python -m workers.cli ...` from the repository root with a
fresh `CENTRALITA_HOME` and free ports (never the defaults, so they run beside a
developer's own stack). Every wait here is bounded; `CliProcess.close()` always leaves
nothing behind: SIGINT first, as a person would, then SIGKILL for whatever lingers,
the stack's own children and its Postgres included.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import httpx
import psutil

from centralita.tenants.dev_key import dev_key_path, read_dev_key
from tests.support.servers import bearer, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPORAL_CLI = Path(sys.executable).parent / "temporal"

# The small campaign the dev-stack tests create: both numbers are demo personas
# (realtime/personas/demo_es.json) that settle in one attempt.
SMALL_CAMPAIGN_CONTACTS: list[dict[str, object]] = [
    # María is answered by a bot: the flow needs the debt and its due date (her name
    # reaches the agent from the contact itself).
    {
        "name": "María",
        "phone": "+56961234567",
        "variables": {"monto_total": 200000, "fecha_limite": "2026-12-15"},
    },
    {"name": "Andrés", "phone": "+56987654321"},
]
SMALL_CAMPAIGN_POLICY: dict[str, object] = {
    "profile": "unrestricted",  # open around the clock: the test may run at any hour
    "schedule": {
        "timezone": "UTC",
        "batch_slots": ["00:00"],
        "window_end": "00:00",
        "weekdays": list(range(7)),
    },
    "caps": {"max_attempts": 1},
    "concurrency": 2,
}


@dataclass(frozen=True)
class StackPorts:
    """The four TCP ports one embedded stack listens on."""

    api: int
    media: int
    temporal: int
    temporal_ui: int

    @classmethod
    def pick(cls) -> StackPorts:
        """Four distinct ports that nobody listens on right now."""
        ports: list[int] = []
        while len(ports) < 4:
            port = free_port()
            if port not in ports:
                ports.append(port)
        return cls(*ports)

    def by_role(self) -> dict[str, int]:
        """The ports named by what listens on them."""
        return {
            "api": self.api,
            "media": self.media,
            "temporal": self.temporal,
            "temporal_ui": self.temporal_ui,
        }

    @property
    def api_url(self) -> str:
        """Base URL of the stack's API."""
        return f"http://127.0.0.1:{self.api}"

    @property
    def temporal_address(self) -> str:
        """host:port of the embedded Temporal frontend."""
        return f"127.0.0.1:{self.temporal}"

    @property
    def temporal_ui_url(self) -> str:
        """Base URL of the embedded Temporal UI."""
        return f"http://127.0.0.1:{self.temporal_ui}"


def stack_env(home: Path, ports: StackPorts, **overrides: str) -> dict[str, str]:
    """The environment for a CLI run: this home and these ports, nothing inherited.

    `CENTRALITA_*` variables of the calling shell are dropped, so a developer's own
    settings (say a CENTRALITA_DATABASE_URL) never leak into a test's stack.

    Args:
        home: the stack's state folder.
        ports: where its servers listen.
        **overrides: further variables, e.g. CENTRALITA_DATABASE_URL.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
    env.update(
        CENTRALITA_HOME=str(home),
        CENTRALITA_API_PORT=str(ports.api),
        CENTRALITA_MEDIA_PORT=str(ports.media),
        CENTRALITA_TEMPORAL_PORT=str(ports.temporal),
        CENTRALITA_TEMPORAL_UI_PORT=str(ports.temporal_ui),
        PYTHONUNBUFFERED="1",
    )
    env.update(overrides)
    return env


class CliProcess:
    """One `python -m workers.cli ...` run, its stdout and stderr kept in files.

    Use it as a context manager (or call `close()` in a `finally`): closing stops the
    process and everything it started, however the test ended.
    """

    def __init__(self, args: Sequence[str], env: dict[str, str], log_dir: Path) -> None:
        self.args = list(args)
        self.env = env
        self.home = Path(env["CENTRALITA_HOME"]).resolve()
        log_dir.mkdir(parents=True, exist_ok=True)
        stem = "-".join(a.lstrip("-") for a in self.args) or "cli"
        self._stdout_path = log_dir / f"{stem}.{time.monotonic_ns()}.out"
        self._stderr_path = log_dir / f"{stem}.{time.monotonic_ns()}.err"
        self._sinks: list[IO[bytes]] = []
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> CliProcess:
        """Start the command in its own session (so signals reach only what we aim at)."""
        stdout = self._stdout_path.open("wb")
        stderr = self._stderr_path.open("wb")
        self._sinks = [stdout, stderr]
        self._process = subprocess.Popen(
            [sys.executable, "-m", "workers.cli", *self.args],
            cwd=REPO_ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
        return self

    def __enter__(self) -> CliProcess:
        return self.start() if self._process is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- state -----------------------------------------------------------------

    @property
    def process(self) -> subprocess.Popen[bytes]:
        """The running (or finished) process."""
        assert self._process is not None, "start() first"
        return self._process

    @property
    def pid(self) -> int:
        """Process id (also its process-group id: it leads its own session)."""
        return self.process.pid

    @property
    def alive(self) -> bool:
        """Whether it has not exited yet."""
        return self.process.poll() is None

    @property
    def stdout(self) -> str:
        """Everything it printed on stdout so far."""
        return self._stdout_path.read_text(encoding="utf-8", errors="replace")

    @property
    def stderr(self) -> str:
        """Everything it printed on stderr so far."""
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    @property
    def output(self) -> str:
        """stdout then stderr, for assertions and failure messages."""
        return f"{self.stdout}\n--- stderr ---\n{self.stderr}"

    def describe(self) -> str:
        """The command, its exit status and output: the body of a failure message."""
        code = self.process.poll() if self._process is not None else None
        return f"`centralita {' '.join(self.args)}` (exit {code}):\n{self.output}"

    # -- waiting ---------------------------------------------------------------

    def wait_for_url(
        self, url: str, *, timeout_s: float = 90.0, status: int = 200
    ) -> httpx.Response:
        """Poll `url` until it answers `status`; fail early if the process exits.

        Raises:
            AssertionError: the process exited, or no such answer within `timeout_s`.
        """
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with httpx.Client(timeout=5.0, follow_redirects=True) as http:
            while time.monotonic() < deadline:
                if not self.alive:
                    raise AssertionError(f"exited while waiting for {url}: {self.describe()}")
                try:
                    response = http.get(url)
                    if response.status_code == status:
                        return response
                    last = f"{response.status_code} {response.text[:300]}"
                except httpx.HTTPError as exc:
                    last = f"{type(exc).__name__}: {exc}"
                time.sleep(0.3)
        raise AssertionError(
            f"{url} not {status} after {timeout_s:.0f}s ({last}): {self.describe()}"
        )

    def wait_ready(self, api_url: str, *, timeout_s: float = 120.0) -> dict[str, Any]:
        """Wait until the API's `/health/ready` answers 200 and the URLs are printed.

        Returns:
            The readiness body.
        """
        body: dict[str, Any] = self.wait_for_url(
            f"{api_url}/health/ready", timeout_s=timeout_s
        ).json()
        # The CLI prints its URLs (the `temporal workflow list` hint last) once ready.
        self.wait_for_stdout("workflow list --address", timeout_s=15)
        return body

    def wait_for_stdout(self, text: str, *, timeout_s: float) -> str:
        """Wait until `text` appears on stdout; return stdout.

        Raises:
            AssertionError: it exited first, or `text` did not appear in time.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            out = self.stdout
            if text in out:
                return out
            if not self.alive:
                raise AssertionError(f"exited before printing {text!r}: {self.describe()}")
            time.sleep(0.3)
        raise AssertionError(f"{text!r} not printed after {timeout_s:.0f}s: {self.describe()}")

    def wait_exit(self, timeout_s: float) -> int:
        """Wait for the process to exit by itself; return its exit code.

        Raises:
            AssertionError: still running after `timeout_s` (`close()` then kills it).
        """
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"still running after {timeout_s:.0f}s: {self.describe()}"
            ) from None

    def send(self, sig: signal.Signals = signal.SIGINT) -> None:
        """Send `sig` to its process group, as a terminal's Ctrl-C does."""
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, sig)

    def stop(self, sig: signal.Signals = signal.SIGINT, *, timeout_s: float = 30.0) -> int:
        """Signal it and wait for it to exit; return the exit code."""
        self.send(sig)
        return self.wait_exit(timeout_s)

    def close(self) -> None:
        """Stop it (SIGINT, then SIGKILL) with everything it started; close the log files.

        Safe to call more than once, and after the process has exited.
        """
        if self._process is not None and self.alive:
            # Children run in sessions of their own: remember them while they are ours.
            descendants = _descendants(self.pid)
            self.send(signal.SIGINT)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self._process.wait(timeout=10)
            for child in descendants:
                with contextlib.suppress(psutil.Error):
                    child.kill()
        if not _home_locked(self.home):
            # No stack holds this home: a Postgres still serving its data is a leftover.
            for leftover in postgres_processes(self.home):
                with contextlib.suppress(psutil.Error):
                    leftover.kill()
        for sink in self._sinks:
            sink.close()
        self._sinks = []


def _home_locked(home: Path) -> bool:
    """Whether a running `dev up` holds `home` (its devstack.lock is flocked)."""
    lock_path = home / "devstack.lock"
    if not lock_path.exists():
        return False
    with lock_path.open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(lock, fcntl.LOCK_UN)
    return False


def _descendants(pid: int) -> list[Any]:
    with contextlib.suppress(psutil.Error):
        children: list[Any] = psutil.Process(pid).children(recursive=True)
        return children
    return []


# -- what is left on the machine ----------------------------------------------------


def postgres_processes(home: Path) -> list[Any]:
    """Processes (`psutil.Process`) whose command line names `home`'s Postgres data dir."""
    data_dir = str((home / "pg").resolve())
    found: list[Any] = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any(data_dir in part for part in cmdline):
            found.append(proc)
    return found


def is_listening(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:`port`."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def port_is_free(port: int) -> bool:
    """Whether a server could bind and listen on 127.0.0.1:`port` right now.

    SO_REUSEADDR as servers set it: connections in TIME_WAIT do not count as taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen(1)
        except OSError:
            return False
    return not is_listening(port)


# -- the API and the Temporal CLI ----------------------------------------------------


def dev_key_headers(home: Path) -> dict[str, str]:
    """The Authorization header with the stack's development key (`HOME/dev-api-key`).

    Raises:
        AssertionError: the stack wrote no key.
    """
    key = read_dev_key(home.resolve())
    assert key is not None, f"no development key at {dev_key_path(home.resolve())}"
    return bearer(key)


def create_campaign(api_url: str, name: str, headers: dict[str, str]) -> dict[str, Any]:
    """`POST /campaigns` with the two-persona campaign; return the created campaign.

    Args:
        headers: the key to call with (`dev_key_headers`).
    """
    response = httpx.post(
        f"{api_url}/campaigns",
        json={
            "name": name,
            "policy": SMALL_CAMPAIGN_POLICY,
            "contacts": SMALL_CAMPAIGN_CONTACTS,
        },
        headers=headers,
        timeout=30.0,
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    assert body["accepted"] == len(SMALL_CAMPAIGN_CONTACTS), body
    assert body["started"] is True, body
    campaign: dict[str, Any] = body["campaign"]
    return campaign


def wait_campaign_status(
    api_url: str,
    campaign_id: str,
    status: str = "completed",
    *,
    headers: dict[str, str],
    timeout_s: float = 90.0,
) -> dict[str, Any]:
    """Poll `GET /campaigns/{id}` until it reports `status`; return the campaign.

    Raises:
        AssertionError: another final status, or still running after `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    campaign: dict[str, Any] = {}
    with httpx.Client(base_url=api_url, timeout=10.0, headers=headers) as http:
        while time.monotonic() < deadline:
            response = http.get(f"/campaigns/{campaign_id}")
            assert response.status_code == 200, response.text
            campaign = response.json()
            if campaign["status"] == status:
                return campaign
            assert campaign["status"] not in {"completed", "cancelled", "failed"}, campaign
            time.sleep(0.5)
    raise AssertionError(f"campaign not {status!r} after {timeout_s:.0f}s: {campaign}")


def temporal_workflows(address: str, query: str | None = None) -> dict[str, str]:
    """`temporal workflow list` against `address`: workflow id -> status name.

    Args:
        address: host:port of a Temporal frontend.
        query: a visibility query to narrow the list.
    """
    argv = [str(TEMPORAL_CLI), "workflow", "list", "--address", address, "-o", "json"]
    if query is not None:
        argv += ["--query", query]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, f"{argv} failed ({done.returncode}): {done.stderr}"
    listed = json.loads(done.stdout) if done.stdout.strip() else []
    return {w["execution"]["workflowId"]: w["status"] for w in listed}


def wait_campaign_workflows(
    address: str, campaign_id: str, *, contacts: int, timeout_s: float = 30.0
) -> dict[str, str]:
    """The campaign's workflows as the Temporal CLI lists them, once all are visible.

    Visibility trails the workflows a little, so this polls until the campaign workflow
    and at least one attempt workflow per contact are listed.
    """
    prefix = f"campaign-{campaign_id}"
    query = f'WorkflowId STARTS_WITH "{prefix}"'
    deadline = time.monotonic() + timeout_s
    listed: dict[str, str] = {}
    while time.monotonic() < deadline:
        listed = temporal_workflows(address, query)
        attempted = {w.split("-attempt-")[0] for w in listed if "-attempt-" in w}
        if prefix in listed and len(attempted) >= contacts:
            return listed
        time.sleep(0.5)
    raise AssertionError(f"workflows of {prefix} not all listed after {timeout_s:.0f}s: {listed}")
