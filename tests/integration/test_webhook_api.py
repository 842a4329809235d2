"""The /webhooks API on real Postgres and the Temporal dev server, sending to receivers on
127.0.0.1 that verify with `standardwebhooks`.

Subscriptions are created, listed, switched, rotated, tested, replayed and deleted the
way a CRM integrator would; the secret shows once; internal URLs are refused unless
allow-listed; unknown and malformed ids are 404s.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from activities.webhooks import WebhookActivities
from centralita.kernel.db import Pool
from centralita.kernel.events import EVENT_TYPES
from centralita.webhooks.signing import new_secret
from tests.support.encryption import fixed_ring
from tests.support.servers import AppClients, settings_for
from tests.support.webhooks import LOCAL, WebhookReceiver, until
from workers.webhooks import build_webhook_worker

pytestmark = pytest.mark.integration

QUEUE = f"webhooks-api-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def crm() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver() as server:
        yield server


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment, database_url: str, app_clients: AppClients
) -> httpx.AsyncClient:
    settings = settings_for(
        database_url,
        dev_env.client.service_client.config.target_host,
        webhook_allow_hosts=list(LOCAL),
        webhook_task_queue=QUEUE,
        webhook_timeout_s=5.0,
    )
    return await app_clients.open(settings, temporal_client=dev_env.client)


async def _create(api: httpx.AsyncClient, url: str, **fields: Any) -> dict[str, Any]:
    response = await api.post("/webhooks", json={"url": url, **fields})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_create_shows_the_secret_once_and_list_and_get_never_do(
    api: httpx.AsyncClient, crm: WebhookReceiver
) -> None:
    created = await _create(
        api, crm.url, events=["call_ended", "call_started", "call_ended"], description="CRM"
    )
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["call_ended", "call_started"]
    assert (created["active"], created["description"]) == (True, "CRM")
    everything = await _create(api, crm.url, events=["*"])
    assert everything["events"] == ["*"]
    assert (await _create(api, crm.url, events=[]))["events"] == ["*"]
    own = new_secret()
    assert (await _create(api, crm.url, secret=own))["secret"] == own

    one = (await api.get(f"/webhooks/{created['id']}")).json()
    assert "secret" not in one
    assert one == {k: v for k, v in created.items() if k != "secret"}
    page = (await api.get("/webhooks", params={"limit": 2})).json()
    assert page["total"] >= 4
    assert len(page["items"]) == 2
    rest = (await api.get("/webhooks", params={"limit": 500, "offset": 2})).json()
    listed = page["items"] + rest["items"]
    assert all("secret" not in item for item in listed)
    assert created["id"] in {item["id"] for item in listed}
    assert own not in (await api.get("/webhooks")).text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"url": "http://127.0.0.1:9/hooks"}, "loopback"),
        ({"url": "http://169.254.169.254/latest/meta-data"}, "169.254.169.254"),
        ({"url": "http://10.1.2.3/hooks"}, "private"),
        ({"url": "ftp://example.com/hooks"}, "ftp"),
        ({"url": "https://93.184.216.34/hooks", "events": ["call_ended", "nope"]}, "nope"),
        ({"url": "https://93.184.216.34/hooks", "secret": "whsec_short"}, "whsec_"),
    ],
)
async def test_refused_urls_unknown_events_and_bad_secrets_are_422(
    dev_env: WorkflowEnvironment,
    database_url: str,
    app_clients: AppClients,
    body: dict[str, Any],
    says: str,
) -> None:
    # No allow-list here: loopback is as internal as any other address.
    plain = settings_for(database_url, dev_env.client.service_client.config.target_host)
    api = await app_clients.open(plain, temporal_client=dev_env.client)
    response = await api.post("/webhooks", json=body)
    assert response.status_code == 422, response.text
    assert says in response.json()["detail"]


async def test_unknown_and_malformed_ids_are_404(api: httpx.AsyncClient) -> None:
    unknown = str(uuid.uuid4())
    for webhook_id in (unknown, "not-a-uuid"):
        assert (await api.get(f"/webhooks/{webhook_id}")).status_code == 404
        assert (await api.delete(f"/webhooks/{webhook_id}")).status_code == 404
        assert (await api.patch(f"/webhooks/{webhook_id}/toggle")).status_code == 404
        assert (await api.post(f"/webhooks/{webhook_id}/rotate-secret")).status_code == 404
        assert (await api.post(f"/webhooks/{webhook_id}/test")).status_code == 404
        assert (await api.get(f"/webhooks/{webhook_id}/deliveries")).status_code == 404
        assert (await api.post(f"/webhooks/deliveries/{webhook_id}/replay")).status_code == 404


async def test_toggle_flips_or_sets_and_records_why(
    api: httpx.AsyncClient, crm: WebhookReceiver
) -> None:
    webhook = await _create(api, crm.url)
    off = (await api.patch(f"/webhooks/{webhook['id']}/toggle")).json()
    assert off["active"] is False
    assert off["disabled_reason"] == "switched off through the API"
    assert off["disabled_at"] is not None
    on = (await api.patch(f"/webhooks/{webhook['id']}/toggle")).json()
    assert (on["active"], on["disabled_reason"], on["disabled_at"]) == (True, None, None)
    stays_on = await api.patch(f"/webhooks/{webhook['id']}/toggle", json={"active": True})
    assert stays_on.json()["active"] is True


async def test_a_test_send_is_signed_logged_and_reported(
    api: httpx.AsyncClient, crm: WebhookReceiver
) -> None:
    webhook = await _create(api, crm.url)
    crm.secrets.append(webhook["secret"])
    sent = (await api.post(f"/webhooks/{webhook['id']}/test")).json()
    assert (sent["verdict"], sent["status_code"], sent["error"]) == ("delivered", 200, None)
    assert sent["latency_ms"] > 0
    [received] = crm.received
    assert received.verified_by == (webhook["secret"],)
    assert received.webhook_id == sent["event_id"]
    assert received.event["type"] == "webhook_test"
    assert received.event["data"]["webhook_id"] == webhook["id"]
    page = (await api.get(f"/webhooks/{webhook['id']}/deliveries")).json()
    [delivery] = page["items"]
    assert (delivery["id"], delivery["status"], delivery["event_type"]) == (
        sent["delivery_id"],
        "delivered",
        "webhook_test",
    )
    assert [(a["attempt"], a["status_code"]) for a in delivery["attempt_log"]] == [(1, 200)]


async def test_during_a_rotation_both_secrets_verify_and_after_it_only_the_new_one(
    api: httpx.AsyncClient, crm: WebhookReceiver
) -> None:
    webhook = await _create(api, crm.url)
    old = webhook["secret"]
    rotated = await api.post(f"/webhooks/{webhook['id']}/rotate-secret", json={"overlap_s": 1})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new.startswith("whsec_")
    assert new != old
    assert rotated.json()["webhook"]["previous_secret_valid_until"] is not None
    crm.secrets.extend([old, new])
    await api.post(f"/webhooks/{webhook['id']}/test")
    await asyncio.sleep(1.2)  # the overlap ends
    await api.post(f"/webhooks/{webhook['id']}/test")
    during, after = crm.received
    assert set(during.verified_by) == {old, new}
    assert len(during.headers["webhook-signature"].split()) == 2
    assert after.verified_by == (new,)
    assert len(after.headers["webhook-signature"].split()) == 1
    current = (await api.get(f"/webhooks/{webhook['id']}")).json()
    assert current["previous_secret_valid_until"] is None


async def test_replay_sends_the_same_event_again_and_refuses_while_pending_or_off(
    dev_env: WorkflowEnvironment, api: httpx.AsyncClient, crm: WebhookReceiver, pool: Pool
) -> None:
    webhook = await _create(api, crm.url)
    crm.secrets.append(webhook["secret"])
    sent = (await api.post(f"/webhooks/{webhook['id']}/test")).json()
    replay = f"/webhooks/deliveries/{sent['delivery_id']}/replay"
    accepted = await api.post(replay)  # no worker yet: it stays pending
    assert accepted.status_code == 202, accepted.text
    assert (accepted.json()["status"], accepted.json()["replays"]) == ("pending", 1)
    assert (await api.post(replay)).status_code == 409  # still being delivered

    activities = WebhookActivities(pool, keys=fixed_ring(), timeout_s=5.0, allow_hosts=LOCAL)
    async with build_webhook_worker(dev_env.client, QUEUE, pool, activities):

        async def delivered() -> bool:
            page = (await api.get(f"/webhooks/{webhook['id']}/deliveries")).json()
            return bool(page["items"][0]["status"] == "delivered")

        await until(delivered)
    first, again = crm.received
    assert again.webhook_id == first.webhook_id == sent["event_id"]
    assert again.verified_by == (webhook["secret"],)
    assert [r.webhook_id for r in crm.unique] == [sent["event_id"]]
    page = (await api.get(f"/webhooks/{webhook['id']}/deliveries")).json()
    assert [a["attempt"] for a in page["items"][0]["attempt_log"]] == [1, 2]

    await api.patch(f"/webhooks/{webhook['id']}/toggle", json={"active": False})
    assert (await api.post(replay)).status_code == 409  # its endpoint is off


async def test_delete_removes_the_subscription_and_its_deliveries(
    api: httpx.AsyncClient, crm: WebhookReceiver
) -> None:
    webhook = await _create(api, crm.url)
    await api.post(f"/webhooks/{webhook['id']}/test")
    assert (await api.delete(f"/webhooks/{webhook['id']}")).status_code == 204
    assert (await api.get(f"/webhooks/{webhook['id']}")).status_code == 404
    assert (await api.get(f"/webhooks/{webhook['id']}/deliveries")).status_code == 404
    assert (await api.delete(f"/webhooks/{webhook['id']}")).status_code == 404


async def test_the_openapi_schema_documents_the_models(api: httpx.AsyncClient) -> None:
    schema = (await api.get("/openapi.json")).json()
    models = schema["components"]["schemas"]
    assert {"WebhookCreated", "Webhook", "WebhookPage", "Delivery", "Attempt"} <= models.keys()
    assert "secret" in models["WebhookCreated"]["properties"]
    assert "secret" not in models["Webhook"]["properties"]
    for event_type in EVENT_TYPES:
        assert event_type in models["WebhookCreate"]["properties"]["events"]["description"]
