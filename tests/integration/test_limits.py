"""Limits: request and upload size (413), campaign creation and CSV upload rates per
tenant (429 with Retry-After, shared by API processes), pagination on every list."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.middleware.errors import ServerErrorMiddleware

from api.app import create_app
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from tests.support.servers import AppClients, bearer, settings_for
from tests.support.tenants import ADMIN_KEY, new_tenant

pytestmark = pytest.mark.integration

SMALL_REQUEST = 2048
SMALL_UPLOAD = 4096


def _campaign(n_contacts: int = 1, name: str = "límites") -> dict[str, Any]:
    contacts = [{"name": f"Contacto {i}", "phone": f"+5696{i:07d}"} for i in range(n_contacts)]
    return {"name": name, "start": False, "contacts": contacts}


def _limited(database_url: str, **overrides: Any) -> Settings:
    return settings_for(database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY, **overrides)


async def test_a_body_over_the_request_limit_is_413(
    app_clients: AppClients, database_url: str
) -> None:
    api = await app_clients.open(_limited(database_url, max_request_bytes=SMALL_REQUEST))
    big = {"phone": "+56961234567", "reason": "x" * SMALL_REQUEST}
    response = await api.post("/opt-outs", json=big)
    assert response.status_code == 413

    # Sent in chunks without a Content-Length, it is stopped as it arrives.
    async def chunks() -> AsyncIterator[bytes]:
        body = json.dumps(big).encode()
        for start in range(0, len(body), 512):
            yield body[start : start + 512]

    chunked = await api.post(
        "/opt-outs", content=chunks(), headers={"content-type": "application/json"}
    )
    assert chunked.status_code == 413
    # Under the limit the same route works.
    small = await api.post("/opt-outs", json={"phone": "+56961234567"})
    assert small.status_code == 201


async def test_campaign_creation_takes_the_upload_limit_not_the_request_limit(
    app_clients: AppClients, database_url: str
) -> None:
    settings = _limited(database_url, max_request_bytes=SMALL_REQUEST, max_upload_bytes=64 * 1024)
    api = await app_clients.open(settings)
    body = _campaign(60)
    assert len(json.dumps(body)) > SMALL_REQUEST
    created = await api.post("/campaigns", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["accepted"] == 60


async def test_a_csv_over_the_upload_limit_is_413_with_a_clear_message(
    app_clients: AppClients, database_url: str
) -> None:
    api = await app_clients.open(_limited(database_url, max_upload_bytes=SMALL_UPLOAD))
    rows = "\n".join(f"Contacto {i},+5696{i:07d}" for i in range(400))
    csv = f"name,phone\n{rows}\n".encode()
    assert SMALL_UPLOAD < len(csv) < 64 * 1024
    response = await api.post(
        "/campaigns", data={"name": "grande"}, files={"file": ("deudores.csv", csv, "text/csv")}
    )
    assert response.status_code == 413
    detail = response.json()["detail"]
    assert "CSV file is over the limit of 4096 bytes" in detail
    # Far over even the envelope's allowance: stopped before the route reads it.
    huge = await api.post(
        "/campaigns",
        data={"name": "enorme"},
        files={"file": ("deudores.csv", csv * 40, "text/csv")},
    )
    assert huge.status_code == 413


async def test_campaign_creation_past_the_tenants_rate_is_429_with_retry_after(
    app_clients: AppClients, database_url: str, pool: Pool
) -> None:
    settings = _limited(database_url, campaign_create_burst=2, campaign_create_per_minute=1)
    api = await app_clients.open(settings)
    before = await _campaigns_of(pool, DEFAULT_TENANT_ID)
    for _ in range(2):
        assert (await api.post("/campaigns", json=_campaign())).status_code == 201
    refused = await api.post("/campaigns", json=_campaign())
    assert refused.status_code == 429
    retry_after = int(refused.headers["retry-after"])
    assert 1 <= retry_after <= 60  # one token a minute
    assert "campaign_create" in refused.json()["detail"]
    # Refused before the body is read: a malformed one is not even looked at.
    garbage = await api.post(
        "/campaigns", content=b"{", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 429

    # A second API process on the same database draws from the same bucket.
    other_process = await app_clients.open(settings)
    assert (await other_process.post("/campaigns", json=_campaign())).status_code == 429

    # Another tenant has a bucket of its own.
    admin = await app_clients.open(settings, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    _, b_key = await new_tenant(admin, "rate B")
    b_created = await api.post("/campaigns", json=_campaign(), headers=bearer(b_key))
    assert b_created.status_code == 201
    assert await _campaigns_of(pool, DEFAULT_TENANT_ID) == before + 2  # refused: nothing


async def _campaigns_of(pool: Pool, tenant_id: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT count(*) AS n FROM campaigns WHERE tenant_id = %s", (tenant_id,)
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["n"])


async def test_the_bucket_refills_at_its_rate(app_clients: AppClients, database_url: str) -> None:
    # 600 a minute: a token every 0.1 s.
    settings = _limited(database_url, campaign_create_burst=1, campaign_create_per_minute=600)
    admin = await app_clients.open(settings, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    _, key = await new_tenant(admin, "refill")
    api = await app_clients.open(settings, tenant_id=None)
    api.headers.update(bearer(key))
    assert (await api.post("/campaigns", json=_campaign())).status_code == 201
    refused = await api.post("/campaigns", json=_campaign())
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    await asyncio.sleep(0.3)
    assert (await api.post("/campaigns", json=_campaign())).status_code == 201


async def test_csv_uploads_have_their_own_smaller_rate(
    app_clients: AppClients, database_url: str
) -> None:
    settings = _limited(database_url, csv_upload_burst=1, csv_upload_per_minute=1)
    admin = await app_clients.open(settings, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    _, key = await new_tenant(admin, "csv rate")
    api = await app_clients.open(settings, tenant_id=None)
    api.headers.update(bearer(key))
    csv = b"name,phone\nAna,+56961234567\n"
    upload = {"data": {"name": "csv"}, "files": {"file": ("a.csv", csv, "text/csv")}}
    assert (await api.post("/campaigns", **upload)).status_code == 201  # type: ignore[arg-type]
    refused = await api.post("/campaigns", **upload)  # type: ignore[arg-type]
    assert refused.status_code == 429
    assert "csv_upload" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    # JSON campaigns still go through: only uploads were used up.
    assert (await api.post("/campaigns", json=_campaign())).status_code == 201


def _is_list_answer(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Whether a 200 answer is a collection: an array, or a page (items / next cursor)."""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[-1]]
    if schema.get("type") == "array":
        return True
    if "anyOf" in schema:
        return any(_is_list_answer(s, components) for s in schema["anyOf"])
    properties = schema.get("properties", {})
    return "items" in properties or "next_cursor" in properties


