"""Tenants and keys from the command line (`centralita tenants ...`, `centralita keys
...`), and the embedded stack's development key file."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.tenants.dev_key import dev_key_path, ensure_dev_key, read_dev_key
from tests.support.cli import run_cli
from tests.support.servers import AppClients, bearer, settings_for

pytestmark = pytest.mark.integration


async def _cli(database_url: str, *args: str) -> tuple[int, str, str]:
    """Run `centralita ARGS` against the test database: exit code, stdout, stderr."""
    return await run_cli(database_url, *args)


async def test_the_cli_creates_a_tenant_and_a_key_lists_and_revokes_it(
    database_url: str, app_clients: AppClients
) -> None:
    code, out, err = await _cli(database_url, "tenants", "create", "Banco Norte")
    assert code == 0, err
    tenant_id = out.split(": ", 1)[1].split()[0]
    code, _, err = await _cli(database_url, "tenants", "create", "Banco Norte")
    assert code == 1
    assert "exists already" in err
    code, out, _ = await _cli(database_url, "tenants", "list")
    assert code == 0
    assert tenant_id in out
    assert "Banco Norte" in out

    code, out, err = await _cli(database_url, "keys", "create", "--tenant", "Banco Norte")
    assert code == 0, err
    key = out.splitlines()[1]
    assert key.startswith("ctk_")
    assert "not shown again" in err
    key_id = out.split()[1]

    api = await app_clients.open(settings_for(database_url, "127.0.0.1:1"), tenant_id=None)
    assert (await api.get("/campaigns", headers=bearer(key))).status_code == 200

    code, out, _ = await _cli(database_url, "keys", "list", "--tenant", tenant_id)
    assert code == 0
    prefix = key.split("_")[1]
    assert f"ctk_{prefix}_" in out
    assert key.split("_", 2)[2] not in out  # never the secret
    assert "active" in out

    code, out, _ = await _cli(database_url, "keys", "revoke", key_id)
    assert code == 0
    assert "revoked" in out
    assert (await api.get("/campaigns", headers=bearer(key))).status_code == 401
    code, out, _ = await _cli(database_url, "keys", "list")
    assert "revoked" in out

    code, _, err = await _cli(
        database_url, "keys", "revoke", "00000000-0000-0000-0000-00000000dead"
    )
    assert code == 1
    assert "no API key" in err
    code, _, err = await _cli(database_url, "keys", "create", "--tenant", "nobody")
    assert code == 1
    assert "no tenant" in err


async def test_the_dev_key_is_kept_private_reused_while_live_and_replaced_when_revoked(
    database_url: str, pool: Pool, tmp_path: Path, app_clients: AppClients
) -> None:
    first = await ensure_dev_key(database_url, tmp_path)
    path = dev_key_path(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_dev_key(tmp_path) == first
    assert await ensure_dev_key(database_url, tmp_path) == first  # a restart reuses it

    api = await app_clients.open(settings_for(database_url, "127.0.0.1:1"), tenant_id=None)
    assert (await api.get("/campaigns", headers=bearer(first))).status_code == 200
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE prefix = %s", (first.split("_")[1],)
        )
    second = await ensure_dev_key(database_url, tmp_path)
    assert second != first
    assert read_dev_key(tmp_path) == second
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT tenant_id::text AS tenant FROM api_keys WHERE prefix = %s",
            (second.split("_")[1],),
        )
        assert (await cur.fetchone() or {})["tenant"] == DEFAULT_TENANT_ID
    assert (await api.get("/campaigns", headers=bearer(second))).status_code == 200

    path.write_text("garbage\n")  # an unreadable file is replaced too
    assert (await ensure_dev_key(database_url, tmp_path)).startswith("ctk_")
