"""The softphone page and its signalling relay: garbage in, a clear error out."""

from __future__ import annotations

import httpx
import pytest

from tests.support.servers import AppClients, free_port, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
async def api(app_clients: AppClients, database_url: str) -> httpx.AsyncClient:
    # A media worker address where nobody listens: relays must say so, not hang.
    media = f"http://127.0.0.1:{free_port()}"
    return await app_clients.open(settings_for(database_url, "127.0.0.1:1", carrier_url=media))


async def test_the_page_is_served(api: httpx.AsyncClient) -> None:
    page = await api.get("/softphone")
    assert page.status_code == 200
    assert "RTCPeerConnection" in page.text
    assert "/calls/${encodeURIComponent(id)}/events" in page.text


async def test_a_body_that_is_not_json_is_a_clear_422(api: httpx.AsyncClient) -> None:
    for path in ("/softphone/calls", "/softphone/calls/inbound-x/answer"):
        answer = await api.post(
            path, content=b"v=0 not json", headers={"content-type": "text/plain"}
        )
        assert answer.status_code == 422, path
        assert "must be JSON" in answer.json()["detail"]


async def test_an_unreachable_media_worker_is_a_502(api: httpx.AsyncClient) -> None:
    offer = {"to_number": "+56229990000", "from_number": "+569", "sdp": "v=0", "type": "offer"}
    answer = await api.post("/softphone/calls", json=offer)
    assert answer.status_code == 502
    assert "media worker unreachable" in answer.json()["detail"]
    control = await api.post("/calls/some-call/mute")
    assert control.status_code == 502