async def test_every_list_endpoint_is_paginated(app_clients: AppClients, database_url: str) -> None:
    api = await app_clients.open(_limited(database_url))
    spec = (await api.get("/openapi.json")).json()
    components = spec["components"]["schemas"]
    lists: list[str] = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        answer = get["responses"].get("200", {}).get("content", {}).get("application/json")
        if answer is None or not _is_list_answer(answer["schema"], components):
            continue
        names = {p["name"] for p in get.get("parameters", [])}
        assert "limit" in names, f"GET {path} lists without a limit"
        assert names & {"offset", "cursor"}, f"GET {path} has no offset or cursor"
        lists.append(path)
    # The collections this API has today are all among them.
    assert {
        "/campaigns",
        "/campaigns/{campaign_id}/contacts",
        "/calls",
        "/opt-outs",
        "/lexicon",
        "/learning/proposals",
        "/webhooks",
        "/webhooks/{webhook_id}/deliveries",
        "/metrics/summary",
        "/exports/calls.json",
        "/admin/tenants",
        "/admin/tenants/{tenant_id}/api-keys",
    } <= set(lists)


async def test_live_calls_are_paginated(
    app_clients: AppClients, database_url: str, pool: Pool
) -> None:
    api = await app_clients.open(_limited(database_url))
    keys = [f"inbound-page-{i}" for i in range(3)]  # inbound: the default tenant's
    async with pool.connection() as conn:
        for key in keys:
            await conn.execute(
                "INSERT INTO live_call_events (call_key, seq, type, at_s) "
                "VALUES (%s, 0, 'call_started', 0)",
                (key,),
            )
    first = (await api.get("/calls", params={"live": "true", "limit": 2})).json()
    rest = (await api.get("/calls", params={"live": "true", "limit": 2, "offset": 2})).json()
    listed = [c["call_key"] for c in first + rest]
    assert len(first) == 2
    assert sorted(k for k in listed if k.startswith("inbound-page-")) == keys


