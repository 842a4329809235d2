"""Running one `centralita` command against a test database, as an operator would."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


async def run_cli(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """`centralita ARGS` with only the test database (and `env`) set: code, stdout, stderr.

    The caller's own CENTRALITA_* variables are dropped, so a developer's settings never
    leak into the command.
    """
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CENTRALITA_")}
    clean["CENTRALITA_DATABASE_URL"] = database_url
    clean.update(env or {})
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workers.cli",
        *args,
        cwd=REPO_ROOT,
        env=clean,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
