"""Unreadable settings stop a process with one line naming the variable, not a traceback.

`CENTRALITA_WEBHOOK_ALLOW_HOSTS=127.0.0.1` (a list given as one host) used to end
`centralita` with pydantic-settings' traceback; it is now read as a list of one.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from api.app import app_factory
from centralita.kernel.settings import get_settings

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


async def _cli(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run `centralita ARGS` with only `env` as its CENTRALITA_* settings."""
    clean = {k: v for k, v in os.environ.items() if not k.upper().startswith("CENTRALITA_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workers.cli",
        *args,
        cwd=REPO_ROOT,
        env={**clean, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_a_list_setting_given_as_one_host_is_a_list(database_url: str) -> None:
    code, out, err = await _cli(
        {
            "CENTRALITA_DATABASE_URL": database_url,
            "CENTRALITA_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        },
        "migrate",
    )
    assert code == 0, err
    assert "Traceback" not in err
    assert "migrations" in out


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("CENTRALITA_WEBHOOK_ALLOW_HOSTS", "[127.0.0.1", "expected a JSON list"),
        ("CENTRALITA_INBOUND_NUMBERS", "+56229990000", "expected a JSON object"),
        ("CENTRALITA_API_PORT", "eighty", "valid integer"),
    ],
)
async def test_an_unreadable_setting_ends_the_cli_with_one_line(
    variable: str, value: str, says: str
) -> None:
    code, out, err = await _cli({variable: value}, "migrate")
    assert code == 2
    assert out == ""
    assert "Traceback" not in err
    [line] = err.strip().splitlines()
    assert line.startswith(f"centralita: invalid setting {variable}")
    assert says in line


def test_the_api_factory_ends_with_the_same_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CENTRALITA_WEBHOOK_ALLOW_HOSTS", "[127.0.0.1")
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stopped:
            app_factory()
    finally:
        get_settings.cache_clear()
    assert str(stopped.value).startswith("invalid setting CENTRALITA_WEBHOOK_ALLOW_HOSTS:")
