"""An operator signs in to the codec endpoint so the Temporal UI shows payloads decoded.

Issue 20: "a codec endpoint lets the Temporal UI show decoded payloads to an operator
with an admin key, and nothing readable without it". The UI can send only cookies with
its codec calls, so the admin key is exchanged once for a session cookie scoped to
`/codec`; these tests drive that exchange as a browser would.
"""

from __future__ import annotations

import httpx
import pytest
from google.protobuf import json_format
from pydantic import SecretStr
from temporalio.converter import DataConverter

from api.codec_session import COOKIE, SESSION_S, session_cookie, session_is_valid
from centralita.kernel.payload_codec import EncryptionCodec
from centralita.kernel.settings import Settings
from tests.support.encryption import fixed_ring
from tests.support.servers import AppClients, settings_for
from tests.support.tenants import ADMIN_KEY

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(app_clients: AppClients, database_url: str) -> httpx.AsyncClient:
    settings: Settings = settings_for(database_url, "127.0.0.1:1", admin_api_key=ADMIN_KEY)
    return await app_clients.open(settings, tenant_id=None)


async def encrypted_body() -> dict[str, object]:
    [payload] = DataConverter.default.payload_converter.to_payloads(["+56912345678"])
    [sealed] = await EncryptionCodec(fixed_ring()).encode([payload])
    return {"payloads": [json_format.MessageToDict(sealed)]}


async def test_the_admin_key_buys_a_cookie_the_ui_can_decode_with(api: httpx.AsyncClient) -> None:
    page = await api.get("/codec/sign-in")
    assert page.status_code == 200
    assert 'type="password"' in page.text
    body = await encrypted_body()
    # No cookie, no key: nothing readable.
    assert (await api.post("/codec/decode", json=body)).status_code == 401

    wrong = await api.post("/codec/session", data={"key": "x" * 32})
    assert wrong.status_code == 403
    assert COOKIE not in api.cookies

    signed = await api.post("/codec/session", data={"key": ADMIN_KEY})
    assert signed.status_code == 303
    assert signed.headers["location"].startswith("http")  # back to the Temporal UI
    set_cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in set_cookie
    assert "Path=/codec" in set_cookie
    assert "samesite=lax" in set_cookie.lower()
    assert ADMIN_KEY not in set_cookie

    decoded = await api.post("/codec/decode", json=body)  # the cookie, as a browser keeps it
    assert decoded.status_code == 200, decoded.text
    assert "binary/encrypted" not in decoded.text
    assert decoded.json()["payloads"][0]["metadata"]["encoding"] == "anNvbi9wbGFpbg=="  # json/plain

    out = await api.post("/codec/sign-out")
    assert out.status_code == 303
    assert (await api.post("/codec/decode", json=body)).status_code == 401


def test_a_session_ends_with_its_time_or_with_the_admin_key() -> None:
    key = SecretStr(ADMIN_KEY)
    cookie = session_cookie(key, now=1_000.0)
    assert session_is_valid(key, cookie, now=1_000.0 + SESSION_S - 1)
    assert not session_is_valid(key, cookie, now=1_000.0 + SESSION_S + 1)
    assert not session_is_valid(SecretStr("another-admin-key-0123456789"), cookie, now=1_001.0)
    expires, _, mac = cookie.partition(".")
    forged = f"{int(expires) + SESSION_S}.{mac}"  # a longer life, the same signature
    assert not session_is_valid(key, forged, now=1_001.0)
    assert not session_is_valid(key, "", now=1_001.0)
    assert not session_is_valid(key, "abc.def", now=1_001.0)
