"""docker-compose.yml's tracing: every app process exports to the collector, the
collector to Jaeger, and the ports, hosts and the mounted config agree.

Checked on what `docker-compose config` resolves (anchors merged, variables filled), and
on `deploy/otel-collector.yaml` as the collector service mounts it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from tests.support.compose import APP_SERVICES, COMPOSE_FILE, as_mapping, environment, run_config
from tests.support.servers import REPO_ROOT

pytestmark = pytest.mark.integration

# The CLI commands that call `centralita.kernel.telemetry.setup_tracing` (workers/cli.py).
TRACED_ROLES = {"api", "orchestrator", "media", "post-call", "webhooks"}


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    result = run_config(COMPOSE_FILE)
    assert result.returncode == 0, result.stderr
    return as_mapping(yaml.safe_load(result.stdout)["services"], "services")


def _collector_config(services: dict[str, Any]) -> dict[str, Any]:
    """The collector's config file, found through the service's own mount."""
    collector = services["otel-collector"]
    [flag] = [a for a in collector["command"] if str(a).startswith("--config=")]
    inside = flag.removeprefix("--config=")
    mounts = [
        str(v) if isinstance(v, str) else f"{v['source']}:{v['target']}"
        for v in collector["volumes"]
    ]
    [source] = [m.split(":")[0] for m in mounts if m.split(":")[1] == inside]
    path = Path(source) if Path(source).is_absolute() else REPO_ROOT / source
    assert path.resolve() == (REPO_ROOT / "deploy" / "otel-collector.yaml").resolve()
    return as_mapping(yaml.safe_load(path.read_text(encoding="utf-8")), "collector config")


def test_every_app_process_exports_to_the_collector_under_its_own_name(
    services: dict[str, Any],
) -> None:
    collector_http = _collector_config(services)["receivers"]["otlp"]["protocols"]["http"]
    http_port = int(str(collector_http["endpoint"]).rsplit(":", 1)[1])
    for name in APP_SERVICES:
        service = services[name]
        env = environment(service, name)
        endpoint = urlsplit(env.get("CENTRALITA_OTLP_ENDPOINT", ""))
        assert (endpoint.scheme, endpoint.hostname, endpoint.port) == (
            "http",
            "otel-collector",
            http_port,
        ), f"{name}: {env.get('CENTRALITA_OTLP_ENDPOINT')!r}"
        assert "otel-collector" in service["depends_on"], name
        # Only Centralita's masking exporter may send spans.
        assert not [k for k in env if k.startswith("OTEL_EXPORTER_OTLP")], name
        role = service["command"][1]
        assert role in TRACED_ROLES, f"{name} runs {service['command']}"
        # setup_tracing names the process {CENTRALITA_SERVICE_NAME}-{role}.
        assert f"{env.get('CENTRALITA_SERVICE_NAME', 'centralita')}-{role}" == f"centralita-{role}"


def test_the_collector_sends_traces_to_jaeger_whose_ui_is_published(
    services: dict[str, Any],
) -> None:
    config = _collector_config(services)
    traces = config["service"]["pipelines"]["traces"]
    assert "otlp" in traces["receivers"]
    [to_jaeger] = [e for e in traces["exporters"] if str(e).startswith("otlp")]
    endpoint = str(config["exporters"][to_jaeger]["endpoint"])
    host, _, port = endpoint.rpartition(":")
    assert host in services, f"the collector exports to {host!r}, not a service"
    assert port == "4317"  # Jaeger's OTLP gRPC receiver
    jaeger = services[host]
    assert str(environment(jaeger, host).get("COLLECTOR_OTLP_ENABLED")).lower() == "true"
    published = {str(p.get("target")) if isinstance(p, dict) else str(p) for p in jaeger["ports"]}
    assert any("16686" in p for p in published), published
    assert host in services["otel-collector"].get("depends_on", {})