def _documented_problem(response: Any) -> str:
    """A 413 with the JSON error body every other error has (`{"detail": "..."}`)."""
    assert response.status_code == 413, response.text
    assert response.headers["content-type"].startswith("application/json"), response.text
    body = response.json()
    assert set(body) == {"detail"}, body
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return str(body["detail"])


async def test_every_413_carries_the_documented_json_problem_body(
    app_clients: AppClients, database_url: str
) -> None:
    settings = _limited(
        database_url,
        max_request_bytes=SMALL_REQUEST,
        max_upload_bytes=SMALL_UPLOAD,
        max_contacts_per_campaign=2,
    )
    # A tenant of its own: the module's other tests spend the default tenant's rates.
    admin = await app_clients.open(settings, tenant_id=None)
    admin.headers.update(bearer(ADMIN_KEY))
    _, key = await new_tenant(admin, "413 bodies")
    api = await app_clients.open(settings, tenant_id=None)
    api.headers.update(bearer(key))
    anonymous = await app_clients.open(settings, tenant_id=None)
    big = json.dumps({"phone": "+56961234567", "reason": "x" * SMALL_REQUEST})

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 512):
            yield big[start : start + 512].encode()

    json_type = {"content-type": "application/json"}
    too_large = [
        # A declared length over the limit, on a route that reads its body.
        await api.post("/opt-outs", content=big, headers=json_type),
        # The same without a length: stopped as it arrives.
        await api.post("/opt-outs", content=chunks(), headers=json_type),
        # Refused before any key is read: the limit answers first, as documented.
        await anonymous.post("/opt-outs", content=big, headers=json_type),
        # A route that takes no body at all.
        await api.request("DELETE", "/opt-outs/+56961234567", content=big),
        # Campaign creation: the whole body past the upload limit and its envelope...
        await api.post("/campaigns", content=b"x" * (SMALL_UPLOAD + 70_000), headers=json_type),
        # ...a JSON body past the upload limit...
        await api.post("/campaigns", content=b" " * (SMALL_UPLOAD + 10), headers=json_type),
        # ...a CSV over it, and more contacts than a campaign may have.
        await api.post(
            "/campaigns",
            data={"name": "grande"},
            files={"file": ("a.csv", b"name,phone\n" + b"x,+56961234567\n" * 400, "text/csv")},
        ),
        await api.post("/campaigns", json=_campaign(3)),
    ]
    details = [_documented_problem(response) for response in too_large]
    limit = f"over the limit of {SMALL_REQUEST} bytes (max_request_bytes)"
    assert all(limit in detail for detail in details[:4]), details
    assert "(max_upload_bytes (4096) plus 65536 for a multipart envelope)" in details[4]
    assert "over the limit of 4096 bytes (max_upload_bytes)" in details[5]
    assert "CSV file is over the limit" in details[6]
    assert "2 contacts" in details[7]
    # The schema says so for every operation with a body.
    documented = (await api.get("/openapi.json")).json()["paths"]["/opt-outs"]["post"]
    assert documented["responses"]["413"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }


async def test_the_json_413_keeps_the_apis_server_spans(database_url: str) -> None:
    # The 413 rewrite sits inside the stack's outermost layer: OpenTelemetry's FastAPI
    # instrumentation skips (no server spans) an app whose outermost layer is another.
    app = create_app(_limited(database_url, max_request_bytes=SMALL_REQUEST))  # instrumented

    stack = app.build_middleware_stack()

    assert isinstance(stack, ServerErrorMiddleware)
    assert isinstance(stack.app, OpenTelemetryMiddleware)
