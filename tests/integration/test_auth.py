"""API keys: every route asks for one, bad keys answer 401, keys are stored hashed, the
admin API creates, lists and revokes them, and event streams take `?access_token=`."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from api.app import create_app
from api.auth import PUBLIC_ROUTES
from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from tests.support.servers import AppClients, api_key_for, bearer, settings_for
from tests.support.tenants import ADMIN_KEY, app_routes, new_tenant

pytestmark = pytest.mark.integration

# Well formed (ctk_ + 12 hex + 43 base64url) but never issued.
UNKNOWN_KEY = "ctk_0123456789ab_" + "A" * 43


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY)


@pytest.fixture
async def bare(app_clients: AppClients, settings: Settings) -> httpx.AsyncClient:
    """A client that presents no key unless a request adds one."""
    return await app_clients.open(settings, tenant_id=None)


@pytest.fixture
async def admin(app_clients: AppClients, settings: Settings) -> httpx.AsyncClient:
    client = await app_clients.open(settings, tenant_id=None)
    client.headers.update(bearer(ADMIN_KEY))
    return client


def _is_bearer_challenge(response: httpx.Response) -> bool:
    challenge: str = response.headers.get("www-authenticate", "")
    return challenge.startswith("Bearer")


async def test_every_route_but_the_public_ones_answers_401_without_a_key(
    bare: httpx.AsyncClient, settings: Settings
) -> None:
    routes = app_routes(create_app(settings))
    assert len(routes) > 50  # the walk sees the whole app, routers included
    checked = 0
    for route in routes:
        if route.public:
            continue
        path = route.path
        for name in route.params:
            path = path.replace(f"{{{name}}}", "00000000-0000-0000-0000-00000000abcd")
        response = await bare.request(route.method, path)
        assert response.status_code == 401, f"{route} answered {response.status_code} without a key"
        assert _is_bearer_challenge(response), route
        checked += 1
    assert checked > 50


async def test_public_routes_and_the_docs_need_no_key(bare: httpx.AsyncClient) -> None:
    for path in ("/health", "/health/live", "/openapi.json", "/docs", "/softphone"):
        response = await bare.get(path)
        assert response.status_code == 200, (path, response.status_code)


@pytest.mark.parametrize(
    "authorization",
    [
        None,  # none
        "Bearer",  # no key after the scheme
        "Basic dXNlcjpwYXNz",  # another scheme
        "Bearer not-a-key",  # malformed
        f"Bearer {UNKNOWN_KEY}",  # well formed, never issued
    ],
)
async def test_a_missing_malformed_or_unknown_key_is_401(
    bare: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await bare.get("/campaigns", headers=headers)
    assert response.status_code == 401
    assert _is_bearer_challenge(response)
    assert "detail" in response.json()


async def test_a_key_with_a_wrong_secret_is_401(bare: httpx.AsyncClient, database_url: str) -> None:
    key = await api_key_for(database_url)
    assert (await bare.get("/campaigns", headers=bearer(key))).status_code == 200
    forged = key[:-1] + ("B" if key[-1] != "B" else "C")  # same prefix, other secret
    response = await bare.get("/campaigns", headers=bearer(forged))
    assert response.status_code == 401
    assert _is_bearer_challenge(response)


async def test_the_stored_key_is_a_hash_never_the_plaintext(
    pool: Pool, admin: httpx.AsyncClient
) -> None:
    created = await admin.post(f"/admin/tenants/{DEFAULT_TENANT_ID}/api-keys", json={})
    assert created.status_code == 201
    key = created.json()["key"]
    prefix = created.json()["prefix"]
    assert key.startswith(f"ctk_{prefix}_")
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT * FROM api_keys WHERE prefix = %s", (prefix,))
        row = await cur.fetchone()
    assert row is not None
    assert bytes(row["key_hash"]) == hashlib.sha256(key.encode()).digest()
    stored = " ".join(str(v) for v in row.values())
    secret = key.split("_", 2)[2]
    assert secret not in stored
    assert key not in stored


async def test_admin_creates_a_tenant_whose_key_works_and_lists_keys_without_secrets(
    admin: httpx.AsyncClient, bare: httpx.AsyncClient
) -> None:
    tenant_id, key = await new_tenant(admin, "Banco Sur")
    again = await admin.post("/admin/tenants", json={"name": "Banco Sur"})
    assert again.status_code == 409
    listed = (await admin.get("/admin/tenants")).json()
    assert {t["name"] for t in listed} >= {"default", "Banco Sur"}
    assert (await admin.get("/admin/tenants", params={"limit": 1})).json() == listed[:1]

    # The new key works at once and sees only its tenant's (empty) data.
    campaigns = await bare.get("/campaigns", headers=bearer(key))
    assert campaigns.status_code == 200
    assert campaigns.json() == []

    keys = await admin.get(f"/admin/tenants/{tenant_id}/api-keys")
    assert keys.status_code == 200
    [entry] = keys.json()
    assert "key" not in entry
    assert "key_hash" not in entry
    assert key.split("_", 2)[2] not in keys.text
    assert entry["last_used_at"] is not None  # it was just used
    assert entry["revoked_at"] is None

    missing = "00000000-0000-0000-0000-00000000beef"
    assert (await admin.get(f"/admin/tenants/{missing}/api-keys")).status_code == 404
    assert (await admin.post(f"/admin/tenants/{missing}/api-keys", json={})).status_code == 404
    assert (await admin.get("/admin/tenants/not-an-id/api-keys")).status_code == 404


async def test_a_revoked_key_is_401_from_then_on(
    admin: httpx.AsyncClient, bare: httpx.AsyncClient
) -> None:
    _, key = await new_tenant(admin, "Revocada")
    assert (await bare.get("/campaigns", headers=bearer(key))).status_code == 200
    prefix = key.split("_")[1]
    keys = (await admin.get("/admin/tenants")).json()
    tenant = next(t for t in keys if t["name"] == "Revocada")
    [entry] = (await admin.get(f"/admin/tenants/{tenant['id']}/api-keys")).json()
    assert entry["prefix"] == prefix

    revoked = await admin.delete(f"/admin/api-keys/{entry['id']}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    response = await bare.get("/campaigns", headers=bearer(key))
    assert response.status_code == 401
    assert _is_bearer_challenge(response)
    # Revoking again keeps the first time; an unknown key is 404.
    again = await admin.delete(f"/admin/api-keys/{entry['id']}")
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]
    assert (await admin.delete(f"/admin/api-keys/{UNKNOWN_KEY}")).status_code == 404


async def test_the_admin_key_is_for_admin_routes_only_and_tenant_keys_are_not_admin(
    admin: httpx.AsyncClient, bare: httpx.AsyncClient, database_url: str
) -> None:
    tenant_key = await api_key_for(database_url)
    assert (await bare.get("/admin/tenants", headers=bearer(tenant_key))).status_code == 403
    create = await bare.post("/admin/tenants", json={"name": "x"}, headers=bearer(tenant_key))
    assert create.status_code == 403
    # The admin key acts for no tenant.
    assert (await admin.get("/campaigns")).status_code == 403
    assert (await admin.get("/admin/tenants")).status_code == 200


async def test_without_an_admin_key_configured_the_admin_api_is_off(
    app_clients: AppClients, database_url: str
) -> None:
    api = await app_clients.open(settings_for(database_url, "127.0.0.1:1"))
    response = await api.get("/admin/tenants")
    assert response.status_code == 403
    assert "CENTRALITA_ADMIN_API_KEY" in response.json()["detail"]
    # Presenting the would-be admin key is just an unknown key.
    refused = await api.get("/admin/tenants", headers=bearer(ADMIN_KEY))
    assert refused.status_code == 401


async def test_access_token_works_on_event_streams_and_downloads_only(
    pool: Pool, bare: httpx.AsyncClient, database_url: str
) -> None:
    key = await api_key_for(database_url)
    call_key = "inbound-access-token-test"  # an inbound call: the default tenant's
    async with pool.connection() as conn:
        for seq, kind in enumerate(("call_started", "call_ended")):
            await conn.execute(
                "INSERT INTO live_call_events (call_key, seq, type, at_s) VALUES (%s, %s, %s, 0)",
                (call_key, seq, kind),
            )
    stream = await bare.get(f"/calls/{call_key}/events", params={"access_token": key})
    assert stream.status_code == 200
    assert "event: call_ended" in stream.text
    csv = await bare.get("/exports/calls.csv", params={"access_token": key})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")

    # Anywhere else the query parameter is refused: URLs end up in logs.
    refused = await bare.get("/campaigns", params={"access_token": key})
    assert refused.status_code == 401
    assert "access_token" in refused.json()["detail"]
    assert (await bare.get("/exports/calls.json", params={"access_token": key})).status_code == 401
    # A bad token on a stream is 401 like a bad header.
    bad = await bare.get(f"/calls/{call_key}/events", params={"access_token": UNKNOWN_KEY})
    assert bad.status_code == 401


async def test_the_openapi_schema_documents_the_key(bare: httpx.AsyncClient) -> None:
    schema = (await bare.get("/openapi.json")).json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": schemes["ApiKey"]["description"],
    }
    paths = schema["paths"]
    assert paths["/health/ready"]["get"]["security"] == []
    assert paths["/campaigns"]["get"]["security"] == [{"ApiKey": []}]
    stream = paths["/calls/{call_key}/events"]["get"]["security"]
    assert {"AccessToken": []} in stream
    assert {"ApiKey": []} in stream
    for path, operations in paths.items():
        for method, operation in operations.items():
            if (method.upper(), path) in PUBLIC_ROUTES:
                # The probes and the providers' signed status receivers: no key, and
                # the schema says so.
                assert operation.get("security") == [], (method, path)
                continue
            assert {"ApiKey": []} in operation.get("security", []), (method, path)
