"""`centralita dev up` as a person runs it: the whole embedded stack, a campaign, Ctrl-C.

One stack (fresh home, free ports) is shared by the tests that only read from it; the
last two tests stop it with SIGINT and start it again on the same home, so they stay at
the end of the module. The refusals (home in use, port taken) and the stack on servers
of one's own (CENTRALITA_DATABASE_URL / CENTRALITA_TEMPORAL_ADDRESS) get their own runs.
"""

from __future__ import annotations

import signal
import socket
import stat
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from temporalio.testing import WorkflowEnvironment

from tests.support.stack import (
    SMALL_CAMPAIGN_CONTACTS,
    CliProcess,
    StackPorts,
    create_campaign,
    dev_key_headers,
    is_listening,
    port_is_free,
    postgres_processes,
    stack_env,
    wait_campaign_status,
    wait_campaign_workflows,
)

pytestmark = pytest.mark.e2e

# What the two personas of the small campaign do (realtime/personas/demo_es.json) and
# what the retry rules make of it (centralita/campaigns/retry_rules.py), by phone.
SMALL_CAMPAIGN_RESULTS: dict[str, tuple[str, str]] = {
    "+56961234567": ("done", "promise_to_pay"),
    "+56987654321": ("excluded", "wrong_person"),
}


@dataclass
class SharedStack:
    """The module's `dev up`: its process, home and ports."""

    cli: CliProcess
    home: Path
    ports: StackPorts
    logs: Path

    @property
    def env(self) -> dict[str, str]:
        """The environment it was started with (same home, same ports)."""
        return self.cli.env


@dataclass(frozen=True)
class CompletedCampaign:
    """The small campaign, run to the end on the shared stack, as the API reported it."""

    campaign: dict[str, Any]
    contacts: list[dict[str, Any]]
    key: dict[str, str]  # the Authorization header it was created with


@dataclass(frozen=True)
class StopResult:
    """How the shared stack ended after SIGINT."""

    code: int
    seconds: float
    output: str


