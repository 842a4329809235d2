"""Temporal holds only ciphertext of what a campaign carries, and the codec endpoint opens it
for the admin key alone.

A real campaign runs on the time-skipping server with the production worker; its
attempt's history is read raw, as the Temporal UI or anyone with the database would see
it, then decoded through the API's `/codec` endpoint.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from centralita.campaigns.policy import CampaignPolicy
from centralita.kernel.calls import CallOutcome
from centralita.kernel.db import Pool
from centralita.kernel.payload_codec import ENCRYPTED_ENCODING, EncryptionCodec
from centralita.kernel.settings import Settings
from tests.support.campaigns import ALWAYS_OPEN, Population, new_campaign, run_campaign, step
from tests.support.encryption import fixed_ring
from tests.support.servers import AppClients, api_key_for, bearer, instant_carrier, settings_for
from tests.support.tenants import ADMIN_KEY

pytestmark = pytest.mark.integration

NAME = "Zuleima Quintanilla"
UI_ORIGIN = "http://127.0.0.1:8233"


class Run:
    """The campaign's one attempt: its number and its raw history."""

    def __init__(self, phone: str, history: WorkflowHistory) -> None:
        self.phone = phone
        self.history = history

    @property
    def started(self) -> Any:
        return self.history.events[0].workflow_execution_started_event_attributes


@pytest.fixture(scope="module")
async def run(time_skipping_env: WorkflowEnvironment, pool: Pool) -> Run:
    people = Population()
    people.add("payer", 1, [step(CallOutcome.PROMISE_TO_PAY)], prefix="+5697")
    people.contacts[0].variables = {"nombre": NAME}
    policy = CampaignPolicy.model_validate(ALWAYS_OPEN)
    campaign_id = await new_campaign(pool, people, policy)
    client = time_skipping_env.client
    await run_campaign(client, pool, campaign_id, instant_carrier(people.personas))
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT attempt_key FROM call_attempts WHERE campaign_id = %s", (campaign_id,)
        )
        [attempt] = await cur.fetchall()
    history = await client.get_workflow_handle(attempt["attempt_key"]).fetch_history()
    return Run(people.contacts[0].phones[0], history)


def _raw(history: WorkflowHistory) -> bytes:
    return b"".join(event.SerializeToString() for event in history.events)


async def test_the_history_holds_no_phone_or_name_in_clear(run: Run) -> None:
    raw = _raw(run.history)
    assert run.phone.removeprefix("+").encode() not in raw
    assert NAME.encode() not in raw
    assert b"Zuleima" not in raw
    # Every payload is sealed but headers (trace context) and search attributes (ids,
    # which the server indexes): the codec is not applied to those two.
    assert _payloads(run)
    assert all(p.metadata["encoding"] == ENCRYPTED_ENCODING for p in _payloads(run))
    memo = run.started.memo.fields["phone"]  # the masked number is sealed too
    assert memo.metadata["encoding"] == ENCRYPTED_ENCODING
    # Search attributes are indexed by the server, not payload-coded: ids only.
    for payload in run.started.search_attributes.indexed_fields.values():
        assert run.phone.removeprefix("+").encode() not in payload.data


async def test_the_codec_gives_the_values_back(run: Run) -> None:
    codec = EncryptionCodec(fixed_ring())
    [attempt] = await codec.decode(run.started.input.payloads)
    assert run.phone.encode() in attempt.data
    assert NAME.encode() in attempt.data
    [memo] = await codec.decode([run.started.memo.fields["phone"]])
    assert run.phone.encode() not in memo.data  # what the memo holds is masked
    assert run.phone[-2:].encode() in memo.data


# -- the codec endpoint ----------------------------------------------------------------


def _wire(payloads: list[Payload]) -> dict[str, Any]:
    return {"payloads": [json_format.MessageToDict(p) for p in payloads]}


def _from_wire(body: dict[str, Any]) -> list[Payload]:
    return [json_format.ParseDict(p, Payload()) for p in body["payloads"]]


def _payloads(run: Run) -> list[Payload]:
    """Every payload of the attempt's history but headers and search attributes."""
    found: list[Payload] = []

    def walk(message: Any) -> None:
        if isinstance(message, Payload):
            found.append(message)
            return
        for field, value in message.ListFields():
            if field.message_type is None or field.name in _NOT_CODED:
                continue
            if field.message_type.GetOptions().map_entry:
                values = list(value.values())
            elif field.is_repeated:
                values = list(value)
            else:
                values = [value]
            for item in values:
                if hasattr(item, "ListFields"):
                    walk(item)

    for event in run.history.events:
        walk(event)
    return found


_NOT_CODED = {"header", "search_attributes"}


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY)


@pytest.fixture
async def api(app_clients: AppClients, settings: Settings) -> httpx.AsyncClient:
    return await app_clients.open(settings, tenant_id=None)


async def test_the_endpoint_decodes_for_the_admin_key(run: Run, api: httpx.AsyncClient) -> None:
    encrypted = _payloads(run)
    assert len(encrypted) >= 4  # input, memo, activity inputs and results, the result
    headers = {**bearer(ADMIN_KEY), "X-Namespace": "default"}
    answer = await api.post("/codec/decode", json=_wire(encrypted), headers=headers)
    assert answer.status_code == 200, answer.text
    decoded = _from_wire(answer.json())
    assert decoded == await EncryptionCodec(fixed_ring()).decode(encrypted)
    assert any(run.phone.encode() in p.data for p in decoded)
    # metadata and data travel as base64, as the Temporal UI sends and expects them
    first = answer.json()["payloads"][0]
    assert base64.b64decode(first["metadata"]["encoding"]) == b"json/plain"

    again = await api.post("/codec/encode", json=_wire(decoded), headers=headers)
    assert again.status_code == 200, again.text
    assert all(p.metadata["encoding"] == ENCRYPTED_ENCODING for p in _from_wire(again.json()))
    back = await api.post("/codec/decode", json=again.json(), headers=headers)
    assert _from_wire(back.json()) == decoded


async def test_the_endpoint_refuses_everyone_else(
    run: Run, api: httpx.AsyncClient, database_url: str
) -> None:
    body = _wire(_payloads(run)[:1])
    missing = await api.post("/codec/decode", json=body)
    assert missing.status_code == 401, missing.text
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = await api.post("/codec/decode", json=body, headers=bearer("x" * 32))
    assert wrong.status_code == 403, wrong.text
    tenant = await api.post(
        "/codec/decode", json=body, headers=bearer(await api_key_for(database_url))
    )
    assert tenant.status_code == 403, tenant.text
    for answer in (missing, wrong, tenant):
        assert run.phone.encode() not in answer.content


async def test_the_endpoint_is_off_without_an_admin_key(
    app_clients: AppClients, database_url: str
) -> None:
    api = await app_clients.open(settings_for(database_url, "127.0.0.1:1"), tenant_id=None)
    answer = await api.post("/codec/decode", json={"payloads": []}, headers=bearer("x" * 32))
    assert answer.status_code == 404, answer.text


async def test_the_temporal_ui_may_call_it_cross_origin(api: httpx.AsyncClient) -> None:
    preflight = {
        "Origin": UI_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    allowed = await api.options("/codec/decode", headers=preflight)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["access-control-allow-origin"] == UI_ORIGIN
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    elsewhere = await api.options(
        "/codec/decode", headers={**preflight, "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in elsewhere.headers
