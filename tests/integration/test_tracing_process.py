"""A real `centralita api` process exports its spans, masked, to the configured endpoint.

The process is started as the CLI starts it (`python -m workers.cli api`), with
`CENTRALITA_OTLP_ENDPOINT` and `CENTRALITA_OTLP_HEADERS` pointing at a collector
stand-in on 127.0.0.1; its log is read back too. What a process exports reaches the
collector when it stops (the batch is flushed at exit).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys

import httpx
import pytest

from tests.support.servers import REPO_ROOT, free_port
from tests.support.tracing_collector import Collector

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PHONE = "+56961234567"


async def test_the_api_process_exports_masked_spans_under_its_name(
    database_url: str, tmp_path: object
) -> None:
    port = free_port()
    async with Collector() as collector:
        env = {
            **os.environ,
            "CENTRALITA_DATABASE_URL": database_url,
            "CENTRALITA_TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # none: not needed
            "CENTRALITA_HOME": str(tmp_path),
            "CENTRALITA_OTLP_ENDPOINT": collector.origin,
            "CENTRALITA_OTLP_HEADERS": json.dumps({"x-tenant": "ops"}),
            "PYTHONUNBUFFERED": "1",
        }
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "workers.cli",
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            cwd=REPO_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                await _until_live(http)
                # Any answer will do (401 without a key): the path names the number.
                await http.delete("/opt-outs/%2B56961234567")
                await http.get("/campaigns", params={"phone": PHONE})
        finally:
            process.send_signal(signal.SIGTERM)
            output, _ = await asyncio.wait_for(process.communicate(), 30)
        log = output.decode()
        assert process.returncode == 143, log  # SIGTERM, through SystemExit

    assert collector.requests, f"nothing exported; the process said:\n{log}"
    headers = {h["x-tenant"] for h, _ in collector.requests}
    assert headers == {"ops"}
    spans = [
        (resource.resource, span)
        for _, request in collector.requests
        for resource in request.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    names = {
        a.value.string_value
        for resource, _ in spans
        for a in resource.attributes
        if a.key == "service.name"
    }
    assert names == {"centralita-api"}
    served = [span for _, span in spans if span.kind == span.SPAN_KIND_SERVER]
    assert {s.name for s in served} >= {"DELETE /opt-outs/{phone}", "GET /campaigns"}, served
    texts = [a.value.string_value for _, s in spans for a in s.attributes] + [
        s.name for _, s in spans
    ]
    assert any("/opt-outs/" in t and "56*****4567" in t for t in texts), texts
    assert not [t for t in texts if "961234567" in t]
    assert "961234567" not in log  # the access log shows the masked path too


async def _until_live(http: httpx.AsyncClient) -> None:
    async with asyncio.timeout(60):
        while True:
            try:
                if (await http.get("/health/live")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
