"""`centralita webhooks` as the dev stack runs it: a process that dispatches and delivers,
configured only through environment variables, and stops cleanly on SIGTERM.

The allow-list comes in the dev stack's own form (a JSON list in an environment
variable), so the stack's receivers on 127.0.0.1 are reachable.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from centralita.kernel.db import Pool
from centralita.kernel.events import call_subject
from tests.support.webhooks import WebhookReceiver, deliveries, new_tenant, record_event, subscribe
from workers.devstack import DEV_WEBHOOK_ALLOW_HOSTS

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


async def test_the_webhooks_command_delivers_and_stops_on_sigterm(
    dev_env: WorkflowEnvironment, pool: Pool, database_url: str, tmp_path: Path
) -> None:
    tenant = await new_tenant(pool)
    env = {
        **os.environ,
        "CENTRALITA_DATABASE_URL": database_url,
        "CENTRALITA_TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "CENTRALITA_HOME": str(tmp_path),
        "CENTRALITA_WEBHOOK_ALLOW_HOSTS": DEV_WEBHOOK_ALLOW_HOSTS,
        "CENTRALITA_WEBHOOK_TASK_QUEUE": f"webhooks-cli-{uuid.uuid4().hex[:8]}",
        "CENTRALITA_WEBHOOK_POLL_S": "0.5",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "workers.cli",
        "webhooks",
        cwd=REPO_ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        async with WebhookReceiver() as crm:
            webhook, secret = await subscribe(pool, tenant, crm.url)
            crm.secrets.append(secret)
            subject = call_subject("cli")
            started = await record_event(pool, tenant, "call_started", subject=subject)
            analyzed = await record_event(pool, tenant, "call_analyzed")
            got = await crm.wait_for(2, timeout_s=60)
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 20)
    finally:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert code == 0
    assert {r.webhook_id for r in got} == {started, analyzed}
    assert all(r.verified_by == (secret,) for r in got)
    assert {d["status"] for d in await deliveries(pool, webhook.id)} == {"delivered"}