def _contacts(api_url: str, campaign_id: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """`GET /campaigns/{id}/contacts`, asserting it answers 200."""
    response = httpx.get(
        f"{api_url}/campaigns/{campaign_id}/contacts", headers=headers, timeout=10.0
    )
    assert response.status_code == 200, response.text
    contacts: list[dict[str, Any]] = response.json()
    return contacts


def _assert_everything_released(home: Path, ports: StackPorts) -> None:
    """No port of the stack is held and no Postgres of its home runs."""
    held = {role: port for role, port in ports.by_role().items() if not port_is_free(port)}
    assert not held, f"ports still held after the stack stopped: {held}"
    left = [p.pid for p in postgres_processes(home)]
    assert not left, f"postgres processes of {home} still running: {left}"


# -- the shared stack ------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedStack]:
    """One `centralita dev up` for the module (fresh home, free ports), ready."""
    base = tmp_path_factory.mktemp("devstack")
    home, logs, ports = base / "home", base / "cli-logs", StackPorts.pick()
    with CliProcess(["dev", "up"], stack_env(home, ports), logs) as cli:
        cli.wait_ready(ports.api_url)
        yield SharedStack(cli=cli, home=home, ports=ports, logs=logs)


@pytest.fixture
def stack(shared_stack: SharedStack) -> SharedStack:
    """The shared stack, still running (the stop test near the end of the module ends it)."""
    assert shared_stack.cli.alive, f"the shared stack is gone: {shared_stack.cli.describe()}"
    return shared_stack


@pytest.fixture(scope="module")
def completed_campaign(shared_stack: SharedStack) -> CompletedCampaign:
    """The two-persona campaign, created through the API and polled until completed."""
    api, key = shared_stack.ports.api_url, dev_key_headers(shared_stack.home)
    created = create_campaign(api, f"e2e devstack {uuid.uuid4().hex[:6]}", key)
    campaign = wait_campaign_status(api, created["id"], "completed", headers=key, timeout_s=90)
    contacts = _contacts(api, created["id"], key)
    return CompletedCampaign(campaign=campaign, contacts=contacts, key=key)


@pytest.fixture(scope="module")
def stopped_stack(shared_stack: SharedStack, completed_campaign: CompletedCampaign) -> StopResult:
    """The shared stack after SIGINT (its campaign exists first, for the restart test)."""
    started = time.monotonic()
    code = shared_stack.cli.stop(signal.SIGINT, timeout_s=30)
    return StopResult(code=code, seconds=time.monotonic() - started, output=shared_stack.cli.output)


# -- while it runs -----------------------------------------------------------------------


def test_ready_reports_postgres_and_temporal_ok(stack: SharedStack) -> None:
    response = httpx.get(f"{stack.ports.api_url}/health/ready", timeout=10.0)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"]["postgres"]["ok"] is True, body
    assert body["components"]["temporal"]["ok"] is True, body


def test_prints_the_urls_of_this_stack(stack: SharedStack) -> None:
    out = stack.cli.stdout

    assert stack.ports.api_url in out
    assert f"{stack.ports.api_url}/docs" in out
    assert stack.ports.temporal_ui_url in out
    assert stack.ports.temporal_address in out
    assert f"http://127.0.0.1:{stack.ports.media}" in out


def test_prints_a_dev_key_kept_private_that_the_api_takes(stack: SharedStack) -> None:
    key_file = stack.home.resolve() / "dev-api-key"
    key = key_file.read_text().strip()
    assert key.startswith("ctk_")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    out = stack.cli.stdout
    assert key in out
    assert f"$(cat {key_file})" in out  # the curl line to copy
    url = f"{stack.ports.api_url}/campaigns"
    assert httpx.get(url, timeout=10.0).status_code == 401
    assert httpx.get(url, headers=dev_key_headers(stack.home), timeout=10.0).status_code == 200


def test_temporal_ui_answers_on_its_port(stack: SharedStack) -> None:
    response = httpx.get(stack.ports.temporal_ui_url, timeout=10.0, follow_redirects=True)

    assert response.status_code == 200
    assert "<html" in response.text.lower()


def test_api_docs_and_openapi_answer(stack: SharedStack) -> None:
    docs = httpx.get(f"{stack.ports.api_url}/docs", timeout=10.0)
    schema = httpx.get(f"{stack.ports.api_url}/openapi.json", timeout=10.0)

    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/campaigns" in paths
    assert "/health/ready" in paths


def test_campaign_completes_with_the_personas_outcomes(
    stack: SharedStack, completed_campaign: CompletedCampaign
) -> None:
    campaign, contacts = completed_campaign.campaign, completed_campaign.contacts

    assert campaign["status"] == "completed"
    assert campaign["workflow_id"] == f"campaign-{campaign['id']}"
    assert campaign["contacts_total"] == len(SMALL_CAMPAIGN_CONTACTS)
    results = {c["phones"][0]: (c["state"], c["outcome"]) for c in contacts}
    assert results == SMALL_CAMPAIGN_RESULTS
    for contact in contacts:
        assert contact["attempts_count"] == 1, contact
        assert [a["attempt_number"] for a in contact["attempts"]] == [1], contact
        assert contact["attempts"][0]["outcome"] == contact["outcome"], contact


def test_temporal_cli_lists_the_campaign_workflows(
    stack: SharedStack, completed_campaign: CompletedCampaign
) -> None:
    campaign_id = completed_campaign.campaign["id"]
    listed = wait_campaign_workflows(
        stack.ports.temporal_address, campaign_id, contacts=len(completed_campaign.contacts)
    )

    expected = {f"campaign-{campaign_id}"}
    for contact in completed_campaign.contacts:
        expected.add(f"campaign-{campaign_id}-contact-{contact['id']}-attempt-1")
    assert set(listed) == expected
    assert set(listed.values()) == {"WORKFLOW_EXECUTION_STATUS_COMPLETED"}, listed


def test_second_dev_up_on_the_same_home_is_refused(stack: SharedStack) -> None:
    with CliProcess(["dev", "up"], stack.env, stack.logs) as second:
        code = second.wait_exit(timeout_s=30)
        output = second.output

    assert code != 0, output
    assert "already running" in output, output
    assert str(stack.home.resolve()) in output, output
    # The refused one changed nothing: the first stack still serves.
    assert stack.cli.alive
    ready = httpx.get(f"{stack.ports.api_url}/health/ready", timeout=10.0)
    assert ready.status_code == 200, ready.text


# -- refusals of a fresh stack -----------------------------------------------------------


@pytest.mark.parametrize("role", ["api", "media", "temporal", "temporal_ui"])
def test_dev_up_refuses_a_taken_port(role: str, tmp_path: Path) -> None:
    home, ports = tmp_path / "home", StackPorts.pick()
    taken = ports.by_role()[role]
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", taken))
        squatter.listen(1)
        with CliProcess(["dev", "up"], stack_env(home, ports), tmp_path / "cli-logs") as cli:
            code = cli.wait_exit(timeout_s=60)
            output = cli.output

    assert code != 0, output
    assert f"port {taken}" in output, output
    assert "already in use" in output, output
    assert not postgres_processes(home), "a refused stack left Postgres running"
    others = {r: p for r, p in ports.by_role().items() if r != role and not port_is_free(p)}
    assert not others, f"a refused stack left ports held: {others}"


def test_dev_up_names_an_api_port_bound_without_listening(tmp_path: Path) -> None:
    """A port held by a bound socket is taken too: the API cannot bind it.

    The stack must say so by port, as it does for a listener, instead of starting
    Postgres and Temporal and then reporting only that the API process died.
    """
    home, ports = tmp_path / "home", StackPorts.pick()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", ports.api))
        with CliProcess(["dev", "up"], stack_env(home, ports), tmp_path / "cli-logs") as cli:
            code = cli.wait_exit(timeout_s=120)
            output = cli.output

    assert code != 0, output
    assert not postgres_processes(home), "a refused stack left Postgres running"
    assert f"port {ports.api}" in output, output


def test_dev_up_uses_configured_servers_instead_of_embedded_ones(
    pg_server: str, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    temporal_address = dev_env.client.service_client.config.target_host
    db_name = f"e2e_external_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_server, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    database_url = psycopg.conninfo.make_conninfo(pg_server, dbname=db_name)
    home, ports = tmp_path / "home", StackPorts.pick()
    env = stack_env(
        home,
        ports,
        CENTRALITA_DATABASE_URL=database_url,
        CENTRALITA_TEMPORAL_ADDRESS=temporal_address,
    )
    try:
        with CliProcess(["dev", "up"], env, tmp_path / "cli-logs") as cli:
            ready = cli.wait_ready(ports.api_url)
            assert ready["status"] == "ok", ready

            assert not (home / "pg").exists(), "an embedded Postgres was set up anyway"
            assert not (home / "temporal.db").exists(), "an embedded Temporal was started"
            assert not postgres_processes(home)
            assert not is_listening(ports.temporal), "something serves the Temporal port"
            assert not is_listening(ports.temporal_ui), "something serves the Temporal UI port"

            key = dev_key_headers(home)
            created = create_campaign(ports.api_url, "e2e external servers", key)
            campaign = wait_campaign_status(ports.api_url, created["id"], "completed", headers=key)

            # The campaign lives in the configured database and ran on the configured Temporal.
            with psycopg.connect(database_url) as conn:
                stored = conn.execute(
                    "SELECT status FROM campaigns WHERE id = %s", (campaign["id"],)
                ).fetchone()
            assert stored == ("completed",)
            listed = wait_campaign_workflows(
                temporal_address, campaign["id"], contacts=len(SMALL_CAMPAIGN_CONTACTS)
            )
            assert f"campaign-{campaign['id']}" in listed

            assert cli.stop(signal.SIGINT, timeout_s=30) == 0, cli.describe()
    finally:
        with psycopg.connect(pg_server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    # Stopping our stack must leave the servers we lent it running.
    with psycopg.connect(pg_server) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    assert is_listening(int(temporal_address.rsplit(":", 1)[1]))


# -- Ctrl-C and a restart on the same home (keep these last: they end the shared stack) --


def test_sigint_stops_everything(shared_stack: SharedStack, stopped_stack: StopResult) -> None:
    assert stopped_stack.code == 0, stopped_stack.output
    assert stopped_stack.seconds < 30
    assert "Stopped." in stopped_stack.output
    _assert_everything_released(shared_stack.home, shared_stack.ports)


def _without_extracted(contacts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in c.items() if k != "extracted"} for c in contacts]


def test_restart_on_the_same_home_keeps_campaigns_and_workflows(
    shared_stack: SharedStack, completed_campaign: CompletedCampaign, stopped_stack: StopResult
) -> None:
    campaign_id = completed_campaign.campaign["id"]
    ports = shared_stack.ports
    with CliProcess(["dev", "up"], shared_stack.env, shared_stack.logs) as cli:
        cli.wait_ready(ports.api_url)

        # The restarted stack keeps the key it printed the first time.
        key = dev_key_headers(shared_stack.home)
        assert key == completed_campaign.key
        listed = httpx.get(f"{ports.api_url}/campaigns", headers=key, timeout=10.0)
        assert listed.status_code == 200, listed.text
        campaigns = {c["id"]: c for c in listed.json()}
        assert campaign_id in campaigns, campaigns
        assert campaigns[campaign_id]["status"] == "completed"
        assert campaigns[campaign_id]["contacts_total"] == len(SMALL_CAMPAIGN_CONTACTS)

        contacts = _contacts(ports.api_url, campaign_id, key)
        # The post-call worker may still have been writing a promise onto a contact when
        # the first stack stopped: what it had written is kept, the rest is unchanged.
        assert _without_extracted(contacts) == _without_extracted(completed_campaign.contacts)
        for before, after in zip(completed_campaign.contacts, contacts, strict=True):
            assert before["extracted"].items() <= after["extracted"].items()

        workflows = wait_campaign_workflows(
            ports.temporal_address, campaign_id, contacts=len(contacts)
        )
        assert f"campaign-{campaign_id}" in workflows
        for contact in contacts:
            assert f"campaign-{campaign_id}-contact-{contact['id']}-attempt-1" in workflows

        # SIGTERM stops it as cleanly as Ctrl-C.
        code = cli.stop(signal.SIGTERM, timeout_s=30)
        assert code == 0, cli.describe()
    _assert_everything_released(shared_stack.home, ports)
