"""Carrier accounts and phone numbers through the API on real Postgres: created, listed,
read and deleted without a secret in any answer or log line; refused input names its
field; a number is one tenant's; another tenant sees and uses nothing of them; and the
inbound lookup finds a dialled number's tenant, agent and credentials.
"""

from __future__ import annotations

import base64
import logging
import uuid
from typing import Any

import httpx
import psycopg
import pytest

from centralita.kernel.db import Pool
from centralita.kernel.ids import DEFAULT_TENANT_ID
from centralita.kernel.settings import Settings
from centralita.telephony.models import TelnyxCredentials, TwilioCredentials
from centralita.telephony.store.accounts import account_credentials
from centralita.telephony.store.numbers import route_for_number
from tests.support.encryption import fixed_ring
from tests.support.servers import AppClients, settings_for
from tests.support.tenants import ADMIN_KEY, other_tenant_client

pytestmark = pytest.mark.integration

AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
API_KEY = "KEY01890ABCDEF_TelnyxSecretPartZZ9"
SECRETS = (AUTH_TOKEN, API_KEY)
PUBLIC_KEY = base64.b64encode(bytes(range(32, 64))).decode()
SID = "AC" + "a1b2c3d4e5f60718" * 2
AGENT = "cobranza-temprana"  # shipped


def twilio_account(name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "carrier": "twilio",
        "name": name,
        "account_sid": SID,
        "auth_token": AUTH_TOKEN,
        **overrides,
    }


def telnyx_account(name: str, **overrides: Any) -> dict[str, Any]:
    return {
        "carrier": "telnyx",
        "name": name,
        "api_key": API_KEY,
        "public_key": PUBLIC_KEY,
        "connection_id": "1494404757140276705",
        "calls_per_second": 5,
        **overrides,
    }


def _unique_number() -> str:
    """A valid Chilean Santiago landline no other test of this module uses."""
    return f"+5622{uuid.uuid4().int % 10_000_000:07d}"


def _no_secret(response: httpx.Response) -> httpx.Response:
    for secret in SECRETS:
        assert secret not in response.text, f"{response.request.url} answered a secret"
    return response


@pytest.fixture
def settings(database_url: str) -> Settings:
    return settings_for(database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY)


@pytest.fixture
async def api(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    return await app_clients.open(settings)


@pytest.fixture
async def other(settings: Settings, app_clients: AppClients) -> httpx.AsyncClient:
    """A client of a second tenant."""
    return await other_tenant_client(settings, app_clients)


async def _account(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    created = _no_secret(await api.post("/carrier-accounts", json=body))
    assert created.status_code == 201, created.text
    account: dict[str, Any] = created.json()
    return account


async def _number(api: httpx.AsyncClient, account_id: str, **overrides: Any) -> dict[str, Any]:
    body = {"number": _unique_number(), "carrier_account_id": account_id, "agent": AGENT}
    created = await api.post("/phone-numbers", json={**body, **overrides})
    assert created.status_code == 201, created.text
    number: dict[str, Any] = created.json()
    return number


async def test_accounts_are_created_listed_read_and_deleted_without_their_secrets(
    api: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    twilio = await _account(api, twilio_account(f"twilio {uuid.uuid4().hex[:6]}"))
    assert twilio["carrier"] == "twilio"
    assert twilio["account_sid"] == SID
    assert twilio["auth_token_hint"] == "****" + AUTH_TOKEN[-4:]
    assert twilio["api_key_hint"] is None
    assert twilio["calls_per_second"] == 1.0
    assert twilio["phone_numbers"] == 0
    assert "auth_token" not in twilio

    telnyx = await _account(api, telnyx_account(f"telnyx {uuid.uuid4().hex[:6]}"))
    assert telnyx["carrier"] == "telnyx"
    assert telnyx["api_key_hint"] == "****" + API_KEY[-4:]
    assert telnyx["public_key"] == PUBLIC_KEY
    assert telnyx["connection_id"] == "1494404757140276705"
    assert telnyx["calls_per_second"] == 5.0
    assert "api_key" not in telnyx

    listed = _no_secret(await api.get("/carrier-accounts", params={"limit": 500}))
    assert listed.status_code == 200
    ids = [a["id"] for a in listed.json()["items"]]
    assert twilio["id"] in ids
    assert telnyx["id"] in ids
    assert listed.json()["total"] >= 2
    one = _no_secret(await api.get(f"/carrier-accounts/{twilio['id']}"))
    assert one.json() == twilio
    _no_secret(await api.get("/openapi.json"))

    assert (await api.delete(f"/carrier-accounts/{twilio['id']}")).status_code == 204
    assert (await api.get(f"/carrier-accounts/{twilio['id']}")).status_code == 404
    assert (await api.delete(f"/carrier-accounts/{twilio['id']}")).status_code == 404
    assert (await api.get("/carrier-accounts/not-an-id")).status_code == 404

    for secret in SECRETS:
        assert secret not in caplog.text
    assert any(r.getMessage().startswith("carrier account") for r in caplog.records)


async def test_secrets_are_stored_for_the_code_that_places_calls(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    account = await _account(api, twilio_account(f"stored {uuid.uuid4().hex[:6]}"))
    async with pool.connection() as conn:
        credentials = await account_credentials(
            conn, fixed_ring(), DEFAULT_TENANT_ID, account["id"]
        )
        elsewhere = await account_credentials(conn, fixed_ring(), str(uuid.uuid4()), account["id"])
    assert isinstance(credentials, TwilioCredentials)
    assert credentials.auth_token.get_secret_value() == AUTH_TOKEN
    assert elsewhere is None


async def test_a_name_is_the_tenants_once(api: httpx.AsyncClient, other: httpx.AsyncClient) -> None:
    name = f"única {uuid.uuid4().hex[:6]}"
    await _account(api, twilio_account(name))
    again = _no_secret(await api.post("/carrier-accounts", json=telnyx_account(name)))
    assert again.status_code == 409
    assert name in again.json()["detail"]
    await _account(other, twilio_account(name))  # another tenant's namespace


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        (twilio_account("x", carrier="vonage"), ["body", "carrier"], "'twilio' or 'telnyx'"),
        (twilio_account("x", account_sid="AC12"), ["body", "account_sid"], "32 hex digits"),
        (twilio_account("x", auth_token="tiny"), ["body", "auth_token"], "16 to 512"),
        (
            twilio_account("x", auth_token=AUTH_TOKEN + " " + AUTH_TOKEN),
            ["body", "auth_token"],
            "without spaces",
        ),
        (twilio_account("x", api_key=API_KEY), ["body", "api_key"], "does not take it"),
        (telnyx_account("x", public_key="no pe!"), ["body", "public_key"], "not base64"),
        (telnyx_account("x", connection_id=None), ["body", "connection_id"], "required"),
        (telnyx_account("x", calls_per_second=0), ["body", "calls_per_second"], "0.1"),
        (telnyx_account("x", calls_per_second=101), ["body", "calls_per_second"], "100"),
        (twilio_account(""), ["body", "name"], "at least 1"),
    ],
)
async def test_a_bad_account_answers_422_naming_the_field_and_not_the_secret(
    api: httpx.AsyncClient, body: dict[str, Any], loc: list[str], words: str
) -> None:
    refused = _no_secret(await api.post("/carrier-accounts", json=body))
    assert refused.status_code == 422, refused.text
    problems = refused.json()["detail"]
    assert [p["loc"] for p in problems] == [loc], problems
    assert words in problems[0]["msg"]


async def test_numbers_route_to_agents_and_the_lookup_finds_them(
    api: httpx.AsyncClient, pool: Pool
) -> None:
    account = await _account(api, telnyx_account(f"ruta {uuid.uuid4().hex[:6]}"))
    raw = _unique_number()
    spaced = f"{raw[:3]} {raw[3]} {raw[4:8]} {raw[8:]}"
    created = await _number(
        api, account["id"], number=spaced, variables={"empresa": "Banco Sur", "monto": 1200}
    )
    assert created["number"] == raw
    assert created["carrier"] == "telnyx"
    assert created["agent"] == AGENT
    assert created["variables"] == {"empresa": "Banco Sur", "monto": 1200}

    # The path takes the number with its + encoded, or without it.
    for path in (f"/phone-numbers/%2B{raw[1:]}", f"/phone-numbers/{raw[1:]}"):
        found = await api.get(path)
        assert found.status_code == 200, (path, found.text)
        assert found.json() == created
    listed = await api.get("/phone-numbers", params={"limit": 500})
    assert raw in [n["number"] for n in listed.json()["items"]]
    in_use = await api.get(f"/carrier-accounts/{account['id']}")
    assert in_use.json()["phone_numbers"] == 1

    async with pool.connection() as conn:
        route = await route_for_number(conn, fixed_ring(), raw)
        spaced_route = await route_for_number(conn, fixed_ring(), spaced)
        nobody = await route_for_number(conn, fixed_ring(), _unique_number())
        garbage = await route_for_number(conn, fixed_ring(), "not a number")
    assert route is not None
    assert spaced_route == route
    assert nobody is None
    assert garbage is None
    assert route.tenant_id == DEFAULT_TENANT_ID
    assert route.agent == AGENT
    assert route.variables == {"empresa": "Banco Sur", "monto": 1200}
    assert route.account_id == account["id"]
    assert route.calls_per_second == 5.0
    assert isinstance(route.credentials, TelnyxCredentials)
    assert route.credentials.api_key.get_secret_value() == API_KEY
    assert route.credentials.public_key == PUBLIC_KEY

    # PUT replaces the routing; the lookup follows.
    twilio = await _account(api, twilio_account(f"nueva {uuid.uuid4().hex[:6]}"))
    change = {"carrier_account_id": twilio["id"], "agent": "cobranza-tardia", "variables": {}}
    replaced = await api.put(f"/phone-numbers/%2B{raw[1:]}", json=change)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["carrier"] == "twilio"
    assert replaced.json()["agent"] == "cobranza-tardia"
    assert replaced.json()["updated_at"] > created["updated_at"]
    async with pool.connection() as conn:
        route = await route_for_number(conn, fixed_ring(), raw)
    assert route is not None
    assert route.agent == "cobranza-tardia"
    assert route.variables == {}
    assert isinstance(route.credentials, TwilioCredentials)

    # An account in use is not deleted from under its numbers.
    held = await api.delete(f"/carrier-accounts/{twilio['id']}")
    assert held.status_code == 409
    assert "1 phone number" in held.json()["detail"]
    assert (await api.delete(f"/phone-numbers/{raw[1:]}")).status_code == 204
    assert (await api.get(f"/phone-numbers/{raw[1:]}")).status_code == 404
    assert (await api.delete(f"/phone-numbers/{raw[1:]}")).status_code == 404
    async with pool.connection() as conn:
        assert await route_for_number(conn, fixed_ring(), raw) is None
    assert (await api.delete(f"/carrier-accounts/{twilio['id']}")).status_code == 204


async def test_a_number_is_one_tenants(api: httpx.AsyncClient, other: httpx.AsyncClient) -> None:
    mine = await _account(api, twilio_account(f"mía {uuid.uuid4().hex[:6]}"))
    theirs = await _account(other, twilio_account(f"suya {uuid.uuid4().hex[:6]}"))
    number = (await _number(api, mine["id"]))["number"]

    again = await api.post(
        "/phone-numbers",
        json={"number": number, "carrier_account_id": mine["id"], "agent": AGENT},
    )
    assert again.status_code == 409
    assert "by this tenant" in again.json()["detail"]
    claimed = await other.post(
        "/phone-numbers",
        json={"number": number, "carrier_account_id": theirs["id"], "agent": AGENT},
    )
    assert claimed.status_code == 409
    assert "another tenant" in claimed.json()["detail"]
    assert (await api.get(f"/phone-numbers/{number[1:]}")).status_code == 200


async def test_another_tenant_sees_and_uses_nothing(
    api: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    mine = await _account(api, twilio_account(f"privada {uuid.uuid4().hex[:6]}"))
    number = (await _number(api, mine["id"], variables={"secreto": "solo-de-A"}))["number"]
    theirs = await _account(other, telnyx_account(f"ajena {uuid.uuid4().hex[:6]}"))

    assert (await other.get(f"/carrier-accounts/{mine['id']}")).status_code == 404
    assert (await other.delete(f"/carrier-accounts/{mine['id']}")).status_code == 404
    listed = (await other.get("/carrier-accounts")).json()
    assert [a["id"] for a in listed["items"]] == [theirs["id"]]
    assert listed["total"] == 1
    numbers = (await other.get("/phone-numbers")).json()
    assert numbers == {"total": 0, "items": []}
    for method in ("GET", "DELETE"):
        answer = await other.request(method, f"/phone-numbers/{number[1:]}")
        assert answer.status_code == 404, (method, answer.text)
    change = {"carrier_account_id": theirs["id"], "agent": AGENT}
    assert (await other.put(f"/phone-numbers/{number[1:]}", json=change)).status_code == 404

    # A's account is not B's to route through: 404, as if it did not exist.
    used = await other.post(
        "/phone-numbers",
        json={"number": _unique_number(), "carrier_account_id": mine["id"], "agent": AGENT},
    )
    assert used.status_code == 404
    assert used.json()["detail"] == "carrier_account_id: no such carrier account"
    # ...nor to move A's own number onto B's account.
    moved = await api.put(
        f"/phone-numbers/{number[1:]}", json={"carrier_account_id": theirs["id"], "agent": AGENT}
    )
    assert moved.status_code == 404
    assert (await api.get(f"/phone-numbers/{number[1:]}")).json()["carrier"] == "twilio"
    absent = await api.post(
        "/phone-numbers",
        json={"number": _unique_number(), "carrier_account_id": str(uuid.uuid4()), "agent": AGENT},
    )
    assert absent.status_code == 404


async def test_the_database_keeps_a_numbers_account_its_tenants(
    api: httpx.AsyncClient, other: httpx.AsyncClient, pool: Pool
) -> None:
    theirs = await _account(other, twilio_account(f"db {uuid.uuid4().hex[:6]}"))
    async with pool.connection() as conn:
        with pytest.raises(psycopg.errors.ForeignKeyViolation):
            await conn.execute(
                "INSERT INTO phone_numbers (number, tenant_id, carrier_account_id, agent) "
                "VALUES (%s, %s, %s, %s)",
                (_unique_number(), DEFAULT_TENANT_ID, theirs["id"], AGENT),
            )


@pytest.mark.parametrize(
    ("overrides", "loc", "words"),
    [
        ({"number": "229990000"}, ["body", "number"], "international form"),
        ({"number": "+5622"}, ["body", "number"], "not a valid number"),
        ({"carrier_account_id": "abc"}, ["body", "carrier_account_id"], "UUID"),
        ({"agent": "no-such-agent"}, ["body", "agent"], "unknown agent 'no-such-agent'"),
        ({"variables": {"x": [1]}}, ["body", "variables", "x"], ""),
    ],
)
async def test_a_bad_number_answers_422_naming_the_field(
    api: httpx.AsyncClient, overrides: dict[str, Any], loc: list[str], words: str
) -> None:
    account = await _account(api, twilio_account(f"422 {uuid.uuid4().hex[:6]}"))
    body = {"number": _unique_number(), "carrier_account_id": account["id"], "agent": AGENT}
    refused = await api.post("/phone-numbers", json={**body, **overrides})
    assert refused.status_code == 422, refused.text
    problems = refused.json()["detail"]
    assert {tuple(p["loc"][: len(loc)]) for p in problems} == {tuple(loc)}, problems
    assert any(words in p["msg"] for p in problems)
    if overrides.get("agent"):  # the same check on a PUT
        number = await _number(api, account["id"])
        change = {"carrier_account_id": account["id"], "agent": "no-such-agent"}
        put = await api.put(f"/phone-numbers/{number['number'][1:]}", json=change)
        assert put.status_code == 422
        assert put.json()["detail"][0]["loc"] == ["body", "agent"]


async def test_a_path_that_is_not_a_number_names_nothing(api: httpx.AsyncClient) -> None:
    for path in ("/phone-numbers/abc", "/phone-numbers/%2B5622", "/phone-numbers/0"):
        assert (await api.get(path)).status_code == 404
        assert (await api.delete(path)).status_code == 404


async def test_a_campaign_may_name_only_its_tenant_s_carrier_account(
    api: httpx.AsyncClient, other: httpx.AsyncClient
) -> None:
    theirs = await _account(other, twilio_account(f"theirs {uuid.uuid4().hex[:6]}"))
    before = len((await api.get("/campaigns", params={"limit": 500})).json())
    for account_id in (theirs["id"], str(uuid.uuid4())):
        refused = await api.post(
            "/campaigns",
            json={
                "name": "phones",
                "policy": {"carrier_account_id": account_id},
                "contacts": [{"name": "Ana", "phone": "+56961234567"}],
            },
        )
        assert refused.status_code == 422, refused.text
        assert "carrier_account_id" in refused.text
    # Refused before anything was stored: a typo never fails a campaign's contacts.
    assert len((await api.get("/campaigns", params={"limit": 500})).json()) == before
